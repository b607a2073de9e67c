// Polymarket CLOB V2 simulator: CLOB REST at the root (/book, /markets, /order …), Gamma-style
// discovery under /gamma (/gamma/events, /gamma/markets — the real service is a separate host,
// gamma-api.polymarket.com, with the same paths minus the prefix), the geoblock check at
// /api/geoblock, and the market WebSocket at /ws/market. Books are driven by the scenario engine;
// see /work/shared/reference/exchange-protocols.md §2.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket } from 'ws';
import { z } from 'zod';
import { LadderBook, type LevelChange, type RestingOrder } from '../book.js';
import { ScenarioDriver, SimClock } from '../clock.js';
import { isoTime, polyPrice, polySize, PRICE_ONE } from '../format.js';
import { closeServer, listen, readBody, refuseUpgrade, sendJson, sleep, splitUrl, TokenBucket } from '../http.js';
import { ScenarioEngine, type ArbTruth, type Scenario, type SimEvent, type SimMarket } from '../scenario.js';
import { polymarketOrderHash, polymarketOrderSigner } from '../../../venues/polymarket/order.js';
import { PolymarketL2Auth, type PolymarketApiCreds } from './auth.js';
import { GEOBLOCK_ERROR, Geoblock, type GeoblockOptions } from './geoblock.js';

export const POLY_WS_MARKET_PATH = '/ws/market';
export const POLY_GAMMA_PREFIX = '/gamma';
const MIN_ORDER_SIZE = 500; // 5 shares, in hundredths

export interface PolymarketSimOptions {
  scenario: Scenario;
  creds: PolymarketApiCreds[];
  seed?: number | string;
  messageRate?: number;
  speed?: number;
  startMs?: number;
  host?: string;
  port?: number;
  geoblock?: GeoblockOptions;
  /** Close a market-channel socket that has not sent PING for this long (real: about 10 s). */
  pingTimeoutMs?: number;
  /** Close a socket that has not subscribed within this long. */
  subscribeTimeoutMs?: number;
  /** Emit the pre-2025-09-15 price_change schema (default from the scenario). */
  legacyPriceChange?: boolean;
  /** Accepted L2 timestamp skew, seconds. */
  maxSkewSec?: number;
  autoStart?: boolean;
  logger?: Logger;
}

export interface PolymarketSimHandle {
  url: string;
  wsUrl: string;
  gammaUrl: string;
  host: string;
  port: number;
  engine: ScenarioEngine;
  clock: SimClock;
  /** The simulator's own REST /book body for a token. */
  book(tokenId: string): BookSummary;
  groundTruth(): ArbTruth[];
  pause(): void;
  resume(): void;
  tick(): number;
  stop(): Promise<void>;
}

export interface BookSummary {
  market: string;
  asset_id: string;
  timestamp: string;
  hash: string;
  bids: Array<{ price: string; size: string }>;
  asks: Array<{ price: string; size: string }>;
  min_order_size: string;
  tick_size: string;
  neg_risk: boolean;
  last_trade_price: string;
}

interface PMarket {
  sim: SimMarket;
  book: LadderBook;
  tick: '0.01' | '0.001';
  lastTrade: { price: number; size: number; takerBuysYes: boolean };
  changedMs: number;
  summaries: Partial<Record<'yes' | 'no', BookSummary>>;
  lastTop: string;
  /** Set when the game is over: trading stops at `closedMs`, the winner token is declared at `resolvedMs`. */
  resolution?: { winner: 'yes' | 'no'; closedMs: number; resolvedMs?: number };
}

interface PConn {
  ws: WebSocket;
  assets: Set<string>;
  subscribed: boolean;
  custom: boolean;
  connectedAt: number;
  lastPing: number;
  queue: unknown[];
}

interface POrder {
  id: string;
  owner: string;
  makerAddress: string;
  market: PMarket;
  assetId: string;
  outcome: 'yes' | 'no';
  side: 'BUY' | 'SELL';
  /** Token price, ten-thousandths. */
  price: number;
  originalSize: number;
  sizeMatched: number;
  status: 'LIVE' | 'MATCHED' | 'CANCELED' | 'DELAYED' | 'UNMATCHED';
  orderType: string;
  createdSec: number;
  expiration: string;
  resting?: RestingOrder;
}

/** One match of one of our taker orders, as GET /data/trades reports it. */
interface PTrade {
  id: string;
  owner: string;
  takerOrderId: string;
  market: PMarket;
  assetId: string;
  outcome: 'yes' | 'no';
  side: 'BUY' | 'SELL';
  /** Token price, ten-thousandths. */
  price: number;
  size: number;
  matchSec: number;
}

/** The sports taker fee rate the simulated markets charge (exchange-protocols §2.9), in bps. */
const SPORTS_FEE_RATE_BPS = 300;

