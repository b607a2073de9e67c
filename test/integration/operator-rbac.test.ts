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
  applyShard,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  sampleShard,
  testOperatorConfig,
} from '../support/operator-harness.js';
import { resources, type KubeObject } from '../../operator/kube/client.js';

const run = promisify(execFile);

/** The operator's permissions in a namespace it watches, exactly. */
const shardNamespaceVerbs = [
  'configmaps [get list watch create patch delete]',
  'deployments.apps [get list watch create patch delete]',
  'events [create]',
  'networkpolicies.networking.k8s.io [get list watch create patch delete]',
  'poddisruptionbudgets.policy [get list watch create patch delete]',
  // A deleted shard's pods must be gone before its Redis keys are cleaned.
  'pods [list]',
  // Read as metadata only, for the Arbees label; the operator never lists or watches Secrets.
  'secrets [get]',
  'services [get list watch create patch delete]',
  'tradingshards.arbees.io [list watch patch]',
  'tradingshards.arbees.io/finalizers [update]',
  'tradingshards.arbees.io/status [patch]',
].sort();

/** Installs the chart's RBAC (helm template) with `values`; returns what its ServiceAccount may do, and a client acting as it. */
async function chartRbac(release: string, namespace: string, values: string[] = []) {
  const kube = await rig.kube();
  await installCrd();
  await createNamespace(namespace);
  const rendered = (
    await run(tool('helm'), [
      'template',
      release,
      join(packageInfo().root, 'charts', 'arbees'),
      '--namespace',
      namespace,
      '--show-only',
      'templates/operator-rbac.yaml',
      ...values.flatMap((v) => ['--set', v]),
    ])
  ).stdout;
  const file = join(mkdtempSync(join(tmpdir(), 'arbees-rbac-')), 'rbac.yaml');
  writeFileSync(file, rendered);
  await kubectl('apply', '--server-side', '-f', file);
  const account = `system:serviceaccount:${namespace}:${release}-operator`;
  // A real token for the ServiceAccount, from the TokenRequest API.
  const token = (await kubectl('create', 'token', `${release}-operator`, '-n', namespace, '--duration=1h')).trim();
  const cluster = kube.kubeConfig.getCurrentCluster()!;
  const asOperator = new KubeConfig();
  asOperator.loadFromOptions({
    clusters: [{ name: 'rig', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: 'operator', token }],
    contexts: [{ name: 'operator', cluster: 'rig', user: 'operator' }],
    currentContext: 'operator',
  });
  // What the apiserver says the operator may do in a namespace (the self-review rules left out).
  const canI = async (where: string) => {
    const out = await kubectl('auth', 'can-i', '--list', `--as=${account}`, '-n', where, '--no-headers');
    return (
      out
        .split('\n')
        .filter((line) => line.trim() && !/^(selfsubject|\[\/)/.test(line.trim()))
        // "<resource>  <non-resource URLs>  <resource names>  [verb verb ...]": the verbs hold spaces.
        .map((line) => `${line.trim().split(/\s+/)[0]} ${/\[[^\]]*\]\s*$/.exec(line)?.[0].trim() ?? '?'}`)
        .sort()
    );
  };
  const can = (verb: string, resource: string, where: string) =>
    kubectl('auth', 'can-i', verb, resource, `--as=${account}`, '-n', where).catch((e: { stdout: string }) => e.stdout);
  return { asOperator, canI, can };
}

/** Runs an operator with the given client and reconciles a sample shard in `shardNamespace`. */
async function reconcilesUnder(asOperator: KubeConfig, leaseNamespace: string, shardNamespace: string, namespaces?: string[]) {
  const redis = await rig.redis();
  const prometheus = await rig.prometheus();
  const config = { ...testOperatorConfig(redis.url, prometheus.url, `${leaseNamespace}-0`), leaseNamespace };
  const logs: string[] = [];
  const control = redisControlPublisher(redis.url, 30);
  const cleanup = redisCleanup(redis.url);
  const operator = new Operator({
    kubeConfig: asOperator,
    settings: settingsFromConfig(config),
    namespaces,
    identity: config.identity,
    lease: { namespace: leaseNamespace, name: 'arbees-operator', leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
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
    await applyShard(sampleShard('rbac-shard', shardNamespace));
    await eventually(
      async () => {
        const got = await (
          await adminClient()
        ).get<KubeObject & { status?: { observedGeneration?: number; circuitBreaker?: unknown } }>(
          resources.tradingShards,
          shardNamespace,
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
}

describe('operator RBAC (real apiserver)', function () {
  this.timeout(120_000);

  it('grants exactly the verbs the operator uses, and they are enough to run it', async () => {
    const { asOperator, canI, can } = await chartRbac('rbac', 'arbees-rbac');
    await createNamespace('rbac-shards');
    await createNamespace('kube-system').catch(() => undefined);
    expect(await canI('rbac-shards')).to.deep.equal(shardNamespaceVerbs);
    expect(await canI('arbees-rbac')).to.include('leases.coordination.k8s.io [get create update]');
    expect(await can('list', 'secrets', 'rbac-shards')).to.match(/^no/);
    await reconcilesUnder(asOperator, 'arbees-rbac', 'rbac-shards');
  });

  it('with watchNamespaces, grants them in those namespaces only: nothing in kube-system, nothing cluster-wide', async () => {
    await createNamespace('scoped-shards');
    const { asOperator, canI, can } = await chartRbac('scoped', 'arbees-scoped', ['operator.watchNamespaces={scoped-shards}']);
    expect(await canI('scoped-shards')).to.deep.equal(shardNamespaceVerbs);
    expect(await canI('kube-system')).to.deep.equal([]);
    expect(await can('create', 'deployments', 'kube-system')).to.match(/^no/);
    expect(await can('create', 'configmaps', 'default')).to.match(/^no/);
    expect(await can('list', 'tradingshards', 'default')).to.match(/^no/);
    await reconcilesUnder(asOperator, 'arbees-scoped', 'scoped-shards', ['scoped-shards']);
  });
});
