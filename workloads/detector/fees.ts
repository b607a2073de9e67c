// Venue fees in exact integers (exchange-protocols §1.8 Kalshi, §2.9 Polymarket; domain §3.5).
// Units: prices in ten-thousandths of $1, sizes in hundredths of a contract, fees returned in
// ten-thousandths of $1. No binary float ever holds money: rates are reduced fractions of integers
// and every division rounds in an explicit direction (fees up: what we pay).
//
// Kalshi taker fee per order = round_up_to_cent(M × 0.07 × C × P × (1 − P)); maker fee on series
// that charge it = round_up_to_cent(M × 0.0175 × C × P × (1 − P)). M is the series fee multiplier.
// An order that walks several levels pays one fee on the sum over its fills (the per-order
// rounding accumulator refunds the per-fill excess, §1.8 "ceil the order total is the intent").
//
// Polymarket (CLOB V2) taker fee = C × r × (p × (1 − p))^e with the market's `fd {r, e}`; sports
// currently r = 0.03, e = 1; makers pay nothing. The docs disagree on the rounding (0.0001 vs
// 0.00001), so each fill (each level) is rounded UP to 0.0001, which is never less than either.
import { PRICE_ONE, parseDecimal } from '../../contracts/decimal.js';
import type { Venue } from '../../contracts/messages.js';

/** [price, size] levels, best first (asks ascending). */
export type Level = readonly [price: number, size: number];
export type Levels = readonly Level[];

export type FeeRole = 'taker' | 'maker';
/** `Series.fee_type`; `flat` (the pre-2025-07-01 maker fee) is not modelled. */
export type KalshiFeeType = 'quadratic' | 'quadratic_with_maker_fees';

export interface KalshiFeeParams {
  /** `Series.fee_multiplier` as a decimal (up to 4 decimals); default 1. */
  multiplier?: string | number;
  /** Default `quadratic` (makers pay nothing). */
  feeType?: KalshiFeeType;
}

export interface PolymarketFeeParams {
  /** `feesEnabled` on the market; false means fee-free. Default true. */
  feesEnabled?: boolean;
  /** `fd.r` as a decimal (up to 6 decimals); default the sports rate 0.03. */
  rate?: string | number;
  /** `fd.e`, a positive integer; default 1. */
  exponent?: number;
}

export const KALSHI_TAKER_RATE = '0.07';
export const KALSHI_MAKER_RATE = '0.0175';
export const POLYMARKET_SPORTS_RATE = '0.03';

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

// ---------------------------------------------------------------------------------------------
// Exact integer helpers

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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

function bigCeilDiv(x: bigint, d: bigint): bigint {
  return (x + d - 1n) / d;
}

/** p × (1 − p) in (ten-thousandths)², at most 2.5e7. */
function pq(price: number): number {
  return price * (PRICE_ONE - price);
}

/** A decimal string or number as a reduced fraction num/den (num ≥ 0). */
function ratio(value: string | number, scale: number): { num: number; den: number } {
  const num = parseDecimal(String(value), scale);
  const den = 10 ** scale;
  const g = gcd(num, den) || 1;
  return { num: num / g, den: den / g };
}

function product(a: { num: number; den: number }, b: { num: number; den: number }): { num: number; den: number } {
  const num = a.num * b.num;
  const den = a.den * b.den;
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den)) throw new RangeError('fee rate has too many digits');
  const g = gcd(num, den) || 1;
  return { num: num / g, den: den / g };
}

function checkArgs(price: number, size: number): void {
  if (!Number.isInteger(price) || price < 0 || price > PRICE_ONE) throw new RangeError(`price out of range: ${price}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size out of range: ${size}`);
}

// ---------------------------------------------------------------------------------------------
// Kalshi

/**
 * Kalshi fee of one order of `size` (hundredths) at `price` (ten-thousandths), rounded up to the cent,
 * in ten-thousandths of $1. Makers pay only on `quadratic_with_maker_fees` series.
 */
export function kalshiFee(price: number, size: number, role: FeeRole = 'taker', params: KalshiFeeParams = {}): number {
  checkArgs(price, size);
  return kalshiModel(params, role).fee(price, size);
}

