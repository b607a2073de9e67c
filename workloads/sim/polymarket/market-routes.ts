// Polymarket's public CLOB market data, as route-table entries: books (one, many), prices,
// midpoints, spreads and last trades (one token by query, many by a JSON body of `[{token_id,
// side?}]`, answered keyed by token), tick size and neg risk, the fee flag (`/fee-rate`), the
// market lists (`/markets`, sampling and simplified, cursor-paginated), one market in its long and
// compact forms, and the market of a token.
import type { Routes } from '../core/routes.js';
import type { RoutedRequest, Schedule } from '../core/venue.js';
import { polyPrice } from '../format.js';
import { HttpError, readBody, TokenBucket } from '../http.js';
import { PRICE_ONE } from '../book.js';
import type { PMarket, PolymarketState, Token } from './state.js';
import {
  baseFee,
  bestOf,
  clobMarketJson,
  compactMarketJson,
  cursorOf,
  END_CURSOR,
  offsetOf,
  simplifiedMarketJson,
  summary,
} from './wire.js';

type Handler = (request: RoutedRequest) => unknown;

export const TOO_MANY = { error: 'Too Many Requests' };
const CONDITION_ID = ':conditionId(0x[0-9a-fA-F]{64})';
const PAGE = 500;

export class MarketData {
  private readonly bookBucket = new TokenBucket(150, 1500); // /book: 1 500 per 10 s

  constructor(
    private readonly state: PolymarketState,
    private readonly schedule: Schedule,
  ) {}

  /** Adds the market-data routes to the CLOB's table. */
  routes(routes: Routes<Handler>): void {
    const one =
      (f: (t: Token) => unknown) =>
      ({ query }: RoutedRequest) =>
        f(this.token(query.get('token_id')));
    const many =
      (f: (t: Token, side: string | undefined) => [string, unknown]) =>
      async ({ req }: RoutedRequest) =>
        Object.fromEntries(this.items(await readBody(req)).map(({ token, side }) => f(token, side)));
    routes
      .get('/book', ({ query }) => {
        if (!this.bookBucket.take(1)) throw new HttpError(429, TOO_MANY);
        const token = this.token(query.get('token_id'));
        return summary(token.market, token.outcome);
      })
      .post('/books', async ({ req }) => this.items(await readBody(req)).map(({ token }) => summary(token.market, token.outcome)))
      .get(
        '/tick-size',
        one((t) => ({ minimum_tick_size: Number(t.market.tick) })),
      )
      .get(
        '/neg-risk',
        one(() => ({ neg_risk: false })),
      )
      .get(
        '/fee-rate',
        one((t) => ({ base_fee: baseFee(t.market) })),
      )
      .get('/fee-rate/:tokenId', ({ params }) => ({ base_fee: baseFee(this.token(params.tokenId).market) }))
      .get(
        '/midpoint',
        one((t) => ({ mid: midpoint(t) })),
      )
      .post(
        '/midpoints',
        many((t) => [tokenIdOf(t), midpoint(t)]),
      )
      .get('/price', ({ query }) => ({ price: price(this.token(query.get('token_id')), query.get('side')) }))
      .post('/prices', async ({ req }) => {
        const out: Record<string, Record<string, string>> = {};
        for (const { token, side } of this.items(await readBody(req))) {
          const key = side === 'SELL' ? 'SELL' : 'BUY';
          out[tokenIdOf(token)] = { ...out[tokenIdOf(token)], [key]: price(token, key) };
        }
        return out;
      })
      .get(
        '/spread',
        one((t) => ({ spread: spread(t) })),
      )
      .post(
        '/spreads',
        many((t) => [tokenIdOf(t), spread(t)]),
      )
      .get(
        '/last-trade-price',
        one((t) => lastTrade(t)),
      )
      .post('/last-trades-prices', async ({ req }) =>
        this.items(await readBody(req)).map(({ token }) => ({ token_id: tokenIdOf(token), ...lastTrade(token) })),
      )
      .get('/markets', ({ query }) => this.page(query, (m) => clobMarketJson(m, this.schedule)))
      .get('/sampling-markets', ({ query }) => this.page(query, (m) => clobMarketJson(m, this.schedule), true))
      .get('/simplified-markets', ({ query }) => this.page(query, simplifiedMarketJson))
      .get('/sampling-simplified-markets', ({ query }) => this.page(query, simplifiedMarketJson, true))
      .get(`/markets/${CONDITION_ID}`, ({ params }) => clobMarketJson(this.byCondition(params.conditionId!), this.schedule))
      .get(`/clob-markets/${CONDITION_ID}`, ({ params }) => compactMarketJson(this.byCondition(params.conditionId!), this.schedule))
      .get('/markets-by-token/:tokenId', ({ params }) => {
        const m = this.token(params.tokenId).market;
        return { condition_id: m.sim.conditionId, primary_token_id: m.sim.yesTokenId, secondary_token_id: m.sim.noTokenId };
      });
  }

