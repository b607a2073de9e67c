// Arbees installed on the rig's node as users install it: the image built from the Dockerfile,
// `helm install --wait` of charts/arbees with in-cluster Redis and PostgreSQL from the rig's
// images, both venue simulators as pods of the Arbees image, a Prometheus that discovers and
// scrapes the pods, and the VPN exit the stand-in sidecar tunnels to. Installed once per run and
// shared by the cluster tests; `uninstall()` is itself a tested step.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { packageInfo } from '../../../lib/package-root.js';
import { rig } from '../../rig/index.js';
import { chartValuesForNode, imageTar, NODE, type ClusterService } from '../../rig/node.js';
import { tool } from '../../rig/tools.js';
import { startVpnExit, type VpnExit } from '../../support/vpn-exit.js';
import { podTargets, startClusterPrometheus, type ClusterPrometheus } from './prometheus.js';
import { clusterScenario, kalshiPort, polymarketPort, venueKeys, venueObjects, venuesNamespace, type VenueKeys } from './venues.js';

const run = promisify(execFile);

export const release = 'arbees';
export const releaseNamespace = 'arbees-system';
/** Paper shards; the live namespace is the one the chart authorizes; `elsewhere` is not authorized. */
export const namespaces = { paper: 'shards-paper', live: 'shards-live', elsewhere: 'shards-other' } as const;
export const image = 'arbees:dev';
export const vpnImage = 'arbees-rig/vpn-standin:1';
/** The venues "on the internet": Service external IPs outside every cluster range. */
export const venueIPs = { kalshi: '203.0.113.11', polymarket: '203.0.113.10' };

export interface Installed {
  cluster: ClusterService;
  prometheus: ClusterPrometheus;
  exit: VpnExit;
  keys: VenueKeys;
  scenario: ReturnType<typeof clusterScenario>;
  /** Seconds each installation phase took. */
  phases: Array<[string, number]>;
  kubectl(...args: string[]): Promise<string>;
  helm(...args: string[]): Promise<string>;
  /**
   * Clients of the in-cluster stores, by their Service addresses: Redis as a shard's executor
   * (its ACL user reads every stream of the shard), PostgreSQL as the chart's database user.
   */
  redis(): Promise<Redis>;
  postgres(): Promise<pg.Pool>;
  /** Drops the clients (after a password rotation), so the next ones read the Secrets anew. */
  resetClients(): void;
  values: Record<string, unknown>;
  valuesFile: string;
}

let installing: Promise<Installed> | undefined;

/** Installs once; every cluster test awaits the same installation. */
export function installed(): Promise<Installed> {
  return (installing ??= install());
}

