// Rate-limited logging for what a hostile venue can make frequent (refused books, refused frames,
// clamped timestamps): the first of a kind is logged, then at most one per period, saying how many
// were left out meanwhile. The metrics count every one. Pure: time is passed in.

export class LogThrottle {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    readonly periodMs = 10_000,
    /** Kinds remembered; beyond, the oldest is forgotten (keys come from our own code, so this is a backstop). */
    private readonly maxKeys = 256,
  ) {}

  /** Log now? Undefined: stay quiet. A number: log, noting that many suppressed since the last. */
  take(key: string, nowMs: number): number | undefined {
    const entry = this.last.get(key);
    if (entry && nowMs - entry.atMs < this.periodMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.delete(key);
    if (this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    return suppressed;
  }
}
