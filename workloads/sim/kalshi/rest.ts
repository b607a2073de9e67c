// Kalshi's REST API under /trade-api/v2: public market data (exchange status, markets, order
// books, trades, events, series and their fee changes) and the signed portfolio (order entry and
// its batches, orders, fills, positions, settlements, balance). Every request passes the gate
// first: an outage, a slow fault, the RSA-PSS signature (required under /portfolio, checked
// wherever it is sent), then the caller's token bucket. Errors come in the venue's shapes
// (wire.ts): nested for order, auth and exchange errors, bare `{msg}` for a bad query parameter.
import { PRICE_ONE } from '../book.js';
import type { SimExchange } from '../core/exchange.js';
import { Routes } from '../core/routes.js';
import type { RoutedRequest, Schedule, SimRequest, VenueRest } from '../core/venue.js';
import { dollars } from '../format.js';
import { HttpError, JsonReply, readBody, TokenBucket } from '../http.js';
import type { GameSpec } from '../scenario.js';
import type { KalshiAuthenticator } from './auth.js';
import type { Conn } from './feed.js';
import { eventJson, feeChangesJson, marketJson, marketStatus, seriesJson, statusFilter, tradeJson } from './market-wire.js';
import type { KalshiOrders } from './orders.js';
import type { KalshiPortfolio } from './portfolio.js';
import { seriesOf, type KalshiState, type KMarket } from './state.js';
import { errorBody, eventPositionJson, levelsFp, orderJson, paramErrorBody, positionJson, UNAVAILABLE } from './wire.js';

export const KALSHI_REST_PREFIX = '/trade-api/v2';

export interface KalshiRateLimits {
  readRate: number;
  readCapacity: number;
  writeRate: number;
  writeCapacity: number;
}

/** Basic tier: 200 read / 100 write tokens per second, buckets hold one second. */
export const basicTier: KalshiRateLimits = { readRate: 200, readCapacity: 200, writeRate: 100, writeCapacity: 100 };

export interface KalshiRestOptions {
  limits: KalshiRateLimits;
  /**
   * Honour `client_order_id` on `GET /portfolio/orders` (an undocumented filter: neither the SDK
   * nor the OpenAPI document has it). Off, the parameter is ignored, as a venue without it would.
   */
  clientOrderIdFilter: boolean;
}

/** `owner`: the API key that signed the request, if one did. */
type Handler = (request: RoutedRequest, owner: string | undefined) => unknown;
type PortfolioHandler = (request: RoutedRequest, owner: string) => unknown;

interface KalshiEvent {
  game: GameSpec;
  markets: KMarket[];
}

/** The legacy order endpoints (deprecated for the V2 ones) answer with an error body, not a 404. */
const legacy = () => {
  throw new HttpError(
    400,
    errorBody('deprecated_endpoint', 'this endpoint is deprecated', 'use POST/DELETE /portfolio/events/orders (CreateOrderV2)'),
  );
};

export class KalshiRest implements VenueRest {
  readonly path = KALSHI_REST_PREFIX;
  readonly internalError = errorBody('internal_server_error', 'internal server error');
  private readonly market: Routes<Handler>;
  private readonly portfolio: Routes<PortfolioHandler>;
  /** Per API key, or per address for unsigned requests. */
  private readonly buckets = new Map<string, { read: TokenBucket; write: TokenBucket }>();
  private readonly schedule: Schedule;

