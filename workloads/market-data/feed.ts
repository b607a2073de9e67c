// What both venue feeds (kalshi-monitor/core.ts, polymarket-monitor/core.ts) do the same way
// around their protocol: per book, its sync state (times, crossed since, snapshot asked for) and
// freshness; marking every book stale on a disconnect; a resync (mark stale, report, ask the venue
// for a fresh copy, at most once a second per book); refusing a book the venue got wrong (a price
// outside [tick, 1 − tick], a size or depth past the bounds, a message that cannot be read, a book
// that stays crossed): it is emptied and stale until a snapshot repairs it; the periodic sweep
// (stale by age, crossed past the grace period, a resync never answered → reconnect, a
// subscription silent for the quiet period → stalled); frames refused by shape before parsing;
// exchange times far from ours replaced by the receive time; and the last word on every quote: one
// that is crossed or shows a price a venue cannot trade at is never published fresh. Each venue
// supplies how a book is published, cleared and checked for crossing, and how fresh copies are
// asked for. Pure: no sockets, no clocks; time is passed in.
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';
import { epochMs, MalformedMessage } from '../../venues/wire.js';
import type { BookView } from './book.js';
import {
  BookFault,
  frameProblem,
  MAX_CLOCK_SKEW_MS,
  SCREEN_FROM_BYTES,
  viewProblem,
  type FrameProblem,
  type PriceBounds,
  type RejectReason,
} from './bounds.js';
import { toQuote } from './normalize.js';
import { StalenessTracker } from './staleness.js';
import type { Readiness } from '../../lib/ops-server.js';

/** Events both feeds report; each venue adds its own. */
export type FeedEvent =
  | { kind: 'resync'; books: string[]; reason: string }
  | { kind: 'malformed'; error: string }
  | { kind: 'reconnect'; reason: string }
  /** A book the venue got wrong: unusable until a snapshot repairs it. */
  | { kind: 'rejected'; book: string; reason: RejectReason; detail: string }
  /** The subscription has been silent for the quiet period. */
  | { kind: 'stalled'; silentMs: number }
  | { kind: 'frame_refused'; reason: FrameProblem }
  /** An exchange timestamp far from our clock (or unreadable), replaced by the receive time. */
  | { kind: 'clock'; value: string };

export interface FeedOptions<E> {
  depth: number;
  maxQuoteAgeMs: number;
  /** How long a book may stay crossed before it is resynced (default 1 s): one change may arrive as several deltas. */
  crossedGraceMs?: number;
  /** A resync or subscribe not answered within this long → reconnect (default 15 s). */
  resyncTimeoutMs?: number;
  /**
   * Subscribed books that receive nothing for this long mean a dead subscription (default 60 s):
   * the feed is stalled (not ready) and resubscribes; a live game moves its books every second.
   */
  quietMs?: number;
  /** Fresh copies of one book are asked for at most this often (default 1 s): a bad venue must not make us flood it. */
  minResyncIntervalMs?: number;
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
  /** A fresh copy was asked for then, and has not come yet. */
  resyncSince: number | undefined;
  /** A fresh copy is wanted (asked for as soon as the rate limit allows). */
  wantSnapshot: boolean;
  /** When a fresh copy was last asked for. */
  askedMs: number | undefined;
  /** At least one snapshot applied since the book was created. */
  everSynced: boolean;
}

export function newBookSync(id: string): BookSync {
  return {
    id,
    exchangeTs: 0,
    receivedMs: 0,
    crossedSince: undefined,
    resyncSince: undefined,
    wantSnapshot: false,
    askedMs: undefined,
    everSynced: false,
  };
}

/** How a venue's feed names things, and the prices it trades at. */
export interface FeedVenue {
  venue: string;
  /** e.g. "books", "token books". */
  books: string;
  /** What repairs a book, e.g. "a snapshot", "a book message". */
  snapshot: string;
  prices: PriceBounds;
}

const resyncReasons: Record<RejectReason, string> = {
  price_out_of_range: 'price out of range',
  size_out_of_range: 'size out of range',
  too_deep: 'book too deep',
  crossed: 'crossed book',
  malformed: 'unreadable update',
  invalid_quote: 'invalid quote',
};

export abstract class BookFeed<S extends BookSync, E extends { kind: string }> {
  readonly freshness: StalenessTracker<string>;
  protected readonly books = new Map<string, S>();
  protected connected = false;
  protected readonly crossedGraceMs: number;
  protected readonly resyncTimeoutMs: number;
  protected readonly quietMs: number;
  private readonly minResyncIntervalMs: number;
  /** Last book message of the live subscription (or its start). */
  private lastActivityMs: number | undefined;
  private stalled = false;

