import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { untilSignal } from '../signals.js';
import { defaultDetectorConfig, type DetectorConfigInput } from '../../workloads/detector/core.js';
import { fairValuesEnv, loadFairValues, type FairValuesFile } from '../../workloads/detector/fair-source.js';
import { startDetector, type DetectorServiceOptions } from '../../workloads/detector/service.js';
import { envVariables, loadRuntimeConfigWithoutPostgres, loadShardConfig } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';
import { createLogger, redactUrl } from '../../lib/log.js';
import { defaultShardConfigPath, shardConfigPathEnv, type ShardConfig } from '../../contracts/shard-config.js';

// The detector does not use PostgreSQL (its pod gets no ARBEES_POSTGRES_URL).
const usedVariables = Object.entries(envVariables).filter(([path]) => !path.startsWith('postgres.'));

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

export const detectorCommand: Command = {
  path: ['detector'],
  summary: 'Run a shard\'s detector: quotes in, fee-net arbitrage (and optional model-edge) signals out',
  help: `Usage: arbees detector [--file PATH] [--shard-config PATH] [--fair-values PATH] [--check]

Consumes arbees:<shard>:quotes (blocking XREAD from the newest entry: a detector
needs only current books, so a restart never replays history), keeps the latest
book per venue, market and outcome, and publishes to arbees:<shard>:signals:
  arbitrage  a complete set (YES on one venue or book, NO on the other) that costs
             less than $1 after both venues' exact taker fees, sized by walking
             both books; at least minEdgeBps per contract
  edge       (only with --fair-values) a venue's ask below a fair probability by
             the model-edge threshold after fees
Stale (flagged or older than maxQuoteAgeMs), crossed and empty books are ignored;
one live signal per market and direction (a new one after cooldownMs or when the
edge moves), rate-limited per market and per shard; ids are deterministic, so a
replayed quote stream yields the same ids. Serves /metrics, /healthz and /readyz
on ARBEES_HTTP_PORT; stops cleanly on SIGTERM (the batch in hand is published).

Settings: shard, Redis and HTTP from the runtime config (file and/or environment,
as for "arbees config check"; PostgreSQL is not needed); minEdgeBps,
maxQuoteAgeMs, cooldownMs and the shard's markets from the shard config that
the operator mounts (TradingShard spec.detector).

Options:
  -f, --file PATH        runtime config file, YAML or JSON (default: $ARBEES_CONFIG_FILE)
  --shard-config PATH    shard config JSON (default: $${shardConfigPathEnv}, else ${defaultShardConfigPath})
  --fair-values PATH     fair probabilities per market (YAML/JSON), enables model
                         edge (default: $${fairValuesEnv}; unset = arbitrage only)
  --check                validate the configuration, print the resolved settings, exit
  -h, --help             show this help

Environment variables:
${usedVariables.map(([path, name]) => `  ${name.padEnd(28)} ${path}`).join('\n')}
  ${'ARBEES_CONFIG_FILE'.padEnd(28)} runtime config file
  ${shardConfigPathEnv.padEnd(28)} shard config file
  ${fairValuesEnv.padEnd(28)} fair values file`,
  async run(args, io) {
    const { values } = parseOptions(args, {
      file: { type: 'string', short: 'f' },
      'shard-config': { type: 'string' },
      'fair-values': { type: 'string' },
      check: { type: 'boolean' },
    });
    let options: DetectorServiceOptions & { httpPort: number };
    let logLevel: string;
    try {
      const runtime = loadRuntimeConfigWithoutPostgres({ file: values.file ?? io.env.ARBEES_CONFIG_FILE, env: io.env });
      const shard = loadShardConfig(values['shard-config'] ?? io.env[shardConfigPathEnv] ?? defaultShardConfigPath);
      if (shard.shard !== runtime.shard) {
        throw new ConfigError('the shard config belongs to another shard:', [`shard config says "${shard.shard}", ARBEES_SHARD/shard says "${runtime.shard}"`]);
      }
      const fairPath = values['fair-values'] ?? (io.env[fairValuesEnv] || undefined);
      const fair = fairPath ? loadFairValues(fairPath) : undefined;
      options = {
        shard: runtime.shard,
        redisUrl: runtime.redis.url,
        httpPort: runtime.http.port,
        detector: detectorSettings(shard, fair),
        fairValues: fair?.source,
        // With discovery the monitors find markets at run time; otherwise only the listed ones.
        markets: shard.discovery ? undefined : shard.markets.map((m) => m.id),
      };
      logLevel = runtime.log.level;
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    if (values.check) {
      const markets = options.markets ? [...options.markets] : 'any (discovery)';
      io.out(JSON.stringify({ shard: options.shard, redis: redactUrl(options.redisUrl), httpPort: options.httpPort, markets, detector: options.detector }, null, 2));
      return 0;
    }

    const log = createLogger({ name: 'arbees-detector', level: logLevel, bindings: { shard: options.shard } });
    const registry = new Registry();
    registry.setDefaultLabels({ shard: options.shard });
    collectDefaultMetrics({ register: registry });
    let running;
    try {
      running = await startDetector({ ...options, registry, log });
    } catch (error) {
      log.error({ err: (error as Error).message }, 'detector failed to start');
      return 1;
    }
    log.info({ port: running.ops.port }, 'detector ready');
    const signal = await untilSignal();
    log.info({ signal }, 'stopping detector');
    await running.stop();
    return 0;
  },
};
