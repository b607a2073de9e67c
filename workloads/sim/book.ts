// The matching core both simulators share: one binary market as a ladder of YES bids and YES asks
// in exact integer units (price in ten-thousandths of $1, size in hundredths of a contract).
// Each level holds the scenario's liquidity ("mm", replaced wholesale by the price path) plus the
// resting orders of simulator users, matched orders first (they are older than the last refresh).
// Kalshi shows the asks as NO bids at 1 − p; Polymarket shows them as the YES token's asks and
// mirrors both sides into the NO token. Every mutation returns the level changes it made, so the
// servers can publish deltas that reproduce this book exactly.

export type BookSide = 'bid' | 'ask';
export type StpMode = 'taker_at_cross' | 'maker';

export interface RestingOrder {
  id: string;
  owner: string;
  side: BookSide;
  price: number;
  remaining: number;
  clientOrderId?: string;
}

export interface LevelChange {
  side: BookSide;
  price: number;
  /** New total size at the level (0 = level gone). */
  size: number;
  /** Signed change. */
  delta: number;
  /** The resting order whose placement, fill or cancel made this change, if any. */
  order?: RestingOrder;
}

export interface Fill {
  price: number;
  size: number;
  /** The user order that was hit, or undefined when the scenario's liquidity was hit. */
  maker?: RestingOrder;
}

interface Level {
  mm: number;
  orders: RestingOrder[];
}

export const PRICE_ONE = 10_000;

export class LadderBook {
  private readonly sides: Record<BookSide, Map<number, Level>> = { bid: new Map(), ask: new Map() };

  size(side: BookSide, price: number): number {
    const level = this.sides[side].get(price);
    return level ? total(level) : 0;
  }