  constructor(
    protected readonly options: FeedOptions<E | FeedEvent>,
    protected readonly venue: FeedVenue,
  ) {
    this.crossedGraceMs = options.crossedGraceMs ?? 1_000;
    this.resyncTimeoutMs = options.resyncTimeoutMs ?? 15_000;
    this.quietMs = options.quietMs ?? 60_000;
    this.minResyncIntervalMs = options.minResyncIntervalMs ?? 1_000;
    this.freshness = new StalenessTracker(options.maxQuoteAgeMs);
  }

  /** Publishes the book's quote(s), built when sent (with quote()). */
  protected abstract publish(s: S): void;
  /** Empties the book (it is refused: nothing in it is shown again). */
  protected abstract clear(s: S): void;
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

  /** Connected, subscribed, not stalled, and every book synced from a snapshot. */
  ready(): Readiness {
    if (!this.connected) return { ready: false, reason: 'venue_disconnected', detail: `not connected to ${this.venue.venue}` };
    if (!this.subscribed()) return { ready: false, reason: 'venue_unsubscribed', detail: 'not subscribed' };
    if (this.stalled)
      return { ready: false, reason: 'quotes_stale', detail: `no book messages for ${this.quietMs / 1000} s: resubscribing` };
    const { resyncing, total } = this.freshness.counts();
    if (resyncing > 0)
      return {
        ready: false,
        reason: 'books_resyncing',
        detail: `${resyncing} of ${total} ${this.venue.books} waiting for ${this.venue.snapshot}`,
      };
    return { ready: true };
  }

  /** Periodic work: staleness by age, a silent subscription, crossed books past their grace, resyncs that never finished. */
  tick(nowMs: number): void {
    for (const id of this.freshness.sweep(nowMs)) this.publish(this.books.get(id)!);
    if (!this.connected || !this.tickSubscription(nowMs)) return;
    const crossed: S[] = [];
    for (const s of this.books.values()) {
      if (s.crossedSince !== undefined && nowMs - s.crossedSince >= this.crossedGraceMs) crossed.push(s);
      if (s.resyncSince !== undefined && nowMs - s.resyncSince > this.resyncTimeoutMs) {
        for (const other of this.books.values()) other.resyncSince = undefined;
        this.options.event({ kind: 'reconnect', reason: this.unanswered(s) });
        return;
      }
    }
    for (const s of crossed) this.reject(s, 'crossed', `crossed for ${nowMs - s.crossedSince!} ms`, nowMs);
    if (!this.stalled && this.lastActivityMs !== undefined && nowMs - this.lastActivityMs > this.quietMs) {
      this.stalled = true;
      this.options.event({ kind: 'stalled', silentMs: nowMs - this.lastActivityMs });
      this.onQuiet(nowMs);
    }
    this.requestDue(nowMs);
  }

  /** The venue's own periodic checks of its subscription; false stops the sweep here. */
  protected tickSubscription(_nowMs: number): boolean {
    return true;
  }

  /** The subscription has been silent for the quiet period: ask for every book again (a venue may resubscribe instead). */
  protected onQuiet(nowMs: number): void {
    this.resync([...this.books.keys()], 'no book messages', nowMs);
  }

  /** A subscription starts (its own snapshots follow): nothing asked for is pending, the quiet period starts now. */
  protected subscriptionStarted(nowMs: number): void {
    for (const s of this.books.values()) {
      s.wantSnapshot = false;
      s.askedMs = undefined;
    }
    this.heard(nowMs);
  }

  /** A book message of the live subscription arrived. */
  protected heard(nowMs: number): void {
    this.lastActivityMs = nowMs;
    this.stalled = false;
  }

  /** The connection is gone: nothing to wait for. */
  protected disconnected(): void {
    this.connected = false;
    this.lastActivityMs = undefined;
    this.stalled = false;
  }

  /** Every book is stale until its next snapshot (a new connection, a lost one, a new subscription). */
  protected markAllResyncing(): void {
    for (const s of this.books.values()) {
      s.crossedSince = undefined;
      s.resyncSince = undefined;
      s.wantSnapshot = false;
      s.askedMs = undefined;
      if (this.freshness.startResync(s.id) && s.everSynced) this.publish(s);
    }
  }

