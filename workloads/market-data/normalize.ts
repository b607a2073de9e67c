// From local books to the shard's quote message (contracts/messages.ts): prices integer
// ten-thousandths of $1, sizes integer hundredths of a contract, best level first. Pure.
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';
import type { BookView } from './book.js';

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
