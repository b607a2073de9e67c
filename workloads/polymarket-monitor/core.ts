// The Polymarket CLOB market channel as a state machine, apart from sockets and Redis. Each shard
// market has two outcome tokens (yes, no) with their own books. There is no sequence number: a
// book is trusted from its `book` message (the initial dump on subscribe, or a resend after a
// trade) and then moved by `price_change` (size = new total at the level). A book that stays
// crossed past a grace period is resynced by unsubscribing and resubscribing its token (which
// brings a fresh `book`); silence is caught by the staleness timer.
// Both price_change schemas are read: the current one (price_changes[], since 2025-09-15) and the
// legacy one (asset_id + changes[]). Frames may be one event or a JSON array of events.
import type { Outcome } from '../../contracts/messages.js';
import { TokenBook, type Level } from '../market-data/book.js';
import { BookFeed, newBookSync, type BookSync, type FeedEvent, type FeedOptions } from '../market-data/feed.js';
import { toQuote } from '../market-data/normalize.js';
import { polymarketLevels } from '../../venues/polymarket/wire.js';
import { epochMs, venueSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
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
    super(poly, { venue: 'Polymarket', books: 'token books', snapshot: 'a book message' });
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
    for (const t of this.books.values()) t.resyncSince = nowMs;
    this.poly.send(
      JSON.stringify({ assets_ids: [...this.books.keys()], type: 'market', initial_dump: true, custom_feature_enabled: false }),
    );
    this.subscribedNow = true;
  }

  onClose(_nowMs?: number): void {
    this.connected = false;
    this.subscribedNow = false;
    this.markAllResyncing();
  }

  onFrame(text: string, receivedMs: number): void {
    if (text === 'PONG' || text === 'PING') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.options.event({ kind: 'malformed', error: 'not JSON' });
      return;
    }
    const events = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
    for (const event of events) {
      try {
        if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new MalformedMessage('event is not an object');
        this.dispatch(event as Record<string, unknown>, receivedMs);
      } catch (error) {
        this.options.event({
          kind: 'malformed',
          error: error instanceof MalformedMessage ? error.message : `unexpected: ${(error as Error).message}`,
        });
      }
    }
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
    if (typeof event.asset_id !== 'string') throw new MalformedMessage('book without asset_id');
    const t = this.books.get(event.asset_id);
    const bids = polymarketLevels(event.bids, 'bids');
    const asks = polymarketLevels(event.asks, 'asks');
    if (!t) return void this.ignored++;
    t.book.replace(bids, asks);
    this.synced(t, epochMs(event.timestamp, receivedMs), receivedMs);
  }

  private onPriceChange(event: Record<string, unknown>, receivedMs: number): void {
    // Parse every entry first: a malformed message changes nothing.
    const changes: Array<{ assetId: string; side: 'bid' | 'ask'; level: Level }> = [];
    const entry = (raw: unknown, assetId: unknown, what: string) => {
      if (typeof raw !== 'object' || raw === null) throw new MalformedMessage(`${what}: not an object`);
      const c = raw as Record<string, unknown>;
      const asset = c.asset_id ?? assetId;
      if (typeof asset !== 'string') throw new MalformedMessage(`${what}: no asset_id`);
      if (c.side !== 'BUY' && c.side !== 'SELL') throw new MalformedMessage(`${what}: side must be BUY or SELL`);
      changes.push({
        assetId: asset,
        side: c.side === 'BUY' ? 'bid' : 'ask',
        level: [venuePrice(c.price, `${what}.price`), venueSize(c.size, `${what}.size`)],
      });
    };
    if (Array.isArray(event.price_changes)) event.price_changes.forEach((c, i) => entry(c, undefined, `price_changes[${i}]`));
    else if (Array.isArray(event.changes)) event.changes.forEach((c, i) => entry(c, event.asset_id, `changes[${i}]`));
    else throw new MalformedMessage('price_change without price_changes or changes');
    const exchangeTs = epochMs(event.timestamp, receivedMs);
    const touched = new Set<TokenState>();
    for (const change of changes) {
      const t = this.books.get(change.assetId);
      if (!t) {
        this.ignored++;
        continue;
      }
      if (this.freshness.isResyncing(t.id)) continue; // no book yet to apply it to
      t.book.set(change.side, change.level[0], change.level[1]);
      touched.add(t);
    }
    for (const t of touched) this.changed(t, exchangeTs, receivedMs);
  }

  protected override crossed(t: TokenState): boolean {
    return t.book.crossed();
  }

  /** The token's quote, built when sent: the book, stale flag and times as they are then. */
  protected override publish(t: TokenState): void {
    this.options.publish(t.key, () =>
      toQuote(t.book.view(this.options.depth), {
        venue: 'polymarket',
        marketId: t.marketId,
        outcome: t.outcome,
        seq: this.options.nextSeq(),
        exchangeTs: t.exchangeTs,
        receivedTs: t.receivedMs,
        stale: this.freshness.isStale(t.id),
      }),
    );
  }
}
