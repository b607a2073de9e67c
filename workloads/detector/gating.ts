// Which books may trigger a signal: never a stale quote (flagged by the monitor or
// older than maxQuoteAgeMs), never a crossed, empty or malformed book (a price of $0 or $1 or
// beyond, a size that is not a positive integer: the monitors refuse these too, and a quote
// marked fresh gets no benefit of the doubt), and for a two-leg set both books
// must have been received within maxLegSkewMs of each other, so the set is priced at one moment.
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Quote } from '../../contracts/messages.js';

export interface GatingSettings {
  /** A book older than this (now − receivedTs) is stale. */
  maxQuoteAgeMs: number;
  /** The two legs' books must be received within this of each other. */
  maxLegSkewMs: number;
}

export type GateReason = 'missing' | 'stale' | 'too_old' | 'empty' | 'crossed' | 'invalid' | 'skew';

/** Milliseconds since the book was received (0 if the clock is behind it). */
export function quoteAge(quote: Quote, now: number): number {
  const age = now - quote.receivedTs;
  return age > 0 ? age : 0;
}

/** Why one book cannot be traded on now, or undefined if it can. */
export function bookProblem(quote: Quote | undefined, now: number, settings: GatingSettings): GateReason | undefined {
  if (!quote) return 'missing';
  if (quote.stale) return 'stale';
  if (now - quote.receivedTs > settings.maxQuoteAgeMs) return 'too_old';
  const { asks, bids } = quote;
  if (asks.length === 0) return 'empty';
  if (bids.length > 0 && bids[0]![0] >= asks[0]![0]) return 'crossed';
  // Asks strictly ascending, bids strictly descending, every price strictly between $0 and $1 and
  // every size a positive integer: anything else is a delta mistaken for a snapshot, a parsing bug
  // or a venue fault, and must not be priced.
  let previous = 0;
  for (let i = 0; i < asks.length; i++) {
    const [price, size] = asks[i]!;
    if (!(price > previous && price < PRICE_ONE) || !validSize(size)) return 'invalid';
    previous = price;
  }
  previous = PRICE_ONE;
  for (let i = 0; i < bids.length; i++) {
    const [price, size] = bids[i]!;
    if (!(price < previous && price > 0) || !validSize(size)) return 'invalid';
    previous = price;
  }
  return undefined;
}

const validSize = (size: number): boolean => Number.isSafeInteger(size) && size > 0;

/** Why a two-leg set on books `a` and `b` cannot be traded now, or undefined if it can. */
export function gateLegs(a: Quote | undefined, b: Quote | undefined, now: number, settings: GatingSettings): GateReason | undefined {
  const problem = bookProblem(a, now, settings) ?? bookProblem(b, now, settings);
  if (problem) return problem;
  const skew = a!.receivedTs - b!.receivedTs;
  if ((skew < 0 ? -skew : skew) > settings.maxLegSkewMs) return 'skew';
  if (a!.venue === b!.venue && a!.outcome !== b!.outcome && !mirrored(a!, b!)) return 'skew';
  return undefined;
}

/**
 * One venue's YES and NO books are one order book seen from both sides (Kalshi shows YES asks as NO
 * bids; Polymarket mirrors the two tokens), so two books of one moment mirror at the top: YES ask =
 * $1 − NO bid and NO ask = $1 − YES bid. A monitor publishes the two outcomes of one change one after
 * the other, and in between the pair is new YES against old NO: pricing it finds a phantom set (after
 * a ladder jump, the new YES ask plus the old NO ask is below $1). Such a pair is refused as skew.
 */
function mirrored(a: Quote, b: Quote): boolean {
  return mirrors(a.asks[0], b.bids[0]) && mirrors(a.bids[0], b.asks[0]);
}

function mirrors(x: readonly [number, number] | undefined, y: readonly [number, number] | undefined): boolean {
  return x === undefined || y === undefined ? x === y : x[0] + y[0] === PRICE_ONE;
}
