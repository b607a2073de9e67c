// The Polymarket monitor's start-up: configuration and the VPN/geoblock gate, then the monitor and
// its ops endpoints. `arbees polymarket-monitor` calls this.
import { monitorContext, runMonitor, type MonitorSources, type RunningMonitor } from '../market-data/start.js';
import { PolymarketMonitor } from './service.js';
import { defaultGeoblockUrl } from './vpn.js';

/** The gluetun control server's API key, sent as X-API-Key. */
export const VPN_CONTROL_API_KEY_ENV = 'ARBEES_VPN_CONTROL_API_KEY';

export interface PolymarketMonitorSources extends MonitorSources {
  vpn: {
    /** False only for local development: connect even when the check fails. */
    required: boolean;
    /** Default: Polymarket's own for the real venue, else <clobUrl origin>/api/geoblock. */
    geoblockUrl?: string;
    controlUrl?: string;
    intervalMs?: number;
  };
}

export async function startPolymarketMonitor(sources: PolymarketMonitorSources): Promise<RunningMonitor> {
  const context = monitorContext(sources, 'polymarket-monitor');
  const poly = context.shard.venues.polymarket;
  const monitor = new PolymarketMonitor({
    shard: context.runtime.shard,
    markets: context.shard.markets.map((m) => ({ marketId: m.id, yesTokenId: m.polymarket.yesTokenId, noTokenId: m.polymarket.noTokenId })),
    wsUrl: poly.wsUrl,
    redisUrl: context.runtime.redis.url,
    maxQuoteAgeMs: context.maxQuoteAgeMs,
    depth: context.depth,
    streamMaxLen: context.streamMaxLen,
    quietMs: context.quietMs,
    vpn: {
      required: sources.vpn.required,
      geoblockUrl: sources.vpn.geoblockUrl ?? defaultGeoblockUrl(poly.clobUrl),
      controlUrl: sources.vpn.controlUrl,
      controlApiKey: sources.env[VPN_CONTROL_API_KEY_ENV] || undefined,
      intervalMs: sources.vpn.intervalMs ?? 30_000,
    },
    registry: context.registry,
    log: context.log,
  });
  return runMonitor(context, monitor, 'polymarket monitor');
}
