// What both venue feeds (kalshi-monitor/core.ts, polymarket-monitor/core.ts) do the same way
// around their protocol: per book, its sync state (times, crossed since, resync asked since, ever
// synced) and freshness; marking every book stale on a disconnect; a resync (mark stale, report,
// ask the venue for a fresh copy); the periodic sweep (stale by age, crossed past the grace
// period, a resync the venue never answered → reconnect); readiness. Each venue supplies how a
// book is published, whether it is crossed, and how fresh copies are asked for. Pure: no sockets,
// no clocks; time is passed in.
import type { Quote } from '../../contracts/messages.js';
import { StalenessTracker } from './staleness.js';

/** Events both feeds report; each venue adds its own. */
export type FeedEvent =
  { kind: 'resync'; books: string[]; reason: string } | { kind: 'malformed'; error: string } | { kind: 'reconnect'; reason: string };

export interface FeedOptions<E> {
  depth: number;
  maxQuoteAgeMs: number;
  /** How long a book may stay crossed before it is resynced (default 1 s). */
  crossedGraceMs?: number;
  /** A resync or subscribe not answered within this long → reconnect (default 15 s). */
  resyncTimeoutMs?: number;
  /** A book changed: `build` makes its quote (lazily, when it is sent; see QuotePublisher.publishLazy). */
  publish(key: string, build: () => Quote): void;
  event(event: E): void;
  /** Publication sequence for quotes (monotonic for the process). */
  nextSeq(): number;
}

/** What a feed keeps per book besides the book itself. */
export interface BookSync {
  /** The venue's name of the book: a Kalshi ticker, a Polymarket token id. */
  readonly id: string;
  exchangeTs: number;
  /** Local receive time of the last message that changed the book. */
  receivedMs: number;
  crossedSince: number | undefined;
  resyncSince: number | undefined;
  /** At least one snapshot applied since the book was created. */
  everSynced: boolean;
}

export function newBookSync(id: string): BookSync {
  return { id, exchangeTs: 0, receivedMs: 0, crossedSince: undefined, resyncSince: undefined, everSynced: false };
}

/** How a venue's feed names things in readiness reasons. */
export interface FeedNames {
  venue: string;
  /** e.g. "books", "token books". */
  books: string;
  /** What repairs a book, e.g. "a snapshot", "a book message". */
  snapshot: string;
}

export abstract class BookFeed<S extends BookSync, E extends { kind: string }> {
  readonly freshness: StalenessTracker<string>;
  protected readonly books = new Map<string, S>();
  protected connected = false;
  protected readonly crossedGraceMs: number;
  protected readonly resyncTimeoutMs: number;

  constructor(
    protected readonly options: FeedOptions<E | FeedEvent>,
    private readonly names: FeedNames,
  ) {
    this.crossedGraceMs = options.crossedGraceMs ?? 1_000;
    this.resyncTimeoutMs = options.resyncTimeoutMs ?? 15_000;
    this.freshness = new StalenessTracker(options.maxQuoteAgeMs);
  }

  /** Publishes the book's quote(s), built when sent. */
  protected abstract publish(s: S): void;
  protected abstract crossed(s: S): boolean;
  /** Subscribed on the live connection (the venue will answer resyncs). */
  protected abstract subscribed(): boolean;
  /** Asks the venue for fresh copies of these books. */
  protected abstract requestSnapshots(ids: string[]): void;
  /** Why the connection is dropped when a resync of `s` was not answered in time. */
  protected abstract unanswered(s: S): string;

  protected track(s: S): void {
    this.books.set(s.id, s);
    this.freshness.add(s.id);
  }

  /** Connected, subscribed and every book synced from a snapshot. */
  ready(): { ready: boolean; reason?: string } {
    if (!this.connected) return { ready: false, reason: `not connected to ${this.names.venue}` };
    if (!this.subscribed()) return { ready: false, reason: 'not subscribed' };
    const { resyncing, total } = this.freshness.counts();
    if (resyncing > 0) return { ready: false, reason: `${resyncing} of ${total} ${this.names.books} waiting for ${this.names.snapshot}` };
    return { ready: true };
  }

  /** Periodic work: staleness by age, crossed books past their grace, resyncs that never finished. */
  tick(nowMs: number): void {
    for (const id of this.freshness.sweep(nowMs)) this.publish(this.books.get(id)!);
    if (!this.connected || !this.tickSubscription(nowMs)) return;
    const crossed: string[] = [];
    for (const s of this.books.values()) {
      if (s.crossedSince !== undefined && nowMs - s.crossedSince >= this.crossedGraceMs) crossed.push(s.id);
      if (s.resyncSince !== undefined && nowMs - s.resyncSince > this.resyncTimeoutMs) {
        for (const other of this.books.values()) other.resyncSince = undefined;
        this.options.event({ kind: 'reconnect', reason: this.unanswered(s) });
        return;
      }
    }
    if (crossed.length > 0) this.resync(crossed, 'crossed book', nowMs);
  }

  /** The venue's own periodic checks of its subscription; false stops the sweep here. */
  protected tickSubscription(_nowMs: number): boolean {
    return true;
  }

  /** Every book is stale until its next snapshot (a new connection, a lost one, a new subscription). */
  protected markAllResyncing(): void {
    for (const s of this.books.values()) {
      s.crossedSince = undefined;
      s.resyncSince = undefined;
      if (this.freshness.startResync(s.id) && s.everSynced) this.publish(s);
    }
  }

  /** Marks books stale and asks the venue for fresh copies. */
  protected resync(ids: string[], reason: string, nowMs: number): void {
    if (!this.subscribed() || ids.length === 0) return;
    for (const id of ids) {
      const s = this.books.get(id)!;
      s.crossedSince = undefined;
      s.resyncSince = nowMs;
      if (this.freshness.startResync(id) && s.everSynced) this.publish(s);
    }
    this.options.event({ kind: 'resync', books: ids, reason });
    this.requestSnapshots(ids);
  }

  /** A full copy of the book was applied: it is fresh again. */
  protected synced(s: S, exchangeTs: number, receivedMs: number): void {
    s.everSynced = true;
    s.resyncSince = undefined;
    this.changed(s, exchangeTs, receivedMs);
  }

  /** The book moved: fresh, checked for crossing, published. */
  protected changed(s: S, exchangeTs: number, receivedMs: number): void {
    s.exchangeTs = exchangeTs;
    s.receivedMs = receivedMs;
    this.freshness.touch(s.id, receivedMs);
    if (this.crossed(s)) s.crossedSince ??= receivedMs;
    else s.crossedSince = undefined;
    this.publish(s);
  }
}
