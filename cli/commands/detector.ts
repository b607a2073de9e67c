// `arbees detector`: parses the flags and starts the shard's detector (workloads/detector/start.ts).
import type { Command } from '../command.js';
import { parseOptions } from '../command.js';
import { untilSignal } from '../signals.js';
import { fairValuesEnv } from '../../workloads/detector/fair-source.js';
import { detectorOptions, startDetector } from '../../workloads/detector/start.js';
import { envVariables } from '../../lib/config.js';
import { redactUrl } from '../../lib/log.js';
import { defaultShardConfigPath, shardConfigPathEnv, signalKeyEnv } from '../../contracts/shard-config.js';
import { ConfigError } from '../../contracts/config-error.js';

// The detector does not use PostgreSQL (its pod gets no ARBEES_POSTGRES_URL).
const usedVariables = Object.entries(envVariables).filter(([path]) => !path.startsWith('postgres.'));

export const detectorCommand: Command = {
  path: ['detector'],
  summary: "Run a shard's detector: quotes in, fee-net arbitrage (and optional model-edge) signals out",
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
  ${signalKeyEnv.padEnd(28)} the key every signal is signed with (required)
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
    let options;
    try {
      options = detectorOptions({
        configFile: values.file ?? io.env.ARBEES_CONFIG_FILE,
        shardConfigPath: values['shard-config'] ?? io.env[shardConfigPathEnv] ?? defaultShardConfigPath,
        fairValuesPath: values['fair-values'] ?? (io.env[fairValuesEnv] || undefined),
        env: io.env,
      });
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    const { log } = options;
    if (values.check) {
      const markets = options.markets ? [...options.markets] : 'any (discovery)';
      io.out(
        JSON.stringify(
          { shard: options.shard, redis: redactUrl(options.redisUrl), httpPort: options.httpPort, markets, detector: options.detector },
          null,
          2,
        ),
      );
      return 0;
    }
    let running;
    try {
      running = await startDetector(options);
    } catch (error) {
      log?.error({ err: (error as Error).message }, 'detector failed to start');
      return 1;
    }
    log?.info({ port: running.ops.port }, 'detector ready');
    const signal = await untilSignal();
    log?.info({ signal }, 'stopping detector');
    await running.stop();
    return 0;
  },
};
