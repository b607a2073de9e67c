// `arbees kalshi-monitor` and `arbees polymarket-monitor`: the market-data processes of a shard.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Command, CommandIo } from '../command.js';
import { untilSignal } from '../signals.js';
import { parseOptions, UsageError } from '../command.js';
import { envVariables, loadRuntimeConfigWithoutPostgres, type RuntimeConfigWithoutPostgres, loadShardConfig } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';
import { createLogger, redactUrl } from '../../lib/log.js';
import { startOpsServer } from '../../lib/ops-server.js';
import { credentialEnv, shardConfigPathEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { KalshiCredentialError, loadKalshiPrivateKey } from '../../venues/kalshi/auth.js';
import { KalshiMonitor } from '../../workloads/kalshi-monitor/monitor.js';
import { PolymarketMonitor } from '../../workloads/polymarket-monitor/monitor.js';
import { defaultGeoblockUrl } from '../../workloads/polymarket-monitor/vpn.js';

export const VPN_CONTROL_API_KEY_ENV = 'ARBEES_VPN_CONTROL_API_KEY';

const commonOptions = {
  config: { type: 'string', short: 'c' },
  'shard-config': { type: 'string' },
  depth: { type: 'string' },
  'max-quote-age-ms': { type: 'string' },
  'stream-maxlen': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

const commonHelp = `  -c, --config FILE         runtime config (YAML/JSON; default $ARBEES_CONFIG_FILE);
                            ARBEES_* variables apply on top: ${envVariables.shard}, ${envVariables['redis.url']},
                            ${envVariables['http.port']} (ops port: /metrics /healthz /readyz), ${envVariables['log.level']}
  --shard-config FILE       the shard's markets and venue URLs (default $${shardConfigPathEnv}
                            or /etc/arbees/shard.json)
  --depth N                 levels per side in each published quote (default 10)
  --max-quote-age-ms N      a book with no update for this long is published stale
                            (default: the shard's detector.maxQuoteAgeMs)
  --stream-maxlen N         approximate cap of the quotes stream, XADD MAXLEN ~ (default 100000)
  --log-level LEVEL         override the configured log level
  -h, --help                show this help`;

function positiveInt(name: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

interface Loaded {
  runtime: RuntimeConfigWithoutPostgres;
  shard: ShardConfig;
  log: Logger;
  registry: Registry;
  depth: number;
  maxQuoteAgeMs: number;
  streamMaxLen: number;
}

function load(values: Record<string, string | boolean | undefined>, io: CommandIo, name: string): Loaded {
  const str = (key: string) => values[key] as string | undefined;
  const depth = positiveInt('depth', str('depth'), 10)!;
  const maxAge = positiveInt('max-quote-age-ms', str('max-quote-age-ms'));
  const streamMaxLen = positiveInt('stream-maxlen', str('stream-maxlen'), 100_000)!;
  const runtime = loadRuntimeConfigWithoutPostgres({ file: str('config') ?? io.env.ARBEES_CONFIG_FILE, env: io.env });
  const shard = loadShardConfig(str('shard-config') ?? io.env[shardConfigPathEnv] ?? undefined);
  if (shard.shard !== runtime.shard) {
    throw new ConfigError('shard mismatch:', [`the runtime config names shard "${runtime.shard}" but the shard config is for "${shard.shard}"`]);
  }
  const log = createLogger({ name, level: str('log-level') ?? runtime.log.level, bindings: { shard: runtime.shard } });
  const registry = new Registry();
  registry.setDefaultLabels({ shard: runtime.shard });
  collectDefaultMetrics({ register: registry });
  return { runtime, shard, log, registry, depth, maxQuoteAgeMs: maxAge ?? shard.detector.maxQuoteAgeMs, streamMaxLen };
}

async function serve(
  loaded: Loaded,
  monitor: { start(): Promise<void>; stop(): Promise<void>; readiness(): { ready: boolean; reason?: string } },
  what: string,
): Promise<number> {
  const { log } = loaded;
  const ops = await startOpsServer({ port: loaded.runtime.http.port, registry: loaded.registry, readiness: () => monitor.readiness() });
  log.info({ port: ops.port, redis: redactUrl(loaded.runtime.redis.url), markets: loaded.shard.markets.length }, `${what} starting`);
  await monitor.start();
  const signal = await untilSignal();
  log.info({ signal }, `${what} stopping: marking books stale and flushing`);
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, 10_000);
  force.unref();
  await monitor.stop();
  await ops.close();
  clearTimeout(force);
  log.info(`${what} stopped`);
  return 0;
}

async function guarded(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof KalshiCredentialError) {
      io.err(error.message);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.err((error as Error).message);
      return 1;
    }
    throw error;
  }
}

