// One load run of the whole pipeline (both simulators, both monitors, detector, executor in paper
// mode, Redis, PostgreSQL) at a chosen venue message rate for a fixed time, with injected
// arbitrage windows and venue faults; measured from the processes' own metrics, the quotes and
// signals streams and the PostgreSQL ledger. Used by bench/e2e.bench.ts (full figures) and
// test/integration/e2e-load.test.ts (a short run with assertions).
//
// Rate: what the two monitors receive, in venue WebSocket messages per second together (their
// arbees_ws_messages_total). The simulators are driven in engine steps per second (speed 1, so
// simulated = real time); a step changes about one Kalshi level (one orderbook_delta message) and
// one Polymarket level, and the Polymarket simulator sends what a 5 ms tick collected as one frame.
// The step rate is calibrated from the scenario engine itself (it is deterministic) so that the
// expected message rate is the one asked for; the report gives what was actually received.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseMetricsText, sumBy, sumOf, type Sample } from '../../cli/demo/metrics-text.js';
import { memoryOf } from '../../cli/demo/observe.js';
import { percentile } from '../../cli/demo/report.js';
import { collectResults } from '../../cli/demo/results.js';
import { streamKeys, type ControlState, type Signal } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { ScenarioEngine } from '../../workloads/sim/engine.js';
import { parseScenario, type Scenario, type ScenarioInput } from '../../workloads/sim/scenario.js';
import { gaugeMaxMs, histogramStats } from './histogram-quantiles.js';
import { startPipeline, untilReady, type Component, type Pipeline } from './pipeline.js';
import { processCpuMs, processTreeCpuMs } from './proc-cpu.js';
import { signedJson, testSignalKey } from './signals.js';

/**
 * The Polymarket simulator sends what one driver tick (a 5 ms timer) collected as one frame: at
 * most 200 frames a second on an idle event loop, and about 60–180 in a loaded one (measured on a
 * busy 2-core machine). The calibration counts on 100; the report gives what was received.
 */
const POLY_FRAMES_PER_SECOND = 100;
// A window must outlast a simulator's worst backlog on a busy machine (a backlog longer than the
// window sends its opening and closing in one batch, and nobody can see it).
const WINDOW_MS = 1_500;
const WINDOW_EVERY_MS = 4_000;
const FIRST_WINDOW_MS = 2_500;
const WINDOW_BPS = 700;
/**
 * Signals injected besides the detector's (whose spam control lets through about 20 a minute), so
 * that signal → order rests on at least 1 000 signals per run: signed as the detector signs them,
 * one-legged buys the books always support (limit $0.99, one contract), spread evenly over the run.
 */
const INJECTED_SIGNALS = 1_200;
const INJECTED_PREFIX = 'load-injected';
/** prom-client's default event-loop sampling period (eventLoopMonitoringPrecision), ms. */
const EVENT_LOOP_SAMPLING_MS = 10;
/**
 * Between the first and the last scrape, the workloads' /metrics are read this often. A scrape
 * costs each process a few ms of its event loop: read every second, the scrapes alone raised
 * venue → detector p99 from 5 to 10 ms at 1k msgs/s. The chart's ServiceMonitors scrape every 15 s.
 */
export const SCRAPE_INTERVAL_MS = 5_000;

export interface Stats {
  n: number;
  p50?: number;
  p99?: number;
  p999?: number;
  max?: number;
}

