// What the operator builds for a shard the cluster owner's rules admit in full: every Secret it
// names exists with the Arbees label, its images are allowed, a live shard's namespace authorized.
import type { TradingShard } from '../../contracts/trading-shard.js';
import { buildShardObjects } from '../../operator/builders/index.js';
import type { OperatorSettings } from '../../operator/builders/settings.js';
import type { KubeObject } from '../../operator/kube/client.js';
import { credentialsLabel, preflight, secretsInUse, type Preflight } from '../../operator/preflight.js';

export function admittedVerdict(shard: TradingShard, settings: OperatorSettings): Preflight {
  const labels = new Map(secretsInUse(shard).map((use) => [use.name, { [credentialsLabel]: 'true' }]));
  return preflight(shard, { ...settings, liveTradingNamespaces: [...settings.liveTradingNamespaces, shard.metadata.namespace] }, labels);
}

export function expectedObjects(shard: TradingShard, settings: OperatorSettings): KubeObject[] {
  return buildShardObjects(shard, settings, admittedVerdict(shard, settings)) as KubeObject[];
}
