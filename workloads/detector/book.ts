// The latest book per venue, market and outcome, and walking asks level by level. A book is the
// latest Quote itself (immutable once received): storing it costs nothing and keeps the exact
// levels, seq and timestamps the signal id and gating need.
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';
import type { Levels } from '../../venues/fee-math.js';

/** Slots of one market's four books. */
export const KALSHI_YES = 0;
export const KALSHI_NO = 1;
export const POLY_YES = 2;
export const POLY_NO = 3;
export type Slot = 0 | 1 | 2 | 3;

export function slotOf(venue: Venue, outcome: Outcome): Slot {
  return venue === 'kalshi' ? (outcome === 'yes' ? KALSHI_YES : KALSHI_NO) : outcome === 'yes' ? POLY_YES : POLY_NO;
}

export const SLOT_VENUE: readonly Venue[] = ['kalshi', 'kalshi', 'polymarket', 'polymarket'];
export const SLOT_OUTCOME: readonly Outcome[] = ['yes', 'no', 'yes', 'no'];

export class MarketBooks {
  readonly books: [Quote | undefined, Quote | undefined, Quote | undefined, Quote | undefined] = [
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  constructor(readonly marketId: string) {}

  get(venue: Venue, outcome: Outcome): Quote | undefined {
    return this.books[slotOf(venue, outcome)];
  }
}

export type UpdateResult = 'accepted' | 'out_of_order';

export class BookStore {
  private readonly markets = new Map<string, MarketBooks>();

  /**
   * Keeps `quote` as the latest book of its venue/market/outcome. A quote older than the stored one
   * (lower seq and not newer by exchange time, i.e. a replayed or reordered message) is refused;
   * a lower seq with a newer exchange time is a new connection whose seq restarted, and is kept.
   */
  update(quote: Quote): UpdateResult {
    let market = this.markets.get(quote.marketId);
    if (!market) {
      market = new MarketBooks(quote.marketId);
      this.markets.set(quote.marketId, market);
    }
    const slot = slotOf(quote.venue, quote.outcome);
    const previous = market.books[slot];
    if (previous && quote.seq <= previous.seq && quote.exchangeTs <= previous.exchangeTs) return 'out_of_order';
    market.books[slot] = quote;
    return 'accepted';
  }

  market(marketId: string): MarketBooks | undefined {
    return this.markets.get(marketId);
  }

  get(venue: Venue, marketId: string, outcome: Outcome): Quote | undefined {
    return this.markets.get(marketId)?.get(venue, outcome);
  }

  remove(marketId: string): void {
    this.markets.delete(marketId);
  }

  get size(): number {
    return this.markets.size;
  }
}

/** Total displayed size of `levels`. */
export function depth(levels: Levels): number {
  let total = 0;
  for (let i = 0; i < levels.length; i++) total += levels[i]![1];
  return total;
}

/** The worst (last) ask price touched when buying `size` best first; undefined if the asks are too thin. */
export function worstPrice(asks: Levels, size: number): number | undefined {
  let left = size;
  for (let i = 0; i < asks.length; i++) {
    const level = asks[i]!;
    left -= level[1];
    if (left <= 0) return level[0];
  }
  return undefined;
}

/** Cost in 1e-6 $ (price ten-thousandths × size hundredths) of buying `size` best first; exact. */
export function costMicros(asks: Levels, size: number): number {
  let cost = 0;
  let left = size;
  for (let i = 0; i < asks.length && left > 0; i++) {
    const level = asks[i]!;
    const take = left < level[1] ? left : level[1];
    cost += take * level[0];
    left -= take;
  }
  return cost;
}

export interface Walk {
  /** What the asks can fill, ≤ the size asked for. */
  filled: number;
  /** Exact cost in 1e-6 $. */
  costMicros: number;
  /** The worst level price used (the limit price that fills it); undefined when nothing filled. */
  worstPrice: number | undefined;
  /** Fills per level, best first. */
  fills: Array<[price: number, size: number]>;
}

/** Walks `asks` level by level buying up to `size`. Allocates; for tests and cold paths. */
export function walkAsks(asks: Levels, size: number): Walk {
  const fills: Array<[number, number]> = [];
  let left = size;
  let cost = 0;
  for (let i = 0; i < asks.length && left > 0; i++) {
    const [price, available] = asks[i]!;
    const take = Math.min(left, available);
    fills.push([price, take]);
    cost += take * price;
    left -= take;
  }
  return { filled: size - left, costMicros: cost, worstPrice: fills.length ? fills[fills.length - 1]![0] : undefined, fills };
}
