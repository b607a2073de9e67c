// Kalshi Trade API v2 simulator: REST under /trade-api/v2 and the WebSocket at /trade-api/ws/v2,
// both authenticated with RSA-PSS signed headers, serving books driven by a scenario engine.
// Wire shapes follow the current (fixed-point) API; see /work/shared/reference/exchange-protocols.md §1.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket } from 'ws';
import { z } from 'zod';
import { parseDecimal } from '../../../contracts/decimal.js';
import { LadderBook, type BookSide, type LevelChange, type RestingOrder, type StpMode } from '../book.js';
import { ScenarioDriver, SimClock } from '../clock.js';
import { dollars, fp, isoTime, PRICE_ONE } from '../format.js';
import { closeServer, listen, readBody, refuseUpgrade, sendJson, sleep, splitUrl, TokenBucket } from '../http.js';
import { ScenarioEngine, type Scenario, type SimEvent, type SimMarket, type ArbTruth } from '../scenario.js';
import { KalshiAuthenticator, type KalshiApiKey } from './auth.js';

export const KALSHI_REST_PREFIX = '/trade-api/v2';
export const KALSHI_WS_PATH = '/trade-api/ws/v2';

export interface KalshiRateLimits {
  readRate: number;
  readCapacity: number;
  writeRate: number;
  writeCapacity: number;
}

/** Basic tier: 200 read / 100 write tokens per second, buckets hold one second. */
export const basicTier: KalshiRateLimits = { readRate: 200, readCapacity: 200, writeRate: 100, writeCapacity: 100 };

export interface KalshiSimOptions {
  scenario: Scenario;
  apiKeys: KalshiApiKey[];
  seed?: number | string;
  messageRate?: number;
  /** Simulated seconds per real second. */
  speed?: number;
  /** Simulated epoch ms at scenario t = 0 (default: now). */
  startMs?: number;
  host?: string;
  port?: number;
  maxSkewMs?: number;
  pingIntervalMs?: number;
  /** Close a socket that has not answered pings for this long. */
  pongTimeoutMs?: number;
  rateLimits?: KalshiRateLimits;
  /** Starting cash per API key, in cents. */
  balanceCents?: number;
  /** Start the scenario clock immediately (default true). */
  autoStart?: boolean;
  logger?: Logger;
}

export interface KalshiSimHandle {
  url: string;
  wsUrl: string;
  host: string;
  port: number;
  engine: ScenarioEngine;
  clock: SimClock;
  /** The simulator's own book for a ticker, in the snapshot's fixed-point shape (NO side on the no-leg scale). */
  orderbook(ticker: string): { yes: Array<[string, string]>; no: Array<[string, string]> };
  groundTruth(): ArbTruth[];
  /** Freezes the scenario (no new events) / resumes it. */
  pause(): void;
  resume(): void;
  /** Applies due events now (also runs on a timer). */
  tick(): number;
  stop(): Promise<void>;
}

const CHANNELS = [
  'orderbook_delta',
  'ticker',
  'trade',
  'fill',
  'market_positions',
  'market_lifecycle_v2',
  'multivariate_market_lifecycle',
  'multivariate',
  'communications',
  'order_group_updates',
  'user_orders',
  'cfbenchmarks_value',
] as const;
type Channel = (typeof CHANNELS)[number];

const ERR = {
  1: 'Unable to process message',
  2: 'Params required',
  3: 'Channels required',
  4: 'Subscription IDs required',
  5: 'Unknown command',
  7: 'Unknown subscription ID',
  8: 'Unknown channel name',
  11: 'Invalid parameter',
  12: 'Exactly one subscription ID is required',
  13: 'Unsupported action',
  14: 'Market Ticker required',
  15: 'Action required',
  16: 'Market not found',
} as const;

interface Sub {
  sid: number;
  channel: Channel;
  tickers: Set<string> | null;
  seq: number;
  skipPending: boolean;
  useYesPrice: boolean;
}

interface Conn {
  ws: WebSocket;
  keyId: string;
  subs: Map<number, Sub>;
  nextSid: number;
  lastPong: number;
}

interface KMarket {
  sim: SimMarket;
  book: LadderBook;
  lastPrice?: number;
  volume: number;
  openInterest: number;
  dollarVolume: number;
  lastTradeSize: number;
  lastTop: string;
  /** Set when the game is over: trading stops at `determinedMs`, winners are paid at `settledMs`. */
  resolution?: { result: 'yes' | 'no'; determinedMs: number; settledMs?: number };
}

interface KOrder {
  orderId: string;
  owner: string;
  clientOrderId: string;
  ticker: string;
  side: BookSide;
  price: number;
  initial: number;
  filled: number;
  remaining: number;
  status: 'resting' | 'canceled' | 'executed';
  tif: string;
  stp: StpMode;
  createdMs: number;
  updatedMs: number;
  takerFees: number;
  makerFees: number;
  takerCost: number;
  makerCost: number;
  resting?: RestingOrder;
}

interface Account {
  cash: number; // ten-thousandths of $1
  positions: Map<string, { position: number; traded: number; fees: number; updatedMs: number }>;
  fills: Array<Record<string, unknown>>;
  settlements: Array<Record<string, unknown>>;
}

const SCENARIO_OWNER = '__scenario__';

const orderBody = z.object({
  ticker: z.string().min(1),
  side: z.enum(['bid', 'ask']),
  count: z.string().regex(/^\d+(\.\d{1,2})?$/, 'count must be a decimal string with at most 2 decimals'),
  price: z.string().regex(/^\d+(\.\d{1,6})?$/, 'price must be a dollar string with at most 6 decimals'),
  time_in_force: z.enum(['fill_or_kill', 'good_till_canceled', 'immediate_or_cancel']),
  self_trade_prevention_type: z.enum(['taker_at_cross', 'maker']),
  client_order_id: z.string().max(64).optional(),
  expiration_time: z.number().int().optional(),
  post_only: z.boolean().optional(),
  reduce_only: z.boolean().optional(),
  cancel_order_on_pause: z.boolean().optional(),
  subaccount: z.number().int().optional(),
  order_group_id: z.string().optional(),
  exchange_index: z.number().int().optional(),
});

