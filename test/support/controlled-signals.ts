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
  /** When set, every check throws this (a client that breaks instead of answering). */
  failure?: string;
  readonly requests: HealthSignalRequest[] = [];

  async check(request: HealthSignalRequest): Promise<HealthSignalVerdict> {
    this.requests.push(request);
    if (this.failure) throw new Error(this.failure);
    return this.verdict;
  }
}
