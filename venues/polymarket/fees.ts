// Polymarket's (CLOB V2) taker fee in exact integers (docs/exchange-protocols.md §2.9): fee =
// C × r × (p × (1 − p))^e with the market's `fd {r, e}`; sports currently r = 0.03, e = 1; makers
// pay nothing. The docs disagree on the rounding (0.0001 vs 0.00001), so each fill (each level)
// is rounded UP to 0.0001, which is never less than either.
import { bigCeilDiv, ceilDiv, checkArgs, marginalTable, MAX_SAFE, pq, ratio, zeroModel, type FeeModel, type Levels } from '../fee-math.js';

export interface PolymarketFeeParams {
  /** `feesEnabled` on the market; false means fee-free. Default true. */
  feesEnabled?: boolean;
  /** `fd.r` as a decimal (up to 6 decimals); default the sports rate 0.03. */
  rate?: string | number;
  /** `fd.e`, a positive integer; default 1. */
  exponent?: number;
}

export const POLYMARKET_SPORTS_RATE = '0.03';

const modelCache = new Map<string, FeeModel>();

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
    this.table = marginalTable((p) =>
      bigCeilDiv(BigInt(rate.num) * BigInt(pq(p)) ** BigInt(exponent), BigInt(rate.den) * 10n ** BigInt(8 * (exponent - 1))),
    );
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
  if (!Number.isInteger(exponent) || exponent < 1 || exponent > 4)
    throw new RangeError(`Polymarket fee exponent must be 1..4: ${exponent}`);
  if (rate.num === 0) return zeroModel('polymarket');
  const key = `polymarket:${rate.num}/${rate.den}^${exponent}`;
  let model = modelCache.get(key);
  if (!model) {
    model = new PolymarketFeeModel(rate, exponent, key);
    modelCache.set(key, model);
  }
  return model;
}

/**
 * A market's taker fee parameters from `GET /clob-markets/{condition_id}` (compact form): `fd {r, e}`
 * as the official clients read it; no `fd` with a zero `tbf` is a fee-free market; anything else
 * (no `fd` on a market that charges, a rate or exponent that is not a number) is unknown.
 */
export function feesFromClobMarket(body: unknown): PolymarketFeeParams | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { fd, tbf } = body as { fd?: { r?: unknown; e?: unknown }; tbf?: unknown };
  if (fd === undefined || fd === null) return tbf === 0 ? { feesEnabled: false } : undefined;
  const { r, e } = fd;
  if (typeof r !== 'number' || !(r >= 0 && r < 1) || !/^\d+(\.\d{1,6})?$/.test(String(r))) return undefined;
  const exponent = e === undefined ? 1 : e;
  if (typeof exponent !== 'number' || !Number.isInteger(exponent) || exponent < 1 || exponent > 4) return undefined;
  return r === 0 ? { feesEnabled: false } : { rate: String(r), exponent };
}
