// Client order ids: deterministic from the shard, the signal id and the leg, so that a replayed
// signal or a restarted executor produces the same id and the venue's duplicate check (Kalshi: 409
// on a reused client_order_id) refuses a second order. Kalshi allows up to 64 characters and FIX
// ClOrdID-safe characters ([-\w:+=/]); "arb-" + 32 hex digits (128 bits of SHA-256) is 36.
import { createHash } from 'node:crypto';

/** Leg names: `a` and `b` the two legs of a signal in send order, `h1`… hedge and `c1`… close steps of an unwind. */
export type LegName = string;

export function clientOrderId(shard: string, signalId: string, leg: LegName): string {
  const digest = createHash('sha256').update(`${shard}\u0000${signalId}\u0000${leg}`).digest('hex');
  return `arb-${digest.slice(0, 32)}`;
}
