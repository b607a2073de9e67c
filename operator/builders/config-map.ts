// The shard's ConfigMap: the TradingShard rendered into the shard config every component reads
// (contracts/shard-config.ts), and a hash of it that rolls the pods when it changes. The pause
// switch is rendered too (so a forged control key in Redis cannot un-pause the executor) but left
// out of the hash: pausing rolls no pod; the executor re-reads the mounted file.
import { createHash } from 'node:crypto';
import type { MarketSpec, TradingShard } from '../../contracts/trading-shard.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { childMeta, childName } from './meta.js';
import type { OperatorSettings } from './settings.js';

export const shardConfigKey = 'shard.json';

/** The markets a shard trades: its listed ones, then what discovery matched (a listed id or ticker wins). */
export function shardMarkets(shard: TradingShard): MarketSpec[] {
  const listed = shard.spec.markets ?? [];
  const ids = new Set(listed.map((m) => m.id));
  const tickers = new Set(listed.map((m) => m.kalshi.ticker));
  const discovered = (shard.spec.discovery ? (shard.status?.discovery?.markets ?? []) : []).filter(
    (m) => !ids.has(m.id) && !tickers.has(m.kalshi.ticker),
  );
  return [...listed, ...discovered];
}

export function renderShardConfig(shard: TradingShard, settings: OperatorSettings): ShardConfig {
  const { spec } = shard;
  return {
    shard: shard.metadata.name,
    paused: spec.paused === true,
    markets: shardMarkets(shard).map((m) => ({
      id: m.id,
      sport: m.sport,
      game: m.game ?? m.id,
      ...(m.startsAt ? { startsAt: m.startsAt } : {}),
      kalshi: { ticker: m.kalshi.ticker },
      polymarket: { yesTokenId: m.polymarket.yesTokenId, noTokenId: m.polymarket.noTokenId },
    })),
    ...(spec.discovery ? { discovery: { sports: [...spec.discovery.sports], lookaheadHours: spec.discovery.lookaheadHours } } : {}),
    venues: {
      kalshi: { environment: spec.venues.kalshi.environment, ...settings.venues.kalshi[spec.venues.kalshi.environment] },
      polymarket: { ...settings.venues.polymarket },
    },
    detector: { ...spec.detector },
    executor: { mode: spec.executor.mode, bankrollUsd: spec.executor.bankrollUsd, limits: { ...spec.executor.limits } },
  };
}

export function buildConfigMap(shard: TradingShard, settings: OperatorSettings): { object: object; hash: string } {
  const config = renderShardConfig(shard, settings);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const { paused: _paused, ...rolling } = config;
  const hash = createHash('sha256')
    .update(`${JSON.stringify(rolling, null, 2)}\n`)
    .digest('hex')
    .slice(0, 16);
  return {
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: childMeta(shard, childName(shard, 'config')),
      data: { [shardConfigKey]: text },
    },
    hash,
  };
}
