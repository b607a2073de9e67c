// The chart's RBAC is both enough (the operator works under it, with a real service-account token)
// and no more than it uses (the apiserver's own view of its permissions matches a fixed list).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { redisControlPublisher } from '../../operator/breaker/control.js';
import { redisCleanup } from '../../operator/cleanup.js';
import { settingsFromConfig } from '../../operator/config.js';
import { Operator } from '../../operator/manager.js';
import { createLogger } from '../../lib/log.js';
import { packageInfo } from '../../lib/package-root.js';
import { rig } from '../rig/index.js';
import { tool } from '../rig/tools.js';
import {
  adminClient,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  sampleShard,
  testOperatorConfig,
} from '../support/operator-harness.js';
import { resources, type KubeObject } from '../../operator/kube/client.js';

const run = promisify(execFile);

describe('operator RBAC (real apiserver)', function () {
  this.timeout(120_000);

  it('grants exactly the verbs the operator uses, and they are enough to run it', async () => {
    const kube = await rig.kube();
    await installCrd();
    await createNamespace('arbees-rbac');
    await createNamespace('rbac-shards');
    const rendered = (
      await run(tool('helm'), [
        'template',
        'rbac',
        join(packageInfo().root, 'charts', 'arbees'),
        '--namespace',
        'arbees-rbac',
        '--show-only',
        'templates/operator-rbac.yaml',
      ])
    ).stdout;
    const file = join(mkdtempSync(join(tmpdir(), 'arbees-rbac-')), 'rbac.yaml');
    writeFileSync(file, rendered);
    await kubectl('apply', '--server-side', '-f', file);

    // A real token for the ServiceAccount, from the TokenRequest API.
    const token = (await kubectl('create', 'token', 'rbac-operator', '-n', 'arbees-rbac', '--duration=1h')).trim();
    const cluster = kube.kubeConfig.getCurrentCluster()!;
    const asOperator = new KubeConfig();
    asOperator.loadFromOptions({
      clusters: [{ name: 'rig', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'operator', token }],
      contexts: [{ name: 'operator', cluster: 'rig', user: 'operator' }],
      currentContext: 'operator',
    });

    // What the apiserver says the operator may do, cluster-wide and in its own namespace.
    const canI = async (namespace: string) => {
      const out = await kubectl(
        'auth',
        'can-i',
        '--list',
        `--as=system:serviceaccount:arbees-rbac:rbac-operator`,
        '-n',
        namespace,
        '--no-headers',
      );
      return (
        out
          .split('\n')
          .filter((line) => line.trim() && !/^(selfsubject|\[\/)/.test(line.trim()))
          // "<resource>  <non-resource URLs>  <resource names>  [verb verb ...]": the verbs hold spaces.
          .map((line) => `${line.trim().split(/\s+/)[0]} ${/\[[^\]]*\]\s*$/.exec(line)?.[0].trim() ?? '?'}`)
          .sort()
      );
    };
    expect(await canI('rbac-shards')).to.deep.equal(
      [
        'configmaps [get list watch create patch delete]',
        'deployments.apps [get list watch create patch delete]',
        'events [create]',
        'networkpolicies.networking.k8s.io [get list watch create patch delete]',
        'poddisruptionbudgets.policy [get list watch create patch delete]',
        // Read as metadata only, for the Arbees label; the operator never lists or watches Secrets.
        'secrets [get]',
        'services [get list watch create patch delete]',
        'tradingshards.arbees.io [list watch patch]',
        'tradingshards.arbees.io/finalizers [update]',
        'tradingshards.arbees.io/status [patch]',
      ].sort(),
    );
    expect(await canI('arbees-rbac')).to.include('leases.coordination.k8s.io [get create update]');
    expect(
      await kubectl('auth', 'can-i', 'list', 'secrets', '--as=system:serviceaccount:arbees-rbac:rbac-operator', '-n', 'rbac-shards').catch(
        (e: { stdout: string }) => e.stdout,
      ),
    ).to.match(/^no/);

    // And it is enough: the operator reconciles a shard under that token.
    const redis = await rig.redis();
    const prometheus = await rig.prometheus();
    const config = { ...testOperatorConfig(redis.url, prometheus.url, 'rbac-operator-0'), leaseNamespace: 'arbees-rbac' };
    const logs: string[] = [];
    const control = redisControlPublisher(redis.url, 30);
    const cleanup = redisCleanup(redis.url);
    const operator = new Operator({
      kubeConfig: asOperator,
      settings: settingsFromConfig(config),
      identity: config.identity,
      lease: { namespace: 'arbees-rbac', name: 'arbees-operator', leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
      cleanup,
      log: createLogger(
        { name: 'rbac-operator', level: 'warn' },
        new Writable({ write: (c: Buffer, _e, done) => (logs.push(c.toString()), done()) }),
      ),
      registry: new Registry(),
      breaker: { prometheus: { url: prometheus.url }, intervalMs: 500, control },
    });
    operator.start();
    try {
      await (await adminClient()).apply(sampleShard('rbac-shard', 'rbac-shards'), 'arbees-tests');
      await eventually(
        async () => {
          const got = await (
            await adminClient()
          ).get<KubeObject & { status?: { observedGeneration?: number; circuitBreaker?: unknown } }>(
            resources.tradingShards,
            'rbac-shards',
            'rbac-shard',
          );
          return got.status?.observedGeneration === got.metadata.generation && got.status?.circuitBreaker ? true : undefined;
        },
        30_000,
        "the shard reconciled under the operator's own permissions",
      );
      expect(logs.join('')).not.to.match(/forbidden/i);
    } finally {
      await operator.stop();
      control.close();
      cleanup.close();
    }
  });
});
