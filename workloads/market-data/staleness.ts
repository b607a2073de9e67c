// Which books are fresh. A book is stale when it has had no update for `maxAgeMs`, or while it is
// being resynced (after a seq gap, a crossed book, a disconnect): its last quote is then
// republished with stale:true so that the detector stops trading on it. Pure: time is passed in.

export interface BookFreshness {
  /** Local receive time of the last update, ms (undefined before the first one). */
  lastUpdateMs: number | undefined;
  /** Waiting for a snapshot: nothing we hold can be trusted. */
  resyncing: boolean;
  /** Stale as last published. */
  stale: boolean;
}

export class StalenessTracker<K> {
  private readonly books = new Map<K, BookFreshness>();

  constructor(readonly maxAgeMs: number) {
    if (!(maxAgeMs > 0)) throw new RangeError('maxAgeMs must be > 0');
  }

  private entry(key: K): BookFreshness {
    let e = this.books.get(key);
    if (!e) this.books.set(key, (e = { lastUpdateMs: undefined, resyncing: true, stale: true }));
    return e;
  }

  /** Starts tracking a book (not yet synced, so stale). */
  add(key: K): void {
    this.entry(key);
  }

  keys(): IterableIterator<K> {
    return this.books.keys();
  }

  get(key: K): Readonly<BookFreshness> | undefined {
    return this.books.get(key);
  }

  /** A good update arrived (snapshot or delta on a synced book): the book is fresh. */
  touch(key: K, nowMs: number): void {
    const e = this.entry(key);
    e.lastUpdateMs = nowMs;
    e.resyncing = false;
    e.stale = false;
  }

  /** The book can no longer be trusted until its next snapshot. Returns true if it was fresh. */
  startResync(key: K): boolean {
    const e = this.entry(key);
    const wasFresh = !e.stale;
    e.resyncing = true;
    e.stale = true;
    return wasFresh;
  }

  isResyncing(key: K): boolean {
    return this.books.get(key)?.resyncing ?? true;
  }

  isStale(key: K): boolean {
    return this.books.get(key)?.stale ?? true;
  }

  /** Age of the last update, ms (Infinity before the first). */
  ageMs(key: K, nowMs: number): number {
    const last = this.books.get(key)?.lastUpdateMs;
    return last === undefined ? Infinity : Math.max(0, nowMs - last);
  }

  /** Books that just went stale by age (each reported once, until the next touch). */
  sweep(nowMs: number): K[] {
    const out: K[] = [];
    for (const [key, e] of this.books) {
      if (e.stale || e.lastUpdateMs === undefined) continue;
      if (nowMs - e.lastUpdateMs >= this.maxAgeMs) {
        e.stale = true;
        out.push(key);
      }
    }
    return out;
  }

  /** Every tracked book synced (not resyncing). */
  allSynced(): boolean {
    for (const e of this.books.values()) if (e.resyncing) return false;
    return this.books.size > 0;
  }

  counts(): { total: number; stale: number; resyncing: number } {
    let stale = 0;
    let resyncing = 0;
    for (const e of this.books.values()) {
      if (e.stale) stale++;
      if (e.resyncing) resyncing++;
    }
    return { total: this.books.size, stale, resyncing };
  }
}
