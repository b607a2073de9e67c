// Polymarket's CLOB REST API at the root. The gate, in order: GET /api/geoblock (answered even to
// blocked sources), the geoblock (every request, or only order placement), an outage, a slow
// fault, rate limiting. Then public market data (market-routes.ts, Gamma under /gamma), API keys
// from a wallet's L1 signature (/auth/…), or the trading and account endpoints (/order, /orders,
// cancels, /data/…, /balance-allowance) behind L2 authentication, whose HMAC covers the exact body
// bytes.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SimExchange } from '../core/exchange.js';
import { Routes } from '../core/routes.js';
import type { RoutedRequest, SimRequest, VenueRest } from '../core/venue.js';
import { HttpError, readBody } from '../http.js';
import { derivedCreds, verifyL1, type PolymarketApiCreds, type PolymarketL2Auth } from './auth.js';
import type { PConn } from './feed.js';
import { gammaRoutes } from './gamma.js';
import { GEOBLOCK_ERROR, type Geoblock } from './geoblock.js';
import { MarketData, TOO_MANY } from './market-routes.js';
import type { PolymarketOrders } from './orders.js';
import type { PolymarketState } from './state.js';
import type { Wallets } from './wallets.js';
import { END_CURSOR, offsetOf, cursorOf, orderJson, tradeJson, UNAVAILABLE } from './wire.js';

type Handler = (request: RoutedRequest) => unknown;
/** `apiKey`: the key that signed the request; `body`: the bytes it signed. */
type TradingHandler = (request: RoutedRequest, apiKey: string, body: string) => unknown;

const TRADING = ['/order', '/orders', '/cancel-all', '/cancel-market-orders', '/balance-allowance'];
const needsAuth = (path: string) => TRADING.some((p) => path === p || path.startsWith(`${p}/`)) || path.startsWith('/data/');
const L1_ERROR = { error: 'Invalid L1 Request headers' };

export class PolymarketRest implements VenueRest {
  readonly path = '';
  readonly internalError = { error: 'Internal server error' };
  private readonly market: Routes<Handler>;
  private readonly trading: Routes<TradingHandler>;
  /** Keys are derived from the wallet and nonce under this run's secret: the same on every derive. */
  private readonly keySecret = randomBytes(32);
  private readonly issued = new Set<string>();

  constructor(
    private readonly exchange: SimExchange<PConn>,
    private readonly state: PolymarketState,
    orders: PolymarketOrders,
    wallets: Wallets,
    private readonly auth: PolymarketL2Auth,
    private readonly geo: Geoblock,
    private readonly maxSkewSec: number,
  ) {
    this.market = new Routes<Handler>()
      .get('/', () => 'OK')
      .get('/ok', () => 'OK')
      .get('/time', () => Math.floor(exchange.clock.now() / 1000))
      .get('/version', () => ({ version: 2 }))
      .post('/auth/api-key', ({ req }) => this.apiKey(req, true))
      .get('/auth/derive-api-key', ({ req }) => this.apiKey(req, false));
    new MarketData(state, exchange.schedule).routes(this.market);
    gammaRoutes(this.market, state.markets, exchange.schedule);
    const address = (apiKey: string) => state.addressOf.get(apiKey) ?? '';
    this.trading = new Routes<TradingHandler>()
      .post('/order', async (_, apiKey, body) => {
        orders.refuseClosedMarket(body);
        return orders.place(apiKey, body);
      })
      .delete('/order', (_, apiKey, body) => orders.cancel(apiKey, [parse(z.object({ orderID: z.string() }), body || '{}').orderID]))
      .delete('/orders', (_, apiKey, body) => orders.cancel(apiKey, parse(z.array(z.string()), body || '[]')))
      .delete('/cancel-all', (_, apiKey) => orders.cancelWhere(apiKey))
      .delete('/cancel-market-orders', (_, apiKey, body) =>
        orders.cancelWhere(apiKey, parse(z.object({ market: z.string().optional(), asset_id: z.string().optional() }), body || '{}')),
      )
      .get('/balance-allowance', ({ query }, apiKey) =>
        wallets.balanceAllowance(address(apiKey), query.get('asset_type'), query.get('token_id')),
      )
      .get('/balance-allowance/update', ({ query }, apiKey) =>
        wallets.balanceAllowance(address(apiKey), query.get('asset_type'), query.get('token_id')),
      )
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

  /**
   * `POST /auth/api-key` (create) and `GET /auth/derive-api-key`: the wallet's key for the nonce,
   * the same each time; deriving one never created is refused.
   */
  private async apiKey(req: RoutedRequest['req'], create: boolean): Promise<Record<string, string>> {
    const l1 = await verifyL1(req.headers, this.maxSkewSec);
    if (!l1.ok) throw new HttpError(401, L1_ERROR);
    const creds: PolymarketApiCreds = derivedCreds(this.keySecret, l1.address, l1.nonce);
    if (create) this.issued.add(creds.apiKey);
    else if (!this.issued.has(creds.apiKey)) throw new HttpError(400, { error: 'Could not derive api key!' });
    this.auth.add(creds);
    this.state.addressOf.set(creds.apiKey, creds.address);
    return { apiKey: creds.apiKey, secret: creds.secret, passphrase: creds.passphrase };
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
    return { limit: 100, count: page.length, next_cursor: next, data: page.map(tradeJson) };
  }
}

/** A JSON body of a given shape; anything else is the venue's 400 (a body that is not JSON too, as a SyntaxError). */
function parse<T>(schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new HttpError(400, { error: 'Invalid payload' });
  return parsed.data;
}
