// The Helm chart (charts/arbees): lint, the values schema, what it renders, a server-side dry-run of
// every values file of the matrix on the real kube-apiserver, and a full install → upgrade →
// uninstall with the operator actually running under the chart's ServiceAccount, RBAC and settings.
//
// The rig has no scheduler and no kubelet, so the chart's Deployment never gets pods (and
// `helm install --wait` would wait forever). Instead the test checks the Deployment's spec and then
// runs what a pod would run: `arbees <container args>` as local processes (two, like the two
// replicas), with the environment resolved from the Deployment's own env (its settings, the
// connections Secret the chart wrote, the downward API) and a token of the chart's
// ServiceAccount. Only the HTTP port differs (two processes on one host).
//
// prometheus-operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule) are not in the rig: the
// dry-run installs trimmed copies of them (monitoringCrds below: the real v1 schemas, cut down to
// the fields the chart uses), so strict server-side field validation still checks every field name,
// type and pattern the chart writes there. The rules' PromQL is checked by promtool in
// alert-rules.test.ts.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { parseAllDocuments, stringify } from 'yaml';
import { freePort } from '../../cli/local/process.js';
import { loadOperatorConfig, operatorEnv } from '../../operator/config.js';
import { streamKeys } from '../../contracts/messages.js';
import { packageInfo } from '../../lib/package-root.js';
import { rig } from '../rig/index.js';
import { tool } from '../rig/tools.js';
import { createNamespace, eventually, installCrd, kubectl, kubectlFails } from '../support/operator-harness.js';

const run = promisify(execFile);
const root = packageInfo().root;
const chart = join(root, 'charts', 'arbees');
const scratch = mkdtempSync(join(tmpdir(), 'arbees-chart-'));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
  };
  [key: string]: unknown;
}
type Container = {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: {
      fieldRef?: { fieldPath: string };
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath?: string }>;
};
type PodSpec = {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> } }>;
  priorityClassName?: string;
  [key: string]: unknown;
};
type Workload = K8sObject & {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
};

const helmHome = mkdtempSync(join(tmpdir(), 'arbees-chart-helm-'));
// Values files, manifests and the operator's token kubeconfig: removed after the run.
after(() => {
  for (const dir of [scratch, helmHome]) rmSync(dir, { recursive: true, force: true });
});
const helmEnv = (kubeconfig?: string) => ({
  ...process.env,
  HELM_CACHE_HOME: helmHome,
  HELM_CONFIG_HOME: helmHome,
  HELM_DATA_HOME: helmHome,
  KUBECONFIG: kubeconfig ?? join(scratch, 'no-cluster'),
});