  /** Marks books stale and asks the venue for fresh copies (as soon as the rate limit allows). */
  protected resync(ids: string[], reason: string, nowMs: number): void {
    const newly: string[] = [];
    for (const id of ids) {
      const s = this.books.get(id)!;
      s.crossedSince = undefined;
      s.wantSnapshot = true;
      if (!this.freshness.isResyncing(id)) newly.push(id);
      if (this.freshness.startResync(id) && s.everSynced) this.publish(s);
    }
    if (newly.length > 0) this.options.event({ kind: 'resync', books: newly, reason });
    this.requestDue(nowMs);
  }

  /** The book is wrong: emptied, stale, reported, and asked for again. */
  protected reject(s: S, reason: RejectReason, detail: string, nowMs: number): void {
    this.options.event({ kind: 'rejected', book: s.id, reason, detail });
    this.clear(s);
    this.resync([s.id], resyncReasons[reason], nowMs);
  }

  /** A message for this book could not be used: a BookFault says why; anything else is unreadable. */
  protected refuse(s: S, error: unknown, nowMs: number): void {
    if (error instanceof BookFault) this.reject(s, error.reason, error.message, nowMs);
    else this.reject(s, 'malformed', (error as Error).message, nowMs);
  }

  private requestDue(nowMs: number): void {
    if (!this.connected || !this.subscribed()) return;
    const due: string[] = [];
    for (const s of this.books.values()) {
      if (!s.wantSnapshot || (s.askedMs !== undefined && nowMs - s.askedMs < this.minResyncIntervalMs)) continue;
      s.wantSnapshot = false;
      s.askedMs = nowMs;
      s.resyncSince = nowMs;
      due.push(s.id);
    }
    if (due.length > 0) this.requestSnapshots(due);
  }

  /** A full copy of the book was applied: it is fresh again. */
  protected synced(s: S, exchangeTs: number, receivedMs: number): void {
    s.everSynced = true;
    s.resyncSince = undefined;
    s.wantSnapshot = false;
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

  /** A frame refused by its shape before it was decoded (the socket screens bytes): it may have carried book changes. */
  refusedFrame(reason: FrameProblem, receivedMs: number): void {
    this.options.event({ kind: 'frame_refused', reason });
    this.lostFrame(receivedMs);
  }

  /** A frame's JSON, or undefined when it was refused (by shape, before parsing, or as not JSON); lostFrame runs then. */
  protected parseFrame(text: string, receivedMs: number): { value: unknown } | undefined {
    const problem = text.length >= SCREEN_FROM_BYTES ? frameProblem(text) : undefined;
    if (problem) {
      this.refusedFrame(problem, receivedMs);
      return undefined;
    }
    try {
      return { value: JSON.parse(text) };
    } catch (error) {
      this.options.event({ kind: 'malformed', error: (error as Error).message });
      this.lostFrame(receivedMs);
      return undefined;
    }
  }

  /** A frame that could not be read may have carried changes to our books (default: nothing; a seq will tell). */
  protected lostFrame(_nowMs: number): void {}

  /** The exchange time of a message: the receive time when absent, unreadable, or further than MAX_CLOCK_SKEW_MS from it. */
  protected exchangeTime(raw: unknown, receivedMs: number): number {
    if (raw === undefined || raw === null) return receivedMs;
    const ts = epochMs(raw, -1);
    if (ts >= 0 && Math.abs(ts - receivedMs) <= MAX_CLOCK_SKEW_MS) return ts;
    this.options.event({ kind: 'clock', value: (JSON.stringify(raw) ?? typeof raw).slice(0, 40) });
    return receivedMs;
  }

  /** A quote of the book's view: stale when the book is, and whenever the view is one no venue could show. */
  protected quote(s: S, view: BookView, venue: Venue, marketId: string, outcome: Outcome): Quote {
    return toQuote(view, {
      venue,
      marketId,
      outcome,
      seq: this.options.nextSeq(),
      exchangeTs: s.exchangeTs,
      receivedTs: s.receivedMs,
      stale: this.freshness.isStale(s.id) || viewProblem(view, this.venue.prices) !== undefined,
    });
  }

  /** Reports an error thrown while reading a message (never rethrown: malformed input is skipped). */
  protected malformed(error: unknown): void {
    const text =
      error instanceof MalformedMessage || error instanceof BookFault ? error.message : `unexpected: ${(error as Error).message}`;
    this.options.event({ kind: 'malformed', error: text });
  }
}
