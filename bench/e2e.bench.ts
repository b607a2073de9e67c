// End-to-end benchmark: the whole pipeline (both venue simulators, both monitors, detector,
// executor in paper mode, Redis, PostgreSQL — the workloads as `arbees` processes) at 1k, 10k and
// 50k venue messages/s for 20 s each, with injected arbitrage windows and venue faults.
//   node --import tsx bench/e2e.bench.ts
//   BENCH_E2E_RATES=1000,5000 BENCH_E2E_SECONDS=30 node --import tsx bench/e2e.bench.ts
// Prints per rate: the message rate the monitors actually received (arbees_ws_messages_total)
// against the one asked for, the simulators' backlog (when they cannot keep up), quotes written
// and read, latencies p50/p99/p999 (venue → monitor and monitor → Redis over a sample of the quotes
// stream; quote → signal and signal → order from the signals and the ledger), windows found,
// signals lost, duplicate orders, and each process's peak RSS (VmHWM). Always exits 0: the figures
// are the result (see test/integration/e2e-load.test.ts for the asserted short run).
import { availableParallelism, loadavg } from 'node:os';
import { formatTable, runLoad, type LoadResult } from '../test/support/load.js';

const rates = (process.env.BENCH_E2E_RATES ?? '1000,10000,50000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const seconds = Number(process.env.BENCH_E2E_SECONDS ?? 20);

async function main(): Promise<void> {
  console.log(
    `end-to-end benchmark (node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
  console.log(
    `rates ${rates.join(', ')} venue messages/s, ${seconds} s each; 8 markets, a 1.5 s arbitrage ` +
      `window every 4 s, a dropped socket or a seq gap between windows`,
  );
  const results: LoadResult[] = [];
  for (const rate of rates) {
    const began = Date.now();
    const say = (line: string) => console.log(`  [${rate.toLocaleString('en')}/s +${((Date.now() - began) / 1000).toFixed(0)}s] ${line}`);
    try {
      const result = await runLoad({ rate, durationMs: seconds * 1_000, progress: say });
      results.push(result);
      say(
        `received ${Math.round(result.received.total).toLocaleString('en')} msg/s; ` +
          `windows ${result.windows.found}/${result.windows.injected}; ` +
          `lost signals ${result.lostSignals}; duplicate orders ${result.duplicateOrders}`,
      );
    } catch (error) {
      say(`failed: ${(error as Error).message}`);
    }
  }
  if (results.length > 0) {
    console.log('');
    console.log(formatTable(results));
    console.log('');
    console.log("latencies in ms; venue → monitor uses the simulators' message timestamps (same host clock); quote → signal is the");
    console.log(
      "freshest leg's age when the detector created the signal; signal → order is the first order in the ledger (paper: its intent).",
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 0;
});
