// The test rig: real services on loopback, started on first use, shared by every integration
// test of a run, and stopped at the end (mocha's global teardown) even when tests fail.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKube, type KubeService } from './kube.js';
import { startPostgres, type PostgresService } from '../../cli/local/postgres.js';
import { startPrometheus, type PrometheusService } from './prometheus.js';
import { startRedis, type RedisService } from '../../cli/local/redis.js';
import { killChildrenOnSignals } from '../../cli/local/process.js';
import { startCluster, type ClusterService } from './node.js';

killChildrenOnSignals();

let root: string | undefined;
function serviceDir(name: string): string {
  if (!root) {
    root = mkdtempSync(join(tmpdir(), 'arbees-rig-'));
    chmodSync(root, 0o755); // services that drop root (PostgreSQL) must reach their folders
  }
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

interface Started<T> {
  promise: Promise<T>;
  stop: () => Promise<void>;
}
const services = new Map<string, Started<unknown>>();

function once<T extends { stop(): Promise<void> }>(
  name: string,
  start: (dir: string) => Promise<T>,
  describe: (s: T) => string,
): () => Promise<T> {
  return () => {
    const existing = services.get(name) as Started<T> | undefined;
    if (existing) return existing.promise;
    const began = Date.now();
    const promise = start(serviceDir(name)).then((service) => {
      process.stderr.write(`rig: ${describe(service)} ready in ${((Date.now() - began) / 1000).toFixed(1)}s\n`);
      return service;
    });
    services.set(name, { promise, stop: async () => (await promise.catch(() => undefined))?.stop() });
    return promise;
  };
}

export const rig = {
  redis: once<RedisService>('redis', startRedis, (s) => `redis-server ${s.version} at ${s.url}`),
  postgres: once<PostgresService>('postgres', startPostgres, (s) => `PostgreSQL ${s.version} at 127.0.0.1:${s.port}`),
  prometheus: once<PrometheusService>('prometheus', startPrometheus, (s) => `Prometheus ${s.version} at ${s.url}`),
  kube: once<KubeService>(
    'kube',
    startKube,
    (s) => `kube-apiserver ${s.version} + etcd ${s.etcdVersion} at ${s.server} (binaries: ${s.binDir})`,
  ),
  /** A real single-node cluster (needs root): see test/rig/node.ts. */
  cluster: once<ClusterService>(
    'cluster',
    startCluster,
    (s) => `Kubernetes ${s.version} node ${s.nodeName} (${s.nodeIP}), kubeconfig ${s.kubeconfigPath}`,
  ),
};

/** Stops every service started in this run and removes their folders (kept with ARBEES_KEEP_RIG=1). */
export async function stopRig(): Promise<void> {
  const all = [...services.entries()];
  services.clear();
  const results = await Promise.allSettled(all.map(([, s]) => s.stop()));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${all[i]![0]}: ${String(r.reason)}`] : []));
  const dir = root;
  root = undefined;
  if (failed.length > 0) {
    // Mounts or processes may be left under it: removing the folder would fail on them, and hide why.
    throw new Error(`rig: stopping failed, folders kept in ${dir} (the next run tears a node down):\n  ${failed.join('\n  ')}`);
  }
  if (dir && process.env.ARBEES_KEEP_RIG !== '1') rmSync(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`rig: kept service folders in ${dir}\n`);
}
