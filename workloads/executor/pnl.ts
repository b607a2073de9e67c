// Position and PnL accounting, pure and in exact integers: money in ten-thousandths of $1, sizes in
// hundredths of a contract. Fees are part of a position's cost when buying and come off the
// proceeds when selling; realized PnL is what a sale (or settlement) returns over the average
// cost it removes. Unrealized PnL never feeds sizing (risk.ts); it feeds the daily-loss limit and
// the arbees_pnl_usd gauge.
import { PRICE_ONE, SIZE_SCALE, notionalCeil } from '../../contracts/decimal.js';
import type { Outcome, Venue } from '../../contracts/messages.js';

export interface PositionState {
  /** Hundredths of a contract held (never negative: we only sell what we hold). */
  size: number;
  /** What the held size cost, fees included. */
  cost: number;
}

export interface FillEffect {
  position: PositionState;
  /** PnL this fill realized (0 for a buy). */
  realized: number;
}

/** Proceeds of selling `size` at `price`, rounded down (what we receive). */
export function proceedsFloor(price: number, size: number): number {
  return Math.floor((price * size) / 10 ** SIZE_SCALE);
}

/**
 * Applies one fill to a position. A buy adds price × size (rounded up) plus the fee to the cost. A
 * sell removes the average cost of what it sells (the whole cost when it sells everything) and
 * realizes proceeds − fee − that cost. Selling more than is held is refused: the executor sells
 * only what a leg filled.
 */
export function applyFill(position: PositionState, side: 'buy' | 'sell', price: number, size: number, fee: number): FillEffect {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`fill size must be a positive integer: ${size}`);
  if (side === 'buy')
    return { position: { size: position.size + size, cost: position.cost + notionalCeil(price, size) + fee }, realized: 0 };
  if (size > position.size) throw new RangeError(`sell of ${size} exceeds the position of ${position.size}`);
  const removed = size === position.size ? position.cost : Math.round((position.cost * size) / position.size);
  const realized = proceedsFloor(price, size) - fee - removed;
  return { position: { size: position.size - size, cost: position.cost - removed }, realized };
}

/** Settles a position at resolution: each contract pays $1 if it won, nothing otherwise. */
export function settle(position: PositionState, won: boolean): FillEffect {
  const payout = won ? proceedsFloor(PRICE_ONE, position.size) : 0;
  return { position: { size: 0, cost: 0 }, realized: payout - position.cost };
}

export interface MarkedPosition {
  marketId: string;
  venue: Venue;
  outcome: Outcome;
  size: number;
  cost: number;
}

/**
 * Unrealized PnL of open positions. YES and NO of one market held together (an arbitrage set, on
 * either venue) pay $1 per pair whatever happens, so paired size is valued at $1: a locked-in arb
 * shows its locked-in profit, not a spread-sized paper loss. The unpaired rest is marked at `mark`
 * (e.g. the book's mid) or, without a book, at its cost (no made-up gain or loss).
 */
export function unrealizedPnl(
  positions: MarkedPosition[],
  mark: (venue: Venue, marketId: string, outcome: Outcome) => number | undefined,
): number {
  const byMarket = new Map<string, MarkedPosition[]>();
  for (const p of positions) {
    if (p.size <= 0) continue;
    const list = byMarket.get(p.marketId) ?? [];
    list.push(p);
    byMarket.set(p.marketId, list);
  }
  let total = 0;
  for (const list of byMarket.values()) {
    const yes = list.filter((p) => p.outcome === 'yes').reduce((s, p) => s + p.size, 0);
    const no = list.filter((p) => p.outcome === 'no').reduce((s, p) => s + p.size, 0);
    const paired = Math.min(yes, no);
    let value = proceedsFloor(PRICE_ONE, paired);
    let cost = 0;
    for (const p of list) {
      cost += p.cost;
      const sideTotal = p.outcome === 'yes' ? yes : no;
      // This position's share of its side's unpaired size.
      const unpaired = sideTotal === 0 ? 0 : Math.floor((p.size * (sideTotal - paired)) / sideTotal);
      if (unpaired === 0) continue;
      const price = mark(p.venue, p.marketId, p.outcome);
      value += price === undefined ? Math.floor((p.cost * unpaired) / p.size) : proceedsFloor(price, unpaired);
    }
    total += value - cost;
  }
  return total;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The trading day (YYYY-MM-DD) of `ts` in `timeZone`: daily loss resets at that zone's midnight. */
export function tradingDay(ts: number, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, format);
  }
  return format.format(ts);
}