async function helm(args: string[], kubeconfig?: string): Promise<string> {
  const { stdout } = await run(tool('helm'), args, { env: helmEnv(kubeconfig), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
async function helmFails(args: string[], kubeconfig?: string): Promise<string> {
  try {
    await helm(args, kubeconfig);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error(`helm ${args.join(' ')} succeeded but was expected to fail`);
}

let fileCount = 0;
function valuesFile(values: object): string {
  const file = join(scratch, `values-${++fileCount}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}
const ciValues = (name: string) => join(chart, 'ci', `${name}-values.yaml`);

function docs(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null && typeof d === 'object');
}
/** `helm template` without a cluster (lookup answers nothing), as a user or CI renders it. */
async function render(namespace: string, files: string[] = [], extra: string[] = []): Promise<K8sObject[]> {
  return docs(await helm(['template', 'arbees', chart, '--namespace', namespace, ...files.flatMap((f) => ['-f', f]), ...extra]));
}
const find = <T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string, name?: string, namespace?: string): T => {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata.name === name) &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (!found)
    throw new Error(`no ${kind} ${namespace ?? ''}/${name ?? ''} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as T;
};
const secretData = (secret: K8sObject): Record<string, string> =>
  Object.fromEntries(
    Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
const subset = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

describe('chart (helm, no cluster)', function () {
  this.timeout(120_000);

  it('lints clean, also --strict with every ci values file and the example values files', async () => {
    const files = ['default', 'kind', 'eks', 'full']
      .map(ciValues)
      .concat([join(chart, 'values-kind.yaml'), join(chart, 'values-eks.yaml')]);
    const plain = await helm(['lint', chart]);
    expect(plain).to.contain('1 chart(s) linted, 0 chart(s) failed');
    expect(plain).not.to.match(/\[(WARNING|ERROR)\]/);
    for (const file of files) {
      const out = await helm(['lint', '--strict', chart, '-f', file]);
      expect(out, file).to.contain('0 chart(s) failed');
      expect(out, file).not.to.match(/\[(WARNING|ERROR)\]/);
    }
  });

  it('types every value: each object of the schema with properties admits no others', () => {
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as object;
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const object = node as Record<string, unknown>;
      if (object.type === 'object' && object.properties && object.additionalProperties !== false) open.push(path);
      for (const [key, value] of Object.entries(object)) walk(value, `${path}/${key}`);
    };
    walk(schema, '#');
    expect(open).to.deep.equal([]);
  });

  // Each row: values, then what helm must say (the schema names the value and the problem).
  const refused: Array<[string, object, RegExp]> = [
    [
      'a string for an integer',
      { operator: { replicaCount: 'two' } },
      /operator\.replicaCount: Invalid type\. Expected: integer, given: string/,
    ],
    ['an unknown key', { operator: { replicas: 2 } }, /operator: Additional property replicas is not allowed/],
    ['an unknown top-level key', { redisUrl: 'redis://x' }, /\(root\): Additional property redisUrl is not allowed/],
    ['a CIDR without its prefix', { operator: { podCidr: '10.244.0.0' } }, /operator\.podCidr: Does not match pattern/],
    ['a boolean as a string', { redis: { enabled: 'sure' } }, /redis\.enabled: Invalid type\. Expected: boolean, given: string/],
    [
      'an sslmode pg cannot honour',
      { externalPostgresql: { sslMode: 'require' } },
      /externalPostgresql\.sslMode: externalPostgresql\.sslMode must be one of the following: "disable", "no-verify", "verify-full"/,
    ],
    ['port 0', { networkPolicy: { apiServer: { ports: [0] } } }, /networkPolicy\.apiServer\.ports\.0: Must be greater than or equal to 1/],
    [
      'a bad Pod Security level',
      { podSecurity: { enforce: 'lenient' } },
      /podSecurity\.enforce: podSecurity\.enforce must be one of the following: "privileged", "baseline", "restricted"/,
    ],
    ['a namespace that is no DNS label', { shardNamespaces: ['NBA_East'] }, /shardNamespaces\.0: Does not match pattern/],
    [
      'partial venue endpoints',
      { operator: { venueEndpoints: { kalshi: {} } } },
      /operator\.venueEndpoints: Must validate at least one schema \(anyOf\)/,
    ],
    [
      'a wrong toleration effect',
      { operator: { tolerations: [{ key: 'a', effect: 'NoRun' }] } },
      /operator\.tolerations\.0\.effect: operator\.tolerations\.0\.effect must be one of the following/,
    ],
  ];
  for (const [what, values, message] of refused) {
    it(`refuses ${what} with a message naming the value`, async () => {
      const stderr = await helmFails(['template', 'x', chart, '-f', valuesFile(values)]);
      expect(stderr).to.match(/values don't meet the specifications of the schema/);
      expect(stderr).to.match(message);
    });
  }

  const inconsistent: Array<[string, object, RegExp]> = [
    [
      'connections without a Redis',
      { connections: { create: true }, postgresql: { enabled: true } },
      /connections\.create needs a Redis: set redis\.enabled=true .* or externalRedis\.host/,
    ],
    [
      'two Redis',
      {
        connections: { create: true },
        redis: { enabled: true },
        externalRedis: { host: 'cache.example.com' },
        postgresql: { enabled: true },
      },
      /redis\.enabled and externalRedis\.host are both set/,
    ],
    [
      'Redis ACL users of an external Redis with connections the chart would write',
      {
        connections: { create: true },
        externalRedis: { host: 'cache.example.com', aclUsers: true },
        externalPostgresql: { host: 'db.example.com', auth: { existingSecret: 'pg' } },
        networkPolicy: { storeCidrs: ['10.0.0.0/16'] },
      },
      /externalRedis\.aclUsers needs connections\.create=false: create the Redis users and each namespace's connections Secret/,
    ],
    [
      'external PostgreSQL without credentials',
      { connections: { create: true }, redis: { enabled: true }, externalPostgresql: { host: 'db.example.com' } },
      /externalPostgresql\.auth\.existingSecret is required/,
    ],
    [
      'the release namespace as a shard namespace',
      { shardNamespaces: ['arbees-system'] },
      /shardNamespaces must not include the release namespace arbees-system/,
    ],
    [
      'a sample shard outside the shard namespaces',
      { shardNamespaces: ['a'], sampleShard: { enabled: true, namespace: 'b' } },
      /sampleShard\.namespace b must be the release namespace or one of shardNamespaces/,
    ],
    [
      'no ServiceAccount name',
      { serviceAccount: { create: false } },
      /serviceAccount\.name is required when serviceAccount\.create is false/,
    ],
  ];
  for (const [what, values, message] of inconsistent) {
    it(`refuses ${what}, saying what to do`, async () => {
      expect(await helmFails(['template', 'x', chart, '--namespace', 'arbees-system', '-f', valuesFile(values)])).to.match(message);
    });
  }

  it('renders the operator Deployment, Service, PDB and NetworkPolicy as the pods and the ServiceMonitor need them', async () => {
    const objects = await render('arbees-system', [valuesFile({ monitoring: { serviceMonitor: { enabled: true } } })]);
    const deployment = find<Workload>(objects, 'Deployment', 'arbees-operator');
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    expect(deployment.spec.replicas).to.equal(2);
    expect(pod.spec.serviceAccountName).to.equal('arbees-operator');
    expect(find(objects, 'ServiceAccount', 'arbees-operator').metadata.namespace).to.equal('arbees-system');
    expect(container!.image).to.equal('ghcr.io/arbees/arbees:0.1.0');
    expect(container!.args).to.deep.equal(['operator']);
    expect(container!.ports).to.deep.equal([
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
    ]);
    expect(container!.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz', port: 'metrics' });
    expect(container!.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'metrics' });
    // Restricted Pod Security: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp.
    expect(pod.spec.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container!.securityContext).to.deep.equal({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    // Leader election identity and namespace from the downward API; Redis from the connections Secret.
    expect(container!.env).to.deep.include.members([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'ARBEES_REDIS_URL', valueFrom: { secretKeyRef: { name: 'arbees-connections', key: 'redisUrl' } } },
      { name: 'ARBEES_OPERATOR_LEASE_NAME', value: 'arbees-operator' },
    ]);

    const podLabels = pod.metadata.labels;
    expect(subset(deployment.spec.selector.matchLabels, podLabels)).to.be.true;
    const service = find<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number }> } }>(
      objects,
      'Service',
      'arbees-operator',
    );
    expect(subset(service.spec.selector, podLabels)).to.be.true;
    expect(service.spec.ports.map((p) => [p.name, p.port])).to.deep.equal([['metrics', 9464]]);
    // The existing ServiceMonitor finds this Service by its labels and port name.
    const monitor = find<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string }> } }>(
      objects,
      'ServiceMonitor',
      'arbees-operator',
    );
    expect(subset(monitor.spec.selector.matchLabels, service.metadata.labels)).to.be.true;
    expect(monitor.spec.endpoints[0]!.port).to.equal('metrics');
    const pdb = find<K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(
      objects,
      'PodDisruptionBudget',
    );
    expect(pdb.spec.maxUnavailable).to.equal(1);
    expect(subset(pdb.spec.selector.matchLabels, podLabels)).to.be.true;
    const policy = find<
      K8sObject & {
        spec: {
          podSelector: { matchLabels: Record<string, string> };
          ingress: Array<{ ports: Array<{ port: number }> }>;
          egress: Array<{ ports: Array<{ port: number }> }>;
        };
      }
    >(objects, 'NetworkPolicy', 'arbees-operator');
    expect(subset(policy.spec.podSelector.matchLabels, podLabels)).to.be.true;
    // In: the apiserver to the admission webhook, Prometheus to the metrics.
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).to.deep.equal([9443, 9464]);
    // DNS, the apiserver (443/6443), Prometheus (9090), Redis (6379).
    expect(policy.spec.egress.flatMap((r) => r.ports.map((p) => p.port))).to.deep.equal([53, 53, 443, 6443, 9090, 6379, 443]);
  });

  it('serves the admission webhook with a certificate for its Service, signed by the CA the apiserver is given', async () => {
    const objects = await render('arbees-system', [valuesFile({})]);
    const tls = secretData(find(objects, 'Secret', 'arbees-operator-webhook-tls'));
    type Webhook = { clientConfig: { caBundle: string; service: Record<string, unknown> } };
    const config = find<K8sObject & { webhooks: Webhook[] }>(objects, 'ValidatingWebhookConfiguration', 'arbees-operator-webhook');
    const [webhook] = config.webhooks;
    expect(webhook!.clientConfig.service).to.deep.equal({
      name: 'arbees-operator-webhook',
      namespace: 'arbees-system',
      path: '/validate-tradingshard',
      port: 443,
    });
    expect(Buffer.from(webhook!.clientConfig.caBundle, 'base64').toString()).to.equal(tls['ca.crt']);
    const certificate = new X509Certificate(tls['tls.crt']!);
    expect(certificate.checkHost('arbees-operator-webhook.arbees-system.svc')).to.equal('arbees-operator-webhook.arbees-system.svc');
    expect(certificate.verify(new X509Certificate(tls['ca.crt']!).publicKey)).to.equal(true);
    expect(createPrivateKey(tls['tls.key']!).asymmetricKeyType).to.equal('rsa');
    // The operator reads the key pair from the mounted Secret and listens on the Service's target port.
    const operator = find<Workload>(objects, 'Deployment', 'arbees-operator').spec.template.spec;
    expect(operator.volumes).to.deep.include({
      name: 'webhook-tls',
      secret: {
        secretName: 'arbees-operator-webhook-tls',
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
        ],
      },
    });
    expect(operator.containers[0]!.env).to.deep.include.members([
      { name: 'ARBEES_WEBHOOK_CERT_DIR', value: '/etc/arbees/webhook' },
      { name: 'ARBEES_WEBHOOK_PORT', value: '9443' },
    ]);
    // Off, nothing of it is rendered.
    const off = await render('arbees-system', [valuesFile({ webhook: { enabled: false } })]);
    expect(off.filter((o) => o.metadata.name.startsWith('arbees-operator-webhook'))).to.deep.equal([]);
  });

  it('puts the standard labels on every object, in every values file', async () => {
    for (const file of ['default', 'kind', 'eks', 'full'].map(ciValues)) {
      for (const object of await render('arbees-system', [file])) {
        expect(object.metadata.labels, `${file}: ${object.kind}/${object.metadata.name}`).to.include({
          'app.kubernetes.io/name': 'arbees',
          'app.kubernetes.io/instance': 'arbees',
          'app.kubernetes.io/version': '0.1.0',
          'app.kubernetes.io/managed-by': 'Helm',
          'app.kubernetes.io/part-of': 'arbees',
          'helm.sh/chart': 'arbees-0.1.0',
        });
      }
    }
  });

  it('sets exactly the variables the operator reads, and the operator accepts them', async () => {
    const objects = await render('arbees-system', [ciValues('full')]);
    const deployment = find<Workload>(objects, 'Deployment', 'arbees-operator');
    const container = deployment.spec.template.spec.containers[0]!;
    const known = new Set(Object.values(operatorEnv));
    const setByChart = container.env!.map((e) => e.name).filter((n) => n !== 'NODE_OPTIONS'); // NODE_OPTIONS: extraEnv
    expect(
      setByChart.filter((name) => !known.has(name)),
      'variables the operator does not read',
    ).to.deep.equal([]);

    const connections = secretData(find(objects, 'Secret', 'arbees-ci-connections', 'arbees-system'));
    const env = Object.fromEntries(container.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const config = loadOperatorConfig({
      ...env,
      POD_NAME: 'arbees-operator-abc',
      POD_NAMESPACE: 'arbees-system',
      ARBEES_REDIS_URL: connections.redisUrl,
    });
    expect(config).to.deep.include({
      identity: 'arbees-operator-abc',
      leaseNamespace: 'arbees-system',
      leaseName: 'arbees-ci-leader',
      watchNamespaces: ['ci-full-shards'],
      httpPort: 9465,
      logLevel: 'debug',
      prometheusUrl: 'https://prometheus.example.com:9443/',
      prometheusBearerTokenFile: '/var/run/secrets/arbees/prometheus/token',
      breakerIntervalMs: 2000,
      controlTtlSeconds: 30,
      resyncSeconds: 300,
      workloadImage: 'registry.example.com/arbees:0.1.0-workloads',
      vpnImage: 'qmcgaw/gluetun:v3.40.0',
      connectionsSecret: 'arbees-ci-connections',
      postgresPort: 5432,
    });
    expect(config.venueEndpoints?.kalshi.demo.restUrl).to.equal('http://kalshi-sim:8080/trade-api/v2');
    // The password with a space, "@" and "/" survives the URL: percent-encoded, decoded by the client.
    expect(decodeURIComponent(new URL(config.redisUrl).password)).to.equal('ci redis p@ss/word');
  });

  it('rolls the operator pods when their settings or connections change, and only then', async () => {
    const base = {
      connections: { create: true },
      redis: { enabled: true, auth: { password: 'one' } },
      postgresql: { enabled: true, auth: { password: 'pg' } },
    };
    // A Deployment rolls its pods when its pod template changes.
    const template = async (values: object) =>
      find<Workload>(await render('arbees-system', [valuesFile(values)]), 'Deployment').spec.template;
    const first = await template(base);
    expect(await template(base)).to.deep.equal(first);
    // A setting is in the template itself.
    const logLevel = await template({ ...base, operator: { logLevel: 'debug' } });
    expect(logLevel.spec.containers[0]!.env).to.deep.include({ name: 'ARBEES_LOG_LEVEL', value: 'debug' });
    expect(logLevel.metadata.annotations).to.deep.equal(first.metadata.annotations);
    // A new password only changes the Secret: the checksum carries it into the template.
    const password = await template({ ...base, redis: { enabled: true, auth: { password: 'two' } } });
    expect(password.spec).to.deep.equal(first.spec);
    expect(password.metadata.annotations!['checksum/connections'])
      .to.match(/^[0-9a-f]{64}$/)
      .and.not.equal(first.metadata.annotations!['checksum/connections']);
  });

  it('generates one password per in-cluster database and uses it everywhere', async () => {
    const objects = await render('arbees-system', [ciValues('kind')]);
    const redisPasswords = secretData(find(objects, 'Secret', 'arbees-redis'));
    const postgresPassword = secretData(find(objects, 'Secret', 'arbees-postgresql')).password!;
    // Redis: a user per component (redis.aclUsers, the default), each with its own password.
    const users = { operator: 'password', monitor: 'password-monitor', detector: 'password-detector', executor: 'password-executor' };
    for (const key of Object.values(users)) expect(redisPasswords[key]).to.match(/^[A-Za-z0-9]{32}$/);
    expect(new Set(Object.values(users).map((key) => redisPasswords[key])).size).to.equal(4);
    const redisUrl = (user: keyof typeof users) => `redis://${user}:${redisPasswords[users[user]]}@arbees-redis.arbees-system.svc:6379/0`;
    const componentUrls = {
      'redisUrl.kalshi-monitor': redisUrl('monitor'),
      'redisUrl.polymarket-monitor': redisUrl('monitor'),
      'redisUrl.detector': redisUrl('detector'),
      'redisUrl.executor': redisUrl('executor'),
    };
    for (const namespace of ['arbees-system', 'ci-kind-shards']) {
      const urls = secretData(find(objects, 'Secret', 'arbees-connections', namespace));
      expect(urls).to.include(componentUrls);
      // The operator's URL only where the operator runs.
      expect(urls.redisUrl).to.equal(namespace === 'arbees-system' ? redisUrl('operator') : undefined);
      expect(urls.postgresUrl).to.equal(`postgres://arbees:${postgresPassword}@arbees-postgresql.arbees-system.svc:5432/arbees`);
    }
    const redis = find<Workload>(objects, 'StatefulSet', 'arbees-redis');
    expect(redis.spec.template.metadata.annotations!['checksum/auth']).to.match(/^[0-9a-f]{64}$/);
    // The PostgreSQL password outlives the release, like the data volume that holds it.
    expect(find(objects, 'Secret', 'arbees-postgresql').metadata.annotations).to.include({ 'helm.sh/resource-policy': 'keep' });
  });

  it('labels the shard namespaces for the VPN pod, and leaves the connections Secret out when it cannot read the passwords', async () => {
    const objects = await render('arbees-system', [ciValues('eks')]);
    for (const name of ['ci-eks-nba', 'ci-eks-nfl']) {
      const namespace = find(objects, 'Namespace', name);
      expect(namespace.metadata.labels).to.include({
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      });
      expect(namespace.metadata.annotations).to.include({ 'helm.sh/resource-policy': 'keep' });
    }
    // Rendered without a cluster, the existing Secrets with the passwords cannot be read: only the
    // webhook's certificate, which the chart makes itself, is a Secret.
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).to.deep.equal(['arbees-operator-webhook-tls']);
    expect(
      await helm([
        'template',
        'arbees',
        chart,
        '--namespace',
        'arbees-system',
        '-f',
        ciValues('eks'),
        '--show-only',
        'templates/secrets.yaml',
      ]),
    ).to.match(/Secret arbees-connections not rendered: .* read\n# from their existing Secrets, which needs a cluster/);
    const sa = find(objects, 'ServiceAccount');
    expect(sa.metadata.annotations).to.deep.equal({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/arbees-operator' });
  });
});

/** Trimmed copies of prometheus-operator's v1 CRDs (v0.82): the real schemas of the fields the chart uses. */
function monitoringCrds(): object[] {
  const duration = {
    type: 'string',
    pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
  };
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  const labelSelector = {
    type: 'object',
    properties: {
      matchLabels: stringMap,
      matchExpressions: {
        type: 'array',
        items: {
          type: 'object',
          required: ['key', 'operator'],
          properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
    'x-kubernetes-map-type': 'atomic',
  };
  const namespaceSelector = {
    type: 'object',
    properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
  };
  const relabelings = {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        action: {
          type: 'string',
          enum: [
            'replace',
            'Replace',
            'keep',
            'Keep',
            'drop',
            'Drop',
            'hashmod',
            'HashMod',
            'labelmap',
            'LabelMap',
            'labeldrop',
            'LabelDrop',
            'labelkeep',
            'LabelKeep',
            'lowercase',
            'Lowercase',
            'uppercase',
            'Uppercase',
            'keepequal',
            'KeepEqual',
            'dropequal',
            'DropEqual',
          ],
        },
        modulus: { type: 'integer', format: 'int64' },
        regex: { type: 'string' },
        replacement: { type: 'string' },
        separator: { type: 'string' },
        sourceLabels: { type: 'array', items: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' } },
        targetLabel: { type: 'string' },
      },
    },
  };
  const endpoint = {
    type: 'object',
    properties: { port: { type: 'string' }, path: { type: 'string' }, interval: duration, scrapeTimeout: duration, relabelings },
  };
  const crd = (plural: string, kind: string, spec: object) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec },
            },
          },
        },
      ],
    },
  });
  return [
    crd('servicemonitors', 'ServiceMonitor', {
      type: 'object',
      required: ['selector'],
      properties: { endpoints: { type: 'array', items: endpoint }, namespaceSelector, selector: labelSelector },
    }),
    crd('podmonitors', 'PodMonitor', {
      type: 'object',
      required: ['selector'],
      properties: { podMetricsEndpoints: { type: 'array', items: endpoint }, namespaceSelector, selector: labelSelector },
    }),
    crd('prometheusrules', 'PrometheusRule', {
      type: 'object',
      properties: {
        groups: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string', minLength: 1 },
              interval: duration,
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['expr'],
                  properties: {
                    record: { type: 'string' },
                    alert: { type: 'string' },
                    expr: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
                    for: duration,
                    keep_firing_for: { ...duration, minLength: 1 },
                    labels: stringMap,
                    annotations: stringMap,
                  },
                },
              },
            },
          },
        },
      },
    }),
  ];
}

