// Names, labels and owner references every child object of a shard carries.
import { apiVersion, kind, type Component, type TradingShard } from '../../contracts/trading-shard.js';

export const shardLabel = 'arbees.io/shard';
export const componentLabel = 'app.kubernetes.io/component';
export const configHashAnnotation = 'arbees.io/config-hash';
export const secretsVersionAnnotation = 'arbees.io/secrets-version';

export const childName = (shard: TradingShard, suffix?: string): string =>
  suffix ? `${shard.metadata.name}-${suffix}` : shard.metadata.name;

/** Labels that select one component's pods (stable: a Deployment's selector is immutable). */
export function selectorLabels(shard: TradingShard, component?: Component): Record<string, string> {
  return component ? { [shardLabel]: shard.metadata.name, [componentLabel]: component } : { [shardLabel]: shard.metadata.name };
}

export function labels(shard: TradingShard, component?: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'arbees',
    'app.kubernetes.io/instance': shard.metadata.name,
    'app.kubernetes.io/part-of': 'arbees',
    'app.kubernetes.io/managed-by': 'arbees-operator',
    ...selectorLabels(shard, component),
  };
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller: true; blockOwnerDeletion: true }>;
}

/** Metadata of a child: in the shard's namespace, owned by it (so deleting the shard collects it). */
export function childMeta(shard: TradingShard, name: string, component?: Component): ObjectMeta {
  if (!shard.metadata.uid)
    throw new Error(`TradingShard ${shard.metadata.namespace}/${shard.metadata.name} has no uid: build children from the stored object`);
  return {
    name,
    namespace: shard.metadata.namespace,
    labels: labels(shard, component),
    ownerReferences: [{ apiVersion, kind, name: shard.metadata.name, uid: shard.metadata.uid, controller: true, blockOwnerDeletion: true }],
  };
}
