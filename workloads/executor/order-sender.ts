// Sends order intents to their venues and reconciles orders whose outcome we do not know, recording
// every venue report in the ledger (order status, new fills, positions, PnL in one transaction) and
// then in the portfolio. An order is only ever sent by the run that wrote its intent; any other
// run finds it at the venue by client order id instead, so no order goes out twice.
import type { Logger } from 'pino';
import type { Venue } from '../../contracts/messages.js';
import { VenueAmbiguous, VenueRejected, type OrderRequest, type VenueClient, type VenueOrderReport } from '../../venues/orders.js';
import type { Ledger, OrderRow } from './ledger.js';
import type { LocalBreakers } from './local-breakers.js';
import type { ExecutorMetrics } from './metrics.js';
import type { Portfolio } from './portfolio.js';
import type { ExecutorSettings } from './settings.js';
import { sleep } from './sleep.js';

/** Test seams: run around each send (a hook that never resolves freezes the order path there). */
export interface ExecutorHooks {
  beforeSend?(order: OrderRow): void | Promise<void>;
  afterSend?(order: OrderRow, report: VenueOrderReport): void | Promise<void>;
}

/** What one order came to: its size filled, and the venue's report when the venue has the order. */
export interface OrderResult {
  filled: number;
  order?: OrderRow;
  report?: VenueOrderReport;
}

/** Thrown on the order path once the executor is killed: a crash stops everything where it is. */
class Crash extends Error {}

export interface OrderSenderDeps {
  ledger: Ledger;
  venues: Partial<Record<Venue, VenueClient>>;
  portfolio: Portfolio;
  metrics: ExecutorMetrics;
  localBreakers: LocalBreakers;
  /** Live orders are marked `sent` in the ledger before they leave. */
  live: boolean;
  settings: () => ExecutorSettings;
  killed: () => boolean;
  hooks?: ExecutorHooks;
  log?: Logger;
  now: () => number;
}

export class OrderSender {
  constructor(private readonly deps: OrderSenderDeps) {}

  /** Sends an intent written by this run, then records the outcome. */
  async send(order: OrderRow): Promise<OrderResult> {
    const { ledger, metrics, localBreakers, hooks, log } = this.deps;
    this.haltIfKilled();
    await hooks?.beforeSend?.(order);
    this.haltIfKilled();
    const client = this.venue(order);
    if (this.deps.live) await ledger.markStatus(order.clientOrderId, 'sent');
    metrics.orders.inc({ venue: order.venue, status: 'sent' });
    const began = performance.now();
    let report: VenueOrderReport | undefined;
    try {
      report = await client.place(order);
    } catch (error) {
      if (error instanceof VenueRejected) {
        localBreakers.venueAnswered();
        await ledger.markStatus(order.clientOrderId, 'rejected', error.message.slice(0, 500));
        metrics.orders.inc({ venue: order.venue, status: 'rejected' });
        if (error.kind === 'insufficient-balance') await this.balanceRefused(order, error.message);
        else log?.warn({ order: order.clientOrderId, venue: order.venue, err: error.message }, 'order rejected by the venue');
        return { filled: 0, order };
      }
      if (!(error instanceof VenueAmbiguous)) throw error;
      log?.warn({ order: order.clientOrderId, venue: order.venue, err: error.message }, 'order outcome unknown; reconciling');
      await ledger.markStatus(order.clientOrderId, 'unknown', error.message.slice(0, 500));
    }
    this.noteRoundTrip(order.venue, performance.now() - began, report !== undefined);
    if (!report) {
      const resolved = await this.reconcile({ ...order, status: 'unknown' });
      return { filled: resolved?.filledSize ?? 0, order, ...(resolved ? { report: resolved } : {}) };
    }
    this.haltIfKilled();
    await hooks?.afterSend?.(order, report);
    this.haltIfKilled();
    report = await this.cancelIfResting(client, order, report);
    await this.record(order, report);
    return { filled: report.filledSize, order, report };
  }