  constructor(
    private readonly exchange: SimExchange<Conn>,
    private readonly state: KalshiState,
    orders: KalshiOrders,
    private readonly accounts: KalshiPortfolio,
    private readonly auth: KalshiAuthenticator,
    private readonly options: KalshiRestOptions,
  ) {
    this.schedule = exchange.schedule;
    const now = () => exchange.clock.now();
    this.market = new Routes<Handler>()
      .get('/exchange/status', () => ({ exchange_active: !exchange.outage, trading_active: true, exchange_estimated_resume_time: null }))
      .get('/markets', ({ query }) => this.markets(query))
      .get('/markets/trades', ({ query }) => this.trades(query))
      .get('/markets/orderbooks', ({ query }) => this.orderbooks(query))
      .get('/markets/:ticker', ({ params }) => ({ market: this.marketJson(this.marketOf(params.ticker!)) }))
      .get('/markets/:ticker/orderbook', ({ params, query }) => this.orderbook(this.marketOf(params.ticker!), query))
      .get('/events', ({ query }) => this.events(query))
      .get('/events/:eventTicker', ({ params }) => this.event(params.eventTicker!))
      .get('/series/fee_changes', ({ query }) => this.feeChanges(query))
      .get('/series/:seriesTicker', ({ params }) => {
        const series = state.series.get(params.seriesTicker!);
        if (!series) throw new HttpError(404, errorBody('not_found', 'series not found', params.seriesTicker));
        return { series: seriesJson(state, series, now()) };
      });
    this.portfolio = new Routes<PortfolioHandler>()
      .post('/portfolio/events/orders', async ({ req }, owner) => new JsonReply(201, orders.create(owner, await readBody(req))))
      .post(
        '/portfolio/events/orders/batched',
        async ({ req }, owner) => new JsonReply(201, orders.createBatch(owner, await readBody(req))),
      )
      .delete('/portfolio/events/orders/batched', async ({ req }, owner) => orders.cancelBatch(owner, await readBody(req)))
      .delete('/portfolio/events/orders/:orderId', ({ params }, owner) => orders.cancel(owner, params.orderId!))
      .post('/portfolio/orders', legacy)
      .delete('/portfolio/orders/:orderId', legacy)
      .get('/portfolio/orders', ({ query }, owner) => this.orders(owner, query))
      .get('/portfolio/orders/:orderId', ({ params }, owner) => ({ order: orderJson(this.ownOrder(owner, params.orderId!)) }))
      .get('/portfolio/fills', ({ query }, owner) => this.fills(owner, query))
      .get('/portfolio/positions', ({ query }, owner) => this.positions(owner, query))
      .get('/portfolio/settlements', ({ query }, owner) => this.settlements(owner, query))
      .get('/portfolio/balance', (_, owner) => this.balance(owner));
  }

  async handle(request: SimRequest): Promise<unknown> {
    const { req, method, path } = request;
    if (!path.startsWith(KALSHI_REST_PREFIX + '/')) throw new HttpError(404, errorBody('not_found', 'not found', path));
    if (this.exchange.outage) throw new HttpError(503, UNAVAILABLE);
    await this.exchange.slowdown();
    const rel = path.slice(KALSHI_REST_PREFIX.length);
    const segments = rel.split('/').filter(Boolean);
    const isPortfolio = segments[0] === 'portfolio';
    let owner: string | undefined;
    if (isPortfolio || req.headers['kalshi-access-key'] !== undefined || req.headers['kalshi-access-signature'] !== undefined) {
      const result = this.auth.verify(req.headers, method, path);
      if (!result.ok) throw new HttpError(401, errorBody('authentication_error', 'authentication error', result.details));
      owner = result.keyId;
    }
    this.rateLimit(owner ?? req.socket.remoteAddress ?? 'unknown', method, segments);
    const limit = request.query.get('limit');
    if (limit !== null && !(Number(limit) >= 1 && Number(limit) <= 1000))
      throw new HttpError(400, paramErrorBody(`limit: must be between 1 and 1000, got ${limit}`));
    const notFound = new HttpError(404, errorBody('not_found', 'not found', `${method} ${path}`));
    if (isPortfolio) {
      const route = this.portfolio.match(method, rel);
      if (!route || !owner) throw notFound;
      return route.handler({ ...request, params: route.params }, owner);
    }
    const route = this.market.match(method, rel);
    if (!route) throw notFound;
    return route.handler({ ...request, params: route.params }, owner);
  }

