import { readFileSync } from 'node:fs';
import type { Command, CommandIo } from '../command.js';
import { untilSignal } from '../signals.js';
import { parseOptions, UsageError } from '../command.js';
import { createLogger } from '../../lib/log.js';
import { startKalshiSim } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim } from '../../workloads/sim/polymarket/server.js';
import type { PolymarketApiCreds } from '../../workloads/sim/polymarket/auth.js';
import { loadDemoScenario, loadScenarioFile, ScenarioError, type Scenario } from '../../workloads/sim/scenario.js';

const commonOptions = {
  scenario: { type: 'string', short: 's' },
  seed: { type: 'string' },
  speed: { type: 'string' },
  'message-rate': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'log-level': { type: 'string' },
} as const;

const commonHelp = `  -s, --scenario FILE    scenario (YAML or JSON; default: the built-in demo,
                         workloads/sim/scenarios/demo.yaml)
  --seed N               override the scenario's seed
  --speed X              simulated seconds per real second (default 1)
  --message-rate N       engine steps (book changes) per simulated second, all
                         markets together (default: the scenario's messageRate)
  --host ADDR            listen address (default 127.0.0.1)`;

function number(name: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${text}"`);
  return value;
}

function scenarioFrom(path: string | undefined): Scenario {
  return path ? loadScenarioFile(path) : loadDemoScenario();
}

async function guarded(io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ScenarioError) {
      io.err(error.message);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.err((error as Error).message);
      return 1;
    }
    throw error;
  }
}

export const simKalshiCommand: Command = {
  path: ['sim', 'kalshi'],
  summary: 'Run the Kalshi Trade API v2 simulator (REST + WebSocket) on a scenario',
  help: `Usage: arbees sim kalshi --key-id ID --public-key FILE [options]

Serves Kalshi's Trade API v2 on one port, driven by a seeded scenario:
  REST       http://HOST:PORT/trade-api/v2   (markets, events, series and fee
             changes, orderbooks, trades, exchange status; signed portfolio
             endpoints: V2 order entry and cancel (single and batched), orders,
             positions, fills, settlements, balance; token-bucket rate limits)
  WebSocket  ws://HOST:PORT/trade-api/ws/v2  (orderbook_delta with per-sid seq,
             ticker, trade, fill; pings every 10 s)
Every request that needs auth and every WebSocket handshake is checked against the
RSA-PSS signed KALSHI-ACCESS-* headers with the given public key(s). Runs until
SIGINT/SIGTERM; logs (JSON) where it listens.

Options:
  --key-id ID            API key id clients send as KALSHI-ACCESS-KEY (repeatable,
                         paired in order with --public-key)
  --public-key FILE      PEM RSA public key for that key id (repeatable)
${commonHelp}
  -p, --port N           listen port (default 8701; 0 = any free port)
  --ping-interval-ms N   WebSocket ping interval (default 10000)
  --max-skew-ms N        accepted signature timestamp skew (default 60000)
  --balance-cents N      each key's starting balance (default 1000000: $10 000)
  --ignore-client-order-id-filter
                         GET /portfolio/orders ignores client_order_id (an
                         undocumented filter), as a venue without it would
  --log-level LEVEL      pino level (default info)
  -h, --help             show this help`,
  run(args, io) {
    const { values } = parseOptions(args, {
      ...commonOptions,
      'key-id': { type: 'string', multiple: true },
      'public-key': { type: 'string', multiple: true },
      'ping-interval-ms': { type: 'string' },
      'max-skew-ms': { type: 'string' },
      'balance-cents': { type: 'string' },
      'ignore-client-order-id-filter': { type: 'boolean' },
    });
    const ids = values['key-id'] ?? [];
    const pems = values['public-key'] ?? [];
    if (ids.length === 0 || ids.length !== pems.length) throw new UsageError('give one --public-key for each --key-id (at least one pair)');
    return guarded(io, async () => {
      const log = createLogger({ name: 'sim-kalshi', level: values['log-level'] });
      const sim = await startKalshiSim({
        scenario: scenarioFrom(values.scenario),
        apiKeys: ids.map((id, i) => ({ id, publicKeyPem: readFileSync(pems[i]!, 'utf8') })),
        seed: values.seed,
        speed: number('speed', values.speed, 1),
        messageRate: number('message-rate', values['message-rate']),
        host: values.host ?? '127.0.0.1',
        port: number('port', values.port, 8701),
        pingIntervalMs: number('ping-interval-ms', values['ping-interval-ms']),
        maxSkewMs: number('max-skew-ms', values['max-skew-ms']),
        balanceCents: number('balance-cents', values['balance-cents']),
        clientOrderIdFilter: !values['ignore-client-order-id-filter'],
        logger: log,
      });
      log.info({ rest: sim.url, ws: sim.wsUrl, scenario: sim.engine.scenario.name, seed: sim.engine.seed }, 'kalshi simulator ready');
      const signal = await untilSignal();
      log.info({ signal }, 'stopping kalshi simulator');
      await sim.stop();
      return 0;
    });
  },
};

