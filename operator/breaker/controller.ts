// Runs each shard's circuit breaker on an interval: evaluates its rules in Prometheus, advances
// the pure state machine, and makes the state visible everywhere it matters — status (its own
// field manager, so the reconciler's status writes never erase it), a condition, an Event on every
// transition, a metric, and the Redis control key the executor obeys.
//
// The control key is published during the evaluation itself; the Kubernetes writes (Events,
// status) go to a small queue drained in the background, a few at a time, the latest state per
// shard. So when many shards trip at once (Prometheus gone, fail safe), every executor is told
// within one pass of queries instead of one apiserver round trip after another.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Condition, TradingShard } from '../../contracts/trading-shard.js';
import { containsDesired } from '../diff.js';
import { statusObject } from '../status.js';
import type { EventRecorder } from '../events.js';
import { KubeApiError, resources, type KubeClient, type KubeObject } from '../kube/client.js';
import { controlState, type ControlPublisher } from './control.js';
import { initialSnapshot, reset, step, type BreakerSnapshot, type Reading } from './machine.js';
import type { PrometheusClient } from './prometheus.js';

export const breakerFieldManager = 'arbees-operator-breaker';
export const resetAnnotation = 'arbees.io/reset-breaker';
const stateValue = { Closed: 0, HalfOpen: 1, Open: 2 } as const;
/** Kubernetes writes (status, Events) in flight at once. */
const writeConcurrency = 8;

type Shard = TradingShard & KubeObject;

/** What an evaluation leaves to write to Kubernetes: the latest state, and every transition's Event. */
interface PendingWrite {
  shard: Shard;
  snapshot: BreakerSnapshot;
  failures: string[];
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
}

