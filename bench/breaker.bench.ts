// Circuit breaker benchmark against the rig's real Prometheus, kube-apiserver and Redis. N
// TradingShards (50, then 200), each with the sample shard's five rules aimed at its own series,
// are evaluated tick after tick by the operator's BreakerController, the way the manager runs it
// (8 shards at a time). A /metrics endpoint that the rig's Prometheus scrapes serves every shard's
// series. For each N it reports, per shard evaluation (rules queried, state advanced, control key
// published) and per tick (every shard evaluated: all control keys published), and how long the
// Kubernetes writes the tick queued (status when it changed, an Event per transition) took to drain:
//   - the first tick (every shard's status written once),
//   - steady ticks (nothing changes: queries and control keys only),
//   - a tick where every shard trips at once (status, Event and control change for all).
// Then, for one shard evaluated every second (the operator's default interval), the time from its
// metric crossing the threshold to an executor's control gate refusing orders, split into scrape
// (until Prometheus has the value), evaluation (until the control key says open) and propagation
// (until the executor's gate has heard it). Target: ≤ one scrape interval (1 s here) + 1 s.
//   node --import tsx bench/breaker.bench.ts
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { TradingShard } from '../contracts/trading-shard.js';
import { redisControlPublisher, type ControlPublisher } from '../operator/breaker/control.js';
import { BreakerController } from '../operator/breaker/controller.js';
import type { Reading } from '../operator/breaker/machine.js';
import { PrometheusClient } from '../operator/breaker/prometheus.js';
import { EventRecorder } from '../operator/events.js';
import { KubeClient, resources, type KubeObject } from '../operator/kube/client.js';
import { ControlGate } from '../workloads/executor/control.js';
import { createLogger } from '../lib/log.js';
import type { ControlState } from '../contracts/messages.js';
import { rig, stopRig } from '../test/rig/index.js';
import { createNamespace, installCrd, sampleShard } from '../test/support/operator-harness.js';

const SIZES = [50, 200];
const STEADY_TICKS = 10;
/** As the manager: this many shards evaluated at once. */
const CONCURRENCY = 8;
const NAMESPACE = 'breaker-bench';
const JOB = 'breaker-bench';

type Shard = TradingShard & KubeObject;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const name = (i: number) => `brk-${String(i).padStart(3, '0')}`;

/** Counts queries and their latency on the way through. */
class CountingPrometheus extends PrometheusClient {
  queries = 0;
  errors = 0;
  latencies: number[] = [];

  override async query(promql: string): Promise<Reading> {
    const started = performance.now();
    const reading = await super.query(promql);
    this.latencies.push(performance.now() - started);
    this.queries += 1;
    if ('error' in reading) this.errors += 1;
    return reading;
  }
}

