// What one shard's workloads need to know about their shard: the operator renders it from the
// TradingShard into the `<shard>-config` ConfigMap (key shard.json, mounted at
// /etc/arbees/shard.json); `make demo` and the tests write the same file by hand. Secrets never
// appear here: they reach the workloads as environment variables from Kubernetes Secrets
// (see credentialEnv). Pausing is here (`paused`) and in the control key in Redis: the control key
// reaches the executor at once, the file within seconds (the executor re-reads it; the operator
// leaves it out of the hash that rolls the pods), and a write to Redis alone cannot un-pause.
import { z } from 'zod';
import { sports } from './trading-shard.js';
import { ConfigError } from './config-error.js';

export const defaultShardConfigPath = '/etc/arbees/shard.json';
export const shardConfigPathEnv = 'ARBEES_SHARD_CONFIG';

/** Environment variable names the credentials arrive in, and the Secret keys they come from. */
export const credentialEnv = {
  kalshi: { keyId: 'ARBEES_KALSHI_KEY_ID', privateKey: 'ARBEES_KALSHI_PRIVATE_KEY' },
  polymarket: {
    apiKey: 'ARBEES_POLYMARKET_API_KEY',
    apiSecret: 'ARBEES_POLYMARKET_API_SECRET',
    apiPassphrase: 'ARBEES_POLYMARKET_API_PASSPHRASE',
    privateKey: 'ARBEES_POLYMARKET_PRIVATE_KEY',
  },
} as const;

/**
 * Set to "true" by the operator only for a live shard in a namespace the cluster owner authorized:
 * the executor trades live only with it and spec.executor.mode live together.
 */
export const liveTradingAuthorizedEnv = 'ARBEES_LIVE_TRADING_AUTHORIZED';

/** The key (from the connections Secret) the detector signs signals with and the executor checks them by. */
export const signalKeyEnv = 'ARBEES_SIGNAL_KEY';

/** The VPN pod's HTTP proxy the live executor sends every Polymarket request through. */
export const polymarketProxyEnv = 'ARBEES_POLYMARKET_PROXY_URL';

const url = z.string().url();

export const shardMarketSchema = z
  .object({
    id: z.string().min(1),
    sport: z.enum(sports),
    /** Markets of one game share it; risk counts them against one budget. */
    game: z.string().min(1),
    startsAt: z.string().optional(),
    kalshi: z.object({ ticker: z.string().min(1) }).strict(),
    polymarket: z.object({ yesTokenId: z.string().min(1), noTokenId: z.string().min(1) }).strict(),
  })
  .strict();
export type ShardMarket = z.infer<typeof shardMarketSchema>;

export const shardConfigSchema = z
  .object({
    shard: z.string().min(1),
    /** spec.paused: no new position while true, whatever the control key says. Absent: not paused. */
    paused: z.boolean().optional(),
    markets: z.array(shardMarketSchema),
    discovery: z
      .object({ sports: z.array(z.enum(sports)).min(1), lookaheadHours: z.number().int().positive() })
      .strict()
      .optional(),
    venues: z
      .object({
        kalshi: z.object({ environment: z.enum(['demo', 'production']), restUrl: url, wsUrl: url }).strict(),
        polymarket: z.object({ clobUrl: url, wsUrl: url, gammaUrl: url }).strict(),
      })
      .strict(),
    detector: z
      .object({
        minEdgeBps: z.number().int().nonnegative(),
        maxQuoteAgeMs: z.number().int().positive(),
        cooldownMs: z.number().int().nonnegative(),
      })
      .strict(),
    executor: z
      .object({
        mode: z.enum(['paper', 'live']),
        bankrollUsd: z.number().int().positive(),
        limits: z
          .object({
            perGameUsd: z.number().int().positive(),
            perSportUsd: z.number().int().positive(),
            dailyLossUsd: z.number().int().positive(),
            maxOpenPositions: z.number().int().positive(),
            maxOrderUsd: z.number().int().positive(),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();
export type ShardConfig = z.infer<typeof shardConfigSchema>;

/** Validates a parsed shard config, with every problem named by its path. */
export function parseShardConfig(value: unknown, source: string): ShardConfig {
  const result = shardConfigSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    `invalid shard config in ${source}:`,
    result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
  );
}
