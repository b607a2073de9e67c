// Records a demo game day into a local Prometheus and calibrates a sample shard's breaker on it:
// the numbers behind docs/breaker-calibration.md. The demo's pipeline (test/support/pipeline.ts:
// both simulators, the four workloads, paper trading) runs the game-day scenario under the sample
// shard's name, so the sample's own queries read it; the control key stays closed, so the record
// shows each fault whole. The scenario's Kalshi outage, to the Kalshi quotes' recovery, is the
// labelled incident.
//
//   npx tsx test/support/record-breaker-history.ts [--duration 20m] [--dir DIR] [--shard-file samples/paper-shard.yaml]
//   npx tsx test/support/record-breaker-history.ts --dir DIR --calibrate-only   (again, on the kept record)
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { main } from '../../cli/main.js';
import { streamKeys, type ControlState } from '../../contracts/messages.js';
import { parseDuration } from '../../operator/breaker/duration.js';
import { gridOf, readRange } from '../../operator/breaker/history.js';
import { PrometheusClient } from '../../operator/breaker/prometheus.js';
import { loadScenarioFile } from '../../workloads/sim/scenario.js';
import { packageInfo } from '../../lib/package-root.js';
import { startPrometheus } from '../rig/prometheus.js';
import { startPipeline, untilReady } from './pipeline.js';

interface Recording {
  start: number;
  end: number;
  incidents: Array<{ start: number; end: number; what: string }>;
}

const say = (line: string) => process.stderr.write(`· ${line}\n`);
const iso = (ms: number) => new Date(ms).toISOString();

async function record(
  dir: string,
  durationMs: number,
  shard: string,
  prometheusUrl: string,
  setTargets: (targets: string[]) => void,
): Promise<Recording> {
  const scenario = loadScenarioFile(join(packageInfo().root, 'workloads', 'sim', 'scenarios', 'game-day.yaml'));
  const speed = scenario.duration / durationMs;
  const workDir = join(dir, 'work');
  mkdirSync(workDir, { recursive: true });
  chmodSync(workDir, 0o755); // PostgreSQL, run as its own user when we are root, must reach it
  const pipeline = await startPipeline({ shard, scenario, speed, workDir, logDir: join(dir, 'logs'), progress: say });
  const redis = new Redis(pipeline.redis.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const closed = () =>
    redis.set(
      streamKeys.control(shard),
      JSON.stringify({ state: 'closed', reason: 'recording', since: Date.now() } satisfies ControlState),
      'EX',
      5,
    );
  const refresh = setInterval(() => void closed().catch(() => undefined), 1_000);
  try {
    await closed();
    await untilReady(pipeline.workloads, 120_000);
    setTargets(pipeline.workloads.map((w) => new URL(w.metricsUrl).host));
    const clocks = await pipeline.startScenario();
    const wallOf = (offsetMs: number) => clocks.kalshi.wall + (offsetMs - clocks.kalshi.elapsed) / speed;
    say(`game day at ×${speed.toFixed(2)}: ${(durationMs / 60_000).toFixed(1)} minutes, scraped by ${prometheusUrl}`);
    const end = wallOf(scenario.duration);
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(60_000, end - Date.now())));
      say(`${((Date.now() - clocks.kalshi.wall) / 60_000).toFixed(1)} of ${(durationMs / 60_000).toFixed(1)} minutes`);
    }
    await new Promise((r) => setTimeout(r, 3_000)); // the last scrapes
    // Each outage of a venue, to the first second its quotes are fresh again.
    const client = new PrometheusClient({ url: prometheusUrl, timeoutMs: 30_000 });
    const incidents: Recording['incidents'] = [];
    for (const fault of scenario.faults.filter((f) => f.type === 'disconnect' && f.duration > 0)) {
      const from = wallOf(fault.at);
      const grid = gridOf(wallOf(fault.at + fault.duration), Date.now() - 2_000, 1_000);
      const [age] = await readRange(client, `max(arbees_quote_age_seconds{shard="${shard}",venue="${fault.venue}"})`, grid);
      const fresh = age ? age.values.findIndex((v) => v < 1) : -1;
      incidents.push({
        start: from,
        end: grid.start + Math.max(0, fresh) * 1_000 + 1_000,
        what: `${fault.venue} outage (${fault.duration / 1000} s in the scenario)`,
      });
    }
    client.close();
    // From the first minute of play (books settled) to the end.
    return { start: clocks.kalshi.wall + 60_000, end: Date.now() - 2_000, incidents };
  } finally {
    clearInterval(refresh);
    await redis
      .set(
        streamKeys.control(shard),
        JSON.stringify({ state: 'open', reason: 'recording over', since: Date.now() } satisfies ControlState),
        'EX',
        5,
      )
      .catch(() => undefined);
    redis.disconnect();
    await pipeline.stop();
  }
}

