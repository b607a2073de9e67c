// The executor's own breakers, pure (time is passed in): they act on the next signal, without
// waiting for Prometheus and the operator. A venue round trip over the limit, or a run of venue
// failures (timeouts, 5xx, network: outcomes we could not learn), stops new signals for a
// cool-down. Risk-reducing orders (second legs, unwinds) are not stopped by them.
export interface LocalBreakerSettings {
  latency: { maxOrderRttMs: number; cooldownMs: number };
  venueErrors: { maxConsecutive: number; cooldownMs: number };
}

export type LocalBreakerRule = 'latency-breaker' | 'venue-error-breaker';

export class LocalBreakers {
  private latencyUntil = 0;
  private venueErrorsUntil = 0;
  private consecutiveErrors = 0;

  constructor(private readonly settings: LocalBreakerSettings) {}

  /** Records a venue round trip; true when it opened the latency breaker. */
  roundTrip(rttMs: number, now: number): boolean {
    if (rttMs <= this.settings.latency.maxOrderRttMs) return false;
    this.latencyUntil = now + this.settings.latency.cooldownMs;
    return true;
  }

  /** Records a placement whose outcome the venue did not give; true when it opened the breaker. */
  venueError(now: number): boolean {
    this.consecutiveErrors += 1;
    if (this.consecutiveErrors < this.settings.venueErrors.maxConsecutive) return false;
    this.consecutiveErrors = 0;
    this.venueErrorsUntil = now + this.settings.venueErrors.cooldownMs;
    return true;
  }

  /** A placement the venue answered (filled, cancelled or rejected): the run of failures ends. */
  venueAnswered(): void {
    this.consecutiveErrors = 0;
  }

  /** The breaker stopping new signals now, if any, and until when. */
  open(now: number): { rule: LocalBreakerRule; until: number } | undefined {
    if (now < this.latencyUntil) return { rule: 'latency-breaker', until: this.latencyUntil };
    if (now < this.venueErrorsUntil) return { rule: 'venue-error-breaker', until: this.venueErrorsUntil };
    return undefined;
  }

  /** 1 while open, per breaker, for arbees_executor_local_breaker_open. */
  states(now: number): Record<'latency' | 'venue_errors', 0 | 1> {
    return { latency: now < this.latencyUntil ? 1 : 0, venue_errors: now < this.venueErrorsUntil ? 1 : 0 };
  }
}
