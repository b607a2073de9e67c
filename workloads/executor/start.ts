// The executor's start-up: from the runtime config (file and/or ARBEES_* variables), the shard
// config and the command line's overrides to a running executor — PostgreSQL pool and migrations,
// the control gate, the book cache fed from the quotes stream, the venues (paper, or live Kalshi
// and Polymarket), the settlement poller, metrics and the /metrics, /healthz, /readyz endpoints.
// `arbees executor` parses its flags and calls this; the integration tests call
// startExecutorService with configs of their own.
import { unwatchFile, watchFile } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { Venue } from '../../contracts/messages.js';
import { polymarketProxyEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { signalKeyFrom } from '../../contracts/signal-auth.js';
import { loadRuntimeConfig, loadShardConfig, type RuntimeConfig } from '../../lib/config.js';
import { createLogger } from '../../lib/log.js';
import { startOpsServer, type OpsServer, type Readiness } from '../../lib/ops-server.js';
import type { VenueClient } from '../../venues/orders.js';
import { BookCache, QuoteFeed } from './books.js';
import { ControlGate } from './control.js';
import { Executor } from './executor.js';
import { FeeTable } from '../../venues/fee-table.js';
import { MarketParamsRefresher } from './market-params.js';
import { untilItWorks } from '../../lib/retry.js';
import { createPool } from './postgres.js';
import { liveVenues } from './live-venues.js';
import { createExecutorMetrics, type ExecutorMetrics } from './metrics.js';
import { migrate } from './migrations.js';
import type { ExecutorHooks } from './order-sender.js';
import { PaperVenue, type PaperSettings } from './paper.js';
import { defaultExecutorSettings, type ExecutorSettings, type RiskTuning } from './settings.js';
import { startSettlement, type SettlementPoller } from './settlement.js';

/** Where the executor's configuration comes from, and the overrides, as the command line gives them. */
export interface ExecutorSources {
  configFile?: string;
  /** Re-read when it changes (the mounted ConfigMap). */
  shardConfigPath: string;
  env: NodeJS.ProcessEnv;
  /** One-legged fill policy. */
  unwind?: 'hedge' | 'close';
  firstVenue?: Venue;
  concurrency?: number;
  timeZone?: string;
  marketCooldownMs?: number;
  paperLatencyMs?: number;
  paperSlippageBps?: number;
  /** Between settlement polls. */
  settlementIntervalMs?: number;
}

export interface ExecutorServiceOptions {
  runtime: RuntimeConfig;
  shardConfig: ShardConfig;
  /** Re-read this file when it changes (the mounted ConfigMap). */
  shardConfigPath?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  settings?: Partial<ExecutorSettings>;
  risk?: RiskTuning;
  paper?: PaperSettings;
  hooks?: ExecutorHooks;
  /** Serve /metrics, /healthz, /readyz (default true). */
  ops?: boolean;
  /** Between settlement polls (default 30 s). */
  settlementIntervalMs?: number;
  /**
   * Where fees, ticks and fractional trading come from: `venues` (default) reads them from the
   * venues and publishes them for the detector; `assumed` takes fixed defaults, for tests without
   * venues to ask.
   */
  terms?: 'venues' | 'assumed';
  /** Between reads of the venues' terms (default 5 min). */
  termsIntervalMs?: number;
}

export interface ExecutorService {
  executor: Executor;
  metrics: ExecutorMetrics;
  books: BookCache;
  /** The shard's control state as this executor hears it (pause and breaker). */
  control: ControlGate;
  pool: pg.Pool;
  ops?: OpsServer;
  /** Resolves when the executor stops by itself (lost shard lock). */
  stopped: Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

/** Reads both configs and makes the process's logger; throws ConfigError listing the problems. */
export function executorOptions(sources: ExecutorSources): ExecutorServiceOptions {
  const runtime = loadRuntimeConfig({ file: sources.configFile, env: sources.env });
  const shardConfig = loadShardConfig(sources.shardConfigPath);
  signalKeyFrom(sources.env, 'executor'); // a missing key is a configuration error, reported as one
  const settings: Partial<ExecutorSettings> = {
    ...(sources.unwind ? { unwind: { policy: sources.unwind, steps: 3, stepTicks: 100 } } : {}),
    ...(sources.firstVenue ? { firstVenue: sources.firstVenue } : {}),
    ...(sources.concurrency ? { concurrency: sources.concurrency } : {}),
    ...(sources.timeZone ? { timeZone: sources.timeZone } : {}),
  };
  return {
    runtime,
    shardConfig,
    shardConfigPath: sources.shardConfigPath,
    env: sources.env,
    log: createLogger({ name: 'executor', level: runtime.log.level, bindings: { shard: runtime.shard } }),
    settings,
    ...(sources.marketCooldownMs !== undefined ? { risk: { marketCooldownMs: sources.marketCooldownMs } } : {}),
    paper: { latencyMs: sources.paperLatencyMs ?? 0, slippageBps: sources.paperSlippageBps ?? 0 },
    ...(sources.settlementIntervalMs ? { settlementIntervalMs: sources.settlementIntervalMs } : {}),
  };
}

/** The executor's /readyz: trading (holding the lock, reconciled) and listening to the control channel. */
export function executorReadiness(executor: { ready: boolean; lostLock: boolean }, control: { listening: boolean }): Readiness {
  if (!executor.ready)
    return executor.lostLock
      ? { ready: false, reason: 'lost_shard_lock' }
      : { ready: false, reason: 'recovering', detail: 'not holding the shard lock yet, or reconciling' };
  if (!control.listening) return { ready: false, reason: 'control_unsubscribed' };
  return { ready: true };
}

/**
 * Builds and starts everything; resolves once the executor holds the shard lock and has reconciled.
 * Throws LiveTradingRefused when live mode lacks a switch, a credential or the Polymarket proxy.
 */
export async function startExecutorService(options: ExecutorServiceOptions): Promise<ExecutorService> {
  const { runtime, shardConfig, log } = options;
  if (shardConfig.shard !== runtime.shard)
    throw new Error(`shard config is for "${shardConfig.shard}" but this process runs shard "${runtime.shard}"`);
  // Without the detector's key no signal could be told from a forgery: refuse to start (fail safe).
  const signalKey = signalKeyFrom(options.env, 'executor');
  const live = shardConfig.executor.mode === 'live';
  const pool = createPool(runtime.postgres.url);
  const metrics = createExecutorMetrics(runtime.shard, { defaultMetrics: options.ops !== false });
  const books = new BookCache();
  const cleanups: Array<() => Promise<void> | void> = [async () => pool.end().catch(() => undefined)];
  try {
    // PostgreSQL may not answer yet (a network policy lands a moment after the pod starts): wait.
    const migrated = (await untilItWorks('migrating the ledger', () => migrate(pool), { log }))!;
    if (migrated.applied.length > 0) log.info({ applied: migrated.applied }, 'ledger migrations applied');
    const fees = options.terms === 'assumed' ? new FeeTable() : new FeeTable('strict');
    const venues: Partial<Record<Venue, VenueClient>> = live
      ? await liveVenues(shardConfig, options.env, pool, log)
      : {
          kalshi: new PaperVenue('kalshi', books, pool, fees, options.paper),
          polymarket: new PaperVenue('polymarket', books, pool, fees, options.paper),
        };
    // The venues' own terms, read before the first signal is taken (a market still unknown is refused),
    // and only once live trading's preconditions hold: Polymarket is read only as orders would be.
    const terms =
      options.terms === 'assumed'
        ? undefined
        : new MarketParamsRefresher({
            shard: runtime.shard,
            config: shardConfig,
            fees,
            log,
            registry: metrics.registry,
            redisUrl: runtime.redis.url,
            ...(options.env[polymarketProxyEnv] ? { polymarketProxyUrl: options.env[polymarketProxyEnv] } : {}),
            ...(options.termsIntervalMs ? { intervalMs: options.termsIntervalMs } : {}),
          });
    if (terms) {
      cleanups.push(() => terms.stop());
      await terms.start();
    }
    cleanups.push(async () => {
      for (const venue of Object.values(venues)) await venue.close?.();
    });
    const control = new ControlGate(runtime.redis.url, runtime.shard, log);
    cleanups.push(() => control.stop());
    await control.start();
    const feedRedis = new Redis(runtime.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    feedRedis.on('error', () => undefined);
    await feedRedis.connect().catch(() => undefined);
    const feed = new QuoteFeed(feedRedis, runtime.shard, books, log);
    cleanups.push(() => feed.stop());
    await feed.start();

    const settings = defaultExecutorSettings(shardConfig, options.settings, options.risk);
    const executor = new Executor({
      config: shardConfig,
      settings,
      pool,
      redisUrl: runtime.redis.url,
      signalKey,
      control,
      venues,
      books,
      metrics,
      log,
      fees,
      ...(terms ? { terms } : {}),
      ...(options.hooks ? { hooks: options.hooks } : {}),
    });

    let ops: OpsServer | undefined;
    if (options.ops !== false) {
      ops = await startOpsServer({
        port: runtime.http.port,
        registry: metrics.registry,
        log,
        readiness: () => executorReadiness(executor, control),
      });
      cleanups.push(() => ops!.close());
      log.info({ port: ops.port }, 'serving /metrics /healthz /readyz');
    }

    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    await executor.start();
    // Resolved markets pay out in the ledger and in the running executor's positions and PnL.
    const settle = (config: ShardConfig): SettlementPoller =>
      startSettlement({
        pool,
        shard: runtime.shard,
        shardConfig: config,
        log,
        metrics,
        timeZone: settings.timeZone,
        onSettled: (s) => executor.applySettlement(s.effects),
        ...(options.settlementIntervalMs ? { intervalMs: options.settlementIntervalMs } : {}),
        ...(options.env[polymarketProxyEnv] ? { polymarketProxyUrl: options.env[polymarketProxyEnv] } : {}),
      });
    let settlement = settle(shardConfig);
    cleanups.push(() => settlement.stop());

    if (options.shardConfigPath) {
      const path = options.shardConfigPath;
      watchFile(path, { interval: 2_000 }, () => {
        try {
          const next = loadShardConfig(path);
          executor.updateConfig(next, defaultExecutorSettings(next, options.settings, options.risk));
          terms?.setMarkets(next.markets);
          const previous = settlement;
          settlement = settle(next);
          void previous.stop();
          log.info({ generation: (next as { generation?: number }).generation }, 'shard config reloaded');
        } catch (error) {
          log.error({ err: error }, 'shard config changed but is invalid; keeping the previous one');
        }
      });
      cleanups.push(() => unwatchFile(path));
    }

    const watcher = setInterval(() => {
      if (executor.lostLock) resolveStopped();
    }, 250);
    watcher.unref();
    log.info({ shard: runtime.shard, mode: shardConfig.executor.mode, markets: shardConfig.markets.length }, 'executor running');
    const cleanup = async () => {
      clearInterval(watcher);
      for (const c of cleanups.reverse())
        await Promise.resolve(c()).catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    };
    return {
      executor,
      metrics,
      books,
      control,
      pool,
      ...(ops ? { ops } : {}),
      stopped,
      async stop() {
        try {
          await executor.stop();
        } finally {
          await cleanup();
          resolveStopped();
        }
      },
      kill() {
        executor.kill();
        void cleanup();
        resolveStopped();
      },
    };
  } catch (error) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    throw error;
  }
}
