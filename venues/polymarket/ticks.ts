// Polymarket limit prices on the market's tick, pure. A price off the tick is moved to it in our
// favour, never against us: a buy down (it pays no more than decided), a sell up (it takes no less).
// Prices outside [tick, 1 − tick] are not orders the venue takes (docs/exchange-protocols.md §2.8).
// Prices in ten-thousandths of $1.
import { PRICE_ONE } from '../../contracts/decimal.js';

export const TICK_SIZES = ['0.1', '0.01', '0.005', '0.0025', '0.001', '0.0001'] as const;
export type PolymarketTick = (typeof TICK_SIZES)[number];

/** A tick in ten-thousandths of $1. */
export const tickUnits = (tick: PolymarketTick): number => Math.round(Number(tick) * PRICE_ONE);

/** The limit to send for `price`: buys rounded down, sells up, to the tick; undefined when that is outside [tick, 1 − tick]. */
export function limitOnTick(price: number, tick: PolymarketTick, side: 'buy' | 'sell'): number | undefined {
  const t = tickUnits(tick);
  const onTick = side === 'buy' ? Math.floor(price / t) * t : Math.ceil(price / t) * t;
  return onTick < t || onTick > PRICE_ONE - t ? undefined : onTick;
}

export const isTick = (value: unknown): value is PolymarketTick => TICK_SIZES.includes(String(value) as PolymarketTick);
