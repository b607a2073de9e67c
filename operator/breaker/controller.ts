// Runs each shard's circuit breaker on an interval: evaluates its rules in Prometheus, advances
// the pure state machine, and makes the state visible everywhere it matters — status (its own
// field manager, so the reconciler's status writes never erase it), a condition, an Event on every
// transition, a metric, and the Redis control key the executor obeys.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Condition, TradingShard } from '../api/types.js';
import { containsDesired } from '../diff.js';
import type { EventRecorder } from '../events.js';
import { resources, type KubeClient, type KubeObject } from '../kube/client.js';
import { controlStates, type ControlPublisher } from './control.js';
import { initialSnapshot, reset, step, type BreakerSnapshot, type Reading } from './machine.js';
import type { PrometheusClient } from './prometheus.js';

export const breakerFieldManager = 'arbees-operator-breaker';
export const resetAnnotation = 'arbees.io/reset-breaker';
const stateValue = { Closed: 0, HalfOpen: 1, Open: 2 } as const;
/** In half-open probation, orders are capped at this fraction of spec.executor.limits.maxOrderUsd. */
const probationSizeFraction = 0.25;

type Shard = TradingShard & KubeObject;

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class BreakerController {
  private readonly snapshots = new Map<string, BreakerSnapshot>();
  private readonly gauge: Gauge;

  constructor(
    private readonly deps: {
      client: KubeClient;
      prometheus: PrometheusClient;
      control: ControlPublisher;
      events: EventRecorder;
      log: Logger;
      registry: Registry;
      now?: () => number;
    },
  ) {
    this.gauge =
      (deps.registry.getSingleMetric('arbees_operator_circuit_state') as Gauge | undefined) ??
      new Gauge({ name: 'arbees_operator_circuit_state', help: 'Circuit breaker state per shard: 0 closed, 1 half-open, 2 open', labelNames: ['shard'], registers: [deps.registry] });
  }

  /** One evaluation of one shard. */
  async evaluate(shard: Shard): Promise<BreakerSnapshot> {
    const now = this.deps.now?.() ?? Date.now();
    const key = shard.metadata.uid ?? `${shard.metadata.namespace}/${shard.metadata.name}`;
    const previous = this.snapshots.get(key) ?? restore(shard, now);
    const breaker = shard.spec.circuitBreaker;
    let result;
    if (shard.metadata.annotations?.[resetAnnotation] !== undefined) {
      result = reset(previous, now, `annotation ${resetAnnotation}`);
      // Consume the request, so a restart does not reset again.
      await this.deps.client.mergePatch(resources.tradingShards, shard.metadata.namespace, shard.metadata.name, { metadata: { annotations: { [resetAnnotation]: null } } });
    } else {
      const readings: Record<string, Reading> = Object.fromEntries(
        await Promise.all(breaker.rules.map(async (rule) => [rule.name, await this.deps.prometheus.query(rule.query)] as const)),
      );
      result = step(breaker, previous, readings, now);
    }
    const snapshot = result.snapshot;
    this.snapshots.set(key, snapshot);
    this.gauge.set({ shard: `${shard.metadata.namespace}/${shard.metadata.name}` }, stateValue[snapshot.state]);

    if (result.transition) {
      const { from, to, reason } = result.transition;
      this.deps.log.warn({ shard: `${shard.metadata.namespace}/${shard.metadata.name}`, from, to, reason }, 'circuit breaker changed state');
      await this.deps.events.record(shard, to === 'Open' ? 'Warning' : 'Normal', `CircuitBreaker${to}`, `${from} → ${to}: ${reason}`);
    }
    await this.writeStatus(shard, snapshot, result.prometheusUnavailable);

    // Paused shards are halted through the same key: the executor needs only one thing to check.
    const halted = shard.spec.paused;
    const control = {
      state: halted ? ('open' as const) : controlStates[snapshot.state],
      reason: halted ? 'paused by spec.paused' : snapshot.reason,
      since: snapshot.since,
      ...(snapshot.state === 'HalfOpen' && !halted ? { maxOrder: Math.floor(shard.spec.executor.limits.maxOrderUsd * probationSizeFraction * 10_000) } : {}),
    };
    try {
      await this.deps.control.publish(shard.metadata.name, control, result.transition !== undefined);
    } catch (error) {
      // The key's TTL makes the executor stop on its own if this keeps failing.
      this.deps.log.error({ err: error, shard: shard.metadata.name }, 'could not publish the control state to Redis');
    }
    return snapshot;
  }

  forget(shard: Shard): void {
    this.snapshots.delete(shard.metadata.uid ?? '');
    this.gauge.remove({ shard: `${shard.metadata.namespace}/${shard.metadata.name}` });
  }

  private async writeStatus(shard: Shard, snapshot: BreakerSnapshot, prometheusUnavailable: boolean): Promise<void> {
    const generation = shard.metadata.generation ?? 0;
    const stored = shard.status?.conditions;
    const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
      const before = stored?.find((c) => c.type === type);
      return {
        type,
        status,
        reason,
        message,
        observedGeneration: generation,
        lastTransitionTime: before && before.status === status ? before.lastTransitionTime : isoSeconds(this.deps.now?.() ?? Date.now()),
      };
    };
    const status = {
      circuitBreaker: {
        state: snapshot.state,
        reason: snapshot.reason,
        since: isoSeconds(snapshot.since),
        trips: snapshot.trips,
        ...(snapshot.trippedBy ? { trippedBy: snapshot.trippedBy } : {}),
        ...(snapshot.observedValue ? { observedValue: snapshot.observedValue } : {}),
      },
      conditions: [
        snapshot.state === 'Closed'
          ? condition('CircuitBreakerClosed', 'True', 'Closed', snapshot.reason)
          : condition('CircuitBreakerClosed', 'False', snapshot.state, snapshot.reason),
        prometheusUnavailable
          ? condition('MetricsAvailable', 'False', 'PrometheusUnavailable', 'breaker rules could not be evaluated')
          : condition('MetricsAvailable', 'True', 'RulesEvaluated', 'every breaker rule was evaluated'),
      ],
    };
    // Write only what differs from the stored status: a steady state (or a restart) writes nothing.
    const storedBreaker = shard.status?.circuitBreaker;
    const same =
      storedBreaker !== undefined &&
      containsDesired(status.circuitBreaker, storedBreaker) &&
      containsDesired(storedBreaker, status.circuitBreaker) &&
      status.conditions.every((c) => {
        const found = stored?.find((s) => s.type === c.type);
        return found !== undefined && containsDesired(c, found);
      });
    if (same) return;
    await this.deps.client.apply(
      { apiVersion: shard.apiVersion, kind: shard.kind, metadata: { name: shard.metadata.name, namespace: shard.metadata.namespace }, status },
      breakerFieldManager,
      { subresource: 'status' },
    );
  }
}

/** After an operator restart, continue from the state recorded in the status (an Open breaker stays open). */
function restore(shard: TradingShard, now: number): BreakerSnapshot {
  const recorded = shard.status?.circuitBreaker;
  if (!recorded) return initialSnapshot(now);
  return {
    state: recorded.state,
    since: recorded.since ? Date.parse(recorded.since) : now,
    trips: recorded.trips ?? 0,
    trippedBy: recorded.trippedBy,
    observedValue: recorded.observedValue,
    reason: recorded.reason ?? 'restored from status',
    holdingSince: {},
  };
}