export interface LoadResult {
  /** Asked for: venue messages per second, both venues together. */
  rate: number;
  durationMs: number;
  /** Measured: from the first scrape after the start to the last one before the stop. */
  measuredMs: number;
  markets: number;
  /** Engine steps per second the simulators ran at, and the message rate that should give. */
  stepsPerSecond: number;
  expected: { kalshi: number; polymarket: number };
  /** Venue WebSocket messages per second the monitors received (arbees_ws_messages_total). */
  received: { kalshi: number; polymarket: number; total: number };
  /** Quotes per second the monitors wrote to Redis, and how many they coalesced (backpressure). */
  quotesPerSecond: { kalshi: number; polymarket: number };
  coalesced: number;
  /** Quote stream entries per second the detector read. */
  detectorQuotesPerSecond: number;
  latencyMs: {
    /** Venue send (the simulators stamp messages with the wall clock) → the monitor's receive, every published quote. */
    wire: Stats;
    /** The monitor's receive → Redis acknowledging the quote, every published quote. */
    monitorToRedis: Stats;
    /** The monitor's receive → the detector having evaluated the quote, every quote. */
    monitorToDetector: Stats;
    /** Venue send → the detector having evaluated the quote, every quote. */
    venueToDetector: Stats;
    /** The monitor's receive of the message that completed the opportunity → the detector's signal (min quoteAgesMs). */
    quoteToSignal: Stats;
    /** Signal created → its first order (ledger: sent_at, or the intent commit in paper mode). */
    signalToOrder: Stats;
  };
  windows: { injected: number; found: number; missed: string[] };
  signals: { published: number; recorded: number; arbitrage: number; outsideWindows: number; outsideDetail: string[] };
  /** Would-be signals the detector held back, by reason (arbees_signals_suppressed_total). */
  suppressed: Record<string, number>;
  orders: { total: number; filled: number; byStatus: Record<string, number> };
  duplicateOrders: number;
  lostSignals: number;
  reconnects: { kalshi: number; polymarket: number };
  /** The largest backlog each simulator had (scenario events due but not yet sent, ms): > 0 means it could not keep up. */
  simulatorLagMs: { kalshi: number; polymarket: number };
  /** Share of the run's scenario time each simulator had sent by the end (1 = kept up). */
  simulatorSent: { kalshi: number; polymarket: number };
  faults: string[];
  /** CPU time (user + system, /proc) per 1 000 venue messages received, ms, per process, over the measured interval. */
  cpuPer1kMs: Record<string, number>;
  /** Venue messages the monitors received in the measured interval (what cpuPer1kMs divides by). */
  messages: number;
  /**
   * Worst per-scrape (SCRAPE_INTERVAL_MS) event-loop delay p99 of each Node process, ms: prom-client's
   * nodejs_eventloop_lag_p99_seconds less its sampling period.
   */
  eventLoopP99Ms: Record<string, number>;
  /** Garbage-collection pauses in the measured interval, ms, per Node process (nodejs_gc_duration_seconds). */
  gcMs: Record<string, number>;
  /** The load generator (both simulator threads): CPU over the measured interval in cores (1 = one core busy). */
  generatorCores: number;
  /** Signed signals the run injected (signal → order rests on them and the detector's). */
  injectedSignals: number;
  /** Peak resident memory (VmHWM), MB, per process. */
  peakRssMb: Record<string, number>;
  logDir: string;
}

export interface LoadOptions {
  rate: number;
  durationMs: number;
  markets?: number;
  seed?: number;
  /** Where to keep the logs; default: a temp folder removed after the run unless keepLogs. */
  keepLogs?: boolean;
  /** Profile the workloads (node --cpu-prof) into this folder; written when each exits. */
  cpuProfileDir?: string;
  /** How often the workloads' /metrics are read during the run, ms (default SCRAPE_INTERVAL_MS). */
  scrapeIntervalMs?: number;
  progress?: (line: string) => void;
}