async function calibrateOn(dir: string, prometheusUrl: string, shardFile: string, rec: Recording): Promise<void> {
  const window = ['--start', iso(rec.start), '--end', iso(rec.end), '--step', '1s'];
  const incidents = rec.incidents.flatMap((i) => ['--incident', `${iso(i.start)}/${iso(i.end)}`]);
  for (const [name, extra] of [
    ['table', []],
    ['patch.yaml', ['--output', 'yaml']],
    ['no-incidents', []],
  ] as const) {
    const out: string[] = [];
    const code = await main(
      [
        'breaker',
        'calibrate',
        '--prometheus-url',
        prometheusUrl,
        '-f',
        shardFile,
        ...window,
        ...(name === 'no-incidents' ? [] : incidents),
        ...extra,
      ],
      {
        out: (t) => out.push(t),
        err: (t) => process.stderr.write(`${t}\n`),
        env: {},
      },
    );
    if (code !== 0) throw new Error(`calibration (${name}) exited ${code}`);
    writeFileSync(join(dir, `calibration-${name}${name.endsWith('.yaml') ? '' : '.txt'}`), `${out.join('\n')}\n`);
    if (name !== 'patch.yaml') process.stdout.write(`${out.join('\n')}\n\n`);
  }
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    dir: { type: 'string' },
    'shard-file': { type: 'string' },
    'calibrate-only': { type: 'boolean' },
  },
});
const dir = resolve(values.dir ?? mkdtempSync(join(tmpdir(), 'arbees-breaker-history-')));
mkdirSync(dir, { recursive: true });
const shardFile = resolve(values['shard-file'] ?? join(packageInfo().root, 'samples', 'paper-shard.yaml'));
const docs = parseAllDocuments(readFileSync(shardFile, 'utf8')).map(
  (d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null,
);
const shard = docs.find((d) => d?.kind === 'TradingShard')?.metadata?.name;
if (!shard) throw new Error(`${shardFile} holds no TradingShard`);
const recordFile = join(dir, 'record.json');
if (values['calibrate-only'] && !existsSync(recordFile)) throw new Error(`${recordFile} is missing: record first`);
const prometheus = await startPrometheus(join(dir, 'prometheus'));
say(`Prometheus ${prometheus.version} at ${prometheus.url}, data in ${join(dir, 'prometheus')}`);
try {
  let rec: Recording;
  if (values['calibrate-only']) rec = JSON.parse(readFileSync(recordFile, 'utf8')) as Recording;
  else {
    rec = await record(dir, parseDuration(values.duration ?? '20m'), shard, prometheus.url, (targets) =>
      prometheus.setTargets('demo', targets),
    );
    writeFileSync(recordFile, JSON.stringify(rec, null, 2));
  }
  say(
    `window ${iso(rec.start)} → ${iso(rec.end)}; incidents: ` +
      (rec.incidents.map((i) => `${i.what} ${iso(i.start)} → ${iso(i.end)}`).join('; ') || 'none'),
  );
  await calibrateOn(dir, prometheus.url, shardFile, rec);
  say(`written to ${dir}`);
} finally {
  await prometheus.stop();
}
