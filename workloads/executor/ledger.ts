// The executor's ledger in PostgreSQL: signals (the dedupe key), orders (intent before send),
// fills (deduped per venue fill id), positions, daily PnL, risk events and settlements. Every write that
// decides something is one statement or one transaction, so a crash leaves either all of it or
// none of it. Money in ten-thousandths of $1, sizes in hundredths of a contract (bigint columns,
// read back as numbers: they stay far below 2^53).
import type pg from 'pg';
import type { Outcome, Signal, Venue } from '../../contracts/messages.js';
import { applyFill, settle, type PositionState } from './pnl.js';
import { inTransaction } from './postgres.js';
import type { OrderRequest, VenueOrderReport } from '../../venues/orders.js';

/** A positions row as PostgreSQL returns it (numerics as text). */
interface PositionRecord {
  market_id: string;
  venue: Venue;
  outcome: Outcome;
  size: string;
  cost: string;
  realized_pnl: string;
  version: string;
  last_fill_at: Date | null;
}
export type OrderStatus = 'intent' | 'sent' | 'acked' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected' | 'unknown';
export const finalStatuses: readonly OrderStatus[] = ['filled', 'cancelled', 'rejected'];

export interface PlannedLeg {
  leg: string;
  venue: Venue;
  outcome: Outcome;
  side: 'buy' | 'sell';
  limitPrice: number;
  size: number;
}

export interface OrderRow extends OrderRequest {
  signalId: string;
  leg: string;
  status: OrderStatus;
  filledSize: number;
  fees: number;
  venueOrderId?: string;
}

export interface PositionRow extends PositionState {
  marketId: string;
  venue: Venue;
  outcome: Outcome;
  realized: number;
  version: number;
  lastFillAt?: number;
}

export interface FillEffects {
  /** Positions after the new fills (only those touched). */
  positions: PositionRow[];
  /** PnL realized by the new fills. */
  realized: number;
  fees: number;
  newFills: number;
}

interface DbOrder {
  client_order_id: string;
  signal_id: string;
  leg: string;
  venue: Venue;
  market_id: string;
  venue_market: string;
  outcome: Outcome;
  side: 'buy' | 'sell';
  limit_price: string;
  size: string;
  status: OrderStatus;
  filled_size: string;
  fees: string;
  venue_order_id: string | null;
  created_at: Date;
}

const ORDER_COLUMNS =
  'client_order_id, signal_id, leg, venue, market_id, venue_market, outcome, side, limit_price, size, status, ' +
  'filled_size, fees, venue_order_id, created_at';

function toOrder(row: DbOrder): OrderRow {
  return {
    clientOrderId: row.client_order_id,
    signalId: row.signal_id,
    leg: row.leg,
    venue: row.venue,
    marketId: row.market_id,
    venueMarket: row.venue_market,
    outcome: row.outcome,
    side: row.side,
    limitPrice: Number(row.limit_price),
    size: Number(row.size),
    status: row.status,
    filledSize: Number(row.filled_size),
    fees: Number(row.fees),
    ...(row.venue_order_id ? { venueOrderId: row.venue_order_id } : {}),
    createdTs: row.created_at.getTime(),
  };
}

export interface SettledPosition {
  outcome: Outcome;
  size: number;
  cost: number;
  payout: number;
  realized: number;
}

export interface SettlementEffects {
  /** The market's positions after settlement (size 0), only those settled now. */
  positions: PositionRow[];
  /** PnL the settlement realized. */
  realized: number;
  settled: SettledPosition[];
}

export type InsertResult = { inserted: true } | { inserted: false; status: 'processing' | 'done' | 'rejected' };

export class Ledger {
  constructor(
    readonly pool: pg.Pool,
    readonly shard: string,
  ) {}

  private async existing(signalId: string): Promise<InsertResult> {
    const found = await this.pool.query<{ status: 'processing' | 'done' | 'rejected' }>('select status from signals where id = $1', [
      signalId,
    ]);
    return { inserted: false, status: found.rows[0]?.status ?? 'done' };
  }