/** Kalshi's ErrorResponse body (the code catalogue is unpublished; codes here are ours). */
function errorBody(code: string, message: string, details = ''): Record<string, string> {
  return { code, message, details, service: 'exchange' };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export async function startKalshiSim(options: KalshiSimOptions): Promise<KalshiSimHandle> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const engine = new ScenarioEngine(options.scenario, { seed: options.seed, messageRate: options.messageRate });
  const clock = new SimClock({ speed: options.speed ?? 1, startMs: options.startMs });
  const auth = new KalshiAuthenticator(options.apiKeys, options.maxSkewMs ?? 60_000);
  const limits = options.rateLimits ?? basicTier;
  const pingIntervalMs = options.pingIntervalMs ?? 10_000;
  const pongTimeoutMs = options.pongTimeoutMs ?? 30_000;
  const startCash = (options.balanceCents ?? 1_000_000) * 100;

  const markets = new Map<string, KMarket>();
  for (const sim of engine.markets) {
    const book = new LadderBook();
    for (const level of engine.initialLevels('kalshi', sim.id)) book.setMm(level.side, level.price, level.size);
    markets.set(sim.kalshiTicker, { sim, book, volume: 0, openInterest: 0, dollarVolume: 0, lastTradeSize: 0, lastTop: topKey(book) });
  }
  const byMarketId = new Map([...markets.values()].map((m) => [m.sim.id, m]));
  const orders = new Map<string, KOrder>();
  const byClientId = new Map<string, string>();
  const accounts = new Map<string, Account>();
  const conns = new Set<Conn>();
  const buckets = new Map<string, { read: TokenBucket; write: TokenBucket }>();
  const faults = { outage: false, rateLimited: false, slowMs: 0 };

  const account = (owner: string): Account => {
    let a = accounts.get(owner);
    if (!a) accounts.set(owner, (a = { cash: startCash, positions: new Map(), fills: [], settlements: [] }));
    return a;
  };

  // ----------------------------------------------------------------------------------------
  // WebSocket publishing

  const send = (conn: Conn, message: unknown) => {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(message));
  };
  const nextSeq = (sub: Sub) => {
    sub.seq += sub.skipPending ? 2 : 1;
    sub.skipPending = false;
    return sub.seq;
  };
  const covers = (sub: Sub, ticker: string) => sub.tickers === null || sub.tickers.has(ticker);

  const levelsFp = (m: KMarket, side: BookSide, useYesPrice: boolean): Array<[string, string]> => {
    const levels = m.book.levels(side);
    if (side === 'bid') return levels.map(([p, s]) => [dollars(p), fp(s)]);
    // Asks are NO bids: on the no-leg scale at 1 − p (ascending = reverse order), or on the yes scale.
    const out: Array<[string, string]> = levels.map(([p, s]) => [dollars(useYesPrice ? p : PRICE_ONE - p), fp(s)]);
    return useYesPrice ? out : out.reverse();
  };

  const sendSnapshot = (conn: Conn, sub: Sub, m: KMarket) => {
    const msg: Record<string, unknown> = { market_ticker: m.sim.kalshiTicker, market_id: m.sim.kalshiMarketId };
    const yes = levelsFp(m, 'bid', sub.useYesPrice);
    const no = levelsFp(m, 'ask', sub.useYesPrice);
    if (yes.length > 0) msg.yes_dollars_fp = yes;
    if (no.length > 0) msg.no_dollars_fp = no;
    send(conn, { type: 'orderbook_snapshot', sid: sub.sid, seq: nextSeq(sub), msg });
  };

  const publishChanges = (m: KMarket, changes: LevelChange[]) => {
    if (changes.length === 0) return;
    const tsMs = clock.now();
    for (const conn of conns) {
      for (const sub of conn.subs.values()) {
        if (sub.channel !== 'orderbook_delta' || !covers(sub, m.sim.kalshiTicker)) continue;
        for (const change of changes) {
          const yesSide = change.side === 'bid';
          const price = yesSide || sub.useYesPrice ? change.price : PRICE_ONE - change.price;
          const msg: Record<string, unknown> = {
            market_ticker: m.sim.kalshiTicker,
            market_id: m.sim.kalshiMarketId,
            price_dollars: dollars(price),
            delta_fp: fp(change.delta),
            side: yesSide ? 'yes' : 'no',
            ts: isoTime(tsMs),
            ts_ms: tsMs,
          };
          if (change.order && change.order.owner === conn.keyId && change.order.clientOrderId) msg.client_order_id = change.order.clientOrderId;
          send(conn, { type: 'orderbook_delta', sid: sub.sid, seq: nextSeq(sub), msg });
        }
      }
    }
    publishTickerIfMoved(m);
  };

  const tickerMsg = (m: KMarket) => {
    const tsMs = clock.now();
    const bid = m.book.best('bid');
    const ask = m.book.best('ask');
    return {
      market_ticker: m.sim.kalshiTicker,
      market_id: m.sim.kalshiMarketId,
      price_dollars: dollars(m.lastPrice ?? 0),
      yes_bid_dollars: dollars(bid?.[0] ?? 0),
      yes_ask_dollars: dollars(ask?.[0] ?? PRICE_ONE),
      volume_fp: fp(m.volume),
      open_interest_fp: fp(m.openInterest),
      dollar_volume: Math.round(m.dollarVolume / 10_000),
      dollar_open_interest: Math.round(m.openInterest / 200),
      yes_bid_size_fp: fp(bid?.[1] ?? 0),
      yes_ask_size_fp: fp(ask?.[1] ?? 0),
      last_trade_size_fp: fp(m.lastTradeSize),
      ts: Math.floor(tsMs / 1000),
      ts_ms: tsMs,
      time: isoTime(tsMs),
    };
  };

  const publishTickerIfMoved = (m: KMarket, force = false) => {
    const key = topKey(m.book);
    if (!force && key === m.lastTop) return;
    m.lastTop = key;
    let msg: ReturnType<typeof tickerMsg> | undefined;
    for (const conn of conns)
      for (const sub of conn.subs.values())
        if (sub.channel === 'ticker' && covers(sub, m.sim.kalshiTicker)) send(conn, { type: 'ticker', sid: sub.sid, msg: (msg ??= tickerMsg(m)) });
  };

  const publishTrade = (m: KMarket, price: number, size: number, takerSide: BookSide) => {
    const tsMs = clock.now();
    const msg = {
      trade_id: randomUUID(),
      market_ticker: m.sim.kalshiTicker,
      yes_price_dollars: dollars(price),
      no_price_dollars: dollars(PRICE_ONE - price),
      count_fp: fp(size),
      taker_outcome_side: takerSide === 'bid' ? 'yes' : 'no',
      taker_book_side: takerSide,
      taker_side: takerSide === 'bid' ? 'yes' : 'no',
      ts: Math.floor(tsMs / 1000),
      ts_ms: tsMs,
    };
    for (const conn of conns)
      for (const sub of conn.subs.values()) if (sub.channel === 'trade' && covers(sub, m.sim.kalshiTicker)) send(conn, { type: 'trade', sid: sub.sid, msg });
  };

  const publishFill = (owner: string, fill: Record<string, unknown>, postPosition: number) => {
    for (const conn of conns) {
      if (conn.keyId !== owner) continue;
      for (const sub of conn.subs.values()) {
        if (sub.channel !== 'fill' || !covers(sub, String(fill.ticker))) continue;
        send(conn, {
          type: 'fill',
          sid: sub.sid,
          msg: {
            trade_id: fill.trade_id,
            order_id: fill.order_id,
            market_ticker: fill.ticker,
            is_taker: fill.is_taker,
            side: fill.side,
            action: fill.action,
            outcome_side: fill.outcome_side,
            book_side: fill.book_side,
            yes_price_dollars: fill.yes_price_dollars,
            count_fp: fill.count_fp,
            ts: fill.ts,
            ts_ms: fill.ts_ms,
            post_position_fp: fp(postPosition),
            ...(fill.client_order_id ? { client_order_id: fill.client_order_id } : {}),
          },
        });
      }
    }
  };

  // ----------------------------------------------------------------------------------------
  // Matching

  const feeFor = (size: number, price: number, rate: number) => Math.ceil((rate * size * price * (PRICE_ONE - price)) / 1e8);

  const recordFill = (order: KOrder | undefined, owner: string, m: KMarket, side: BookSide, price: number, size: number, isTaker: boolean, tradeId: string) => {
    if (owner === SCENARIO_OWNER) return;
    const tsMs = clock.now();
    const fee = feeFor(size, price, isTaker ? 7 : 0);
    const cost = Math.ceil(((side === 'bid' ? price : PRICE_ONE - price) * size) / 100);
    const acct = account(owner);
    acct.cash -= cost + fee;
    const pos = acct.positions.get(m.sim.kalshiTicker) ?? { position: 0, traded: 0, fees: 0, updatedMs: tsMs };
    pos.position += side === 'bid' ? size : -size;
    pos.traded += cost;
    pos.fees += fee;
    pos.updatedMs = tsMs;
    acct.positions.set(m.sim.kalshiTicker, pos);
    if (order) {
      order.filled += size;
      order.updatedMs = tsMs;
      if (isTaker) {
        order.takerFees += fee;
        order.takerCost += cost;
      } else {
        order.makerFees += fee;
        order.makerCost += cost;
      }
    }
    const fill = {
      fill_id: randomUUID(),
      trade_id: tradeId,
      order_id: order?.orderId ?? '',
      ...(order?.clientOrderId ? { client_order_id: order.clientOrderId } : {}),
      ticker: m.sim.kalshiTicker,
      market_ticker: m.sim.kalshiTicker,
      side: 'yes',
      action: side === 'bid' ? 'buy' : 'sell',
      outcome_side: side === 'bid' ? 'yes' : 'no',
      book_side: side,
      count_fp: fp(size),
      yes_price_dollars: dollars(price),
      no_price_dollars: dollars(PRICE_ONE - price),
      is_taker: isTaker,
      fee_cost: dollars(fee),
      created_time: new Date(tsMs).toISOString(),
      ts: Math.floor(tsMs / 1000),
      ts_ms: tsMs,
    };
    acct.fills.push(fill);
    publishFill(owner, fill, pos.position);
  };

  /** Runs a taker against the book; publishes deltas, trades and fills. */
  const execute = (m: KMarket, takerSide: BookSide, limit: number, size: number, owner: string, stp: StpMode, order?: KOrder) => {
    const result = m.book.match(takerSide === 'bid' ? 'buy' : 'sell', limit, size, owner, stp);
    for (const canceled of result.stpCanceled) {
      const makerOrder = orders.get(canceled.id);
      if (makerOrder) {
        makerOrder.status = 'canceled';
        makerOrder.remaining = 0;
        makerOrder.resting = undefined;
        makerOrder.updatedMs = clock.now();
      }
    }
    let filled = 0;
    let notional = 0;
    for (const fill of result.fills) {
      const tradeId = randomUUID();
      filled += fill.size;
      notional += fill.price * fill.size;
      m.volume += fill.size;
      m.dollarVolume += fill.price * fill.size;
      m.lastPrice = fill.price;
      m.lastTradeSize = fill.size;
      m.openInterest += fill.size;
      recordFill(order, owner, m, takerSide, fill.price, fill.size, true, tradeId);
      if (fill.maker) {
        const makerOrder = orders.get(fill.maker.id);
        if (makerOrder) {
          makerOrder.remaining = fill.maker.remaining;
          if (makerOrder.remaining === 0) {
            makerOrder.status = 'executed';
            makerOrder.resting = undefined;
          }
          recordFill(makerOrder, makerOrder.owner, m, makerOrder.side, fill.price, fill.size, false, tradeId);
        }
      }
    }
    // The book's changes first (deltas), then the prints.
    publishChanges(m, result.changes);
    for (const fill of result.fills) publishTrade(m, fill.price, fill.size, takerSide);
    if (result.fills.length > 0) publishTickerIfMoved(m, true);
    return { ...result, filled, notional };
  };

  // ----------------------------------------------------------------------------------------
  // Scenario events

  const applyEvents = (events: SimEvent[]) => {
    for (const event of events) {
      if (event.venue !== 'kalshi') continue;
      switch (event.kind) {
        case 'book': {
          const m = byMarketId.get(event.marketId)!;
          const changes: LevelChange[] = [];
          for (const level of event.levels) {
            const change = m.book.setMm(level.side, level.price, level.size);
            if (change) changes.push(change);
          }
          publishChanges(m, changes);
          break;
        }
        case 'trade': {
          const m = byMarketId.get(event.marketId)!;
          const side: BookSide = event.takerSide === 'buy' ? 'bid' : 'ask';
          execute(m, side, side === 'bid' ? PRICE_ONE - 100 : 100, event.size, SCENARIO_OWNER, 'taker_at_cross');
          break;
        }
        case 'fault':
          applyFault(event);
          break;
        case 'arbitrage':
          log?.info({ window: event.windowId, market: event.marketId, phase: event.phase }, 'arbitrage window');
          break;
        case 'resolution': {
          const m = byMarketId.get(event.marketId)!;
          if (event.phase === 'determined') determine(m, event.winner);
          else settleMarket(m);
          break;
        }
        default:
          break;
      }
    }
  };

  const publishLifecycle = (m: KMarket, msg: Record<string, unknown>) => {
    for (const conn of conns)
      for (const sub of conn.subs.values())
        if (sub.channel === 'market_lifecycle_v2' && covers(sub, m.sim.kalshiTicker)) send(conn, { type: 'market_lifecycle_v2', sid: sub.sid, msg: { market_ticker: m.sim.kalshiTicker, ...msg } });
  };

  /** The game is over: every resting order is cancelled, the book empties, the result is published. */
  const determine = (m: KMarket, result: 'yes' | 'no') => {
    const now = clock.now();
    m.resolution = { result, determinedMs: now };
    const changes: LevelChange[] = [];
    for (const order of orders.values()) {
      if (order.ticker !== m.sim.kalshiTicker || order.status !== 'resting' || !order.resting) continue;
      const change = m.book.cancel(order.resting);
      if (change) changes.push(change);
      order.status = 'canceled';
      order.remaining = 0;
      order.resting = undefined;
      order.updatedMs = now;
    }
    for (const side of ['bid', 'ask'] as const) {
      for (const [price] of m.book.levels(side)) {
        const change = m.book.setMm(side, price, 0);
        if (change) changes.push(change);
      }
    }
    publishChanges(m, changes);
    publishLifecycle(m, { event_type: 'determined', result, determination_ts: Math.floor(now / 1000), settlement_value: dollars(result === 'yes' ? PRICE_ONE : 0) });
    log?.info({ ticker: m.sim.kalshiTicker, result }, 'market determined');
  };

  /** Pays every holder of the winning side $1 a contract (revenue in cents, as Kalshi reports it). */
  const settleMarket = (m: KMarket) => {
    const resolution = m.resolution!;
    const now = clock.now();
    resolution.settledMs = now;
    for (const acct of accounts.values()) {
      const pos = acct.positions.get(m.sim.kalshiTicker);
      if (!pos || pos.position === 0) continue;
      const yes = Math.max(pos.position, 0);
      const no = Math.max(-pos.position, 0);
      // One hundredth of a contract pays one cent.
      const revenueCents = resolution.result === 'yes' ? yes : no;
      acct.cash += revenueCents * 100;
      acct.settlements.push({
        ticker: m.sim.kalshiTicker,
        event_ticker: m.sim.game.kalshi.eventTicker,
        market_result: resolution.result,
        yes_count_fp: fp(yes),
        no_count_fp: fp(no),
        revenue: revenueCents,
        fee_cost: dollars(0),
        value: resolution.result === 'yes' ? 100 : 0,
        settled_time: new Date(now).toISOString(),
      });
      pos.position = 0;
      pos.updatedMs = now;
    }
    publishLifecycle(m, { event_type: 'settled', settled_ts: Math.floor(now / 1000) });
    log?.info({ ticker: m.sim.kalshiTicker, result: resolution.result }, 'market settled');
  };

  const applyFault = (event: Extract<SimEvent, { kind: 'fault' }>) => {
    log?.warn({ fault: event.fault, phase: event.phase }, 'kalshi fault');
    const on = event.phase === 'start';
    switch (event.fault) {
      case 'disconnect':
        if (on) for (const conn of conns) conn.ws.terminate();
        faults.outage = on && event.durationMs > 0;
        break;
      case 'seqGap':
        if (on) for (const conn of conns) for (const sub of conn.subs.values()) if (sub.channel === 'orderbook_delta') sub.skipPending = true;
        break;
      case 'rateLimit':
        faults.rateLimited = on;
        break;
      case 'slow':
        faults.slowMs = on ? event.delayMs : 0;
        break;
      case 'staleBook':
        break; // the engine emits nothing for this venue during the window
    }
  };

  const driver = new ScenarioDriver(engine, clock, applyEvents);

  // ----------------------------------------------------------------------------------------
  // WebSocket commands

  const wsError = (conn: Conn, id: unknown, code: keyof typeof ERR, extra: Record<string, unknown> = {}) =>
    send(conn, { ...(typeof id === 'number' ? { id } : {}), type: 'error', msg: { code, msg: ERR[code], ...extra } });

  const tickersOf = (params: Record<string, unknown>): string[] | undefined => {
    if (Array.isArray(params.market_tickers)) return params.market_tickers.map(String);
    if (typeof params.market_ticker === 'string') return [params.market_ticker];
    return undefined;
  };

  const onCommand = (conn: Conn, text: string) => {
    let command: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      command = parsed as Record<string, unknown>;
    } catch {
      wsError(conn, undefined, 1);
      return;
    }
    const id = command.id;
    const params = (typeof command.params === 'object' && command.params !== null ? command.params : undefined) as Record<string, unknown> | undefined;
    switch (command.cmd) {
      case 'subscribe': {
        if (!params) return wsError(conn, id, 2);
        const channels = params.channels;
        if (!Array.isArray(channels) || channels.length === 0) return wsError(conn, id, 3);
        const unknown: unknown = (channels as unknown[]).find((c) => !CHANNELS.includes(c as Channel));
        if (unknown !== undefined) return wsError(conn, id, 8);
        const tickers = tickersOf(params);
        if (tickers) {
          const missing = tickers.find((t) => !markets.has(t));
          if (missing !== undefined) return wsError(conn, id, 16, { market_ticker: missing });
        }
        if (channels.includes('orderbook_delta') && !tickers?.length) return wsError(conn, id, 14);
        for (const channel of channels as Channel[]) {
          const sub: Sub = {
            sid: conn.nextSid++,
            channel,
            tickers: tickers ? new Set(tickers) : null,
            seq: 0,
            skipPending: false,
            useYesPrice: params.use_yes_price === true,
          };
          conn.subs.set(sub.sid, sub);
          send(conn, { id, type: 'subscribed', msg: { channel, sid: sub.sid } });
          if (channel === 'orderbook_delta') for (const t of tickers!) sendSnapshot(conn, sub, markets.get(t)!);
          if (channel === 'ticker' && params.send_initial_snapshot === true) {
            for (const m of markets.values()) if (covers(sub, m.sim.kalshiTicker)) send(conn, { type: 'ticker', sid: sub.sid, msg: tickerMsg(m) });
          }
        }
        return;
      }
      case 'unsubscribe': {
        const sids = params?.sids;
        if (!Array.isArray(sids) || sids.length === 0) return wsError(conn, id, 4);
        for (const sid of sids) {
          const sub = conn.subs.get(Number(sid));
          if (!sub) {
            wsError(conn, id, 7);
            continue;
          }
          conn.subs.delete(sub.sid);
          send(conn, { id, sid: sub.sid, ...(sub.channel === 'orderbook_delta' ? { seq: sub.seq } : {}), type: 'unsubscribed' });
        }
        return;
      }
      case 'update_subscription': {
        if (!params) return wsError(conn, id, 2);
        const sids = Array.isArray(params.sids) ? params.sids : typeof params.sid === 'number' ? [params.sid] : [];
        if (sids.length !== 1) return wsError(conn, id, 12);
        const sub = conn.subs.get(Number(sids[0]));
        if (!sub) return wsError(conn, id, 7);
        const action = params.action;
        if (action === undefined) return wsError(conn, id, 15);
        if (action !== 'add_markets' && action !== 'delete_markets' && action !== 'get_snapshot') return wsError(conn, id, 13);
        const tickers = tickersOf(params);
        if (action === 'get_snapshot') {
          if (sub.channel !== 'orderbook_delta') return wsError(conn, id, 13);
          const wanted = tickers ?? [...(sub.tickers ?? [])];
          const missing = wanted.find((t) => !markets.has(t));
          if (missing !== undefined) return wsError(conn, id, 16, { market_ticker: missing });
          for (const t of wanted) sendSnapshot(conn, sub, markets.get(t)!);
          return;
        }
        if (!tickers?.length) return wsError(conn, id, 14);
        const missing = tickers.find((t) => !markets.has(t));
        if (missing !== undefined) return wsError(conn, id, 16, { market_ticker: missing });
        sub.tickers ??= new Set();
        for (const t of tickers) {
          if (action === 'add_markets') {
            const added = !sub.tickers.has(t);
            sub.tickers.add(t);
            if (added && sub.channel === 'orderbook_delta') sendSnapshot(conn, sub, markets.get(t)!);
          } else sub.tickers.delete(t);
        }
        send(conn, { id, sid: sub.sid, seq: sub.seq, type: 'ok', msg: { market_tickers: [...sub.tickers] } });
        return;
      }
      case 'list_subscriptions':
        send(conn, { id, type: 'ok', msg: [...conn.subs.values()].map((s) => ({ channel: s.channel, sid: s.sid })) });
        return;
      default:
        wsError(conn, id, 5);
    }
  };

  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  wss.on('connection', (ws: WebSocket, _req: IncomingMessage, keyId: string) => {
    const conn: Conn = { ws, keyId, subs: new Map(), nextSid: 1, lastPong: Date.now() };
    conns.add(conn);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) onCommand(conn, data.toString('utf8'));
    });
    ws.on('pong', () => (conn.lastPong = Date.now()));
    ws.on('ping', () => ws.pong());
    ws.on('close', () => conns.delete(conn));
    ws.on('error', () => conns.delete(conn));
  });
  const pinger = setInterval(() => {
    for (const conn of conns) {
      if (Date.now() - conn.lastPong > pongTimeoutMs) {
        conn.ws.terminate();
        continue;
      }
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.ping('heartbeat');
    }
  }, pingIntervalMs);
  pinger.unref();

  // ----------------------------------------------------------------------------------------
  // REST

  const marketJson = (m: KMarket) => {
    const bid = m.book.best('bid');
    const ask = m.book.best('ask');
    const game = m.sim.game;
    const open = clock.startMs + game.startsAt;
    return {
      ticker: m.sim.kalshiTicker,
      event_ticker: game.kalshi.eventTicker,
      market_type: 'binary',
      title: `${game.title ?? `${game.away} at ${game.home}`} Winner?`,
      subtitle: '',
      yes_sub_title: m.sim.team,
      no_sub_title: m.sim.team,
      open_time: isoTime(clock.startMs),
      close_time: isoTime(open + engine.scenario.duration),
      expected_expiration_time: isoTime(open + engine.scenario.duration),
      status: marketStatus(m),
      yes_bid_dollars: dollars(bid?.[0] ?? 0),
      yes_ask_dollars: dollars(ask?.[0] ?? PRICE_ONE),
      no_bid_dollars: dollars(ask ? PRICE_ONE - ask[0] : 0),
      no_ask_dollars: dollars(bid ? PRICE_ONE - bid[0] : PRICE_ONE),
      yes_bid_size_fp: fp(bid?.[1] ?? 0),
      yes_ask_size_fp: fp(ask?.[1] ?? 0),
      last_price_dollars: dollars(m.lastPrice ?? 0),
      volume_fp: fp(m.volume),
      volume_24h_fp: fp(m.volume),
      open_interest_fp: fp(m.openInterest),
      result: m.resolution?.result ?? '',
      ...(m.resolution ? { settlement_value_dollars: dollars(m.resolution.result === 'yes' ? PRICE_ONE : 0) } : {}),
      ...(m.resolution?.settledMs !== undefined ? { settlement_ts: isoTime(m.resolution.settledMs) } : {}),
      can_close_early: true,
      price_level_structure: 'linear_cent',
      price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
    };
  };

  // REST answers in one vocabulary (active, determined, finalized) and filters in another (open, closed, settled).
  const marketStatus = (m: KMarket) => (!m.resolution ? 'active' : m.resolution.settledMs === undefined ? 'determined' : 'finalized');
  const statusFilters: Record<string, string[]> = { open: ['active'], closed: ['closed', 'determined'], settled: ['finalized'] };
  const statusFilter = (status: string): string[] => statusFilters[status] ?? [];

  const events = () => {
    const out = new Map<string, { game: SimMarket['game']; markets: KMarket[] }>();
    for (const m of markets.values()) {
      const key = m.sim.game.kalshi.eventTicker;
      const entry = out.get(key) ?? { game: m.sim.game, markets: [] };
      entry.markets.push(m);
      out.set(key, entry);
    }
    return out;
  };
  const seriesOf = (game: SimMarket['game']) => game.kalshi.seriesTicker ?? game.kalshi.eventTicker.split('-')[0]!;
  const eventJson = (ticker: string, e: { game: SimMarket['game']; markets: KMarket[] }, nested: boolean) => ({
    event_ticker: ticker,
    series_ticker: seriesOf(e.game),
    title: e.game.title ?? `${e.game.away} at ${e.game.home}`,
    sub_title: '',
    category: 'Sports',
    mutually_exclusive: true,
    ...(nested ? { markets: e.markets.map(marketJson) } : {}),
  });

  const paginate = <T>(items: T[], query: URLSearchParams) => {
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 100) || 100, 1), 1000);
    const start = Number(query.get('cursor') || 0) || 0;
    const page = items.slice(start, start + limit);
    return { page, cursor: start + limit < items.length ? String(start + limit) : '' };
  };

  const orderJson = (o: KOrder) => ({
    order_id: o.orderId,
    user_id: o.owner,
    client_order_id: o.clientOrderId,
    ticker: o.ticker,
    side: 'yes',
    action: o.side === 'bid' ? 'buy' : 'sell',
    outcome_side: o.side === 'bid' ? 'yes' : 'no',
    book_side: o.side,
    type: 'limit',
    status: o.status,
    yes_price_dollars: dollars(o.price),
    no_price_dollars: dollars(PRICE_ONE - o.price),
    fill_count_fp: fp(o.filled),
    remaining_count_fp: fp(o.remaining),
    initial_count_fp: fp(o.initial),
    taker_fees_dollars: dollars(o.takerFees),
    maker_fees_dollars: dollars(o.makerFees),
    taker_fill_cost_dollars: dollars(o.takerCost),
    maker_fill_cost_dollars: dollars(o.makerCost),
    time_in_force: o.tif,
    self_trade_prevention_type: o.stp,
    expiration_time: null,
    created_time: new Date(o.createdMs).toISOString(),
    last_update_time: new Date(o.updatedMs).toISOString(),
  });

  const createOrder = (owner: string, raw: string) => {
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      throw new HttpError(400, errorBody('invalid_parameters', 'invalid JSON body'));
    }
    const parsed = orderBody.safeParse(input);
    if (!parsed.success) throw new HttpError(400, errorBody('invalid_parameters', 'invalid order', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
    const body = parsed.data;
    const m = markets.get(body.ticker);
    if (!m) throw new HttpError(404, errorBody('market_not_found', 'market not found', body.ticker));
    if (m.resolution) throw new HttpError(400, errorBody('market_closed', 'market is closed', body.ticker));
    let price: number;
    let count: number;
    try {
      price = parseDecimal(body.price, 6);
      count = parseDecimal(body.count, 2);
    } catch (error) {
      throw new HttpError(400, errorBody('invalid_parameters', 'invalid price or count', (error as Error).message));
    }
    if (price % 10_000 !== 0) throw new HttpError(400, errorBody('invalid_price', 'price is not on the market tick grid', 'price_level_structure linear_cent: $0.01'));
    price /= 100; // to ten-thousandths
    if (price < 100 || price > PRICE_ONE - 100) throw new HttpError(400, errorBody('invalid_price', 'price out of range', 'price must be between 0.01 and 0.99'));
    if (count <= 0) throw new HttpError(400, errorBody('invalid_parameters', 'count must be positive'));
    if (body.expiration_time !== undefined && body.time_in_force !== 'good_till_canceled') {
      throw new HttpError(400, errorBody('invalid_parameters', 'expiration_time is only allowed with good_till_canceled'));
    }
    const cid = body.client_order_id ?? randomUUID();
    const dedupeKey = `${owner}\u0000${cid}`;
    if (byClientId.has(dedupeKey)) throw new HttpError(409, errorBody('order_already_exists', 'an order with this client_order_id already exists', cid));
    const now = clock.now();
    const order: KOrder = {
      orderId: randomUUID(),
      owner,
      clientOrderId: cid,
      ticker: body.ticker,
      side: body.side,
      price,
      initial: count,
      filled: 0,
      remaining: count,
      status: 'resting',
      tif: body.time_in_force,
      stp: body.self_trade_prevention_type,
      createdMs: now,
      updatedMs: now,
      takerFees: 0,
      makerFees: 0,
      takerCost: 0,
      makerCost: 0,
    };
    orders.set(order.orderId, order);
    byClientId.set(dedupeKey, order.orderId);
    let filledNow = 0;
    let notional = 0;
    if (body.post_only && m.book.crosses(body.side, price)) {
      order.status = 'canceled';
      order.remaining = 0;
    } else if (body.time_in_force === 'fill_or_kill' && m.book.available(body.side === 'bid' ? 'buy' : 'sell', price) < count) {
      order.status = 'canceled';
      order.remaining = 0;
    } else {
      const result = execute(m, body.side, price, count, owner, body.self_trade_prevention_type, order);
      filledNow = result.filled;
      notional = result.notional;
      order.remaining = result.remaining;
      if (order.remaining === 0) order.status = 'executed';
      else if (result.stpStopped || body.time_in_force !== 'good_till_canceled') {
        order.status = filledNow > 0 && order.remaining === 0 ? 'executed' : 'canceled';
        order.remaining = 0;
      } else {
        order.resting = { id: order.orderId, owner, side: body.side, price, remaining: order.remaining, clientOrderId: cid };
        publishChanges(m, [m.book.rest(order.resting)]);
      }
    }
    const response: Record<string, unknown> = {
      order_id: order.orderId,
      client_order_id: cid,
      fill_count: fp(filledNow),
      remaining_count: fp(order.remaining),
      ts_ms: now,
    };
    if (filledNow > 0) {
      response.average_fill_price = dollars(Math.round(notional / filledNow));
      response.average_fee_paid = dollars(Math.ceil(order.takerFees / (filledNow / 100)));
    }
    return response;
  };

  const cancelOrder = (owner: string, orderId: string) => {
    const order = orders.get(orderId);
    if (!order || order.owner !== owner) throw new HttpError(404, errorBody('not_found', 'order not found', orderId));
    let reducedBy = 0;
    if (order.status === 'resting' && order.resting) {
      const m = markets.get(order.ticker)!;
      const change = m.book.cancel(order.resting);
      reducedBy = order.remaining;
      order.remaining = 0;
      order.status = 'canceled';
      order.resting = undefined;
      order.updatedMs = clock.now();
      if (change) publishChanges(m, [change]);
    }
    return { order_id: order.orderId, client_order_id: order.clientOrderId, reduced_by: fp(reducedBy), ts_ms: clock.now() };
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path, query } = splitUrl(req);
    const method = req.method ?? 'GET';
    if (!path.startsWith(KALSHI_REST_PREFIX + '/')) throw new HttpError(404, errorBody('not_found', 'not found', path));
    if (faults.outage) throw new HttpError(503, errorBody('service_unavailable', 'service unavailable'));
    if (faults.slowMs > 0) await sleep(faults.slowMs);
    const rel = path.slice(KALSHI_REST_PREFIX.length);
    const segments = rel.split('/').filter(Boolean).map(decodeURIComponent);
    const isPortfolio = segments[0] === 'portfolio';
    let owner: string | undefined;
    const hasAuth = req.headers['kalshi-access-key'] !== undefined || req.headers['kalshi-access-signature'] !== undefined;
    if (isPortfolio || hasAuth) {
      const result = auth.verify(req.headers, method, path);
      if (!result.ok) throw new HttpError(401, errorBody('authentication_error', 'authentication error', result.details));
      owner = result.keyId;
    }
    const isWrite = isPortfolio && segments[1] === 'events' && segments[2] === 'orders' && method !== 'GET';
    const cost = isWrite && method === 'DELETE' ? 2 : 10;
    const bucketKey = owner ?? req.socket.remoteAddress ?? 'unknown';
    let bucket = buckets.get(bucketKey);
    if (!bucket) {
      bucket = { read: new TokenBucket(limits.readRate, limits.readCapacity), write: new TokenBucket(limits.writeRate, limits.writeCapacity) };
      buckets.set(bucketKey, bucket);
    }
    if (faults.rateLimited || !(isWrite ? bucket.write : bucket.read).take(cost)) {
      sendJson(res, 429, { error: 'too many requests' });
      return;
    }

    // Public market data
    if (method === 'GET' && segments[0] === 'exchange' && segments[1] === 'status' && segments.length === 2) {
      return sendJson(res, 200, { exchange_active: !faults.outage, trading_active: true, exchange_estimated_resume_time: null });
    }
    if (method === 'GET' && segments[0] === 'markets') {
      if (segments.length === 1) {
        let list = [...markets.values()];
        const eventTicker = query.get('event_ticker');
        const series = query.get('series_ticker');
        const tickers = query.get('tickers');
        const status = query.get('status');
        if (eventTicker) list = list.filter((m) => m.sim.game.kalshi.eventTicker === eventTicker);
        if (series) list = list.filter((m) => seriesOf(m.sim.game) === series);
        if (tickers) {
          const wanted = new Set(tickers.split(','));
          list = list.filter((m) => wanted.has(m.sim.kalshiTicker));
        }
        if (status) list = list.filter((m) => statusFilter(status).includes(marketStatus(m)));
        const { page, cursor } = paginate(list, query);
        return sendJson(res, 200, { markets: page.map(marketJson), cursor });
      }
      const m = markets.get(segments[1]!);
      if (!m) throw new HttpError(404, errorBody('not_found', 'market not found', segments[1]));
      if (segments.length === 2) return sendJson(res, 200, { market: marketJson(m) });
      if (segments.length === 3 && segments[2] === 'orderbook') {
        const depth = Number(query.get('depth') ?? 0) || 0;
        const top = (levels: Array<[string, string]>) => (depth > 0 ? levels.slice(-depth) : levels);
        return sendJson(res, 200, { orderbook_fp: { yes_dollars: top(levelsFp(m, 'bid', false)), no_dollars: top(levelsFp(m, 'ask', false)) } });
      }
    }
    if (method === 'GET' && segments[0] === 'events') {
      const all = events();
      if (segments.length === 1) {
        let list = [...all.entries()];
        const series = query.get('series_ticker');
        if (series) list = list.filter(([, e]) => seriesOf(e.game) === series);
        const status = query.get('status');
        if (status && status !== 'open') list = [];
        const nested = query.get('with_nested_markets') === 'true';
        const { page, cursor } = paginate(list, query);
        return sendJson(res, 200, { events: page.map(([t, e]) => eventJson(t, e, nested)), cursor });
      }
      if (segments.length === 2) {
        const e = all.get(segments[1]!);
        if (!e) throw new HttpError(404, errorBody('not_found', 'event not found', segments[1]));
        return sendJson(res, 200, { event: eventJson(segments[1]!, e, false), markets: e.markets.map(marketJson) });
      }
    }

    // Portfolio (authenticated above)
    if (isPortfolio && owner) {
      const acct = account(owner);
      if (segments[1] === 'events' && segments[2] === 'orders') {
        if (method === 'POST' && segments.length === 3) return sendJson(res, 201, createOrder(owner, await readBody(req)));
        if (method === 'DELETE' && segments.length === 4) return sendJson(res, 200, cancelOrder(owner, segments[3]!));
      }
      if (method === 'GET' && segments[1] === 'orders') {
        if (segments.length === 3) {
          const order = orders.get(segments[2]!);
          if (!order || order.owner !== owner) throw new HttpError(404, errorBody('not_found', 'order not found', segments[2]));
          return sendJson(res, 200, { order: orderJson(order) });
        }
        if (segments.length === 2) {
          let list = [...orders.values()].filter((o) => o.owner === owner);
          const cid = query.get('client_order_id');
          const ticker = query.get('ticker');
          const status = query.get('status');
          if (cid) list = list.filter((o) => o.clientOrderId === cid);
          if (ticker) list = list.filter((o) => o.ticker === ticker);
          if (status) list = list.filter((o) => o.status === status);
          const { page, cursor } = paginate(list.reverse(), query);
          return sendJson(res, 200, { orders: page.map(orderJson), cursor });
        }
      }
      if (method === 'GET' && segments.length === 2 && segments[1] === 'fills') {
        let list = [...acct.fills].reverse();
        const ticker = query.get('ticker');
        const orderId = query.get('order_id');
        if (ticker) list = list.filter((f) => f.ticker === ticker);
        if (orderId) list = list.filter((f) => f.order_id === orderId);
        const { page, cursor } = paginate(list, query);
        return sendJson(res, 200, { fills: page, cursor });
      }
      if (method === 'GET' && segments.length === 2 && segments[1] === 'positions') {
        const positions = [...acct.positions.entries()].map(([ticker, p]) => ({
          ticker,
          position_fp: fp(p.position),
          market_exposure_dollars: dollars(p.traded),
          total_traded_dollars: dollars(p.traded),
          fees_paid_dollars: dollars(p.fees),
          realized_pnl_dollars: '0.0000',
          resting_orders_count: [...orders.values()].filter((o) => o.owner === owner && o.ticker === ticker && o.status === 'resting').length,
          last_updated_ts: new Date(p.updatedMs).toISOString(),
        }));
        return sendJson(res, 200, { market_positions: positions, event_positions: [], cursor: '' });
      }
      if (method === 'GET' && segments.length === 2 && segments[1] === 'settlements') {
        let list = [...acct.settlements].reverse();
        const ticker = query.get('ticker');
        if (ticker) list = list.filter((x) => x.ticker === ticker);
        const { page, cursor } = paginate(list, query);
        return sendJson(res, 200, { settlements: page, cursor });
      }
      if (method === 'GET' && segments.length === 2 && segments[1] === 'balance') {
        const cents = Math.floor(acct.cash / 100);
        return sendJson(res, 200, { balance: cents, balance_dollars: dollars(acct.cash), portfolio_value: 0, updated_ts: Math.floor(clock.now() / 1000) });
      }
    }
    throw new HttpError(404, errorBody('not_found', 'not found', `${method} ${path}`));
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof HttpError) sendJson(res, error.status, error.body);
      else {
        log?.error({ err: error }, 'kalshi sim request failed');
        sendJson(res, 500, errorBody('internal_server_error', 'internal server error'));
      }
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { path } = splitUrl(req);
    if (path !== KALSHI_WS_PATH) return refuseUpgrade(socket, 404, 'Not Found', errorBody('not_found', 'not found', path));
    if (faults.outage) return refuseUpgrade(socket, 503, 'Service Unavailable', errorBody('service_unavailable', 'service unavailable'));
    const result = auth.verify(req.headers, 'GET', path);
    if (!result.ok) return refuseUpgrade(socket, 401, 'Unauthorized', errorBody('authentication_error', 'authentication error', result.details));
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req, result.keyId));
  });

  const port = await listen(server, host, options.port ?? 0);
  if (options.autoStart !== false) driver.start();
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log?.info({ host, port, rest: KALSHI_REST_PREFIX, ws: KALSHI_WS_PATH }, 'kalshi simulator listening');

  return {
    url: `http://${urlHost}:${port}${KALSHI_REST_PREFIX}`,
    wsUrl: `ws://${urlHost}:${port}${KALSHI_WS_PATH}`,
    host,
    port,
    engine,
    clock,
    orderbook(ticker) {
      const m = markets.get(ticker);
      if (!m) throw new Error(`unknown ticker ${ticker}`);
      return { yes: levelsFp(m, 'bid', false), no: levelsFp(m, 'ask', false) };
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
      clearInterval(pinger);
      for (const conn of conns) conn.ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

function topKey(book: LadderBook): string {
  return JSON.stringify([book.best('bid'), book.best('ask')]);
}
