// The detector's start-up: from the runtime config (file and/or ARBEES_* variables), the shard
// config and an optional fair-values file to a running service with its /metrics, /healthz and
// /readyz endpoints. `arbees detector` parses its flags and calls this.
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ConfigError } from '../../contracts/config-error.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { signalKeyFrom } from '../../contracts/signal-auth.js';
import { loadRuntimeConfigWithoutPostgres, loadShardConfig } from '../../lib/config.js';
import { WHOLE_MS_BUCKETS } from '../../lib/latency-buckets.js';
import { createLogger } from '../../lib/log.js';
import { startOpsServer, type OpsServer } from '../../lib/ops-server.js';
import { defaultDetectorConfig, type DetectorConfigInput } from './core.js';
import { loadFairValues, type FairValuesFile } from './fair-source.js';
import { DetectorService, type DetectorServiceOptions } from './service.js';
import { FeeTable } from '../../venues/fee-table.js';
import { MarketParamsFollower } from './market-params.js';

/** Where the detector's configuration comes from, as the command line gives it. */
export interface DetectorSources {
  configFile?: string;
  shardConfigPath: string;
  fairValuesPath?: string;
  env: NodeJS.ProcessEnv;
}

export type DetectorStartOptions = DetectorServiceOptions & {
  httpPort: number;
  httpHost?: string;
  /** Price with the venues' fees as the executor publishes them (contracts/market-params.ts); `fees` must be strict. */
  followMarketParams?: boolean;
};

/** The core settings a shard asks for (TradingShard spec.detector) on top of the defaults. */
export function detectorSettings(shard: ShardConfig, fair: FairValuesFile | undefined): DetectorConfigInput {
  const d = defaultDetectorConfig;
  return {
    gating: { maxQuoteAgeMs: shard.detector.maxQuoteAgeMs, maxLegSkewMs: Math.min(d.gating.maxLegSkewMs, shard.detector.maxQuoteAgeMs) },
    arbitrage: { minEdgeBps: shard.detector.minEdgeBps },
    // Model edge is not risk-free: its threshold is its own (the fair-values file's, else 15 %),
    // never the shard's arbitrage threshold.
    edge: { enabled: fair !== undefined, ...(fair?.minEdgeBps !== undefined ? { minEdgeBps: fair.minEdgeBps } : {}) },
    spam: { cooldownMs: shard.detector.cooldownMs },
  };
}

/** Reads and checks every source, and makes the process's logger and metrics registry; throws ConfigError listing the problems. */
export function detectorOptions(sources: DetectorSources): DetectorStartOptions {
  const runtime = loadRuntimeConfigWithoutPostgres({ file: sources.configFile, env: sources.env });
  const shard = loadShardConfig(sources.shardConfigPath);
  if (shard.shard !== runtime.shard) {
    throw new ConfigError('the shard config belongs to another shard:', [
      `shard config says "${shard.shard}", ARBEES_SHARD/shard says "${runtime.shard}"`,
    ]);
  }
  const fair = sources.fairValuesPath ? loadFairValues(sources.fairValuesPath) : undefined;
  return {
    shard: runtime.shard,
    redisUrl: runtime.redis.url,
    // Refuses to start without it: an unsigned signal would be refused by the executor anyway.
    signalKey: signalKeyFrom(sources.env, 'detector'),
    httpPort: runtime.http.port,
    log: createLogger({ name: 'arbees-detector', level: runtime.log.level, bindings: { shard: runtime.shard } }),
    registry: detectorRegistry(runtime.shard),
    detector: detectorSettings(shard, fair),
    fairValues: fair?.source,
    // With discovery the monitors find markets at run time; otherwise only the listed ones.
    markets: shard.discovery ? undefined : shard.markets.map((m) => m.id),
    // The venues' fees, as the executor reads them: a market they have not described is not priced.
    fees: new FeeTable('strict'),
    followMarketParams: true,
  };
}

export interface RunningDetector {
  service: DetectorService;
  ops: OpsServer;
  stop(): Promise<void>;
}

/** Starts the service and its /metrics, /healthz and /readyz endpoints. */
export async function startDetector(options: DetectorStartOptions): Promise<RunningDetector> {
  const service = new DetectorService(options);
  measureQuoteDelays(service);
  const follower =
    options.followMarketParams && options.fees
      ? new MarketParamsFollower({
          shard: options.shard,
          redisUrl: options.redisUrl,
          fees: options.fees,
          ...(options.markets ? { markets: options.markets } : {}),
          registry: service.registry,
          ...(options.log ? { log: options.log } : {}),
        })
      : undefined;
  await follower?.start();
  const ops = await startOpsServer({
    port: options.httpPort,
    host: options.httpHost,
    registry: service.registry,
    readiness: () => service.readiness(),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    await service.start();
  } catch (error) {
    follower?.stop();
    await ops.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    service,
    ops,
    stop: () =>
      (stopping ??= (async () => {
        follower?.stop();
        await service.stop();
        await ops.close();
      })()),
  };
}

/**
 * How long each quote took from the venue's stamp and from the monitor's receipt to being evaluated
 * here, on every quote (signalled or not): one clock read and two histogram observations a quote.
 */
function measureQuoteDelays(service: DetectorService): void {
  const delay = new Histogram({
    name: 'arbees_detector_quote_delay_seconds',
    help:
      "From the venue's stamp (since=venue) or the monitor's receipt (since=monitor) of a quote to the detector having evaluated it, " +
      'every quote',
    labelNames: ['since'],
    buckets: [...WHOLE_MS_BUCKETS],
    registers: [service.registry],
  });
  const sinceVenue = delay.labels({ since: 'venue' });
  const sinceMonitor = delay.labels({ since: 'monitor' });
  service.core.onEvaluated = (quote) => {
    const now = Date.now();
    sinceVenue.observe(Math.max(0, now - quote.exchangeTs) / 1000);
    sinceMonitor.observe(Math.max(0, now - quote.receivedTs) / 1000);
  };
}

function detectorRegistry(shard: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ shard });
  collectDefaultMetrics({ register: registry });
  return registry;
}
