// `arbees executor`: runs one shard's executor until SIGINT/SIGTERM.
import type { Command } from '../command.js';
import { parseOptions, UsageError } from '../command.js';
import { untilSignal } from '../signals.js';
import { loadRuntimeConfig, loadShardConfig } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';
import { createLogger, redactUrl } from '../../lib/log.js';
import { credentialEnv, defaultShardConfigPath, shardConfigPathEnv } from '../../contracts/shard-config.js';
import type { ExecutorSettings } from '../../workloads/executor/executor.js';
import { LIVE_AUTHORIZED_ENV, LiveTradingRefused, startExecutorService } from '../../workloads/executor/service.js';

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
  -h, --help                   show this help`,
  async run(args, io) {
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
    });
    if (values.unwind !== undefined && values.unwind !== 'hedge' && values.unwind !== 'close') throw new UsageError('--unwind must be hedge or close');
    if (values['first-venue'] !== undefined && values['first-venue'] !== 'kalshi' && values['first-venue'] !== 'polymarket') {
      throw new UsageError('--first-venue must be kalshi or polymarket');
    }
    const concurrency = int('concurrency', values.concurrency);
    if (concurrency === 0) throw new UsageError('--concurrency must be at least 1');
    let runtime;
    let shardConfig;
    const shardConfigPath = values['shard-config'] ?? io.env[shardConfigPathEnv] ?? defaultShardConfigPath;
    try {
      runtime = loadRuntimeConfig({ file: values.config ?? io.env.ARBEES_CONFIG_FILE, env: io.env });
      shardConfig = loadShardConfig(shardConfigPath);
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    const log = createLogger({ name: 'executor', level: runtime.log.level, bindings: { shard: runtime.shard } });
    const cooldown = int('market-cooldown-ms', values['market-cooldown-ms']);
    const settings: Partial<ExecutorSettings> = {
      ...(values.unwind === 'hedge' || values.unwind === 'close' ? { unwind: { policy: values.unwind, steps: 3, stepTicks: 100 } } : {}),
      ...(values['first-venue'] === 'kalshi' || values['first-venue'] === 'polymarket' ? { firstVenue: values['first-venue'] } : {}),
      ...(concurrency ? { concurrency } : {}),
      ...(values['time-zone'] ? { timeZone: values['time-zone'] } : {}),
    };
    if (values['time-zone']) {
      try {
        new Intl.DateTimeFormat('en-CA', { timeZone: values['time-zone'] });
      } catch {
        throw new UsageError(`--time-zone: unknown time zone "${values['time-zone']}"`);
      }
    }
    log.info({ redis: redactUrl(runtime.redis.url), postgres: redactUrl(runtime.postgres.url), mode: shardConfig.executor.mode }, 'starting executor');
    let service;
    try {
      service = await startExecutorService({
        runtime,
        shardConfig,
        shardConfigPath,
        env: io.env,
        log,
        settings,
        ...(cooldown !== undefined ? { risk: { marketCooldownMs: cooldown } } : {}),
        paper: { latencyMs: int('paper-latency-ms', values['paper-latency-ms']) ?? 0, slippageBps: int('paper-slippage-bps', values['paper-slippage-bps']) ?? 0 },
      });
    } catch (error) {
      if (error instanceof LiveTradingRefused) {
        log.error(error.message);
        return 1;
      }
      throw error;
    }
    const why = await Promise.race([
      service.stopped.then(() => 'lost the shard lock'),
      untilSignal(),
    ]);
    log.info({ why }, 'stopping executor');
    await service.stop();
    return why === 'lost the shard lock' ? 1 : 0;
  },
};
