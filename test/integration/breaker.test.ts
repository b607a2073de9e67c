// The circuit breaker end to end: a real Prometheus scrapes a /metrics endpoint this test controls
// (arbees_daily_loss_usd{shard}, a gauge we set), the operator runs in-process against the real
// kube-apiserver and Redis and evaluates each shard's rules in that Prometheus, and we check what a
// user and the executor see: status.circuitBreaker, conditions, Events, the operator's metric, the
// shard's Redis control key, and the executor's own control gate and risk check.
import { expect } from 'chai';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { Gauge, Registry } from 'prom-client';
import type { BreakerRule, BreakerState, Condition, TradingShard, TradingShardSpec } from '../../contracts/trading-shard.js';
import { resetAnnotation } from '../../operator/breaker/controller.js';
import { renderShardConfig } from '../../operator/builders/config-map.js';
import type { OperatorSettings } from '../../operator/builders/settings.js';
import { resources, type KubeObject } from '../../operator/kube/client.js';
import { ControlGate, parseControl } from '../../workloads/executor/control.js';
import { defaultExecutorSettings } from '../../workloads/executor/settings.js';
import { evaluateRisk, type RiskDecision } from '../../workloads/executor/risk.js';
import type { ControlState, Signal } from '../../contracts/messages.js';
import { rig } from '../rig/index.js';
import {
  adminClient,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  applyShard,
  sampleShard,
  startTestOperator,
  type RunningOperator,
} from '../support/operator-harness.js';

type Shard = TradingShard & KubeObject;
type CircuitBreakerSpec = TradingShardSpec['circuitBreaker'];
interface KubeEvent {
  type: string;
  reason: string;
  message: string;
  involvedObject: { name: string; uid?: string };
}

const NAMESPACE = 'breaker';
const OUTAGE_NAMESPACE = 'breaker-outage';
const SCRAPE_JOB = 'breaker-test';
/** The sample shard's spec.executor.limits.maxOrderUsd is $100; probation allows a quarter. */
const PROBATION_CAP = 25 * 10_000;

// ---------------------------------------------------------------------------------------------
// A /metrics endpoint the rig's Prometheus scrapes every second.

interface MetricsEndpoint {
  /** Sets arbees_daily_loss_usd{shard}. */
  set(shard: string, usd: number): void;
  close(): Promise<void>;
}

