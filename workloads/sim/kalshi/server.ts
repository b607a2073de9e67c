// Kalshi Trade API v2 simulator: REST under /trade-api/v2 and the WebSocket at /trade-api/ws/v2,
// both authenticated with RSA-PSS signed headers, serving books driven by a scenario on the
// simulated-exchange core (core/exchange.ts). Wire shapes follow Kalshi's current fixed-point API
// (wire.ts). The pieces: state.ts (markets, orders, accounts), orders.ts (order entry, matching),
// portfolio.ts (fills, payouts), feed.ts (what the WebSocket publishes), ws.ts (its commands),
// rest.ts (the routes).
import { SimExchange, type ExchangeHandle, type ExchangeOptions } from '../core/exchange.js';
import { KalshiAuthenticator, type KalshiApiKey } from './auth.js';
import { KalshiFeed, type Conn } from './feed.js';
import { KalshiOrders } from './orders.js';
import { KalshiPortfolio } from './portfolio.js';
import { basicTier, KALSHI_REST_PREFIX, KalshiRest, type KalshiRateLimits } from './rest.js';
import { KalshiState } from './state.js';
import { levelsFp } from './wire.js';
import { KALSHI_WS_PATH, KalshiSocket, type Heartbeat } from './ws.js';

export { basicTier, KALSHI_REST_PREFIX, KALSHI_WS_PATH, type KalshiRateLimits };

export interface KalshiSimOptions extends ExchangeOptions, Heartbeat {
  apiKeys: KalshiApiKey[];
  /** Accepted distance between a signed timestamp and our clock (default 60 s). */
  maxSkewMs?: number;
  rateLimits?: KalshiRateLimits;
  /** Starting cash per API key, in cents. */
  balanceCents?: number;
  /** Honour the undocumented `client_order_id` filter of `GET /portfolio/orders` (default true). */
  clientOrderIdFilter?: boolean;
}

export interface KalshiSimHandle extends ExchangeHandle {
  /** The simulator's own book for a ticker, in the snapshot's fixed-point shape (NO side on the no-leg scale). */
  orderbook(ticker: string): { yes: Array<[string, string]>; no: Array<[string, string]> };
}

export async function startKalshiSim(options: KalshiSimOptions): Promise<KalshiSimHandle> {
  const exchange = new SimExchange<Conn>('kalshi', options);
  const { clock, log } = exchange;
  const auth = new KalshiAuthenticator(options.apiKeys, options.maxSkewMs ?? 60_000);
  const state = new KalshiState(exchange.engine, (options.balanceCents ?? 1_000_000) * 100, exchange.schedule.startMs);
  const feed = new KalshiFeed(exchange.connections, clock);
  const portfolio = new KalshiPortfolio(state, feed, clock, log);
  const orders = new KalshiOrders(state, feed, portfolio, clock, log);
  const rest = new KalshiRest(exchange, state, orders, portfolio, auth, {
    limits: options.rateLimits ?? basicTier,
    clientOrderIdFilter: options.clientOrderIdFilter ?? true,
  });
  const socket = new KalshiSocket(exchange, state, feed, auth, options);

  const handle = await exchange.start({
    scenario: { markets: state, feed, trading: orders, settlement: portfolio },
    rest,
    socket,
    describe: { rest: KALSHI_REST_PREFIX, ws: KALSHI_WS_PATH },
  });
  return {
    ...handle,
    orderbook(ticker) {
      const m = state.markets.get(ticker);
      if (!m) throw new Error(`unknown ticker ${ticker}`);
      return { yes: levelsFp(m.book, 'bid', false), no: levelsFp(m.book, 'ask', false) };
    },
  };
}
