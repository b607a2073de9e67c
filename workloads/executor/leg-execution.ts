// Carrying out an accepted signal's plan, fresh or resumed after a crash. Legs go one after the
// other: the first (the less reliable venue, Polymarket by default) as an IOC limit, the second for
// what the first filled. A shortfall of the second leg is unwound on the price ladder of
// unwind-ladder.ts (a failed hedge falls back to closing), counted and measured. Every order's
// intent is in the ledger before it is sent, under a client order id derived from the shard, the
// signal and the leg, so a resumed signal finds its orders instead of sending them again.
import type { Logger } from 'pino';
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Leg, Signal, Venue } from '../../contracts/messages.js';
import type { OrderRequest } from '../../venues/orders.js';
import type { BookCache } from './books.js';
import { clientOrderId } from './ids.js';
import { finalStatuses, type Ledger, type OrderRow, type PlannedLeg } from './ledger.js';
import type { ExecutorMetrics } from './metrics.js';
import type { OrderResult, OrderSender } from './order-sender.js';
import type { Portfolio } from './portfolio.js';
import type { ExecutorSettings } from './settings.js';
import { closePrices, hedgePrices, paidPrice, unwindCost } from './unwind-ladder.js';
import type { VenueGrid } from './order-grid.js';

export type LegOrder = OrderRequest & { leg: string };

/** Runs one leg's order: finds it if the ledger has it, else writes its intent and sends it. */
type Step = (leg: string, make: () => LegOrder) => Promise<OrderResult>;

/** Sorts a decision's legs into send order (`firstVenue` first) and names them `a` and `b`. */
export function planLegs(legs: Leg[], firstVenue: Venue): PlannedLeg[] {
  const ordered = [...legs].sort((a, b) => (a.venue === b.venue ? 0 : a.venue === firstVenue ? -1 : 1));
  return ordered.map((leg, i) => ({
    leg: i === 0 ? 'a' : 'b',
    venue: leg.venue,
    outcome: leg.outcome,
    side: leg.side,
    limitPrice: leg.limitPrice,
    size: leg.size,
  }));
}

export interface LegExecutionDeps {
  shard: string;
  /** The venues' grid of a market: a second leg on Kalshi goes in whole contracts where fractions are not taken. */
  grid?: (marketId: string) => VenueGrid;
  ledger: Ledger;
  orders: OrderSender;
  portfolio: Portfolio;
  books: BookCache;
  metrics: ExecutorMetrics;
  settings: () => ExecutorSettings;
  log?: Logger;
  now: () => number;
}

export class LegExecution {
  constructor(private readonly deps: LegExecutionDeps) {}

  /**
   * Runs (or resumes) an accepted signal to its end: first leg, second leg for what the first
   * filled, unwind of any shortfall; then marks the signal done. `fresh` carries the plan and the
   * first leg's intent written by this run: the only case in which a first leg is sent. Resumed
   * (after a crash), every order already in the ledger is reconciled, never resent.
   */
  async carryOut(signal: Signal, fresh?: { plan: PlannedLeg[]; first: OrderRow }): Promise<void> {
    const { ledger, orders, portfolio } = this.deps;
    let plan: PlannedLeg[];
    let existing: Map<string, OrderRow>;
    if (fresh) {
      plan = fresh.plan;
      existing = new Map();
    } else {
      const stored = await ledger.signalPlan(signal.id);
      if (!stored || stored.status !== 'processing') return;
      plan = stored.plan ?? [];
      existing = new Map((await ledger.ordersOf(signal.id)).map((o) => [o.leg, o]));
    }
    const found = async (order: OrderRow): Promise<OrderResult> => {
      const report = await orders.reconcile(order);
      return { filled: report?.filledSize ?? 0, order, ...(report ? { report } : {}) };
    };
    const step = async (leg: string, make: (() => LegOrder) | undefined): Promise<OrderResult> => {
      const known = existing.get(leg);
      if (known) return finalStatuses.includes(known.status) ? { filled: known.filledSize, order: known } : found(known);
      if (leg === 'a' && fresh) return orders.send(fresh.first);
      if (!make) return { filled: 0 };
      const { row, created } = await ledger.createIntent({ ...make(), signalId: signal.id });
      return created ? orders.send(row) : found(row);
    };

    const legA = plan[0];
    if (!legA) {
      await ledger.completeSignal(signal.id, 'no plan');
      return;
    }
    const a = await step('a', undefined);
    portfolio.releaseLeg(signal.id, legA);
    const legB = plan[1];
    if (!legB || a.filled === 0) {
      await ledger.completeSignal(
        signal.id,
        a.filled === 0 ? 'first leg unfilled' : a.filled === legA.size ? 'filled' : 'partially filled',
      );
      return;
    }
    // What the first leg filled, as the second leg's venue takes it; a fraction it cannot take is unwound.
    const whole = legB.venue === 'kalshi' && this.deps.grid?.(signal.marketId).kalshiFractional === false;
    const sizeB = whole ? Math.floor(a.filled / 100) * 100 : a.filled;
    const b = sizeB > 0 ? await step('b', () => this.orderRequest(signal, legB, 'b', sizeB, legB.limitPrice, 'buy')) : { filled: 0 };
    portfolio.releaseLeg(signal.id, legB);
    if (b.filled >= a.filled) {
      await ledger.completeSignal(signal.id, 'both legs filled');
      return;
    }
    const outcome = await this.unwind(signal, legA, legB, a, a.filled - b.filled, step);
    await ledger.completeSignal(signal.id, outcome);
  }

