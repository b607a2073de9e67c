// The Kalshi monitor's start-up: configuration, its own read-only API key (never the executor's
// trading key), then the monitor and its ops endpoints. `arbees kalshi-monitor` calls this.
import { credentialEnv } from '../../contracts/shard-config.js';
import { KalshiCredentialError, loadKalshiPrivateKey } from '../../venues/kalshi/auth.js';
import { monitorContext, runMonitor, type MonitorSources, type RunningMonitor } from '../market-data/start.js';
import { KalshiMonitor } from './service.js';

export async function startKalshiMonitor(sources: MonitorSources): Promise<RunningMonitor> {
  const context = monitorContext(sources, 'kalshi-monitor');
  const keyId = sources.env[credentialEnv.kalshi.keyId];
  if (!keyId) throw new KalshiCredentialError(`${credentialEnv.kalshi.keyId} is not set (the Kalshi API key id)`);
  const privateKey = loadKalshiPrivateKey(sources.env[credentialEnv.kalshi.privateKey], credentialEnv.kalshi.privateKey);
  const monitor = new KalshiMonitor({
    shard: context.runtime.shard,
    markets: context.shard.markets.map((m) => ({ ticker: m.kalshi.ticker, marketId: m.id })),
    wsUrl: context.shard.venues.kalshi.wsUrl,
    keyId,
    privateKey,
    redisUrl: context.runtime.redis.url,
    maxQuoteAgeMs: context.maxQuoteAgeMs,
    depth: context.depth,
    streamMaxLen: context.streamMaxLen,
    quietMs: context.quietMs,
    registry: context.registry,
    log: context.log,
  });
  return runMonitor(context, monitor, 'kalshi monitor');
}
