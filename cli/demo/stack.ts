// Everything `arbees demo` runs on one machine: Redis and PostgreSQL as local processes, both venue
// simulators in this process (one clock start, so their price paths agree), and the shard's four
// workloads as separate `arbees` processes, exactly as they run in their pods. The executor trades
// live against the simulators (never a real venue): its own key on each, Polymarket through a
// loopback proxy standing in for the VPN pod's, so the simulators' balances show what it did.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import type { Scenario } from '../../workloads/sim/scenario.js';
import { createLogger } from '../../lib/log.js';
import { credentialEnv, shardConfigPathEnv, signalKeyEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { childEnv, freePort, startProcess, type ManagedProcess } from '../local/process.js';
import { startPostgres, type PostgresService } from '../local/postgres.js';
import { startRedis, type RedisService } from '../local/redis.js';
import { startLocalTunnel } from '../local/tunnel.js';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { LIVE_AUTHORIZED_ENV } from '../../workloads/executor/live-venues.js';
import { polymarketProxyEnv } from '../../contracts/shard-config.js';
import type { PolymarketApiCreds } from '../../workloads/sim/polymarket/auth.js';
import { demoShardConfig } from './shard.js';

export const components = ['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'] as const;
export type Component = (typeof components)[number];

export interface Workload {
  component: Component;
  process: ManagedProcess;
  metricsUrl: string;
  readyUrl: string;
}

/** What the executor trades the simulators with (and the report reads their balances with). */
export interface LiveAccess {
  kalshi: KalshiKey;
  polymarket: PolymarketApiCreds & { privateKey: string };
  /** The loopback proxy Polymarket is reached through. */
  proxyUrl: string;
}

/** Each account's starting money on the simulators, in ten-thousandths of $1. */
export const DEMO_BALANCE = { kalshi: 10_000 * 10_000, polymarket: 10_000 * 10_000 };

export interface Stack {
  shard: ShardConfig;
  access: LiveAccess;
  redis: RedisService;
  postgres: PostgresService;
  postgresUrl: string;
  kalshi: KalshiSimHandle;
  polymarket: PolymarketSimHandle;
  workloads: Workload[];
  /** Starts both simulators' scenario clocks at the same instant; returns that instant. */
  startScenario(): number;
  stop(): Promise<void>;
}

export interface StackOptions {
  shard: string;
  scenario: Scenario;
  speed: number;
  /** Temporary state (databases, keys); removed by the caller. */
  workDir: string;
  /** Where each process's log goes. */
  logDir: string;
  progress: (line: string) => void;
}

/** How this process was started (compiled or through tsx), so the workloads start the same way. */
function arbeesCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [...process.execArgv, process.argv[1]!] };
}

/** Redis and PostgreSQL as local processes in workDir, with a fresh `arbees` database; stops registered in cleanups. */
export async function startStores(
  workDir: string,
  cleanups: Array<() => Promise<void>>,
): Promise<{ redis: RedisService; postgres: PostgresService; postgresUrl: string }> {
  const redisDir = join(workDir, 'redis');
  const pgDir = join(workDir, 'postgres');
  mkdirSync(redisDir, { recursive: true, mode: 0o755 });
  mkdirSync(pgDir, { recursive: true, mode: 0o755 });
  const [redis, postgres] = await Promise.all([startRedis(redisDir), startPostgres(pgDir)]);
  cleanups.push(
    () => redis.stop(),
    () => postgres.stop(),
  );
  return { redis, postgres, postgresUrl: await postgres.createDatabase('arbees') };
}

/**
 * What one component's pod would get, and nothing else of this process's environment: the shard,
 * Redis, metrics port, log level and shard config for all; PostgreSQL for the executor; the signal
 * key for the detector and the executor; the Kalshi key for the Kalshi monitor.
 */
