// The TradingShard's status, computed from what the operator observes: pure, so every rule about
// phase and conditions is unit-tested without a cluster.
import { shardMarkets } from './builders/config-map.js';
import type { Component, Condition, TradingShard, TradingShardStatus } from '../contracts/trading-shard.js';

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
  const expected = 4;
  const notReady = deployments.filter((d) => d.readyReplicas < d.replicas || d.replicas === 0).map((d) => d.component);
  const rolling = deployments.filter((d) => d.observedGeneration < d.generation || d.updatedReplicas < d.replicas).map((d) => d.component);
  const allPresent = deployments.length === expected;
  const ready = allPresent && notReady.length === 0 && rolling.length === 0 && !reconcileError;

  const conditions: Condition[] = [
    ready
      ? condition('Ready', 'True', 'AllComponentsReady', 'every component is ready', generation, now, previous)
      : condition(
          'Ready',
          'False',
          reconcileError ? 'ReconcileFailed' : !allPresent ? 'ComponentsMissing' : 'ComponentsNotReady',
          reconcileError ??
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
  const phase: TradingShardStatus['phase'] = shard.spec.paused ? 'Halted' : reconcileError ? 'Degraded' : ready ? 'Running' : 'Pending';
  return {
    observedGeneration: generation,
    phase,
    conditions,
    marketCount: shardMarkets(shard).length,
    components: Object.fromEntries(deployments.map((d) => [d.component, { replicas: d.replicas, readyReplicas: d.readyReplicas }])),
  };
}
