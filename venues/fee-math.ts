// Exact integer arithmetic shared by the venues' fee models. No binary float ever holds money:
// rates are reduced fractions of integers and every division rounds in an explicit direction
// (fees up: what we pay). Units: prices in ten-thousandths of $1, sizes in hundredths of a
// contract, fees in ten-thousandths of $1.
import { PRICE_ONE, parseDecimal } from '../contracts/decimal.js';
import type { Venue } from '../contracts/messages.js';

/** [price, size] levels, best first (asks ascending). */
export type Level = readonly [price: number, size: number];
export type Levels = readonly Level[];

export type FeeRole = 'taker' | 'maker';
/** `Series.fee_type`; `flat` (the pre-2025-07-01 maker fee) is not modelled. */

/**
 * A venue's taker fee, as the detector needs it: the exact fee of one buy order that walks the asks,
 * and a per-contract marginal fee table used to decide where the walk stops.
 */
export interface FeeModel {
  readonly venue: Venue;
  /** Stable key of the parameters (models with equal keys are interchangeable). */
  readonly key: string;
  /** Fee (ten-thousandths of $1) of one taker order of `size` filled entirely at `price`. */
  fee(price: number, size: number): number;
  /** Fee of one taker buy order of `size` that fills `asks` best first. `size` must not exceed their depth. */
  feeWalk(asks: Levels, size: number): number;
  /** Fee of one more contract bought at `price`, in 1e-8 $, rounded up (never understated). */
  marginal(price: number): number;
}

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** ⌈x / d⌉ for safe integers x ≥ 0, d > 0, exact (corrects the float quotient). */
export function ceilDiv(x: number, d: number): number {
  let q = Math.floor(x / d);
  let r = x - q * d;
  if (r < 0) {
    q -= 1;
    r += d;
  } else if (r >= d) {
    q += 1;
    r -= d;
  }
  return r > 0 ? q + 1 : q;
}

/** ⌊x / d⌋ for safe integers x (any sign), d > 0, exact. */
export function floorDiv(x: number, d: number): number {
  let q = Math.floor(x / d);
  const r = x - q * d;
  if (r < 0) q -= 1;
  else if (r >= d) q += 1;
  return q;
}

export function bigCeilDiv(x: bigint, d: bigint): bigint {
  return (x + d - 1n) / d;
}

/** p × (1 − p) in (ten-thousandths)², at most 2.5e7. */
export function pq(price: number): number {
  return price * (PRICE_ONE - price);
}

/** A decimal string or number as a reduced fraction num/den (num ≥ 0). */
export function ratio(value: string | number, scale: number): { num: number; den: number } {
  const num = parseDecimal(String(value), scale);
  const den = 10 ** scale;
  const g = gcd(num, den) || 1;
  return { num: num / g, den: den / g };
}

export function product(a: { num: number; den: number }, b: { num: number; den: number }): { num: number; den: number } {
  const num = a.num * b.num;
  const den = a.den * b.den;
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den)) throw new RangeError('fee rate has too many digits');
  const g = gcd(num, den) || 1;
  return { num: num / g, den: den / g };
}

export function checkArgs(price: number, size: number): void {
  if (!Number.isInteger(price) || price < 0 || price > PRICE_ONE) throw new RangeError(`price out of range: ${price}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size out of range: ${size}`);
}

const ZERO_MODELS = new Map<Venue, FeeModel>();
export function zeroModel(venue: Venue): FeeModel {
  let model = ZERO_MODELS.get(venue);
  if (!model) {
    const table = new Float64Array(PRICE_ONE + 1);
    model = { venue, key: `${venue}:free`, fee: () => 0, feeWalk: () => 0, marginal: (p) => table[p]! };
    ZERO_MODELS.set(venue, model);
  }
  return model;
}

export function marginalTable(at: (price: number) => bigint): Float64Array {
  const table = new Float64Array(PRICE_ONE + 1);
  for (let p = 0; p <= PRICE_ONE; p++) table[p] = Number(at(p));
  return table;
}
