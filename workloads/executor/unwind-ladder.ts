// The prices and the cost of unwinding a one-legged fill, pure. When the second leg of a set fills
// less than the first, the excess is unwound in a few immediate-or-cancel steps, each one step
// (stepTicks) worse than the last: the exposure goes quickly, and never at an unbounded price.
// - hedge: buy the missing leg, k steps over its planned price at step k (never above 1 − tick);
// - close: sell the excess of the first leg from its best bid (with no bid, from the price it
//   was paid) downwards, the first try at that price (never below one tick).
// Prices in ten-thousandths of $1, sizes in hundredths of a contract.
import { PRICE_ONE, SIZE_SCALE } from '../../contracts/decimal.js';
import type { VenueFill } from '../../venues/orders.js';
import type { UnwindSettings } from './settings.js';

/** The smallest price step the ladders keep away from $0 and $1. */
export const TICK = 100;

type Ladder = Pick<UnwindSettings, 'steps' | 'stepTicks'>;
type Fill = Pick<VenueFill, 'price' | 'size' | 'fee'>;

/** The hedge's limit prices, step 1 first: the planned price plus k steps, capped at 1 − tick. */
export function hedgePrices(plannedPrice: number, { steps, stepTicks }: Ladder): number[] {
  return Array.from({ length: steps }, (_, i) => Math.min(PRICE_ONE - TICK, plannedPrice + (i + 1) * stepTicks));
}

/**
 * The close's limit prices, step 1 first: from the best bid for the first leg's outcome (with no
 * bid, from what the first leg paid) down one step each, floored at one tick.
 */
export function closePrices(bestBid: number | undefined, paid: number, { steps, stepTicks }: Ladder): number[] {
  const reference = bestBid ?? paid;
  return Array.from({ length: steps }, (_, i) => Math.max(TICK, reference - i * stepTicks));
}

/** The average price a leg was filled at, rounded; the planned price when nothing is known of its fills. */
export function paidPrice(fills: Fill[], plannedPrice: number): number {
  const size = fills.reduce((s, f) => s + f.size, 0);
  return size > 0 ? Math.round(fills.reduce((s, f) => s + f.price * f.size, 0) / size) : plannedPrice;
}

/**
 * What unwind fills cost against the set as planned, fees included: a hedge buy over the price
 * planned for the missing leg, a close sale under what the first leg paid. Fills that did better
 * than that cost nothing (they are not counted as a gain).
 */
export function unwindCost(fills: Fill[], side: 'buy' | 'sell', reference: number): number {
  let cost = 0;
  for (const f of fills) {
    const worse = side === 'buy' ? f.price - reference : reference - f.price;
    cost += Math.max(0, Math.ceil((worse * f.size) / 10 ** SIZE_SCALE)) + f.fee;
  }
  return cost;
}
