// The messages the workloads exchange over Redis streams (contracts/messages.ts), validated with zod at every
// boundary. Units: prices and money are integers in ten-thousandths of $1 (4800 = $0.48), sizes
// integers in hundredths of a contract (30000 = 300.00 contracts), times epoch milliseconds.
import { z } from 'zod';
import { MAX_SIZE, PRICE_ONE, SIZE_SCALE } from './decimal.js';

export const venues = ['kalshi', 'polymarket'] as const;
export type Venue = (typeof venues)[number];
export type Outcome = 'yes' | 'no';

export const streamKeys = {
  quotes: (shard: string) => `arbees:${shard}:quotes`,
  signals: (shard: string) => `arbees:${shard}:signals`,
  control: (shard: string) => `arbees:${shard}:control`,
};

/** A price something can trade at: strictly between $0 and $1 (either is a fault, never a market). */
const price = z
  .number()
  .int()
  .min(1)
  .max(PRICE_ONE - 1);
const size = z.number().int().positive().max(MAX_SIZE);
/** [price, size] best first: bids descending, asks ascending. */
const level = z.tuple([price, size]);
const millis = z.number().int().nonnegative();
/** Levels per side a quote may carry (monitors publish 10 by default). */
export const MAX_QUOTE_LEVELS = 100;

export const quoteSchema = z
  .object({
    venue: z.enum(venues),
    marketId: z.string().min(1),
    outcome: z.enum(['yes', 'no']),
    /** Empty in a stale marker: a book that cannot be shown is still marked stale. */
    bids: z.array(level).max(MAX_QUOTE_LEVELS),
    asks: z.array(level).max(MAX_QUOTE_LEVELS),
    /** Per venue subscription/stream; monotonically increasing within one connection. */
    seq: z.number().int().nonnegative(),
    exchangeTs: millis,
    receivedTs: millis,
    /** True when the monitor has no fresh book (no update for maxQuoteAgeMs, or resyncing). */
    stale: z.boolean().default(false),
  })
  .strict();
export type Quote = z.infer<typeof quoteSchema>;

const QUOTE_KEYS = new Set(['venue', 'marketId', 'outcome', 'bids', 'asks', 'seq', 'exchangeTs', 'receivedTs', 'stale']);
const isInt = (v: unknown, min: number, max: number): v is number =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function readLevels(v: unknown): Array<[number, number]> | undefined {
  if (!Array.isArray(v) || v.length > MAX_QUOTE_LEVELS) return undefined;
  for (const l of v as unknown[])
    if (!Array.isArray(l) || l.length !== 2 || !isInt(l[0], 1, PRICE_ONE - 1) || !isInt(l[1], 1, MAX_SIZE)) return undefined;
  return v as Array<[number, number]>;
}

/**
 * quoteSchema's verdict and output without zod: every process on the quote path checks every quote,
 * and zod's parse was most of that cost. A unit test holds the two to the same answers; on a refusal,
 * quoteSchema.safeParse says why. The levels are the input's arrays, not copies.
 */
export function readQuote(value: unknown): Quote | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const q = value as Record<string, unknown>;
  for (const k in q) if (!QUOTE_KEYS.has(k)) return undefined; // inherited keys too, as zod reads them
  const { venue, marketId, outcome, seq, exchangeTs, receivedTs } = q;
  const stale = q.stale === undefined ? false : q.stale;
  if (venue !== 'kalshi' && venue !== 'polymarket') return undefined;
  if (typeof marketId !== 'string' || marketId.length === 0) return undefined;
  if (outcome !== 'yes' && outcome !== 'no') return undefined;
  if (!isInt(seq, 0, Number.MAX_SAFE_INTEGER) || !isInt(exchangeTs, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!isInt(receivedTs, 0, Number.MAX_SAFE_INTEGER) || typeof stale !== 'boolean') return undefined;
  const bids = readLevels(q.bids);
  const asks = bids && readLevels(q.asks);
  if (!asks) return undefined;
  return { venue, marketId, outcome, bids, asks, seq, exchangeTs, receivedTs, stale };
}

export const legSchema = z
  .object({
    venue: z.enum(venues),
    outcome: z.enum(['yes', 'no']),
    side: z.enum(['buy', 'sell']),
    limitPrice: price,
    size,
  })
  .strict();
export type Leg = z.infer<typeof legSchema>;

/** Bounds of a signal's fields (a signal the detector would never write is refused, not guessed at). */
export const signalLimits = {
  /** `<kind>:<marketId>:<direction>:<16 hex digits>` (detector/signal-id.ts), a market id of ≤ 128 characters. */
  idLength: 256,
  marketIdLength: 128,
  /** One age per triggering book: two for a set, one for model edge. */
  quoteAges: 2,
  /** A book this old triggers nothing anyway (the detector's maxQuoteAgeMs is seconds). */
  quoteAgeMs: 3_600_000,
  /** Net profit per contract in basis points of the $1 payout: a contract pays at most $1. */
  edgeBps: 10_000,
} as const;

export const signalSchema = z
  .object({
    /** Deterministic from the market, direction and triggering books, so a replay dedupes. */
    id: z.string().min(1).max(signalLimits.idLength),
    kind: z.enum(['arbitrage', 'edge']),
    marketId: z.string().min(1).max(signalLimits.marketIdLength),
    legs: z.array(legSchema).min(1).max(2),
    edgeBps: z.number().int().min(0).max(signalLimits.edgeBps),
    /** Net of fees, ten-thousandths of $1; never more than $1 a contract (checked against the legs below). */
    expectedProfit: z.number().int().nonnegative(),
    quoteAgesMs: z.array(millis.max(signalLimits.quoteAgeMs)).min(1).max(signalLimits.quoteAges),
    /** The detector's clock; the executor refuses one from the future (beyond a small clock skew). */
    createdTs: millis,
    /** HMAC-SHA256 by the detector (contracts/signal-auth.ts); the executor trades no signal without a good one. */
    sig: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .strict()
  .refine((s) => s.expectedProfit <= Math.max(...s.legs.map((leg) => (leg.size * PRICE_ONE) / 10 ** SIZE_SCALE)), {
    message: 'expectedProfit is more than $1 a contract',
    path: ['expectedProfit'],
  });
export type Signal = z.infer<typeof signalSchema>;

export const controlSchema = z
  .object({
    state: z.enum(['closed', 'open', 'half_open']),
    reason: z.string(),
    since: millis,
    /** In half-open probation, orders are capped to this size in USD ten-thousandths. */
    maxOrder: z.number().int().nonnegative().optional(),
  })
  .strict();
export type ControlState = z.infer<typeof controlSchema>;
