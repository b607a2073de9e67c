// Whether a venue says a market has resolved, and which outcome won: pure readings of the venues'
// public market answers. Settling pays real money out of the ledger, so anything short of an
// unambiguous final answer is "not resolved": a missing field, an unexpected status, prices that
// are not exactly 1 and 0, two sources that disagree.
import { parseDecimal, PRICE_SCALE } from '../contracts/decimal.js';
import type { Outcome } from '../contracts/messages.js';

export type Resolution = { resolved: true; winner: Outcome } | { resolved: false; reason: string };

export const notResolved = (reason: string): Resolution => ({ resolved: false, reason });

/** A price in our units, NaN when it is not an exact decimal. */
export function decimalOrNaN(text: string): number {
  try {
    return parseDecimal(text, PRICE_SCALE);
  } catch {
    return Number.NaN;
  }
}
