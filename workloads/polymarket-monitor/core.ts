// The Polymarket CLOB market channel as a state machine, apart from sockets and Redis. Each shard
// market has two outcome tokens (yes, no) with their own books. There is no sequence number: a
// book is trusted from its `book` message (the initial dump on subscribe, or a resend after a
// trade) and then moved by `price_change` (size = new total at the level). A book that stays
// crossed past a grace period is resynced by unsubscribing and resubscribing its token (which
// brings a fresh `book`); silence is caught by the staleness timer and the quiet period.
// Without a sequence number nothing tells whether a frame we could not read carried our books'
// changes, so such a frame resyncs every token; a bad event of known tokens resyncs those (a price
// outside [tick, 1 − tick], a size or depth past the bounds: see ../market-data/feed.ts).
// Both price_change schemas are read: the current one (price_changes[], since 2025-09-15) and the
// legacy one (asset_id + changes[]). Frames may be one event or a JSON array of events.
import type { Outcome } from '../../contracts/messages.js';
import { TokenBook, type Level } from '../market-data/book.js';
import { BookFault, checkDepth, checkPrice, checkPrices } from '../market-data/bounds.js';
import { BookFeed, newBookSync, type BookSync, type FeedEvent, type FeedOptions } from '../market-data/feed.js';
import { polymarketLevels, polymarketPriceBounds } from '../../venues/polymarket/wire.js';
import { venueSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
import { bookKey } from '../market-data/publisher.js';

export interface PolymarketMarketRef {
  marketId: string;
  yesTokenId: string;
  noTokenId: string;
}

export type PolymarketFeedEvent = FeedEvent;

export interface PolymarketFeedOptions extends FeedOptions<PolymarketFeedEvent> {
  markets: PolymarketMarketRef[];
  send(text: string): void;
}

interface TokenState extends BookSync {
  marketId: string;
  outcome: Outcome;
  book: TokenBook;
  key: string;
  tickSize: string | undefined;
}

export class PolymarketFeed extends BookFeed<TokenState, PolymarketFeedEvent> {
  private subscribedNow = false;
  /** Events of other tokens or types we do not use. */
  ignored = 0;

  constructor(private readonly poly: PolymarketFeedOptions) {
    super(poly, { venue: 'Polymarket', books: 'token books', snapshot: 'a book message', prices: polymarketPriceBounds });
    for (const ref of poly.markets) {
      for (const outcome of ['yes', 'no'] as const) {
        const tokenId = outcome === 'yes' ? ref.yesTokenId : ref.noTokenId;
        this.track({
          ...newBookSync(tokenId),
          marketId: ref.marketId,
          outcome,
          book: new TokenBook(),
          key: bookKey('polymarket', ref.marketId, outcome),
          tickSize: undefined,
        });
      }
    }
  }

  book(tokenId: string): TokenBook | undefined {
    return this.books.get(tokenId)?.book;
  }

  tickSize(tokenId: string): string | undefined {
    return this.books.get(tokenId)?.tickSize;
  }

  onOpen(nowMs: number): void {
    this.connected = true;
    this.markAllResyncing();
    this.subscriptionStarted(nowMs);
    for (const t of this.books.values()) t.resyncSince = nowMs;
    this.poly.send(
      JSON.stringify({ assets_ids: [...this.books.keys()], type: 'market', initial_dump: true, custom_feature_enabled: false }),
    );
    this.subscribedNow = true;
  }

  onClose(_nowMs?: number): void {
    this.disconnected();
    this.subscribedNow = false;
    this.markAllResyncing();
  }

  onFrame(text: string, receivedMs: number): void {
    if (text === 'PONG' || text === 'PING') return;
    const parsed = this.parseFrame(text, receivedMs);
    if (!parsed) return;
    const events = Array.isArray(parsed.value) ? (parsed.value as unknown[]) : [parsed.value];
    for (const event of events) {
      try {
        if (typeof event !== 'object' || event === null || Array.isArray(event)) {
          this.lostFrame(receivedMs);
          throw new MalformedMessage('event is not an object');
        }
        this.dispatch(event as Record<string, unknown>, receivedMs);
      } catch (error) {
        this.malformed(error);
      }
    }
  }

  /** Any of our tokens may have missed a change: every one is resynced. */
  protected override lostFrame(nowMs: number): void {
    if (this.connected) this.resync([...this.books.keys()], 'unreadable frame', nowMs);
  }

  protected override subscribed(): boolean {
    return this.subscribedNow;
  }

  protected override unanswered(t: TokenState): string {
    return `no book for token ${t.id.slice(0, 12)}… after subscribing`;
  }

  /** Unsubscribing and resubscribing a token brings a fresh `book`. */
  protected override requestSnapshots(tokenIds: string[]): void {
    this.poly.send(JSON.stringify({ assets_ids: tokenIds, operation: 'unsubscribe' }));
    this.poly.send(JSON.stringify({ assets_ids: tokenIds, operation: 'subscribe', initial_dump: true, custom_feature_enabled: false }));
  }

  private dispatch(event: Record<string, unknown>, receivedMs: number): void {
    switch (event.event_type) {
      case 'book':
        return this.onBook(event, receivedMs);
      case 'price_change':
        return this.onPriceChange(event, receivedMs);
      case 'tick_size_change': {
        const t = typeof event.asset_id === 'string' ? this.books.get(event.asset_id) : undefined;
        if (!t) return void this.ignored++;
        venuePrice(event.new_tick_size, 'new_tick_size');
        t.tickSize = String(event.new_tick_size);
        return;
      }
      case 'last_trade_price':
      case 'best_bid_ask':
      case 'new_market':
      case 'market_resolved':
        this.ignored++;
        return;
      default:
        if (typeof event.event_type !== 'string') throw new MalformedMessage('event without event_type');
        this.ignored++;
    }
  }

  private onBook(event: Record<string, unknown>, receivedMs: number): void {
    if (typeof event.asset_id !== 'string') {
      this.lostFrame(receivedMs);
      throw new MalformedMessage('book without asset_id');
    }
    const t = this.books.get(event.asset_id);
    if (!t) return void this.ignored++;
    this.heard(receivedMs);
    let bids: Level[];
    let asks: Level[];
    try {
      checkDepth(event.bids, 'bids');
      checkDepth(event.asks, 'asks');
      bids = polymarketLevels(event.bids, 'bids');
      asks = polymarketLevels(event.asks, 'asks');
      checkPrices(bids, polymarketPriceBounds, 'bids');
      checkPrices(asks, polymarketPriceBounds, 'asks');
    } catch (error) {
      return this.refused([t], error, receivedMs, true);
    }
    const fault = t.book.replace(bids, asks);
    if (fault) return this.reject(t, fault === 'too_deep' ? 'too_deep' : 'size_out_of_range', `book: ${fault}`, receivedMs);
    this.synced(t, this.exchangeTime(event.timestamp, receivedMs), receivedMs);
  }

  private onPriceChange(event: Record<string, unknown>, receivedMs: number): void {
    // Parse every entry first: a bad message changes nothing, and the books it was for missed a change.
    const current = Array.isArray(event.price_changes);
    const raw: unknown = current ? event.price_changes : event.changes;
    if (!Array.isArray(raw)) {
      this.lostFrame(receivedMs);
      throw new MalformedMessage('price_change without price_changes or changes');
    }
    const assetOf = (c: unknown): unknown =>
      (typeof c === 'object' && c !== null ? (c as Record<string, unknown>).asset_id : undefined) ?? (current ? undefined : event.asset_id);
    const changes: Array<{ assetId: string; side: 'bid' | 'ask'; level: Level }> = [];
    try {
      raw.forEach((c: unknown, i) => {
        const what = `${current ? 'price_changes' : 'changes'}[${i}]`;
        const asset = assetOf(c);
        if (typeof c !== 'object' || c === null) throw new MalformedMessage(`${what}: not an object`);
        if (typeof asset !== 'string') throw new MalformedMessage(`${what}: no asset_id`);
        const { side, price, size } = c as Record<string, unknown>;
        if (side !== 'BUY' && side !== 'SELL') throw new MalformedMessage(`${what}: side must be BUY or SELL`);
        const level: Level = [venuePrice(price, `${what}.price`), venueSize(size, `${what}.size`)];
        if (this.books.has(asset)) checkPrice(level[0], polymarketPriceBounds, `${what}.price`);
        changes.push({ assetId: asset, side: side === 'BUY' ? 'bid' : 'ask', level });
      });
    } catch (error) {
      // The books of every entry missed a change; an entry without a readable asset may be any of ours.
      const assets = raw.map(assetOf);
      const ours = assets.every((a) => typeof a === 'string')
        ? [...this.books.values()].filter((t) => assets.includes(t.id))
        : [...this.books.values()];
      return this.refused(ours, error, receivedMs, false);
    }
    const touched = new Set<TokenState>();
    for (const change of changes) {
      const t = this.books.get(change.assetId);
      if (!t) {
        this.ignored++;
        continue;
      }
      this.heard(receivedMs);
      if (this.freshness.isResyncing(t.id)) continue; // no book yet to apply it to
      const fault = t.book.set(change.side, change.level[0], change.level[1]);
      if (fault) {
        touched.delete(t);
        this.reject(t, fault === 'too_deep' ? 'too_deep' : 'size_out_of_range', `price_change: ${fault}`, receivedMs);
      } else touched.add(t);
    }
    if (touched.size === 0) return;
    const exchangeTs = this.exchangeTime(event.timestamp, receivedMs);
    for (const t of touched) this.changed(t, exchangeTs, receivedMs);
  }

  /**
   * The tokens of a bad event are refused (a change to a book waiting for its `book` is moot), and the
   * event is reported as malformed unless it was a fault of the values.
   */
  private refused(tokens: TokenState[], error: unknown, nowMs: number, snapshot: boolean): void {
    for (const t of tokens) if (snapshot || !this.freshness.isResyncing(t.id)) this.refuse(t, error, nowMs);
    if (!(error instanceof BookFault)) throw error;
  }

  protected override crossed(t: TokenState): boolean {
    return t.book.crossed();
  }

  protected override clear(t: TokenState): void {
    t.book.clear();
  }

  /** The token's quote, built when sent: the book, stale flag and times as they are then. */
  protected override publish(t: TokenState): void {
    this.options.publish(t.key, () => this.quote(t, t.book.view(this.options.depth), 'polymarket', t.marketId, t.outcome));
  }
}