async function applyFile(objects: object[], ...args: string[]): Promise<string> {
  const file = join(scratch, `objects-${++fileCount}.json`);
  // JSON, not YAML: kubectl reads YAML 1.1, where an unquoted `yes` or `on` is a boolean.
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return kubectl('apply', '--server-side', '--validate=strict', '--field-manager=chart-tests', ...args, '-f', file);
}

/** A Pod with the pod template of a workload, as the ReplicaSet/StatefulSet controller would create it. */
function podOf(workload: Workload, namespace: string): object {
  const spec = { ...workload.spec.template.spec };
  delete spec.priorityClassName; // admission wants the class to exist; not what this checks
  const volumes = spec.volumes ?? [];
  const mounted = spec.containers.flatMap((c) => c.volumeMounts ?? []).map((m) => m.name);
  // volumeClaimTemplates become volumes of a StatefulSet's pods.
  const claims = mounted.filter((name) => !volumes.some((v) => v.name === name)).map((name) => ({ name, emptyDir: {} }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${workload.metadata.name}-0`, namespace, labels: workload.spec.template.metadata.labels },
    spec: { ...spec, volumes: [...volumes, ...claims] },
  };
}

describe('chart (real apiserver)', function () {
  this.timeout(300_000);
  let kubeconfig: string;

  before(async () => {
    kubeconfig = (await rig.kube()).kubeconfigPath;
    await installCrd();
    await applyFile(monitoringCrds());
    await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    );
    await createNamespace('chart-restricted');
    await kubectl('label', 'namespace', 'chart-restricted', 'pod-security.kubernetes.io/enforce=restricted');
    await createNamespace('chart-baseline');
    await kubectl('label', 'namespace', 'chart-baseline', 'pod-security.kubernetes.io/enforce=baseline');
  });

  async function authSecrets(namespace: string) {
    await applyFile([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'arbees-redis-auth', namespace },
        stringData: { password: 'token+with/specials' },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'arbees-postgres-auth', namespace },
        stringData: { username: 'arbees_admin', password: 'p@ss w0rd' },
      },
    ]);
  }

  // The values matrix: every file is rendered, then every object goes through a server-side dry
  // run (admission, schema incl. the CRDs' CEL rules, strict field validation). EKS-style files
  // are rendered against the cluster (--dry-run=server), where their password Secrets exist.
  const matrix: Array<{ name: string; file?: string; namespace: string; shardNamespaces: string[]; online?: boolean; expect: string[] }> = [
    {
      name: 'defaults',
      namespace: 'chart-dry-default',
      shardNamespaces: [],
      expect: ['Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceAccount', 'ClusterRole'],
    },
    {
      name: 'ci/kind',
      file: ciValues('kind'),
      namespace: 'chart-dry-kind',
      shardNamespaces: ['ci-kind-shards'],
      expect: ['StatefulSet', 'Namespace', 'TradingShard', 'Secret'],
    },
    {
      name: 'ci/eks',
      file: ciValues('eks'),
      namespace: 'chart-dry-eks',
      shardNamespaces: ['ci-eks-nba', 'ci-eks-nfl'],
      online: true,
      expect: ['PriorityClass', 'Namespace', 'Secret'],
    },
    {
      name: 'ci/full (everything on)',
      file: ciValues('full'),
      namespace: 'chart-dry-full',
      shardNamespaces: ['ci-full-shards', 'ci-full-more'],
      expect: ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'TradingShard', 'StatefulSet', 'PriorityClass'],
    },
    {
      name: 'values-kind.yaml',
      file: join(chart, 'values-kind.yaml'),
      namespace: 'chart-dry-vkind',
      shardNamespaces: ['arbees-shards'],
      expect: ['StatefulSet', 'TradingShard'],
    },
    {
      name: 'values-eks.yaml',
      file: join(chart, 'values-eks.yaml'),
      namespace: 'chart-dry-veks',
      shardNamespaces: ['arbees-nba', 'arbees-nfl'],
      online: true,
      expect: ['ServiceMonitor', 'PrometheusRule', 'Secret'],
    },
  ];
  for (const entry of matrix) {
    it(`${entry.name}: every rendered object passes a server-side dry run`, async () => {
      for (const namespace of [entry.namespace, ...entry.shardNamespaces]) await createNamespace(namespace);
      if (entry.online) await authSecrets(entry.namespace);
      const args = [
        'template',
        'dry',
        chart,
        '--namespace',
        entry.namespace,
        ...(entry.file ? ['-f', entry.file] : []),
        ...(entry.online ? ['--dry-run=server'] : []),
      ];
      const objects = docs(await helm(args, kubeconfig));
      expect(objects.map((o) => o.kind)).to.include.members(entry.expect);
      const out = await applyFile(objects, '--dry-run=server');
      expect(
        out
          .trim()
          .split('\n')
          .filter((l) => l.includes('(server dry run)')),
      ).to.have.length(objects.length);

      // The chart's own pods meet the restricted Pod Security level.
      for (const workload of objects.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
        await applyFile([podOf(workload, 'chart-restricted')], '--dry-run=server');
      }
      if (entry.online) {
        // Read at render time: the passwords, percent-encoded into the URLs of every namespace.
        const connections = objects.filter((o) => o.kind === 'Secret' && o.metadata.name === 'arbees-connections');
        expect(connections.map((s) => s.metadata.namespace)).to.deep.equal([entry.namespace, ...entry.shardNamespaces]);
        const urls = secretData(connections[0]!);
        expect(urls.redisUrl).to.match(/^rediss:\/\/:token%2Bwith%2Fspecials@[a-z0-9.-]+\.cache\.amazonaws\.com:6379\/0$/);
        expect(urls.postgresUrl).to.match(
          /^postgres:\/\/arbees_admin:p%40ss%20w0rd@[a-z0-9.-]+\.rds\.amazonaws\.com:5432\/arbees\?sslmode=no-verify$/,
        );
      }
    });
  }

  it('refuses external databases whose password Secret is missing, saying which', async () => {
    await createNamespace('chart-missing');
    const stderr = await helmFails(
      ['template', 'dry', chart, '--namespace', 'chart-missing', '-f', ciValues('eks'), '--dry-run=server'],
      kubeconfig,
    );
    expect(stderr).to.match(
      new RegExp(
        'externalRedis\\.auth\\.existingSecret: Secret "arbees-redis-auth" with key "password" not found in namespace chart-missing; ' +
          'create it first',
      ),
    );
  });

  describe('install, upgrade and uninstall, with the operator running', () => {
    const release = 'chart';
    const namespace = 'chart-system';
    const shardNamespace = 'chart-shards';
    const adopted = 'chart-adopted';
    const shard = 'chart-paper';
    const redisUser = 'chart-operator';
    // Characters that must be percent-encoded in a URL's user info.
    const redisPasswords = ['p@ss:w/rd %#?+', 'rotated/p@ss'];
    const operators: Array<{ name: string; process: ChildProcess; port: number; output: string[] }> = [];
    let redis: Redis;
    let values: string;

    const valuesFor = async (extra: object = {}) => {
      const [redisService, prometheus] = [await rig.redis(), await rig.prometheus()];
      return valuesFile({
        image: { repository: 'ghcr.io/arbees/arbees', tag: 'test' },
        operator: {
          // Only this test's namespace: other tests leave shards behind in theirs.
          watchNamespaces: [shardNamespace],
          logLevel: 'info',
          prometheus: { url: prometheus.url },
          breaker: { intervalMs: 500, controlTtlSeconds: 30 },
          ...extra,
        },
        shardNamespaces: [shardNamespace, adopted],
        podSecurity: { label: true },
        connections: { create: true },
        externalRedis: {
          host: '127.0.0.1',
          port: Number(new URL(redisService.url).port),
          tls: false,
          username: redisUser,
          auth: { existingSecret: 'chart-redis-auth' },
        },
        // Only the executors use PostgreSQL, and no pod runs here: the URL is checked, not dialled.
        externalPostgresql: {
          host: '127.0.0.1',
          port: 5432,
          database: 'postgres',
          sslMode: 'disable',
          auth: { existingSecret: 'chart-postgres-auth' },
        },
        // The external stores are on this machine: their ports open to it only.
        networkPolicy: { storeCidrs: ['127.0.0.1/32'] },
        sampleShard: { enabled: true, name: shard, namespace: shardNamespace },
      });
    };

    const get = async <T = K8sObject>(...args: string[]) => JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;

    /** The container's environment as the kubelet would build it. */
    async function resolvedEnv(container: Container, podName: string): Promise<Record<string, string>> {
      const env: Record<string, string> = {};
      const secret = async (name: string) => secretData(await get('secret', name, '-n', namespace));
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef)
          Object.assign(env, (await get<{ data: Record<string, string> }>('configmap', from.configMapRef.name, '-n', namespace)).data);
        if (from.secretRef) Object.assign(env, await secret(from.secretRef.name));
      }
      for (const variable of container.env ?? []) {
        const source = variable.valueFrom;
        if (variable.value !== undefined) env[variable.name] = variable.value;
        else if (source?.fieldRef)
          env[variable.name] = { 'metadata.name': podName, 'metadata.namespace': namespace }[source.fieldRef.fieldPath]!;
        else if (source?.secretKeyRef) env[variable.name] = (await secret(source.secretKeyRef.name))[source.secretKeyRef.key]!;
        else if (source?.configMapKeyRef)
          env[variable.name] = (
            await get<{ data: Record<string, string> }>('configmap', source.configMapKeyRef.name, '-n', namespace)
          ).data[source.configMapKeyRef.key]!;
      }
      return env;
    }

    /**
     * The container's Secret volumes written under a folder of the pod's own, and every variable
     * that names a path inside one pointed there: the files the kubelet would mount.
     */
    async function mountedSecrets(spec: PodSpec, container: Container, podName: string, env: Record<string, string>) {
      for (const mount of container.volumeMounts ?? []) {
        const source = spec.volumes?.find((v) => v.name === mount.name)?.secret;
        if (!source || !mount.mountPath) continue;
        const data = secretData(await get('secret', source.secretName, '-n', namespace));
        const folder = join(scratch, podName, mount.name);
        mkdirSync(folder, { recursive: true });
        for (const { key, path } of source.items ?? Object.keys(data).map((key) => ({ key, path: key })))
          writeFileSync(join(folder, path), data[key]!);
        for (const [name, value] of Object.entries(env))
          if (value === mount.mountPath || value.startsWith(`${mount.mountPath}/`))
            env[name] = folder + value.slice(mount.mountPath.length);
      }
      return env;
    }

    /** What the Deployment's pods would run, as local processes with the ServiceAccount's token. */
    async function startOperators(count: number) {
      const deployment = await get<Workload>('deployment', `${release}-operator`, '-n', namespace);
      const container = deployment.spec.template.spec.containers[0]!;
      const token = (
        await kubectl('create', 'token', deployment.spec.template.spec.serviceAccountName!, '-n', namespace, '--duration=1h')
      ).trim();
      const cluster = (await rig.kube()).kubeConfig.getCurrentCluster()!;
      const saKubeconfig = join(scratch, 'operator.kubeconfig');
      writeFileSync(
        saKubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'rig', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
          users: [{ name: 'operator', user: { token } }],
          contexts: [{ name: 'operator', context: { cluster: 'rig', user: 'operator' } }],
          'current-context': 'operator',
        }),
      );
      for (let i = 0; i < count; i++) {
        const name = `${release}-operator-7d9f8-${i}`;
        const port = await freePort();
        const env = {
          PATH: process.env.PATH ?? '',
          HOME: scratch,
          ...(await mountedSecrets(deployment.spec.template.spec, container, name, await resolvedEnv(container, name))),
          ARBEES_HTTP_PORT: String(port),
          // Both "pods" are on this host: each serves the admission webhook on a port of its own.
          ARBEES_WEBHOOK_PORT: String(await freePort()),
        };
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(root, 'cli', 'arbees.ts'), ...container.args!, '--kubeconfig', saKubeconfig],
          { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const output: string[] = [];
        child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
        operators.push({ name, process: child, port, output });
      }
    }

    async function stopOperators() {
      const stopping = operators.splice(0).map(
        (op) =>
          new Promise<void>((resolve) => {
            if (op.process.exitCode !== null) return resolve();
            const kill = setTimeout(() => op.process.kill('SIGKILL'), 10_000);
            op.process.once('exit', () => (clearTimeout(kill), resolve()));
            op.process.kill('SIGTERM');
          }),
      );
      await Promise.all(stopping);
    }

    const logs = () => operators.map((op) => `--- ${op.name}\n${op.output.join('').slice(-3000)}`).join('\n');

    async function leader(): Promise<(typeof operators)[number]> {
      return eventually(
        async () => {
          const lease = await get<{ spec: { holderIdentity?: string } }>('lease', `${release}-operator`, '-n', namespace).catch(
            () => undefined,
          );
          const op = operators.find((o) => o.name === lease?.spec.holderIdentity);
          return op && (await fetch(`http://127.0.0.1:${op.port}/readyz`)).status === 200 ? op : undefined;
        },
        60_000,
        'one operator process to lead and be ready',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${logs()}`);
      });
    }

    async function reconciled(): Promise<void> {
      await eventually(
        async () => {
          const got = await get<K8sObject & { status?: { observedGeneration?: number; circuitBreaker?: unknown } }>(
            'tradingshard',
            shard,
            '-n',
            shardNamespace,
          );
          return got.status?.observedGeneration === got.metadata.generation && got.status?.circuitBreaker ? true : undefined;
        },
        60_000,
        `the sample shard ${shardNamespace}/${shard} to be reconciled`,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${logs()}`);
      });
    }

    before(async () => {
      const redisService = await rig.redis();
      redis = new Redis(redisService.url);
      // A Redis user of its own, as on ElastiCache with RBAC: only the arbees:* keys.
      await redis.call('ACL', 'SETUSER', redisUser, 'reset', 'on', `>${redisPasswords[0]}`, '~arbees:*', '&*', '+@all');
      await createNamespace(namespace);
      await applyFile([
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'chart-redis-auth', namespace },
          stringData: { password: redisPasswords[0] },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'chart-postgres-auth', namespace },
          stringData: { username: 'postgres', password: 'unused/with trust' },
        },
      ]);
      // A namespace that exists already, adopted into the release as README.md says.
      await createNamespace(adopted);
      await kubectl('label', 'namespace', adopted, 'app.kubernetes.io/managed-by=Helm');
      await kubectl(
        'annotate',
        'namespace',
        adopted,
        `meta.helm.sh/release-name=${release}`,
        `meta.helm.sh/release-namespace=${namespace}`,
      );
      values = await valuesFor();
    });

    after(async () => {
      await stopOperators();
      await redis?.call('ACL', 'DELUSER', redisUser).catch(() => undefined);
      redis?.disconnect();
    });

    it('installs: the operator objects, labelled shard namespaces and the connections Secret in each', async () => {
      // No --wait: with no kubelet the Deployment never becomes available.
      const out = await helm(['install', release, chart, '--namespace', namespace, '-f', values], kubeconfig);
      expect(out).to.contain('STATUS: deployed');
      expect(out).to.contain(`Sample shard ${shardNamespace}/${shard} (paper trading) is installed`);

      for (const name of [shardNamespace, adopted]) {
        const ns = await get('namespace', name);
        expect(ns.metadata.labels).to.include({
          'pod-security.kubernetes.io/enforce': 'privileged',
          'app.kubernetes.io/managed-by': 'Helm',
        });
      }
      const password = encodeURIComponent(redisPasswords[0]!);
      for (const name of [namespace, shardNamespace, adopted]) {
        const urls = secretData(await get('secret', 'arbees-connections', '-n', name));
        expect(urls.redisUrl).to.equal(`redis://${redisUser}:${password}@127.0.0.1:${new URL((await rig.redis()).url).port}/0`);
        expect(urls.postgresUrl).to.equal(`postgres://postgres:unused%2Fwith%20trust@127.0.0.1:5432/postgres?sslmode=disable`);
      }
      const deployment = await get<Workload>('deployment', `${release}-operator`, '-n', namespace);
      expect(deployment.spec.replicas).to.equal(2);
      expect(deployment.spec.template.spec.serviceAccountName).to.equal(`${release}-operator`);
      expect(Object.keys(deployment.spec.template.metadata.annotations!)).to.deep.equal(['checksum/connections']);
      const shardObject = await get<K8sObject & { spec: { executor: { mode: string } } }>('tradingshard', shard, '-n', shardNamespace);
      expect(shardObject.spec.executor.mode).to.equal('paper');
    });

    it('runs the operator as the Deployment says: one of two replicas leads and reconciles the sample shard', async () => {
      await startOperators(2);
      const lead = await leader();
      await reconciled();
      const children = await get<{ items: K8sObject[] }>('deployments', '-n', shardNamespace, '-l', `arbees.io/shard=${shard}`);
      expect(children.items.map((d) => d.metadata.name).sort()).to.deep.equal(
        ['detector', 'executor', 'kalshi-monitor', 'polymarket-monitor'].map((c) => `${shard}-${c}`),
      );
      // The breaker state reached Redis through the URL (and ACL user) of the connections Secret.
      const control = await eventually(async () => (await redis.get(streamKeys.control(shard))) ?? undefined, 30_000, 'the control key');
      expect(JSON.parse(control)).to.have.property('state');
      // The other replica stands by, ready (so a rollout is not blocked on it) but not leading.
      const standby = operators.find((o) => o !== lead)!;
      // Its ops server may still be starting on a loaded machine: wait until it answers, not for a time.
      await eventually(
        async () => ((await fetch(`http://127.0.0.1:${standby.port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
        30_000,
        "the standby's /readyz to answer 200",
      );
      expect(await (await fetch(`http://127.0.0.1:${lead.port}/metrics`)).text()).to.match(/^arbees_operator_leader 1$/m);
      expect(await (await fetch(`http://127.0.0.1:${standby.port}/metrics`)).text()).to.match(/^arbees_operator_leader 0$/m);
      expect(operators.flatMap((o) => o.output).join('')).not.to.match(/forbidden/i);

      // The VPN pod is admitted in the chart's privileged namespace, and refused under baseline.
      const vpnDeployment = await get<Workload>('deployment', `${shard}-polymarket-monitor`, '-n', shardNamespace);
      await applyFile([podOf(vpnDeployment, shardNamespace)], '--dry-run=server');
      const file = join(scratch, 'vpn-pod.json');
      writeFileSync(file, JSON.stringify(podOf(vpnDeployment, 'chart-baseline')));
      expect(await kubectlFails('apply', '--server-side', '--dry-run=server', '-f', file)).to.match(
        /violates PodSecurity "baseline:latest": .*(NET_ADMIN|hostPath)/,
      );
    });

    it('upgrades: new settings and a rotated password roll the pods and reach the shards', async () => {
      const before = await get<Workload>('deployment', `${release}-operator`, '-n', namespace);
      const webhookTlsBefore = secretData(await get('secret', `${release}-operator-webhook-tls`, '-n', namespace));
      // Rotate the Redis password: in Redis and in the Secret the chart reads it from.
      await redis.call('ACL', 'SETUSER', redisUser, 'resetpass', `>${redisPasswords[1]}`);
      await applyFile([
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'chart-redis-auth', namespace },
          stringData: { password: redisPasswords[1] },
        },
      ]);
      const simulator = 'http://kalshi-sim.chart-test:8080/trade-api/v2';
      const endpoints = {
        kalshi: {
          demo: { restUrl: simulator, wsUrl: 'ws://kalshi-sim.chart-test:8080/ws' },
          production: { restUrl: simulator, wsUrl: 'ws://kalshi-sim.chart-test:8080/ws' },
        },
        polymarket: {
          clobUrl: 'http://polymarket-sim.chart-test:8081',
          wsUrl: 'ws://polymarket-sim.chart-test:8081/ws',
          gammaUrl: 'http://polymarket-sim.chart-test:8081',
        },
      };
      const out = await helm(
        ['upgrade', release, chart, '--namespace', namespace, '-f', await valuesFor({ venueEndpoints: endpoints })],
        kubeconfig,
      );
      expect(out).to.match(/STATUS: deployed\nREVISION: 2/);
      // The webhook's certificate outlives the upgrade (read back by the chart), so the CA the
      // apiserver trusts stays the one the operator serves.
      expect(secretData(await get('secret', `${release}-operator-webhook-tls`, '-n', namespace))).to.deep.equal(webhookTlsBefore);
      const after = await get<Workload>('deployment', `${release}-operator`, '-n', namespace);
      // Both roll the pods: the new setting is in the pod template, the new password in the checksum.
      expect(
        JSON.parse(after.spec.template.spec.containers[0]!.env!.find((e) => e.name === 'ARBEES_VENUE_ENDPOINTS')!.value!),
      ).to.deep.equal(endpoints);
      expect(after.spec.template.metadata.annotations!['checksum/connections']).not.to.equal(
        before.spec.template.metadata.annotations!['checksum/connections'],
      );
      for (const name of [namespace, shardNamespace, adopted]) {
        expect(secretData(await get('secret', 'arbees-connections', '-n', name)).redisUrl).to.contain(
          `:${encodeURIComponent(redisPasswords[1]!)}@`,
        );
      }

      // The rollout: new processes from the new spec, which reconcile the shard with the new endpoints.
      await stopOperators();
      await startOperators(2);
      await leader();
      await eventually(
        async () => {
          const config = await get<{ data: Record<string, string> }>('configmap', `${shard}-config`, '-n', shardNamespace);
          return config.data['shard.json']?.includes(simulator) ? true : undefined;
        },
        60_000,
        "the shard's ConfigMap to carry the upgraded venue endpoints",
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${logs()}`);
      });
      // Authenticated with the rotated password: the control key is refreshed.
      await redis.del(streamKeys.control(shard));
      await eventually(
        async () => (await redis.get(streamKeys.control(shard))) ?? undefined,
        30_000,
        'the control key written with the rotated password',
      );
    });

    it('uninstalls: shards first (as NOTES.txt says), then every chart object except kept namespaces and the CRD', async () => {
      // The running operator cleans the shard up and removes its finalizer.
      await kubectl('delete', 'tradingshard', shard, '-n', shardNamespace, '--wait', '--timeout=60s');
      await stopOperators();
      await helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '60s'], kubeconfig);
      expect(JSON.parse(await helm(['list', '--namespace', namespace, '--output', 'json'], kubeconfig))).to.deep.equal([]);

      const left = await kubectl(
        'get',
        'deployments,configmaps,services,serviceaccounts,poddisruptionbudgets,networkpolicies,roles,rolebindings,secrets',
        '-n',
        namespace,
        '-l',
        `app.kubernetes.io/instance=${release}`,
        '-o',
        'name',
      );
      expect(left.trim()).to.equal('');
      for (const kind of ['clusterrole', 'clusterrolebinding']) {
        expect(await kubectlFails('get', kind, `${release}-operator`)).to.match(/NotFound/);
      }
      for (const name of [shardNamespace, adopted]) {
        expect(await kubectlFails('get', 'secret', 'arbees-connections', '-n', name)).to.match(/NotFound/);
        // Kept (helm.sh/resource-policy: keep), still labelled for the VPN pods.
        expect((await get('namespace', name)).metadata.labels).to.include({ 'pod-security.kubernetes.io/enforce': 'privileged' });
      }
      expect((await get('crd', 'tradingshards.arbees.io')).metadata.name).to.equal('tradingshards.arbees.io');
    });
  });
});
