// Polymarket's CLOB REST API at the root. The gate, in order: GET /api/geoblock (answered even to
// blocked sources), the geoblock (every request, or only order placement), an outage, a slow
// fault, rate limiting. Then public market data (/book, /books, /markets, prices …, Gamma under
// /gamma), or the trading endpoints (/order, /orders, /data/…) behind L2 authentication, whose
// HMAC covers the exact body bytes.
import { z } from 'zod';
import type { SimExchange } from '../core/exchange.js';
import { Routes } from '../core/routes.js';
import type { RoutedRequest, SimRequest, VenueRest } from '../core/venue.js';
import { HttpError, readBody, TokenBucket } from '../http.js';
import type { PolymarketL2Auth } from './auth.js';
import type { PConn } from './feed.js';
import { gammaRoutes } from './gamma.js';
import { GEOBLOCK_ERROR, type Geoblock } from './geoblock.js';
import type { PolymarketOrders } from './orders.js';
import type { PolymarketState, Token } from './state.js';
import { bestOf, clobMarketJson, cursorOf, END_CURSOR, offsetOf, orderJson, summary, tradeJson, UNAVAILABLE } from './wire.js';

const TOO_MANY = { error: 'Too Many Requests' };

type Handler = (request: RoutedRequest) => unknown;
/** `apiKey`: the key that signed the request; `body`: the bytes it signed. */
type TradingHandler = (request: RoutedRequest, apiKey: string, body: string) => unknown;

const needsAuth = (path: string) => path === '/order' || path === '/orders' || path.startsWith('/data/');

export class PolymarketRest implements VenueRest {
  readonly path = '';
  readonly internalError = { error: 'Internal server error' };
  private readonly bookBucket = new TokenBucket(150, 1500); // /book: 1 500 per 10 s
  private readonly market: Routes<Handler>;
  private readonly trading: Routes<TradingHandler>;

  constructor(
    private readonly exchange: SimExchange<PConn>,
    private readonly state: PolymarketState,
    orders: PolymarketOrders,
    private readonly auth: PolymarketL2Auth,
    private readonly geo: Geoblock,
  ) {
    const conditionId = ':conditionId(0x[0-9a-fA-F]{64})';
    this.market = new Routes<Handler>()
      .get('/', () => 'OK')
      .get('/ok', () => 'OK')
      .get('/time', () => Math.floor(exchange.clock.now() / 1000))
      .get('/version', () => ({ version: 2 }))
      .get('/book', ({ query }) => this.book(query))
      .post('/books', async ({ req }) => this.books(await readBody(req)))
      .get('/tick-size', ({ query }) => ({ minimum_tick_size: Number(this.token(query).market.tick) }))
      .get('/neg-risk', ({ query }) => ({ neg_risk: (this.token(query), false) }))
      .get('/midpoint', ({ query }) => this.midpoint(this.token(query)))
      .get('/price', ({ query }) => this.price(this.token(query), query.get('side')))
      .get('/markets', ({ query }) => this.markets(query))
      .get(`/markets/${conditionId}`, ({ params }) => this.marketByCondition(params.conditionId!))
      .get(`/clob-markets/${conditionId}`, ({ params }) => this.marketByCondition(params.conditionId!));
    gammaRoutes(this.market, state.markets, exchange.schedule);
    this.trading = new Routes<TradingHandler>()
      .post('/order', async (_, apiKey, body) => {
        orders.refuseClosedMarket(body);
        return orders.place(apiKey, body);
      })
      .delete('/order', (_, apiKey, body) => orders.cancel(apiKey, [parse(z.object({ orderID: z.string() }), body || '{}').orderID]))
      .delete('/orders', (_, apiKey, body) => orders.cancel(apiKey, parse(z.array(z.string()), body || '[]')))
      .get('/data/order/:id', ({ params }, apiKey) => {
        const o = state.orders.get(params.id!);
        return o && o.owner === apiKey ? orderJson(o) : null;
      })
      .get('/data/orders', ({ query }, apiKey) => this.openOrders(apiKey, query))
      .get('/data/trades', ({ query }, apiKey) => this.trades(apiKey, query));
  }

  /** A body that is not JSON is the venue's 400. */
  expectedError(error: unknown): HttpError | undefined {
    return error instanceof SyntaxError ? new HttpError(400, { error: 'Invalid payload' }) : undefined;
  }

