// The operator's own metrics: reconciles and their duration, Kubernetes API requests, leadership,
// the work queue and the shard cache.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface OperatorMetrics {
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram;
  kubeRequests: Counter<'verb' | 'resource' | 'code'>;
  leader: Gauge;
}

/** `sizes` is read at each scrape (the leader's queue and cache; zero on a standby). */
export function createOperatorMetrics(registry: Registry, sizes: { queueDepth(): number; shards(): number }): OperatorMetrics {
  const registers = [registry];
  new Gauge({
    name: 'arbees_operator_queue_depth',
    help: 'Shards waiting to be reconciled',
    registers,
    collect() {
      this.set(sizes.queueDepth());
    },
  });
  new Gauge({
    name: 'arbees_operator_shards',
    help: "TradingShards in the leader's cache",
    registers,
    collect() {
      this.set(sizes.shards());
    },
  });
  return {
    reconciles: new Counter({ name: 'arbees_operator_reconcile_total', help: 'Reconciles by result', labelNames: ['result'], registers }),
    reconcileDuration: new Histogram({
      name: 'arbees_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one shard',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    kubeRequests: new Counter({
      name: 'arbees_operator_kube_requests_total',
      help: 'Kubernetes API requests by verb, resource and status code',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    }),
    leader: new Gauge({ name: 'arbees_operator_leader', help: '1 while this replica holds the lease', registers }),
  };
}