const snapshotKey = (shard: Shard) => shard.metadata.uid ?? `${shard.metadata.namespace}/${shard.metadata.name}`;
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class BreakerController {
  private readonly snapshots = new Map<string, BreakerSnapshot>();
  private readonly gauge: Gauge;
  private readonly pending = new Map<string, PendingWrite>();
  private readonly writing = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  /** The shards of the last pass, to forget those deleted since. */
  private known = new Map<string, Shard>();

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
      new Gauge({
        name: 'arbees_operator_circuit_state',
        help: 'Circuit breaker state per shard: 0 closed, 1 half-open, 2 open',
        labelNames: ['shard'],
        registers: [deps.registry],
      });
  }

  /**
   * One evaluation of every shard, a few at a time (each is a handful of Prometheus queries).
   * Shards gone since the last pass are forgotten; a shard refused for its name must not write
   * the holder's control key, so the caller leaves it out.
   */
  async evaluateAll(shards: Shard[]): Promise<void> {
    const current = new Set(shards.map(snapshotKey));
    for (const [key, shard] of this.known) if (!current.has(key)) this.forget(shard);
    this.known = new Map(shards.map((s) => [snapshotKey(s), s]));
    for (let i = 0; i < shards.length; i += 8) {
      await Promise.all(
        shards
          .slice(i, i + 8)
          .map((shard) =>
            this.evaluate(shard).catch((error: unknown) =>
              this.deps.log.error(
                { err: error, shard: `${shard.metadata.namespace}/${shard.metadata.name}` },
                'circuit breaker evaluation failed',
              ),
            ),
          ),
      );
    }
  }

  /** One evaluation of one shard. */
  async evaluate(shard: Shard): Promise<BreakerSnapshot> {
    const now = this.deps.now?.() ?? Date.now();
    const key = snapshotKey(shard);
    const previous = this.snapshots.get(key) ?? restore(shard, now);
    const breaker = shard.spec.circuitBreaker;
    let result;
    if (shard.metadata.annotations?.[resetAnnotation] !== undefined) {
      result = reset(previous, now, `annotation ${resetAnnotation}`);
      // Consume the request, so a restart does not reset again.
      await this.deps.client.mergePatch(resources.tradingShards, shard.metadata.namespace, shard.metadata.name, {
        metadata: { annotations: { [resetAnnotation]: null } },
      });
    } else {
      const readings: Record<string, Reading> = Object.fromEntries(
        await Promise.all(breaker.rules.map(async (rule) => [rule.name, await this.deps.prometheus.query(rule.query)] as const)),
      );
      result = step(breaker, previous, readings, now);
    }
    const snapshot = result.snapshot;
    this.snapshots.set(key, snapshot);
    const shardName = `${shard.metadata.namespace}/${shard.metadata.name}`;
    this.gauge.set({ shard: shardName }, stateValue[snapshot.state]);

    // The control key now: it is what stops the executor, and it must not wait on (or be lost to
    // a failure of) the Kubernetes writes, which are queued below.
    // Paused shards are halted through the same key: the executor needs only one thing to check.
    const halted = shard.spec.paused;
    const control = controlState(snapshot, shard.spec.executor.limits.maxOrderUsd, halted);
    try {
      await this.deps.control.publish(shard.metadata.name, control, result.transition !== undefined);
    } catch (error) {
      // The key's TTL makes the executor stop on its own if this keeps failing.
      this.deps.log.error({ err: error, shard: shard.metadata.name }, 'could not publish the control state to Redis');
    }

    const events: PendingWrite['events'] = [];
    if (result.transition) {
      const { from, to, reason } = result.transition;
      this.deps.log.warn({ shard: shardName, from, to, reason }, 'circuit breaker changed state');
      // The trip count makes every transition's message distinct, so the recorder's de-duplication
      // (meant for retried failures) never swallows a second trip with the same reading.
      events.push({
        type: to === 'Open' ? 'Warning' : 'Normal',
        reason: `CircuitBreaker${to}`,
        message: `${from} → ${to}: ${reason} (trips: ${snapshot.trips})`,
      });
    }
    const earlier = this.pending.get(key);
    this.pending.set(key, { shard, snapshot, failures: result.failures, events: [...(earlier?.events ?? []), ...events] });
    this.pump();
    return snapshot;
  }

  /** Resolves when every queued Kubernetes write has been made (or has failed and been logged). */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.writing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    for (const [key, write] of this.pending) {
      if (this.writing.size >= writeConcurrency) return;
      if (this.writing.has(key)) continue; // one write at a time per shard, in order
      this.pending.delete(key);
      this.writing.add(key);
      void this.write(write)
        .catch((error: unknown) => {
          if (error instanceof KubeApiError && error.status === 404) return; // deleted meanwhile
          this.deps.log.error(
            { err: error, shard: `${write.shard.metadata.namespace}/${write.shard.metadata.name}` },
            'could not write the circuit breaker status',
          );
        })
        .finally(() => {
          this.writing.delete(key);
          this.pump();
          if (this.pending.size === 0 && this.writing.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        });
    }
  }

  private async write({ shard, snapshot, failures, events }: PendingWrite): Promise<void> {
    for (const event of events) await this.deps.events.record(shard, event.type, event.reason, event.message);
    // A failed status write is retried by the next evaluation, which finds the stored status stale.
    await this.writeStatus(shard, snapshot, failures);
  }

  forget(shard: Shard): void {
    this.snapshots.delete(snapshotKey(shard));
    this.pending.delete(snapshotKey(shard));
    this.gauge.remove({ shard: `${shard.metadata.namespace}/${shard.metadata.name}` });
  }

  private async writeStatus(shard: Shard, snapshot: BreakerSnapshot, failures: string[]): Promise<void> {
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
        failures.length > 0
          ? condition('MetricsAvailable', 'False', 'PrometheusUnavailable', `breaker rules could not be evaluated: ${failures.join('; ')}`)
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
    await this.deps.client.apply(statusObject(shard, status), breakerFieldManager, { subresource: 'status' });
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