  /**
   * Records an accepted signal, its plan and the intent of its first order, in one statement (so
   * one commit). Returns inserted false, with the stored status, when the signal id is known.
   */
  async insertAccepted(signal: Signal, plan: PlannedLeg[], first: OrderRequest & { leg: string }): Promise<InsertResult> {
    const result = await this.pool.query({
      name: 'executor-insert-accepted',
      text: `with s as (
         insert into signals (id, shard, market_id, kind, payload, status, plan, decided_at)
         values ($1, $2, $3, $4, $5, 'processing', $6, now()) on conflict (id) do nothing returning id
       ), o as (
         insert into orders (client_order_id, shard, signal_id, leg, venue, market_id, venue_market, outcome, side,
                            limit_price, size, status, created_at)
         select $7, $2, s.id, $8, $9, $3, $10, $11, $12, $13, $14, 'intent', to_timestamp($15::double precision / 1000) from s returning 1
       )
       select count(*)::int as n from s`,
      values: [
        signal.id,
        this.shard,
        signal.marketId,
        signal.kind,
        JSON.stringify(signal),
        JSON.stringify(plan),
        first.clientOrderId,
        first.leg,
        first.venue,
        first.venueMarket,
        first.outcome,
        first.side,
        first.limitPrice,
        first.size,
        first.createdTs,
      ],
    });
    return (result.rows[0] as { n: number }).n === 1 ? { inserted: true } : this.existing(signal.id);
  }

  /** Records a refused signal and its risk event in one statement. */
  async insertRejected(signal: Signal, rule: string, detail: string): Promise<InsertResult> {
    const result = await this.pool.query({
      name: 'executor-insert-rejected',
      text: `with s as (
         insert into signals (id, shard, market_id, kind, payload, status, outcome, decided_at, completed_at)
         values ($1, $2, $3, $4, $5, 'rejected', $6, now(), now()) on conflict (id) do nothing returning id
       ), r as (
         insert into risk_events (shard, signal_id, rule, detail) select $2, s.id, $6, $7 from s returning 1
       )
       select count(*)::int as n from s`,
      values: [signal.id, this.shard, signal.marketId, signal.kind, JSON.stringify(signal), rule, detail],
    });
    return (result.rows[0] as { n: number }).n === 1 ? { inserted: true } : this.existing(signal.id);
  }

  async riskEvent(signalId: string | undefined, rule: string, detail: string): Promise<void> {
    await this.pool.query('insert into risk_events (shard, signal_id, rule, detail) values ($1, $2, $3, $4)', [
      this.shard,
      signalId ?? null,
      rule,
      detail,
    ]);
  }

  /** Writes an order intent (a later leg or an unwind step); `created` false when it existed. */
  async createIntent(order: OrderRequest & { signalId: string; leg: string }): Promise<{ row: OrderRow; created: boolean }> {
    const inserted = await this.pool.query<DbOrder>({
      name: 'executor-create-intent',
      text: `insert into orders (client_order_id, shard, signal_id, leg, venue, market_id, venue_market, outcome, side,
                            limit_price, size, status, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'intent', to_timestamp($12::double precision / 1000))
       on conflict (client_order_id) do nothing returning ${ORDER_COLUMNS}`,
      values: [
        order.clientOrderId,
        this.shard,
        order.signalId,
        order.leg,
        order.venue,
        order.marketId,
        order.venueMarket,
        order.outcome,
        order.side,
        order.limitPrice,
        order.size,
        order.createdTs,
      ],
    });
    if (inserted.rows[0]) return { row: toOrder(inserted.rows[0]), created: true };
    return { row: (await this.order(order.clientOrderId))!, created: false };
  }

  async order(clientOrderId: string): Promise<OrderRow | undefined> {
    const result = await this.pool.query<DbOrder>(`select ${ORDER_COLUMNS} from orders where client_order_id = $1`, [clientOrderId]);
    return result.rows[0] ? toOrder(result.rows[0]) : undefined;
  }