class KalshiFeeModel implements FeeModel {
  readonly venue = 'kalshi' as const;
  readonly key: string;
  /** rate × multiplier = num / den. Fee in cents = ⌈num × Σ size·p(1−p) / (den × 1e8)⌉. */
  private readonly num: number;
  private readonly divisor: number;
  private readonly table: Float64Array;

  constructor(rate: { num: number; den: number }, key: string) {
    this.key = key;
    this.num = rate.num;
    // size/100 contracts × p/1e4 × (1e4−p)/1e4 dollars × 100 cents/dollar → divide by 1e8.
    this.divisor = rate.den * 1e8;
    if (!Number.isSafeInteger(this.divisor)) throw new RangeError('Kalshi fee rate has too many digits');
    // Per contract in 1e-8 $: rate × p(1−p) with p in ten-thousandths → num × pq / den.
    this.table = marginalTable((p) => bigCeilDiv(BigInt(rate.num) * BigInt(pq(p)), BigInt(rate.den)));
  }

  fee(price: number, size: number): number {
    return this.centsOf(size * pq(price), () => BigInt(size) * BigInt(pq(price)));
  }

  feeWalk(asks: Levels, size: number): number {
    let sum = 0;
    let left = size;
    for (let i = 0; i < asks.length && left > 0; i++) {
      const level = asks[i]!;
      const take = left < level[1] ? left : level[1];
      sum += take * pq(level[0]);
      left -= take;
    }
    return this.centsOf(sum, () => {
      let big = 0n;
      let rest = size;
      for (let i = 0; i < asks.length && rest > 0; i++) {
        const level = asks[i]!;
        const take = rest < level[1] ? rest : level[1];
        big += BigInt(take) * BigInt(pq(level[0]));
        rest -= take;
      }
      return big;
    });
  }

  marginal(price: number): number {
    return this.table[price]!;
  }

  /** Fee in ten-thousandths for Σ size·p(1−p) = `sum`, exactly (BigInt when the product is unsafe). */
  private centsOf(sum: number, exact: () => bigint): number {
    if (sum === 0 || this.num === 0) return 0;
    if (sum <= MAX_SAFE && sum <= MAX_SAFE / this.num) return ceilDiv(this.num * sum, this.divisor) * 100;
    return Number(bigCeilDiv(BigInt(this.num) * exact(), BigInt(this.divisor))) * 100;
  }
}

const ZERO_MODELS = new Map<Venue, FeeModel>();
function zeroModel(venue: Venue): FeeModel {
  let model = ZERO_MODELS.get(venue);
  if (!model) {
    const table = new Float64Array(PRICE_ONE + 1);
    model = { venue, key: `${venue}:free`, fee: () => 0, feeWalk: () => 0, marginal: (p) => table[p]! };
    ZERO_MODELS.set(venue, model);
  }
  return model;
}

const modelCache = new Map<string, FeeModel>();

