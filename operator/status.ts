// The TradingShard's status, computed from what the operator observes: pure, so every rule about
// phase and conditions is unit-tested without a cluster.
import { shardMarkets } from './builders/config-map.js';
import type { Component, Condition, TradingShard, TradingShardStatus } from '../contracts/trading-shard.js';
import type { KubeObject } from './kube/client.js';
import type { Refusal } from './preflight.js';

export interface DeploymentObservation {
  component: Component;
  generation: number;
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
}

export interface Observation {
  deployments: DeploymentObservation[];
  /** The last reconcile's failure, if it failed. */
  reconcileError?: string;
  /** What the cluster owner's rules refused (those components are not run). */
  refusals?: Refusal[];
  now: Date;
}

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number,
  now: Date,
  previous?: Condition[],
): Condition {
  const before = previous?.find((c) => c.type === type);
  // lastTransitionTime moves only when the status flips.
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type, status, reason, message, lastTransitionTime, observedGeneration: generation };
}

export function computeStatus(shard: TradingShard, observation: Observation): TradingShardStatus {
  const generation = shard.metadata.generation ?? 0;
  const previous = shard.status?.conditions;
  const { deployments, reconcileError, now } = observation;
  const refusals = observation.refusals ?? [];
  const refused = refusals.map((r) => r.message).join('; ');
  const expected = 4;
  const notReady = deployments.filter((d) => d.readyReplicas < d.replicas || d.replicas === 0).map((d) => d.component);
  const rolling = deployments.filter((d) => d.observedGeneration < d.generation || d.updatedReplicas < d.replicas).map((d) => d.component);
  const allPresent = deployments.length === expected;
  const ready = allPresent && notReady.length === 0 && rolling.length === 0 && !reconcileError && refusals.length === 0;

  const conditions: Condition[] = [
    ready
      ? condition('Ready', 'True', 'AllComponentsReady', 'every component is ready', generation, now, previous)
      : condition(
          'Ready',
          'False',
          reconcileError
            ? 'ReconcileFailed'
            : refusals.length > 0
              ? refusals[0]!.reason
              : !allPresent
                ? 'ComponentsMissing'
                : 'ComponentsNotReady',
          reconcileError ??
            (refusals.length > 0 ? `not run: ${refused}` : undefined) ??
            (!allPresent
              ? `${deployments.length} of ${expected} components exist`
              : `not ready: ${[...new Set([...notReady, ...rolling])].join(', ')}`),
          generation,
          now,
          previous,
        ),
    rolling.length > 0 || !allPresent
      ? condition(
          'Progressing',
          'True',
          'RollingOut',
          `rolling out: ${rolling.join(', ') || 'creating components'}`,
          generation,
          now,
          previous,
        )
      : condition('Progressing', 'False', 'RolloutComplete', 'every component runs the current spec', generation, now, previous),
    reconcileError
      ? condition('Degraded', 'True', 'ReconcileFailed', reconcileError, generation, now, previous)
      : refusals.length > 0
        ? condition('Degraded', 'True', refusals[0]!.reason, refused, generation, now, previous)
        : condition('Degraded', 'False', 'ReconcileSucceeded', 'the last reconcile succeeded', generation, now, previous),
    shard.spec.paused
      ? condition(
          'TradingPaused',
          'True',
          'PausedBySpec',
          'spec.paused is true: the executor opens no positions',
          generation,
          now,
          previous,
        )
      : condition('TradingPaused', 'False', 'NotPaused', 'trading is allowed by spec', generation, now, previous),
  ];
  // Status is also computed for shards read back partially (tests, old objects): no executor, no live.
  if (shard.spec.executor?.mode === 'live') {
    const notAuthorized = refusals.find((r) => r.reason === 'LiveTradingNotAuthorized');
    conditions.push(
      notAuthorized
        ? condition('LiveTradingAuthorized', 'False', 'NamespaceNotAuthorized', notAuthorized.message, generation, now, previous)
        : condition(
            'LiveTradingAuthorized',
            'True',
            'NamespaceAuthorized',
            'the cluster owner authorized live trading here',
            generation,
            now,
            previous,
          ),
    );
  }
  const degraded = reconcileError !== undefined || refusals.length > 0;
  const phase: TradingShardStatus['phase'] = shard.spec.paused ? 'Halted' : degraded ? 'Degraded' : ready ? 'Running' : 'Pending';
  return {
    observedGeneration: generation,
    phase,
    conditions,
    marketCount: shardMarkets(shard).length,
    components: Object.fromEntries(deployments.map((d) => [d.component, { replicas: d.replicas, readyReplicas: d.readyReplicas }])),
  };
}

/** The object a server-side apply of `status` to the shard's status subresource sends: its identity and the status only. */
export function statusObject(shard: TradingShard, status: Partial<TradingShardStatus>): KubeObject {
  return {
    apiVersion: shard.apiVersion,
    kind: shard.kind,
    metadata: { name: shard.metadata.name, namespace: shard.metadata.namespace },
    status,
  };
}
