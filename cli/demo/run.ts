// `arbees demo`: starts the local stack, runs the scenario for the chosen time while drawing the
// live summary and driving the breaker, then writes the report and stops everything.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { controlState, writeControl } from '../../operator/breaker/control.js';
import { initialSnapshot, type BreakerSnapshot } from '../../operator/breaker/machine.js';
import type { Scenario } from '../../workloads/sim/scenario.js';
import { advance, demoBreakerConfig } from './breaker.js';
import { memoryOf, observe, type Tick } from './observe.js';
import { renderChart, renderMarkdown, type Transition } from './report.js';
import { collectResults } from './results.js';
import { ledgerCash, venueCash } from './balances.js';
import { DEMO_BALANCE, startStack, untilReady, type Stack } from './stack.js';
import { noColor, renderStatusLine, renderSummary, withColor } from './view.js';

export interface DemoOptions {
  scenario: Scenario;
  durationMs: number;
  reportDir: string;
  /** Draw the summary in place (a terminal) or print a status line every few seconds. */
  interactive: boolean;
  out: (text: string) => void;
  /** Resolves when the user asks to stop early (Ctrl-C). */
  interrupt: Promise<void>;
}

export interface DemoOutcome {
  reportPath: string;
  interrupted: boolean;
  duplicateOrders: number;
  lostSignals: number;
}

