// A signal's legs as the venues will take them, before risk costs them, pure: a Polymarket limit on
// the market's tick in our favour (a buy down, so the order sent never pays more than risk allowed),
// refused outside [tick, 1 − tick]; a Kalshi size in whole contracts where the market takes no
// fractions (the set's legs share one size, so the whole set shrinks). Terms the venues have not
// given (contracts/market-params.ts) refuse the signal: nothing is traded on a guess.
import type { Leg } from '../../contracts/messages.js';
import { limitOnTick, type PolymarketTick } from '../../venues/polymarket/ticks.js';

export interface VenueGrid {
  /** The Polymarket market's tick; undefined when unknown. */
  polymarketTick?: PolymarketTick;
  /** Whether the Kalshi market takes fractions of a contract; undefined when unknown. */
  kalshiFractional?: boolean;
}

export type Aligned = { ok: true; legs: Leg[] } | { ok: false; rule: 'market-terms-unknown' | 'invalid-signal'; reason: string };

const WHOLE = 100;

export function alignLegs(legs: readonly Leg[], grid: VenueGrid): Aligned {
  const out: Leg[] = [];
  for (const leg of legs) {
    if (leg.venue === 'kalshi') {
      if (grid.kalshiFractional === undefined) return { ok: false, rule: 'market-terms-unknown', reason: 'Kalshi market terms unknown' };
      out.push({ ...leg });
      continue;
    }
    const tick = grid.polymarketTick;
    if (tick === undefined) return { ok: false, rule: 'market-terms-unknown', reason: 'Polymarket tick unknown' };
    const limit = limitOnTick(leg.limitPrice, tick, leg.side);
    if (limit === undefined)
      return { ok: false, rule: 'invalid-signal', reason: `Polymarket limit ${leg.limitPrice / 10_000} is outside [${tick}, 1 - ${tick}]` };
    out.push({ ...leg, limitPrice: limit });
  }
  if (grid.kalshiFractional === false && out.some((leg) => leg.venue === 'kalshi')) {
    const size = Math.floor(Math.min(...out.map((leg) => leg.size)) / WHOLE) * WHOLE;
    if (size === 0) return { ok: false, rule: 'invalid-signal', reason: 'below one whole contract on a Kalshi market without fractions' };
    for (const leg of out) leg.size = Math.min(leg.size, size);
  }
  return { ok: true, legs: out };
}
