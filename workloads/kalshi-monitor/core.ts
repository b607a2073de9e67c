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
// - a delta that would make a level negative, or a book that stays crossed or locked (YES bid + NO
//   bid ≥ $1) for longer than `crossedGraceMs`, resyncs that market. The grace exists because one
//   book change arrives as several deltas and may cross for a moment between two of them; meanwhile
//   its quotes go out stale.
// - a price outside Kalshi's [$0.001, $0.999], a size or depth past the bounds, or a message of a
//   market that cannot be read: the market's book is refused (../market-data/feed.ts).
// - errors 10/17/25 on the live sid mean the subscription is dead: resubscribe; so does an error
//   answering one of our snapshot requests. An error with any other id is only reported.
// - only the first acknowledgement of our subscribe is taken: a second one (another sid) must not
//   turn the live sid's frames into ignored ones.
import { PRICE_ONE } from '../../contracts/decimal.js';
import { KalshiBook, SeqTracker, type Level } from '../market-data/book.js';
import { BookFault, checkDepth, checkPrice, checkPrices } from '../market-data/bounds.js';
import { BookFeed, newBookSync, type BookSync, type FeedEvent, type FeedOptions } from '../market-data/feed.js';
import { kalshiLevels, kalshiPriceBounds } from '../../venues/kalshi/wire.js';
import { venueSignedSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
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
/** Snapshot requests remembered for their errors (a backstop: answers remove them). */
const MAX_PENDING_REQUESTS = 1_024;

interface MarketState extends BookSync {
  ref: KalshiMarketRef;
  book: KalshiBook;
  keys: { yes: string; no: string };
}

type Parsed = { snapshot: { yes: Level[]; no: Level[] } } | { delta: { side: 'yes' | 'no'; price: number; change: number } };

export class KalshiFeed extends BookFeed<MarketState, KalshiFeedEvent> {
  private readonly seq = new SeqTracker();
  private sid: number | undefined;
  private nextId = 1;
  private subscribeId: number | undefined;
  private subscribeSentMs: number | undefined;
  /** Ids of our get_snapshot commands not answered yet: an error for one of them means the subscription is in trouble. */
  private readonly snapshotRequests = new Set<number>();
  private readonly useYesPrice: boolean;
  /** Frames of sids we no longer hold (after a resubscribe), ignored. */
  oldSidMessages = 0;

  constructor(private readonly kalshi: KalshiFeedOptions) {
    super(kalshi, { venue: 'Kalshi', books: 'books', snapshot: 'a snapshot', prices: kalshiPriceBounds });
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
    this.snapshotRequests.clear();
    this.markAllResyncing();
    this.subscribe(nowMs);
  }

  /** The connection is gone: every book is stale until the next snapshot. */
  onClose(_nowMs?: number): void {
    this.disconnected();
    this.sid = undefined;
    this.subscribeId = undefined;
    this.subscribeSentMs = undefined;
    this.snapshotRequests.clear();
    this.seq.clear();
    this.markAllResyncing();
  }

  /** One text frame. Never throws: malformed input is reported and skipped. */
  onFrame(text: string, receivedMs: number): void {
    const parsed = this.parseFrame(text, receivedMs);
    if (!parsed) return;
    const message = parsed.value;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.options.event({ kind: 'malformed', error: 'not a JSON object' });
      return;
    }
    try {
      this.dispatch(message as Record<string, unknown>, receivedMs);
    } catch (error) {
      this.malformed(error);
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

  /** Silence on a sid that may be dead: a new subscription (its acknowledgement is waited for, else reconnect). */
  protected override onQuiet(nowMs: number): void {
    this.resubscribe(nowMs, `no book messages for ${this.quietMs} ms`);
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
    const id = this.nextId++;
    if (this.snapshotRequests.size >= MAX_PENDING_REQUESTS) this.snapshotRequests.delete(this.snapshotRequests.values().next().value!);
    this.snapshotRequests.add(id);
    this.kalshi.send({ id, cmd: 'update_subscription', params: { sids: [this.sid], market_tickers: tickers, action: 'get_snapshot' } });
  }

  private resubscribe(nowMs: number, reason: string): void {
    const old = this.sid;
    if (old !== undefined) {
      this.seq.close(old);
      this.kalshi.send({ id: this.nextId++, cmd: 'unsubscribe', params: { sids: [old] } });
    }
    this.sid = undefined;
    this.snapshotRequests.clear();
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
        // An answer to a subscribe we no longer wait for, or a second answer to the one we hold.
        if (message.id !== this.subscribeId || this.sid !== undefined) return;
        this.sid = sid;
        this.subscribeSentMs = undefined;
        this.seq.open(sid);
        this.subscriptionStarted(receivedMs);
        this.options.event({ kind: 'subscribed', sid });
        return;
      }
      case 'ok':
        if (typeof message.id === 'number') this.snapshotRequests.delete(message.id);
        return;
      case 'error':
        return this.onError(message, msg, receivedMs);
      default:
        return; // unsubscribed, ticker, trade …: nothing for the book
    }
  }

  private onError(message: Record<string, unknown>, msg: Record<string, unknown>, receivedMs: number): void {
    const code = typeof msg.code === 'number' ? msg.code : -1;
    const text = typeof msg.msg === 'string' ? msg.msg.slice(0, 200) : 'unknown error';
    const forSubscribe = message.id !== undefined && message.id === this.subscribeId && this.sid === undefined;
    const dead = DEAD_SUBSCRIPTION.has(code) && message.id === undefined;
    const forSnapshot = typeof message.id === 'number' && this.snapshotRequests.delete(message.id);
    this.options.event({
      kind: 'venue_error',
      code,
      message: `${text}${typeof msg.market_ticker === 'string' ? ` (${msg.market_ticker.slice(0, 100)})` : ''}`,
      fatal: forSubscribe,
    });
    if (dead && this.sid !== undefined) this.resubscribe(receivedMs, `subscription error ${code}`);
    else if (forSubscribe) {
      this.subscribeSentMs = undefined;
      this.options.event({ kind: 'reconnect', reason: `subscribe refused: ${code} ${text}` });
    } else if (forSnapshot && this.sid !== undefined) {
      // A refused get_snapshot: fall back to a full resubscribe.
      this.resubscribe(receivedMs, `command refused: ${code}`);
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
    if (m) this.heard(receivedMs);
    // Parse fully before touching any state, so a bad message changes nothing (but still counts for seq).
    let parsed: Parsed | undefined;
    let parseError: Error | undefined;
    try {
      if (typeof ticker !== 'string') throw new MalformedMessage(`${type} without market_ticker`);
      parsed = this.parse(type, msg);
    } catch (error) {
      parseError = error as Error;
    }
    const check = this.seq.check(sid, seq);
    if (check === 'gap') {
      this.options.event({ kind: 'gap', sid, seq });
      this.resync([...this.books.keys()], 'seq gap', receivedMs);
    }
    if (!m) {
      if (parseError) throw parseError;
      return; // a market we did not ask for
    }
    // A delta for a book waiting for its snapshot is dropped, good or bad: the snapshot has it.
    if (type === 'orderbook_delta' && this.freshness.isResyncing(m.id)) {
      if (parseError instanceof MalformedMessage) throw parseError;
      return;
    }
    if (parseError) {
      this.refuse(m, parseError, receivedMs);
      if (!(parseError instanceof BookFault)) throw parseError;
      return;
    }
    if (parsed && 'snapshot' in parsed) {
      const fault = m.book.applySnapshot(parsed.snapshot.yes, parsed.snapshot.no);
      if (fault) this.reject(m, fault === 'too_deep' ? 'too_deep' : 'size_out_of_range', `snapshot: ${fault}`, receivedMs);
      else this.synced(m, receivedMs, receivedMs);
      return;
    }
    if (!parsed) return;
    const { side, price, change } = parsed.delta;
    const result = m.book.applyDelta(side, price, change);
    if (result === 'negative') return this.resync([m.id], 'delta below zero', receivedMs);
    if (result !== 'ok') return this.reject(m, result === 'too_deep' ? 'too_deep' : 'size_out_of_range', `delta: ${result}`, receivedMs);
    this.changed(m, this.exchangeTime(msg.ts_ms, receivedMs), receivedMs);
  }

  /** A book message's levels in our units, on each side's own scale; throws MalformedMessage or BookFault. */
  private parse(type: 'orderbook_snapshot' | 'orderbook_delta', msg: Record<string, unknown>): Parsed {
    const bounds = kalshiPriceBounds;
    if (type === 'orderbook_snapshot') {
      checkDepth(msg.yes_dollars_fp, 'yes_dollars_fp');
      checkDepth(msg.no_dollars_fp, 'no_dollars_fp');
      const yes = kalshiLevels(msg.yes_dollars_fp, 'yes_dollars_fp');
      const no = this.noScale(kalshiLevels(msg.no_dollars_fp, 'no_dollars_fp'));
      checkPrices(yes, bounds, 'yes bids');
      checkPrices(no, bounds, 'no bids');
      return { snapshot: { yes, no } };
    }
    const side = msg.side;
    if (side !== 'yes' && side !== 'no') throw new MalformedMessage(`orderbook_delta side must be yes or no`);
    const wire = venuePrice(msg.price_dollars, 'price_dollars');
    const change = venueSignedSize(msg.delta_fp, 'delta_fp');
    const price = side === 'no' && this.useYesPrice ? PRICE_ONE - wire : wire;
    checkPrice(price, bounds, `${side} bid`);
    return { delta: { side, price, change } };
  }

  /** NO levels to the NO-leg scale. */
  private noScale(levels: Level[]): Level[] {
    return this.useYesPrice ? levels.map(([p, s]) => [PRICE_ONE - p, s]) : levels;
  }

  protected override crossed(m: MarketState): boolean {
    return m.book.topSum() >= PRICE_ONE; // crossed or locked
  }

  protected override clear(m: MarketState): void {
    m.book.clear();
  }

  /** Both outcomes' quotes, built when sent: the book, stale flag and times as they are then. */
  protected override publish(m: MarketState): void {
    for (const outcome of ['yes', 'no'] as const) {
      this.options.publish(m.keys[outcome], () =>
        this.quote(m, m.book.view(outcome, this.options.depth), 'kalshi', m.ref.marketId, outcome),
      );
    }
  }
}
