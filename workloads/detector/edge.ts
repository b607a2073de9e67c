// Model edge: buy an outcome on a venue when its executable ask beats a fair
// probability by at least minEdgeBps after the venue's fee. The fair value comes from a pluggable
// source; the model has no team-strength input, so this is off by default and its threshold is high
// (15 %). Fair values are team-aligned per market: fair(NO) = 1 − fair(YES).
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Outcome } from '../../contracts/messages.js';
import { costMicros, worstPrice } from './book.js';
import { floorDiv, type FeeModel, type Levels } from '../../venues/fee-math.js';

export interface FairValueSource {
  /** Fair probability of `outcome` in ten-thousandths (0..10 000), or undefined when unknown. */
  fairValue(marketId: string, outcome: Outcome, now: number): number | undefined;
}

/** Fixed fair YES probabilities per market (tests, replays, a pregame prior). */
export class StaticFairValues implements FairValueSource {
  private readonly yes = new Map<string, number>();

  constructor(entries: Iterable<readonly [string, number]> = []) {
    for (const [marketId, p] of entries) this.set(marketId, p);
  }

  set(marketId: string, yesProbability: number): void {
    if (!Number.isInteger(yesProbability) || yesProbability < 0 || yesProbability > PRICE_ONE)
      throw new RangeError(`fair value out of range: ${yesProbability}`);
    this.yes.set(marketId, yesProbability);
  }

  delete(marketId: string): void {
    this.yes.delete(marketId);
  }

  fairValue(marketId: string, outcome: Outcome): number | undefined {
    const yes = this.yes.get(marketId);
    if (yes === undefined) return undefined;
    return outcome === 'yes' ? yes : PRICE_ONE - yes;
  }
}

export interface EdgeSettings {
  /** Each contract bought must be expected to earn this much after the fee (bps of $1). */
  minEdgeBps: number;
  /** Minimum expected net profit, ten-thousandths of $1 (at least 1 is always required). */
  minProfit: number;
  minSize: number;
  maxSize: number;
  /** Probability guardrails: never buy below minPrice or above maxPrice. */
  minPrice: number;
  maxPrice: number;
}

export interface BuyPlan {
  size: number;
  limitPrice: number;
  /** 1e-6 $. */
  cost: number;
  /** Ten-thousandths of $1. */
  fee: number;
  /** Expected (not guaranteed) net profit at the fair value, rounded down. */
  profit: number;
  edgeBps: number;
}

/** Sizes a buy of `asks` against `fair`; walks while each contract clears the edge. */
export function planBuy(fair: number, asks: Levels, fee: FeeModel, settings: EdgeSettings): BuyPlan | undefined {
  if (asks.length === 0 || asks[0]![0] < settings.minPrice) return undefined;
  const floor = Math.max(1, settings.minEdgeBps * 10_000);
  let total = 0;
  for (let i = 0; i < asks.length && total < settings.maxSize; i++) {
    const [price, size] = asks[i]!;
    if (price > settings.maxPrice || (fair - price) * 10_000 - fee.marginal(price) < floor) break;
    total += Math.min(size, settings.maxSize - total);
  }
  if (total <= 0 || total < settings.minSize) return undefined;
  const limitPrice = worstPrice(asks, total)!;
  const cost = costMicros(asks, total);
  const f = fee.feeWalk(asks, total);
  const profitMicros = fair * total - cost - f * 100;
  const profit = floorDiv(profitMicros, 100);
  const edgeBps = floorDiv(profitMicros, total);
  if (profit < Math.max(1, settings.minProfit) || edgeBps < settings.minEdgeBps) return undefined;
  return { size: total, limitPrice, cost, fee: f, profit, edgeBps };
}