  /** Levels with size > 0, ascending by price. */
  levels(side: BookSide): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [price, level] of this.sides[side]) {
      const size = total(level);
      if (size > 0) out.push([price, size]);
    }
    return out.sort((x, y) => x[0] - y[0]);
  }

  /** The highest bid or the lowest ask with size > 0 (one pass: feeds ask this on every change). */
  best(side: BookSide): [number, number] | undefined {
    let best: [number, number] | undefined;
    for (const [price, level] of this.sides[side]) {
      if (best && (side === 'bid' ? price <= best[0] : price >= best[0])) continue;
      const size = total(level);
      if (size > 0) best = [price, size];
    }
    return best;
  }

  /** Best bid and ask as one comparable key (has the top of the book moved?). */
  topKey(): string {
    const bid = this.best('bid');
    const ask = this.best('ask');
    return `${bid?.join('x') ?? '-'} ${ask?.join('x') ?? '-'}`;
  }

  /** Sets the scenario liquidity at a level; returns the change, if any. */
  setMm(side: BookSide, price: number, size: number): LevelChange | undefined {
    const map = this.sides[side];
    const level = map.get(price) ?? { mm: 0, orders: [] };
    const before = total(level);
    level.mm = size;
    const after = total(level);
    if (after === 0) map.delete(price);
    else map.set(price, level);
    return after === before ? undefined : { side, price, size: after, delta: after - before };
  }

  /** Sets the scenario liquidity at several levels; returns the changes made, in that order. */
  setLevels(levels: ReadonlyArray<{ side: BookSide; price: number; size: number }>): LevelChange[] {
    const changes: LevelChange[] = [];
    for (const level of levels) {
      const change = this.setMm(level.side, level.price, level.size);
      if (change) changes.push(change);
    }
    return changes;
  }

  /**
   * Empties the book when trading stops: cancels `resting` (every user order in the book, in the
   * order given), then takes away the scenario's liquidity, bids first, each side ascending.
   */
  close(resting: readonly RestingOrder[]): LevelChange[] {
    const changes: LevelChange[] = [];
    for (const order of resting) {
      const change = this.cancel(order);
      if (change) changes.push(change);
    }
    for (const side of ['bid', 'ask'] as const)
      changes.push(...this.setLevels(this.levels(side).map(([price]) => ({ side, price, size: 0 }))));
    return changes;
  }

  /** Size a taker could fill up to `limit` (ignoring self-trade prevention). */
  available(takerSide: 'buy' | 'sell', limit: number): number {
    const side: BookSide = takerSide === 'buy' ? 'ask' : 'bid';
    let sum = 0;
    for (const [price, size] of this.levels(side)) if (takerSide === 'buy' ? price <= limit : price >= limit) sum += size;
    return sum;
  }

  crosses(side: BookSide, price: number): boolean {
    const opposite = this.best(side === 'bid' ? 'ask' : 'bid');
    if (!opposite) return false;
    return side === 'bid' ? opposite[0] <= price : opposite[0] >= price;
  }

  /**
   * Matches a taker against the opposite side, best price first, up to `limit`. Self-trade
   * prevention: `taker_at_cross` stops and leaves the rest of the taker unfilled; `maker` cancels
   * the resting order and keeps matching.
   */
  match(
    takerSide: 'buy' | 'sell',
    limit: number,
    size: number,
    owner: string,
    stp: StpMode = 'taker_at_cross',
  ): { fills: Fill[]; changes: LevelChange[]; remaining: number; stpStopped: boolean; stpCanceled: RestingOrder[] } {
    const side: BookSide = takerSide === 'buy' ? 'ask' : 'bid';
    const map = this.sides[side];
    const prices = [...map.keys()].sort((x, y) => (takerSide === 'buy' ? x - y : y - x));
    const fills: Fill[] = [];
    const changes: LevelChange[] = [];
    const stpCanceled: RestingOrder[] = [];
    let remaining = size;
    let stpStopped = false;
    for (const price of prices) {
      if (remaining <= 0 || stpStopped) break;
      if (takerSide === 'buy' ? price > limit : price < limit) break;
      const level = map.get(price)!;
      const before = total(level);
      let lastOrder: RestingOrder | undefined;
      while (remaining > 0 && level.orders.length > 0) {
        const maker = level.orders[0]!;
        if (maker.owner === owner) {
          if (stp === 'taker_at_cross') {
            stpStopped = true;
            break;
          }
          level.orders.shift();
          stpCanceled.push(maker);
          lastOrder = maker;
          continue;
        }
        const qty = Math.min(remaining, maker.remaining);
        maker.remaining -= qty;
        remaining -= qty;
        fills.push({ price, size: qty, maker });
        lastOrder = maker;
        if (maker.remaining === 0) level.orders.shift();
      }
      if (!stpStopped && remaining > 0 && level.mm > 0) {
        const qty = Math.min(remaining, level.mm);
        level.mm -= qty;
        remaining -= qty;
        fills.push({ price, size: qty });
      }
      const after = total(level);
      if (after === 0) map.delete(price);
      if (after !== before) changes.push({ side, price, size: after, delta: after - before, ...(lastOrder ? { order: lastOrder } : {}) });
    }
    return { fills, changes, remaining, stpStopped, stpCanceled };
  }

  rest(order: RestingOrder): LevelChange {
    const map = this.sides[order.side];
    const level = map.get(order.price) ?? { mm: 0, orders: [] };
    const before = total(level);
    level.orders.push(order);
    map.set(order.price, level);
    return { side: order.side, price: order.price, size: before + order.remaining, delta: order.remaining, order };
  }

  cancel(order: RestingOrder): LevelChange | undefined {
    const map = this.sides[order.side];
    const level = map.get(order.price);
    if (!level) return undefined;
    const index = level.orders.indexOf(order);
    if (index < 0) return undefined;
    const before = total(level);
    level.orders.splice(index, 1);
    const after = total(level);
    if (after === 0) map.delete(order.price);
    return { side: order.side, price: order.price, size: after, delta: after - before, order };
  }
}

function total(level: Level): number {
  let sum = level.mm;
  for (const order of level.orders) sum += order.remaining;
  return sum;
}
