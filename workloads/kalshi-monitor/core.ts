// The Kalshi orderbook_delta protocol as a state machine, apart from sockets and Redis: it is
// given the frames received (and the time), and answers with commands to send and quotes to
// publish through callbacks. One subscription (sid) carries every market of the shard.
//
// - subscribe with use_yes_price: true, so a NO level arrives on the YES scale (a NO bid at q is
//   sent as 1 − q, i.e. the YES ask) and Kalshi's announced default flip cannot invert our book;
//   use_yes_price: false is supported too (levels on the NO-leg scale).
// - seq is per sid and contiguous; a gap marks every book of the sid stale and asks for fresh
//   snapshots (update_subscription get_snapshot); deltas for a resyncing book are dropped, since
//   the snapshot, sent after them on the same connection, already contains them.
// - a delta that would make a level negative, or a book that stays crossed (YES bid + NO bid > $1)
//   for longer than `crossedGraceMs`, resyncs that market. The grace exists because one book change
//   arrives as several deltas and may cross for a moment between two of them.
// - errors 10/17/25 on the live sid mean the subscription is dead: resubscribe.
import { PRICE_ONE } from '../../contracts/decimal.js';
import { KalshiBook, SeqTracker, type Level } from '../market-data/book.js';
import { BookFeed, newBookSync, type BookSync, type FeedEvent, type FeedOptions } from '../market-data/feed.js';
import { toQuote } from '../market-data/normalize.js';
import { kalshiLevels } from '../../venues/kalshi/wire.js';
import { epochMs, venueSignedSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
import { bookKey } from '../market-data/publisher.js';

export interface KalshiMarketRef {
  ticker: string;
  /** The shard's market id (quotes are keyed by it). */
  marketId: string;
}

export type KalshiFeedEvent =
  | FeedEvent
  | { kind: 'subscribed'; sid: number }
  | { kind: 'gap'; sid: number; seq: number }
  | { kind: 'venue_error'; code: number; message: string; fatal: boolean };

export interface KalshiFeedOptions extends FeedOptions<KalshiFeedEvent> {
  markets: KalshiMarketRef[];
  useYesPrice?: boolean;
  send(command: Record<string, unknown>): void;
}

/** Subscription-killing errors that arrive asynchronously on a live sid. */
const DEAD_SUBSCRIPTION = new Set([10, 17, 25]);

interface MarketState extends BookSync {
  ref: KalshiMarketRef;
  book: KalshiBook;
  keys: { yes: string; no: string };
}

export class KalshiFeed extends BookFeed<MarketState, KalshiFeedEvent> {
  private readonly seq = new SeqTracker();
  private sid: number | undefined;
  private nextId = 1;
  private subscribeId: number | undefined;
  private subscribeSentMs: number | undefined;
  private readonly useYesPrice: boolean;
  /** Frames of sids we no longer hold (after a resubscribe), ignored. */
  oldSidMessages = 0;

  constructor(private readonly kalshi: KalshiFeedOptions) {
    super(kalshi, { venue: 'Kalshi', books: 'books', snapshot: 'a snapshot' });
    this.useYesPrice = kalshi.useYesPrice ?? true;
    for (const ref of kalshi.markets) {
      this.track({
        ...newBookSync(ref.ticker),
        ref,
        book: new KalshiBook(),
        keys: { yes: bookKey('kalshi', ref.marketId, 'yes'), no: bookKey('kalshi', ref.marketId, 'no') },
      });
    }
  }

  get subscribedSid(): number | undefined {
    return this.sid;
  }

  book(ticker: string): KalshiBook | undefined {
    return this.books.get(ticker)?.book;
  }

  /** A new connection is open: subscribe. */
  onOpen(nowMs: number): void {
    this.connected = true;
    this.seq.clear();
    this.sid = undefined;
    this.markAllResyncing();
    this.subscribe(nowMs);
  }

  /** The connection is gone: every book is stale until the next snapshot. */
  onClose(_nowMs?: number): void {
    this.connected = false;
    this.sid = undefined;
    this.subscribeId = undefined;
    this.subscribeSentMs = undefined;
    this.seq.clear();
    this.markAllResyncing();
  }

  /** One text frame. Never throws: malformed input is reported and skipped. */
  onFrame(text: string, receivedMs: number): void {
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MalformedMessage('not a JSON object');
      message = parsed as Record<string, unknown>;
    } catch (error) {
      this.options.event({ kind: 'malformed', error: (error as Error).message });
      return;
    }
    try {
      this.dispatch(message, receivedMs);
    } catch (error) {
      if (error instanceof MalformedMessage) this.options.event({ kind: 'malformed', error: error.message });
      else this.options.event({ kind: 'malformed', error: `unexpected: ${(error as Error).message}` });
    }
  }

  protected override subscribed(): boolean {
    return this.sid !== undefined;
  }

  /** Not subscribed yet: a subscribe never acknowledged → reconnect. */
  protected override tickSubscription(nowMs: number): boolean {
    if (this.sid !== undefined) return true;
    if (this.subscribeSentMs !== undefined && nowMs - this.subscribeSentMs > this.resyncTimeoutMs) {
      this.options.event({ kind: 'reconnect', reason: 'no subscription acknowledgement' });
      this.subscribeSentMs = undefined;
    }
    return false;
  }

  protected override unanswered(m: MarketState): string {
    return `no snapshot for ${m.id} after a resync request`;
  }

  private subscribe(nowMs: number): void {
    this.subscribeId = this.nextId++;
    this.subscribeSentMs = nowMs;
    this.kalshi.send({
      id: this.subscribeId,
      cmd: 'subscribe',
      params: { channels: ['orderbook_delta'], market_tickers: [...this.books.keys()], use_yes_price: this.useYesPrice },
    });
  }

  /** Fresh snapshots on the live sid. */
  protected override requestSnapshots(tickers: string[]): void {
    this.kalshi.send({
      id: this.nextId++,
      cmd: 'update_subscription',
      params: { sids: [this.sid], market_tickers: tickers, action: 'get_snapshot' },
    });
  }

  private resubscribe(nowMs: number, reason: string): void {
    const old = this.sid;
    if (old !== undefined) {
      this.seq.close(old);
      this.kalshi.send({ id: this.nextId++, cmd: 'unsubscribe', params: { sids: [old] } });
    }
    this.sid = undefined;
    this.markAllResyncing();
    this.options.event({ kind: 'resync', books: [...this.books.keys()], reason });
    this.subscribe(nowMs);
  }

  private dispatch(message: Record<string, unknown>, receivedMs: number): void {
    const type = message.type;
    const msg = (typeof message.msg === 'object' && message.msg !== null ? message.msg : {}) as Record<string, unknown>;
    switch (type) {
      case 'orderbook_snapshot':
      case 'orderbook_delta':
        return this.onBookMessage(type, message, msg, receivedMs);
      case 'subscribed': {
        if (msg.channel !== 'orderbook_delta') return;
        const sid = msg.sid;
        if (typeof sid !== 'number') throw new MalformedMessage('subscribed without a numeric sid');
        if (message.id !== this.subscribeId) return; // an answer to a subscribe we no longer wait for
        this.sid = sid;
        this.subscribeSentMs = undefined;
        this.seq.open(sid);
        this.options.event({ kind: 'subscribed', sid });
        return;
      }
      case 'error': {
        const code = typeof msg.code === 'number' ? msg.code : -1;
        const text = typeof msg.msg === 'string' ? msg.msg : 'unknown error';
        const forSubscribe = message.id !== undefined && message.id === this.subscribeId && this.sid === undefined;
        const dead = DEAD_SUBSCRIPTION.has(code) && message.id === undefined;
        this.options.event({
          kind: 'venue_error',
          code,
          message: `${text}${typeof msg.market_ticker === 'string' ? ` (${msg.market_ticker})` : ''}`,
          fatal: forSubscribe,
        });
        if (dead && this.sid !== undefined) this.resubscribe(receivedMs, `subscription error ${code}`);
        else if (forSubscribe) {
          this.subscribeSentMs = undefined;
          this.options.event({ kind: 'reconnect', reason: `subscribe refused: ${code} ${text}` });
        } else if (message.id !== undefined) {
          // A refused get_snapshot (or other command): fall back to a full resubscribe.
          if (this.sid !== undefined) this.resubscribe(receivedMs, `command refused: ${code}`);
        }
        return;
      }
      default:
        return; // ok, unsubscribed, ticker, trade …: nothing for the book
    }
  }

  private onBookMessage(
    type: 'orderbook_snapshot' | 'orderbook_delta',
    message: Record<string, unknown>,
    msg: Record<string, unknown>,
    receivedMs: number,
  ): void {
    const sid = message.sid;
    const seq = message.seq;
    if (typeof sid !== 'number' || typeof seq !== 'number' || !Number.isInteger(seq))
      throw new MalformedMessage(`${type} without numeric sid/seq`);
    if (sid !== this.sid) {
      this.oldSidMessages++;
      return;
    }
    const ticker = msg.market_ticker;
    const m = typeof ticker === 'string' ? this.books.get(ticker) : undefined;
    // Parse fully before touching any state, so a malformed message changes nothing (but still counts for seq).
    let snapshot: { yes: Level[]; no: Level[] } | undefined;
    let delta: { side: 'yes' | 'no'; price: number; change: number } | undefined;
    let parseError: MalformedMessage | undefined;
    try {
      if (typeof ticker !== 'string') throw new MalformedMessage(`${type} without market_ticker`);
      if (type === 'orderbook_snapshot') {
        snapshot = {
          yes: kalshiLevels(msg.yes_dollars_fp, 'yes_dollars_fp'),
          no: this.noScale(kalshiLevels(msg.no_dollars_fp, 'no_dollars_fp')),
        };
      } else {
        const side = msg.side;
        if (side !== 'yes' && side !== 'no') throw new MalformedMessage(`orderbook_delta side must be yes or no`);
        const price = venuePrice(msg.price_dollars, 'price_dollars');
        const change = venueSignedSize(msg.delta_fp, 'delta_fp');
        delta = { side, price: side === 'no' && this.useYesPrice ? PRICE_ONE - price : price, change };
      }
    } catch (error) {
      parseError = error as MalformedMessage;
    }
    const check = this.seq.check(sid, seq);
    if (check === 'gap') {
      this.options.event({ kind: 'gap', sid, seq });
      this.resync([...this.books.keys()], 'seq gap', receivedMs);
    }
    if (parseError) throw parseError;
    if (!m) return; // a market we did not ask for
    if (snapshot) {
      m.book.applySnapshot(snapshot.yes, snapshot.no);
      this.synced(m, receivedMs, receivedMs);
      return;
    }
    if (!delta || this.freshness.isResyncing(m.id)) return;
    const result = m.book.applyDelta(delta.side, delta.price, delta.change);
    if (result === 'negative') {
      this.resync([m.id], 'delta below zero', receivedMs);
      return;
    }
    this.changed(m, epochMs(msg.ts_ms, receivedMs), receivedMs);
  }

  /** NO levels to the NO-leg scale. */
  private noScale(levels: Level[]): Level[] {
    return this.useYesPrice ? levels.map(([p, s]) => [PRICE_ONE - p, s]) : levels;
  }

  protected override crossed(m: MarketState): boolean {
    return m.book.crossed();
  }

  /** Both outcomes' quotes, built when sent: the book, stale flag and times as they are then. */
  protected override publish(m: MarketState): void {
    for (const outcome of ['yes', 'no'] as const) {
      this.options.publish(m.keys[outcome], () =>
        toQuote(m.book.view(outcome, this.options.depth), {
          venue: 'kalshi',
          marketId: m.ref.marketId,
          outcome,
          seq: this.options.nextSeq(),
          exchangeTs: m.exchangeTs,
          receivedTs: m.receivedMs,
          stale: this.freshness.isStale(m.id),
        }),
      );
    }
  }
}
