// Shards share Redis keys by name (arbees:<name>:quotes, :signals, :control): two shards of one
// name in different namespaces would feed each other's detectors and drive each other's
// executors. The oldest keeps the name; any other is not run (Degraded) until it is renamed or
// the holder is gone, and its deletion must not clean the holder's keys.
import type { KubeObject } from './kube/client.js';

/** The shard holding `shard`'s name when that is another shard; undefined when `shard` holds it. */
export function nameHolder<T extends KubeObject>(shards: T[], shard: T): T | undefined {
  const created = (s: T) => (typeof s.metadata.creationTimestamp === 'string' ? s.metadata.creationTimestamp : '');
  const holder = shards
    .filter((s) => s.metadata.name === shard.metadata.name)
    .sort((a, b) => created(a).localeCompare(created(b)) || (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? ''))[0];
  return holder && holder.metadata.namespace !== shard.metadata.namespace ? holder : undefined;
}
