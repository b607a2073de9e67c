// `arbees demo`: the whole trading pipeline on one machine against the venue simulators.
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseOptions, UsageError } from '../command.js';
import { packageInfo } from '../../lib/package-root.js';
import { loadScenarioFile, parseDuration, ScenarioError } from '../../workloads/sim/scenario.js';
import { LocalServiceError } from '../local/process.js';
import { Interrupted, runDemo } from '../demo/run.js';

export const gameDayScenarioPath = (): string => join(packageInfo().root, 'workloads', 'sim', 'scenarios', 'game-day.yaml');

export const demoCommand: Command = {
  path: ['demo'],
  summary: 'Run the whole pipeline locally against the venue simulators, paper trading, with a live summary and a report',
  help: `Usage: arbees demo [--duration 90s] [--scenario FILE] [--report-dir DIR]

Starts, on this machine and on loopback only: Redis and PostgreSQL (Debian's
redis-server and postgresql binaries, in a temporary folder), the Kalshi and
Polymarket simulators playing a game-day scenario, and the shard's processes —
kalshi-monitor, polymarket-monitor, detector and executor (paper trading) — each
as its own \`arbees\` process. A circuit breaker watches their metrics as the
operator would (stale market data, VPN check, daily loss) and drives the shard's
control key. The summary (books and their freshness, signals, orders, fills,
positions, PnL, risk rejections, breaker) refreshes in place every second.

At the end — or on Ctrl-C — it stops every process cleanly and writes
DIR/report.md, DIR/pnl-latency.svg and DIR/logs/. Exit status 0 when no order
was duplicated and no signal lost, 1 otherwise.

Options:
  -d, --duration D     real time for the whole scenario: 90s, 3m, ... (default 90s);
                       the scenario plays faster or slower to fit
  -s, --scenario FILE  scenario file (default: the built-in game day,
                       workloads/sim/scenarios/game-day.yaml)
  -o, --report-dir DIR where the report goes (default ./demo-report)
  --plain              print a status line every 5 s instead of redrawing
                       (the default when stdout is not a terminal)
  -h, --help           show this help`,
  async run(args, io) {
    const { values } = parseOptions(args, {
      duration: { type: 'string', short: 'd' },
      scenario: { type: 'string', short: 's' },
      'report-dir': { type: 'string', short: 'o' },
      plain: { type: 'boolean' },
    });
    let durationMs: number;
    try {
      durationMs = parseDuration(values.duration ?? '90s');
    } catch (error) {
      throw new UsageError(`--duration: ${(error as Error).message}`);
    }
    if (durationMs < 10_000) throw new UsageError('--duration must be at least 10s');
    let scenario;
    try {
      scenario = loadScenarioFile(values.scenario ?? gameDayScenarioPath());
    } catch (error) {
      if (error instanceof ScenarioError) {
        io.err(error.message);
        return 1;
      }
      throw error;
    }
    // Ctrl-C once: stop early and still write the report. Twice: the exit hook kills everything.
    let interruptNow: () => void = () => undefined;
    const interrupt = new Promise<void>((resolve) => (interruptNow = resolve));
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      interruptNow();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const outcome = await runDemo({
        scenario,
        durationMs,
        reportDir: values['report-dir'] ?? 'demo-report',
        interactive: values.plain !== true && process.stdout.isTTY === true,
        out: (text) => io.out(text),
        interrupt,
      });
      if (outcome.duplicateOrders > 0 || outcome.lostSignals > 0) {
        io.err(`FAILED: ${outcome.duplicateOrders} duplicate orders, ${outcome.lostSignals} lost signals`);
        return 1;
      }
      return 0;
    } catch (error) {
      if (error instanceof Interrupted || error instanceof LocalServiceError) {
        io.err(error.message);
        return 1;
      }
      io.err(`demo failed: ${(error as Error).message}`);
      return 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
