// `arbees breaker calibrate` on a recorded run. The shard's four workloads run as `arbees`
// processes against both venue simulators (the executor live on Kalshi, orders flowing), the rig's
// Prometheus scrapes them every second, and the operator, in-process against the rig's apiserver
// and Redis, runs the shard's breaker every second — halting the executor when it opens. Faults
// are injected one after another: a burst of Kalshi order rejections (its rate limiter refusing
// every request), a Kalshi outage, a VPN cut (the Polymarket side's only path, a TCP relay like
// the tunnel, dropped) and a stalled Polymarket feed. Their windows, to recovery, are the incidents.
// Then: the replay of the breaker's recorded settings makes the operator's own transitions; the
// proposed settings trip in every incident and never outside them; the CLI reads the live shard
// and its merge patch is one `kubectl patch --type merge` takes. Range reads are checked against
// Prometheus's 11,000-point limit and the response-size bound.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { main } from '../../cli/main.js';
import { demoShardConfig } from '../../cli/demo/shard.js';
import { components, untilReady, type Workload } from '../../cli/demo/stack.js';
import { freePort, startProcess } from '../../cli/local/process.js';
import { streamKeys, type Signal } from '../../contracts/messages.js';
import { credentialEnv, shardConfigPathEnv, type ShardConfig } from '../../contracts/shard-config.js';
import type { BreakerRule, TradingShard } from '../../contracts/trading-shard.js';
import { calibrate, type Calibration, type Incident } from '../../operator/breaker/calibrate.js';
import { gridOf, readRange, type Grid, type Series } from '../../operator/breaker/history.js';
import type { BreakerConfig } from '../../operator/breaker/machine.js';
import { PrometheusClient } from '../../operator/breaker/prometheus.js';
import type { Transition } from '../../operator/breaker/replay.js';
import { resources, type KubeObject } from '../../operator/kube/client.js';
import { LIVE_AUTHORIZED_ENV } from '../../workloads/executor/live-venues.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { loadDemoScenario, parseScenario } from '../../workloads/sim/scenario.js';
import { rig } from '../rig/index.js';
import {
  adminClient,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  sampleShard,
  startTestOperator,
  type RunningOperator,
} from '../support/operator-harness.js';
import { signalKeyVars, xaddSignal } from '../support/signals.js';

const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'cli', 'arbees.ts');
const SHARD = 'calib';
const NAMESPACE = 'breaker-calibrate';
const SCRAPE_JOB = 'breaker-calibrate';
// The scenario's faults come at fixed seconds of its clock (speed 1: wall seconds): the run follows it.
const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

// Scenario seconds = wall seconds (speed 1). Faults the simulators play, and the VPN cut we make.
// Each fault starts a few seconds away from the breaker's transitions of the fault before (the
// Kalshi outage's HalfOpen closes at ~50 s): a fault landing on a transition is decided by where the
// operator's evaluations fall against the replay's grid, within a second. The stall lasts 10 s: its
// books age past 3 s only 3 s before it ends, and a 6 s stall left the stale-quotes rule's 2 s `for`
// too little room for a scrape and an evaluation of delay on a loaded machine (no trip).
const REJECTIONS = { at: 10, for: 8 };
const KALSHI_OUTAGE = { at: 30, for: 6 };
const VPN_CUT = { at: 54, for: 6 };
const STALL = { at: 76, for: 10 };
const RUN_END = 102;

// Two of the demo's games, no arbitrage, and our faults.
const demoGames = loadDemoScenario().games.slice(0, 2);
const scenario = parseScenario({
  name: 'breaker-calibrate',
  seed: 21,
  duration: '10m',
  messageRate: 20,
  tradeProbability: 0,
  defaults: { depth: 5, levelSize: 5_000, volatility: 0.004 },
  games: demoGames.map((game) => ({ ...game, startsAt: 0 })),
  faults: [
    { venue: 'kalshi', type: 'rateLimit', at: `${REJECTIONS.at}s`, duration: `${REJECTIONS.for}s` },
    { venue: 'kalshi', type: 'disconnect', at: `${KALSHI_OUTAGE.at}s`, duration: `${KALSHI_OUTAGE.for}s` },
    { venue: 'polymarket', type: 'staleBook', at: `${STALL.at}s`, duration: `${STALL.for}s` },
  ],
});