/** The scenario: `markets` one-market games, a 1.5 s window every 4 s, a fault between windows. */
export function loadScenarioInput(durationMs: number, markets: number, seed: number, messageRate: number): ScenarioInput {
  const games: ScenarioInput['games'] = Array.from({ length: markets }, (_, i) => ({
    id: `load-g${i}`,
    sport: 'nba' as const,
    home: `H${i}`,
    away: `A${i}`,
    kalshi: { eventTicker: `KXNBAGAME-26NOV26LOAD${i}` },
    markets: [
      {
        id: `load-m${i}`,
        team: `H${i}`,
        initialPrice: 0.35 + (0.3 * i) / Math.max(1, markets - 1),
        kalshi: { ticker: `KXNBAGAME-26NOV26LOAD${i}-H${i}` },
        polymarket: { yesTokenId: `${7100 + i}1`, noTokenId: `${7100 + i}2` },
      },
    ],
  }));
  const arbitrage: NonNullable<ScenarioInput['arbitrage']> = [];
  const faults: NonNullable<ScenarioInput['faults']> = [];
  const faultKinds = [
    { venue: 'kalshi', type: 'disconnect' },
    { venue: 'polymarket', type: 'disconnect' },
    { venue: 'kalshi', type: 'seqGap' },
  ] as const;
  for (let i = 0, at = FIRST_WINDOW_MS; at + WINDOW_MS <= durationMs - 2_000; i++, at += WINDOW_EVERY_MS) {
    arbitrage.push({
      id: `win-${i}`,
      market: `load-m${i % markets}`,
      at: at,
      duration: WINDOW_MS,
      venue: i % 2 === 0 ? 'polymarket' : 'kalshi',
      direction: i % 4 < 2 ? 'cheap' : 'rich',
      bps: WINDOW_BPS,
    });
    // Between windows: a dropped socket or a sequence gap, recovered before the next window.
    const faultAt = at + WINDOW_MS + 1_000;
    if (faultAt < durationMs - 1_000) faults.push({ ...faultKinds[i % faultKinds.length]!, at: faultAt, duration: 0 });
  }
  return {
    name: `e2e-load-${messageRate}`,
    seed,
    duration: durationMs + 120_000,
    messageRate,
    tradeProbability: 0.05,
    defaults: { volatility: 0.015, meanReversion: 0.05, spreadTicks: 2, depth: 5, levelSize: 300 },
    games,
    arbitrage,
    faults,
  };
}

/** Venue messages per second the simulators send at `steps` per second, from the engine itself. */
function messagesAt(input: ScenarioInput, steps: number): { kalshi: number; polymarket: number } {
  const engine = new ScenarioEngine(parseScenario({ ...input, messageRate: steps, duration: 20_000 }));
  const horizonMs = Math.min(20_000, (20_000 / steps) * 1_000);
  let kalshi = 0;
  let polymarketEvents = 0;
  const ticks = new Set<number>();
  for (const event of engine.advanceTo(horizonMs)) {
    if (event.kind === 'book' && event.venue === 'kalshi') kalshi += event.levels.length;
    else if (event.kind === 'trade' && event.venue === 'kalshi')
      kalshi += 1; // a fill changes at least one level
    else if (event.venue === 'polymarket' && (event.kind === 'book' || event.kind === 'trade' || event.kind === 'tickSize')) {
      polymarketEvents++;
      ticks.add(Math.floor(event.t / 5));
    }
  }
  const seconds = horizonMs / 1_000;
  return { kalshi: kalshi / seconds, polymarket: Math.min(ticks.size / seconds, POLY_FRAMES_PER_SECOND, polymarketEvents / seconds) };
}

/** Engine steps per second for `rate` venue messages per second (both venues), and what it should give. */
export function calibrate(input: ScenarioInput, rate: number): { steps: number; expected: { kalshi: number; polymarket: number } } {
  let steps = rate / 2;
  let expected = messagesAt(input, steps);
  for (let i = 0; i < 4; i++) {
    const perStep = expected.kalshi / steps;
    // Polymarket frames saturate at one per timer tick; Kalshi sends one message per level change.
    steps = Math.min(100_000, Math.max(1, (rate - expected.polymarket) / perStep));
    expected = messagesAt(input, steps);
  }
  return { steps: Math.round(steps), expected };
}

function stats(values: number[]): Stats {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    p999: percentile(values, 99.9),
    max: values.length ? Math.max(...values) : undefined,
  };
}

