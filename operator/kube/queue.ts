// A work queue with client-go's guarantees: a key waiting twice is processed once (dedup), a key
// is never processed by two workers at once (a re-add while processing runs again afterwards),
// failures retry with per-key exponential backoff, and shutdown drains in-flight work.

export interface QueueOptions {
  /** First retry delay; doubles per consecutive failure of a key up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  concurrency?: number;
}

export type Processor = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly waiting = new Set<string>(); // ordered: insertion order is FIFO
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>(); // re-added while processing
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly process: Processor,
    private readonly onError: (key: string, error: unknown, retryInMs: number) => void,
    options: QueueOptions = {},
  ) {
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.concurrency = options.concurrency ?? 4;
  }

  get depth(): number {
    return this.waiting.size;
  }

  get busy(): number {
    return this.active;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.waiting.add(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Resolves once nothing is waiting or processing (timers pending retries are not counted). */
  async idle(): Promise<void> {
    if (this.waiting.size === 0 && this.active === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for in-flight keys to finish. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiting.clear();
    this.dirty.clear();
    await this.idle();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.concurrency && this.waiting.size > 0) {
      const key = this.waiting.values().next().value as string;
      this.waiting.delete(key);
      this.processing.add(key);
      this.active += 1;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let retryInMs: number | undefined;
    try {
      const result = await this.process(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) retryInMs = result.requeueAfterMs;
    } catch (error) {
      const attempts = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempts);
      retryInMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1));
      this.onError(key, error, retryInMs);
    } finally {
      this.processing.delete(key);
      this.active -= 1;
      if (this.dirty.delete(key)) this.waiting.add(key);
    }
    if (retryInMs !== undefined && !this.waiting.has(key)) this.addAfter(key, retryInMs);
    this.pump();
    if (this.waiting.size === 0 && this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