/** The breaker the shard runs during the recording: hand-set, as the samples' are today. */
const q = (text: string) => text.replaceAll('SHARD', SHARD);
const recordedRules: BreakerRule[] = [
  { name: 'stale-quotes', query: q('max by (venue) (arbees_quote_age_seconds{shard="SHARD"})'), op: '>', threshold: 3, for: '2s' },
  { name: 'vpn-down', query: q('min(arbees_vpn_up{shard="SHARD"})'), op: '<', threshold: 1, for: '1s' },
  {
    name: 'order-rejections',
    query: q('sum by (venue) (rate(arbees_orders_total{shard="SHARD",status="rejected"}[5s]))'),
    op: '>',
    threshold: 0.3,
    for: '3s',
  },
  {
    name: 'ws-reconnect-storm',
    query: q('sum by (venue) (increase(arbees_ws_reconnects_total{shard="SHARD"}[1m]))'),
    op: '>',
    threshold: 20,
    for: '5s',
  },
  { name: 'daily-loss', query: q('max(arbees_daily_loss_usd{shard="SHARD"})'), op: '>=', threshold: 50, for: '0s' },
  // Kalshi-only live trading sends no Polymarket order: this rule has nothing to read.
  {
    name: 'polymarket-rejections',
    query: q('sum(rate(arbees_orders_total{shard="SHARD",venue="polymarket",status="rejected"}[5s]))'),
    op: '>',
    threshold: 0.1,
    for: '0s',
  },
];
const recordedBreaker: BreakerConfig = { rules: recordedRules, cooldown: '5s', halfOpenAfter: '3s', onPrometheusUnavailable: 'hold' };

// ---------------------------------------------------------------------------------------------

