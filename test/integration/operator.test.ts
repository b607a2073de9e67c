// The operator against a real control plane (etcd + kube-apiserver + garbage collector), Redis
// and Prometheus: what a user sees when they apply, edit, pause and delete a TradingShard.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { KubeApiError, resourceOf, resources, type KubeObject } from '../../operator/kube/client.js';
import { finalizer } from '../../operator/reconciler.js';
import { rig } from '../rig/index.js';
import {
  adminClient,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  sampleShard,
  applyShard,
  startTestOperator,
  type RunningOperator,
} from '../support/operator-harness.js';
import { expectedObjects } from '../support/shard-objects.js';

type Shard = TradingShard & KubeObject;

async function getShard(namespace: string, name: string): Promise<Shard> {
  return (await adminClient()).get<Shard>(resources.tradingShards, namespace, name);
}

/** Waits until the operator has reconciled the shard's current generation. */
async function reconciled(namespace: string, name: string): Promise<Shard> {
  return eventually(
    async () => {
      const shard = await getShard(namespace, name);
      return shard.status?.observedGeneration === shard.metadata.generation && shard.metadata.finalizers?.includes(finalizer)
        ? shard
        : undefined;
    },
    30_000,
    `${namespace}/${name} to be reconciled`,
  );
}

async function children(shard: Shard, settings: RunningOperator['settings']): Promise<Map<string, KubeObject>> {
  const client = await adminClient();
  const found = new Map<string, KubeObject>();
  for (const desired of expectedObjects(shard, settings)) {
    const live = await client.find(resourceOf(desired.kind), desired.metadata.namespace, desired.metadata.name);
    if (live) found.set(`${desired.kind}/${desired.metadata.name}`, live);
  }
  return found;
}

