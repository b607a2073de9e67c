// `arbees executor`: parses the flags and runs one shard's executor (workloads/executor/start.ts)
// until SIGINT/SIGTERM or the loss of its shard lock.
import type { Command } from '../command.js';
import { parseOptions, UsageError } from '../command.js';
import { untilSignal } from '../signals.js';
import { ConfigError } from '../../contracts/config-error.js';
import { credentialEnv, defaultShardConfigPath, shardConfigPathEnv, signalKeyEnv } from '../../contracts/shard-config.js';
import { redactUrl } from '../../lib/log.js';
import { LIVE_AUTHORIZED_ENV, LiveTradingRefused } from '../../workloads/executor/live-venues.js';
import { executorOptions, startExecutorService, type ExecutorSources } from '../../workloads/executor/start.js';

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${text}"`);
  return value;
}

export const executorCommand: Command = {
  path: ['executor'],
  summary: "Run a shard's executor: signals → risk → orders (paper or live), PostgreSQL ledger",
  help: `Usage: arbees executor [options]

Consumes the shard's signals (Redis stream arbees:<shard>:signals, consumer group
"executor"), decides each one (control key arbees:<shard>:control, pause, risk
limits) and places its orders: paper fills against the latest books of
arbees:<shard>:quotes by default, live Kalshi orders (RSA-PSS signed REST) when
the shard's executor.mode is "live" AND ${LIVE_AUTHORIZED_ENV}=true.
Every decision and every order intent is written to PostgreSQL before the order
is sent; on start, open orders are reconciled with the venues by client order id
before new signals are taken. One executor trades a shard at a time (PostgreSQL
advisory lock); a second one waits. Serves /metrics, /healthz, /readyz.

Configuration:
  runtime   --config FILE or $ARBEES_CONFIG_FILE, and ARBEES_SHARD,
            ARBEES_REDIS_URL, ARBEES_POSTGRES_URL, ARBEES_HTTP_PORT, ARBEES_LOG_LEVEL
  signals   ${signalKeyEnv} (required): the key the detector signs signals
            with; an entry of the stream not signed with it is refused, never traded
  shard     --shard-config FILE or $${shardConfigPathEnv} (default ${defaultShardConfigPath});
            re-read when it changes (limits, markets)
  live      ${LIVE_AUTHORIZED_ENV}=true, ${credentialEnv.kalshi.keyId},
            ${credentialEnv.kalshi.privateKey} (PEM or a path to it)

Options:
  -f, --config FILE            runtime config file (YAML or JSON)
  --shard-config FILE          shard config (JSON)
  --unwind hedge|close         one-legged fill policy (default close)
  --first-venue kalshi|polymarket
                               which leg of a cross-venue set goes first
                               (default polymarket)
  --paper-latency-ms N         simulated venue round trip in paper mode (default 0)
  --paper-slippage-bps N       adverse move per level in paper mode (default 0)
  --market-cooldown-ms N       no new signal on a market this soon after a fill
                               (default 1000)
  --concurrency N              signals handled at once (default 8)
  --time-zone TZ               the daily loss resets at its midnight
                               (default America/New_York)
  --settlement-interval-ms N   between reads of the venues' market resolutions
                               (default 30000)
  -h, --help                   show this help`,
  async run(args, io) {
    const sources = parseFlags(args, io.env);
    let options;
    try {
      options = executorOptions(sources);
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    const { runtime, shardConfig, log } = options;
    log.info(
      { redis: redactUrl(runtime.redis.url), postgres: redactUrl(runtime.postgres.url), mode: shardConfig.executor.mode },
      'starting executor',
    );
    let service;
    try {
      service = await startExecutorService(options);
    } catch (error) {
      if (error instanceof LiveTradingRefused || error instanceof ConfigError) {
        log.error(error.message);
        return 1;
      }
      throw error;
    }
    const why = await Promise.race([service.stopped.then(() => 'lost the shard lock'), untilSignal()]);
    log.info({ why }, 'stopping executor');
    await service.stop();
    return why === 'lost the shard lock' ? 1 : 0;
  },
};

/** The command line as start-up takes it; a bad flag is a UsageError. */
function parseFlags(args: string[], env: NodeJS.ProcessEnv): ExecutorSources {
  const { values } = parseOptions(args, {
    config: { type: 'string', short: 'f' },
    'shard-config': { type: 'string' },
    unwind: { type: 'string' },
    'first-venue': { type: 'string' },
    'paper-latency-ms': { type: 'string' },
    'paper-slippage-bps': { type: 'string' },
    'market-cooldown-ms': { type: 'string' },
    concurrency: { type: 'string' },
    'time-zone': { type: 'string' },
    'settlement-interval-ms': { type: 'string' },
  });
  const { unwind, 'first-venue': firstVenue, 'time-zone': timeZone } = values;
  if (unwind !== undefined && unwind !== 'hedge' && unwind !== 'close') throw new UsageError('--unwind must be hedge or close');
  if (firstVenue !== undefined && firstVenue !== 'kalshi' && firstVenue !== 'polymarket')
    throw new UsageError('--first-venue must be kalshi or polymarket');
  const concurrency = int('concurrency', values.concurrency);
  if (concurrency === 0) throw new UsageError('--concurrency must be at least 1');
  if (timeZone) {
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone });
    } catch {
      throw new UsageError(`--time-zone: unknown time zone "${timeZone}"`);
    }
  }
  const marketCooldownMs = int('market-cooldown-ms', values['market-cooldown-ms']);
  const paperLatencyMs = int('paper-latency-ms', values['paper-latency-ms']);
  const paperSlippageBps = int('paper-slippage-bps', values['paper-slippage-bps']);
  const settlementIntervalMs = int('settlement-interval-ms', values['settlement-interval-ms']);
  if (settlementIntervalMs === 0) throw new UsageError('--settlement-interval-ms must be at least 1');
  return {
    configFile: values.config ?? env.ARBEES_CONFIG_FILE,
    shardConfigPath: values['shard-config'] ?? env[shardConfigPathEnv] ?? defaultShardConfigPath,
    env,
    ...(unwind ? { unwind } : {}),
    ...(firstVenue ? { firstVenue } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(timeZone ? { timeZone } : {}),
    ...(marketCooldownMs !== undefined ? { marketCooldownMs } : {}),
    ...(paperLatencyMs !== undefined ? { paperLatencyMs } : {}),
    ...(paperSlippageBps !== undefined ? { paperSlippageBps } : {}),
    ...(settlementIntervalMs ? { settlementIntervalMs } : {}),
  };
}
