// TradingShard → every object the shard needs, as plain data. Pure: the reconciler applies it.
import type { TradingShard } from '../../contracts/trading-shard.js';
import { admittedComponents, type Preflight } from '../preflight.js';
import { buildConfigMap } from './config-map.js';
import { buildDeployment } from './deployments.js';
import { childMeta, childName, selectorLabels } from './meta.js';
import { buildNetworkPolicies, buildServices } from './network.js';
import type { OperatorSettings } from './settings.js';

/**
 * A voluntary disruption (a node drain) takes down at most one of the shard's pods at a time, so
 * a drain never blinds both venues at once. Single-replica components cannot promise more
 * without blocking drains forever.
 */
function buildDisruptionBudget(shard: TradingShard): object {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(shard, childName(shard)),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(shard) } },
  };
}

/** Every object of the shard; components the preflight refused get no Deployment. */
export function buildShardObjects(shard: TradingShard, settings: OperatorSettings, verdict: Preflight): object[] {
  const config = buildConfigMap(shard, settings);
  return [
    config.object,
    ...admittedComponents(verdict).map((component) => buildDeployment(shard, component, settings, config.hash, verdict)),
    ...buildServices(shard, settings),
    ...buildNetworkPolicies(shard, settings),
    buildDisruptionBudget(shard),
  ];
}
