// Cross-venue arbitrage: buy a complete set — one YES and one NO of the same
// team-aligned contract — for less than the $1 it pays, after both venues' fees, sized by walking
// both ask ladders together level by level.
//
// Sizing. The two ladders are merged: each step takes the smaller remainder of the two current
// levels. A step is taken only if its marginal set clears the threshold after fees:
//   $1 − a − b − fee'_A(a) − fee'_B(b) ≥ max(minEdgeBps, >0)   (per contract, exact integers in 1e-8 $,
// fee' rounded up). Ask prices only rise along a ladder and price + fee'(price) rises with the price
// (fee rates < 1), so the marginal set only gets worse: the first failing step ends the walk and every
// set taken clears the threshold. Then the whole order is priced exactly: cost at each level used, and
// each venue's fee computed once on its total order (Kalshi rounds the order up to the cent, Polymarket
// each fill up to 0.0001). The per-order rounding can still eat a thin set, so profit and edge are
// checked again on the exact figures: a plan never has non-positive net profit.
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Leg } from '../../contracts/messages.js';
import { costMicros, KALSHI_NO, KALSHI_YES, POLY_NO, POLY_YES, SLOT_OUTCOME, SLOT_VENUE, worstPrice, type Slot } from './book.js';
import { floorDiv, type FeeModel, type Levels } from '../../venues/fee-math.js';
import type { MarketFees } from '../../venues/fee-table.js';

export type ArbDirection =
  'kalshi_yes+polymarket_no' | 'kalshi_no+polymarket_yes' | 'kalshi_yes+kalshi_no' | 'polymarket_yes+polymarket_no';

export interface ArbCombo {
  readonly direction: ArbDirection;
  readonly a: Slot;
  readonly b: Slot;
}

/** Every way to buy a complete set from one market's four books. */
export const ARB_COMBOS: readonly ArbCombo[] = [
  { direction: 'kalshi_yes+polymarket_no', a: KALSHI_YES, b: POLY_NO },
  { direction: 'kalshi_no+polymarket_yes', a: KALSHI_NO, b: POLY_YES },
  { direction: 'kalshi_yes+kalshi_no', a: KALSHI_YES, b: KALSHI_NO },
  { direction: 'polymarket_yes+polymarket_no', a: POLY_YES, b: POLY_NO },
];

/** The combos that use each slot (a quote for that book can only change these). */
export const COMBOS_BY_SLOT: readonly (readonly ArbCombo[])[] = [0, 1, 2, 3].map((slot) =>
  ARB_COMBOS.filter((c) => c.a === slot || c.b === slot),
);

export interface ArbSettings {
  /** Every marginal set, and the whole order, must earn at least this per contract after fees (bps of $1). */
  minEdgeBps: number;
  /** Minimum net profit of the order in ten-thousandths of $1 (at least 1 is always required). */
  minProfit: number;
  /** Smallest set worth signalling, hundredths of a contract. */
  minSize: number;
  /** Largest set, hundredths of a contract (Infinity for none). */
  maxSize: number;
}

/** A sized complete set. Costs in 1e-6 $, fees and profit in ten-thousandths of $1. */
export interface SetPlan {
  size: number;
  limitA: number;
  limitB: number;
  costA: number;
  costB: number;
  feeA: number;
  feeB: number;
  /** Net of both fees, rounded down. */
  profit: number;
  /** Net profit per contract in bps of the $1 payout, rounded down. */
  edgeBps: number;
}

const MICROS_PER_CONTRACT_BP = 10_000; // 1 bp of $1 per contract, in 1e-8 $ per contract

/** The marginal profit floor per contract in 1e-8 $: strictly positive, and at least minEdgeBps. */
function marginalFloor(minEdgeBps: number): number {
  return Math.max(1, minEdgeBps * MICROS_PER_CONTRACT_BP);
}

/**
 * Sizes a complete set bought from `asksA` and `asksB` (asks ascending). Returns undefined when no
 * set clears the thresholds. Allocates only for a result.
 */
