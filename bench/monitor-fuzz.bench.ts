// The monitors' long fuzz run (issue 22): the same hostile venues as
// test/integration/monitor-fuzz.test.ts, at least 1M messages to each monitor process (about 85k
// per fault class), against a redis-server started here. Prints, per venue, the messages sent per
// fault class, the monitor's peak RSS per class and its high-water mark against the 256 MiB pod
// limit, and every insane quote the reader found.
//   node --import tsx bench/monitor-fuzz.bench.ts [messages per class, default 85000]
// Exits 1 if a quote was insane, a monitor exited or went over its pod limit: a finding, not a figure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis } from '../cli/local/redis.js';
import { FAULT_CLASSES } from '../test/support/hostile-venue.js';
import { fuzzMonitor, POD_LIMIT_BYTES, report, type FuzzResult } from '../test/support/monitor-fuzz.js';

const PER_CLASS = Number(process.argv[2] ?? 85_000);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-fuzz-bench-'));
  const redis = await startRedis(dir);
  const results: FuzzResult[] = [];
  let failed = false;
  try {
    console.log(`monitor fuzz: ${PER_CLASS} messages per class × ${FAULT_CLASSES.length} classes per venue`);
    for (const [venue, seed] of [
      ['kalshi', 7101],
      ['polymarket', 7102],
    ] as const) {
      const started = Date.now();
      const r = await fuzzMonitor({
        venue,
        redisUrl: redis.url,
        perClass: PER_CLASS,
        seed,
        workDir: dir,
        progress: (line) => console.log(`  … ${line}`),
      });
      results.push(r);
      console.log(report(r));
      console.log(`  ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const over = r.peakRssHwm >= POD_LIMIT_BYTES || r.classes.some((c) => c.peakRss >= POD_LIMIT_BYTES);
      if (r.violations.length > 0 || over || r.exitCode !== 0) failed = true;
    }
  } catch (error) {
    console.error(`monitor fuzz failed: ${(error as Error).message}`);
    failed = true;
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
