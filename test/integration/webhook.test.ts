// The operator's admission webhook on a real kube-apiserver: a shard whose breaker rule is not
// valid PromQL, reads too much history or gives no numbers, or that names an image the owner did
// not allow, is refused at `kubectl apply` with the reason; a valid one is admitted; and with no
// webhook answering (failurePolicy Ignore) the reconciler reports the same problem instead.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { settingsFromConfig } from '../../operator/config.js';
import { createLogger } from '../../lib/log.js';
import { startWebhook, type Webhook } from '../../operator/webhook.js';
import { rig } from '../rig/index.js';
import { createNamespace, installCrd, kubectl, sampleShard, testOperatorConfig } from '../support/operator-harness.js';

const namespace = 'webhook-shards';

/** A CA and a serving certificate for 127.0.0.1 signed by it (openssl, as the chart's would be). */
function certificates(dir: string): { certDir: string; caPem: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=arbees-webhook-ca',
  );
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=arbees-webhook');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  return { certDir: dir, caPem: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}

describe('admission webhook (real apiserver)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'arbees-webhook-'));
  let webhook: Webhook;
  const apply = (name: string, edit: (spec: Record<string, unknown> & { circuitBreaker: { rules: object[] } }) => void) => {
    const shard = sampleShard(name, namespace);
    edit(shard.spec as never);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(shard));
    return kubectl('apply', '--server-side', '-f', file).then(
      () => 'admitted',
      (e: Error) => e.message,
    );
  };

  before(async () => {
    await rig.kube();
    await installCrd();
    await createNamespace(namespace);
    const { certDir, caPem } = certificates(dir);
    const [redis, prometheus] = [await rig.redis(), await rig.prometheus()];
    const settings = settingsFromConfig({
      ...testOperatorConfig(redis.url, prometheus.url),
      workloadImages: { canary: 'registry.example/arbees:2' },
    });
    webhook = await startWebhook({
      port: 0,
      host: '127.0.0.1',
      certDir,
      settings,
      log: createLogger({ name: 'webhook', level: 'silent' }),
    });
    const configuration = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'arbees-test-webhook' },
      webhooks: [
        {
          name: 'tradingshards.arbees.io',
          clientConfig: { url: `https://127.0.0.1:${webhook.port}/validate-tradingshard`, caBundle: Buffer.from(caPem).toString('base64') },
          rules: [{ apiGroups: ['arbees.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['tradingshards'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          timeoutSeconds: 5,
        },
      ],
    };
    writeFileSync(join(dir, 'vwc.yaml'), stringify(configuration));
    await kubectl('apply', '--server-side', '-f', join(dir, 'vwc.yaml'));
  });

  after(async () => {
    await kubectl('delete', 'validatingwebhookconfiguration', 'arbees-test-webhook', '--ignore-not-found');
    await webhook?.close();
  });

  it('admits a shard whose rules are valid and whose images are allowed', async () => {
    expect(await apply('valid', (spec) => (spec.image = 'canary'))).to.equal('admitted');
  });

  it('refuses a rule that is not valid PromQL, naming the rule and where the query breaks', async () => {
    const refused = await apply('bad-promql', (spec) =>
      spec.circuitBreaker.rules.push({ name: 'typo', query: 'sum(rate(arbees_orders_total[5m])', op: '>', threshold: 1, for: '0s' }),
    );
    expect(refused).to.contain('denied the request').and.contain('rules[').and.contain('(typo): query not valid PromQL');
  });

  it('refuses a query that reads more than an hour, or that gives no numbers', async () => {
    const long = await apply('long', (spec) =>
      spec.circuitBreaker.rules.push({ name: 'year', query: 'max_over_time(up[365d])', op: '>', threshold: 1, for: '0s' }),
    );
    expect(long).to.contain('(year): query reads 525600 minutes of history; a rule may read at most 60');
    const matrix = await apply('matrix', (spec) =>
      spec.circuitBreaker.rules.push({ name: 'raw', query: 'up[5m]', op: '>', threshold: 1, for: '0s' }),
    );
    expect(matrix).to.contain('(raw): query must give a number per series (a vector or a scalar), not a matrix');
  });

  it('refuses an image name the cluster owner did not allow', async () => {
    expect(await apply('nightly', (spec) => (spec.image = 'nightly'))).to.contain('image "nightly"');
  });

  it('with no webhook answering, admits (failurePolicy Ignore): the reconciler reports the rule instead (unit-tested)', async () => {
    await webhook.close();
    expect(
      await apply('unchecked', (spec) =>
        spec.circuitBreaker.rules.push({ name: 'typo', query: 'rate(', op: '>', threshold: 1, for: '0s' }),
      ),
    ).to.equal('admitted');
  });
});