export function workloadEnv(
  component: Component,
  o: {
    shard: string;
    redisUrl: string;
    postgresUrl: string;
    port: number;
    shardPath: string;
    signalKey: string;
    kalshi: KalshiKey;
    /** A live executor's access to the simulators. */
    live?: LiveAccess;
  },
): NodeJS.ProcessEnv {
  return childEnv({
    ARBEES_SHARD: o.shard,
    ARBEES_REDIS_URL: o.redisUrl,
    ARBEES_HTTP_PORT: String(o.port),
    ARBEES_LOG_LEVEL: 'info',
    [shardConfigPathEnv]: o.shardPath,
    ...(component === 'executor' ? { ARBEES_POSTGRES_URL: o.postgresUrl } : {}),
    ...(component === 'detector' || component === 'executor' ? { [signalKeyEnv]: o.signalKey } : {}),
    ...(component === 'kalshi-monitor'
      ? { [credentialEnv.kalshi.keyId]: o.kalshi.keyId, [credentialEnv.kalshi.privateKey]: o.kalshi.privateKeyPem }
      : {}),
    ...(component === 'executor' && o.live ? liveEnv(o.live) : {}),
  });
}

/** Both switches and the keys of a live executor, as its pod would get them from its Secrets. */
function liveEnv(live: LiveAccess): NodeJS.ProcessEnv {
  const names = credentialEnv.polymarket;
  return {
    [LIVE_AUTHORIZED_ENV]: 'true',
    [credentialEnv.kalshi.keyId]: live.kalshi.keyId,
    [credentialEnv.kalshi.privateKey]: live.kalshi.privateKeyPem,
    [names.apiKey]: live.polymarket.apiKey,
    [names.apiSecret]: live.polymarket.secret,
    [names.apiPassphrase]: live.polymarket.passphrase,
    [names.privateKey]: live.polymarket.privateKey,
    [polymarketProxyEnv]: live.proxyUrl,
  };
}

interface KalshiKey {
  keyId: string;
  privateKeyPem: string;
}

/**
 * The shard's four processes, each `arbees <component>` with the env its pod would get (workloadEnv),
 * reading the shard config from `<workDir>/shard.json` as the pods read their ConfigMap.
 */
