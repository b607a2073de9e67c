// The load generator alone: both venue simulators on their own threads (as test/support/load.ts
// runs them) playing the e2e load scenario, with one client per venue that subscribes as the
// monitors do and only counts what arrives. Prints per rate the venue messages received per second,
// the simulators' worst backlog, and their CPU (threads, /proc) in cores and per 1 000 messages.
//   node --import tsx bench/generator.bench.ts
//   BENCH_GEN_RATES=50000 BENCH_GEN_SECONDS=20 node --import tsx bench/generator.bench.ts
// For the generator's frames, run it under `node --cpu-prof --cpu-prof-dir=DIR`: each simulator
// thread writes its own profile.
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { kalshiSignedHeaders } from '../venues/kalshi/auth.js';
import { calibrate, loadScenarioInput } from '../test/support/load.js';
import { startVenueThreads, type ClockReading } from '../test/support/sim-thread.js';
import { parseScenario, type Scenario } from '../workloads/sim/scenario.js';
import { KALSHI_WS_PATH } from '../workloads/sim/kalshi/ws.js';

const rates = (process.env.BENCH_GEN_RATES ?? '10000,50000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const seconds = Number(process.env.BENCH_GEN_SECONDS ?? 20);

interface Counter {
  messages: number;
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Kalshi: one message per WebSocket frame, as the monitor counts them. */
async function kalshiClient(
  wsUrl: string,
  key: { keyId: string; privateKeyPem: string },
  scenario: Scenario,
  count: Counter,
): Promise<WebSocket> {
  const ws = await open(wsUrl, kalshiSignedHeaders(key.keyId, createPrivateKey(key.privateKeyPem), 'GET', KALSHI_WS_PATH));
  ws.on('message', () => count.messages++);
  const tickers = scenario.games.flatMap((g) => g.markets.map((m) => m.kalshi.ticker));
  const params = { channels: ['orderbook_delta'], market_tickers: tickers, use_yes_price: true };
  ws.send(JSON.stringify({ id: 1, cmd: 'subscribe', params }));
  return ws;
}

/** Polymarket: one message per frame (a batch of events), as the monitor counts them. */
async function polymarketClient(wsUrl: string, scenario: Scenario, count: Counter): Promise<WebSocket> {
  const ws = await open(wsUrl);
  ws.on('message', () => count.messages++);
  const assets = scenario.games.flatMap((g) => g.markets.flatMap((m) => [m.polymarket.yesTokenId, m.polymarket.noTokenId]));
  ws.send(JSON.stringify({ assets_ids: assets, type: 'market', initial_dump: true, custom_feature_enabled: false }));
  const ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('PING'), 5_000);
  ws.on('close', () => clearInterval(ping));
  return ws;
}

async function run(rate: number): Promise<string> {
  const durationMs = seconds * 1_000;
  // The e2e scenario without its faults: a dropped socket would end this bench's clients, which do
  // not reconnect (the monitors do).
  const base = { ...loadScenarioInput(durationMs, 8, 20261126, 1), faults: [] };
  const { steps, expected } = calibrate(base, rate);
  const scenario = parseScenario({ ...base, messageRate: steps });
  const dir = mkdtempSync(join(tmpdir(), 'arbees-gen-'));
  const { kalshi, polymarket, kalshiKey } = await startVenueThreads(scenario, 1, dir);
  const k: Counter = { messages: 0 };
  const p: Counter = { messages: 0 };
  const sockets = [await kalshiClient(kalshi.wsUrl, kalshiKey, scenario, k), await polymarketClient(polymarket.wsUrl, scenario, p)];
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all([kalshi.resume(), polymarket.resume()]);
  const lag = { kalshi: 0, polymarket: 0 };
  // Skip the first second (connection set-up, JIT warm-up), then measure.
  await new Promise((r) => setTimeout(r, 1_000));
  const counts0 = { k: k.messages, p: p.messages };
  const [k1, p1] = await Promise.all([kalshi.clock(), polymarket.clock()]);
  let last: [ClockReading, ClockReading] = [k1, p1];
  const stopAt = Date.now() + durationMs - 1_000;
  while (Date.now() < stopAt) {
    await new Promise((r) => setTimeout(r, 250));
    last = await Promise.all([kalshi.clock(), polymarket.clock()]);
    lag.kalshi = Math.max(lag.kalshi, last[0].lagMs);
    lag.polymarket = Math.max(lag.polymarket, last[1].lagMs);
  }
  const wallMs = last[0].wall - k1.wall;
  const received = { k: k.messages - counts0.k, p: p.messages - counts0.p };
  const total = received.k + received.p;
  const cpuMs = last[0].cpuMs - k1.cpuMs + (last[1].cpuMs - p1.cpuMs);
  for (const ws of sockets) ws.terminate();
  await Promise.all([kalshi.stop(), polymarket.stop()]);
  rmSync(dir, { recursive: true, force: true });
  const perSecond = (n: number) => Math.round((n * 1_000) / wallMs).toLocaleString('en');
  const cores = (ms: number) => (ms / wallMs).toFixed(2);
  const cells = [
    rate.toLocaleString('en'),
    steps.toLocaleString('en'),
    Math.round(expected.kalshi + expected.polymarket).toLocaleString('en'),
    `${perSecond(total)} (${Math.round((100 * total * 1_000) / wallMs / rate)} %)`,
    `${perSecond(received.k)} / ${perSecond(received.p)}`,
    `${Math.round(lag.kalshi)} / ${Math.round(lag.polymarket)}`,
    `${cores(last[0].cpuMs - k1.cpuMs)} / ${cores(last[1].cpuMs - p1.cpuMs)}`,
    cores(cpuMs),
    ((cpuMs * 1_000) / Math.max(1, total)).toFixed(1),
  ];
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  console.log(
    `load generator benchmark (node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}); ${seconds} s per rate, the first second not measured`,
  );
  const rows: string[] = [];
  for (const rate of rates) rows.push(await run(rate));
  console.log(
    '| asked msgs/s | engine steps/s | expected | received msgs/s | kalshi / poly | backlog max ms (k / p) | ' +
      'CPU cores (k / p) | CPU cores | CPU ms per 1k msgs |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