  async handle(request: SimRequest): Promise<unknown> {
    const { req, method, path } = request;
    const source = req.socket.remoteAddress;
    if (method === 'GET' && path === '/api/geoblock') return this.geo.check(source);
    const placing = (path === '/order' || path === '/orders') && method === 'POST';
    if ((this.geo.scope === 'all' || placing) && this.geo.isBlocked(source)) throw new HttpError(403, GEOBLOCK_ERROR);
    if (this.exchange.outage) throw new HttpError(503, UNAVAILABLE);
    await this.exchange.slowdown();
    if (this.exchange.rateLimited) throw new HttpError(429, TOO_MANY);
    const notFound = new HttpError(404, { error: 'not found' });
    if (!needsAuth(path)) {
      const route = this.market.match(method, path);
      if (!route) throw notFound;
      return route.handler({ ...request, params: route.params });
    }
    const body = method === 'GET' ? '' : await readBody(req);
    const apiKey = this.auth.verify(req.headers, method, path, body);
    if (!apiKey) throw new HttpError(401, { error: 'Unauthorized/Invalid api key' });
    const route = this.trading.match(method, path);
    if (!route) throw notFound;
    return route.handler({ ...request, params: route.params }, apiKey, body);
  }

  private token(query: URLSearchParams): Token {
    const id = query.get('token_id');
    if (!id || !/^\d+$/.test(id)) throw new HttpError(400, { error: 'Invalid token id' });
    const token = this.state.tokens.get(id);
    if (!token) throw new HttpError(404, { error: 'No orderbook exists for the requested token id' });
    return token;
  }

  private book(query: URLSearchParams) {
    if (!this.bookBucket.take(1)) throw new HttpError(429, TOO_MANY);
    const token = this.token(query);
    return summary(token.market, token.outcome);
  }

  private books(raw: string) {
    const items = JSON.parse(raw || '[]') as Array<{ token_id?: string }>;
    if (!Array.isArray(items)) throw new HttpError(400, { error: 'Invalid payload' });
    return items.map((item) => {
      const token = this.state.tokens.get(String(item.token_id));
      if (!token) throw new HttpError(400, { error: 'Invalid token id' });
      return summary(token.market, token.outcome);
    });
  }

  private midpoint(token: Token) {
    const best = bestOf(token.market, token.outcome);
    return { mid: String((Number(best.best_bid) + Number(best.best_ask)) / 2) };
  }

  /** BUY: the price a seller gets (best bid); SELL: the best ask. */
  private price(token: Token, side: string | null) {
    if (side !== 'BUY' && side !== 'SELL') throw new HttpError(400, { error: 'Invalid side' });
    const best = bestOf(token.market, token.outcome);
    return { price: side === 'BUY' ? best.best_bid : best.best_ask };
  }

  /** 500 a page. */
  private markets(query: URLSearchParams) {
    const all = [...this.state.markets.values()].map((m) => clobMarketJson(m, this.exchange.schedule));
    const start = offsetOf(query.get('next_cursor'));
    const limit = 500;
    const data = start < 0 ? [] : all.slice(start, start + limit);
    const next = start >= 0 && start + limit < all.length ? cursorOf(start + limit) : END_CURSOR;
    return { limit, count: data.length, next_cursor: next, data };
  }

  private marketByCondition(conditionId: string) {
    const m = [...this.state.markets.values()].find((x) => x.sim.conditionId.toLowerCase() === conditionId.toLowerCase());
    if (!m) throw new HttpError(404, { error: 'market not found' });
    return clobMarketJson(m, this.exchange.schedule);
  }

  /** The key's resting orders, all on one page. */
  private openOrders(apiKey: string, query: URLSearchParams) {
    const market = query.get('market');
    const asset = query.get('asset_id');
    const open = [...this.state.orders.values()].filter(
      (o) => o.owner === apiKey && o.resting && (!market || o.market.sim.conditionId === market) && (!asset || o.assetId === asset),
    );
    return { limit: 500, count: open.length, next_cursor: END_CURSOR, data: open.map(orderJson) };
  }

  /** The key's trades, filtered like the venue's, 100 a page. */
  private trades(apiKey: string, query: URLSearchParams) {
    const id = query.get('id');
    const market = query.get('market');
    const asset = query.get('asset_id');
    const after = Number(query.get('after') ?? 0);
    const before = Number(query.get('before') ?? Infinity);
    const offset = offsetOf(query.get('next_cursor'));
    const list = this.state.trades.filter(
      (t) =>
        t.owner === apiKey &&
        (!id || t.id === id) &&
        (!market || t.market.sim.conditionId === market) &&
        (!asset || t.assetId === asset) &&
        t.matchSec >= after &&
        t.matchSec <= before,
    );
    const page = list.slice(offset, offset + 100);
    const next = offset + 100 < list.length ? cursorOf(offset + 100) : END_CURSOR;
    return {
      limit: 100,
      count: page.length,
      next_cursor: next,
      data: page.map((t) => tradeJson(t, this.state.addressOf.get(t.owner) ?? '')),
    };
  }
}

/** A JSON body of a given shape; anything else is the venue's 400 (a body that is not JSON too, as a SyntaxError). */
function parse<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new HttpError(400, { error: 'Invalid payload' });
  return parsed.data;
}
