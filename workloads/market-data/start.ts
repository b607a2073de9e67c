// The start-up both venue monitors share: runtime and shard config, logger, metrics registry,
// then the ops endpoints around a started monitor. Each monitor's start.ts adds its venue.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ConfigError } from '../../contracts/config-error.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { loadRuntimeConfigWithoutPostgres, loadShardConfig, type RuntimeConfigWithoutPostgres } from '../../lib/config.js';
import { createLogger, redactUrl } from '../../lib/log.js';
import { startOpsServer, type Readiness } from '../../lib/ops-server.js';

/** Where a monitor's configuration comes from, as the command line gives it. */
export interface MonitorSources {
  configFile?: string;
  /** Default: $ARBEES_SHARD_CONFIG, else the mounted path. */
  shardConfigPath?: string;
  env: NodeJS.ProcessEnv;
  /** Levels per side in each published quote (default 10). */
  depth?: number;
  /** Default: the shard's detector.maxQuoteAgeMs. */
  maxQuoteAgeMs?: number;
  /** Approximate cap of the quotes stream (default 100 000). */
  streamMaxLen?: number;
  /** Subscribed books silent for this long: stalled, not ready, resubscribed (default 60 s). */
  quietMs?: number;
  /** Overrides the configured log level. */
  logLevel?: string;
}

export interface MonitorContext {
  runtime: RuntimeConfigWithoutPostgres;
  shard: ShardConfig;
  log: Logger;
  registry: Registry;
  depth: number;
  maxQuoteAgeMs: number;
  streamMaxLen: number;
  quietMs: number | undefined;
}

/** Reads and checks the configuration; throws ConfigError listing the problems. */
export function monitorContext(sources: MonitorSources, name: string): MonitorContext {
  const runtime = loadRuntimeConfigWithoutPostgres({ file: sources.configFile, env: sources.env });
  const shard = loadShardConfig(sources.shardConfigPath);
  if (shard.shard !== runtime.shard) {
    throw new ConfigError('shard mismatch:', [
      `the runtime config names shard "${runtime.shard}" but the shard config is for "${shard.shard}"`,
    ]);
  }
  const log = createLogger({ name, level: sources.logLevel ?? runtime.log.level, bindings: { shard: runtime.shard } });
  const registry = new Registry();
  registry.setDefaultLabels({ shard: runtime.shard });
  collectDefaultMetrics({ register: registry });
  return {
    runtime,
    shard,
    log,
    registry,
    depth: sources.depth ?? 10,
    maxQuoteAgeMs: sources.maxQuoteAgeMs ?? shard.detector.maxQuoteAgeMs,
    streamMaxLen: sources.streamMaxLen ?? 100_000,
    quietMs: sources.quietMs,
  };
}

export interface Monitor {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Readiness;
}

export interface RunningMonitor {
  log: Logger;
  /** Marks every book stale, flushes, closes the endpoints. */
  stop(): Promise<void>;
}

/** Serves /metrics, /healthz, /readyz, then starts the monitor. */
export async function runMonitor(context: MonitorContext, monitor: Monitor, what: string): Promise<RunningMonitor> {
  const { log } = context;
  const ops = await startOpsServer({
    port: context.runtime.http.port,
    registry: context.registry,
    readiness: () => monitor.readiness(),
    log,
  });
  log.info({ port: ops.port, redis: redactUrl(context.runtime.redis.url), markets: context.shard.markets.length }, `${what} starting`);
  await monitor.start();
  return {
    log,
    stop: async () => {
      log.info(`${what} stopping: marking books stale and flushing`);
      await monitor.stop();
      await ops.close();
      log.info(`${what} stopped`);
    },
  };
}