/** The Polymarket side's only path out, as the VPN tunnel is: cut() drops it and refuses new connections until restore(). */
async function tunnel(targetPort: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  let up = true;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!up) return void client.destroy();
    const pair = [client, connect(targetPort, '127.0.0.1')] as const;
    pair.forEach((end) => {
      open.add(end);
      end.on('error', () => undefined);
      end.once('close', () => (open.delete(end), pair.forEach((other) => other.destroy())));
    });
    pair[0].pipe(pair[1]).pipe(pair[0]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => open.forEach((s) => s.destroy());
  return {
    port: (server.address() as { port: number }).port,
    cut: () => ((up = false), dropAll()),
    restore: () => (up = true),
    close: () => (dropAll(), new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

const viaPort = (url: string, port: number) =>
  Object.assign(new URL(url), { port: String(port) })
    .toString()
    .replace(/\/$/, '');

/** The shard's four processes as their pods run them, with per-component flags and secrets. */
function startShardProcesses(o: {
  config: ShardConfig;
  dir: string;
  redisUrl: string;
  postgresUrl: string;
  kalshiEnv: NodeJS.ProcessEnv;
  ports: number[];
}): Workload[] {
  const shardFile = join(o.dir, 'shard.json');
  writeFileSync(shardFile, JSON.stringify(o.config));
  const flags: Record<string, string[]> = { 'polymarket-monitor': ['--vpn-probe-interval-ms', '1000'] };
  const secrets: Record<string, NodeJS.ProcessEnv> = {
    'kalshi-monitor': o.kalshiEnv,
    detector: signalKeyVars,
    executor: { ...o.kalshiEnv, ...signalKeyVars, [LIVE_AUTHORIZED_ENV]: 'true' },
  };
  return components.map((component, i) => {
    const port = o.ports[i]!;
    const env = {
      ...process.env,
      ARBEES_SHARD: SHARD,
      ARBEES_REDIS_URL: o.redisUrl,
      ARBEES_POSTGRES_URL: o.postgresUrl,
      ARBEES_HTTP_PORT: String(port),
      [shardConfigPathEnv]: shardFile,
      ...secrets[component],
    };
    const proc = startProcess(component, process.execPath, ['--import', 'tsx', CLI, component, ...(flags[component] ?? [])], {
      logFile: join(o.dir, `${component}.log`),
      env,
      cwd: REPO,
    });
    return { component, process: proc, metricsUrl: `http://127.0.0.1:${port}/metrics`, readyUrl: `http://127.0.0.1:${port}/readyz` };
  });
}

/** One-contract Kalshi buys, alternating markets, every 500 ms: the order flow a fault can refuse. */
function orderFlow(redis: Redis, config: ShardConfig): () => void {
  let n = 0;
  const timer = setInterval(() => {
    const market = config.markets[n % config.markets.length]!;
    const signal: Signal = {
      id: `calib-${process.pid}-${++n}`,
      kind: 'edge',
      marketId: market.id,
      legs: [{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: 100 }],
      edgeBps: 500,
      expectedProfit: 1,
      quoteAgesMs: [5],
      createdTs: Date.now(),
    };
    xaddSignal(redis, SHARD, signal).catch(() => undefined);
  }, 500);
  return () => clearInterval(timer);
}

/** The operator's transitions for our shard, from its log. */
function operatorTransitions(op: RunningOperator): Transition[] {
  return op.logs
    .map(
      (line) =>
        JSON.parse(line) as { msg: string; time: string; shard?: string; from: Transition['from']; to: Transition['to']; reason: string },
    )
    .filter((entry) => entry.msg === 'circuit breaker changed state' && entry.shard === `${NAMESPACE}/${SHARD}`)
    .map((entry) => ({ at: Date.parse(entry.time), from: entry.from, to: entry.to, reason: entry.reason }));
}

const rel = (t0: number) => (t: Transition) =>
  `${((t.at - t0) / 1000).toFixed(1)}s ${t.from}→${t.to}${t.to === 'Open' ? ` (${t.reason.split(':')[0]})` : ''}`;

// ---------------------------------------------------------------------------------------------

describe('arbees breaker calibrate on a recorded run with faults (real simulators, workloads, Prometheus, operator)', function () {
  this.timeout(300_000);
  const cleanups: Array<() => unknown> = [];
  let dir: string;
  let prometheusUrl: string;
  let op: RunningOperator;
  let t0: number;
  let grid: Grid;
  let series: Record<string, Series[]>;
  let incidents: Incident[];
  let result: Calibration;

  before(async function () {
    this.timeout(420_000);
    dir = mkdtempSync(join(tmpdir(), 'arbees-calibrate-'));
    const [prometheus, redisService, postgres] = await Promise.all([rig.prometheus(), rig.redis(), rig.postgres(), installCrd()]);
    prometheusUrl = prometheus.url;
    await createNamespace(NAMESPACE);
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = `calib-${randomBytes(4).toString('hex')}`;
    const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sims = { speed: 1, scenario, host: '127.0.0.1', port: 0, autoStart: false } as const;
    const kalshi: KalshiSimHandle = await startKalshiSim({
      ...sims,
      apiKeys: [{ id: keyId, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      rateLimits: { readRate: 10_000, readCapacity: 10_000, writeRate: 10_000, writeCapacity: 10_000 },
      balanceCents: 100_000_000,
    });
    cleanups.push(() => kalshi.stop());
    const polymarket: PolymarketSimHandle = await startPolymarketSim({
      ...sims,
      creds: [],
      geoblock: { allowedCidrs: ['127.0.0.0/8'], scope: 'all' },
    });
    cleanups.push(() => polymarket.stop());
    // Their clocks run from creation: held still until the run starts, as the demo does.
    kalshi.pause();
    polymarket.pause();
    const vpn = await tunnel(polymarket.port);
    cleanups.push(() => vpn.close());

    const demo = demoShardConfig(SHARD, scenario, {
      kalshiRestUrl: kalshi.url,
      kalshiWsUrl: kalshi.wsUrl,
      polymarketClobUrl: viaPort(polymarket.url, vpn.port),
      polymarketWsUrl: viaPort(polymarket.wsUrl, vpn.port),
      polymarketGammaUrl: viaPort(polymarket.gammaUrl, vpn.port),
    });
    const config: ShardConfig = {
      ...demo,
      executor: {
        mode: 'live',
        bankrollUsd: 100_000,
        limits: { perGameUsd: 10_000, perSportUsd: 10_000, dailyLossUsd: 10_000, maxOpenPositions: 10, maxOrderUsd: 5 },
      },
    };
    const ports = await Promise.all(components.map(() => freePort()));
    const workloads = startShardProcesses({
      config,
      dir,
      redisUrl: redisService.url,
      postgresUrl: await postgres.createDatabase(`calib_${process.pid}`),
      kalshiEnv: { [credentialEnv.kalshi.keyId]: keyId, [credentialEnv.kalshi.privateKey]: privatePem },
      ports,
    });
    cleanups.push(() => Promise.all(workloads.map((w) => w.process.stop('SIGTERM', 15_000))));
    prometheus.setTargets(
      SCRAPE_JOB,
      ports.map((p) => `127.0.0.1:${p}`),
    );
    cleanups.push(() => prometheus.setTargets(SCRAPE_JOB, []));
    await untilReady(workloads);

    op = await startTestOperator({
      identity: 'breaker-calibrate',
      namespace: NAMESPACE,
      config: { breakerIntervalMs: 1_000, leaseName: 'arbees-breaker-calibrate' },
    });
    cleanups.push(() => op.stop());
    await eventually(() => (op.operator.isLeader ? true : undefined), 60_000, 'the operator to lead');

    // The scenario's clock, then the breaker (on fresh books), then orders.
    kalshi.resume();
    polymarket.resume();
    t0 = Date.now();
    // Wall time of a scenario second on each simulator's clock (speed 1; each ran a little before its pause).
    const on = (sim: { clock: { elapsed(): number } }) => {
      const offset = t0 - sim.clock.elapsed();
      return (seconds: number) => offset + seconds * 1000;
    };
    const at = on(kalshi);
    const atPolymarket = on(polymarket);
    const redis = new Redis(redisService.url);
    cleanups.push(() => redis.disconnect());
    const base = sampleShard(SHARD, NAMESPACE);
    await (await adminClient()).apply({ ...base, spec: { ...base.spec, circuitBreaker: recordedBreaker } }, 'arbees-tests');
    cleanups.push(() => kubectl('delete', 'tradingshard', SHARD, '-n', NAMESPACE, '--wait=true', '--timeout=60s').catch(() => undefined));
    await eventually(
      async () => ((await redis.get(streamKeys.control(SHARD))) ? true : undefined),
      60_000,
      'the operator to evaluate the shard',
    );
    const recordFrom = Date.now();
    expect(recordFrom, 'the breaker runs before the first fault').to.be.below(at(REJECTIONS.at - 3));
    cleanups.push(orderFlow(redis, config));

    // Each incident: from the fault until the system is healthy again, as Prometheus shows it.
    const healthy = async (what: string, promql: string): Promise<number> =>
      eventually(async () => ((await prometheus.query(promql)).length > 0 ? Date.now() : undefined), 60_000, `${what} to recover`);
    const age = (venue: string) => q(`max(arbees_quote_age_seconds{shard="SHARD",venue="${venue}"}) < 1`);
    incidents = [];
    await sleepUntil(at(REJECTIONS.at + REJECTIONS.for));
    const noRejections = q('sum(rate(arbees_orders_total{shard="SHARD",status="rejected"}[5s])) == 0');
    incidents.push({
      start: at(REJECTIONS.at),
      end: (await healthy('Kalshi orders', noRejections)) + 1_000,
      label: 'Kalshi rejects every order (rate limited)',
    });
    await sleepUntil(at(KALSHI_OUTAGE.at + KALSHI_OUTAGE.for));
    incidents.push({ start: at(KALSHI_OUTAGE.at), end: (await healthy('Kalshi quotes', age('kalshi'))) + 1_000, label: 'Kalshi outage' });
    await sleepUntil(t0 + VPN_CUT.at * 1000);
    vpn.cut();
    const cutAt = Date.now();
    await sleepUntil(cutAt + VPN_CUT.for * 1000);
    vpn.restore();
    incidents.push({
      start: cutAt,
      end: (await healthy('the VPN', `${age('polymarket')} and on() (min(arbees_vpn_up{shard="${SHARD}"}) == 1)`)) + 1_000,
      label: 'VPN cut',
    });
    await sleepUntil(atPolymarket(STALL.at + STALL.for));
    incidents.push({
      start: atPolymarket(STALL.at),
      end: (await healthy('Polymarket quotes', age('polymarket'))) + 1_000,
      label: 'Polymarket feed stalled',
    });
    await sleepUntil(t0 + RUN_END * 1000);
    // Read up to a second after the run, once Prometheus has scraped every target past it.
    const recordTo = Date.now() + 1_000;
    await eventually(
      async () => {
        const [last] = await prometheus.query(`min(timestamp(up{source_job="${SCRAPE_JOB}"}))`);
        return last && Number(last.value[1]) * 1000 >= recordTo ? true : undefined;
      },
      60_000,
      'a scrape of every workload after the run',
    );
    grid = gridOf(recordFrom, recordTo, 1_000);

    const client = new PrometheusClient({ url: prometheusUrl, timeoutMs: 10_000 });
    series = Object.fromEntries(
      await Promise.all(recordedRules.map(async (rule) => [rule.name, await readRange(client, rule.query, grid)] as const)),
    );
    client.close();
    result = calibrate({ breaker: recordedBreaker, grid, series, incidents, quantile: 0.999, margin: 1.5 });
  });

  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    if (dir && !process.env.ARBEES_KEEP_RIG) rmSync(dir, { recursive: true, force: true });
  });

  it('recorded every fault: each incident shows in some rule', () => {
    expect(incidents).to.have.length(4);
    for (const name of ['stale-quotes', 'vpn-down', 'order-rejections', 'ws-reconnect-storm', 'daily-loss'])
      expect(series[name]!.length, `${name} has data`).to.be.above(0);
    const peak = (name: string) => result.rules.find((r) => r.rule.name === name)!.inside.points.at(-1)!.value;
    expect(peak('order-rejections'), 'rejections recorded').to.be.above(0.5);
    expect(peak('stale-quotes'), 'quotes went stale').to.be.above(4);
    expect(result.rules.find((r) => r.rule.name === 'vpn-down')!.inside.points.at(-1)!.value, 'the VPN went down').to.equal(0);
  });

  it("replays the recorded settings into the operator's own transitions", () => {
    const operator = operatorTransitions(op).filter((t) => t.at >= grid.start && t.at <= grid.start + grid.count * grid.stepMs);
    const replayed = result.breaker.current.transitions;
    const describe = (list: Transition[]) => list.map(rel(t0)).join(', ');
    writeFileSync(join(dir, 'transitions.txt'), `operator: ${describe(operator)}\nreplay:   ${describe(replayed)}\n`);
    expect(operator.filter((t) => t.to === 'Open').length, `the operator tripped: ${describe(operator)}`).to.be.at.least(4);
    expect(
      replayed.map((t) => [t.from, t.to]),
      `operator: ${describe(operator)}\nreplay:   ${describe(replayed)}`,
    ).to.deep.equal(operator.map((t) => [t.from, t.to]));
    replayed.forEach((t, i) => {
      const o = operator[i]!;
      if (t.to === 'Open') expect(o.reason.startsWith(`${t.trippedBy}:`), `trip ${i}: ${o.reason} vs ${t.trippedBy}`).to.equal(true);
      // One evaluation apart at most, either way, plus a scrape of jitter.
      expect(Math.abs(t.at - o.at), `transition ${i} ${rel(t0)(t)} vs ${rel(t0)(o)}`).to.be.at.most(2_500);
    });
  });

  it('proposes settings that trip in every incident and never outside them', () => {
    const summary = result.rules
      .map(
        (r) =>
          `${r.rule.name}: ${r.method} ${r.proposed.op} ${r.proposed.threshold} for ${r.proposed.for}` +
          ` caught ${r.proposal.caught.join(',')} out ${r.proposal.tripsOutside}`,
      )
      .join('\n');
    // Each incident tripped by some rule's proposal, and trading halted in each by the breaker as a
    // whole (a trip there, or one still open from the incident before).
    expect(
      incidents.map((_, n) => result.rules.some((r) => r.proposal.caught[n])),
      summary,
    ).to.deep.equal([true, true, true, true]);
    expect(result.breaker.proposed.halted, summary).to.deep.equal([true, true, true, true]);
    expect(result.breaker.proposed.tripsOutside, summary).to.equal(0);
    expect(result.breaker.proposed.stuckOpen).to.equal(false);
    const rule = (name: string) => result.rules.find((r) => r.rule.name === name)!;
    // Each fault is caught by the rule made for it, from its own signal.
    expect(rule('order-rejections').proposal.caught[0], summary).to.equal(true);
    expect(rule('stale-quotes').proposal.caught.slice(1), summary).to.deep.equal([true, true, true]);
    expect(rule('vpn-down').proposal.caught[2], summary).to.equal(true);
    expect(rule('vpn-down').proposed.threshold, summary).to.be.within(0, 1);
    // Nothing an incident can teach: from healthy data; nothing at all: a finding.
    expect(rule('daily-loss').method, summary).to.not.equal('incidents');
    expect(rule('polymarket-rejections')).to.include({ method: 'kept', coverage: 0 });
    expect(result.findings.some((f) => f.startsWith('polymarket-rejections: no data in the window'))).to.equal(true);
  });

  it('runs as a command on the live shard: a table, and a patch that kubectl patch --type merge applies', async () => {
    const kube = await rig.kube();
    const end = new Date(grid.start + (grid.count - 1) * grid.stepMs).toISOString();
    const common = [
      'breaker',
      'calibrate',
      '--prometheus-url',
      prometheusUrl,
      '--shard',
      SHARD,
      '-n',
      NAMESPACE,
      '--kubeconfig',
      kube.kubeconfigPath,
    ];
    const window = [
      '--start',
      new Date(grid.start).toISOString(),
      '--end',
      end,
      '--step',
      '1s',
      ...incidents.flatMap((i) => ['--incident', `${new Date(i.start).toISOString()}/${new Date(i.end).toISOString()}`]),
    ];
    const run = async (...extra: string[]) => {
      const lines = { out: [] as string[], err: [] as string[] };
      const code = await main([...common, ...window, ...extra], { out: (t) => lines.out.push(t), err: (t) => lines.err.push(t), env: {} });
      return { code, out: lines.out.join('\n'), err: lines.err.join('\n') };
    };
    const table = await run();
    expect(table.code, table.err).to.equal(0);
    expect(table.err).to.match(/· reading stale-quotes \(1\/6\): \d+\/\d+ points/);
    expect(table.out).to.contain(`TradingShard ${NAMESPACE}/${SHARD}`);
    writeFileSync(join(dir, 'calibration.txt'), table.out);
    expect(table.out, table.out).to.match(/all rules\s+current[^\n]*\n\s+proposed\s+\d\/4\s+4\/4\s+0\s/);
    expect(table.out).to.contain('- polymarket-rejections: no data in the window');

    const yaml = await run('--output', 'yaml');
    expect(yaml.code, yaml.err).to.equal(0);
    const patchFile = join(dir, 'patch.yaml');
    writeFileSync(patchFile, yaml.out);
    await kubectl('patch', 'tradingshard', SHARD, '-n', NAMESPACE, '--type', 'merge', '--patch-file', patchFile);
    const patched = await (await adminClient()).get<TradingShard & KubeObject>(resources.tradingShards, NAMESPACE, SHARD);
    expect(patched.spec.circuitBreaker.rules).to.deep.equal(result.rules.map((r) => r.proposed));
    // Only the rules: the rest of the breaker is as it was.
    expect(patched.spec.circuitBreaker).to.include({ cooldown: '5s', halfOpenAfter: '3s', onPrometheusUnavailable: 'hold' });

    // The same shard from a manifest, against a Prometheus that is not there: exit 1, saying so.
    const manifest = join(dir, 'shard.yaml');
    writeFileSync(manifest, stringify(patched));
    const errors: string[] = [];
    const code = await main(['breaker', 'calibrate', '--prometheus-url', 'http://127.0.0.1:1', '-f', manifest, '--since', '1h'], {
      out: () => undefined,
      err: (t) => errors.push(t),
      env: {},
    });
    expect(code).to.equal(1);
    expect(errors.at(-1)).to.match(
      /^arbees breaker calibrate: reading stale-quotes from http:\/\/127\.0\.0\.1:1: Prometheus unreachable: /,
    );
  });

  it("reads through TLS with a private CA and a bearer token, the operator's auth, and says why not without them", async () => {
    // Prometheus behind an authenticating proxy, as a cluster's often is: TLS from a private CA,
    // and a bearer token checked before anything is forwarded.
    const tls = join(dir, 'tls');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    mkdirSync(tls, { recursive: true });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', `${tls}/ca.key`, '-out', `${tls}/ca.pem`, '-days', '1', '-subj', '/CN=calibrate-test-ca');
    openssl('req', ...ec, '-keyout', `${tls}/server.key`, '-out', `${tls}/server.csr`, '-subj', '/CN=127.0.0.1');
    writeFileSync(`${tls}/san.ext`, 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      `${tls}/server.csr`,
      '-CA',
      `${tls}/ca.pem`,
      '-CAkey',
      `${tls}/ca.key`,
      '-CAcreateserial',
      '-out',
      `${tls}/server.pem`,
      '-days',
      '1',
      '-extfile',
      `${tls}/san.ext`,
    );
    const token = randomBytes(16).toString('hex');
    writeFileSync(join(tls, 'token'), `${token}\n`);
    const proxy = createHttpsServer({ key: readFileSync(`${tls}/server.key`), cert: readFileSync(`${tls}/server.pem`) }, (req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`)
        return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"status":"error","error":"unauthorized"}');
      fetch(`${prometheusUrl}${req.url}`).then(
        async (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text()),
        () => res.writeHead(502).end(),
      );
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const manifest = join(dir, 'recorded-shard.yaml');
      writeFileSync(
        manifest,
        stringify({ kind: 'TradingShard', metadata: { name: SHARD, namespace: NAMESPACE }, spec: { circuitBreaker: recordedBreaker } }),
      );
      const window = ['--start', new Date(grid.start).toISOString(), '--end', new Date(grid.start + (grid.count - 1) * 1000).toISOString()];
      const calibrateVia = async (...auth: string[]) => {
        const lines = { out: [] as string[], err: [] as string[] };
        const code = await main(['breaker', 'calibrate', '--prometheus-url', url, '-f', manifest, ...window, ...auth], {
          out: (t) => lines.out.push(t),
          err: (t) => lines.err.push(t),
          env: {},
        });
        return { code, out: lines.out.join('\n'), last: lines.err.at(-1) ?? '' };
      };
      const ok = await calibrateVia('--ca-file', `${tls}/ca.pem`, '--bearer-token-file', join(tls, 'token'));
      expect(ok.code, ok.last).to.equal(0);
      // The same values as read directly, all outside incidents (none labelled here).
      const stale = result.rules[0]!;
      expect(ok.out).to.match(new RegExp(`stale-quotes\\s+>\\s+${stale.outside.samples + stale.inside.samples}\\s`));
      // The operator's variable names the token file when the flag does not.
      const fromEnv = await main(
        ['breaker', 'calibrate', '--prometheus-url', url, '-f', manifest, ...window, '--ca-file', `${tls}/ca.pem`],
        {
          out: () => undefined,
          err: () => undefined,
          env: { ARBEES_PROMETHEUS_BEARER_TOKEN_FILE: join(tls, 'token') },
        },
      );
      expect(fromEnv).to.equal(0);
      const noToken = await calibrateVia('--ca-file', `${tls}/ca.pem`);
      expect(noToken.code).to.equal(1);
      expect(noToken.last).to.contain(`reading stale-quotes from ${url}: query failed (HTTP 401): unauthorized`);
      const noCa = await calibrateVia('--bearer-token-file', join(tls, 'token'));
      expect(noCa.code).to.equal(1);
      expect(noCa.last).to.match(/Prometheus unreachable: .*certificate/);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('reads more than 11,000 points per series in chunks, and halves a chunk past the size bound, with the same values', async () => {
    const client = new PrometheusClient({ url: prometheusUrl, timeoutMs: 10_000 });
    try {
      // 5 ms steps over a minute of the run: Prometheus refuses one query of this many points.
      const fine = gridOf(grid.start, grid.start + 60_000, 5);
      expect(fine.count).to.be.above(11_000);
      const query = recordedRules[0]!.query;
      const direct = await client.api('api/v1/query_range', {
        query,
        start: String(fine.start / 1000),
        end: String((fine.start + 60_000) / 1000),
        step: '0.005',
      });
      expect('error' in direct && direct.error).to.match(/exceeded maximum resolution of 11,000 points/);
      let chunks = 0;
      const chunked = await readRange(client, query, fine, { onProgress: () => chunks++ });
      expect(chunks).to.equal(Math.ceil(fine.count / 11_000));
      const whole = await readRange(client, query, grid);
      const halved = await readRange(client, query, grid, { maxBytes: 2_000 });
      expect(halved).to.deep.equal(whole);
      // The 5 ms grid holds the 1 s grid's values at every 200th point, across chunk boundaries.
      const kalshi = (list: Series[]) => list.find((s) => s.labels.venue === 'kalshi')!.values;
      const coarse = kalshi(whole);
      const fineValues = kalshi(chunked);
      let compared = 0;
      for (let i = 0; i * 200 < fine.count; i++) {
        if (Number.isNaN(coarse[i]!)) continue;
        expect(fineValues[i * 200], `point ${i}`).to.equal(coarse[i]);
        compared++;
      }
      expect(compared).to.be.above(55);
    } finally {
      client.close();
    }
  });
});
