// `arbees kalshi-monitor` and `arbees polymarket-monitor`: parse the flags and start the shard's
// market-data processes (workloads/*-monitor/start.ts).
import type { Command, CommandIo } from '../command.js';
import { untilSignal } from '../signals.js';
import { parseOptions, UsageError } from '../command.js';
import { ConfigError } from '../../contracts/config-error.js';
import { credentialEnv, shardConfigPathEnv } from '../../contracts/shard-config.js';
import { envVariables } from '../../lib/config.js';
import { KalshiCredentialError } from '../../venues/kalshi/auth.js';
import type { MonitorSources, RunningMonitor } from '../../workloads/market-data/start.js';
import { startKalshiMonitor } from '../../workloads/kalshi-monitor/start.js';
import { startPolymarketMonitor, VPN_CONTROL_API_KEY_ENV } from '../../workloads/polymarket-monitor/start.js';

const commonOptions = {
  config: { type: 'string', short: 'c' },
  'shard-config': { type: 'string' },
  depth: { type: 'string' },
  'max-quote-age-ms': { type: 'string' },
  'stream-maxlen': { type: 'string' },
  'quiet-ms': { type: 'string' },
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
  --quiet-ms N              subscribed books that receive nothing for this long mean a dead
                            subscription: not ready, resubscribe, else reconnect (default 60000)
  --log-level LEVEL         override the configured log level
  -h, --help                show this help`;

function positiveInt(name: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

/** The flags both monitors share, as start-up sources. */
function sources(values: Record<string, string | boolean | undefined>, io: CommandIo): MonitorSources {
  const str = (key: string) => values[key] as string | undefined;
  return {
    configFile: str('config') ?? io.env.ARBEES_CONFIG_FILE,
    shardConfigPath: str('shard-config') ?? io.env[shardConfigPathEnv] ?? undefined,
    env: io.env,
    depth: positiveInt('depth', str('depth'), 10),
    maxQuoteAgeMs: positiveInt('max-quote-age-ms', str('max-quote-age-ms')),
    streamMaxLen: positiveInt('stream-maxlen', str('stream-maxlen'), 100_000),
    quietMs: positiveInt('quiet-ms', str('quiet-ms')),
    logLevel: str('log-level'),
  };
}

/** Runs until SIGINT/SIGTERM, then stops (a stop that hangs is cut short after 10 s). */
async function serveUntilSignal(running: RunningMonitor): Promise<number> {
  const signal = await untilSignal();
  running.log.info({ signal }, 'signal received');
  const force = setTimeout(() => {
    running.log.error('shutdown took too long; exiting');
    process.exit(1);
  }, 10_000);
  force.unref();
  await running.stop();
  clearTimeout(force);
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
    return guarded(io, async () => serveUntilSignal(await startKalshiMonitor(sources(values, io))));
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
      const running = await startPolymarketMonitor({
        ...sources(values, io),
        vpn: {
          required: values['skip-vpn-check'] !== true,
          geoblockUrl: values['geoblock-url'],
          controlUrl: values['vpn-control-url'],
          intervalMs: positiveInt('vpn-probe-interval-ms', values['vpn-probe-interval-ms'], 30_000),
        },
      });
      return serveUntilSignal(running);
    });
  },
};