  /**
   * Brings a non-final order in line with its venue. Found: record it (cancel first if it rests).
   * Not found: wait out the grace period, then mark it never sent. Returns the venue's report, or
   * undefined when the order never reached the venue.
   *
   * An order that may have left (sent, or its send's outcome unknown) may still be on its way when
   * we first look: a request given up on after a timeout, or a dead run's last bytes, held in a
   * proxy or a loaded venue. Its grace runs from when we begin to look, not from its creation,
   * which a timed-out send has already outlived. An intent not marked sent never left.
   */
  async reconcile(order: OrderRow): Promise<VenueOrderReport | undefined> {
    const { ledger, metrics } = this.deps;
    const client = this.venue(order);
    const mayBeOnItsWay = order.status !== 'intent';
    const graceEnd = Math.max(order.createdTs, mayBeOnItsWay ? this.deps.now() : 0) + this.deps.settings().ambiguousGraceMs;
    for (;;) {
      const found = await client.find(order);
      if (found) {
        const report = await this.cancelIfResting(client, order, found);
        await this.record(order, report);
        metrics.reconciled.inc({ result: 'found' });
        return report;
      }
      if (this.deps.now() >= graceEnd) break;
      await sleep(Math.min(250, Math.max(10, graceEnd - this.deps.now())));
    }
    await ledger.markStatus(order.clientOrderId, 'cancelled', 'not found at the venue: never sent');
    metrics.orders.inc({ venue: order.venue, status: 'cancelled' });
    metrics.reconciled.inc({ result: 'never_sent' });
    return undefined;
  }

  /** Our orders are immediate-or-cancel and never rest; if one does, it must not outlive the decision. */
  private async cancelIfResting(client: VenueClient, order: OrderRow, report: VenueOrderReport): Promise<VenueOrderReport> {
    if (report.status !== 'resting') return report;
    await client.cancel(order, report.venueOrderId);
    return (await client.find(order)) ?? report;
  }

  /**
   * The account cannot pay: a rejection like any other for the order, but one an operator must hear
   * of (fund the account or lower the limits), so it is counted, kept as a risk event and logged as
   * an event (`event: InsufficientBalance`, the reason a Kubernetes Event would carry).
   */
  private async balanceRefused(order: OrderRow, detail: string): Promise<void> {
    this.deps.metrics.balanceRefusals.inc({ venue: order.venue });
    await this.deps.ledger.riskEvent(order.signalId, 'insufficient-balance', `${order.venue} order ${order.clientOrderId}: ${detail}`);
    this.deps.log?.error(
      { event: 'InsufficientBalance', venue: order.venue, order: order.clientOrderId, signal: order.signalId, detail },
      `${order.venue} refused an order for want of balance: fund the account or lower the shard's limits`,
    );
  }

  /** Trades that matched and then failed on chain: no fill, counted, kept as a risk event, logged. */
  private async tradesFailed(order: OrderRow, failed: NonNullable<VenueOrderReport['failedTrades']>): Promise<void> {
    const { metrics, ledger, log } = this.deps;
    metrics.failedTrades.inc({ venue: order.venue }, failed.length);
    const size = failed.reduce((s, t) => s + t.size, 0);
    await ledger.riskEvent(
      order.signalId,
      'trade-failed',
      `${order.venue} order ${order.clientOrderId}: ${failed.length} trades (${size}) failed on chain: ${failed[0]!.reason}`.slice(0, 1000),
    );
    log?.warn(
      { event: 'TradeFailed', venue: order.venue, order: order.clientOrderId, trades: failed.map((t) => t.tradeId), size },
      'matched trades failed on chain: they are not fills (the leg is short by their size)',
    );
  }

  private async record(order: OrderRow, report: VenueOrderReport): Promise<void> {
    if (report.failedTrades?.length) await this.tradesFailed(order, report.failedTrades);
    const effects = await this.deps.ledger.recordReport(order, report, this.deps.portfolio.tradingDay());
    this.deps.portfolio.apply(effects);
    if (report.status !== 'resting') {
      this.deps.metrics.orders.inc({
        venue: order.venue,
        status: report.filledSize > 0 && report.status === 'cancelled' ? 'partially_filled' : report.status,
      });
    }
  }

  /** Feeds the executor's own breakers: a slow round trip, or a venue that did not answer. */
  private noteRoundTrip(venue: Venue, rttMs: number, answered: boolean): void {
    const { metrics, localBreakers, log, now } = this.deps;
    metrics.orderLatency.observe({ venue }, rttMs / 1000);
    if (localBreakers.roundTrip(rttMs, now())) {
      log?.warn({ venue, rttMs: Math.round(rttMs) }, 'venue round trip over the limit: latency breaker open');
    }
    if (answered) localBreakers.venueAnswered();
    else if (localBreakers.venueError(now())) {
      log?.warn(
        { venue, limit: this.deps.settings().localBreakers.venueErrors.maxConsecutive },
        'venue failures in a row: venue-error breaker open',
      );
    }
  }

  private venue(order: OrderRequest): VenueClient {
    const client = this.deps.venues[order.venue];
    if (!client) throw new Error(`no client for ${order.venue}`);
    return client;
  }

  private haltIfKilled(): void {
    if (this.deps.killed()) throw new Crash('killed');
  }
}