export const simPolymarketCommand: Command = {
  path: ['sim', 'polymarket'],
  summary: 'Run the Polymarket CLOB V2 simulator (REST, Gamma, market WebSocket) on a scenario',
  help: `Usage: arbees sim polymarket --creds FILE [options]

Serves Polymarket's CLOB V2 on one port, driven by a seeded scenario:
  CLOB REST  http://HOST:PORT/             (books, prices, midpoints, spreads, last
             trades, /tick-size, /neg-risk, /fee-rate, /markets (and sampling,
             simplified), /clob-markets/{id}, /markets-by-token/{id}, /time;
             L1 API keys /auth/api-key, /auth/derive-api-key; L2-authenticated
             orders and cancels, /data/order/{id}, /data/orders, /data/trades
             (MATCHED → MINED → CONFIRMED), /balance-allowance)
  Gamma      http://HOST:PORT/gamma/       (/gamma/events, /gamma/markets,
             /gamma/events/slug/{slug}, /gamma/markets/slug/{slug}; the real
             Gamma is a separate host with the same paths minus /gamma)
  Geoblock   http://HOST:PORT/api/geoblock
  WebSocket  ws://HOST:PORT/ws/market      (book, price_change, tick_size_change,
             last_trade_price; text PING/PONG, silent clients dropped)
Sources outside --allow-cidr get Polymarket's geoblock 403. Runs until
SIGINT/SIGTERM; logs (JSON) where it listens.

Options:
  --creds FILE           JSON file: one {apiKey, secret, passphrase, address}
                         object or an array of them (L2 credentials accepted)
${commonHelp}
  -p, --port N           listen port (default 8702; 0 = any free port)
  --allow-cidr CIDR      allowed source range (repeatable; default all)
  --geoblock-scope S     "all" (refuse every request and WS upgrade from a blocked
                         source; default) or "trading" (only order placement, as
                         on the real venue)
  --legacy-price-change  emit the pre-2025-09-15 price_change schema
  --ping-timeout-ms N    drop a WebSocket without PING for this long (default 12000)
  --balance-usd N        each wallet's starting pUSD (default 100000)
  --log-level LEVEL      pino level (default info)
  -h, --help             show this help`,
  run(args, io) {
    const { values } = parseOptions(args, {
      ...commonOptions,
      creds: { type: 'string' },
      'allow-cidr': { type: 'string', multiple: true },
      'geoblock-scope': { type: 'string' },
      'legacy-price-change': { type: 'boolean' },
      'ping-timeout-ms': { type: 'string' },
      'balance-usd': { type: 'string' },
    });
    if (!values.creds) throw new UsageError('--creds FILE is required');
    const scope = values['geoblock-scope'] ?? 'all';
    if (scope !== 'all' && scope !== 'trading') throw new UsageError('--geoblock-scope must be "all" or "trading"');
    const credsFile = values.creds;
    return guarded(io, async () => {
      const raw = JSON.parse(readFileSync(credsFile, 'utf8')) as PolymarketApiCreds | PolymarketApiCreds[];
      const creds = Array.isArray(raw) ? raw : [raw];
      const log = createLogger({ name: 'sim-polymarket', level: values['log-level'] });
      const scenario = scenarioFrom(values.scenario);
      const sim = await startPolymarketSim({
        scenario,
        creds,
        seed: values.seed,
        speed: number('speed', values.speed, 1),
        messageRate: number('message-rate', values['message-rate']),
        host: values.host ?? '127.0.0.1',
        port: number('port', values.port, 8702),
        geoblock: { allowedCidrs: values['allow-cidr'], scope },
        legacyPriceChange: values['legacy-price-change'] ?? scenario.polymarketLegacyPriceChange,
        pingTimeoutMs: number('ping-timeout-ms', values['ping-timeout-ms']),
        balanceUsd: number('balance-usd', values['balance-usd']),
        logger: log,
      });
      log.info(
        { clob: sim.url, gamma: sim.gammaUrl, ws: sim.wsUrl, scenario: scenario.name, seed: sim.engine.seed },
        'polymarket simulator ready',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping polymarket simulator');
      await sim.stop();
      return 0;
    });
  },
};