export const kalshiMonitorCommand: Command = {
  path: ['kalshi-monitor'],
  summary: "Stream the shard's Kalshi order books into normalized quotes in Redis",
  help: `Usage: arbees kalshi-monitor [options]

Connects to Kalshi's Trade API v2 WebSocket (the shard config's venues.kalshi.wsUrl),
signing the handshake with the API key (RSA-PSS), subscribes to orderbook_delta for
the shard's markets, keeps a local book per market from snapshot + deltas (seq checked
per subscription; a gap or a crossed book resyncs from a fresh snapshot), and publishes
a YES and a NO quote per market change to arbees:<shard>:quotes. Reconnects with
jittered exponential backoff; books with no update for --max-quote-age-ms, or being
resynced, are published with stale:true. /readyz is ready once connected, subscribed
and every book has its snapshot. SIGTERM publishes every book stale, flushes and exits.

Options:
${commonHelp}

Credentials (environment, from the shard's Kubernetes Secret; never logged):
  ${credentialEnv.kalshi.keyId}      API key id (KALSHI-ACCESS-KEY)
  ${credentialEnv.kalshi.privateKey} RSA private key, PEM text (PKCS#1 or PKCS#8) or a path to it`,
  run(args, io) {
    const { values } = parseOptions(args, { ...commonOptions });
    return guarded(io, async () => {
      const loaded = load(values, io, 'kalshi-monitor');
      const keyId = io.env[credentialEnv.kalshi.keyId];
      if (!keyId) throw new KalshiCredentialError(`${credentialEnv.kalshi.keyId} is not set (the Kalshi API key id)`);
      const privateKey = loadKalshiPrivateKey(io.env[credentialEnv.kalshi.privateKey], credentialEnv.kalshi.privateKey);
      const monitor = new KalshiMonitor({
        shard: loaded.runtime.shard,
        markets: loaded.shard.markets.map((m) => ({ ticker: m.kalshi.ticker, marketId: m.id })),
        wsUrl: loaded.shard.venues.kalshi.wsUrl,
        keyId,
        privateKey,
        redisUrl: loaded.runtime.redis.url,
        maxQuoteAgeMs: loaded.maxQuoteAgeMs,
        depth: loaded.depth,
        streamMaxLen: loaded.streamMaxLen,
        registry: loaded.registry,
        log: loaded.log,
      });
      return serve(loaded, monitor, 'kalshi monitor');
    });
  },
};

export const polymarketMonitorCommand: Command = {
  path: ['polymarket-monitor'],
  summary: "Stream the shard's Polymarket order books into normalized quotes in Redis (VPN-gated)",
  help: `Usage: arbees polymarket-monitor [options]

Checks that Polymarket is reachable from a permitted location (its geoblock endpoint,
and optionally the gluetun VPN control server), and only then connects to the CLOB
market channel (the shard config's venues.polymarket.wsUrl), subscribes to the
shard's YES/NO outcome tokens, keeps each token's book from the book dump +
price_change updates (both schemas), sends PING every 10 s, and publishes a quote per
token change to arbees:<shard>:quotes. The check repeats; when it fails the
connection is dropped, nothing new is published, arbees_vpn_up is 0 and /readyz is
not ready. Reconnects with jittered exponential backoff; stale books are published
with stale:true. SIGTERM publishes every book stale, flushes and exits.

Options:
${commonHelp}
  --geoblock-url URL        geoblock check (default https://polymarket.com/api/geoblock
                            for the real venue, else <clobUrl origin>/api/geoblock)
  --vpn-control-url URL     gluetun control server, e.g. http://127.0.0.1:8000: also
                            require GET /v1/vpn/status = running (API key from
                            $${VPN_CONTROL_API_KEY_ENV}, sent as X-API-Key)
  --vpn-probe-interval-ms N how often to re-check (default 30000)
  --skip-vpn-check          connect even when the check fails (local development only;
                            arbees_vpn_up still reports the check)`,
  run(args, io) {
    const { values } = parseOptions(args, {
      ...commonOptions,
      'geoblock-url': { type: 'string' },
      'vpn-control-url': { type: 'string' },
      'vpn-probe-interval-ms': { type: 'string' },
      'skip-vpn-check': { type: 'boolean' },
    });
    return guarded(io, async () => {
      const loaded = load(values, io, 'polymarket-monitor');
      const poly = loaded.shard.venues.polymarket;
      const monitor = new PolymarketMonitor({
        shard: loaded.runtime.shard,
        markets: loaded.shard.markets.map((m) => ({ marketId: m.id, yesTokenId: m.polymarket.yesTokenId, noTokenId: m.polymarket.noTokenId })),
        wsUrl: poly.wsUrl,
        redisUrl: loaded.runtime.redis.url,
        maxQuoteAgeMs: loaded.maxQuoteAgeMs,
        depth: loaded.depth,
        streamMaxLen: loaded.streamMaxLen,
        vpn: {
          required: values['skip-vpn-check'] !== true,
          geoblockUrl: values['geoblock-url'] ?? defaultGeoblockUrl(poly.clobUrl),
          controlUrl: values['vpn-control-url'],
          controlApiKey: io.env[VPN_CONTROL_API_KEY_ENV] || undefined,
          intervalMs: positiveInt('vpn-probe-interval-ms', values['vpn-probe-interval-ms'], 30_000),
        },
        registry: loaded.registry,
        log: loaded.log,
      });
      return serve(loaded, monitor, 'polymarket monitor');
    });
  },
};
