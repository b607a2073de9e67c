// Accelerated simulated time and the loop that feeds scenario events to a simulator at that pace.
import type { ScenarioEngine, SimEvent } from './engine.js';

/** Simulated time: starts at `startMs` (epoch ms) and runs `speed` times faster than the wall clock. */
export class SimClock {
  readonly speed: number;
  readonly startMs: number;
  private readonly realStart: number;
  private pausedAt: number | undefined;
  private pausedTotal = 0;
  private readonly wallStamps: boolean;

  /**
   * `wallStamps` (speed 1, no startMs): now() is the wall clock, pauses included, so a message's
   * stamp is the moment it was sent and a receiver on the same host can measure the wire from it.
   */
  constructor(options: { speed?: number; startMs?: number; wallStamps?: boolean } = {}) {
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0)) throw new RangeError('speed must be > 0');
    this.wallStamps = options.wallStamps ?? false;
    if (this.wallStamps && (this.speed !== 1 || options.startMs !== undefined))
      throw new RangeError('wall-clock stamps need speed 1 and no startMs');
    this.realStart = Date.now();
    this.startMs = options.startMs ?? this.realStart;
  }

  /** Simulated ms since the scenario started. */
  elapsed(): number {
    const real = (this.pausedAt ?? Date.now()) - this.realStart - this.pausedTotal;
    return real * this.speed;
  }

  /** Simulated epoch ms. */
  now(): number {
    if (this.wallStamps) return Date.now();
    return Math.floor(this.startMs + this.elapsed());
  }

  /** Real ms that `simMs` of simulated time takes. */
  realMs(simMs: number): number {
    return simMs / this.speed;
  }

  pause(): void {
    this.pausedAt ??= Date.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.pausedTotal += Date.now() - this.pausedAt;
    this.pausedAt = undefined;
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }
}

/**
 * Pulls due events from the engine every `intervalMs` of real time and hands them to `apply`
 * in one batch (so a server can flush batched frames once per tick). Stops by itself when the
 * scenario is over.
 */
export class ScenarioDriver {
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly engine: ScenarioEngine,
    private readonly clock: SimClock,
    private readonly apply: (events: SimEvent[]) => void,
    private readonly intervalMs = 5,
    private readonly maxPerTick = 20_000,
  ) {}

  start(): void {
    if (this.timer || this.done) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Processes everything due now; returns how many events were applied. */
  tick(): number {
    if (this.clock.paused) return 0;
    const events = this.engine.advanceTo(this.clock.elapsed(), this.maxPerTick);
    if (events.length > 0) this.apply(events);
    else if (this.engine.peekTime() === undefined) {
      this.done = true;
      this.stop();
    }
    return events.length;
  }

  /** Applies every event up to `simMs` of scenario time at once, whatever the clock says. */
  runTo(simMs: number): number {
    const events = this.engine.advanceTo(simMs);
    if (events.length > 0) this.apply(events);
    return events.length;
  }
}