  async ordersOf(signalId: string): Promise<OrderRow[]> {
    const result = await this.pool.query<DbOrder>(`select ${ORDER_COLUMNS} from orders where signal_id = $1 order by id`, [signalId]);
    return result.rows.map(toOrder);
  }

  /** Orders the venue may still change or that we have not resolved (reconcile these on start). */
  async openOrders(): Promise<OrderRow[]> {
    const result = await this.pool.query<DbOrder>(
      `select ${ORDER_COLUMNS} from orders where shard = $1 and status not in ('filled', 'cancelled', 'rejected') order by id`,
      [this.shard],
    );
    return result.rows.map(toOrder);
  }

  async processingSignals(): Promise<Array<{ signal: Signal; plan: PlannedLeg[] | null }>> {
    const result = await this.pool.query<{ payload: Signal; plan: PlannedLeg[] | null }>(
      `select payload, plan from signals where shard = $1 and status = 'processing' order by received_at`,
      [this.shard],
    );
    return result.rows.map((r) => ({ signal: r.payload, plan: r.plan }));
  }

  async signalPlan(signalId: string): Promise<{ signal: Signal; plan: PlannedLeg[] | null; status: string } | undefined> {
    const result = await this.pool.query<{ payload: Signal; plan: PlannedLeg[] | null; status: string }>(
      'select payload, plan, status from signals where id = $1',
      [signalId],
    );
    const row = result.rows[0];
    return row ? { signal: row.payload, plan: row.plan, status: row.status } : undefined;
  }

  async markStatus(clientOrderId: string, status: OrderStatus, reason?: string): Promise<void> {
    const final = finalStatuses.includes(status);
    await this.pool.query(
      `update orders set status = $2, reason = coalesce($3, reason), updated_at = now(),
         sent_at = case when $2 = 'sent' then now() else sent_at end,
         final_at = case when $4 then now() else final_at end
       where client_order_id = $1 and status not in ('filled', 'cancelled', 'rejected')`,
      [clientOrderId, status, reason ?? null, final],
    );
  }

