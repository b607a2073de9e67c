// From venue wire numbers and local books to the shard's quote message (contracts/messages.ts):
// prices integer ten-thousandths of $1, sizes integer hundredths of a contract, best level first.
// Pure; throws MalformedMessage for anything that is not an exact non-negative decimal.
import { parseDecimal, PRICE_ONE, PRICE_SCALE, SIZE_SCALE } from '../../contracts/decimal.js';
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';
import type { BookView, Level } from './book.js';

/** A venue message we cannot use; counted and skipped, never fatal. */
export class MalformedMessage extends Error {
  constructor(message: string) {
    // Hostile input can make these frequent: skip the stack trace, nobody reads it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'MalformedMessage';
  }
}

function decimal(text: unknown, scale: number, what: string, extra: 'down' | 'error'): number {
  if (typeof text !== 'string' && typeof text !== 'number') throw new MalformedMessage(`${what}: expected a decimal string, got ${typeof text}`);
  let s = String(text).trim();
  if (s.startsWith('.')) s = `0${s}`; // Polymarket sends ".48"
  try {
    return parseDecimal(s, scale, extra);
  } catch (error) {
    throw new MalformedMessage(`${what}: ${(error as Error).message}`);
  }
}

/** A price within [0, 1] dollars, e.g. "0.0800", ".48" → 800, 4800. */
export function venuePrice(text: unknown, what = 'price'): number {
  const value = decimal(text, PRICE_SCALE, what, 'error');
  if (value > PRICE_ONE) throw new MalformedMessage(`${what}: ${String(text)} is above $1`);
  return value;
}

/** A non-negative size, e.g. "300.00", "219.217767" (extra decimals rounded down). */
export function venueSize(text: unknown, what = 'size'): number {
  return decimal(text, SIZE_SCALE, what, 'down');
}

/** A signed size change, e.g. "-54.00". */
export function venueSignedSize(text: unknown, what = 'delta'): number {
  if (typeof text !== 'string') throw new MalformedMessage(`${what}: expected a decimal string, got ${typeof text}`);
  const negative = text.startsWith('-');
  const value = venueSize(negative || text.startsWith('+') ? text.slice(1) : text, what);
  return negative ? -value : value;
}

/** Kalshi `[price_dollars, count_fp]` levels. */
export function kalshiLevels(raw: unknown, what: string): Level[] {
  if (raw === undefined || raw === null) return []; // a side with no bids is omitted
  if (!Array.isArray(raw)) throw new MalformedMessage(`${what}: expected an array of levels`);
  return raw.map((level, i) => {
    if (!Array.isArray(level) || level.length < 2) throw new MalformedMessage(`${what}[${i}]: expected [price, size]`);
    return [venuePrice(level[0], `${what}[${i}].price`), venueSize(level[1], `${what}[${i}].size`)];
  });
}

/** Polymarket `{price, size}` levels. */
export function polymarketLevels(raw: unknown, what: string): Level[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new MalformedMessage(`${what}: expected an array of levels`);
  return raw.map((level: unknown, i) => {
    if (typeof level !== 'object' || level === null) throw new MalformedMessage(`${what}[${i}]: expected {price, size}`);
    const { price, size } = level as { price?: unknown; size?: unknown };
    return [venuePrice(price, `${what}[${i}].price`), venueSize(size, `${what}[${i}].size`)];
  });
}

/** Epoch ms from a number or a decimal string; `fallback` when absent or unusable. */
export function epochMs(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}

export interface QuoteMeta {
  venue: Venue;
  marketId: string;
  outcome: Outcome;
  seq: number;
  exchangeTs: number;
  receivedTs: number;
  stale: boolean;
}

/** The quote message for one outcome's book view (levels already best first and depth-limited). */
export function toQuote(view: BookView, meta: QuoteMeta): Quote {
  return {
    venue: meta.venue,
    marketId: meta.marketId,
    outcome: meta.outcome,
    bids: view.bids,
    asks: view.asks,
    seq: meta.seq,
    exchangeTs: meta.exchangeTs,
    receivedTs: meta.receivedTs,
    stale: meta.stale,
  };
}

/**
 * Publication sequence for a monitor process: starts at the current epoch ms × 1000 and counts up,
 * so it is monotonic within the process and (at under 1000 quotes per ms on average) across
 * restarts too. A stale republication of an unchanged book gets a new seq, so consumers that keep
 * the highest seq take the stale flag.
 */
export function quoteSequence(startMs = Date.now()): () => number {
  let next = startMs * 1000;
  return () => next++;
}
