// The Polymarket CLOB market channel as a state machine, apart from sockets and Redis. Each shard
// market has two outcome tokens (yes, no) with their own books. There is no sequence number: a
// book is trusted from its `book` message (the initial dump on subscribe, or a resend after a
// trade) and then moved by `price_change` (size = new total at the level). A book that stays
// crossed past a grace period is resynced by unsubscribing and resubscribing its token (which
// brings a fresh `book`); silence is caught by the staleness timer.
// Both price_change schemas are read: the current one (price_changes[], since 2025-09-15) and the
// legacy one (asset_id + changes[]). Frames may be one event or a JSON array of events.
import type { Outcome, Quote } from '../../contracts/messages.js';
import { TokenBook, type Level } from '../market-data/book.js';
import { toQuote } from '../market-data/normalize.js';
import { polymarketLevels } from '../../venues/polymarket/wire.js';
import { epochMs, venueSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
import { bookKey } from '../market-data/publisher.js';
import { StalenessTracker } from '../market-data/staleness.js';

export interface PolymarketMarketRef {
  marketId: string;
  yesTokenId: string;
  noTokenId: string;
}

export type PolymarketFeedEvent =
  { kind: 'resync'; tokens: string[]; reason: string } | { kind: 'malformed'; error: string } | { kind: 'reconnect'; reason: string };

export interface PolymarketFeedOptions {
  markets: PolymarketMarketRef[];
  depth: number;
  maxQuoteAgeMs: number;
  crossedGraceMs?: number;
  /** A resync not answered with a book within this long → reconnect. */
  resyncTimeoutMs?: number;
  /** A book changed: `build` makes its quote (lazily, when it is sent; see QuotePublisher.publishLazy). */
  publish(key: string, build: () => Quote): void;
  send(text: string): void;
  event(event: PolymarketFeedEvent): void;
  nextSeq(): number;
}

interface TokenState {
  tokenId: string;
  marketId: string;
  outcome: Outcome;
  book: TokenBook;
  exchangeTs: number;
  receivedMs: number;
  key: string;
  tickSize: string | undefined;
  crossedSince: number | undefined;
  resyncSince: number | undefined;
  everSynced: boolean;
}

export class PolymarketFeed {
  private readonly tokens = new Map<string, TokenState>();
  readonly freshness: StalenessTracker<string>;
  private connected = false;
  private subscribed = false;
  private readonly crossedGraceMs: number;
  private readonly resyncTimeoutMs: number;
  /** Events of other tokens or types we do not use. */
  ignored = 0;

  constructor(private readonly options: PolymarketFeedOptions) {
    this.crossedGraceMs = options.crossedGraceMs ?? 1_000;
    this.resyncTimeoutMs = options.resyncTimeoutMs ?? 15_000;
    this.freshness = new StalenessTracker(options.maxQuoteAgeMs);
    for (const ref of options.markets) {
      for (const outcome of ['yes', 'no'] as const) {
        const tokenId = outcome === 'yes' ? ref.yesTokenId : ref.noTokenId;
        this.tokens.set(tokenId, {
          tokenId,
          marketId: ref.marketId,
          outcome,
          book: new TokenBook(),
          exchangeTs: 0,
          receivedMs: 0,
          key: bookKey('polymarket', ref.marketId, outcome),
          tickSize: undefined,
          crossedSince: undefined,
          resyncSince: undefined,
          everSynced: false,
        });
        this.freshness.add(tokenId);
      }
    }
  }

  ready(): { ready: boolean; reason?: string } {
    if (!this.connected) return { ready: false, reason: 'not connected to Polymarket' };
    if (!this.subscribed) return { ready: false, reason: 'not subscribed' };
    const { resyncing, total } = this.freshness.counts();
    if (resyncing > 0) return { ready: false, reason: `${resyncing} of ${total} token books waiting for a book message` };
    return { ready: true };
  }

  book(tokenId: string): TokenBook | undefined {
    return this.tokens.get(tokenId)?.book;
  }

  tickSize(tokenId: string): string | undefined {
    return this.tokens.get(tokenId)?.tickSize;
  }

  onOpen(nowMs: number): void {
    this.connected = true;
    this.markAllResyncing();
    for (const t of this.tokens.values()) t.resyncSince = nowMs;
    this.options.send(
      JSON.stringify({ assets_ids: [...this.tokens.keys()], type: 'market', initial_dump: true, custom_feature_enabled: false }),
    );
    this.subscribed = true;
  }

  onClose(_nowMs?: number): void {
    this.connected = false;
    this.subscribed = false;
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

  tick(nowMs: number): void {
    for (const tokenId of this.freshness.sweep(nowMs)) this.publish(this.tokens.get(tokenId)!);
    if (!this.connected) return;
    const crossed: string[] = [];
    for (const t of this.tokens.values()) {
      if (t.crossedSince !== undefined && nowMs - t.crossedSince >= this.crossedGraceMs) crossed.push(t.tokenId);
      if (t.resyncSince !== undefined && nowMs - t.resyncSince > this.resyncTimeoutMs) {
        for (const other of this.tokens.values()) other.resyncSince = undefined;
        this.options.event({ kind: 'reconnect', reason: `no book for token ${t.tokenId.slice(0, 12)}… after subscribing` });
        return;
      }
    }
    if (crossed.length > 0) this.resync(crossed, 'crossed book', nowMs);
  }

  private markAllResyncing(): void {
    for (const t of this.tokens.values()) {
      t.crossedSince = undefined;
      t.resyncSince = undefined;
      if (this.freshness.startResync(t.tokenId) && t.everSynced) this.publish(t);
    }
  }

  private resync(tokenIds: string[], reason: string, nowMs: number): void {
    for (const id of tokenIds) {
      const t = this.tokens.get(id)!;
      t.crossedSince = undefined;
      t.resyncSince = nowMs;
      if (this.freshness.startResync(id) && t.everSynced) this.publish(t);
    }
    this.options.event({ kind: 'resync', tokens: tokenIds, reason });
    this.options.send(JSON.stringify({ assets_ids: tokenIds, operation: 'unsubscribe' }));
    this.options.send(JSON.stringify({ assets_ids: tokenIds, operation: 'subscribe', initial_dump: true, custom_feature_enabled: false }));
  }

  private dispatch(event: Record<string, unknown>, receivedMs: number): void {
    switch (event.event_type) {
      case 'book':
        return this.onBook(event, receivedMs);
      case 'price_change':
        return this.onPriceChange(event, receivedMs);
      case 'tick_size_change': {
        const t = typeof event.asset_id === 'string' ? this.tokens.get(event.asset_id) : undefined;
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
    const t = this.tokens.get(event.asset_id);
    const bids = polymarketLevels(event.bids, 'bids');
    const asks = polymarketLevels(event.asks, 'asks');
    if (!t) return void this.ignored++;
    t.book.replace(bids, asks);
    t.everSynced = true;
    t.resyncSince = undefined;
    t.exchangeTs = epochMs(event.timestamp, receivedMs);
    t.receivedMs = receivedMs;
    this.freshness.touch(t.tokenId, receivedMs);
    this.checkCrossed(t, receivedMs);
    this.publish(t);
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
      const t = this.tokens.get(change.assetId);
      if (!t) {
        this.ignored++;
        continue;
      }
      if (this.freshness.isResyncing(t.tokenId)) continue; // no book yet to apply it to
      t.book.set(change.side, change.level[0], change.level[1]);
      touched.add(t);
    }
    for (const t of touched) {
      t.exchangeTs = exchangeTs;
      t.receivedMs = receivedMs;
      this.freshness.touch(t.tokenId, receivedMs);
      this.checkCrossed(t, receivedMs);
      this.publish(t);
    }
  }

  private checkCrossed(t: TokenState, nowMs: number): void {
    if (t.book.crossed()) t.crossedSince ??= nowMs;
    else t.crossedSince = undefined;
  }

  /** The token's quote, built when sent: the book, stale flag and times as they are then. */
  private publish(t: TokenState): void {
    this.options.publish(t.key, () =>
      toQuote(t.book.view(this.options.depth), {
        venue: 'polymarket',
        marketId: t.marketId,
        outcome: t.outcome,
        seq: this.options.nextSeq(),
        exchangeTs: t.exchangeTs,
        receivedTs: t.receivedMs,
        stale: this.freshness.isStale(t.tokenId),
      }),
    );
  }
}