  /**
   * Records the venue's report of an order: its status, and every fill not recorded before with
   * the position and daily PnL it moves, in one transaction.
   */
  async recordReport(order: OrderRow, report: VenueOrderReport, day: string): Promise<FillEffects> {
    return inTransaction(this.pool, async (client) => {
      const effects: FillEffects = { positions: [], realized: 0, fees: 0, newFills: 0 };
      const status = ledgerStatus(report);
      const fees = report.fills.reduce((s, f) => s + f.fee, 0);
      const notional = report.fills.reduce((s, f) => s + f.price * f.size, 0);
      const avg = report.filledSize > 0 ? Math.round(notional / report.filledSize) : null;
      await client.query({
        name: 'executor-update-order',
        text: `update orders set status = $2, venue_order_id = $3, filled_size = $4, avg_price = $5, fees = $6,
                             reason = coalesce($7, reason),
           acked_at = coalesce(acked_at, now()), updated_at = now(), final_at = case when $8 then coalesce(final_at, now()) else null end
         where client_order_id = $1`,
        values: [order.clientOrderId, status, report.venueOrderId, report.filledSize, avg, fees, report.reason ?? null, venueFinal(report)],
      });
      for (const fill of report.fills) {
        const added = await client.query({
          name: 'executor-insert-fill',
          text: `insert into fills (venue, venue_fill_id, client_order_id, shard, market_id, outcome, side, price, size, fee, filled_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, to_timestamp($11::double precision / 1000))
           on conflict (venue, venue_fill_id) do nothing returning id`,
          values: [
            order.venue,
            fill.fillId,
            order.clientOrderId,
            this.shard,
            order.marketId,
            order.outcome,
            order.side,
            fill.price,
            fill.size,
            fill.fee,
            fill.ts,
          ],
        });
        if (added.rowCount === 0) continue;
        effects.newFills++;
        // Create the row if new and lock it in one statement (a no-op DO UPDATE locks the row and
        // returns it): two transactions filling a new position at once must not both start from zero.
        const current = await client.query<{ size: string; cost: string; realized_pnl: string; version: string }>({
          name: 'executor-lock-position',
          text: `insert into positions (shard, market_id, venue, outcome, size, cost, version) values ($1, $2, $3, $4, 0, 0, 0)
                 on conflict (shard, market_id, venue, outcome) do update set version = positions.version
                 returning size, cost, realized_pnl, version`,
          values: [this.shard, order.marketId, order.venue, order.outcome],
        });
        const before: PositionState = current.rows[0]
          ? { size: Number(current.rows[0].size), cost: Number(current.rows[0].cost) }
          : { size: 0, cost: 0 };
        const realizedBefore = current.rows[0] ? Number(current.rows[0].realized_pnl) : 0;
        const version = current.rows[0] ? Number(current.rows[0].version) + 1 : 1;
        const effect = applyFill(before, order.side, fill.price, fill.size, fill.fee);
        await client.query({
          name: 'executor-upsert-position',
          text: `insert into positions (shard, market_id, venue, outcome, size, cost, realized_pnl, version, last_fill_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::double precision / 1000), now())
           on conflict (shard, market_id, venue, outcome) do update set size = excluded.size, cost = excluded.cost,
             realized_pnl = excluded.realized_pnl, version = excluded.version, last_fill_at = excluded.last_fill_at, updated_at = now()`,
          values: [
            this.shard,
            order.marketId,
            order.venue,
            order.outcome,
            effect.position.size,
            effect.position.cost,
            realizedBefore + effect.realized,
            version,
            fill.ts,
          ],
        });
        await client.query({
          name: 'executor-add-pnl',
          text: `insert into pnl_daily (shard, day, realized, fees) values ($1, $2, $3, $4)
           on conflict (shard, day) do update set realized = pnl_daily.realized + excluded.realized, fees = pnl_daily.fees + excluded.fees`,
          values: [this.shard, day, effect.realized, fill.fee],
        });
        effects.realized += effect.realized;
        effects.fees += fill.fee;
        const row: PositionRow = {
          marketId: order.marketId,
          venue: order.venue,
          outcome: order.outcome,
          ...effect.position,
          realized: realizedBefore + effect.realized,
          version,
          lastFillAt: fill.ts,
        };
        effects.positions = effects.positions.filter(
          (p) => !(p.marketId === row.marketId && p.venue === row.venue && p.outcome === row.outcome),
        );
        effects.positions.push(row);
      }
      return effects;
    });
  }

  /**
   * Pays out a resolved market's open positions on one venue, in one transaction: each goes to
   * size 0 and cost 0 with payout − cost realized (pnl.settle) into the position and `day`'s PnL,
   * and a settlements row records it. The rows are locked first, so a fill cannot interleave,
   * and the settlements key (position and version) makes a second settlement a no-op.
   */
  async settleMarket(marketId: string, venue: Venue, winner: Outcome, day: string, evidence: unknown): Promise<SettlementEffects> {
    return inTransaction(this.pool, async (client) => {
      const effects: SettlementEffects = { positions: [], realized: 0, settled: [] };
      const open = await client.query<Omit<PositionRecord, 'market_id' | 'venue'>>(
        `select outcome, size, cost, realized_pnl, version, last_fill_at from positions
         where shard = $1 and market_id = $2 and venue = $3 and size > 0 order by outcome for update`,
        [this.shard, marketId, venue],
      );
      for (const row of open.rows) {
        const before: PositionState = { size: Number(row.size), cost: Number(row.cost) };
        const version = Number(row.version);
        const effect = settle(before, row.outcome === winner);
        const recorded = await client.query(
          `insert into settlements (shard, market_id, venue, outcome, position_version, winner, size, cost, payout, realized, day, evidence)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           on conflict (shard, market_id, venue, outcome, position_version) do nothing returning id`,
          [
            this.shard,
            marketId,
            venue,
            row.outcome,
            version,
            winner,
            before.size,
            before.cost,
            effect.realized + before.cost,
            effect.realized,
            day,
            JSON.stringify(evidence),
          ],
        );
        if (recorded.rowCount === 0) continue;
        const realized = Number(row.realized_pnl) + effect.realized;
        await client.query(
          `update positions set size = 0, cost = 0, realized_pnl = $5, version = $6, updated_at = now()
           where shard = $1 and market_id = $2 and venue = $3 and outcome = $4`,
          [this.shard, marketId, venue, row.outcome, realized, version + 1],
        );
        await client.query(
          `insert into pnl_daily (shard, day, realized) values ($1, $2, $3)
           on conflict (shard, day) do update set realized = pnl_daily.realized + excluded.realized`,
          [this.shard, day, effect.realized],
        );
        effects.positions.push({
          marketId,
          venue,
          outcome: row.outcome,
          ...effect.position,
          realized,
          version: version + 1,
          ...(row.last_fill_at ? { lastFillAt: row.last_fill_at.getTime() } : {}),
        });
        effects.settled.push({
          outcome: row.outcome,
          size: before.size,
          cost: before.cost,
          payout: effect.realized + before.cost,
          realized: effect.realized,
        });
        effects.realized += effect.realized;
      }
      return effects;
    });
  }