  /** Order entry and cancels draw on the write bucket (a cancel costs 2 tokens), everything else on the read bucket (10). */
  private rateLimit(key: string, method: string, segments: string[]): void {
    const isWrite = segments[0] === 'portfolio' && segments[2] === 'orders' && method !== 'GET';
    const cost = isWrite && method === 'DELETE' ? 2 : 10;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = {
        read: new TokenBucket(this.options.limits.readRate, this.options.limits.readCapacity),
        write: new TokenBucket(this.options.limits.writeRate, this.options.limits.writeCapacity),
      };
      this.buckets.set(key, bucket);
    }
    if (this.exchange.rateLimited || !(isWrite ? bucket.write : bucket.read).take(cost))
      throw new HttpError(429, { error: 'too many requests' });
  }

  private marketOf(ticker: string): KMarket {
    const m = this.state.markets.get(ticker);
    if (!m) throw new HttpError(404, errorBody('not_found', 'market not found', ticker));
    return m;
  }

  private marketJson(m: KMarket) {
    return marketJson(m, this.schedule, m.previous, m.settleAfterMs);
  }

  private markets(query: URLSearchParams) {
    let list = [...this.state.markets.values()];
    const eventTicker = query.get('event_ticker');
    const series = query.get('series_ticker');
    const tickers = listParam(query, 'tickers');
    const status = query.get('status');
    if (eventTicker) list = list.filter((m) => m.sim.game.kalshi.eventTicker === eventTicker);
    if (series) list = list.filter((m) => m.series === series);
    if (tickers.length > 0) list = list.filter((m) => tickers.includes(m.sim.kalshiTicker));
    if (status) list = list.filter((m) => statusFilter(status).includes(marketStatus(m)));
    const { page, cursor } = paginate(list, query);
    return { markets: page.map((m) => this.marketJson(m)), cursor };
  }

  private orderbook(m: KMarket, query: URLSearchParams) {
    const depth = Number(query.get('depth') ?? 0) || 0;
    const top = (levels: Array<[string, string]>) => (depth > 0 ? levels.slice(-depth) : levels);
    return { orderbook_fp: { yes_dollars: top(levelsFp(m.book, 'bid', false)), no_dollars: top(levelsFp(m.book, 'ask', false)) } };
  }

  /** `tickers` repeated (as the SDK sends it) or as one comma list. */
  private orderbooks(query: URLSearchParams) {
    const tickers = listParam(query, 'tickers');
    if (tickers.length === 0) throw new HttpError(400, paramErrorBody('tickers: required'));
    return { orderbooks: tickers.map((t) => ({ ticker: t, ...this.orderbook(this.marketOf(t), query) })) };
  }

  /** Public trades, newest first, in the window `min_ts`..`max_ts` (Unix seconds). */
  private trades(query: URLSearchParams) {
    const ticker = query.get('ticker');
    const within = window(query);
    const list = [...this.state.markets.values()]
      .filter((m) => !ticker || m.sim.kalshiTicker === ticker)
      .flatMap((m) => m.trades.filter((t) => within(t.tsMs)).map((t) => ({ m, t })))
      .sort((a, b) => b.t.tsMs - a.t.tsMs);
    const { page, cursor } = paginate(list, query);
    return { trades: page.map(({ m, t }) => tradeJson(m, t)), cursor };
  }

  /** The scenario's games as Kalshi events, by event ticker. */
  private allEvents(): Map<string, KalshiEvent> {
    const out = new Map<string, KalshiEvent>();
    for (const m of this.state.markets.values()) {
      const key = m.sim.game.kalshi.eventTicker;
      const entry = out.get(key) ?? { game: m.sim.game, markets: [] };
      entry.markets.push(m);
      out.set(key, entry);
    }
    return out;
  }

  private events(query: URLSearchParams) {
    let list = [...this.allEvents().entries()];
    const series = query.get('series_ticker');
    if (series) list = list.filter(([, e]) => seriesOf(e.game) === series);
    const status = query.get('status');
    if (status && status !== 'open') list = [];
    const nested = query.get('with_nested_markets') === 'true';
    const { page, cursor } = paginate(list, query);
    return {
      events: page.map(([t, e]) => eventJson(t, e.game, seriesOf(e.game), nested ? e.markets.map((m) => this.marketJson(m)) : undefined)),
      cursor,
    };
  }

  private event(ticker: string) {
    const e = this.allEvents().get(ticker);
    if (!e) throw new HttpError(404, errorBody('not_found', 'event not found', ticker));
    return { event: eventJson(ticker, e.game, seriesOf(e.game), undefined), markets: e.markets.map((m) => this.marketJson(m)) };
  }

  private feeChanges(query: URLSearchParams) {
    const ticker = query.get('series_ticker');
    const series = [...this.state.series.values()].filter((s) => !ticker || s.ticker === ticker);
    return feeChangesJson(series, this.exchange.clock.now(), query.get('show_historical') === 'true');
  }

  private ownOrder(owner: string, orderId: string) {
    const order = this.state.orders.get(orderId);
    if (!order || order.owner !== owner) throw new HttpError(404, errorBody('not_found', 'order not found', orderId));
    return order;
  }

  /** Newest first, filtered like the venue's (`client_order_id` only when the switch honours it). */
  private orders(owner: string, query: URLSearchParams) {
    const cid = this.options.clientOrderIdFilter ? query.get('client_order_id') : null;
    const ticker = query.get('ticker');
    const events = listParam(query, 'event_ticker');
    const status = query.get('status');
    const within = window(query);
    const list = [...this.state.orders.values()].filter(
      (o) =>
        o.owner === owner &&
        (!cid || o.clientOrderId === cid) &&
        (!ticker || o.ticker === ticker) &&
        (events.length === 0 || events.includes(this.state.markets.get(o.ticker)!.sim.game.kalshi.eventTicker)) &&
        (!status || o.status === status) &&
        within(o.createdMs),
    );
    const { page, cursor } = paginate(list.reverse(), query);
    return { orders: page.map(orderJson), cursor };
  }

  private fills(owner: string, query: URLSearchParams) {
    const ticker = query.get('ticker');
    const orderId = query.get('order_id');
    const within = window(query);
    const list = [...this.state.account(owner).fills]
      .reverse()
      .filter((f) => (!ticker || f.ticker === ticker) && (!orderId || f.order_id === orderId) && within(f.ts_ms));
    const { page, cursor } = paginate(list, query);
    return { fills: page, cursor };
  }

  private positions(owner: string, query: URLSearchParams) {
    const ticker = query.get('ticker');
    const resting = (t: string) =>
      [...this.state.orders.values()].filter((o) => o.owner === owner && o.ticker === t && o.status === 'resting').length;
    const held = [...this.state.account(owner).positions.entries()].filter(([t]) => !ticker || t === ticker);
    const byEvent = new Map<string, Array<(typeof held)[number][1]>>();
    for (const [t, p] of held) {
      const event = this.state.markets.get(t)!.sim.game.kalshi.eventTicker;
      byEvent.set(event, [...(byEvent.get(event) ?? []), p]);
    }
    return {
      market_positions: held.map(([t, p]) => positionJson(t, p, resting(t))),
      event_positions: [...byEvent.entries()].map(([event, list]) => eventPositionJson(event, list)),
      cursor: '',
    };
  }

  private settlements(owner: string, query: URLSearchParams) {
    let list = [...this.state.account(owner).settlements].reverse();
    const ticker = query.get('ticker');
    if (ticker) list = list.filter((x) => x.ticker === ticker);
    const { page, cursor } = paginate(list, query);
    return { settlements: page, cursor };
  }

  /**
   * The available balance in cents (truncated) and dollars, and the portfolio's value in cents:
   * each position at what its side's best bid would pay for it now.
   */
  private balance(owner: string) {
    const available = Math.max(0, this.accounts.available(owner));
    let value = 0;
    for (const [ticker, p] of this.state.account(owner).positions) {
      if (p.position === 0) continue;
      const m = this.state.markets.get(ticker)!;
      const bid = p.position > 0 ? (m.book.best('bid')?.[0] ?? 0) : PRICE_ONE - (m.book.best('ask')?.[0] ?? PRICE_ONE);
      value += Math.floor((bid * Math.abs(p.position)) / 100);
    }
    return {
      balance: Math.floor(available / 100),
      balance_dollars: dollars(available),
      portfolio_value: Math.floor(value / 100),
      updated_ts: Math.floor(this.exchange.clock.now() / 1000),
    };
  }
}

/** A list parameter, repeated (`?x=a&x=b`) or comma-separated. */
function listParam(query: URLSearchParams, name: string): string[] {
  return query
    .getAll(name)
    .flatMap((v) => v.split(','))
    .filter(Boolean);
}

/** `min_ts` / `max_ts` (Unix seconds) as a test on epoch ms. */
function window(query: URLSearchParams): (ms: number) => boolean {
  const min = query.get('min_ts');
  const max = query.get('max_ts');
  const from = min === null ? -Infinity : Number(min) * 1000;
  const to = max === null ? Infinity : Number(max) * 1000 + 999;
  return (ms) => ms >= from && ms <= to;
}

/** Kalshi's cursor is an offset here: `limit` (1–1000, default 100) items from `cursor`; a garbage cursor reads as the start. */
function paginate<T>(items: T[], query: URLSearchParams): { page: T[]; cursor: string } {
  const limit = Number(query.get('limit') ?? 100) || 100;
  const start = Number(query.get('cursor') || 0) || 0;
  const page = items.slice(start, start + limit);
  return { page, cursor: start + limit < items.length ? String(start + limit) : '' };
}
