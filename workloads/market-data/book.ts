// Local order books kept from a venue's snapshot + incremental updates, in exact integer units
// (price in ten-thousandths of $1, size in hundredths of a contract), never floats. Pure: no
// sockets, no clocks; the monitors feed them parsed messages.
//
// - KalshiBook: Kalshi shows two bid ladders, YES bids and NO bids (each on its own leg's price
//   scale). A YES ask at p is a NO bid at 1 − p, so best YES ask = 1 − best NO bid, and the NO
//   outcome's book is the mirror image.
// - TokenBook: one Polymarket outcome token: bids and asks of that token.
// - SeqTracker: Kalshi's `seq` is contiguous per subscription (sid); anything else is a gap.
// Changes report what would make a book unusable (a level above MAX_SIZE, a side deeper than
// MAX_BOOK_LEVELS); the feeds decide what follows.
import { MAX_SIZE, PRICE_ONE } from '../../contracts/decimal.js';
import { MAX_BOOK_LEVELS } from './bounds.js';

/** [price, size]. */
export type Level = [number, number];

/** Price → size for one side of a book. Levels with size 0 do not exist. */
export class PriceLevels {
  private readonly levels = new Map<number, number>();

  get count(): number {
    return this.levels.size;
  }

  clear(): void {
    this.levels.clear();
  }

  get(price: number): number {
    return this.levels.get(price) ?? 0;
  }

  /** Sets the total size at a price; 0 (or less) removes the level. */
  set(price: number, size: number): void {
    if (size > 0) this.levels.set(price, size);
    else this.levels.delete(price);
  }

  /** Adds a signed change; returns the new size (negative means the update did not fit this book; the level is removed). */
  add(price: number, delta: number): number {
    const next = this.get(price) + delta;
    this.set(price, next);
    return next;
  }

  /** The highest (bids) or lowest (asks) priced level. */
  best(highest: boolean): Level | undefined {
    let bestPrice: number | undefined;
    for (const price of this.levels.keys()) {
      if (bestPrice === undefined || (highest ? price > bestPrice : price < bestPrice)) bestPrice = price;
    }
    return bestPrice === undefined ? undefined : [bestPrice, this.levels.get(bestPrice)!];
  }

  /** Up to `depth` levels, best first: descending when `highest`, else ascending. */
  top(depth: number, highest: boolean): Level[] {
    const out: Level[] = [];
    for (const [price, size] of this.levels) out.push([price, size]);
    out.sort(highest ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
    if (out.length > depth) out.length = depth;
    return out;
  }

  replace(levels: Iterable<Level>): void {
    this.levels.clear();
    for (const [price, size] of levels) if (size > 0) this.levels.set(price, (this.levels.get(price) ?? 0) + size);
  }

  /** What makes this side unusable, if anything: O(levels), for whole snapshots. */
  fault(): SizeFault | undefined {
    if (this.levels.size > MAX_BOOK_LEVELS) return 'too_deep';
    for (const size of this.levels.values()) if (size > MAX_SIZE) return 'too_large';
    return undefined;
  }

  /** The fault a change just made at `price`, if any: O(1), for deltas. */
  faultAt(price: number): SizeFault | undefined {
    if (this.get(price) > MAX_SIZE) return 'too_large';
    return this.levels.size > MAX_BOOK_LEVELS ? 'too_deep' : undefined;
  }
}

export type SizeFault = 'too_large' | 'too_deep';

export interface BookView {
  /** Best first (descending). */
  bids: Level[];
  /** Best first (ascending). */
  asks: Level[];
}

export type KalshiSide = 'yes' | 'no';
export type DeltaResult = 'ok' | 'negative' | SizeFault;

/** One Kalshi market: YES bids and NO bids, each on its own leg's price scale. */
export class KalshiBook {
  readonly yes = new PriceLevels();
  readonly no = new PriceLevels();

  /** Replaces both ladders. `no` levels are NO bids on the NO-leg scale. */
  applySnapshot(yes: Iterable<Level>, no: Iterable<Level>): SizeFault | undefined {
    this.yes.replace(yes);
    this.no.replace(no);
    return this.yes.fault() ?? this.no.fault();
  }

  /** Applies a signed size change at a price of one side (`price` on that side's own scale). */
  applyDelta(side: KalshiSide, price: number, delta: number): DeltaResult {
    if (this[side].add(price, delta) < 0) return 'negative';
    return this[side].faultAt(price) ?? 'ok';
  }

  clear(): void {
    this.yes.clear();
    this.no.clear();
  }

  /** Best YES bid + best NO bid above $1: someone would sell YES below what another pays; the book is wrong. */
  crossed(): boolean {
    return this.topSum() > PRICE_ONE;
  }

  /** Best YES bid + best NO bid (0 while either side is empty); exactly $1 is a locked book, which Kalshi would have matched. */
  topSum(): number {
    const yes = this.yes.best(true);
    const no = this.no.best(true);
    return yes !== undefined && no !== undefined ? yes[0] + no[0] : 0;
  }

  /** The book of one outcome: its bids are its own ladder, its asks the other ladder at 1 − p. */
  view(outcome: KalshiSide, depth: number): BookView {
    const own = outcome === 'yes' ? this.yes : this.no;
    const other = outcome === 'yes' ? this.no : this.yes;
    return { bids: own.top(depth, true), asks: other.top(depth, true).map(([p, s]) => [PRICE_ONE - p, s]) };
  }
}

/** One Polymarket outcome token's book. */
export class TokenBook {
  readonly bids = new PriceLevels();
  readonly asks = new PriceLevels();

  replace(bids: Iterable<Level>, asks: Iterable<Level>): SizeFault | undefined {
    this.bids.replace(bids);
    this.asks.replace(asks);
    return this.bids.fault() ?? this.asks.fault();
  }

  /** `size` is the new total at the price (Polymarket `price_change`); 0 removes the level. */
  set(side: 'bid' | 'ask', price: number, size: number): SizeFault | undefined {
    const levels = side === 'bid' ? this.bids : this.asks;
    levels.set(price, size);
    return levels.faultAt(price);
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** Best bid at or above best ask: impossible on a live CLOB, so the book is wrong. */
  crossed(): boolean {
    const bid = this.bids.best(true);
    const ask = this.asks.best(false);
    return bid !== undefined && ask !== undefined && bid[0] >= ask[0];
  }

  view(depth: number): BookView {
    return { bids: this.bids.top(depth, true), asks: this.asks.top(depth, false) };
  }
}

export type SeqCheck = 'ok' | 'gap' | 'unknown_sid';

/**
 * Kalshi's seq: per subscription, +1 per message (snapshots included). The first message of a sid
 * may start anywhere ≥ 1; after that any other value is a gap. Messages of sids we no longer hold
 * (an old subscription after a resubscribe) are `unknown_sid` and must be ignored.
 */
export class SeqTracker {
  private readonly last = new Map<number, number>();

  /** Starts tracking a sid (on `subscribed`). */
  open(sid: number): void {
    this.last.set(sid, 0);
  }

  close(sid: number): void {
    this.last.delete(sid);
  }

  has(sid: number): boolean {
    return this.last.has(sid);
  }

  clear(): void {
    this.last.clear();
  }

  /** Checks and records `seq`; after a gap, tracking continues from `seq`. */
  check(sid: number, seq: number): SeqCheck {
    const last = this.last.get(sid);
    if (last === undefined) return 'unknown_sid';
    this.last.set(sid, seq);
    return last === 0 || seq === last + 1 ? 'ok' : 'gap';
  }
}