  token(id: string | null | undefined): Token {
    if (!id || !/^\d+$/.test(id)) throw new HttpError(400, { error: 'Invalid token id' });
    const token = this.state.tokens.get(id);
    if (!token) throw new HttpError(404, { error: 'No orderbook exists for the requested token id' });
    return token;
  }

  private byCondition(conditionId: string): PMarket {
    const m = this.state.byCondition(conditionId);
    if (!m) throw new HttpError(404, { error: 'market not found' });
    return m;
  }

  /** A batch body: `[{token_id, side?}]`, at most 500. */
  private items(raw: string): Array<{ token: Token; side: string | undefined }> {
    const items = JSON.parse(raw || '[]') as Array<{ token_id?: unknown; side?: unknown }>;
    if (!Array.isArray(items) || items.length > 500) throw new HttpError(400, { error: 'Invalid payload' });
    return items.map((item) => {
      const token = this.state.tokens.get(String(item?.token_id));
      if (!token) throw new HttpError(400, { error: 'Invalid token id' });
      return { token, side: typeof item.side === 'string' ? item.side : undefined };
    });
  }

  /** A cursor page of markets; sampling lists only markets with liquidity rewards (none here). */
  private page<T>(query: URLSearchParams, json: (m: PMarket) => T, sampling = false) {
    const all = sampling ? [] : [...this.state.markets.values()].map(json);
    const start = offsetOf(query.get('next_cursor'));
    const data = start < 0 ? [] : all.slice(start, start + PAGE);
    const next = start >= 0 && start + PAGE < all.length ? cursorOf(start + PAGE) : END_CURSOR;
    return { limit: PAGE, count: data.length, next_cursor: next, data };
  }
}

const tokenIdOf = (t: Token) => summary(t.market, t.outcome).asset_id;

function midpoint(token: Token): string {
  const best = bestOf(token.market, token.outcome);
  return String((Number(best.best_bid) + Number(best.best_ask)) / 2);
}

/** BUY: the price a seller gets (best bid); SELL: the best ask. */
function price(token: Token, side: string | null): string {
  if (side !== 'BUY' && side !== 'SELL') throw new HttpError(400, { error: 'Invalid side' });
  const best = bestOf(token.market, token.outcome);
  return side === 'BUY' ? best.best_bid : best.best_ask;
}

function spread(token: Token): string {
  const best = bestOf(token.market, token.outcome);
  return polyPrice(Math.round((Number(best.best_ask) - Number(best.best_bid)) * PRICE_ONE));
}

function lastTrade(token: Token): { price: string; side: string } {
  const { price: yes, takerBuysYes } = token.market.lastTrade;
  const own = token.outcome === 'yes';
  return { price: polyPrice(own ? yes : PRICE_ONE - yes), side: own === takerBuysYes ? 'BUY' : 'SELL' };
}
