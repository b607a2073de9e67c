// TradingShards for the cluster suite, with the Secrets they name (labelled for Arbees): the
// Kalshi monitor's market-data key, the VPN keys of the exit, and for live shards the trading keys.
import type { TradingShard } from '../../../contracts/trading-shard.js';
import type { Installed } from './install.js';
import { shardMarkets } from './venues.js';

const secret = (name: string, namespace: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace, labels: { 'arbees.io/credentials': 'true' } },
  stringData: data,
});

export interface ShardOptions {
  mode?: 'paper' | 'live';
  paused?: boolean;
  /** Breaker timings short enough for a test. */
  breaker?: Partial<TradingShard['spec']['circuitBreaker']>;
}

/** The Secrets and the TradingShard, in apply order. */
export function shardObjects(env: Installed, name: string, namespace: string, options: ShardOptions = {}): object[] {
  const { keys, exit } = env;
  const live = options.mode === 'live';
  const spec: TradingShard['spec'] = {
    paused: options.paused ?? false,
    markets: shardMarkets(env.scenario),
    venues: {
      kalshi: {
        environment: 'demo',
        marketDataSecretRef: { name: `${name}-kalshi-market-data` },
        ...(live ? { credentialsSecretRef: { name: `${name}-kalshi-trading` } } : {}),
      },
      polymarket: {
        ...(live ? { credentialsSecretRef: { name: `${name}-polymarket` } } : {}),
        vpn: { provider: 'custom', type: 'wireguard', serverCountries: ['Netherlands'], secretRef: { name: `${name}-vpn` } },
      },
    },
    detector: { minEdgeBps: 50, maxQuoteAgeMs: 3000, cooldownMs: 2000 },
    executor: {
      mode: live ? 'live' : 'paper',
      bankrollUsd: 10_000,
      limits: { perGameUsd: 600, perSportUsd: 1_000, dailyLossUsd: 500, maxOpenPositions: 50, maxOrderUsd: 100 },
    },
    circuitBreaker: {
      rules: [
        { name: 'stale-quotes', query: `max by (venue) (arbees_quote_age_seconds{shard="${name}"})`, op: '>', threshold: 5, for: '5s' },
        { name: 'vpn-down', query: `min(arbees_vpn_up{shard="${name}"})`, op: '<', threshold: 0.5, for: '5s' },
      ],
      cooldown: '10s',
      halfOpenAfter: '5s',
      onPrometheusUnavailable: 'open',
      ...options.breaker,
    },
  };
  const p = keys.polymarket;
  return [
    secret(`${name}-kalshi-market-data`, namespace, { keyId: keys.marketData.keyId, privateKey: keys.marketData.privateKey }),
    secret(`${name}-vpn`, namespace, exit.secretData),
    ...(live
      ? [
          secret(`${name}-kalshi-trading`, namespace, { keyId: keys.trading.keyId, privateKey: keys.trading.privateKey }),
          secret(`${name}-polymarket`, namespace, {
            apiKey: p.apiKey,
            apiSecret: p.apiSecret,
            apiPassphrase: p.apiPassphrase,
            privateKey: p.privateKey,
          }),
        ]
      : []),
    { apiVersion: 'arbees.io/v1alpha1', kind: 'TradingShard', metadata: { name, namespace }, spec },
  ];
}