const shard = 'demo';
const controlTtlSeconds = 5;

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const { scenario, out } = options;
  const reportDir = resolve(options.reportDir);
  mkdirSync(reportDir, { recursive: true });
  rmSync(join(reportDir, 'logs'), { recursive: true, force: true }); // this run's logs only
  const workDir = mkdtempSync(join(tmpdir(), 'arbees-demo-'));
  chmodSync(workDir, 0o755); // PostgreSQL, run as its own user when we are root, must reach its folder
  const speed = scenario.duration / options.durationMs;
  let interrupted = false;
  void options.interrupt.then(() => (interrupted = true));
  const progress = (line: string) => out(`· ${line}`);
  let stack: Stack | undefined;
  const clients: { redis?: Redis; db?: pg.Pool; refresh?: NodeJS.Timeout } = {};
  try {
    stack = await startStack({ shard, scenario, speed, workDir, logDir: join(reportDir, 'logs'), progress });
    const redis = (clients.redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 }));
    const db = (clients.db = new pg.Pool({ connectionString: stack.postgresUrl, max: 2 }));
    // Idle-client and reconnect errors surface in the queries that use them; never crash on them.
    db.on('error', () => undefined);
    redis.on('error', () => undefined);
    const limits = stack.shard.executor.limits;
    const config = demoBreakerConfig(limits.dailyLossUsd);

    // The control key, as the operator keeps it: refreshed with a TTL, published on change.
    const publishControl = (snapshot: BreakerSnapshot, changed: boolean) =>
      writeControl(redis, controlTtlSeconds, shard, controlState(snapshot, limits.maxOrderUsd), changed);
    let breaker = initialSnapshot(Date.now());
    await publishControl(breaker, true);
    // Refreshed on its own timer, so a slow start-up or a slow observation never lets it lapse.
    clients.refresh = setInterval(() => void publishControl(breaker, false).catch(() => undefined), 1_000);

    progress('waiting for every process to be ready (connected, subscribed, books loaded)');
    await Promise.race([untilReady(stack.workloads), options.interrupt]);
    if (interrupted) throw new Interrupted();

    const startedAt = stack.startScenario();
    const elapsedAtStart = stack.kalshi.clock.elapsed();
    const wallOf = (offsetMs: number) => startedAt + (offsetMs - elapsedAtStart) / speed;
    progress(
      `scenario "${scenario.name}" running at ×${speed.toFixed(1)}: ` +
        `${(scenario.duration / 60_000).toFixed(0)} simulated minutes in ${(options.durationMs / 1000).toFixed(0)} s`,
    );

    const ticks: Tick[] = [];
    const transitions: Transition[] = [];
    const peakMemoryMb: Record<string, number> = {};
    const marketIds = stack.shard.markets.map((m) => m.id);
    const paint = options.interactive ? withColor : noColor;
    let lastLine = 0;
    const stopAt = startedAt + options.durationMs;
    while (!interrupted && Date.now() < stopAt) {
      const tick = await observe({ workloads: stack.workloads, redis, db, shard, marketIds });
      ticks.push(tick);
      for (const [name, mb] of Object.entries(tick.rssMb)) peakMemoryMb[name] = Math.max(peakMemoryMb[name] ?? 0, mb);
      const stepped = advance(
        config,
        breaker,
        {
          kalshiMonitor: tick.scrapes['kalshi-monitor'],
          polymarketMonitor: tick.scrapes['polymarket-monitor'],
          executor: tick.scrapes.executor,
        },
        tick.at,
      );
      breaker = stepped.snapshot;
      if (stepped.transition) transitions.push({ at: tick.at, ...stepped.transition });
      // A change goes out at once (the refresh timer keeps the key alive in between); a missed
      // write lets the key expire and the executor stop: the safe side.
      if (stepped.transition) await publishControl(breaker, true).catch(() => undefined);
      const exited = stack.workloads.find((w) => w.process.child.exitCode !== null);
      if (exited)
        throw new Error(
          `${exited.component} exited unexpectedly; last log lines (${exited.process.logFile}):\n${exited.process.logTail()}`,
        );
      const elapsed = Date.now() - startedAt;
      if (options.interactive)
        out(
          '\x1b[H\x1b[2J' +
            renderSummary({ tick, breaker, elapsedMs: elapsed, durationMs: options.durationMs, scenario: scenario.name, paint }).join('\n'),
        );
      else if (Date.now() - lastLine >= 5_000) {
        out(renderStatusLine(tick, breaker, elapsed));
        lastLine = Date.now();
      }
      await Promise.race([new Promise((r) => setTimeout(r, 1_000)), options.interrupt]);
    }
    const endedAt = Date.now();
    progress(interrupted ? 'stopping early (Ctrl-C): collecting results' : 'scenario time is up: collecting results');

    // Stop taking new signals, let in-flight ones finish, then read the ledger.
    clearInterval(clients.refresh);
    breaker = { ...breaker, state: 'Open', reason: 'demo over', since: endedAt };
    await publishControl(breaker, true);
    for (const w of stack.workloads) {
      const memory = memoryOf(w.process.child.pid);
      if (memory) peakMemoryMb[w.component] = Math.max(peakMemoryMb[w.component] ?? 0, memory.peak);
    }
    await stopWorkloads(stack);
    const live = stack;
    const results = await collectResults({
      db,
      redis,
      shard,
      truths: stack.kalshi.groundTruth(),
      wallOf,
      games: new Map(stack.shard.markets.map((m) => [m.id, m.game])),
      balances: async () => {
        const venue = await venueCash({ kalshi: live.kalshi.url, polymarket: live.polymarket.url }, live.access);
        const ledger = await ledgerCash(db, shard, DEMO_BALANCE);
        const of = (v: 'kalshi' | 'polymarket') => ({ start: DEMO_BALANCE[v], ledger: ledger[v], venue: venue[v] });
        return { kalshi: of('kalshi'), polymarket: of('polymarket') };
      },
    });
    const last = ticks.at(-1);
    const input = {
      scenario: { name: scenario.name, seed: scenario.seed, simulatedMs: Math.min(scenario.duration, (endedAt - startedAt) * speed) },
      startedAt,
      endedAt,
      speed,
      interrupted,
      pnl: ticks.flatMap((t) => (t.pnlUsd === undefined ? [] : [{ at: t.at, usd: t.pnlUsd }])),
      transitions,
      finalBreaker: transitions.at(-1)?.to ?? 'Closed',
      peakMemoryMb,
      quotes: { kalshi: last?.venues.kalshi.quotes ?? 0, polymarket: last?.venues.polymarket.quotes ?? 0 },
      reconnects: { kalshi: last?.venues.kalshi.reconnects ?? 0, polymarket: last?.venues.polymarket.reconnects ?? 0 },
      results,
      chartFile: 'pnl-latency.svg',
    };
    const markdown = renderMarkdown(input);
    writeFileSync(join(reportDir, 'pnl-latency.svg'), renderChart(input));
    const reportPath = join(reportDir, 'report.md');
    writeFileSync(reportPath, markdown);
    out('');
    out(
      markdown
        .split('\n## Arbitrage windows')[0]!
        .replace(/!\[.*\]\(.*\)\n/, '')
        .trimEnd(),
    );
    out('');
    out(`Report: ${reportPath} (chart: ${join(reportDir, 'pnl-latency.svg')}, logs: ${join(reportDir, 'logs')})`);
    return { reportPath, interrupted, duplicateOrders: results.duplicateOrders, lostSignals: results.lostSignals };
  } finally {
    clearInterval(clients.refresh);
    clients.redis?.disconnect();
    await clients.db?.end().catch(() => undefined);
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export class Interrupted extends Error {
  constructor() {
    super('stopped before the scenario started');
  }
}

/** SIGTERM to every workload at once; each flushes and exits (the executor finishes its in-flight signals). */
async function stopWorkloads(stack: Stack): Promise<void> {
  await Promise.all(stack.workloads.map((w) => w.process.stop('SIGTERM', 15_000)));
}
