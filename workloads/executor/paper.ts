// Paper venue: immediate-or-cancel limit orders filled against the latest books (BookCache) with
// their depth, an optional latency before matching and an adverse slippage per level, and the
// venue's taker fee as it charges it (venues/*/fees.ts: Kalshi once per order rounded
// up to the cent, Polymarket per fill). Its orders live in the paper_orders table, keyed by our
// client order id, so a paper order can be found again after a crash exactly like a live one and
// a resend under the same id returns the first result instead of filling twice.
import type pg from 'pg';
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Venue } from '../../contracts/messages.js';
import { FeeTable } from '../../venues/fee-table.js';
import type { BookCache, Level } from './books.js';
import type { OrderRequest, VenueClient, VenueFill, VenueOrderReport } from '../../venues/orders.js';

export interface PaperSettings {
  /** Simulated venue round trip before matching (the book may move meanwhile). */
  latencyMs: number;
  /** Adverse price move per level, in ten-thousandths of $1 (bps of the $1 payout). */
  slippageBps: number;
}

export const defaultPaperSettings: PaperSettings = { latencyMs: 0, slippageBps: 0 };

export interface PaperMatch {
  taken: Level[];
  fills: Array<{ price: number; size: number; fee: number }>;
  filled: number;
}

/**
 * Matches an IOC limit order against one side of a book: buys walk the asks up to the limit, sells
 * the bids down to it, each level's price moved `slippage` against us. Fees: the venue model's fee
 * of the cumulative walk, differenced per fill (so the fills add up to the order's exact fee).
 */
export function matchIoc(
  levels: Level[],
  side: 'buy' | 'sell',
  limit: number,
  size: number,
  slippage: number,
  fee: (levels: Level[], size: number) => number,
): PaperMatch {
  const taken: Level[] = [];
  const paid: Level[] = [];
  let left = size;
  for (const [price, available] of levels) {
    if (left <= 0) break;
    const effective = side === 'buy' ? Math.min(PRICE_ONE, price + slippage) : Math.max(0, price - slippage);
    if (side === 'buy' ? effective > limit : effective < limit) break;
    const take = Math.min(left, available);
    if (take <= 0) continue;
    taken.push([price, take]);
    paid.push([effective, take]);
    left -= take;
  }
  const fills: PaperMatch['fills'] = [];
  let cumulative = 0;
  let feeSoFar = 0;
  for (let i = 0; i < paid.length; i++) {
    cumulative += paid[i]![1];
    const total = fee(paid.slice(0, i + 1), cumulative);
    fills.push({ price: paid[i]![0], size: paid[i]![1], fee: total - feeSoFar });
    feeSoFar = total;
  }
  return { taken, fills, filled: size - left };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PaperVenue implements VenueClient {
  constructor(
    readonly venue: Venue,
    private readonly books: BookCache,
    private readonly pool: pg.Pool,
    private readonly fees: FeeTable = new FeeTable(),
    private readonly settings: PaperSettings = defaultPaperSettings,
  ) {}

  async place(order: OrderRequest): Promise<VenueOrderReport> {
    if (this.settings.latencyMs > 0) await sleep(this.settings.latencyMs);
    const book = this.books.get(order.venue, order.marketId, order.outcome);
    const side = order.side === 'buy' ? 'asks' : 'bids';
    // Unknown fees: the decision refuses such a market; an unwind that meets one fills nothing.
    const model = this.fees.model(order.marketId, order.venue);
    const match =
      book && model
        ? matchIoc(book[side], order.side, order.limitPrice, order.size, this.settings.slippageBps, (levels, size) =>
            model.feeWalk(levels, size),
          )
        : { taken: [], fills: [], filled: 0 };
    const now = Date.now();
    const fills: VenueFill[] = match.fills.map((f, i) => ({
      fillId: `${order.clientOrderId}:${i}`,
      price: f.price,
      size: f.size,
      fee: f.fee,
      ts: now,
    }));
    const report: VenueOrderReport = {
      venueOrderId: `paper-${order.clientOrderId}`,
      status: match.filled === order.size ? 'filled' : 'cancelled',
      filledSize: match.filled,
      fills,
      ...(!model ? { reason: 'fees unknown' } : book ? {} : { reason: 'no book' }),
    };
    const inserted = await this.pool.query({
      name: 'executor-paper-insert',
      text: 'insert into paper_orders (client_order_id, venue, report) values ($1, $2, $3) on conflict (client_order_id) do nothing',
      values: [order.clientOrderId, order.venue, JSON.stringify(report)],
    });
    if (inserted.rowCount === 0) {
      // Already placed under this id (a resend): the first result stands.
      return (await this.find(order))!;
    }
    if (match.taken.length > 0) this.books.consume(order.venue, order.marketId, order.outcome, side, match.taken);
    return report;
  }

  async find(order: OrderRequest): Promise<VenueOrderReport | undefined> {
    const result = await this.pool.query<{ report: VenueOrderReport }>('select report from paper_orders where client_order_id = $1', [
      order.clientOrderId,
    ]);
    return result.rows[0]?.report;
  }

  async cancel(): Promise<void> {
    // Paper orders are immediate-or-cancel: nothing ever rests.
  }
}