const orderSchema = z.object({
  order: z.object({
    salt: z.union([z.number(), z.string()]),
    maker: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    signer: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    tokenId: z.string().regex(/^\d+$/),
    makerAmount: z.string().regex(/^\d+$/),
    takerAmount: z.string().regex(/^\d+$/),
    side: z.enum(['BUY', 'SELL']),
    signatureType: z.number().int().min(0).max(3),
    timestamp: z.string().regex(/^\d+$/),
    expiration: z.string().regex(/^\d+$/).optional(),
    metadata: z.string().optional(),
    builder: z.string().optional(),
    signature: z.string().regex(/^0x[0-9a-fA-F]+$/),
  }),
  owner: z.string(),
  orderType: z.enum(['GTC', 'GTD', 'FOK', 'FAK']).default('GTC'),
  postOnly: z.boolean().optional(),
  deferExec: z.boolean().optional(),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const SCENARIO_OWNER = '__scenario__';

export async function startPolymarketSim(options: PolymarketSimOptions): Promise<PolymarketSimHandle> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const engine = new ScenarioEngine(options.scenario, { seed: options.seed, messageRate: options.messageRate });
  const clock = new SimClock({ speed: options.speed ?? 1, startMs: options.startMs });
  const auth = new PolymarketL2Auth(options.creds, options.maxSkewSec ?? 30);
  const geo = new Geoblock(options.geoblock);
  const legacy = options.legacyPriceChange ?? options.scenario.polymarketLegacyPriceChange;
  const pingTimeoutMs = options.pingTimeoutMs ?? 12_000;
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 10_000;

  const markets = new Map<string, PMarket>();
  const tokens = new Map<string, { market: PMarket; outcome: 'yes' | 'no' }>();
  for (const sim of engine.markets) {
    const book = new LadderBook();
    for (const level of engine.initialLevels('polymarket', sim.id)) book.setMm(level.side, level.price, level.size);
    const m: PMarket = {
      sim,
      book,
      tick: engine.initialTickSize(sim.id),
      lastTrade: { price: Math.round(sim.initialPrice * 100) * 100, size: 0, takerBuysYes: true },
      changedMs: clock.now(),
      summaries: {},
      lastTop: '',
    };
    m.lastTop = topKey(m);
    markets.set(sim.id, m);
    tokens.set(sim.yesTokenId, { market: m, outcome: 'yes' });
    tokens.set(sim.noTokenId, { market: m, outcome: 'no' });
  }
  const orders = new Map<string, POrder>();
  const trades: PTrade[] = [];
  const addressOf = new Map(options.creds.map((c) => [c.apiKey, c.address]));
  const conns = new Set<PConn>();
  const faults = { outage: false, rateLimited: false, slowMs: 0 };
  const bookBucket = new TokenBucket(150, 1500); // /book: 1 500 per 10 s

  // ----------------------------------------------------------------------------------------
  // Books as the two tokens see them

  const tokenLevels = (m: PMarket, outcome: 'yes' | 'no') => {
    const bids = m.book.levels('bid');
    const asks = m.book.levels('ask');
    if (outcome === 'yes') return { bids, asks: [...asks].reverse() };
    // NO token: bids at 1 − (YES asks), asks at 1 − (YES bids); bids ascending, asks descending.
    return {
      bids: [...asks].reverse().map(([p, s]) => [PRICE_ONE - p, s] as [number, number]),
      asks: bids.map(([p, s]) => [PRICE_ONE - p, s] as [number, number]),
    };
  };

  const summary = (m: PMarket, outcome: 'yes' | 'no'): BookSummary => {
    const cached = m.summaries[outcome];
    if (cached) return cached;
    const { bids, asks } = tokenLevels(m, outcome);
    const last = outcome === 'yes' ? m.lastTrade.price : PRICE_ONE - m.lastTrade.price;
    const body: BookSummary = {
      market: m.sim.conditionId,
      asset_id: outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId,
      timestamp: String(m.changedMs),
      hash: '',
      bids: bids.map(([p, s]) => ({ price: polyPrice(p), size: polySize(s) })),
      asks: asks.map(([p, s]) => ({ price: polyPrice(p), size: polySize(s) })),
      min_order_size: '5',
      tick_size: m.tick,
      neg_risk: false,
      last_trade_price: polyPrice(last),
    };
    body.hash = createHash('sha1').update(JSON.stringify(body)).digest('hex');
    m.summaries[outcome] = body;
    return body;
  };

  const touched = (m: PMarket) => {
    m.changedMs = clock.now();
    m.summaries = {};
  };

  const bestOf = (m: PMarket, outcome: 'yes' | 'no') => {
    const { bids, asks } = tokenLevels(m, outcome);
    const bid = bids[bids.length - 1];
    const ask = asks[asks.length - 1];
    return { best_bid: bid ? polyPrice(bid[0]) : '0', best_ask: ask ? polyPrice(ask[0]) : '1' };
  };

  // ----------------------------------------------------------------------------------------
  // WebSocket publishing

  const flush = () => {
    for (const conn of conns) {
      if (conn.queue.length === 0) continue;
      const payload = conn.queue.length === 1 ? conn.queue[0] : conn.queue;
      conn.queue = [];
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(payload));
    }
  };

  const bookEvent = (m: PMarket, outcome: 'yes' | 'no') => {
    const s = summary(m, outcome);
    return { event_type: 'book', asset_id: s.asset_id, market: s.market, bids: s.bids, asks: s.asks, timestamp: s.timestamp, hash: s.hash, last_trade_price: s.last_trade_price };
  };

  const subscribers = (m: PMarket) => [...conns].filter((c) => c.subscribed && (c.assets.has(m.sim.yesTokenId) || c.assets.has(m.sim.noTokenId)));

  const queueBestBidAsk = (m: PMarket) => {
    const key = topKey(m);
    if (key === m.lastTop) return;
    m.lastTop = key;
    for (const conn of subscribers(m)) {
      if (!conn.custom) continue;
      for (const outcome of ['yes', 'no'] as const) {
        const assetId = outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId;
        if (!conn.assets.has(assetId)) continue;
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
  };

  /** price_change for order placement/cancel and scenario liquidity changes. */
  const queuePriceChanges = (m: PMarket, changes: LevelChange[]) => {
    if (changes.length === 0) return;
    touched(m);
    const entries = { yes: [] as Array<{ price: string; size: string; side: 'BUY' | 'SELL' }>, no: [] as Array<{ price: string; size: string; side: 'BUY' | 'SELL' }> };
    for (const c of changes) {
      entries.yes.push({ price: polyPrice(c.price), size: polySize(c.size), side: c.side === 'bid' ? 'BUY' : 'SELL' });
      entries.no.push({ price: polyPrice(PRICE_ONE - c.price), size: polySize(c.size), side: c.side === 'bid' ? 'SELL' : 'BUY' });
    }
    const ts = String(m.changedMs);
    for (const conn of subscribers(m)) {
      if (legacy) {
        for (const outcome of ['yes', 'no'] as const) {
          const assetId = outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId;
          if (!conn.assets.has(assetId)) continue;
          conn.queue.push({ event_type: 'price_change', asset_id: assetId, market: m.sim.conditionId, changes: entries[outcome], timestamp: ts, hash: summary(m, outcome).hash });
        }
        continue;
      }
      const priceChanges: unknown[] = [];
      for (const outcome of ['yes', 'no'] as const) {
        const assetId = outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId;
        if (!conn.assets.has(assetId)) continue;
        const { hash } = summary(m, outcome);
        const best = bestOf(m, outcome);
        for (const e of entries[outcome]) priceChanges.push({ asset_id: assetId, ...e, hash, ...best });
      }
      conn.queue.push({ event_type: 'price_change', market: m.sim.conditionId, price_changes: priceChanges, timestamp: ts });
    }
    queueBestBidAsk(m);
  };

  /** After a trade: last_trade_price, then the full book of each token (the venue resends books on trades). */
  const queueTrade = (m: PMarket, price: number, size: number, takerBuysYes: boolean) => {
    touched(m);
    m.lastTrade = { price, size, takerBuysYes };
    for (const conn of subscribers(m)) {
      for (const outcome of ['yes', 'no'] as const) {
        const assetId = outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId;
        if (!conn.assets.has(assetId)) continue;
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
    queueBestBidAsk(m);
  };

  const queueTickChange = (m: PMarket, tick: '0.01' | '0.001') => {
    const old = m.tick;
    m.tick = tick;
    touched(m);
    for (const conn of subscribers(m)) {
      for (const assetId of [m.sim.yesTokenId, m.sim.noTokenId]) {
        if (!conn.assets.has(assetId)) continue;
        conn.queue.push({ event_type: 'tick_size_change', asset_id: assetId, market: m.sim.conditionId, old_tick_size: old, new_tick_size: tick, timestamp: String(m.changedMs) });
      }
    }
  };

  // ----------------------------------------------------------------------------------------
  // Matching (on the YES ladder)

  const execute = (m: PMarket, takerBuysYes: boolean, limit: number, size: number, owner: string, order?: POrder) => {
    const result = m.book.match(takerBuysYes ? 'buy' : 'sell', limit, size, owner, 'maker');
    for (const canceled of result.stpCanceled) {
      const o = orders.get(canceled.id);
      if (o) {
        o.status = 'CANCELED';
        o.resting = undefined;
      }
    }
    let filled = 0;
    let notional = 0;
    for (const fill of result.fills) {
      filled += fill.size;
      notional += fill.price * fill.size;
      if (fill.maker) {
        const makerOrder = orders.get(fill.maker.id);
        if (makerOrder) {
          makerOrder.sizeMatched += fill.size;
          if (fill.maker.remaining === 0) {
            makerOrder.status = 'MATCHED';
            makerOrder.resting = undefined;
          }
        }
      }
    }
    if (order) {
      order.sizeMatched += filled;
      for (const fill of result.fills) {
        trades.push({
          id: randomUUID(),
          owner: order.owner,
          takerOrderId: order.id,
          market: m,
          assetId: order.assetId,
          outcome: order.outcome,
          side: order.side,
          price: order.outcome === 'yes' ? fill.price : PRICE_ONE - fill.price,
          size: fill.size,
          matchSec: Math.floor(clock.now() / 1000),
        });
      }
    }
    if (result.fills.length > 0) {
      const last = result.fills[result.fills.length - 1]!;
      queueTrade(m, last.price, filled, takerBuysYes);
    } else if (result.changes.length > 0) queuePriceChanges(m, result.changes);
    return { ...result, filled, notional };
  };

  // ----------------------------------------------------------------------------------------
  // Scenario events

  const applyEvents = (events: SimEvent[]) => {
    for (const event of events) {
      if (event.venue !== 'polymarket') continue;
      switch (event.kind) {
        case 'book': {
          const m = markets.get(event.marketId)!;
          const changes: LevelChange[] = [];
          for (const level of event.levels) {
            const change = m.book.setMm(level.side, level.price, level.size);
            if (change) changes.push(change);
          }
          queuePriceChanges(m, changes);
          break;
        }
        case 'trade': {
          const m = markets.get(event.marketId)!;
          const buy = event.takerSide === 'buy';
          execute(m, buy, buy ? PRICE_ONE - 100 : 100, event.size, SCENARIO_OWNER);
          break;
        }
        case 'tickSize':
          queueTickChange(markets.get(event.marketId)!, event.tickSize);
          break;
        case 'fault':
          applyFault(event);
          break;
        case 'arbitrage':
          log?.info({ window: event.windowId, market: event.marketId, phase: event.phase }, 'arbitrage window');
          break;
        case 'resolution': {
          const m = markets.get(event.marketId)!;
          if (event.phase === 'determined') closeMarket(m, event.winner);
          else resolveMarket(m);
          break;
        }
      }
    }
    flush();
  };

  /** The game is over: the market stops accepting orders, resting ones are cancelled, the book empties. */
  const closeMarket = (m: PMarket, winner: 'yes' | 'no') => {
    m.resolution = { winner, closedMs: clock.now() };
    const changes: LevelChange[] = [];
    for (const o of orders.values()) {
      if (o.market !== m || !o.resting) continue;
      const change = m.book.cancel(o.resting);
      if (change) changes.push(change);
      o.resting = undefined;
      o.status = 'CANCELED';
    }
    for (const side of ['bid', 'ask'] as const) {
      for (const [price] of m.book.levels(side)) {
        const change = m.book.setMm(side, price, 0);
        if (change) changes.push(change);
      }
    }
    queuePriceChanges(m, changes);
    log?.info({ market: m.sim.conditionId, winner }, 'market closed');
  };

  /** The oracle has resolved it: the winner token is declared (custom-feature subscribers get `market_resolved`). */
  const resolveMarket = (m: PMarket) => {
    const resolution = m.resolution!;
    resolution.resolvedMs = clock.now();
    const event = {
      event_type: 'market_resolved',
      id: gammaId(m),
      question: question(m),
      market: m.sim.conditionId,
      slug: slugOf(m),
      assets_ids: [m.sim.yesTokenId, m.sim.noTokenId],
      outcomes: [m.sim.team, otherTeam(m)],
      winning_asset_id: resolution.winner === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId,
      winning_outcome: resolution.winner === 'yes' ? m.sim.team : otherTeam(m),
      timestamp: String(resolution.resolvedMs),
    };
    for (const conn of subscribers(m)) if (conn.custom) conn.queue.push(event);
    log?.info({ market: m.sim.conditionId, winner: resolution.winner }, 'market resolved');
  };

  const applyFault = (event: Extract<SimEvent, { kind: 'fault' }>) => {
    log?.warn({ fault: event.fault, phase: event.phase }, 'polymarket fault');
    const on = event.phase === 'start';
    switch (event.fault) {
      case 'disconnect':
        if (on) for (const conn of conns) conn.ws.terminate();
        faults.outage = on && event.durationMs > 0;
        break;
      case 'rateLimit':
        faults.rateLimited = on;
        break;
      case 'slow':
        faults.slowMs = on ? event.delayMs : 0;
        break;
      case 'seqGap': // Polymarket has no sequence numbers
      case 'staleBook': // the engine emits nothing for this venue during the window
        break;
    }
  };

  const driver = new ScenarioDriver(engine, clock, applyEvents);

  // ----------------------------------------------------------------------------------------
  // WebSocket market channel

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws: WebSocket) => {
    const now = Date.now();
    const conn: PConn = { ws, assets: new Set(), subscribed: false, custom: false, connectedAt: now, lastPing: now, queue: [] };
    conns.add(conn);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString('utf8');
      if (text === 'PING') {
        conn.lastPing = Date.now();
        ws.send('PONG');
        return;
      }
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!msg || typeof msg !== 'object' || !Array.isArray(msg.assets_ids)) return;
      const ids = msg.assets_ids.map(String);
      const operation = typeof msg.operation === 'string' ? msg.operation.toLowerCase() : undefined;
      if (msg.custom_feature_enabled === true) conn.custom = true;
      if (operation === 'unsubscribe') {
        for (const id of ids) conn.assets.delete(id);
        return;
      }
      if (operation !== 'subscribe' && String(msg.type).toLowerCase() !== 'market') return;
      conn.subscribed = true;
      const added = ids.filter((id) => !conn.assets.has(id));
      for (const id of ids) conn.assets.add(id);
      if (msg.initial_dump !== false) {
        for (const id of added) {
          const token = tokens.get(id);
          if (token) conn.queue.push(bookEvent(token.market, token.outcome));
        }
      }
      flush();
    });
    ws.on('close', () => conns.delete(conn));
    ws.on('error', () => conns.delete(conn));
  });
  const reaper = setInterval(
    () => {
      const now = Date.now();
      for (const conn of conns) {
        if ((!conn.subscribed && now - conn.connectedAt > subscribeTimeoutMs) || now - conn.lastPing > pingTimeoutMs) conn.ws.terminate();
      }
    },
    Math.max(25, Math.min(1000, pingTimeoutMs / 4)),
  );
  reaper.unref();

  // ----------------------------------------------------------------------------------------
  // REST

  const cursorOf = (n: number) => Buffer.from(String(n)).toString('base64');
  const END_CURSOR = 'LTE=';
  const otherTeam = (m: PMarket) => (m.sim.team === m.sim.game.home ? m.sim.game.away : m.sim.game.home);
  const slugOf = (m: PMarket) => m.sim.game.polymarket.slug ?? `${m.sim.game.sport}-${m.sim.game.away}-${m.sim.game.home}`.toLowerCase();
  const question = (m: PMarket) => `${m.sim.game.title ?? `${m.sim.game.away} vs. ${m.sim.game.home}`}`;
  const gameStart = (m: PMarket) => isoTime(clock.startMs + m.sim.game.startsAt);
  const endDate = () => isoTime(clock.startMs + engine.scenario.duration);

  const gammaId = (m: PMarket) => String(500_000 + [...markets.values()].indexOf(m));
  const resolvedTo = (m: PMarket) => (m.resolution?.resolvedMs === undefined ? undefined : m.resolution.winner);
  /** The YES token's price: the book's mid while trading, the last trade once closed, 1 or 0 once resolved. */
  const yesPrice = (m: PMarket, yes: { best_bid: string; best_ask: string }) => {
    const winner = resolvedTo(m);
    if (winner) return winner === 'yes' ? 1 : 0;
    if (m.resolution) return m.lastTrade.price / PRICE_ONE;
    return (Number(yes.best_bid) + Number(yes.best_ask)) / 2;
  };

  const clobMarketJson = (m: PMarket) => {
    const yes = bestOf(m, 'yes');
    const mid = yesPrice(m, yes);
    return {
      condition_id: m.sim.conditionId,
      question_id: `0x${createHash('sha256').update(`q:${m.sim.id}`).digest('hex')}`,
      tokens: [
        { token_id: m.sim.yesTokenId, outcome: m.sim.team, price: mid, winner: resolvedTo(m) === 'yes' },
        { token_id: m.sim.noTokenId, outcome: otherTeam(m), price: 1 - mid, winner: resolvedTo(m) === 'no' },
      ],
      minimum_order_size: 5,
      minimum_tick_size: Number(m.tick),
      active: true,
      closed: m.resolution !== undefined,
      archived: false,
      accepting_orders: m.resolution === undefined,
      enable_order_book: true,
      neg_risk: false,
      market_slug: slugOf(m),
      question: question(m),
      end_date_iso: endDate(),
      game_start_time: gameStart(m),
      seconds_delay: Math.round(m.sim.game.polymarket.matchingDelayMs / 1000),
      maker_base_fee: 0,
      taker_base_fee: 0,
    };
  };

  const gammaMarketJson = (m: PMarket, index: number) => {
    const yes = bestOf(m, 'yes');
    const mid = yesPrice(m, yes);
    return {
      id: String(500_000 + index),
      question: question(m),
      conditionId: m.sim.conditionId,
      questionID: `0x${createHash('sha256').update(`q:${m.sim.id}`).digest('hex')}`,
      slug: slugOf(m),
      outcomes: JSON.stringify([m.sim.team, otherTeam(m)]),
      outcomePrices: JSON.stringify([String(Number(mid.toFixed(4))), String(Number((1 - mid).toFixed(4)))]),
      clobTokenIds: JSON.stringify([m.sim.yesTokenId, m.sim.noTokenId]),
      active: true,
      closed: m.resolution !== undefined,
      acceptingOrders: m.resolution === undefined,
      enableOrderBook: true,
      negRisk: false,
      orderPriceMinTickSize: Number(m.tick),
      orderMinSize: 5,
      feesEnabled: true,
      bestBid: Number(yes.best_bid),
      bestAsk: Number(yes.best_ask),
      lastTradePrice: Number(polyPrice(m.lastTrade.price)),
      endDate: endDate(),
      gameStartTime: gameStart(m).replace('T', ' ').replace('Z', '+00'),
      eventStartTime: gameStart(m),
      sportsMarketType: 'moneyline',
      groupItemTitle: m.sim.team,
    };
  };

  const gammaEvents = () => {
    const games = new Map<string, PMarket[]>();
    for (const m of markets.values()) games.set(m.sim.game.id, [...(games.get(m.sim.game.id) ?? []), m]);
    const all = [...markets.values()];
    return [...games.entries()].map(([gameId, list], i) => ({
      id: String(90_000 + i),
      ticker: slugOf(list[0]!),
      slug: slugOf(list[0]!),
      title: question(list[0]!),
      startDate: isoTime(clock.startMs),
      startTime: gameStart(list[0]!),
      endDate: endDate(),
      active: true,
      closed: list.every((m) => m.resolution !== undefined),
      negRisk: false,
      tags: [{ id: '1', label: 'Sports', slug: 'sports' }, { id: String(100 + i), label: list[0]!.sim.game.sport.toUpperCase(), slug: list[0]!.sim.game.sport }],
      gameId,
      markets: list.map((m) => gammaMarketJson(m, all.indexOf(m))),
    }));
  };

  const requireToken = (query: URLSearchParams) => {
    const id = query.get('token_id');
    if (!id || !/^\d+$/.test(id)) throw new HttpError(400, { error: 'Invalid token id' });
    const token = tokens.get(id);
    if (!token) throw new HttpError(404, { error: 'No orderbook exists for the requested token id' });
    return token;
  };

  const orderJson = (o: POrder) => ({
    id: o.id,
    status: o.status,
    owner: o.owner,
    maker_address: o.makerAddress,
    market: o.market.sim.conditionId,
    asset_id: o.assetId,
    side: o.side,
    original_size: polySize(o.originalSize),
    size_matched: polySize(o.sizeMatched),
    price: polyPrice(o.price),
    outcome: o.outcome === 'yes' ? o.market.sim.team : otherTeam(o.market),
    created_at: o.createdSec,
    expiration: o.expiration,
    order_type: o.orderType,
    associate_trades: [],
  });

  const placeOrder = async (apiKey: string, raw: string) => {
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      throw new HttpError(400, { error: 'Invalid order payload' });
    }
    const parsed = orderSchema.safeParse(input);
    if (!parsed.success) throw new HttpError(400, { error: 'Invalid order payload' });
    const body = parsed.data;
    if (body.owner !== apiKey) throw new HttpError(400, { error: 'the order owner has to be the owner of the API KEY' });
    const token = tokens.get(body.order.tokenId);
    if (!token) throw new HttpError(400, { error: 'Invalid order payload' });
    // The order id is the EIP-712 struct hash; the signature must recover to the signer, which
    // must be the API key's address (and, for an EOA order, the maker too).
    const id = polymarketOrderHash(body.order);
    if (orders.has(id)) throw new HttpError(400, { error: `order ${id} is invalid. Duplicated.` });
    const signer = (await polymarketOrderSigner(body.order))?.toLowerCase();
    const keyAddress = addressOf.get(apiKey)?.toLowerCase();
    if (!signer || signer !== body.order.signer.toLowerCase() || signer !== keyAddress || (body.order.signatureType === 0 && body.order.maker.toLowerCase() !== signer)) {
      throw new HttpError(400, { error: `order ${id} is invalid. Invalid signature` });
    }
    const m = token.market;
    const maker = BigInt(body.order.makerAmount);
    const taker = BigInt(body.order.takerAmount);
    if (maker === 0n || taker === 0n) throw new HttpError(400, { error: 'Invalid order payload' });
    const buy = body.order.side === 'BUY';
    const [num, den] = buy ? [maker, taker] : [taker, maker];
    const shares6 = buy ? taker : maker;
    const priceText = (Number(num) / Number(den)).toString();
    const tickUnits = m.tick === '0.01' ? 100 : 10;
    const exact = (num * 10_000n) % den === 0n;
    const price = Number((num * 10_000n) / den);
    if (!exact || price % tickUnits !== 0 || price < tickUnits || price > PRICE_ONE - tickUnits) {
      throw new HttpError(400, { error: `order ${id} is invalid. Price (${priceText}) breaks minimum tick size rule: ${m.tick}` });
    }
    const size = Number(shares6 / 10_000n); // hundredths of a share
    if (size < MIN_ORDER_SIZE) throw new HttpError(400, { error: `order ${id} is invalid. Size (${Number(shares6) / 1e6}) lower than the minimum: 5` });
    if (body.postOnly && (body.orderType === 'FOK' || body.orderType === 'FAK')) {
      throw new HttpError(400, { error: 'invalid post-only order: post-only is only allowed with GTC and GTD orders' });
    }
    // On the YES ladder: buying NO at q is selling YES at 1 − q.
    const takerBuysYes = token.outcome === 'yes' ? buy : !buy;
    const yesPrice = token.outcome === 'yes' ? price : PRICE_ONE - price;
    const ladderSide = takerBuysYes ? 'bid' : 'ask';
    const crosses = m.book.crosses(ladderSide, yesPrice);
    if (body.postOnly && crosses) throw new HttpError(400, { error: 'invalid post-only order: order crosses book' });
    if (body.orderType === 'FOK' && m.book.available(takerBuysYes ? 'buy' : 'sell', yesPrice) < size) {
      throw new HttpError(400, { error: "order couldn't be fully filled, FOK orders are fully filled/killed" });
    }
    const order: POrder = {
      id,
      owner: apiKey,
      makerAddress: body.order.maker,
      market: m,
      assetId: body.order.tokenId,
      outcome: token.outcome,
      side: body.order.side,
      price,
      originalSize: size,
      sizeMatched: 0,
      status: 'LIVE',
      orderType: body.orderType,
      createdSec: Math.floor(clock.now() / 1000),
      expiration: body.order.expiration ?? '0',
    };
    const run = () => {
      const result = crosses ? execute(m, takerBuysYes, yesPrice, size, apiKey, order) : { remaining: size, filled: 0, notional: 0 };
      if (result.remaining > 0 && (body.orderType === 'GTC' || body.orderType === 'GTD')) {
        order.resting = { id, owner: apiKey, side: ladderSide, price: yesPrice, remaining: result.remaining };
        queuePriceChanges(m, [m.book.rest(order.resting)]);
        order.status = result.filled > 0 ? 'MATCHED' : 'LIVE';
      } else order.status = result.filled > 0 ? 'MATCHED' : 'UNMATCHED';
      flush();
      return result;
    };
    orders.set(id, order);
    const delayMs = m.sim.game.polymarket.matchingDelayMs;
    if (crosses && delayMs > 0) {
      order.status = 'DELAYED';
      setTimeout(run, delayMs).unref();
      return { success: true, errorMsg: '', orderID: id, status: 'delayed', takingAmount: '', makingAmount: '', transactionsHashes: [], tradeIDs: [] };
    }
    const result = run();
    if (body.orderType === 'FAK' && result.filled === 0) throw new HttpError(400, { error: 'no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.' });
    // Amounts in token terms: shares and pUSD, each as a decimal string.
    const sharesText = polySize(result.filled);
    const usd = token.outcome === 'yes' ? result.notional : result.filled * PRICE_ONE - result.notional;
    const usdText = polyPrice(Math.round(usd / 100));
    return {
      success: true,
      errorMsg: '',
      orderID: id,
      status: result.filled > 0 ? 'matched' : order.status === 'LIVE' ? 'live' : 'unmatched',
      takingAmount: result.filled > 0 ? (buy ? sharesText : usdText) : '',
      makingAmount: result.filled > 0 ? (buy ? usdText : sharesText) : '',
      transactionsHashes: [],
      tradeIDs: trades.filter((t) => t.takerOrderId === id).map((t) => t.id),
    };
  };

  const tradeJson = (t: PTrade) => ({
    id: t.id,
    taker_order_id: t.takerOrderId,
    market: t.market.sim.conditionId,
    asset_id: t.assetId,
    side: t.side,
    size: polySize(t.size),
    fee_rate_bps: String(SPORTS_FEE_RATE_BPS),
    price: polyPrice(t.price),
    status: 'MATCHED',
    match_time: String(t.matchSec),
    last_update: String(t.matchSec),
    outcome: t.outcome === 'yes' ? t.market.sim.team : otherTeam(t.market),
    owner: t.owner,
    maker_address: addressOf.get(t.owner) ?? '',
    trader_side: 'TAKER',
    maker_orders: [],
  });

  /** GET /data/trades: the key's trades, filtered like the venue's, 100 a page behind a base64 offset cursor. */
  const listTrades = (apiKey: string, query: URLSearchParams) => {
    const id = query.get('id');
    const market = query.get('market');
    const asset = query.get('asset_id');
    const after = Number(query.get('after') ?? 0);
    const before = Number(query.get('before') ?? Infinity);
    const offset = Number(Buffer.from(query.get('next_cursor') ?? 'MA==', 'base64').toString()) || 0;
    const list = trades.filter(
      (t) => t.owner === apiKey && (!id || t.id === id) && (!market || t.market.sim.conditionId === market) && (!asset || t.assetId === asset) && t.matchSec >= after && t.matchSec <= before,
    );
    const page = list.slice(offset, offset + 100);
    const next = offset + 100 < list.length ? cursorOf(offset + 100) : END_CURSOR;
    return { limit: 100, count: page.length, next_cursor: next, data: page.map(tradeJson) };
  };

  // Ahead of the order checks; the venue's exact message for a closed market is not in the reference.
  const refuseClosedMarket = (raw: string) => {
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      return; // the order checks report a bad body
    }
    const parsed = z.object({ order: z.object({ tokenId: z.string() }) }).safeParse(input);
    const m = parsed.success ? tokens.get(parsed.data.order.tokenId)?.market : undefined;
    if (m?.resolution) throw new HttpError(400, { error: `market ${m.sim.conditionId} is closed: not accepting orders` });
  };

  const cancel = (apiKey: string, ids: string[]) => {
    const canceled: string[] = [];
    const notCanceled: Record<string, string> = {};
    for (const id of ids) {
      const o = orders.get(id);
      if (!o || o.owner !== apiKey || !o.resting) {
        notCanceled[id] = 'already canceled or matched';
        continue;
      }
      const change = o.market.book.cancel(o.resting);
      o.resting = undefined;
      o.status = 'CANCELED';
      if (change) queuePriceChanges(o.market, [change]);
      canceled.push(id);
    }
    flush();
    return { canceled, not_canceled: notCanceled };
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path, query } = splitUrl(req);
    const method = req.method ?? 'GET';
    const source = req.socket.remoteAddress;
    if (method === 'GET' && path === '/api/geoblock') return sendJson(res, 200, geo.check(source));
    const trading = (path === '/order' || path === '/orders') && method === 'POST';
    if ((geo.scope === 'all' || trading) && geo.isBlocked(source)) return sendJson(res, 403, GEOBLOCK_ERROR);
    if (faults.outage) throw new HttpError(503, { error: 'service unavailable' });
    if (faults.slowMs > 0) await sleep(faults.slowMs);
    if (faults.rateLimited) throw new HttpError(429, { error: 'Too Many Requests' });

    if (method === 'GET') {
      if (path === '/' || path === '/ok') return sendJson(res, 200, 'OK');
      if (path === '/time') return sendJson(res, 200, Math.floor(clock.now() / 1000));
      if (path === '/version') return sendJson(res, 200, { version: 2 });
      if (path === '/book') {
        if (!bookBucket.take(1)) throw new HttpError(429, { error: 'Too Many Requests' });
        const token = requireToken(query);
        return sendJson(res, 200, summary(token.market, token.outcome));
      }
      if (path === '/tick-size') return sendJson(res, 200, { minimum_tick_size: Number(requireToken(query).market.tick) });
      if (path === '/neg-risk') return sendJson(res, 200, { neg_risk: (requireToken(query), false) });
      if (path === '/midpoint') {
        const token = requireToken(query);
        const best = bestOf(token.market, token.outcome);
        return sendJson(res, 200, { mid: String((Number(best.best_bid) + Number(best.best_ask)) / 2) });
      }
      if (path === '/price') {
        const token = requireToken(query);
        const side = query.get('side');
        if (side !== 'BUY' && side !== 'SELL') throw new HttpError(400, { error: 'Invalid side' });
        const best = bestOf(token.market, token.outcome);
        return sendJson(res, 200, { price: side === 'BUY' ? best.best_bid : best.best_ask });
      }
      if (path === '/markets') {
        const all = [...markets.values()].map(clobMarketJson);
        const start = Number(Buffer.from(query.get('next_cursor') ?? 'MA==', 'base64').toString()) || 0;
        const limit = 500;
        const data = start < 0 ? [] : all.slice(start, start + limit);
        const next = start >= 0 && start + limit < all.length ? cursorOf(start + limit) : END_CURSOR;
        return sendJson(res, 200, { limit, count: data.length, next_cursor: next, data });
      }
      const clobMarket = /^\/(?:markets|clob-markets)\/(0x[0-9a-fA-F]{64})$/.exec(path);
      if (clobMarket) {
        const m = [...markets.values()].find((x) => x.sim.conditionId.toLowerCase() === clobMarket[1]!.toLowerCase());
        if (!m) throw new HttpError(404, { error: 'market not found' });
        return sendJson(res, 200, clobMarketJson(m));
      }
      if (path.startsWith(POLY_GAMMA_PREFIX + '/')) return gamma(path.slice(POLY_GAMMA_PREFIX.length), query, res);
    }
    if (method === 'POST' && path === '/books') {
      const items = JSON.parse((await readBody(req)) || '[]') as Array<{ token_id?: string }>;
      if (!Array.isArray(items)) throw new HttpError(400, { error: 'Invalid payload' });
      return sendJson(
        res,
        200,
        items.map((item) => {
          const token = tokens.get(String(item.token_id));
          if (!token) throw new HttpError(400, { error: 'Invalid token id' });
          return summary(token.market, token.outcome);
        }),
      );
    }

    // Authenticated (L2): the signature covers the exact body bytes.
    const needsAuth = path === '/order' || path === '/orders' || path.startsWith('/data/');
    if (needsAuth) {
      const body = method === 'GET' ? '' : await readBody(req);
      const apiKey = auth.verify(req.headers, method, path, body);
      if (!apiKey) throw new HttpError(401, { error: 'Unauthorized/Invalid api key' });
      if (method === 'POST' && path === '/order') refuseClosedMarket(body);
      if (method === 'POST' && path === '/order') return sendJson(res, 200, await placeOrder(apiKey, body));
      if (method === 'GET' && path === '/data/trades') return sendJson(res, 200, listTrades(apiKey, query));
      if (method === 'DELETE' && path === '/order') {
        const parsed = z.object({ orderID: z.string() }).safeParse(JSON.parse(body || '{}'));
        if (!parsed.success) throw new HttpError(400, { error: 'Invalid payload' });
        return sendJson(res, 200, cancel(apiKey, [parsed.data.orderID]));
      }
      if (method === 'DELETE' && path === '/orders') {
        const parsed = z.array(z.string()).safeParse(JSON.parse(body || '[]'));
        if (!parsed.success) throw new HttpError(400, { error: 'Invalid payload' });
        return sendJson(res, 200, cancel(apiKey, parsed.data));
      }
      if (method === 'GET' && path.startsWith('/data/order/')) {
        const o = orders.get(decodeURIComponent(path.slice('/data/order/'.length)));
        if (!o || o.owner !== apiKey) return sendJson(res, 200, null);
        return sendJson(res, 200, orderJson(o));
      }
      if (method === 'GET' && path === '/data/orders') {
        const market = query.get('market');
        const asset = query.get('asset_id');
        const open = [...orders.values()].filter(
          (o) => o.owner === apiKey && o.resting && (!market || o.market.sim.conditionId === market) && (!asset || o.assetId === asset),
        );
        return sendJson(res, 200, { limit: 500, count: open.length, next_cursor: END_CURSOR, data: open.map(orderJson) });
      }
    }
    throw new HttpError(404, { error: 'not found' });
  };

  const gamma = (sub: string, query: URLSearchParams, res: ServerResponse) => {
    const all = gammaEvents();
    const limit = Math.min(Number(query.get('limit') ?? 100) || 100, 500);
    const offset = Number(query.get('offset') ?? 0) || 0;
    const flag = (name: string) => (query.has(name) ? query.get(name) === 'true' : undefined);
    const closed = flag('closed');
    const active = flag('active');
    const keep = (x: { closed: boolean; active: boolean }) => (closed === undefined || x.closed === closed) && (active === undefined || x.active === active);
    if (sub === '/events') {
      const slug = query.get('slug');
      const list = all.filter((e) => keep(e) && (!slug || e.slug === slug));
      return sendJson(res, 200, list.slice(offset, offset + limit));
    }
    if (sub === '/markets') {
      const slug = query.get('slug');
      const ids = query.getAll('clob_token_ids');
      const list = all
        .flatMap((e) => e.markets)
        .filter((m) => keep(m) && (!slug || m.slug === slug) && (ids.length === 0 || ids.some((id) => m.clobTokenIds.includes(`"${id}"`))));
      return sendJson(res, 200, list.slice(offset, offset + limit));
    }
    const eventSlug = /^\/events\/slug\/([^/]+)$/.exec(sub);
    if (eventSlug) {
      const e = all.find((x) => x.slug === decodeURIComponent(eventSlug[1]!));
      if (!e) throw new HttpError(404, { error: 'not found' });
      return sendJson(res, 200, e);
    }
    const marketSlug = /^\/markets\/slug\/([^/]+)$/.exec(sub);
    if (marketSlug) {
      const m = all.flatMap((e) => e.markets).find((x) => x.slug === decodeURIComponent(marketSlug[1]!));
      if (!m) throw new HttpError(404, { error: 'not found' });
      return sendJson(res, 200, m);
    }
    throw new HttpError(404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof HttpError) sendJson(res, error.status, error.body);
      else if (error instanceof SyntaxError) sendJson(res, 400, { error: 'Invalid payload' });
      else {
        log?.error({ err: error }, 'polymarket sim request failed');
        sendJson(res, 500, { error: 'Internal server error' });
      }
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { path } = splitUrl(req);
    if (geo.scope === 'all' && geo.isBlocked(req.socket.remoteAddress)) return refuseUpgrade(socket, 403, 'Forbidden', GEOBLOCK_ERROR);
    if (path !== POLY_WS_MARKET_PATH) return refuseUpgrade(socket, 404, 'Not Found', { error: 'not found' });
    if (faults.outage) return refuseUpgrade(socket, 503, 'Service Unavailable', { error: 'service unavailable' });
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const port = await listen(server, host, options.port ?? 0);
  if (options.autoStart !== false) driver.start();
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log?.info({ host, port, ws: POLY_WS_MARKET_PATH, gamma: POLY_GAMMA_PREFIX, geoblock: geo.scope }, 'polymarket simulator listening');

  return {
    url: `http://${urlHost}:${port}`,
    wsUrl: `ws://${urlHost}:${port}${POLY_WS_MARKET_PATH}`,
    gammaUrl: `http://${urlHost}:${port}${POLY_GAMMA_PREFIX}`,
    host,
    port,
    engine,
    clock,
    book(tokenId) {
      const token = tokens.get(tokenId);
      if (!token) throw new Error(`unknown token ${tokenId}`);
      return summary(token.market, token.outcome);
    },
    groundTruth: () => engine.groundTruth(),
    pause: () => clock.pause(),
    resume: () => {
      clock.resume();
      driver.start();
    },
    tick: () => driver.tick(),
    async stop() {
      driver.stop();
      clearInterval(reaper);
      for (const conn of conns) conn.ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

function topKey(m: PMarket): string {
  return JSON.stringify([m.book.best('bid'), m.book.best('ask')]);
}