export async function startWorkloads(o: {
  shardConfig: ShardConfig;
  workDir: string;
  redisUrl: string;
  postgresUrl: string;
  kalshi: KalshiKey;
  logDir: string;
  arbees: { command: string; args: string[]; cwd?: string };
  paperLatencyMs?: number;
  /** The detector's and executor's signal key (default: a new random one). */
  signalKey?: string;
  /** Trade live against the simulators with these (the shard config must say live). */
  live?: LiveAccess;
  /** The executor's settlement poll (default its own, 30 s). */
  settlementIntervalMs?: number;
  /** More `arbees executor` flags (load runs: `--market-cooldown-ms 0`). */
  executorArgs?: string[];
}): Promise<Workload[]> {
  const shardPath = join(o.workDir, 'shard.json');
  writeFileSync(shardPath, JSON.stringify(o.shardConfig, null, 2));
  const signalKey = o.signalKey ?? randomBytes(32).toString('hex');
  const workloads: Workload[] = [];
  try {
    for (const component of components) {
      const port = await freePort();
      const { shard } = o.shardConfig;
      const env = workloadEnv(component, { ...o, shard, port, shardPath, signalKey });
      const extra =
        component !== 'executor'
          ? []
          : [
              ...(o.live ? [] : ['--paper-latency-ms', String(o.paperLatencyMs ?? 15)]),
              ...(o.settlementIntervalMs ? ['--settlement-interval-ms', String(o.settlementIntervalMs)] : []),
              ...(o.executorArgs ?? []),
            ];
      const proc = startProcess(component, o.arbees.command, [...o.arbees.args, component, ...extra], {
        logFile: join(o.logDir, `${component}.log`),
        env,
        ...(o.arbees.cwd ? { cwd: o.arbees.cwd } : {}),
      });
      workloads.push({
        component,
        process: proc,
        metricsUrl: `http://127.0.0.1:${port}/metrics`,
        readyUrl: `http://127.0.0.1:${port}/readyz`,
      });
    }
    return workloads;
  } catch (error) {
    await Promise.all(workloads.map((w) => w.process.stop('SIGKILL')));
    throw error;
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { workDir, logDir, progress } = options;
  mkdirSync(logDir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    progress('starting Redis and PostgreSQL');
    const { redis, postgres, postgresUrl } = await startStores(workDir, cleanups);

    progress('starting the Kalshi and Polymarket simulators');
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kalshiKeyId = `demo-${randomBytes(4).toString('hex')}`;
    // The simulators run in this process; their logs go to a file, not over the live summary.
    const simLog = createLogger(
      { name: 'simulators', level: 'info' },
      pino.destination({ dest: join(logDir, 'simulators.log'), sync: false }),
    );
    const common = {
      scenario: options.scenario,
      speed: options.speed,
      host: '127.0.0.1',
      port: 0,
      autoStart: false,
      logger: simLog,
    } as const;
    const kalshiKey = { keyId: kalshiKeyId, privateKeyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const kalshi = await startKalshiSim({
      ...common,
      apiKeys: [{ id: kalshiKeyId, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      balanceCents: DEMO_BALANCE.kalshi / 100,
    });
    cleanups.push(() => kalshi.stop());
    // A wallet of our own on the Polymarket simulator, with L2 credentials as the venue issues them.
    const walletKey = generatePrivateKey();
    const polymarketCreds: PolymarketApiCreds = {
      apiKey: randomUUID(),
      secret: randomBytes(32).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
      passphrase: randomBytes(32).toString('hex'),
      address: privateKeyToAccount(walletKey).address,
    };
    const polymarket = await startPolymarketSim({
      ...common,
      creds: [polymarketCreds],
      geoblock: { allowedCidrs: ['127.0.0.0/8'], scope: 'all' },
      balanceUsd: DEMO_BALANCE.polymarket / 10_000,
    });
    cleanups.push(() => polymarket.stop());
    const tunnel = await startLocalTunnel();
    cleanups.push(() => tunnel.close());
    const access: LiveAccess = { kalshi: kalshiKey, polymarket: { ...polymarketCreds, privateKey: walletKey }, proxyUrl: tunnel.url };
    // Held still until every workload is ready, then started together.
    kalshi.pause();
    polymarket.pause();

    const shard = demoShardConfig(
      options.shard,
      options.scenario,
      {
        kalshiRestUrl: kalshi.url,
        kalshiWsUrl: kalshi.wsUrl,
        polymarketClobUrl: polymarket.url,
        polymarketWsUrl: polymarket.wsUrl,
        polymarketGammaUrl: polymarket.gammaUrl,
      },
      'live',
    );
    progress('starting kalshi-monitor, polymarket-monitor, detector and executor');
    const workloads = await startWorkloads({
      shardConfig: shard,
      workDir,
      redisUrl: redis.url,
      postgresUrl,
      kalshi: kalshiKey,
      logDir,
      arbees: arbeesCommand(),
      live: access,
      // Positions settle within the run: the resolutions are read every 2 s, not every 30.
      settlementIntervalMs: 2_000,
    });
    cleanups.push(...workloads.map((w) => () => w.process.stop('SIGTERM', 15_000)));
    return {
      shard,
      access,
      redis,
      postgres,
      postgresUrl,
      kalshi,
      polymarket,
      workloads,
      startScenario() {
        kalshi.resume();
        polymarket.resume();
        return Date.now();
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Waits for every workload's /readyz; fails with the log of the one that exited or never got ready. */
export async function untilReady(workloads: Workload[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(workloads);
  const reasons = new Map<Workload, string>();
  let exited: Workload | undefined;
  for (const w of workloads) void w.process.exited.then(() => (exited ??= w));
  while (pending.size > 0) {
    if (exited)
      throw new Error(
        `${exited.component} exited during start-up; last log lines (${exited.process.logFile}):\n${exited.process.logTail()}`,
      );
    if (Date.now() > deadline) {
      const which = [...pending].map((w) => `${w.component} (${reasons.get(w) ?? 'no answer'}; log ${w.process.logFile})`);
      throw new Error(`not ready after ${timeoutMs / 1000}s: ${which.join(', ')}`);
    }
    await Promise.all(
      [...pending].map(async (w) => {
        try {
          const response = await fetch(w.readyUrl, { signal: AbortSignal.timeout(1_000) });
          if (response.ok) pending.delete(w);
          else reasons.set(w, (await response.text()).slice(0, 200));
        } catch (error) {
          reasons.set(w, (error as Error).message);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
  }
}