/** The Kalshi fee model for a series (cached by parameters). */
export function kalshiModel(params: KalshiFeeParams = {}, role: FeeRole = 'taker'): FeeModel {
  const feeType = params.feeType ?? 'quadratic';
  const multiplier = ratio(params.multiplier ?? 1, 4);
  if (role === 'maker' && feeType === 'quadratic') return zeroModel('kalshi');
  const base = ratio(role === 'taker' ? KALSHI_TAKER_RATE : KALSHI_MAKER_RATE, 4);
  const rate = product(base, multiplier);
  if (rate.num === 0) return zeroModel('kalshi');
  const key = `kalshi:${rate.num}/${rate.den}`;
  let model = modelCache.get(key);
  if (!model) {
    model = new KalshiFeeModel(rate, key);
    modelCache.set(key, model);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Polymarket

/** Polymarket taker fee of one fill of `size` shares (hundredths) at `price`, rounded up to 0.0001 $. */
export function polymarketFee(price: number, size: number, params: PolymarketFeeParams = {}): number {
  checkArgs(price, size);
  return polymarketModel(params).fee(price, size);
}

class PolymarketFeeModel implements FeeModel {
  readonly venue = 'polymarket' as const;
  readonly key: string;
  private readonly num: number;
  private readonly exponent: number;
  /** Fee in ten-thousandths = ⌈size × num × pq^e / divisor⌉, divisor = den × 10^(8e − 2). */
  private readonly divisor: bigint;
  private readonly divisorNumber: number;
  private readonly table: Float64Array;

  constructor(rate: { num: number; den: number }, exponent: number, key: string) {
    this.key = key;
    this.num = rate.num;
    this.exponent = exponent;
    // size/100 shares × r × (pq/1e8)^e dollars × 1e4 → divide by 100 × 1e8^e / 1e4 = 10^(8e − 2).
    this.divisor = BigInt(rate.den) * 10n ** BigInt(8 * exponent - 2);
    this.divisorNumber = Number(this.divisor);
    // Per share in 1e-8 $: r × pq^e / 1e8^(e−1).
    this.table = marginalTable((p) => bigCeilDiv(BigInt(rate.num) * BigInt(pq(p)) ** BigInt(exponent), BigInt(rate.den) * 10n ** BigInt(8 * (exponent - 1))));
  }

  fee(price: number, size: number): number {
    if (size === 0) return 0;
    if (this.exponent === 1) {
      const x = size * pq(price);
      if (x <= MAX_SAFE / this.num && this.divisorNumber <= MAX_SAFE) return ceilDiv(x * this.num, this.divisorNumber);
    }
    return Number(bigCeilDiv(BigInt(size) * BigInt(this.num) * BigInt(pq(price)) ** BigInt(this.exponent), this.divisor));
  }

  feeWalk(asks: Levels, size: number): number {
    let total = 0;
    let left = size;
    for (let i = 0; i < asks.length && left > 0; i++) {
      const level = asks[i]!;
      const take = left < level[1] ? left : level[1];
      total += this.fee(level[0], take);
      left -= take;
    }
    return total;
  }

  marginal(price: number): number {
    return this.table[price]!;
  }
}

/** The Polymarket taker fee model for a market's `fd` parameters (cached). */
export function polymarketModel(params: PolymarketFeeParams = {}): FeeModel {
  if (params.feesEnabled === false) return zeroModel('polymarket');
  const rate = ratio(params.rate ?? POLYMARKET_SPORTS_RATE, 6);
  const exponent = params.exponent ?? 1;
  if (!Number.isInteger(exponent) || exponent < 1 || exponent > 4) throw new RangeError(`Polymarket fee exponent must be 1..4: ${exponent}`);
  if (rate.num === 0) return zeroModel('polymarket');
  const key = `polymarket:${rate.num}/${rate.den}^${exponent}`;
  let model = modelCache.get(key);
  if (!model) {
    model = new PolymarketFeeModel(rate, exponent, key);
    modelCache.set(key, model);
  }
  return model;
}

function marginalTable(at: (price: number) => bigint): Float64Array {
  const table = new Float64Array(PRICE_ONE + 1);
  for (let p = 0; p <= PRICE_ONE; p++) table[p] = Number(at(p));
  return table;
}

// ---------------------------------------------------------------------------------------------
// Per-market fees

export interface MarketFeeParams {
  kalshi?: KalshiFeeParams;
  polymarket?: PolymarketFeeParams;
}

export interface MarketFees {
  kalshi: FeeModel;
  polymarket: FeeModel;
}

/**
 * Taker fee models per market: a default (Kalshi multiplier 1, Polymarket sports rate) and
 * per-market overrides from `Series.fee_multiplier` and the market's `fd`.
 */
export class FeeTable {
  private readonly defaults: MarketFees;
  private readonly overrides = new Map<string, MarketFees>();

  constructor(defaults: MarketFeeParams = {}) {
    this.defaults = { kalshi: kalshiModel(defaults.kalshi), polymarket: polymarketModel(defaults.polymarket) };
  }

  set(marketId: string, params: MarketFeeParams): void {
    const current = this.forMarket(marketId);
    this.overrides.set(marketId, {
      kalshi: params.kalshi ? kalshiModel(params.kalshi) : current.kalshi,
      polymarket: params.polymarket ? polymarketModel(params.polymarket) : current.polymarket,
    });
  }

  delete(marketId: string): void {
    this.overrides.delete(marketId);
  }

  forMarket(marketId: string): MarketFees {
    return this.overrides.get(marketId) ?? this.defaults;
  }
}

export function venueModel(fees: MarketFees, venue: Venue): FeeModel {
  return venue === 'kalshi' ? fees.kalshi : fees.polymarket;
}