export function planSet(asksA: Levels, feeA: FeeModel, asksB: Levels, feeB: FeeModel, settings: ArbSettings): SetPlan | undefined {
  if (asksA.length === 0 || asksB.length === 0) return undefined;
  const floor = marginalFloor(settings.minEdgeBps);
  let i = 0;
  let j = 0;
  let levelA = asksA[0]!;
  let levelB = asksB[0]!;
  let leftA = levelA[1];
  let leftB = levelB[1];
  let total = 0;
  const cap = settings.maxSize;
  for (;;) {
    const a = levelA[0];
    const b = levelB[0];
    if ((PRICE_ONE - a - b) * MICROS_PER_CONTRACT_BP - feeA.marginal(a) - feeB.marginal(b) < floor) break;
    let step = leftA < leftB ? leftA : leftB;
    if (total + step > cap) step = cap - total;
    total += step;
    if (total >= cap) break;
    leftA -= step;
    leftB -= step;
    if (leftA === 0) {
      if (++i >= asksA.length) break;
      levelA = asksA[i]!;
      leftA = levelA[1];
    }
    if (leftB === 0) {
      if (++j >= asksB.length) break;
      levelB = asksB[j]!;
      leftB = levelB[1];
    }
  }
  if (total <= 0 || total < settings.minSize) return undefined;
  return priceSet(asksA, feeA, asksB, feeB, total, settings);
}

/** Exact figures of buying `size` sets; undefined if they miss the thresholds. */
export function priceSet(
  asksA: Levels,
  feeA: FeeModel,
  asksB: Levels,
  feeB: FeeModel,
  size: number,
  settings: ArbSettings,
): SetPlan | undefined {
  const limitA = worstPrice(asksA, size);
  const limitB = worstPrice(asksB, size);
  if (limitA === undefined || limitB === undefined) return undefined;
  const costA = costMicros(asksA, size);
  const costB = costMicros(asksB, size);
  const fA = feeA.feeWalk(asksA, size);
  const fB = feeB.feeWalk(asksB, size);
  const profitMicros = size * PRICE_ONE - costA - costB - (fA + fB) * 100;
  const profit = floorDiv(profitMicros, 100);
  const edgeBps = floorDiv(profitMicros, size);
  if (profit < Math.max(1, settings.minProfit) || edgeBps < settings.minEdgeBps) return undefined;
  return { size, limitA, limitB, costA, costB, feeA: fA, feeB: fB, profit, edgeBps };
}

export function setLegs(combo: ArbCombo, plan: SetPlan): [Leg, Leg] {
  return [
    { venue: SLOT_VENUE[combo.a]!, outcome: SLOT_OUTCOME[combo.a]!, side: 'buy', limitPrice: plan.limitA, size: plan.size },
    { venue: SLOT_VENUE[combo.b]!, outcome: SLOT_OUTCOME[combo.b]!, side: 'buy', limitPrice: plan.limitB, size: plan.size },
  ];
}

export interface MarketAsks {
  kalshiYes?: Levels;
  kalshiNo?: Levels;
  polymarketYes?: Levels;
  polymarketNo?: Levels;
}

export interface ArbOpportunity {
  direction: ArbDirection;
  legs: [Leg, Leg];
  plan: SetPlan;
}

/** Every profitable complete set of one market (no gating; see gating.ts). */
export function findArbitrage(asks: MarketAsks, fees: MarketFees, settings: ArbSettings): ArbOpportunity[] {
  const slots: (Levels | undefined)[] = [asks.kalshiYes, asks.kalshiNo, asks.polymarketYes, asks.polymarketNo];
  const out: ArbOpportunity[] = [];
  for (const combo of ARB_COMBOS) {
    const a = slots[combo.a];
    const b = slots[combo.b];
    if (!a || !b) continue;
    const plan = planSet(a, slotFee(fees, combo.a), b, slotFee(fees, combo.b), settings);
    if (plan) out.push({ direction: combo.direction, legs: setLegs(combo, plan), plan });
  }
  return out;
}

export function slotFee(fees: MarketFees, slot: Slot): FeeModel {
  return SLOT_VENUE[slot] === 'kalshi' ? fees.kalshi : fees.polymarket;
}