describe('operator (real apiserver)', function () {
  this.timeout(120_000);
  let op: RunningOperator | undefined;

  before(async () => {
    await installCrd();
  });
  afterEach(async () => {
    await op?.stop();
    op = undefined;
  });

  it('creates every object of a shard, owned by it, with status, finalizer and an Event', async () => {
    await createNamespace('op-create');
    op = await startTestOperator();
    await applyShard(sampleShard('nba-east', 'op-create'));
    const shard = await reconciled('op-create', 'nba-east');
    const desired = expectedObjects(shard, op.settings);
    const live = await eventually(
      async () => {
        const got = await children(shard, op!.settings);
        return got.size === desired.length ? got : undefined;
      },
      30_000,
      'every child object',
    );
    expect(desired.filter((o) => o.kind === 'Deployment')).to.have.length(4);
    for (const object of live.values()) {
      expect(object.metadata.ownerReferences, `${object.kind}/${object.metadata.name}`).to.deep.include({
        apiVersion: 'arbees.io/v1alpha1',
        kind: 'TradingShard',
        name: 'nba-east',
        uid: shard.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      });
      expect(object.metadata.labels).to.include({ 'app.kubernetes.io/managed-by': 'arbees-operator', 'arbees.io/shard': 'nba-east' });
    }
    expect(shard.status?.phase).to.equal('Pending'); // no kubelet here: pods never become ready
    expect(shard.status?.conditions?.find((c) => c.type === 'Ready')).to.include({
      status: 'False',
      observedGeneration: shard.metadata.generation,
    });
    const events = JSON.parse(await kubectl('get', 'events', '-n', 'op-create', '-o', 'json')) as {
      items: Array<{ reason: string; involvedObject: { name: string } }>;
    };
    expect(events.items.map((e) => `${e.involvedObject.name}:${e.reason}`)).to.include('nba-east:Created');
  });

  it('on a spec edit changes only the objects the edit touches', async () => {
    await createNamespace('op-edit');
    op = await startTestOperator();
    const original = sampleShard('edit', 'op-edit');
    await applyShard(original);
    const first = await reconciled('op-edit', 'edit');
    const before = await eventually(
      async () => {
        const got = await children(first, op!.settings);
        return got.size === expectedObjects(first, op!.settings).length ? got : undefined;
      },
      30_000,
      'children',
    );
    await op.operator.idle();
    const edited: Shard = {
      ...original,
      spec: { ...original.spec, detector: { ...original.spec.detector, minEdgeBps: original.spec.detector.minEdgeBps + 7 } },
    };
    await applyShard(edited);
    const second = await eventually(
      async () => {
        const shard = await reconciled('op-edit', 'edit');
        return shard.metadata.generation! > first.metadata.generation! ? shard : undefined;
      },
      30_000,
      'the edit to be reconciled',
    );
    const after = await children(second, op.settings);
    const changed = [...after]
      .filter(([key, object]) => before.get(key)?.metadata.resourceVersion !== object.metadata.resourceVersion)
      .map(([key]) => key);
    // The rendered config changes, and with its hash every pod template; nothing else.
    expect(changed).to.include('ConfigMap/edit-config');
    expect(changed.every((key) => key === 'ConfigMap/edit-config' || key.startsWith('Deployment/'))).to.equal(
      true,
      `changed: ${changed.join(', ')}`,
    );
    expect(changed.some((key) => key.startsWith('Service/') || key.startsWith('NetworkPolicy/'))).to.equal(false);
  });

  it('makes no writes in a steady state, across resyncs and across an operator restart', async () => {
    await createNamespace('op-steady');
    // Only this namespace, and a Prometheus timeout a loaded machine cannot hit: a shard of another
    // test, or a timed-out breaker query, is a real change of state and would rightly be written.
    const steady = { resyncMs: 1_000, namespace: 'op-steady', prometheusTimeoutMs: 15_000 };
    op = await startTestOperator(steady);
    await applyShard(sampleShard('steady', 'op-steady'));
    await reconciled('op-steady', 'steady');
    await new Promise((r) => setTimeout(r, 1_500)); // let the breaker write its first status
    await op.operator.idle();
    const settled = await op.writes();
    await new Promise((r) => setTimeout(r, 3_500)); // three resyncs and several breaker evaluations
    await op.operator.idle();
    expect(await op.writes()).to.equal(settled);
    await op.stop();
    op = await startTestOperator(steady);
    await eventually(
      () => (op!.operator.isLeader && op!.operator.readiness().ready ? true : undefined),
      20_000,
      'the new operator to lead',
    );
    await new Promise((r) => setTimeout(r, 2_500));
    await op.operator.idle();
    expect(await op.writes()).to.equal(0);
  });

  it('pauses trading without deleting anything', async () => {
    await createNamespace('op-pause');
    op = await startTestOperator();
    const shard = sampleShard('pausable', 'op-pause');
    await applyShard(shard);
    await reconciled('op-pause', 'pausable');
    await applyShard({ ...shard, spec: { ...shard.spec, paused: true } });
    const paused = await eventually(
      async () => {
        const s = await reconciled('op-pause', 'pausable');
        return s.status?.phase === 'Halted' ? s : undefined;
      },
      30_000,
      'Halted',
    );
    expect(paused.status?.conditions?.find((c) => c.type === 'TradingPaused')).to.include({ status: 'True' });
    const redis = new Redis((await rig.redis()).url);
    try {
      const control = await eventually(
        async () => {
          const raw = await redis.get('arbees:pausable:control');
          const parsed = raw ? (JSON.parse(raw) as { state: string; reason: string }) : undefined;
          return parsed?.state === 'open' ? parsed : undefined;
        },
        10_000,
        'the control key to halt trading',
      );
      expect(control.reason).to.equal('paused by spec.paused');
    } finally {
      redis.disconnect();
    }
    const deployments = JSON.parse(await kubectl('get', 'deployments', '-n', 'op-pause', '-o', 'json')) as {
      items: Array<{ spec: { replicas: number } }>;
    };
    expect(deployments.items).to.have.length(4);
    expect(deployments.items.every((d) => d.spec.replicas >= 1)).to.equal(true);
  });

  it('on delete runs the finalizer (Redis keys removed) and the children are garbage-collected', async () => {
    await createNamespace('op-delete');
    op = await startTestOperator();
    await applyShard(sampleShard('doomed', 'op-delete'));
    await reconciled('op-delete', 'doomed');
    const redis = new Redis((await rig.redis()).url);
    try {
      await redis.xadd('arbees:doomed:quotes', '*', 'q', '1');
      await redis.set('arbees:other-shard:control', 'keep me');
      await kubectl('delete', 'tradingshard', 'doomed', '-n', 'op-delete', '--wait=true', '--timeout=60s');
      expect(await redis.exists('arbees:doomed:quotes', 'arbees:doomed:control')).to.equal(0);
      expect(await redis.get('arbees:other-shard:control')).to.equal('keep me');
    } finally {
      redis.disconnect();
    }
    await eventually(
      async () => {
        const left = JSON.parse(
          await kubectl(
            'get',
            'deployments,services,configmaps,networkpolicies,poddisruptionbudgets',
            '-n',
            'op-delete',
            '-l',
            'arbees.io/shard=doomed',
            '-o',
            'json',
          ),
        ) as { items: unknown[] };
        return left.items.length === 0 ? true : undefined;
      },
      60_000,
      'garbage collection of the children',
    );
  });

  it('refuses a second shard of the same name in another namespace (they would share Redis keys) until the first is gone', async () => {
    await createNamespace('op-twin-a');
    await createNamespace('op-twin-b');
    op = await startTestOperator();
    await applyShard(sampleShard('twin', 'op-twin-a'));
    await reconciled('op-twin-a', 'twin');
    await applyShard(sampleShard('twin', 'op-twin-b'));
    const refused = await eventually(
      async () => {
        const s = await getShard('op-twin-b', 'twin');
        return s.status?.phase === 'Degraded' ? s : undefined;
      },
      30_000,
      'the second twin marked Degraded',
    );
    expect(refused.status?.conditions?.find((c) => c.type === 'Degraded')?.message).to.contain('held by the older shard op-twin-a/twin');
    const deployments = async (namespace: string) =>
      (JSON.parse(await kubectl('get', 'deployments', '-n', namespace, '-l', 'arbees.io/shard=twin', '-o', 'json')) as { items: unknown[] })
        .items.length;
    expect(await deployments('op-twin-b')).to.equal(0);
    const events = JSON.parse(await kubectl('get', 'events', '-n', 'op-twin-b', '-o', 'json')) as { items: Array<{ reason: string }> };
    expect(events.items.some((e) => e.reason === 'NameConflict')).to.equal(true);
    // Deleting the refused twin must not clean the holder's keys.
    const redis = new Redis((await rig.redis()).url);
    try {
      // (Not the control key: the holder's breaker rewrites that every second anyway.)
      await redis.xadd('arbees:twin:quotes', '*', 'quote', 'the holder’s');
      await kubectl('delete', 'tradingshard', 'twin', '-n', 'op-twin-b', '--wait=true', '--timeout=60s');
      expect(await redis.xlen('arbees:twin:quotes')).to.equal(1);
    } finally {
      redis.disconnect();
    }
    // Once the holder is gone, a new twin gets the name and runs.
    await kubectl('delete', 'tradingshard', 'twin', '-n', 'op-twin-a', '--wait=true', '--timeout=60s');
    await applyShard(sampleShard('twin', 'op-twin-b'));
    await reconciled('op-twin-b', 'twin');
    await eventually(async () => ((await deployments('op-twin-b')) === 4 ? true : undefined), 30_000, 'the twin’s Deployments');
  });

  it('with two replicas, only the leader writes; the other takes over when it stops', async () => {
    await createNamespace('op-ha');
    const a = await startTestOperator({ identity: 'replica-a' });
    const b = await startTestOperator({ identity: 'replica-b' });
    try {
      await eventually(() => (a.operator.isLeader || b.operator.isLeader ? true : undefined), 20_000, 'a leader');
      const [leader, follower] = a.operator.isLeader ? [a, b] : [b, a];
      await applyShard(sampleShard('ha', 'op-ha'));
      await reconciled('op-ha', 'ha');
      expect(await follower.writes()).to.equal(0);
      expect(await leader.writes()).to.be.above(0);
      await leader.stop();
      await eventually(() => (follower.operator.isLeader ? true : undefined), 10_000, 'the follower to take over');
      const shard = sampleShard('ha', 'op-ha');
      await applyShard({ ...shard, spec: { ...shard.spec, paused: true } });
      await eventually(
        async () => ((await reconciled('op-ha', 'ha')).status?.phase === 'Halted' ? true : undefined),
        30_000,
        'the new leader to reconcile',
      );
      expect(await follower.writes()).to.be.above(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('keeps working across an apiserver restart', async () => {
    await createNamespace('op-restart');
    op = await startTestOperator();
    const shard = sampleShard('survivor', 'op-restart');
    await applyShard(shard);
    await reconciled('op-restart', 'survivor');
    await (await rig.kube()).restartApiserver();
    await applyShard({ ...shard, spec: { ...shard.spec, paused: true } });
    await eventually(
      async () => ((await reconciled('op-restart', 'survivor')).status?.phase === 'Halted' ? true : undefined),
      60_000,
      'reconcile after the restart',
    );
  });

  it('refuses a write based on a stale read (conflict) instead of overwriting', async () => {
    await createNamespace('op-conflict');
    await applyShard(sampleShard('raced', 'op-conflict'));
    const client = await adminClient();
    const stale = await getShard('op-conflict', 'raced');
    await client.mergePatch(resources.tradingShards, 'op-conflict', 'raced', { metadata: { labels: { touched: 'yes' } } });
    const error = await client
      .mergePatch(resources.tradingShards, 'op-conflict', 'raced', {
        metadata: { finalizers: [finalizer], resourceVersion: stale.metadata.resourceVersion },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(KubeApiError);
    expect((error as KubeApiError).status).to.equal(409);
    // The operator, reading fresh state, then succeeds (its work queue retries failed keys).
    op = await startTestOperator();
    const done = await reconciled('op-conflict', 'raced');
    expect(done.metadata.labels).to.include({ touched: 'yes' });
  });
});
