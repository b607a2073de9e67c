// What a monitor accepts from a venue, as numbers it can check cheaply. Pure.
//
// - Prices: a venue trades between one tick and $1 minus one tick (each venue's finest tick, see
//   venues/*/wire.ts). A level outside, or a crossed or locked book (bid ≥ ask), is a venue or
//   transport fault: the book is unusable until a snapshot repairs it.
// - Sizes: at most MAX_SIZE per level (10^9 contracts; refused at parse time, venues/wire.ts).
// - Depth: at most MAX_BOOK_LEVELS levels per side are kept. Kalshi's finest tick ($0.001) has 999
//   prices; a real Polymarket sports book holds a few hundred. Deeper is a fault, not a book.
// - Frames: JSON is checked by shape before it is parsed (frameProblem): V8 builds every nested
//   array of a frame, so a 50 MB frame of `[[[[…` costs gigabytes once parsed, and nothing else
//   would stop it; neither would a flood of small values. Limits in FRAME_LIMITS.
// - Times: an exchange timestamp more than MAX_CLOCK_SKEW_MS from our clock is replaced by the
//   receive time (and counted): the venue's clock, or the message, is wrong.
import { MAX_SIZE } from '../../contracts/decimal.js';
import type { BookView, Level } from './book.js';

export const MAX_BOOK_LEVELS = 2_000;
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The prices a venue can trade at, in ten-thousandths of $1: [tick, 1 − tick]. */
export interface PriceBounds {
  min: number;
  max: number;
}

/** Why a book cannot be used (the label of arbees_book_rejected_total). */
export type RejectReason = 'price_out_of_range' | 'size_out_of_range' | 'too_deep' | 'crossed' | 'malformed' | 'invalid_quote';

/** Thrown by a feed's checks: the book is unusable for `reason`. */
export class BookFault extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // hostile input can make these frequent: no stack trace
    super(detail);
    Error.stackTraceLimit = limit;
    this.name = 'BookFault';
  }
}

/** A raw level array longer than the book may hold is refused before its levels are parsed. */
export function checkDepth(raw: unknown, what: string): void {
  if (Array.isArray(raw) && raw.length > MAX_BOOK_LEVELS)
    throw new BookFault('too_deep', `${what}: ${raw.length} levels (at most ${MAX_BOOK_LEVELS})`);
}

/** Every level priced within the bounds. */
export function checkPrices(levels: readonly Level[], bounds: PriceBounds, what: string): void {
  for (const [price] of levels) checkPrice(price, bounds, what);
}

export function checkPrice(price: number, bounds: PriceBounds, what: string): void {
  if (price < bounds.min || price > bounds.max)
    throw new BookFault('price_out_of_range', `${what} at ${price} (tradable ${bounds.min}…${bounds.max} ten-thousandths)`);
}

/** Why a quote's view must not be published fresh: a price, size or order a venue cannot show, or a cross. */
export function viewProblem(view: BookView, bounds: PriceBounds): RejectReason | undefined {
  for (const side of [view.bids, view.asks]) {
    for (let i = 0; i < side.length; i++) {
      const [price, size] = side[i]!;
      if (!(price >= bounds.min && price <= bounds.max)) return 'price_out_of_range';
      if (!(Number.isSafeInteger(size) && size > 0 && size <= MAX_SIZE)) return 'size_out_of_range';
      if (i > 0 && (side === view.bids ? price >= side[i - 1]![0] : price <= side[i - 1]![0])) return 'malformed';
    }
  }
  const bid = view.bids[0];
  const ask = view.asks[0];
  return bid && ask && bid[0] >= ask[0] ? 'crossed' : undefined;
}

export interface FrameLimits {
  /** Nesting of arrays and objects. */
  maxDepth: number;
  /** Arrays, objects and the values separated by commas in the whole frame, counted together. */
  maxValues: number;
  /** Values in any one array or object. */
  maxElements: number;
}

/**
 * Real frames nest four deep, hold under 100k values (a Polymarket dump of 100 tokens at full
 * depth: ~300 levels of 3 values each) and no array longer than a book side (MAX_BOOK_LEVELS).
 * A side up to 4 × MAX_BOOK_LEVELS is still parsed, so that it is refused as too deep, and counted.
 */
export const FRAME_LIMITS: FrameLimits = { maxDepth: 32, maxValues: 1 << 17, maxElements: 4 * MAX_BOOK_LEVELS };

export type FrameProblem = 'too_deep' | 'too_many_values';

/** A frame shorter than this cannot hold enough to matter (at most 2k arrays), so it is not screened. */
export const SCREEN_FROM_BYTES = 4_096;

/** Values so far in each open container, reused by every scan (frames are screened one at a time). */
let elementsScratch = new Uint32Array(FRAME_LIMITS.maxDepth + 1);

/** The structural characters' codes: " \ [ { ] } , */
const [QUOTE, BACKSLASH, OPEN_ARRAY, OPEN_OBJECT, CLOSE_ARRAY, CLOSE_OBJECT, COMMA] = [...'"\\[{]},'].map((c) => c.charCodeAt(0));

/**
 * One pass over a JSON text (a string, or its UTF-8 bytes: every byte of a multi-byte character is
 * above 0x7f, so the structural characters read the same), stopping at the first excess. Text
 * inside strings does not count. Malformed JSON is left for JSON.parse to refuse.
 */
export function frameProblem(text: string | Uint8Array, limits: FrameLimits = FRAME_LIMITS): FrameProblem | undefined {
  const bytes = typeof text === 'string' ? undefined : text;
  const chars = typeof text === 'string' ? text : '';
  const length = text.length;
  if (elementsScratch.length <= limits.maxDepth) elementsScratch = new Uint32Array(limits.maxDepth + 1);
  const elements = elementsScratch;
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = bytes ? bytes[i]! : chars.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        break;
      case OPEN_ARRAY:
      case OPEN_OBJECT:
        if (++depth > limits.maxDepth) return 'too_deep';
        if (++values > limits.maxValues) return 'too_many_values';
        elements[depth] = 0;
        break;
      case CLOSE_ARRAY:
      case CLOSE_OBJECT:
        if (depth > 0) depth--;
        break;
      case COMMA:
        if (++values > limits.maxValues || ++elements[depth]! >= limits.maxElements) return 'too_many_values';
        break;
    }
  }
  return undefined;
}
