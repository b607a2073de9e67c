// Kalshi's word on a market's result (docs/exchange-protocols.md §1.5).
import { z } from 'zod';
import { PRICE_ONE } from '../../contracts/decimal.js';
import { decimalOrNaN, notResolved, type Resolution } from '../resolution.js';

/**
 * Kalshi statuses after which `result` is the market's final outcome and paid out (REST and filter
 * vocabularies). `determined` is not one: a determination can still be disputed and amended.
 */
const KALSHI_FINAL_STATUSES = ['settled', 'finalized'];

const kalshiMarketBody = z.object({
  market: z.object({
    ticker: z.string(),
    status: z.string(),
    result: z.string().optional(),
    settlement_value_dollars: z.string().nullable().optional(),
  }),
});

/** Reads Kalshi's `GET /markets/{ticker}` body: status settled/finalized with result yes or no. */
export function kalshiResolution(body: unknown, ticker: string): Resolution {
  const parsed = kalshiMarketBody.safeParse(body);
  if (!parsed.success) return notResolved('not a Kalshi market body');
  const market = parsed.data.market;
  if (market.ticker !== ticker) return notResolved(`answer is about ${market.ticker}, not ${ticker}`);
  if (!KALSHI_FINAL_STATUSES.includes(market.status)) return notResolved(`status ${market.status}`);
  const result = market.result;
  if (result !== 'yes' && result !== 'no') return notResolved(`status ${market.status} with result "${result ?? ''}"`);
  // The YES contract's settlement value must agree with the result when the venue gives it.
  const value = market.settlement_value_dollars;
  if (value !== undefined && value !== null && decimalOrNaN(value) !== (result === 'yes' ? PRICE_ONE : 0)) {
    return notResolved(`result ${result} but settlement value ${value}`);
  }
  return { resolved: true, winner: result };
}
