// What a stream entry must be before the executor decides it as a signal, pure.
//
// 1. Ours: a `data` field of at most MAX_SIGNAL_BYTES holding JSON signed by the detector with the
//    shard's signal key (contracts/signal-auth.ts). Anything else (unsigned, wrongly signed,
//    undecodable, oversized) is refused before its content is looked at any further: it is counted
//    and acknowledged, never written to the ledger (whoever wrote it could fill the ledger with it).
// 2. Well-formed: the signal schema, whose every field is bounded (contracts/messages.ts). A signed
//    signal that fails it is a detector bug, recorded in the ledger as invalid-signal.
// 3. Plausible now: not created in the future beyond a small clock skew (an age below zero would
//    pass the staleness rule forever), and every leg's limit supported by the executor's own view of
//    the books (fed from the quotes stream, not from the signal): a buy needs a fresh book of its
//    venue, market and outcome with an ask at or below its limit, a sell a bid at or above it.
import { signatureProblem, type SignatureProblem } from '../../contracts/signal-auth.js';
import { formatPrice } from '../../contracts/decimal.js';
import type { Leg, Outcome, Signal, Venue } from '../../contracts/messages.js';
import type { Book } from './books.js';

/** The largest `data` field taken as a signal: the detector writes about 500 bytes. */
export const MAX_SIGNAL_BYTES = 8_192;

export type RefusalReason = 'malformed' | 'oversized' | SignatureProblem;
export const refusalReasons: readonly RefusalReason[] = ['malformed', 'oversized', 'unsigned', 'bad_signature'];

export type Decoded = { ok: true; value: unknown } | { ok: false; reason: RefusalReason; detail: string };

/** The signal JSON of a stream entry's fields, if signed with `key` for `shard`. */
export function authenticEntry(fields: string[], key: string, shard: string): Decoded {
  let text: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'data') text = fields[i + 1];
  if (text === undefined) return { ok: false, reason: 'malformed', detail: 'no data field' };
  if (Buffer.byteLength(text, 'utf8') > MAX_SIGNAL_BYTES)
    return { ok: false, reason: 'oversized', detail: `data field over ${MAX_SIGNAL_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'data field is not JSON' };
  }
  const problem = signatureProblem(value, key, shard);
  if (problem) return { ok: false, reason: problem, detail: problem === 'unsigned' ? 'no signature' : 'signature does not match' };
  return { ok: true, value };
}

export interface VettingSettings {
  /** How far in the future a signal's createdTs may be (the detector's and our clocks differ a little). */
  maxClockSkewMs: number;
  /** Oldest book (by its receivedTs) a leg's price may be checked against. */
  maxBookAgeMs: number;
}

export interface BookView {
  get(venue: Venue, marketId: string, outcome: Outcome): Book | undefined;
}

/** Rules of the vetting besides risk.ts's (invalid-signal): each a label of arbees_risk_rejections_total. */
export const vettingRules = ['book-mismatch'] as const;
export type VettingRule = (typeof vettingRules)[number];

export interface VettingRefusal {
  rule: 'invalid-signal' | VettingRule;
  reason: string;
}

const $ = (price: number) => `$${formatPrice(price)}`;

function legProblem(signal: Signal, leg: Leg, books: BookView, now: number, settings: VettingSettings): string | undefined {
  const what = `${leg.venue} ${leg.outcome} of ${signal.marketId}`;
  const book = books.get(leg.venue, signal.marketId, leg.outcome);
  if (!book) return `no book of the ${what} (none received, or marked stale)`;
  const age = now - book.receivedTs;
  if (age > settings.maxBookAgeMs) return `the book of the ${what} is ${age} ms old (max ${settings.maxBookAgeMs} ms)`;
  // A buy needs an ask at or below its limit, a sell a bid at or above it.
  const [side, best] = leg.side === 'buy' ? ['ask', book.asks[0]?.[0]] : ['bid', book.bids[0]?.[0]];
  const supported = best !== undefined && (leg.side === 'buy' ? best <= leg.limitPrice : best >= leg.limitPrice);
  if (!supported) {
    const where = leg.side === 'buy' ? 'at or below' : 'at or above';
    const shown = best === undefined ? 'none' : $(best);
    return `our book of the ${what} has no ${side} ${where} the ${leg.side} limit ${$(leg.limitPrice)} (best ${side} ${shown})`;
  }
  return undefined;
}

/** Why an authentic, well-formed signal must not be traded now; undefined when it may go on to the decision. */
export function vetSignal(signal: Signal, books: BookView, now: number, settings: VettingSettings): VettingRefusal | undefined {
  const ahead = signal.createdTs - now;
  if (ahead > settings.maxClockSkewMs)
    return { rule: 'invalid-signal', reason: `created ${ahead} ms in the future (clock skew allowed: ${settings.maxClockSkewMs} ms)` };
  for (const leg of signal.legs) {
    const problem = legProblem(signal, leg, books, now, settings);
    if (problem) return { rule: 'book-mismatch', reason: problem };
  }
  return undefined;
}
