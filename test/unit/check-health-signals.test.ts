import { createActivities, type Drivers } from '../../activities';
import type { HealthSignalRequest } from '../../domain/health-signals';
import { prometheusSignalSchema } from '../../domain/health-signals';
import { ControlledSignals } from '../support/controlled-signals';

const request: HealthSignalRequest = {
  prometheus: prometheusSignalSchema.parse({ url: 'http://prometheus:9090', alerts: ['HighErrorRate'] }),
  regions: ['eastus'],
  services: ['web'],
};
const noMachines: Drivers['forMachine'] = () => {
  throw new Error('no machine is touched by a health check');
};

describe('the checkHealthSignals activity', () => {
  test('asks the source it was built with and answers its verdict', async () => {
    const source = new ControlledSignals();
    const { checkHealthSignals } = createActivities({ forMachine: noMachines, healthSignals: source });
    expect(await checkHealthSignals(request)).toEqual({ status: 'ok' });
    source.verdict = {
      status: 'firing',
      firing: [{ name: 'HighErrorRate', labels: { region: 'eastus' } }],
      reason: '1 alert firing',
    };
    expect(await checkHealthSignals(request)).toMatchObject({ status: 'firing' });
    expect(source.requests).toEqual([request, request]);
  });

  test('without a source in the worker, every check is unreachable, never a silent pass', async () => {
    const { checkHealthSignals } = createActivities({ forMachine: noMachines });
    expect(await checkHealthSignals(request)).toEqual({
      status: 'unreachable',
      reason: 'no Prometheus client in this worker',
    });
  });
});
