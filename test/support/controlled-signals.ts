import type {
  HealthSignalRequest,
  HealthSignalSource,
  HealthSignalVerdict,
} from '../../domain/health-signals';

/**
 * A health-signal source the test controls (like the simulated machine driver): it answers every check
 * with `verdict`, which the test changes at will, and keeps the requests it was asked.
 */
export class ControlledSignals implements HealthSignalSource {
  verdict: HealthSignalVerdict = { status: 'ok' };
  readonly requests: HealthSignalRequest[] = [];

  async check(request: HealthSignalRequest): Promise<HealthSignalVerdict> {
    this.requests.push(request);
    return this.verdict;
  }
}