async function scrape(url: string): Promise<Sample[] | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? parseMetricsText(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

interface Scrape {
  at: number;
  samples: Partial<Record<Component, Sample[]>>;
}

async function scrapeAll(pipeline: Pipeline): Promise<Scrape> {
  const samples: Scrape['samples'] = {};
  await Promise.all(
    pipeline.workloads.map(async (w) => {
      const s = await scrape(w.metricsUrl);
      if (s) samples[w.component] = s;
    }),
  );
  return { at: Date.now(), samples };
}

/** Limits that never stop the flow: the run measures the pipeline, not the risk rules. */
function unlimited(shard: ShardConfig): ShardConfig {
  const big = 100_000_000;
  return {
    ...shard,
    executor: {
      ...shard.executor,
      bankrollUsd: big,
      limits: { perGameUsd: big, perSportUsd: big, dailyLossUsd: big, maxOpenPositions: 1_000, maxOrderUsd: big },
    },
  };
}

/** CPU time so far (user + system, ms) of every process of the run, and of the simulator threads. */
async function cpuNow(p: Pipeline): Promise<Record<string, number | undefined>> {
  const [k, pm] = await Promise.all([p.kalshi.clock(), p.polymarket.clock()]);
  const own = process.cpuUsage();
  const total = (own.user + own.system) / 1_000;
  const out: Record<string, number | undefined> = {};
  for (const w of p.workloads) out[w.component] = processCpuMs(w.process.child.pid);
  out['redis-server'] = processCpuMs(p.servicePids.redis);
  out['postgres (all its processes)'] = processTreeCpuMs(p.servicePids.postgres);
  out['simulators (2 threads)'] = k.cpuMs + pm.cpuMs;
  // This process less the simulator threads: the harness (scrapes, signal injection) and V8's helper threads.
  out['harness (rest of this process)'] = total - k.cpuMs - pm.cpuMs;
  return out;
}

/**
 * Sends INJECTED_SIGNALS signed signals evenly over the first 90 % of `durationMs` (paced by the
 * wall clock, so a late timer catches up), round robin over the scenario's markets.
 */
function injectSignals(redis: Redis, shard: string, scenario: Scenario, durationMs: number): { stop(): void; sent(): number } {
  const markets = scenario.games.flatMap((g) => g.markets.map((m) => m.id));
  const began = Date.now();
  const spanMs = 0.9 * durationMs;
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.min(INJECTED_SIGNALS, Math.ceil((INJECTED_SIGNALS * (Date.now() - began)) / spanMs));
    if (due <= sent) return;
    const pipeline = redis.pipeline();
    for (; sent < due; sent++) {
      const marketId = markets[sent % markets.length]!;
      const signal: Signal = {
        id: `${INJECTED_PREFIX}:${marketId}:${sent}`,
        kind: 'edge',
        marketId,
        legs: [{ venue: sent % 2 === 0 ? 'kalshi' : 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: 100 }],
        edgeBps: 100,
        expectedProfit: 1,
        quoteAgesMs: [0],
        createdTs: Date.now(),
      };
      pipeline.xadd(streamKeys.signals(shard), '*', 'data', signedJson(signal, shard));
    }
    void pipeline.exec().catch(() => undefined);
  }, 10);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const markets = options.markets ?? 8;
  const progress = options.progress ?? (() => undefined);
  const shard = `load-${options.rate}`;
  const base = loadScenarioInput(options.durationMs, markets, options.seed ?? 20261126, 1);
  const { steps, expected } = calibrate(base, options.rate);
  const scenario: Scenario = parseScenario({ ...base, messageRate: steps });
  const workDir = mkdtempSync(join(tmpdir(), 'arbees-e2e-load-'));
  chmodSync(workDir, 0o755); // PostgreSQL, run as its own user when we are root, must reach its folder
  const logDir = join(workDir, 'logs');
  let pipeline: Pipeline | undefined;
  let finished = false;
  const clients: { redis?: Redis; db?: pg.Pool; refresh?: NodeJS.Timeout; injected?: { stop(): void } } = {};
  try {
    pipeline = await startPipeline({
      shard,
      scenario,
      speed: 1,
      workDir,
      logDir,
      progress,
      signalKey: testSignalKey,
      configure: unlimited,
      // Injected signals come several a second per market: no pause after a fill.
      executorArgs: ['--market-cooldown-ms', '0'],
      ...(options.cpuProfileDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] } : {}),
    });
    const p = pipeline;
    const redis = (clients.redis = new Redis(p.redis.url, { maxRetriesPerRequest: 1 }));
    const db = (clients.db = new pg.Pool({ connectionString: p.postgresUrl, max: 2 }));
    db.on('error', () => undefined);
    redis.on('error', () => undefined);
    // The operator's control key: closed, refreshed with a TTL (a missing key means "do not trade").
    const control = (state: ControlState['state'], reason: string) =>
      redis.set(streamKeys.control(shard), JSON.stringify({ state, reason, since: Date.now() } satisfies ControlState), 'EX', 5);
    await control('closed', 'load run');
    clients.refresh = setInterval(() => void control('closed', 'load run').catch(() => undefined), 1_000);

    progress('waiting for every workload to be ready');
    await untilReady(p.workloads, 120_000);
    const clocks = await p.startScenario();
    const startedAt = clocks.kalshi.wall;
    const wallOf = (offsetMs: number) => startedAt + (offsetMs - clocks.kalshi.elapsed);
    progress(
      `running ${options.durationMs / 1000} s at ${steps.toLocaleString('en')} engine steps/s ` +
        `(aiming at ${options.rate.toLocaleString('en')} venue messages/s)`,
    );

    const cpuBefore = await cpuNow(p);
    const first = await scrapeAll(p);
    let last = first;
    const scrapes: Scrape[] = [first];
    const injected = (clients.injected = injectSignals(redis, shard, scenario, options.durationMs));
    const peakRssMb: Record<string, number> = {};
    const notePeaks = () => {
      const peak = (name: string, pid: number | undefined) => {
        const m = memoryOf(pid);
        if (m) peakRssMb[name] = Math.max(peakRssMb[name] ?? 0, m.peak);
      };
      for (const w of p.workloads) peak(w.component, w.process.child.pid);
      peak('simulators + harness (this process)', process.pid);
      peak('redis-server', p.servicePids.redis);
      peak('postgres (postmaster)', p.servicePids.postgres);
    };
    const simulatorLagMs = { kalshi: 0, polymarket: 0 };
    const simulatorSent = { kalshi: 1, polymarket: 1 };
    const noteLag = async () => {
      const [k, pm] = await Promise.all([p.kalshi.clock(), p.polymarket.clock()]);
      simulatorLagMs.kalshi = Math.max(simulatorLagMs.kalshi, k.lagMs);
      simulatorLagMs.polymarket = Math.max(simulatorLagMs.polymarket, pm.lagMs);
      const sent = (r: typeof k, start: typeof k) =>
        Math.max(0, r.elapsed - r.lagMs - start.elapsed) / Math.max(1, r.elapsed - start.elapsed);
      simulatorSent.kalshi = sent(k, clocks.kalshi);
      simulatorSent.polymarket = sent(pm, clocks.polymarket);
    };
    const stopAt = startedAt + options.durationMs;
    const scrapeEveryMs = options.scrapeIntervalMs ?? SCRAPE_INTERVAL_MS;
    while (Date.now() < stopAt) {
      await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, stopAt - Date.now()))));
      const exited = p.workloads.find((w) => w.process.child.exitCode !== null);
      if (exited)
        throw new Error(
          `${exited.component} exited during the run; last log lines (${exited.process.logFile}):\n${exited.process.logTail()}`,
        );
      if (Date.now() >= stopAt || Date.now() - last.at >= scrapeEveryMs) {
        last = await scrapeAll(p);
        scrapes.push(last);
      }
      notePeaks();
      await noteLag();
    }
    const cpuAfter = await cpuNow(p);
    injected.stop();
    const measuredMs = last.at - first.at;
    progress('time is up: stopping the flow, draining the executor, reading the ledger');

    // Upstream first: monitors and detector stop (the detector publishes the batch in hand), then the
    // executor takes every signal left on the stream before it stops too.
    clearInterval(clients.refresh);
    await control('open', 'load run over');
    notePeaks();
    await p.stopWorkloads(['kalshi-monitor', 'polymarket-monitor', 'detector']);
    const published = async () =>
      new Set(
        (await redis.xrange(streamKeys.signals(shard), '-', '+')).map(([, f]) => (JSON.parse(f[f.length - 1]!) as { id: string }).id),
      );
    const drainUntil = Date.now() + 15_000;
    for (;;) {
      const ids = [...(await published())];
      const recorded = await db.query<{ n: number }>('select count(*)::int as n from signals where shard = $1 and id = any($2)', [
        shard,
        ids,
      ]);
      if (recorded.rows[0]!.n >= ids.length || Date.now() > drainUntil) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    notePeaks();
    await p.stopWorkloads(['executor']);
    const results = await collectResults({ db, redis, shard, truths: p.groundTruth, wallOf });

    // The freshest leg's age when the detector created the signal: the quote that completed it.
    const ages = await db.query<{ ages: number[] }>(
      "select payload->'quoteAgesMs' as ages from signals where shard = $1 and id not like $2",
      [shard, `${INJECTED_PREFIX}%`],
    );
    const quoteToSignal = ages.rows.map((r) => Math.min(...r.ages));
    const seconds = measuredMs / 1_000;
    const delta = (component: Component, name: string, where: Record<string, string> = {}) =>
      sumOf(last.samples[component] ?? [], name, where) - sumOf(first.samples[component] ?? [], name, where);
    const receivedKalshi = delta('kalshi-monitor', 'arbees_ws_messages_total', { venue: 'kalshi' }) / seconds;
    const receivedPoly = delta('polymarket-monitor', 'arbees_ws_messages_total', { venue: 'polymarket' }) / seconds;
    const messages = (receivedKalshi + receivedPoly) * seconds;
    // Every quote: the monitors' and the detector's histograms between the first and the last scrape.
    const monitors = ['kalshi-monitor', 'polymarket-monitor'] as const;
    const hop = (components: readonly Component[], name: string, where: Record<string, string> = {}) =>
      histogramStats(
        components.flatMap((c) => first.samples[c] ?? []),
        components.flatMap((c) => last.samples[c] ?? []),
        name,
        where,
      );
    const cpuPer1kMs: Record<string, number> = {};
    for (const [name, after] of Object.entries(cpuAfter)) {
      const before = cpuBefore[name];
      if (before !== undefined && after !== undefined && messages > 0) cpuPer1kMs[name] = ((after - before) * 1_000) / messages;
    }
    const eventLoopP99Ms: Record<string, number> = {};
    const gcMs: Record<string, number> = {};
    for (const w of p.workloads) {
      const eld = gaugeMaxMs(
        scrapes.slice(1).map((x) => x.samples[w.component]),
        'nodejs_eventloop_lag_p99_seconds',
      );
      // prom-client samples with a 10 ms timer (eventLoopMonitoringPrecision) and records the whole
      // interval between two ticks, so an idle loop reads 10 ms: the delay is what exceeds it.
      if (eld !== undefined) eventLoopP99Ms[w.component] = Math.max(0, eld - EVENT_LOOP_SAMPLING_MS);
      gcMs[w.component] = delta(w.component, 'nodejs_gc_duration_seconds_sum') * 1_000;
    }
    const generatorMs = (cpuAfter['simulators (2 threads)'] ?? 0) - (cpuBefore['simulators (2 threads)'] ?? 0);
    // Each window on the clock of the venue it misprices (the two simulators' clocks start a few ms
    // apart); found when an arbitrage signal on its market was created while it was open, or within
    // 2 s after (books take time to show it and to fade) — as cli/demo/results.ts counts it.
    const windows = p.groundTruth.map((truth) => {
      const clock = clocks[truth.mispricedVenue];
      const from = clock.wall + (truth.startMs - clock.elapsed);
      const to = clock.wall + (truth.endMs - clock.elapsed) + 2_000;
      return {
        truth,
        signals: results.signals.filter(
          (s) => s.marketId === truth.marketId && s.kind === 'arbitrage' && s.createdTs >= from && s.createdTs <= to,
        ),
      };
    });
    const windowSignals = new Set(windows.flatMap((w) => w.signals.map((s) => s.id)));
    const arbitrage = results.signals.filter((s) => s.kind === 'arbitrage');
    const byStatus: Record<string, number> = {};
    for (const o of results.orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    finished = true;
    return {
      rate: options.rate,
      durationMs: options.durationMs,
      measuredMs,
      markets,
      stepsPerSecond: steps,
      expected,
      received: { kalshi: receivedKalshi, polymarket: receivedPoly, total: receivedKalshi + receivedPoly },
      quotesPerSecond: {
        kalshi: delta('kalshi-monitor', 'arbees_quotes_total', { venue: 'kalshi' }) / seconds,
        polymarket: delta('polymarket-monitor', 'arbees_quotes_total', { venue: 'polymarket' }) / seconds,
      },
      coalesced: delta('kalshi-monitor', 'arbees_quotes_coalesced_total') + delta('polymarket-monitor', 'arbees_quotes_coalesced_total'),
      detectorQuotesPerSecond: delta('detector', 'arbees_quotes_consumed_total') / seconds,
      latencyMs: {
        wire: hop(monitors, 'arbees_quote_venue_delay_seconds'),
        monitorToRedis: hop(monitors, 'arbees_quote_publish_latency_seconds'),
        monitorToDetector: hop(['detector'], 'arbees_detector_quote_delay_seconds', { since: 'monitor' }),
        venueToDetector: hop(['detector'], 'arbees_detector_quote_delay_seconds', { since: 'venue' }),
        quoteToSignal: stats(quoteToSignal),
        signalToOrder: stats(results.signals.flatMap((s) => (s.toOrderMs === undefined ? [] : [s.toOrderMs]))),
      },
      windows: {
        injected: windows.length,
        found: windows.filter((w) => w.signals.length > 0).length,
        missed: windows.filter((w) => w.signals.length === 0).map((w) => w.truth.id),
      },
      signals: {
        published: results.publishedSignals,
        recorded: results.signals.length,
        arbitrage: arbitrage.length,
        outsideWindows: arbitrage.filter((s) => !windowSignals.has(s.id)).length,
        outsideDetail: arbitrage
          .filter((s) => !windowSignals.has(s.id))
          .map(
            (s) => `${s.marketId} at +${((s.createdTs - startedAt) / 1000).toFixed(2)}s, ${s.edgeBps} bps, quote age ${s.quoteAgeMs} ms`,
          ),
      },
      suppressed: sumBy(last.samples.detector ?? [], 'arbees_signals_suppressed_total', 'reason'),
      orders: { total: results.orders.length, filled: results.orders.filter((o) => o.filledSize > 0).length, byStatus },
      duplicateOrders: results.duplicateOrders,
      lostSignals: results.lostSignals,
      reconnects: {
        kalshi: sumOf(last.samples['kalshi-monitor'] ?? [], 'arbees_ws_reconnects_total'),
        polymarket: sumOf(last.samples['polymarket-monitor'] ?? [], 'arbees_ws_reconnects_total'),
      },
      simulatorLagMs,
      simulatorSent,
      faults: scenario.faults.map((f) => `${f.venue} ${f.type} at ${(f.at / 1000).toFixed(1)}s`),
      cpuPer1kMs,
      messages,
      eventLoopP99Ms,
      gcMs,
      generatorCores: generatorMs / measuredMs,
      injectedSignals: injected.sent(),
      peakRssMb,
      logDir: options.keepLogs ? logDir : '(removed)',
    };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n(logs kept in ${logDir})`, { cause: error });
  } finally {
    clearInterval(clients.refresh);
    clients.injected?.stop();
    clients.redis?.disconnect();
    await clients.db?.end().catch(() => undefined);
    await pipeline?.stop();
    // A failed run keeps its logs.
    if (finished && !options.keepLogs) rmSync(workDir, { recursive: true, force: true });
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en');
const ms = (x: Stats) => (x.n === 0 ? '—' : `${x.p50} / ${x.p99} / ${x.p999} (n=${int(x.n)})`);

/** CPU per 1 000 messages of the pipeline itself: the monitors, detector, executor, Redis and PostgreSQL. */
export function pipelineCpu(r: LoadResult): number {
  return Object.entries(r.cpuPer1kMs)
    .filter(([name]) => !name.startsWith('simulators') && !name.startsWith('harness'))
    .reduce((sum, [, ms]) => sum + ms, 0);
}

/** The figures of several runs side by side, one column per rate (a Markdown table). */
export function formatTable(results: LoadResult[]): string {
  const rows: Array<[string, (r: LoadResult) => string]> = [
    ['requested venue messages/s', (r) => int(r.rate)],
    ['engine steps/s (both simulators)', (r) => int(r.stepsPerSecond)],
    ['received messages/s, both monitors', (r) => `${int(r.received.total)} (${Math.round((100 * r.received.total) / r.rate)} %)`],
    ['  kalshi / polymarket', (r) => `${int(r.received.kalshi)} / ${int(r.received.polymarket)}`],
    ['simulator backlog max, ms (kalshi / poly)', (r) => `${int(r.simulatorLagMs.kalshi)} / ${int(r.simulatorLagMs.polymarket)}`],
    [
      'scenario time sent by the end (kalshi / poly)',
      (r) => `${Math.round(100 * r.simulatorSent.kalshi)} % / ${Math.round(100 * r.simulatorSent.polymarket)} %`,
    ],
    ['quotes to Redis/s (kalshi / poly)', (r) => `${int(r.quotesPerSecond.kalshi)} / ${int(r.quotesPerSecond.polymarket)}`],
    ['quotes coalesced (backpressure)', (r) => int(r.coalesced)],
    ['detector quotes read/s', (r) => int(r.detectorQuotesPerSecond)],
    ['venue → monitor ms p50/p99/p999', (r) => ms(r.latencyMs.wire)],
    ['monitor → Redis ack ms p50/p99/p999', (r) => ms(r.latencyMs.monitorToRedis)],
    ['monitor → detector evaluated ms p50/p99/p999', (r) => ms(r.latencyMs.monitorToDetector)],
    ['venue → detector evaluated ms p50/p99/p999', (r) => ms(r.latencyMs.venueToDetector)],
    ['quote → signal ms p50/p99/p999 (detector signals)', (r) => ms(r.latencyMs.quoteToSignal)],
    ['signal → order ms p50/p99/p999', (r) => ms(r.latencyMs.signalToOrder)],
    ['  of which injected signals', (r) => int(r.injectedSignals)],
    ['load generator CPU, cores (≤ 1 asked)', (r) => r.generatorCores.toFixed(2)],
    ['arbitrage windows found / injected', (r) => `${r.windows.found} / ${r.windows.injected}`],
    ['signals published / recorded / lost', (r) => `${r.signals.published} / ${r.signals.recorded} / ${r.lostSignals}`],
    ['arbitrage signals outside windows', (r) => String(r.signals.outsideWindows)],
    [
      'suppressed by the detector',
      (r) =>
        Object.entries(r.suppressed)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || '0',
    ],
    ['orders / filled / duplicate', (r) => `${r.orders.total} / ${r.orders.filled} / ${r.duplicateOrders}`],
    ['reconnects (kalshi / poly)', (r) => `${r.reconnects.kalshi} / ${r.reconnects.polymarket}`],
  ];
  const cpuNames = [...new Set(results.flatMap((r) => Object.keys(r.cpuPer1kMs)))];
  for (const name of cpuNames) rows.push([`CPU ms per 1k msgs: ${name}`, (r) => r.cpuPer1kMs[name]?.toFixed(1) ?? '—']);
  rows.push(['CPU ms per 1k msgs: whole pipeline (no generator, no harness)', (r) => pipelineCpu(r).toFixed(1)]);
  const nodeNames = [...new Set(results.flatMap((r) => Object.keys(r.eventLoopP99Ms)))];
  for (const name of nodeNames)
    rows.push([
      `${name}: event-loop delay p99 (worst scrape interval) / GC total, ms`,
      (r) => `${r.eventLoopP99Ms[name]?.toFixed(1) ?? '—'} / ${r.gcMs[name]?.toFixed(0) ?? '—'}`,
    ]);
  const processes = [...new Set(results.flatMap((r) => Object.keys(r.peakRssMb)))];
  for (const name of processes) rows.push([`peak RSS MB: ${name}`, (r) => r.peakRssMb[name]?.toFixed(0) ?? '—']);
  const header = ['', ...results.map((r) => `${int(r.rate)} msg/s, ${r.durationMs / 1000} s`)];
  const body = rows.map(([label, cell]) => [label, ...results.map(cell)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}