async function serveMetrics(): Promise<MetricsEndpoint> {
  const registry = new Registry();
  const loss = new Gauge({ name: 'arbees_daily_loss_usd', help: 'Loss today in USD', labelNames: ['shard'], registers: [registry] });
  const server: Server = createHttpServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  (await rig.prometheus()).setTargets(SCRAPE_JOB, [`127.0.0.1:${port}`]);
  return {
    set: (shard, usd) => loss.set({ shard }, usd),
    async close() {
      (await rig.prometheus()).setTargets(SCRAPE_JOB, []);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const lossQuery = (shard: string) => `max(arbees_daily_loss_usd{shard="${shard}"})`;

/** Waits until the rig's Prometheus answers `value` for the shard's loss (it has scraped it). */
async function scraped(shard: string, value: number): Promise<void> {
  const prometheus = await rig.prometheus();
  await eventually(
    async () => ((await prometheus.query(lossQuery(shard))).some((r) => Number(r.value[1]) === value) ? true : undefined),
    15_000,
    `Prometheus to scrape ${shard}'s loss at ${value}`,
  );
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of Prometheus, to take it away from one operator and give it back.

interface Proxy {
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function prometheusProxy(target: string): Promise<Proxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: TcpServer | undefined;
  let port = 0;
  const listen = async () => {
    if (server) return;
    server = createTcpServer((client) => {
      const upstream = connect(Number(targetPort), hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', resolve);
    });
    port = (listening.address() as { port: number }).port;
  };
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  await listen();
  return { url: `http://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

// ---------------------------------------------------------------------------------------------
// The operator, in-process, with short timings and its metrics registry at hand.

async function startOperator(name: string, namespace: string, prometheusUrl: string): Promise<RunningOperator> {
  const op = await startTestOperator({
    identity: `breaker-test-${name}`,
    namespace,
    prometheusTimeoutMs: 1_000,
    // A lease of its own: these operators never compete with each other or with other files' operators.
    config: { prometheusUrl, breakerIntervalMs: 250, leaseName: `arbees-breaker-test-${name}` },
  });
  await eventually(() => (op.operator.isLeader && op.operator.readiness().ready ? true : undefined), 20_000, `operator ${name} to lead`);
  return op;
}

async function circuitGauge(op: RunningOperator, namespace: string, name: string): Promise<number | undefined> {
  const metric = op.registry.getSingleMetric('arbees_operator_circuit_state');
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.shard === `${namespace}/${name}`)?.value;
}

// ---------------------------------------------------------------------------------------------
// Shards, their status and what they leave in Redis and in the event list.

function breakerShard(name: string, namespace: string, breaker: Partial<CircuitBreakerSpec> = {}, rules?: BreakerRule[]): Shard {
  const base = sampleShard(name, namespace);
  return {
    ...base,
    spec: {
      ...base.spec,
      circuitBreaker: {
        rules: rules ?? [{ name: 'daily-loss', query: lossQuery(name), op: '>=', threshold: 300, for: '0s' }],
        cooldown: '4s',
        halfOpenAfter: '2s',
        onPrometheusUnavailable: 'open',
        ...breaker,
      },
    },
  };
}

async function getShard(namespace: string, name: string): Promise<Shard> {
  return (await adminClient()).get<Shard>(resources.tradingShards, namespace, name);
}

const conditionOf = (shard: Shard, type: string): Condition | undefined => shard.status?.conditions?.find((c) => c.type === type);

/** The shard once its breaker reads `state` (and, optionally, whatever else `also` asks). */
async function breakerIn(
  namespace: string,
  name: string,
  state: BreakerState,
  also: (shard: Shard) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<Shard> {
  return eventually(
    async () => {
      const shard = await getShard(namespace, name);
      return shard.status?.circuitBreaker?.state === state && also(shard) ? shard : undefined;
    },
    timeoutMs,
    `${namespace}/${name}'s breaker to be ${state}`,
  );
}

/** The shard once `predicate` holds for it. */
async function shardWhen(namespace: string, name: string, what: string, predicate: (shard: Shard) => boolean): Promise<Shard> {
  return eventually(
    async () => {
      const shard = await getShard(namespace, name);
      return predicate(shard) ? shard : undefined;
    },
    20_000,
    `${namespace}/${name}: ${what}`,
  );
}

const metricsAvailable = (status: Condition['status']) => (shard: Shard) => conditionOf(shard, 'MetricsAvailable')?.status === status;

async function events(namespace: string, name: string, reason: string): Promise<KubeEvent[]> {
  const { items } = await (await adminClient()).list<KubeEvent>(resources.events, { namespace });
  return items.filter((e) => e.involvedObject.name === name && e.reason === reason);
}

async function eventsAtLeast(namespace: string, name: string, reason: string, count: number): Promise<KubeEvent[]> {
  return eventually(
    async () => {
      const found = await events(namespace, name, reason);
      return found.length >= count ? found : undefined;
    },
    10_000,
    `${count} ${reason} event(s) for ${namespace}/${name}`,
  );
}

let redis: Redis;

async function controlKey(name: string): Promise<ControlState | undefined> {
  return parseControl(await redis.get(`arbees:${name}:control`));
}

async function controlIn(name: string, state: ControlState['state']): Promise<ControlState> {
  return eventually(
    async () => {
      const control = await controlKey(name);
      return control?.state === state ? control : undefined;
    },
    10_000,
    `arbees:${name}:control to say ${state}`,
  );
}

/** Whole seconds, as status.circuitBreaker.since is written. */
const floorSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

// ---------------------------------------------------------------------------------------------
// The executor's side: its control gate (key read before every order + channel) and risk check.

/** Kalshi YES at 0.40 + Polymarket NO at 0.55 for 100 contracts: $95, inside the $100 max order. */
function arbSignal(): Signal {
  const size = 100 * 100;
  return {
    id: `sig-${Date.now()}`,
    kind: 'arbitrage',
    marketId: 'phi-lal-lal',
    legs: [
      { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4000, size },
      { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5500, size },
    ],
    edgeBps: 500,
    expectedProfit: 5 * 10_000,
    quoteAgesMs: [50, 80],
    createdTs: Date.now(),
  };
}

/** What the executor decides for a fresh $95 signal with the control state its gate reads now. */
async function decide(gate: ControlGate, shard: Shard, settings: OperatorSettings): Promise<RiskDecision> {
  const risk = defaultExecutorSettings(renderShardConfig(shard, settings)).risk;
  return evaluateRisk(
    {
      now: Date.now(),
      control: await gate.current(),
      paused: shard.spec.paused,
      signal: arbSignal(),
      market: { game: 'phi-lal-2026-11-24', sport: 'nba' },
      holdings: [],
      realizedPnlToday: 0,
      unrealizedPnl: 0,
      realizedPnlTotal: 0,
      alreadySeen: false,
      fee: () => 0,
    },
    risk,
  );
}

async function openGate(name: string): Promise<{ gate: ControlGate; heard: Array<ControlState['state'] | undefined> }> {
  const gate = new ControlGate((await rig.redis()).url, name);
  const heard: Array<ControlState['state'] | undefined> = [];
  gate.onChange((state) => heard.push(state?.state));
  await gate.start();
  expect(gate.listening, 'the gate subscribed to the control channel').to.equal(true);
  return { gate, heard };
}

// ---------------------------------------------------------------------------------------------

describe('circuit breaker (real Prometheus, apiserver and Redis)', function () {
  this.timeout(120_000);
  let metrics: MetricsEndpoint;
  let op: RunningOperator;
  const gates: ControlGate[] = [];

  before(async () => {
    await Promise.all([installCrd(), rig.prometheus(), rig.redis()]);
    await Promise.all([createNamespace(NAMESPACE), createNamespace(OUTAGE_NAMESPACE)]);
    redis = new Redis((await rig.redis()).url);
    metrics = await serveMetrics();
    // Prometheus picks up a new target within a few seconds; wait for its first scrape, so that in
    // the tests a change reaches Prometheus within one scrape interval (1 s).
    metrics.set('brk-sentinel', 1);
    await scraped('brk-sentinel', 1);
    op = await startOperator('main', NAMESPACE, (await rig.prometheus()).url);
  });

  afterEach(() => {
    for (const gate of gates.splice(0)) gate.stop();
  });

  after(async () => {
    // Delete our shards while our operator still runs their finalizer, so that no later test
    // file's operator finds them.
    await kubectl('delete', 'tradingshards', '--all', '-n', NAMESPACE, '--wait=true', '--timeout=60s').catch(() => undefined);
    await op?.stop();
    await metrics?.close();
    redis?.disconnect();
  });

  it('opens when a rule holds for its `for`: status, condition, Event, metric, control key; the executor refuses to trade', async () => {
    const name = 'brk-trip';
    metrics.set(name, 0);
    await applyShard(
      breakerShard(name, NAMESPACE, { halfOpenAfter: '1h' }, [
        { name: 'daily-loss', query: lossQuery(name), op: '>=', threshold: 300, for: '3s' },
      ]),
    );
    await scraped(name, 0);
    const before = await breakerIn(NAMESPACE, name, 'Closed', metricsAvailable('True'));
    expect(conditionOf(before, 'CircuitBreakerClosed')).to.include({ status: 'True' });
    await controlIn(name, 'closed');
    const { gate, heard } = await openGate(name);
    gates.push(gate);
    expect(await decide(gate, before, op.settings)).to.include({ accept: true }); // trading is allowed while closed

    const breachedAt = Date.now();
    metrics.set(name, 450);
    const open = await breakerIn(NAMESPACE, name, 'Open');
    const breaker = open.status!.circuitBreaker!;
    expect(breaker).to.include({
      state: 'Open',
      trippedBy: 'daily-loss',
      observedValue: '450',
      trips: 1,
      reason: 'daily-loss: 450 >= 300',
    });
    // `for: 3s`: the operator cannot have seen the breach before we made it, so it opened 3 s later at the earliest.
    expect(Date.parse(breaker.since!)).to.be.at.least(floorSecond(breachedAt) + 3_000);
    expect(conditionOf(open, 'CircuitBreakerClosed')).to.include({
      status: 'False',
      reason: 'Open',
      observedGeneration: open.metadata.generation,
    });
    expect(conditionOf(open, 'CircuitBreakerClosed')?.message).to.equal('daily-loss: 450 >= 300');

    const [event] = await eventsAtLeast(NAMESPACE, name, 'CircuitBreakerOpen', 1);
    expect(event).to.include({ type: 'Warning' });
    expect(event!.message).to.contain('Closed → Open: daily-loss: 450 >= 300');
    expect(event!.involvedObject.uid).to.equal(open.metadata.uid);
    expect(await circuitGauge(op, NAMESPACE, name)).to.equal(2);

    const control = await controlIn(name, 'open');
    expect(control.reason).to.equal('daily-loss: 450 >= 300');
    expect(await redis.ttl(`arbees:${name}:control`)).to.be.above(0); // expires if the operator stops refreshing it
    // The executor heard the change on the channel, and its pre-order check refuses.
    await eventually(() => (heard.includes('open') ? true : undefined), 5_000, 'the gate to hear "open" on the channel');
    const refused = await decide(gate, open, op.settings);
    expect(refused).to.include({ accept: false, rule: 'circuit-open' });
  });

  it('recovers once the value is back below the threshold: Open → HalfOpen (probation size limit) → Closed', async () => {
    const name = 'brk-recover';
    metrics.set(name, 0);
    await applyShard(breakerShard(name, NAMESPACE, { halfOpenAfter: '2s', cooldown: '4s' }));
    await breakerIn(NAMESPACE, name, 'Closed', metricsAvailable('True'));
    const { gate } = await openGate(name);
    gates.push(gate);
    metrics.set(name, 500);
    const open = await breakerIn(NAMESPACE, name, 'Open');
    expect(open.status?.circuitBreaker?.trips).to.equal(1);

    const clearedAt = Date.now();
    metrics.set(name, 0);
    const half = await breakerIn(NAMESPACE, name, 'HalfOpen');
    const halfSince = Date.parse(half.status!.circuitBreaker!.since!);
    expect(halfSince, 'HalfOpen only after halfOpenAfter (2s) clear').to.be.at.least(floorSecond(clearedAt) + 2_000);
    expect(conditionOf(half, 'CircuitBreakerClosed')).to.include({ status: 'False', reason: 'HalfOpen' });
    const probation = await controlIn(name, 'half_open');
    expect(probation.maxOrder).to.equal(PROBATION_CAP);
    expect(await circuitGauge(op, NAMESPACE, name)).to.equal(1);
    // The executor trades again, but its $95 order is cut to fit the $25 probation cap.
    const capped = await decide(gate, half, op.settings);
    expect(capped).to.include({ accept: true, resizedBy: 'max-order' });
    expect(capped.accept && capped.cost).to.be.within(1, PROBATION_CAP);
    const [halfEvent] = await eventsAtLeast(NAMESPACE, name, 'CircuitBreakerHalfOpen', 1);
    expect(halfEvent).to.include({ type: 'Normal' });

    const closed = await breakerIn(NAMESPACE, name, 'Closed');
    const breaker = closed.status!.circuitBreaker!;
    expect(Date.parse(breaker.since!) - halfSince, 'Closed only after the 4s probation').to.be.at.least(4_000);
    expect(breaker.trips).to.equal(1);
    expect(breaker.trippedBy).to.equal(undefined);
    expect(conditionOf(closed, 'CircuitBreakerClosed')).to.include({ status: 'True', reason: 'Closed' });
    const control = await controlIn(name, 'closed');
    expect(control.maxOrder).to.equal(undefined);
    expect(await circuitGauge(op, NAMESPACE, name)).to.equal(0);
    const full = await decide(gate, closed, op.settings);
    expect(full).to.include({ accept: true, cost: 95 * 10_000 });
    expect(full).not.to.have.property('resizedBy');
    await eventsAtLeast(NAMESPACE, name, 'CircuitBreakerClosed', 1);
  });

  it("opens again at once on a breach during HalfOpen, without waiting for the rule's `for` (trip 2)", async () => {
    const name = 'brk-relapse';
    // hard-stop trips at once; daily-loss would need an hour of holding, except in probation.
    const rules: BreakerRule[] = [
      { name: 'daily-loss', query: lossQuery(name), op: '>=', threshold: 300, for: '1h' },
      { name: 'hard-stop', query: lossQuery(name), op: '>=', threshold: 1000, for: '0s' },
    ];
    metrics.set(name, 0);
    await applyShard(breakerShard(name, NAMESPACE, { halfOpenAfter: '1s', cooldown: '1h' }, rules));
    await breakerIn(NAMESPACE, name, 'Closed', metricsAvailable('True'));
    metrics.set(name, 1200);
    const first = await breakerIn(NAMESPACE, name, 'Open');
    expect(first.status?.circuitBreaker).to.include({ trippedBy: 'hard-stop', trips: 1 });
    metrics.set(name, 0);
    await breakerIn(NAMESPACE, name, 'HalfOpen');
    await controlIn(name, 'half_open');

    metrics.set(name, 500); // breaches daily-loss only
    const again = await breakerIn(NAMESPACE, name, 'Open');
    expect(again.status?.circuitBreaker).to.include({ trippedBy: 'daily-loss', observedValue: '500', trips: 2 });
    await controlIn(name, 'open');
    const opened = await eventsAtLeast(NAMESPACE, name, 'CircuitBreakerOpen', 2);
    expect(opened.map((e) => e.message.split(':')[0]).sort()).to.deep.equal(['Closed → Open', 'HalfOpen → Open']);
  });

  it('resets to Closed on the arbees.io/reset-breaker annotation, and consumes the annotation', async () => {
    const name = 'brk-reset';
    metrics.set(name, 0);
    await applyShard(breakerShard(name, NAMESPACE, { halfOpenAfter: '1h' }));
    await breakerIn(NAMESPACE, name, 'Closed', metricsAvailable('True'));
    metrics.set(name, 800);
    await breakerIn(NAMESPACE, name, 'Open');
    await controlIn(name, 'open');
    // Back under the threshold, but recovery on its own would take an hour.
    metrics.set(name, 0);
    await scraped(name, 0);
    await (
      await adminClient()
    ).mergePatch(resources.tradingShards, NAMESPACE, name, { metadata: { annotations: { [resetAnnotation]: 'by the on-call' } } });

    const closed = await breakerIn(NAMESPACE, name, 'Closed', (s) => s.metadata.annotations?.[resetAnnotation] === undefined);
    expect(closed.status?.circuitBreaker).to.include({ trips: 1, reason: `reset by annotation ${resetAnnotation}` });
    expect(conditionOf(closed, 'CircuitBreakerClosed')).to.include({ status: 'True' });
    await controlIn(name, 'closed');
    const [event] = await eventsAtLeast(NAMESPACE, name, 'CircuitBreakerClosed', 1);
    expect(event!.message).to.contain('Open → Closed: reset by annotation');
  });

  it("does not open on a spike shorter than the rule's `for`, and does open when the breach lasts", async () => {
    const name = 'brk-spike';
    metrics.set(name, 0);
    await applyShard(
      breakerShard(name, NAMESPACE, { halfOpenAfter: '1h' }, [
        { name: 'daily-loss', query: lossQuery(name), op: '>=', threshold: 300, for: '4s' },
      ]),
    );
    await breakerIn(NAMESPACE, name, 'Closed', metricsAvailable('True'));
    const prometheus = await rig.prometheus();

    metrics.set(name, 500);
    await scraped(name, 500);
    metrics.set(name, 0);
    await scraped(name, 0);
    const spikeEnded = Date.now();
    // Prometheus did record the spike: the operator, querying every 250 ms, saw it too.
    const peak = await prometheus.query(`max_over_time(arbees_daily_loss_usd{shard="${name}"}[1m])`);
    expect(peak.map((r) => Number(r.value[1]))).to.deep.equal([500]);
    // Wait out more than `for` after the spike: nothing may have tripped.
    await new Promise((r) => setTimeout(r, 4_000 + 1_500 - (Date.now() - spikeEnded)));
    const after = await getShard(NAMESPACE, name);
    expect(after.status?.circuitBreaker).to.include({ state: 'Closed', trips: 0 });
    expect(await events(NAMESPACE, name, 'CircuitBreakerOpen')).to.deep.equal([]);
    expect((await controlKey(name))?.state).to.equal('closed');

    // The same rule, breached for longer than `for`, opens the breaker (its clock started afresh).
    const sustainedFrom = Date.now();
    metrics.set(name, 500);
    const open = await breakerIn(NAMESPACE, name, 'Open');
    expect(open.status?.circuitBreaker).to.include({ trippedBy: 'daily-loss', trips: 1 });
    expect(Date.parse(open.status!.circuitBreaker!.since!)).to.be.at.least(floorSecond(sustainedFrom) + 4_000);
  });

  describe('when Prometheus cannot be reached', () => {
    let proxy: Proxy;
    let blind: RunningOperator;

    before(async () => {
      proxy = await prometheusProxy((await rig.prometheus()).url);
      blind = await startOperator('outage', OUTAGE_NAMESPACE, proxy.url);
    });
    after(async () => {
      await proxy?.restore().catch(() => undefined);
      await kubectl('delete', 'tradingshards', '--all', '-n', OUTAGE_NAMESPACE, '--wait=true', '--timeout=60s').catch(() => undefined);
      await blind?.stop();
      await proxy?.close();
    });

    it('opens (the default, fail safe) or holds the state (hold), says MetricsAvailable=False, and recovers when it is back', async () => {
      const failSafe = 'brk-failsafe';
      const holdClosed = 'brk-hold-closed';
      const holdOpen = 'brk-hold-open';
      metrics.set(failSafe, 0);
      metrics.set(holdClosed, 0);
      metrics.set(holdOpen, 900);
      // failSafe leaves onPrometheusUnavailable out: the CRD's default (open) applies.
      const failSafeShard = breakerShard(failSafe, OUTAGE_NAMESPACE, { halfOpenAfter: '1s', cooldown: '1s' });
      delete (failSafeShard.spec.circuitBreaker as Partial<CircuitBreakerSpec>).onPrometheusUnavailable;
      await applyShard(failSafeShard);
      expect((await getShard(OUTAGE_NAMESPACE, failSafe)).spec.circuitBreaker.onPrometheusUnavailable).to.equal('open');
      await applyShard(breakerShard(holdClosed, OUTAGE_NAMESPACE, { onPrometheusUnavailable: 'hold' }));
      await applyShard(breakerShard(holdOpen, OUTAGE_NAMESPACE, { onPrometheusUnavailable: 'hold', halfOpenAfter: '2s', cooldown: '1s' }));
      await breakerIn(OUTAGE_NAMESPACE, failSafe, 'Closed', metricsAvailable('True'));
      await breakerIn(OUTAGE_NAMESPACE, holdClosed, 'Closed', metricsAvailable('True'));
      await breakerIn(OUTAGE_NAMESPACE, holdOpen, 'Open');
      const { gate } = await openGate(failSafe);
      gates.push(gate);
      expect(await decide(gate, await getShard(OUTAGE_NAMESPACE, failSafe), blind.settings)).to.include({ accept: true });

      // holdOpen's loss is back to 0, but the operator goes blind before it can tell.
      metrics.set(holdOpen, 0);
      await proxy.cut();
      const cutAt = Date.now();

      const opened = await breakerIn(OUTAGE_NAMESPACE, failSafe, 'Open', metricsAvailable('False'));
      expect(opened.status?.circuitBreaker).to.include({ trippedBy: 'PrometheusUnavailable', trips: 1 });
      expect(opened.status?.circuitBreaker?.reason).to.match(/^Prometheus unavailable \(fail safe\): daily-loss: Prometheus unreachable/);
      expect(conditionOf(opened, 'MetricsAvailable')).to.include({
        reason: 'PrometheusUnavailable',
        observedGeneration: opened.metadata.generation,
      });
      expect(conditionOf(opened, 'MetricsAvailable')?.message).to.contain('daily-loss: Prometheus unreachable');
      await controlIn(failSafe, 'open');
      expect(await decide(gate, opened, blind.settings)).to.include({ accept: false, rule: 'circuit-open' });
      await eventsAtLeast(OUTAGE_NAMESPACE, failSafe, 'CircuitBreakerOpen', 1);

      // hold: a closed breaker stays closed (and keeps the executor trading), an open one stays open.
      const held = await shardWhen(OUTAGE_NAMESPACE, holdClosed, 'MetricsAvailable=False', metricsAvailable('False'));
      expect(held.status?.circuitBreaker).to.include({ state: 'Closed', trips: 0 });
      expect((await controlKey(holdClosed))?.state).to.equal('closed');
      expect(
        (await shardWhen(OUTAGE_NAMESPACE, holdOpen, 'MetricsAvailable=False', metricsAvailable('False'))).status?.circuitBreaker?.state,
      ).to.equal('Open');
      // Blind time does not count toward recovery: well past halfOpenAfter (2 s), still Open.
      await new Promise((r) => setTimeout(r, 2_000 + 1_500 - (Date.now() - cutAt)));
      expect((await getShard(OUTAGE_NAMESPACE, holdOpen)).status?.circuitBreaker?.state).to.equal('Open');
      expect((await controlKey(holdOpen))?.state).to.equal('open');
      expect(await events(OUTAGE_NAMESPACE, holdClosed, 'CircuitBreakerOpen')).to.deep.equal([]);

      await proxy.restore();
      const recovered = await breakerIn(OUTAGE_NAMESPACE, failSafe, 'Closed', metricsAvailable('True'));
      expect(recovered.status?.circuitBreaker?.trips).to.equal(1);
      await controlIn(failSafe, 'closed');
      await breakerIn(OUTAGE_NAMESPACE, holdClosed, 'Closed', metricsAvailable('True'));
      const back = await breakerIn(OUTAGE_NAMESPACE, holdOpen, 'Closed', metricsAvailable('True'));
      expect(back.status?.circuitBreaker?.trips).to.equal(1);
    });
  });
});
