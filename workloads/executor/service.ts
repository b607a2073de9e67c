// Assembles a running executor from its configuration: PostgreSQL pool and migrations, the
// control gate, the book cache fed from the quotes stream, the venues (paper, or live Kalshi and
// Polymarket), metrics and the ops endpoints. Used by `arbees executor` and by the integration tests.
import { unwatchFile, watchFile } from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { RuntimeConfig } from '../../lib/config.js';
import type { Venue } from '../../contracts/messages.js';
import { startOpsServer, type OpsServer } from '../../lib/ops-server.js';
import { credentialEnv, polymarketProxyEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { loadShardConfig } from '../../lib/config.js';
import { BookCache, QuoteFeed } from './books.js';
import { ControlGate } from './control.js';
import { Executor } from './executor.js';
import type { ExecutorHooks } from './order-sender.js';
import { defaultExecutorSettings, type ExecutorSettings, type RiskTuning } from './settings.js';
import { loadKalshiPrivateKey } from '../../venues/kalshi/auth.js';
import { KalshiClient } from '../../venues/kalshi/orders.js';
import { createPool } from './ledger.js';
import { createExecutorMetrics, type ExecutorMetrics } from './metrics.js';
import { migrate } from './migrations.js';
import { PaperVenue, type PaperSettings } from './paper.js';
import { startSettlement, type SettlementPoller } from './settlement.js';
import type { VenueClient } from '../../venues/orders.js';

export const LIVE_AUTHORIZED_ENV = 'ARBEES_LIVE_TRADING_AUTHORIZED';

export interface ServiceOptions {
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
}

export interface ExecutorService {
  executor: Executor;
  metrics: ExecutorMetrics;
  books: BookCache;
  pool: pg.Pool;
  ops?: OpsServer;
  /** Resolves when the executor stops by itself (lost shard lock). */
  stopped: Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

export class LiveTradingRefused extends Error {}

/** What live trading would need, or a refusal that names what is missing. */
async function liveVenues(shardConfig: ShardConfig, env: NodeJS.ProcessEnv, pool: pg.Pool, log: Logger): Promise<Partial<Record<Venue, VenueClient>>> {
  if (env[LIVE_AUTHORIZED_ENV] !== 'true') {
    throw new LiveTradingRefused(`the shard is in live mode but ${LIVE_AUTHORIZED_ENV} is not "true": refusing to trade real money (two switches are required)`);
  }
  const keyId = env[credentialEnv.kalshi.keyId];
  const privateKey = env[credentialEnv.kalshi.privateKey];
  if (!keyId || !privateKey) throw new LiveTradingRefused(`live Kalshi needs ${credentialEnv.kalshi.keyId} and ${credentialEnv.kalshi.privateKey}`);
  let key;
  try {
    key = loadKalshiPrivateKey(privateKey, credentialEnv.kalshi.privateKey);
  } catch (error) {
    throw new LiveTradingRefused((error as Error).message);
  }
  const venues: Partial<Record<Venue, VenueClient>> = { kalshi: new KalshiClient({ restUrl: shardConfig.venues.kalshi.restUrl, credentials: { keyId, privateKey: key } }) };

  const names = credentialEnv.polymarket;
  const given = Object.values(names).filter((name) => env[name]);
  if (given.length === 0) {
    log.warn('no Polymarket credentials: signals with a Polymarket leg are refused (rule venue-unavailable)');
    return venues;
  }
  const missing = Object.values(names).filter((name) => !env[name]);
  if (missing.length > 0) throw new LiveTradingRefused(`live Polymarket needs ${missing.join(', ')} as well`);
  const proxyUrl = env[polymarketProxyEnv];
  if (!proxyUrl) throw new LiveTradingRefused(`live Polymarket needs ${polymarketProxyEnv} (the VPN pod's proxy): its traffic must never leave outside the tunnel`);
  // Loaded only here: the official client and its crypto are heavy and only live trading needs them.
  const { PolymarketClient } = await import('../../venues/polymarket/orders.js');
  venues.polymarket = new PolymarketClient({
    clobUrl: shardConfig.venues.polymarket.clobUrl,
    proxyUrl,
    pool,
    credentials: { apiKey: env[names.apiKey]!, secret: env[names.apiSecret]!, passphrase: env[names.apiPassphrase]!, privateKey: env[names.privateKey]! },
  });
  return venues;
}

export async function startExecutorService(options: ServiceOptions): Promise<ExecutorService> {
  const { runtime, shardConfig, log } = options;
  if (shardConfig.shard !== runtime.shard) throw new Error(`shard config is for "${shardConfig.shard}" but this process runs shard "${runtime.shard}"`);
  const live = shardConfig.executor.mode === 'live';
  const pool = createPool(runtime.postgres.url);
  const metrics = createExecutorMetrics(runtime.shard, { defaultMetrics: options.ops !== false });
  const books = new BookCache();
  const cleanups: Array<() => Promise<void> | void> = [async () => pool.end().catch(() => undefined)];
  try {
    const migrated = await migrate(pool);
    if (migrated.applied.length > 0) log.info({ applied: migrated.applied }, 'ledger migrations applied');
    const venues: Partial<Record<Venue, VenueClient>> = live
      ? await liveVenues(shardConfig, options.env, pool, log)
      : { kalshi: new PaperVenue('kalshi', books, pool, undefined, options.paper), polymarket: new PaperVenue('polymarket', books, pool, undefined, options.paper) };
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
    const executor = new Executor({ config: shardConfig, settings, pool, redisUrl: runtime.redis.url, control, venues, books, metrics, log, ...(options.hooks ? { hooks: options.hooks } : {}) });

    let ops: OpsServer | undefined;
    if (options.ops !== false) {
      ops = await startOpsServer({
        port: runtime.http.port,
        registry: metrics.registry,
        readiness: () => {
          if (!executor.ready) return { ready: false, reason: executor.lostLock ? 'lost the shard lock' : 'not holding the shard lock or reconciling' };
          if (!control.listening) return { ready: false, reason: 'not subscribed to the control channel' };
          return { ready: true };
        },
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
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    };
    return {
      executor,
      metrics,
      books,
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
