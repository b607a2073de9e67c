// Venue wire numbers to our integer units (contracts/decimal.ts), shared by both venues' parsers.
// Pure; throws MalformedMessage for anything that is not an exact non-negative decimal, and for
// sizes above MAX_SIZE (10^9 contracts): no venue allows near that, and a bound far below 2^53
// keeps every sum of sizes exact.
import { MAX_SIZE, parseDecimal, PRICE_ONE, PRICE_SCALE, SIZE_SCALE } from '../contracts/decimal.js';

/** A [price, size] level in our units. */
export type WireLevel = [price: number, size: number];

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
  if (typeof text !== 'string' && typeof text !== 'number')
    throw new MalformedMessage(`${what}: expected a decimal string, got ${typeof text}`);
  let s = String(text).trim();
  if (s.length > 40) throw new MalformedMessage(`${what}: ${s.length} characters is not a venue number`);
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

/** A non-negative size up to MAX_SIZE, e.g. "300.00", "219.217767" (extra decimals rounded down). */
export function venueSize(text: unknown, what = 'size'): number {
  const value = decimal(text, SIZE_SCALE, what, 'down');
  if (value > MAX_SIZE) throw new MalformedMessage(`${what}: ${String(text)} is above ${MAX_SIZE / 10 ** SIZE_SCALE} contracts`);
  return value;
}

/** A signed size change, e.g. "-54.00". */
export function venueSignedSize(text: unknown, what = 'delta'): number {
  if (typeof text !== 'string') throw new MalformedMessage(`${what}: expected a decimal string, got ${typeof text}`);
  const negative = text.startsWith('-');
  const value = venueSize(negative || text.startsWith('+') ? text.slice(1) : text, what);
  return negative ? -value : value;
}

/** Epoch ms from a number or a decimal string; `fallback` when absent or unusable. */
export function epochMs(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback;
}