/** Every shard's series: loss, quote age per venue, VPN, orders and reconnects. */
async function serveMetrics(count: number) {
  const registry = new Registry();
  const registers = [registry];
  const loss = new Gauge({ name: 'arbees_daily_loss_usd', help: 'loss', labelNames: ['shard'], registers });
  const age = new Gauge({ name: 'arbees_quote_age_seconds', help: 'age', labelNames: ['shard', 'venue'], registers });
  const vpn = new Gauge({ name: 'arbees_vpn_up', help: 'vpn', labelNames: ['shard'], registers });
  const orders = new Counter({ name: 'arbees_orders_total', help: 'orders', labelNames: ['shard', 'venue', 'status'], registers });
  const reconnects = new Counter({ name: 'arbees_ws_reconnects_total', help: 'reconnects', labelNames: ['shard', 'venue'], registers });
  for (let i = 0; i < count; i += 1) {
    const shard = name(i);
    loss.set({ shard }, 50);
    vpn.set({ shard }, 1);
    for (const venue of ['kalshi', 'polymarket']) {
      age.set({ shard, venue }, 0.4);
      orders.inc({ shard, venue, status: 'filled' }, 10);
      orders.inc({ shard, venue, status: 'rejected' }, 0);
      reconnects.inc({ shard, venue }, 0);
    }
  }
  const server = createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    setLoss: (shard: string, usd: number) => loss.set({ shard }, usd),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The sample shard, renamed, its rules aimed at its own series and with for: 0s on daily-loss. */
function benchShard(shardName: string): Shard {
  const base = sampleShard(shardName, NAMESPACE);
  const rules = base.spec.circuitBreaker.rules.map((rule) => ({
    ...rule,
    query: rule.query.replaceAll('shard="nba-paper"', `shard="${shardName}"`),
  }));
  return { ...base, spec: { ...base.spec, circuitBreaker: { ...base.spec.circuitBreaker, rules } } };
}

interface TickFigures {
  evaluations: number[];
  tickMs: number;
  /** From the start of the tick until its queued Kubernetes writes are done. */
  drainedMs: number;
  queries: number;
  queryMs: number[];
  writes: number;
  errors: number;
}

function report(label: string, ticks: TickFigures[]): void {
  const evaluations = ticks.flatMap((t) => t.evaluations).sort((a, b) => a - b);
  const queryMs = ticks.flatMap((t) => t.queryMs).sort((a, b) => a - b);
  const tickMs = ticks.map((t) => t.tickMs).sort((a, b) => a - b);
  const drainedMs = Math.max(...ticks.map((t) => t.drainedMs));
  const queries = ticks.reduce((sum, t) => sum + t.queries, 0);
  const seconds = ticks.reduce((sum, t) => sum + t.tickMs, 0) / 1000;
  const writes = ticks.reduce((sum, t) => sum + t.writes, 0);
  const errors = ticks.reduce((sum, t) => sum + t.errors, 0);
  console.log(
    `  ${label.padEnd(26)} evaluation/shard p50 ${percentile(evaluations, 50).toFixed(1).padStart(6)} ` +
      `ms  p99 ${percentile(evaluations, 99).toFixed(1).padStart(6)} ms | ` +
      `tick p50 ${percentile(tickMs, 50).toFixed(0).padStart(5)} ms  max ` +
      `${tickMs.at(-1)!.toFixed(0).padStart(5)} ms, writes drained ≤ ${drainedMs.toFixed(0).padStart(5)} ms | ` +
      `query p50 ${percentile(queryMs, 50).toFixed(1)} ms p99 ` +
      `${percentile(queryMs, 99).toFixed(1)} ms, ${(queries / seconds).toFixed(0)} queries/s | ` +
      `kube writes/tick ${(writes / ticks.length).toFixed(0)}${errors > 0 ? ` | QUERY ERRORS ${errors}` : ''}`,
  );
}

async function main(): Promise<void> {
  const [kube, redis, prometheus] = await Promise.all([rig.kube(), rig.redis(), rig.prometheus()]);
  await installCrd();
  await createNamespace(NAMESPACE);
  const total = Math.max(...SIZES);
  const metrics = await serveMetrics(total);
  prometheus.setTargets(JOB, [`127.0.0.1:${metrics.port}`]);
  process.stdout.write(`Prometheus ${prometheus.version}: waiting for the first scrape of ${total} shards' series… `);
  for (;;) {
    const found = await prometheus.query(`count(arbees_daily_loss_usd{source_job="${JOB}"})`).catch(() => []);
    if (Number(found[0]?.value[1] ?? 0) === total) break;
    await sleep(200);
  }
  console.log('done');

  let writes = 0;
  const client = new KubeClient(kube.kubeConfig, (verb, resource) => {
    if (verb !== 'GET' && resource !== 'leases') writes += 1;
  });
  const log = createLogger({ name: 'breaker-bench', level: 'silent' });
  const prom = new CountingPrometheus({ url: prometheus.url, timeoutMs: 5_000 });
  const control = redisControlPublisher(redis.url, 60);
  const controller = new BreakerController({
    client,
    prometheus: prom,
    control,
    events: new EventRecorder(client, 'breaker-bench', log),
    log,
    registry: new Registry(),
  });

  /** One tick over the shards as an informer would hold them (listed fresh, outside the timing). */
  const tick = async (count: number): Promise<TickFigures> => {
    const { items } = await client.list<Shard>(resources.tradingShards, { namespace: NAMESPACE });
    const shards = items.filter((s) => Number(s.metadata.name.slice(4)) < count);
    const [queries0, errors0, writes0, latencies0] = [prom.queries, prom.errors, writes, prom.latencies.length];
    const evaluations: number[] = [];
    const started = performance.now();
    for (let i = 0; i < shards.length; i += CONCURRENCY) {
      await Promise.all(
        shards.slice(i, i + CONCURRENCY).map(async (shard) => {
          const t0 = performance.now();
          await controller.evaluate(shard);
          evaluations.push(performance.now() - t0);
        }),
      );
    }
    const tickMs = performance.now() - started;
    await controller.idle();
    return {
      evaluations,
      tickMs,
      drainedMs: performance.now() - started,
      queries: prom.queries - queries0,
      queryMs: prom.latencies.slice(latencies0),
      writes: writes - writes0,
      errors: prom.errors - errors0,
    };
  };

  console.log(
    `${benchShard(name(0)).spec.circuitBreaker.rules.length} rules per shard, ${CONCURRENCY} shards evaluated at once, ${prometheus.url}`,
  );
  let applied = 0;
  for (const count of SIZES) {
    for (; applied < count; applied += 1) await client.apply(benchShard(name(applied)), 'arbees-bench');
    await sleep(1_000);
    console.log(`${count} shards:`);
    report('first tick (status writes)', [await tick(count)]);
    const steady: TickFigures[] = [];
    for (let i = 0; i < STEADY_TICKS; i += 1) steady.push(await tick(count));
    report(`steady (${STEADY_TICKS} ticks)`, steady);
    // Every shard's loss over its threshold: wait for the scrape, then one tick trips them all.
    for (let i = 0; i < count; i += 1) metrics.setLoss(name(i), 350);
    while (Number((await prometheus.query(`count(arbees_daily_loss_usd{source_job="${JOB}"} >= 300)`))[0]?.value[1] ?? 0) < count)
      await sleep(200);
    const trip = await tick(count);
    report('every shard trips', [trip]);
    // Reset them for the next size (annotation-free: straight back to Closed through the API).
    for (let i = 0; i < count; i += 1) metrics.setLoss(name(i), 50);
    while (Number((await prometheus.query(`count(arbees_daily_loss_usd{source_job="${JOB}"} >= 300)`))[0]?.value[1] ?? 0) > 0)
      await sleep(200);
    for (let i = 0; i < count; i += 1)
      await client.mergePatch(resources.tradingShards, NAMESPACE, name(i), {
        metadata: { annotations: { 'arbees.io/reset-breaker': 'bench' } },
      });
    await tick(count); // consumes the resets
  }

  await crossingToRefusal({ client, prom, redisUrl: redis.url, prometheus, metrics, log });

  prom.close();
  control.close();
  await metrics.close();
}

/** Metric over the threshold → executor refusing, ROUNDS times, with the operator's 1 s evaluation loop. */
async function crossingToRefusal(deps: {
  client: KubeClient;
  prom: PrometheusClient;
  redisUrl: string;
  prometheus: { query(promql: string): Promise<Array<{ value: [number, string] }>> };
  metrics: { setLoss(shard: string, usd: number): void };
  log: ReturnType<typeof createLogger>;
}): Promise<void> {
  const ROUNDS = 12;
  const INTERVAL_MS = 1_000;
  const shard = name(0);
  const opened: number[] = [];
  const inner = redisControlPublisher(deps.redisUrl, 60);
  // The operator's publisher, noting when an open state went out.
  const control: ControlPublisher = {
    async publish(key, state: ControlState, changed) {
      if (state.state === 'open' && changed) opened.push(performance.now()); // the key and message go out now
      await inner.publish(key, state, changed);
    },
    close: () => inner.close(),
  };
  const controller = new BreakerController({
    client: deps.client,
    prometheus: deps.prom,
    control,
    events: new EventRecorder(deps.client, 'breaker-bench', deps.log),
    log: deps.log,
    registry: new Registry(),
  });
  const gate = new ControlGate(deps.redisUrl, shard);
  await gate.start();
  let heardAt: number | undefined;
  gate.onChange((state) => {
    if (state?.state === 'open' && heardAt === undefined) heardAt = performance.now();
  });
  const evaluateNow = async () => controller.evaluate(await deps.client.get<Shard>(resources.tradingShards, NAMESPACE, shard));
  const lossInPrometheus = async () =>
    Number((await deps.prometheus.query(`max(arbees_daily_loss_usd{source_job="${JOB}",shard="${shard}"})`))[0]?.value[1] ?? 0);
  const parts = { scrape: [] as number[], evaluation: [] as number[], propagation: [] as number[], total: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    // Back to Closed with the value under the threshold.
    deps.metrics.setLoss(shard, 50);
    while ((await lossInPrometheus()) >= 300) await sleep(100);
    await deps.client.mergePatch(resources.tradingShards, NAMESPACE, shard, {
      metadata: { annotations: { 'arbees.io/reset-breaker': `bench-${round}` } },
    });
    await evaluateNow();
    await controller.idle();
    heardAt = undefined;
    opened.length = 0;
    // The evaluation loop runs on its own clock, as in the manager; the crossing lands anywhere in it.
    let running = true;
    const loop = (async () => {
      while (running) {
        const next = performance.now() + INTERVAL_MS;
        await evaluateNow();
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    await sleep(Math.random() * INTERVAL_MS);
    const crossed = performance.now();
    deps.metrics.setLoss(shard, 350);
    let scraped: number | undefined;
    while (scraped === undefined) {
      if ((await lossInPrometheus()) >= 300) scraped = performance.now();
      else await sleep(20);
    }
    while (heardAt === undefined) await sleep(5);
    // The executor's pre-order check now refuses: its gate reads the key and what it heard.
    const state = await gate.current();
    const refused = performance.now();
    if (state?.state !== 'open') throw new Error(`expected the gate to refuse, read ${JSON.stringify(state)}`);
    running = false;
    await loop;
    await controller.idle();
    const published = opened[0] ?? heardAt;
    parts.scrape.push(scraped - crossed);
    parts.evaluation.push(Math.max(0, published - scraped));
    parts.propagation.push(heardAt - published);
    parts.total.push(refused - crossed);
  }
  const line = (label: string, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `${label} p50 ${percentile(sorted, 50).toFixed(0)} ms p99 ${percentile(sorted, 99).toFixed(0)} ms`;
  };
  console.log(`metric crossing → executor refusing (${ROUNDS} rounds, scrape every 1 s, evaluation every ${INTERVAL_MS} ms):`);
  console.log(
    `  ${line('total', parts.total)} (target ≤ 2000 ms: ${
      percentile(
        [...parts.total].sort((a, b) => a - b),
        99,
      ) <= 2_000
        ? 'MET'
        : 'MISSED'
    })`,
  );
  console.log(`  ${line('scrape', parts.scrape)} | ${line('evaluation', parts.evaluation)} | ${line('propagation', parts.propagation)}`);
  gate.stop();
  control.close();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopRig());
