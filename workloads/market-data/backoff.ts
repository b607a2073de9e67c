// Reconnect delays: exponential growth from `baseMs` to `maxMs`, with jitter so that many monitors
// dropped at once (a venue restart, a VPN flap) do not reconnect in lockstep. Pure: the random
// source is injectable, so tests can pin it.

export interface BackoffOptions {
  /** First delay before jitter (default 250 ms). */
  baseMs?: number;
  /** Cap on the delay before jitter (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * Fraction of the delay that is randomised (0..1, default 0.5): the delay is drawn uniformly in
   * [d·(1 − jitter), d]. 1 is "full jitter"; 0 is none.
   */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 250;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 0.5;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) throw new RangeError('backoff needs 0 < baseMs <= maxMs');
    if (!(this.factor >= 1)) throw new RangeError('backoff factor must be >= 1');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError('backoff jitter must be within [0, 1]');
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling (before jitter) of the next delay. */
  ceiling(): number {
    return Math.min(this.maxMs, this.baseMs * this.factor ** Math.min(this.attempt, 64));
  }

  /** The delay before the next attempt, in ms; each call counts one attempt. */
  next(): number {
    const ceiling = this.ceiling();
    this.attempt++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(ceiling * (1 - this.jitter * r));
  }

  /** Call once a connection has proved healthy (not merely opened), so a flapping peer keeps backing off. */
  reset(): void {
    this.attempt = 0;
  }
}
