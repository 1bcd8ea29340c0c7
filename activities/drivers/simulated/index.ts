export { SimulatedDriver, type SimulatedDriverOptions, machineSeed } from './driver';
export { readLedger, ledgerPath, type LedgerEntry } from './ledger';
export { monthlyPatches, hashString, type CatalogInput } from './catalog';
export { faultOn, readKnobs, type SimulationKnobs } from './faults';
export type { MachineState } from './state';
