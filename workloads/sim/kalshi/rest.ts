// Kalshi's REST API under /trade-api/v2: public market data (exchange status, markets, order
// books, events) and the signed portfolio (order entry, orders, fills, positions, settlements,
// balance). Every request passes the gate first: an outage, a slow fault, the RSA-PSS signature
// (required under /portfolio, checked wherever it is sent), then the caller's token bucket.
import type { SimExchange } from '../core/exchange.js';
import { Routes } from '../core/routes.js';
import type { RoutedRequest, Schedule, SimRequest, VenueRest } from '../core/venue.js';
import { dollars } from '../format.js';
import { HttpError, JsonReply, readBody, TokenBucket } from '../http.js';
import type { GameSpec } from '../scenario.js';
import type { KalshiAuthenticator } from './auth.js';
import type { Conn } from './feed.js';
import type { KalshiOrders } from './orders.js';
import type { KalshiState, KMarket } from './state.js';
import {
  errorBody,
  eventJson,
  levelsFp,
  marketJson,
  marketStatus,
  orderJson,
  positionJson,
  seriesOf,
  statusFilter,
  UNAVAILABLE,
} from './wire.js';

export const KALSHI_REST_PREFIX = '/trade-api/v2';

export interface KalshiRateLimits {
  readRate: number;
  readCapacity: number;
  writeRate: number;
  writeCapacity: number;
}

/** Basic tier: 200 read / 100 write tokens per second, buckets hold one second. */
export const basicTier: KalshiRateLimits = { readRate: 200, readCapacity: 200, writeRate: 100, writeCapacity: 100 };

/** `owner`: the API key that signed the request, if one did. */
type Handler = (request: RoutedRequest, owner: string | undefined) => unknown;
type PortfolioHandler = (request: RoutedRequest, owner: string) => unknown;

interface KalshiEvent {
  game: GameSpec;
  markets: KMarket[];
}

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
    private readonly auth: KalshiAuthenticator,
    private readonly limits: KalshiRateLimits,
  ) {
    this.schedule = exchange.schedule;
    this.market = new Routes<Handler>()
      .get('/exchange/status', () => ({ exchange_active: !exchange.outage, trading_active: true, exchange_estimated_resume_time: null }))
      .get('/markets', ({ query }) => this.markets(query))
      .get('/markets/:ticker', ({ params }) => ({ market: marketJson(this.marketOf(params.ticker!), this.schedule) }))
      .get('/markets/:ticker/orderbook', ({ params, query }) => this.orderbook(this.marketOf(params.ticker!), query))
      .get('/events', ({ query }) => this.events(query))
      .get('/events/:eventTicker', ({ params }) => this.event(params.eventTicker!));
    this.portfolio = new Routes<PortfolioHandler>()
      .post('/portfolio/events/orders', async ({ req }, owner) => new JsonReply(201, orders.create(owner, await readBody(req))))
      .delete('/portfolio/events/orders/:orderId', ({ params }, owner) => orders.cancel(owner, params.orderId!))
      .get('/portfolio/orders', ({ query }, owner) => this.orders(owner, query))
      .get('/portfolio/orders/:orderId', ({ params }, owner) => ({ order: orderJson(this.ownOrder(owner, params.orderId!)) }))
      .get('/portfolio/fills', ({ query }, owner) => this.fills(owner, query))
      .get('/portfolio/positions', (_, owner) => this.positions(owner))
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
    const isWrite = segments[0] === 'portfolio' && segments[1] === 'events' && segments[2] === 'orders' && method !== 'GET';
    const cost = isWrite && method === 'DELETE' ? 2 : 10;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = {
        read: new TokenBucket(this.limits.readRate, this.limits.readCapacity),
        write: new TokenBucket(this.limits.writeRate, this.limits.writeCapacity),
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

  private markets(query: URLSearchParams) {
    let list = [...this.state.markets.values()];
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
    return { markets: page.map((m) => marketJson(m, this.schedule)), cursor };
  }

  private orderbook(m: KMarket, query: URLSearchParams) {
    const depth = Number(query.get('depth') ?? 0) || 0;
    const top = (levels: Array<[string, string]>) => (depth > 0 ? levels.slice(-depth) : levels);
    return { orderbook_fp: { yes_dollars: top(levelsFp(m.book, 'bid', false)), no_dollars: top(levelsFp(m.book, 'ask', false)) } };
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
    return { events: page.map(([t, e]) => eventJson(t, e.game, e.markets, this.schedule, nested)), cursor };
  }

  private event(ticker: string) {
    const e = this.allEvents().get(ticker);
    if (!e) throw new HttpError(404, errorBody('not_found', 'event not found', ticker));
    return {
      event: eventJson(ticker, e.game, e.markets, this.schedule, false),
      markets: e.markets.map((m) => marketJson(m, this.schedule)),
    };
  }

  private ownOrder(owner: string, orderId: string) {
    const order = this.state.orders.get(orderId);
    if (!order || order.owner !== owner) throw new HttpError(404, errorBody('not_found', 'order not found', orderId));
    return order;
  }

  /** Newest first. */
  private orders(owner: string, query: URLSearchParams) {
    let list = [...this.state.orders.values()].filter((o) => o.owner === owner);
    const cid = query.get('client_order_id');
    const ticker = query.get('ticker');
    const status = query.get('status');
    if (cid) list = list.filter((o) => o.clientOrderId === cid);
    if (ticker) list = list.filter((o) => o.ticker === ticker);
    if (status) list = list.filter((o) => o.status === status);
    const { page, cursor } = paginate(list.reverse(), query);
    return { orders: page.map(orderJson), cursor };
  }

  private fills(owner: string, query: URLSearchParams) {
    let list = [...this.state.account(owner).fills].reverse();
    const ticker = query.get('ticker');
    const orderId = query.get('order_id');
    if (ticker) list = list.filter((f) => f.ticker === ticker);
    if (orderId) list = list.filter((f) => f.order_id === orderId);
    const { page, cursor } = paginate(list, query);
    return { fills: page, cursor };
  }

  private positions(owner: string) {
    const resting = (ticker: string) =>
      [...this.state.orders.values()].filter((o) => o.owner === owner && o.ticker === ticker && o.status === 'resting').length;
    const positions = [...this.state.account(owner).positions.entries()].map(([ticker, p]) => positionJson(ticker, p, resting(ticker)));
    return { market_positions: positions, event_positions: [], cursor: '' };
  }

  private settlements(owner: string, query: URLSearchParams) {
    let list = [...this.state.account(owner).settlements].reverse();
    const ticker = query.get('ticker');
    if (ticker) list = list.filter((x) => x.ticker === ticker);
    const { page, cursor } = paginate(list, query);
    return { settlements: page, cursor };
  }

  /** Cash in cents and in dollars. */
  private balance(owner: string) {
    const cash = this.state.account(owner).cash;
    return {
      balance: Math.floor(cash / 100),
      balance_dollars: dollars(cash),
      portfolio_value: 0,
      updated_ts: Math.floor(this.exchange.clock.now() / 1000),
    };
  }
}

/** Kalshi's cursor is an offset here: `limit` (1–1000, default 100) items from `cursor`. */
function paginate<T>(items: T[], query: URLSearchParams): { page: T[]; cursor: string } {
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 100) || 100, 1), 1000);
  const start = Number(query.get('cursor') || 0) || 0;
  const page = items.slice(start, start + limit);
  return { page, cursor: start + limit < items.length ? String(start + limit) : '' };
}
