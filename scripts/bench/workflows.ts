// The benchmark worker runs Offpeak's workflows and the bare baseline side by side.
export * from '../../workflows';
export * from './baseline-workflows';
export * from './guard-holder';