  /** Markets (per venue) where this shard holds contracts. */
  async openMarkets(): Promise<Array<{ marketId: string; venue: Venue }>> {
    const result = await this.pool.query<{ market_id: string; venue: Venue }>(
      'select distinct market_id, venue from positions where shard = $1 and size > 0 order by market_id, venue',
      [this.shard],
    );
    return result.rows.map((r) => ({ marketId: r.market_id, venue: r.venue }));
  }

  async addUnwindLoss(day: string, loss: number): Promise<void> {
    await this.pool.query(
      `insert into pnl_daily (shard, day, unwind_loss) values ($1, $2, $3)
       on conflict (shard, day) do update set unwind_loss = pnl_daily.unwind_loss + excluded.unwind_loss`,
      [this.shard, day, loss],
    );
  }

  async completeSignal(signalId: string, outcome: string): Promise<void> {
    await this.pool.query({
      name: 'executor-complete-signal',
      text: `update signals set status = 'done', outcome = $2, completed_at = now() where id = $1 and status = 'processing'`,
      values: [signalId, outcome],
    });
  }

  async positions(): Promise<PositionRow[]> {
    const result = await this.pool.query<PositionRecord>(
      'select market_id, venue, outcome, size, cost, realized_pnl, version, last_fill_at from positions where shard = $1',
      [this.shard],
    );
    return result.rows.map((r) => ({
      marketId: r.market_id,
      venue: r.venue,
      outcome: r.outcome,
      size: Number(r.size),
      cost: Number(r.cost),
      realized: Number(r.realized_pnl),
      version: Number(r.version),
      ...(r.last_fill_at ? { lastFillAt: r.last_fill_at.getTime() } : {}),
    }));
  }

  /** Realized PnL of `day` and of all time. */
  async realized(day: string): Promise<{ today: number; total: number }> {
    const result = await this.pool.query<{ today: string | null; total: string | null }>(
      'select sum(realized) filter (where day = $2) as today, sum(realized) as total from pnl_daily where shard = $1',
      [this.shard, day],
    );
    return { today: Number(result.rows[0]?.today ?? 0), total: Number(result.rows[0]?.total ?? 0) };
  }
}

/**
 * The ledger status for a venue report. `partially_filled` means still resting with some filled;
 * a final order that filled in part is `cancelled` with a non-zero filled_size, as venues report it.
 */
export function ledgerStatus(report: VenueOrderReport): 'acked' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected' {
  switch (report.status) {
    case 'resting':
      return report.filledSize > 0 ? 'partially_filled' : 'acked';
    case 'filled':
      return 'filled';
    case 'cancelled':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
  }
}

/** Whether the venue will not change the order any more. */
export function venueFinal(report: VenueOrderReport): boolean {
  return report.status !== 'resting';
}
