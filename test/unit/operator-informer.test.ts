// HTTP edge cases of the informer (expired watches, dropped connections), which a real apiserver
// will not produce on demand; nock plays the apiserver for those moments only.
import { expect } from 'chai';
import nock from 'nock';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, resources, type KubeObject } from '../../operator/kube/client.js';
import { Informer, type ChangeType } from '../../operator/kube/informer.js';

const server = 'https://kube.test:6443';
const path = '/apis/arbees.io/v1alpha1/tradingshards';
const shard = (name: string, rv: string): KubeObject => ({
  apiVersion: 'arbees.io/v1alpha1',
  kind: 'TradingShard',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});
const listBody = (rv: string, items: KubeObject[]) => ({
  kind: 'TradingShardList',
  metadata: { resourceVersion: rv },
  items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
});
const watchLines = (...events: unknown[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't0ken' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeClient(kc);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A watch that stays open for the rest of the test, however slow the machine (stop() ends it). */
const HANGS = 600_000;

describe('operator informer', function () {
  this.timeout(60_000);
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('relists after a 410 Gone watch error and reports what changed meanwhile', async () => {
    const api = nock(server)
      .get(path)
      .query((q) => q.watch === undefined)
      .matchHeader('authorization', 'Bearer t0ken')
      .reply(200, listBody('10', [shard('a', '5'), shard('b', '6')]))
      .get(path)
      .query((q) => q.watch === '1' && q.resourceVersion === '10')
      .reply(
        200,
        watchLines(
          { type: 'MODIFIED', object: shard('a', '11') },
          { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (12)' } },
        ),
      )
      .get(path)
      .query((q) => q.watch === undefined)
      .reply(200, listBody('20', [shard('a', '11'), shard('c', '19')]))
      .get(path)
      .query((q) => q.watch === '1' && q.resourceVersion === '20')
      .delay(HANGS)
      .reply(200, '');
    const seen: Array<[ChangeType, string]> = [];
    const informer = new Informer(client(), resources.tradingShards, (type, object) => seen.push([type, object.metadata.name]), {
      resyncMs: 3_600_000,
    });
    informer.start();
    try {
      await until(() => seen.length >= 6, 'the relist');
      expect(seen).to.deep.equal([
        ['added', 'a'],
        ['added', 'b'],
        ['updated', 'a'],
        ['resync', 'a'], // unchanged since the watch told us
        ['added', 'c'],
        ['deleted', 'b'], // vanished while we were not watching
      ]);
      expect(
        informer
          .list()
          .map((o) => o.metadata.name)
          .sort(),
      ).to.deep.equal(['a', 'c']);
      expect(informer.get('ns', 'c')).to.include({ apiVersion: 'arbees.io/v1alpha1', kind: 'TradingShard' });
    } finally {
      await informer.stop();
    }
    expect(api.pendingMocks()).to.have.length(0);
  });

  it('caches objects without metadata.managedFields, and keeps the cached copy when a relist finds it unchanged', async () => {
    const managedFields = [
      {
        manager: 'arbees-operator',
        operation: 'Apply',
        apiVersion: 'arbees.io/v1alpha1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': {} },
      },
    ];
    const withFields = (name: string, rv: string) => {
      const object = shard(name, rv);
      return { ...object, metadata: { ...object.metadata, labels: { team: 'x' }, managedFields }, spec: { paused: false } };
    };
    nock(server)
      .get(path)
      .query((q) => q.watch === undefined)
      .reply(200, listBody('10', [withFields('a', '5'), withFields('b', '6')]))
      .get(path)
      .query((q) => q.watch === '1' && q.resourceVersion === '10')
      .reply(200, watchLines({ type: 'MODIFIED', object: withFields('b', '11') }))
      .get(path)
      .query((q) => q.watch === undefined)
      .reply(200, listBody('12', [withFields('a', '5'), withFields('b', '11')]))
      .get(path)
      .query((q) => q.watch === '1' && q.resourceVersion === '12')
      .delay(HANGS)
      .reply(200, '');
    const seen: Array<[ChangeType, string, KubeObject]> = [];
    // resyncMs 0: relist after the first watch ends, as a periodic resync does.
    const informer = new Informer(client(), resources.tradingShards, (type, object) => seen.push([type, object.metadata.name, object]), {
      resyncMs: 0,
    });
    informer.start();
    try {
      await until(() => seen.length >= 5, 'the watch event and the relist');
      expect(seen.map(([type, name]) => [type, name])).to.deep.equal([
        ['added', 'a'],
        ['added', 'b'],
        ['updated', 'b'],
        ['resync', 'a'],
        ['resync', 'b'],
      ]);
      const a = informer.get('ns', 'a')!;
      const b = informer.get('ns', 'b')!;
      for (const cached of [a, b]) {
        expect(cached.metadata).not.to.have.property('managedFields');
        expect(cached.metadata.labels).to.deep.equal({ team: 'x' });
        expect(cached.spec).to.deep.equal({ paused: false });
      }
      expect(b.metadata.resourceVersion).to.equal('11');
      // The relist's copies were identical: the cache still holds (and resync announces) the first ones.
      expect(seen[3]![2]).to.equal(seen[0]![2]);
      expect(a).to.equal(seen[0]![2]);
      expect(b).to.equal(seen[2]![2]);
    } finally {
      await informer.stop();
    }
  });

  it('keeps going after the connection fails, with backoff, and reports the error', async () => {
    nock(server)
      .get(path)
      .query(true)
      .replyWithError('connect ECONNREFUSED 10.0.0.1:6443')
      .get(path)
      .query((q) => q.watch === undefined)
      .reply(200, listBody('3', [shard('a', '2')]))
      .get(path)
      .query((q) => q.watch === '1')
      .delay(HANGS)
      .reply(200, '');
    const errors: number[] = [];
    const seen: string[] = [];
    const informer = new Informer(client(), resources.tradingShards, (_t, o) => seen.push(o.metadata.name), {
      onError: (_e, retryInMs) => errors.push(retryInMs),
    });
    informer.start();
    try {
      await informer.waitForSync();
      expect(errors).to.deep.equal([500]);
      expect(seen).to.deep.equal(['a']);
      expect(informer.hasSynced).to.equal(true);
    } finally {
      await informer.stop();
    }
  });
});