async function install(): Promise<Installed> {
  const phases: Array<[string, number]> = [];
  const phase = async <T>(name: string, action: () => T | Promise<T>): Promise<T> => {
    const began = Date.now();
    const result = await action();
    const seconds = (Date.now() - began) / 1000;
    phases.push([name, seconds]);
    process.stderr.write(`    cluster install: ${name}: ${seconds.toFixed(1)}s\n`);
    return result;
  };
  const cluster = await phase('node up', () => rig.cluster());
  await phase('images built and imported', () => {
    for (const name of ['arbees', 'redis', 'postgres', 'vpn-standin']) cluster.loadImage(imageTar(name));
  });
  const dir = mkdtempSync(join(tmpdir(), 'arbees-cluster-suite-'));
  const kubectl = async (...args: string[]) =>
    (await run(tool('kubectl'), ['--kubeconfig', cluster.kubeconfigPath, ...args], { maxBuffer: 64 << 20 })).stdout.trim();
  const helm = async (...args: string[]) =>
    (await run(tool('helm'), ['--kubeconfig', cluster.kubeconfigPath, ...args], { maxBuffer: 64 << 20 })).stdout.trim();
  const apply = async (objects: object[]) => {
    const file = join(dir, `apply-${Date.now()}.yaml`);
    writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    return kubectl('apply', '--server-side', '--field-manager=cluster-suite', '-f', file);
  };

  const prometheus = await phase('prometheus, scraping the pods by address', async () =>
    startClusterPrometheus(
      join(dir, 'prometheus'),
      cluster.nodeIP,
      async () =>
        JSON.parse(await kubectl('get', 'pods', '-A', '-l', 'app.kubernetes.io/part-of=arbees', '-o', 'json')) as Parameters<
          typeof podTargets
        >[0],
    ),
  );
  const exit = await phase('VPN exit on the node', () => startVpnExit({ nodeIP: cluster.nodeIP, podCIDR: cluster.podCIDR }));
  const keys = venueKeys();
  const scenario = clusterScenario();
  await phase('venue simulators as pods', async () => {
    // The Polymarket simulator serves only the exit's address: anything else gets its geoblock.
    // The suite itself reads the venue's books from the node's address, which no pod ever has.
    await apply(venueObjects(image, keys, scenario, [`${exit.exitIP}/32`, `${cluster.nodeIP}/32`]));
    await kubectl(
      '-n',
      venuesNamespace,
      'patch',
      'service',
      'kalshi-sim',
      '-p',
      JSON.stringify({ spec: { externalIPs: [venueIPs.kalshi] } }),
    );
    await kubectl(
      '-n',
      venuesNamespace,
      'patch',
      'service',
      'polymarket-sim',
      '-p',
      JSON.stringify({ spec: { externalIPs: [venueIPs.polymarket] } }),
    );
    await kubectl('-n', venuesNamespace, 'rollout', 'status', 'deployment/kalshi-sim', 'deployment/polymarket-sim', '--timeout=180s');
  });

  const kalshi = `${venueIPs.kalshi}:${kalshiPort}`;
  const polymarket = `${venueIPs.polymarket}:${polymarketPort}`;
  const kalshiEnv = { restUrl: `http://${kalshi}/trade-api/v2`, wsUrl: `ws://${kalshi}/trade-api/ws/v2` };
  const node = (cidr: string) => [{ ipBlock: { cidr } }];
  const values = {
    ...chartValuesForNode,
    operator: {
      ...chartValuesForNode.operator,
      logLevel: 'info',
      vpnImage,
      prometheus: { url: prometheus.url },
      breaker: { intervalMs: 1000, controlTtlSeconds: 30 },
      venueEndpoints: {
        kalshi: { demo: kalshiEnv, production: kalshiEnv },
        polymarket: { clobUrl: `http://${polymarket}`, wsUrl: `ws://${polymarket}/ws/market`, gammaUrl: `http://${polymarket}/gamma` },
      },
    },
    redis: { ...chartValuesForNode.redis, enabled: true },
    postgresql: { ...chartValuesForNode.postgresql, enabled: true },
    connections: { create: true },
    shardNamespaces: Object.values(namespaces),
    podSecurity: { label: true },
    liveTrading: { namespaces: [namespaces.live] },
    networkPolicy: {
      // The apiserver is on the node (the kubernetes Service's DNAT target), as is CoreDNS.
      apiServer: { cidrs: [`${NODE.ip}/32`], ports: [NODE.apiPort] },
      prometheus: node(`${cluster.nodeIP}/32`),
      shards: {
        dns: node(`${cluster.nodeIP}/32`),
        kalshi: { cidrs: [cluster.podCIDR], ports: [kalshiPort] },
        vpnServers: { cidrs: [`${exit.endpoint.ip}/32`], ports: [{ protocol: 'UDP', port: exit.endpoint.port }] },
        // Only Prometheus (and the kubelet's probes) from the node: no pod scrapes a shard.
        metricsFrom: node(`${cluster.nodeIP}/32`),
      },
    },
  };
  const valuesFile = join(dir, 'values.yaml');
  writeFileSync(valuesFile, stringify(values));
  await phase('helm install --wait', () =>
    helm(
      'install',
      release,
      join(packageInfo().root, 'charts', 'arbees'),
      '-n',
      releaseNamespace,
      '--create-namespace',
      '-f',
      valuesFile,
      '--wait',
      '--timeout',
      '5m',
    ),
  );

  const secretValue = async (namespace: string, name: string, key: string) =>
    Buffer.from(
      await kubectl('-n', namespace, 'get', 'secret', name, '-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`),
      'base64',
    ).toString('utf8');
  const serviceIP = (name: string) => kubectl('-n', releaseNamespace, 'get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}');
  let redisClient: Redis | undefined;
  let pool: pg.Pool | undefined;
  return {
    cluster,
    prometheus,
    exit,
    keys,
    scenario,
    phases,
    kubectl,
    helm,
    values,
    valuesFile,
    async redis() {
      if (redisClient) return redisClient;
      const url = new URL(await secretValue(namespaces.paper, 'arbees-connections', 'redisUrl.executor'));
      url.hostname = await serviceIP(`${release}-redis`);
      redisClient = new Redis(url.toString(), { maxRetriesPerRequest: 2 });
      redisClient.on('error', () => undefined); // Redis restarting (a rotation): the commands retry
      return redisClient;
    },
    resetClients() {
      redisClient?.disconnect();
      redisClient = undefined;
    },
    async postgres() {
      if (pool) return pool;
      const url = new URL(await secretValue(releaseNamespace, 'arbees-connections', 'postgresUrl'));
      url.hostname = await serviceIP(`${release}-postgresql`);
      pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
      pool.on('error', () => undefined); // an idle client cut by a restart: the next query reconnects
      return pool;
    },
  };
}
