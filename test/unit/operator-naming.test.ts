// Shards share Redis keys by name: the oldest of a name holds it, whatever the namespaces.
import { expect } from 'chai';
import type { KubeObject } from '../../operator/kube/client.js';
import { nameHolder } from '../../operator/naming.js';

const shard = (namespace: string, name: string, creationTimestamp: string): KubeObject => ({
  apiVersion: 'arbees.io/v1alpha1',
  kind: 'TradingShard',
  metadata: { name, namespace, creationTimestamp },
});

describe('operator: shard names', () => {
  const older = shard('b', 'nba', '2026-11-26T01:00:00Z');
  const newer = shard('a', 'nba', '2026-11-26T02:00:00Z');
  const other = shard('c', 'nfl', '2026-11-26T00:00:00Z');
  const all = [newer, other, older];

  it('the oldest shard of a name holds it; a younger twin in another namespace is told who does', () => {
    expect(nameHolder(all, older)).to.equal(undefined);
    expect(nameHolder(all, newer)).to.equal(older);
    expect(nameHolder(all, other)).to.equal(undefined);
  });

  it('breaks a creation-time tie by namespace, so every replica agrees', () => {
    const x = shard('x', 'nhl', '2026-11-26T01:00:00Z');
    const y = shard('y', 'nhl', '2026-11-26T01:00:00Z');
    expect(nameHolder([y, x], y)).to.equal(x);
    expect(nameHolder([y, x], x)).to.equal(undefined);
  });
});
