// What the executor needs from a venue, the same for paper and live: place an order under our
// client order id, find it again by that id (reconciliation), cancel it. Prices are in the terms
// of the outcome traded (a NO bought at 0.55 is 5500 here even where the venue books it as a YES
// sell at 0.45); money in ten-thousandths of $1, sizes in hundredths of a contract.
import type { Outcome, Venue } from '../contracts/messages.js';

export interface OrderRequest {
  clientOrderId: string;
  venue: Venue;
  marketId: string;
  /** Kalshi ticker or Polymarket token id. */
  venueMarket: string;
  outcome: Outcome;
  side: 'buy' | 'sell';
  limitPrice: number;
  size: number;
  /** When the intent was written (epoch ms). */
  createdTs: number;
}

export interface VenueFill {
  /** Unique per venue: the ledger dedupes fills on it. */
  fillId: string;
  price: number;
  size: number;
  fee: number;
  ts: number;
}

/** `cancelled` may carry fills: an IOC order that filled in part and had its rest cancelled. */
export type VenueOrderStatus = 'resting' | 'filled' | 'cancelled' | 'rejected';

export interface VenueOrderReport {
  venueOrderId: string;
  status: VenueOrderStatus;
  filledSize: number;
  /** Every fill so far (may be empty when none). */
  fills: VenueFill[];
  reason?: string;
  /** Matches that failed to settle (a Polymarket trade FAILED on chain): not fills, counted in none of the above. */
  failedTrades?: Array<{ tradeId: string; size: number; reason: string }>;
}

/** Why the venue said no, where it matters to more than the order: an account that cannot pay. */
export type RefusalKind = 'insufficient-balance';

// Both errors are recognised by name rather than by class identity: the live Polymarket client is
// imported lazily, and where a module graph is loaded twice (a test runner mixing require and
// import) its errors would otherwise fail `instanceof` and be taken for crashes.

/** The venue said no: the order certainly does not exist there (400/401/403/404/429 with a body). */
export class VenueRejected extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'VenueRejected';
  }

  constructor(
    message: string,
    readonly status?: number,
    readonly kind?: RefusalKind,
  ) {
    super(message);
    this.name = 'VenueRejected';
  }
}

/** We cannot tell whether the venue took the order (timeout, connection reset, 5xx): reconcile. */
export class VenueAmbiguous extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'VenueAmbiguous';
  }

  constructor(message: string) {
    super(message);
    this.name = 'VenueAmbiguous';
  }
}

export interface VenueClient {
  readonly venue: Venue;
  /** Places an immediate-or-cancel limit order. Throws VenueRejected or VenueAmbiguous. */
  place(order: OrderRequest): Promise<VenueOrderReport>;
  /** The venue's view of our order, or undefined when it has none under this id. */
  find(order: OrderRequest): Promise<VenueOrderReport | undefined>;
  /** Cancels a resting order (no-op when it is already final). */
  cancel(order: OrderRequest, venueOrderId: string): Promise<void>;
  /** Releases connections (a proxy agent's sockets); optional. */
  close?(): Promise<void>;
}
