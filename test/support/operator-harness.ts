// Runs the operator in-process against the rig's real apiserver, with short timings, and counts
// its Kubernetes writes so tests can prove "no change → no write".
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { promisify } from 'node:util';
import { Registry, type Counter } from 'prom-client';
import { Writable } from 'node:stream';
import type { OperatorSettings } from '../../operator/builders/settings.js';
import { redisControlPublisher } from '../../operator/breaker/control.js';
import { redisCleanup } from '../../operator/cleanup.js';
import { operatorConfigSchema, settingsFromConfig, type OperatorConfig } from '../../operator/config.js';
import { Operator } from '../../operator/manager.js';
import { KubeClient, type KubeObject } from '../../operator/kube/client.js';
import { createLogger } from '../../lib/log.js';
import { packageInfo } from '../../lib/package-root.js';
import { credentialsLabel, secretsInUse } from '../../operator/preflight.js';
import { rig } from '../rig/index.js';
import { tool } from '../rig/tools.js';

const run = promisify(execFile);

/** kubectl against the rig, e.g. kubectl('apply', '--server-side', '-f', file). */
export async function kubectl(...args: string[]): Promise<string> {
  const kube = await rig.kube();
  const { stdout } = await run(tool('kubectl'), args, {
    env: { ...process.env, KUBECONFIG: kube.kubeconfigPath },
    maxBuffer: 32 * 1024 * 1024,
  });
  return stdout;
}

/** kubectl that is expected to fail: resolves to its stderr. */
export async function kubectlFails(...args: string[]): Promise<string> {
  try {
    await kubectl(...args);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded but was expected to fail`);
}

let crdInstalled: Promise<void> | undefined;
export function installCrd(): Promise<void> {
  crdInstalled ??= (async () => {
    await kubectl(
      'apply',
      '--server-side',
      '--field-manager=arbees-tests',
      '-f',
      join(packageInfo().root, 'crds', 'tradingshards.arbees.io.yaml'),
    );
    await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/tradingshards.arbees.io');
  })();
  return crdInstalled;
}

export async function createNamespace(name: string): Promise<void> {
  await kubectl('create', 'namespace', name);
}

export const testOperatorConfig = (redisUrl: string, prometheusUrl: string, identity = 'test-operator'): OperatorConfig =>
  operatorConfigSchema.parse({
    identity,
    leaseNamespace: 'default',
    leaseName: 'arbees-operator-test',
    httpPort: 0,
    logLevel: 'warn',
    redisUrl,
    prometheusUrl,
    breakerIntervalMs: 500,
    controlTtlSeconds: 30,
    resyncSeconds: 600,
    workloadImage: 'ghcr.io/arbees/arbees:test',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/16',
  });

export interface RunningOperator {
  operator: Operator;
  settings: OperatorSettings;
  registry: Registry;
  /** Kubernetes writes so far (excluding lease renewals and events). */
  writes(): Promise<number>;
  logs: string[];
  stop(): Promise<void>;
}

export async function startTestOperator(
  options: {
    identity?: string;
    namespace?: string;
    resyncMs?: number;
    prometheusTimeoutMs?: number;
    config?: Partial<OperatorConfig>;
  } = {},
): Promise<RunningOperator> {
  const [kube, redis, prometheus] = await Promise.all([rig.kube(), rig.redis(), rig.prometheus()]);
  const config = { ...testOperatorConfig(redis.url, prometheus.url, options.identity), ...options.config };
  const registry = new Registry();
  const logs: string[] = [];
  const log = createLogger(
    { name: 'operator-under-test', level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const control = redisControlPublisher(redis.url, config.controlTtlSeconds);
  const cleanup = redisCleanup(redis.url);
  const settings = settingsFromConfig(config);
  const operator = new Operator({
    kubeConfig: kube.kubeConfig,
    settings,
    namespaces: options.namespace ? [options.namespace] : undefined,
    identity: config.identity,
    lease: { namespace: config.leaseNamespace, name: config.leaseName, leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
    cleanup,
    log,
    registry,
    resyncMs: options.resyncMs ?? 600_000,
    breaker: {
      prometheus: { url: config.prometheusUrl, timeoutMs: options.prometheusTimeoutMs ?? 2_000 },
      intervalMs: config.breakerIntervalMs,
      control,
    },
    discovery: { intervalMs: config.discoveryIntervalMs },
  });
  operator.start();
  return {
    operator,
    settings,
    registry,
    logs,
    async writes() {
      const metric = registry.getSingleMetric('arbees_operator_kube_requests_total') as Counter | undefined;
      const values = (await metric?.get())?.values ?? [];
      return values
        .filter(
          (v) =>
            ['POST', 'PUT', 'PATCH', 'DELETE'].includes(String(v.labels.verb)) && !['leases', 'events'].includes(String(v.labels.resource)),
        )
        .reduce((sum, v) => sum + v.value, 0);
    },
    async stop() {
      await operator.stop();
      control.close();
      cleanup.close();
    },
  };
}

export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ` +
          `${what}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function adminClient(): Promise<KubeClient> {
  return new KubeClient((await rig.kube()).kubeConfig);
}

/**
 * Applies the shard after the Secrets it names, labelled for Arbees with placeholder keys (the
 * operator checks a Secret's label, never its data, before it builds a pod that mounts it).
 */
export async function applyShard(shard: TradingShard & KubeObject): Promise<void> {
  const client = await adminClient();
  for (const { name } of secretsInUse(shard)) {
    await client.apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: shard.metadata.namespace, labels: { [credentialsLabel]: 'true' } },
        stringData: { keyId: 'test', privateKey: 'test' },
      },
      'arbees-tests',
    );
  }
  await client.apply(shard, 'arbees-tests');
}

/** The paper-trading sample shard, renamed into a namespace. */
export function sampleShard(name: string, namespace: string): TradingShard & KubeObject {
  const docs = parseAllDocuments(readFileSync(join(packageInfo().root, 'samples', 'paper-shard.yaml'), 'utf8')).map(
    (d) => d.toJSON() as KubeObject,
  );
  const shard = docs.find((d) => d.kind === 'TradingShard') as TradingShard & KubeObject;
  return { ...shard, metadata: { name, namespace } };
}
