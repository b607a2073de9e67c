// Polymarket's market channel feed: events are queued per connection and sent once per batch
// (a single event as an object, several as one array), as the venue batches them. For each book
// change: price_change (the current schema, or the pre-2025-09-15 one), then best_bid_ask to
// custom-feature subscribers when the top moved; after a trade, last_trade_price and each
// token's full book; tick_size_change; market_resolved to custom-feature subscribers.
import { createHash, randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { PRICE_ONE, type LevelChange } from '../book.js';
import type { SimClock } from '../clock.js';
import { polyPrice, polySize } from '../format.js';
import type { TickSize } from '../scenario.js';
import { tokenId, type Outcome, type PMarket } from './state.js';
import { bestOf, bookEvent, resolvedEvent, summary } from './wire.js';

export interface PConn {
  ws: WebSocket;
  assets: Set<string>;
  subscribed: boolean;
  /** Asked for custom_feature_enabled: best_bid_ask and market_resolved too. */
  custom: boolean;
  connectedAt: number;
  lastPing: number;
  queue: unknown[];
}

const OUTCOMES = ['yes', 'no'] as const;

type Entry = { price: string; size: string; side: 'BUY' | 'SELL' };

export class PolymarketFeed {
  constructor(
    private readonly conns: ReadonlySet<PConn>,
    private readonly clock: SimClock,
    /** Emit the pre-2025-09-15 price_change schema: one event per token, without best bid and ask. */
    private readonly legacy: boolean,
  ) {}

  /** Sends every connection what is queued for it. */
  flush(): void {
    for (const conn of this.conns) {
      if (conn.queue.length === 0) continue;
      const payload = conn.queue.length === 1 ? conn.queue[0] : conn.queue;
      conn.queue = [];
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(payload));
    }
  }

  /** price_change for order placement and cancels and for the scenario's liquidity. */
  changes(m: PMarket, changes: LevelChange[]): void {
    if (changes.length === 0) return;
    this.touched(m);
    const entries: Record<Outcome, Entry[]> = { yes: [], no: [] };
    for (const c of changes) {
      entries.yes.push({ price: polyPrice(c.price), size: polySize(c.size), side: c.side === 'bid' ? 'BUY' : 'SELL' });
      entries.no.push({ price: polyPrice(PRICE_ONE - c.price), size: polySize(c.size), side: c.side === 'bid' ? 'SELL' : 'BUY' });
    }
    const ts = String(m.changedMs);
    for (const conn of this.subscribers(m)) {
      if (this.legacy) {
        for (const [outcome, assetId] of tokensOf(conn, m)) {
          conn.queue.push({
            event_type: 'price_change',
            asset_id: assetId,
            market: m.sim.conditionId,
            changes: entries[outcome],
            timestamp: ts,
            hash: summary(m, outcome).hash,
          });
        }
        continue;
      }
      const priceChanges: unknown[] = [];
      for (const [outcome, assetId] of tokensOf(conn, m)) {
        const { hash } = summary(m, outcome);
        const best = bestOf(m, outcome);
        for (const e of entries[outcome]) priceChanges.push({ asset_id: assetId, ...e, hash, ...best });
      }
      conn.queue.push({ event_type: 'price_change', market: m.sim.conditionId, price_changes: priceChanges, timestamp: ts });
    }
    this.bestBidAsk(m);
  }

  /** After a trade: last_trade_price, then the full book of each token (the venue resends books on trades). */
  trade(m: PMarket, price: number, size: number, takerBuysYes: boolean): void {
    this.touched(m);
    m.lastTrade = { price, size, takerBuysYes };
    for (const conn of this.subscribers(m)) {
      for (const [outcome, assetId] of tokensOf(conn, m)) {
        conn.queue.push({
          event_type: 'last_trade_price',
          asset_id: assetId,
          market: m.sim.conditionId,
          price: polyPrice(outcome === 'yes' ? price : PRICE_ONE - price),
          size: polySize(size),
          side: (outcome === 'yes') === takerBuysYes ? 'BUY' : 'SELL',
          fee_rate_bps: '0',
          timestamp: String(m.changedMs),
          transaction_hash: `0x${createHash('sha256').update(randomUUID()).digest('hex')}`,
        });
        conn.queue.push(bookEvent(m, outcome));
      }
    }
    this.bestBidAsk(m);
  }

  tickChange(m: PMarket, tick: TickSize): void {
    const old = m.tick;
    m.tick = tick;
    this.touched(m);
    for (const conn of this.subscribers(m)) {
      for (const [, assetId] of tokensOf(conn, m)) {
        conn.queue.push({
          event_type: 'tick_size_change',
          asset_id: assetId,
          market: m.sim.conditionId,
          old_tick_size: old,
          new_tick_size: tick,
          timestamp: String(m.changedMs),
        });
      }
    }
  }

  resolved(m: PMarket, winner: Outcome, resolvedMs: number): void {
    const event = resolvedEvent(m, winner, resolvedMs);
    for (const conn of this.subscribers(m)) if (conn.custom) conn.queue.push(event);
  }

  private bestBidAsk(m: PMarket): void {
    const key = m.book.topKey();
    if (key === m.lastTop) return;
    m.lastTop = key;
    for (const conn of this.subscribers(m)) {
      if (!conn.custom) continue;
      for (const [outcome, assetId] of tokensOf(conn, m)) {
        const best = bestOf(m, outcome);
        conn.queue.push({
          event_type: 'best_bid_ask',
          market: m.sim.conditionId,
          asset_id: assetId,
          ...best,
          spread: polyPrice(Math.round((Number(best.best_ask) - Number(best.best_bid)) * PRICE_ONE)),
          timestamp: String(m.changedMs),
        });
      }
    }
  }

  /** The book changed: a new timestamp, and the cached /book bodies are stale. */
  private touched(m: PMarket): void {
    m.changedMs = this.clock.now();
    m.summaries = {};
  }

  private subscribers(m: PMarket): PConn[] {
    return [...this.conns].filter((c) => c.subscribed && (c.assets.has(m.sim.yesTokenId) || c.assets.has(m.sim.noTokenId)));
  }
}

/** The market's tokens this connection is subscribed to, YES first. */
function tokensOf(conn: PConn, m: PMarket): Array<[Outcome, string]> {
  return OUTCOMES.map((outcome) => [outcome, tokenId(m, outcome)] as [Outcome, string]).filter(([, assetId]) => conn.assets.has(assetId));
}
