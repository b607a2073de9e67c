// Polymarket CLOB V2 simulator: CLOB REST at the root (/book, /markets, /order …), Gamma-style
// discovery under /gamma, the geoblock check at /api/geoblock, and the market WebSocket at
// /ws/market, serving books driven by a scenario on the simulated-exchange core
// (core/exchange.ts). The pieces: state.ts (markets, tokens, orders, trades, wallets), wire.ts (CLOB
// JSON shapes), orders.ts (order entry, matching, the market's end), wallets.ts (balances, fees),
// chain.ts (trades on chain), feed.ts (what the market channel sends), ws.ts (its connections),
// rest.ts (the gate, API keys, trading), market-routes.ts (market data), gamma.ts (discovery).
import { SimExchange, type ExchangeHandle, type ExchangeOptions } from '../core/exchange.js';
import { PolymarketL2Auth, type PolymarketApiCreds } from './auth.js';
import { PolymarketChain, type ChainTiming } from './chain.js';
import { PolymarketFeed, type PConn } from './feed.js';
import { POLY_GAMMA_PREFIX } from './gamma.js';
import { Geoblock, type GeoblockOptions } from './geoblock.js';
import { PolymarketOrders } from './orders.js';
import { PolymarketRest } from './rest.js';
import { PolymarketState } from './state.js';
import { Wallets } from './wallets.js';
import { summary, type BookSummary } from './wire.js';
import { MarketChannel, POLY_WS_MARKET_PATH, type MarketChannelTimeouts } from './ws.js';

export { POLY_GAMMA_PREFIX, POLY_WS_MARKET_PATH, type BookSummary };

export interface PolymarketSimOptions extends ExchangeOptions, MarketChannelTimeouts {
  creds: PolymarketApiCreds[];
  geoblock?: GeoblockOptions;
  /** Emit the pre-2025-09-15 price_change schema (default from the scenario). */
  legacyPriceChange?: boolean;
  /** Accepted L1/L2 timestamp skew, seconds. */
  maxSkewSec?: number;
  /** Each wallet's pUSD when first seen, in dollars (default 100 000). */
  balanceUsd?: number;
  /** How long trades take on chain. */
  chain?: ChainTiming;
}

export interface PolymarketSimHandle extends ExchangeHandle {
  gammaUrl: string;
  /** The simulator's own REST /book body for a token. */
  book(tokenId: string): BookSummary;
}

export async function startPolymarketSim(options: PolymarketSimOptions): Promise<PolymarketSimHandle> {
  const exchange = new SimExchange<PConn>('polymarket', options);
  const { clock, log } = exchange;
  const geo = new Geoblock(options.geoblock);
  const state = new PolymarketState(exchange.engine, options.creds, clock.now(), (options.balanceUsd ?? 100_000) * 10_000);
  const feed = new PolymarketFeed(exchange.connections, clock, options.legacyPriceChange ?? options.scenario.polymarketLegacyPriceChange);
  const wallets = new Wallets(state);
  const chain = new PolymarketChain(state, wallets, exchange.engine.scenario, clock, log, options.chain);
  const orders = new PolymarketOrders(state, feed, wallets, chain, clock, log);
  const maxSkewSec = options.maxSkewSec ?? 30;
  const rest = new PolymarketRest(exchange, state, orders, wallets, new PolymarketL2Auth(options.creds, maxSkewSec), geo, maxSkewSec);
  const socket = new MarketChannel(exchange, state.tokens, feed, geo, options);

  const handle = await exchange.start({
    scenario: { markets: state, feed, trading: orders, settlement: orders },
    rest,
    socket,
    describe: { ws: POLY_WS_MARKET_PATH, gamma: POLY_GAMMA_PREFIX, geoblock: geo.scope },
  });
  return {
    ...handle,
    stop: async () => {
      chain.stop();
      await handle.stop();
    },
    gammaUrl: handle.url + POLY_GAMMA_PREFIX,
    book(tokenId) {
      const token = state.tokens.get(tokenId);
      if (!token) throw new Error(`unknown token ${tokenId}`);
      return summary(token.market, token.outcome);
    },
  };
}
