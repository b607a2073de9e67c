// The executor's Prometheus metrics, in a registry of its own with the shard as a
// default label. Money gauges are in dollars (the unit in the name); the ledger keeps exact integers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { venues } from '../../contracts/messages.js';
import { riskRules } from './risk.js';
import { refusalReasons, vettingRules } from './signal-vetting.js';

export interface ExecutorMetrics {
  registry: Registry;
  orders: Counter<'venue' | 'status'>;
  orderLatency: Histogram<'venue'>;
  signalToOrder: Histogram;
  signals: Counter<'outcome'>;
  pnl: Gauge;
  dailyLoss: Gauge;
  exposure: Gauge;
  riskRejections: Counter<'rule'>;
  /** Stream entries that are not a signal signed by the detector (malformed, oversized, unsigned, bad_signature): never traded. */
  signalsRefused: Counter<'reason'>;
  leggingUnwinds: Counter<'policy' | 'result'>;
  leggingLoss: Counter;
  reconciled: Counter<'result'>;
  settlements: Counter<'venue'>;
  /** Orders the venue refused because the account cannot pay for them. */
  balanceRefusals: Counter<'venue'>;
  /** Matches that failed to settle on chain (Polymarket FAILED trades): not fills. */
  failedTrades: Counter<'venue'>;
  /** The executor's own breakers, read at scrape time from the given source. */
  onCollectLocalBreakers(source: () => Record<string, 0 | 1>): void;
}

export function createExecutorMetrics(shard: string, options: { defaultMetrics?: boolean } = {}): ExecutorMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ shard });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let localBreakers: (() => Record<string, 0 | 1>) | undefined;
  new Gauge({
    name: 'arbees_executor_local_breaker_open',
    help: "1 while one of the executor's own breakers (latency, venue_errors) stops new signals",
    labelNames: ['breaker'],
    registers,
    collect() {
      for (const [breaker, open] of Object.entries(localBreakers?.() ?? {})) this.set({ breaker }, open);
    },
  });
  const metrics: ExecutorMetrics = {
    registry,
    orders: new Counter({
      name: 'arbees_orders_total',
      help: 'Orders by venue and status (sent, then their final status)',
      labelNames: ['venue', 'status'],
      registers,
    }),
    orderLatency: new Histogram({
      name: 'arbees_order_latency_seconds',
      help: 'Venue round trip of an order placement',
      labelNames: ['venue'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    signalToOrder: new Histogram({
      name: 'arbees_signal_to_order_seconds',
      help: 'From taking a signal off the stream to its first order being sent (risk + ledger intent)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    }),
    signals: new Counter({ name: 'arbees_executor_signals_total', help: 'Signals taken by outcome', labelNames: ['outcome'], registers }),
    pnl: new Gauge({ name: 'arbees_pnl_usd', help: 'Realized (all time) plus unrealized PnL, fees included', registers }),
    dailyLoss: new Gauge({ name: 'arbees_daily_loss_usd', help: "Today's loss (realized + unrealized; 0 when in profit)", registers }),
    exposure: new Gauge({
      name: 'arbees_exposure_usd',
      help: 'Worst-case loss over game outcomes of positions and in-flight orders',
      registers,
    }),
    riskRejections: new Counter({
      name: 'arbees_risk_rejections_total',
      help: 'Signals refused, by the risk rule that refused them',
      labelNames: ['rule'],
      registers,
    }),
    signalsRefused: new Counter({
      name: 'arbees_signals_refused_total',
      help: 'Signal stream entries refused before any decision, by reason (malformed, oversized, unsigned, bad_signature)',
      labelNames: ['reason'],
      registers,
    }),
    leggingUnwinds: new Counter({
      name: 'arbees_legging_unwinds_total',
      help: 'One-legged fills unwound (hedge: buy the missing leg; close: sell the filled excess), by result',
      labelNames: ['policy', 'result'],
      registers,
    }),
    leggingLoss: new Counter({
      name: 'arbees_legging_loss_usd_total',
      help: 'Cost of unwinding one-legged fills versus the planned set',
      registers,
    }),
    reconciled: new Counter({
      name: 'arbees_reconciled_orders_total',
      help: 'Non-final orders resolved against the venue at start-up or after an ambiguous send',
      labelNames: ['result'],
      registers,
    }),
    settlements: new Counter({
      name: 'arbees_settlements_total',
      help: "Positions paid out at their market's resolution, by venue",
      labelNames: ['venue'],
      registers,
    }),
    balanceRefusals: new Counter({
      name: 'arbees_balance_refusals_total',
      help: 'Orders the venue refused for want of balance (or allowance), by venue',
      labelNames: ['venue'],
      registers,
    }),
    failedTrades: new Counter({
      name: 'arbees_failed_trades_total',
      help: 'Matched trades that failed on chain and so are not fills (Polymarket FAILED), by venue',
      labelNames: ['venue'],
      registers,
    }),
    onCollectLocalBreakers: (source) => (localBreakers = source),
  };
  for (const rule of [...riskRules, ...vettingRules]) metrics.riskRejections.inc({ rule }, 0);
  for (const reason of refusalReasons) metrics.signalsRefused.inc({ reason }, 0);
  for (const venue of venues) {
    metrics.settlements.inc({ venue }, 0);
    metrics.balanceRefusals.inc({ venue }, 0);
    metrics.failedTrades.inc({ venue }, 0);
  }
  return metrics;
}
