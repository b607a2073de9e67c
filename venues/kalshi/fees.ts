// Kalshi's fees in exact integers (docs/exchange-protocols.md §1.8). Units: prices in ten-thousandths
// of $1, sizes in hundredths of a contract, fees in ten-thousandths of $1.
//
// Taker fee per order = round_up_to_cent(M × 0.07 × C × P × (1 − P)); maker fee on series that
// charge it = round_up_to_cent(M × 0.0175 × C × P × (1 − P)). M is the series fee multiplier.
// An order that walks several levels pays one fee on the sum over its fills (the per-order
// rounding: Kalshi ceils the order's total, refunding the per-fill excess).
import {
  bigCeilDiv,
  ceilDiv,
  checkArgs,
  floorDiv,
  marginalTable,
  MAX_SAFE,
  pq,
  product,
  ratio,
  zeroModel,
  type FeeModel,
  type FeeRole,
  type Levels,
} from '../fee-math.js';

export type KalshiFeeType = 'quadratic' | 'quadratic_with_maker_fees' | 'quadratic_with_combo_maker_fees';

export interface KalshiFeeParams {
  /** `Series.fee_multiplier` as a decimal (up to 4 decimals); default 1. */
  multiplier?: string | number;
  /** Default `quadratic` (makers pay nothing). */
  feeType?: KalshiFeeType;
}

export const KALSHI_TAKER_RATE = '0.07';
export const KALSHI_MAKER_RATE = '0.0175';
/** Makers on `quadratic_with_combo_maker_fees` series pay half the taker rate. */
export const KALSHI_COMBO_MAKER_RATE = '0.035';

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

const modelCache = new Map<string, FeeModel>();

/** The Kalshi fee model for a series (cached by parameters). */
export function kalshiModel(params: KalshiFeeParams = {}, role: FeeRole = 'taker'): FeeModel {
  const feeType = params.feeType ?? 'quadratic';
  const multiplier = ratio(params.multiplier ?? 1, 4);
  if (role === 'maker' && feeType === 'quadratic') return zeroModel('kalshi');
  const makerRate = feeType === 'quadratic_with_combo_maker_fees' ? KALSHI_COMBO_MAKER_RATE : KALSHI_MAKER_RATE;
  const base = ratio(role === 'taker' ? KALSHI_TAKER_RATE : makerRate, 4);
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

/** One fill of an order as the balance sees it, in millionths of $1: revenue (negative for a buy) and the trade fee. */
export interface KalshiFillMoney {
  revenue: number;
  tradeFee: number;
}

const CENT_MICROS = 10_000;

/**
 * What each fill of one order does to the balance, in millionths of $1, fills in the order they
 * happened. Kalshi's Fee Rounding rules (docs.kalshi.com/getting_started/fee_rounding; the version
 * with trade fees to $0.0001 that the demo venue's fills show, docs/venue-conformance.md): the
 * balance moves by revenue − trade fee floored to the cent (non-direct members); what the floor
 * took is a rounding fee, kept per order, and given back a cent at a time once it adds up to one,
 * but never so much that a fill's net fee goes below zero.
 */
export function kalshiBalanceChanges(fills: readonly KalshiFillMoney[]): number[] {
  let owed = 0;
  return fills.map(({ revenue, tradeFee }) => {
    const exact = revenue - tradeFee;
    const aligned = floorDiv(exact, CENT_MICROS) * CENT_MICROS;
    const rounding = exact - aligned;
    owed += rounding;
    const cents = Math.min(Math.floor(owed / CENT_MICROS), Math.floor((tradeFee + rounding) / CENT_MICROS));
    owed -= cents * CENT_MICROS;
    return aligned + cents * CENT_MICROS;
  });
}
