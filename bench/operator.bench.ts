// Operator benchmark against the rig's real kube-apiserver: the operator runs as its own process
// (`arbees operator`, as in a pod), and this script
//   1. applies 50 TradingShards one after another and times apply → its four Deployments exist,
//   2. lets it idle through resyncs and counts its writes (a steady state must make none),
//   3. applies 150 more at once (a burst) and reads the operator's resident memory with 200:
//      RSS is sampled every 200 ms from start to end; the figure held to the target is the
//      highest sample over the 15 s after every shard is reconciled (a full 10 s resync, i.e.
//      a relist of every object, falls in that window), and the peak of the whole run is shown.
//   node --import tsx bench/operator.bench.ts   (after `make build`, it runs dist/ as the image does)
// Targets: p99 apply→Deployments ≤ 0.5 s with 50 shards; RSS < 200 MB with 200 shards.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TradingShard } from '../contracts/trading-shard.js';
import { resources, type KubeObject } from '../operator/kube/client.js';
import { packageInfo } from '../lib/package-root.js';
import { rig, stopRig } from '../test/rig/index.js';
import { adminClient, createNamespace, installCrd, sampleShard } from '../test/support/operator-harness.js';

const FIRST_BATCH = 50;
const TOTAL = 200;
const STEADY_SECONDS = 20;
/** Covers at least one full resync (ARBEES_OPERATOR_RESYNC_SECONDS below). */
const RSS_WINDOW_SECONDS = 15;
const TARGET_P99_MS = 500;
const TARGET_RSS_MB = 200;
const NAMESPACE = 'bench';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(port: number, name: string, filter: (labels: string) => boolean = () => true): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && filter(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const writeVerb = (line: string) => /verb="(POST|PUT|PATCH|DELETE)"/.test(line) && !/resource="(leases|events)"/.test(line);

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** Samples a process's RSS every 200 ms: the peak since start, and the peak since the last mark(). */
function rssSampler(pid: number) {
  let peak = 0;
  let windowPeak = 0;
  const sample = () => {
    if (!existsSync(`/proc/${pid}/status`)) return; // exited
    const rss = rssMb(pid);
    peak = Math.max(peak, rss);
    windowPeak = Math.max(windowPeak, rss);
  };
  const timer = setInterval(sample, 200).unref();
  return {
    mark: () => {
      windowPeak = 0;
      sample();
    },
    get peak() {
      sample();
      return peak;
    },
    get sinceMark() {
      sample();
      return windowPeak;
    },
    stop: () => clearInterval(timer),
  };
}

async function main(): Promise<void> {
  const [kube, redis, prometheus] = await Promise.all([rig.kube(), rig.redis(), rig.prometheus()]);
  await installCrd();
  await createNamespace(NAMESPACE);
  const client = await adminClient();
  const port = await freePort();

  const root = packageInfo().root;
  const built = join(root, 'dist', 'cli', 'arbees.js');
  const command = existsSync(built) ? [built] : ['--import', 'tsx', join(root, 'cli', 'arbees.ts')];
  const operator = spawn(process.execPath, [...command, 'operator', '--kubeconfig', kube.kubeconfigPath], {
    env: {
      ...process.env,
      POD_NAME: 'bench-operator',
      POD_NAMESPACE: 'default',
      ARBEES_HTTP_PORT: String(port),
      ARBEES_LOG_LEVEL: 'warn',
      ARBEES_REDIS_URL: redis.url,
      ARBEES_PROMETHEUS_URL: prometheus.url,
      ARBEES_WORKLOAD_IMAGE: 'ghcr.io/arbees/arbees:bench',
      ARBEES_POD_CIDR: '10.244.0.0/16',
      ARBEES_SERVICE_CIDR: '10.96.0.0/16',
      ARBEES_OPERATOR_RESYNC_SECONDS: '10',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => operator.once('exit', resolve));
  try {
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (operator.exitCode !== null) throw new Error(`operator exited with ${operator.exitCode}`);
      await sleep(100);
    }
    const rss = rssSampler(operator.pid!);
    console.log(`operator pid ${operator.pid} (${command[0] === built ? 'dist' : 'tsx'}), idle RSS ${rssMb(operator.pid!).toFixed(0)} MB`);

    // Deployments as they appear, via a watch started before the first apply.
    const appeared = new Map<string, number[]>();
    const watchAbort = new AbortController();
    const { resourceVersion } = await client.list(resources.deployments, { namespace: NAMESPACE });
    void client
      .watch<KubeObject>(
        resources.deployments,
        { namespace: NAMESPACE, resourceVersion, timeoutSeconds: 600, signal: watchAbort.signal },
        (event) => {
          if (event.type !== 'ADDED') return;
          const shard = event.object.metadata.labels?.['arbees.io/shard'];
          if (shard) appeared.set(shard, [...(appeared.get(shard) ?? []), performance.now()]);
        },
      )
      .catch(() => undefined);

    const template = sampleShard('x', NAMESPACE);
    const shardNamed = (name: string): TradingShard & KubeObject => ({ ...template, metadata: { name, namespace: NAMESPACE } });
    const applied = new Map<string, number>();
    const applyAll = (names: string[]) =>
      Promise.all(
        names.map(async (name) => {
          applied.set(name, performance.now());
          await client.apply(shardNamed(name), 'arbees-bench');
        }),
      );
    const complete = (names: string[]) => names.every((n) => (appeared.get(n)?.length ?? 0) >= 4);

    const first = Array.from({ length: FIRST_BATCH }, (_, i) => `shard-${String(i).padStart(3, '0')}`);
    // One shard at a time, as a user applies them: the latency of one apply, not of a burst.
    const started = performance.now();
    for (const name of first) {
      await applyAll([name]);
      while (!complete([name])) await sleep(5);
    }
    const latencies = first.map((n) => Math.max(...appeared.get(n)!.slice(0, 4)) - applied.get(n)!).sort((a, b) => a - b);
    console.log(
      `apply → 4 Deployments, ${FIRST_BATCH} shards applied one after another: p50 ` +
        `${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, ` +
        `max ${latencies.at(-1)!.toFixed(0)} ms; all done in ` +
        `${((performance.now() - started) / 1000).toFixed(2)} s (target p99 ≤ ${TARGET_P99_MS} ms)`,
    );

    // Steady state: wait until the status and breaker writes settle, then count writes over resyncs.
    await sleep(5_000);
    const writesBefore = await metric(port, 'arbees_operator_kube_requests_total', writeVerb);
    const reconcilesBefore = await metric(port, 'arbees_operator_reconcile_duration_seconds_count');
    const secondsBefore = await metric(port, 'arbees_operator_reconcile_duration_seconds_sum');
    await sleep(STEADY_SECONDS * 1000);
    const reconciles = (await metric(port, 'arbees_operator_reconcile_duration_seconds_count')) - reconcilesBefore;
    const seconds = (await metric(port, 'arbees_operator_reconcile_duration_seconds_sum')) - secondsBefore;
    const writes = (await metric(port, 'arbees_operator_kube_requests_total', writeVerb)) - writesBefore;
    console.log(
      `steady state, ${FIRST_BATCH} shards over ${STEADY_SECONDS} s of 10 s resyncs: ${reconciles} reconciles, mean ` +
        `${reconciles ? ((seconds / reconciles) * 1000).toFixed(2) : '-'} ms each, ` +
        `${writes} Kubernetes writes (target 0)`,
    );

    const rest = Array.from({ length: TOTAL - FIRST_BATCH }, (_, i) => `shard-${String(FIRST_BATCH + i).padStart(3, '0')}`);
    const growStarted = performance.now();
    await applyAll(rest);
    while (!complete(rest)) await sleep(50);
    console.log(
      `burst: ${TOTAL - FIRST_BATCH} more shards applied at once, all reconciled; ${TOTAL} shards (${TOTAL * 14} ` +
        `child objects) in ${((performance.now() - growStarted) / 1000).toFixed(1)} s`,
    );
    rss.mark();
    await sleep(RSS_WINDOW_SECONDS * 1000);
    const steady = rss.sinceMark;
    console.log(
      `operator RSS with ${TOTAL} shards: ${steady.toFixed(0)} MB, the highest over ` +
        `the ${RSS_WINDOW_SECONDS} s after all were reconciled ` +
        `(peak of the whole run, burst included: ${rss.peak.toFixed(0)} MB) — target < ` +
        `${TARGET_RSS_MB} MB: ${steady < TARGET_RSS_MB ? 'MET' : 'MISSED'}`,
    );
    rss.stop();
    watchAbort.abort();
  } finally {
    operator.kill('SIGTERM');
    await exited;
    await stopRig();
  }
}

await main();