  /** The order for one leg of a signal, on the venue's own market id, under its idempotent client order id. */
  orderRequest(
    signal: Signal,
    planned: Pick<PlannedLeg, 'venue' | 'outcome'>,
    leg: string,
    size: number,
    limitPrice: number,
    side: 'buy' | 'sell',
  ): LegOrder {
    const market = this.deps.portfolio.market(signal.marketId);
    const venueMarket =
      planned.venue === 'kalshi'
        ? (market?.kalshi.ticker ?? signal.marketId)
        : planned.outcome === 'yes'
          ? (market?.polymarket.yesTokenId ?? signal.marketId)
          : (market?.polymarket.noTokenId ?? signal.marketId);
    return {
      clientOrderId: clientOrderId(this.deps.shard, signal.id, leg),
      leg,
      venue: planned.venue,
      marketId: signal.marketId,
      venueMarket,
      outcome: planned.outcome,
      side,
      limitPrice: Math.max(0, Math.min(PRICE_ONE, limitPrice)),
      size,
      createdTs: this.deps.now(),
    };
  }

  /**
   * Unwinds a one-legged excess in bounded steps; returns the signal's outcome text. The cost of
   * the unwind against the plan (hedge: paid over the planned price; close: sold under what the
   * first leg paid, plus fees) is counted in arbees_legging_loss_usd_total and pnl_daily.
   */
  private async unwind(signal: Signal, legA: PlannedLeg, legB: PlannedLeg, a: OrderResult, excess: number, step: Step): Promise<string> {
    const { metrics } = this.deps;
    const ladder = this.deps.settings().unwind;
    let left = excess;
    let loss = 0;
    const fillsOf = (r: OrderResult) => r.report?.fills ?? [];
    if (ladder.policy === 'hedge') {
      for (const [i, price] of hedgePrices(legB.limitPrice, ladder).entries()) {
        if (left <= 0) break;
        const size = left;
        const result = await step(`h${i + 1}`, () => this.orderRequest(signal, legB, `h${i + 1}`, size, price, 'buy'));
        left -= Math.min(left, result.filled);
        loss += unwindCost(fillsOf(result), 'buy', legB.limitPrice);
      }
      if (left === 0) {
        metrics.leggingUnwinds.inc({ policy: 'hedge', result: 'hedged' });
        await this.recordLeggingLoss(loss);
        return `legged: hedged ${excess} by buying ${legB.venue} ${legB.outcome}`;
      }
      metrics.leggingUnwinds.inc({ policy: 'hedge', result: 'fell_back_to_close' });
    }
    const paidA = paidPrice(fillsOf(a), legA.limitPrice);
    const bestBid = this.deps.books.get(legA.venue, signal.marketId, legA.outcome)?.bids[0]?.[0];
    for (const [i, price] of closePrices(bestBid, paidA, ladder).entries()) {
      if (left <= 0) break;
      const size = left;
      const result = await step(`c${i + 1}`, () => this.orderRequest(signal, legA, `c${i + 1}`, size, price, 'sell'));
      left -= Math.min(left, result.filled);
      loss += unwindCost(fillsOf(result), 'sell', paidA);
    }
    await this.recordLeggingLoss(loss);
    if (left === 0) {
      metrics.leggingUnwinds.inc({ policy: 'close', result: 'closed' });
      return `legged: closed ${excess} of ${legA.venue} ${legA.outcome}`;
    }
    metrics.leggingUnwinds.inc({ policy: 'close', result: 'unresolved' });
    await this.deps.ledger.riskEvent(
      signal.id,
      'legging-unresolved',
      `${left} of ${excess} one-legged on ${legA.venue} ${legA.outcome} after ${ladder.steps} steps; held as a position`,
    );
    this.deps.log?.error({ signal: signal.id, left, excess }, 'one-legged position left after every unwind step');
    return `legged: ${left} of ${excess} unresolved`;
  }

  private async recordLeggingLoss(loss: number): Promise<void> {
    if (loss <= 0) return;
    this.deps.metrics.leggingLoss.inc(loss / 10_000);
    await this.deps.ledger.addUnwindLoss(this.deps.portfolio.tradingDay(), loss);
  }
}
