// The breaker controller with fakes around it (Kubernetes writes, Prometheus answers, the control
// publisher): what it publishes and records, in what order, and when a write fails.
import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { TradingShard } from '../../contracts/trading-shard.js';
import type { ControlPublisher } from '../../operator/breaker/control.js';
import { BreakerController } from '../../operator/breaker/controller.js';
import type { Reading } from '../../operator/breaker/machine.js';
import type { PrometheusClient } from '../../operator/breaker/prometheus.js';
import { EventRecorder } from '../../operator/events.js';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { createLogger } from '../../lib/log.js';
import type { ControlState } from '../../contracts/messages.js';

type Shard = TradingShard & KubeObject;

function shard(): Shard {
  return {
    apiVersion: 'arbees.io/v1alpha1',
    kind: 'TradingShard',
    metadata: { name: 'nba', namespace: 'trading', uid: 'uid-1', generation: 1 },
    spec: {
      paused: false,
      venues: {
        kalshi: { environment: 'demo', marketDataSecretRef: { name: 'kalshi-market-data' } },
        polymarket: { vpn: { provider: 'mullvad', type: 'wireguard', serverCountries: ['Netherlands'], secretRef: { name: 'vpn' } } },
      },
      detector: { minEdgeBps: 50, maxQuoteAgeMs: 1500, cooldownMs: 5000 },
      executor: {
        mode: 'paper',
        bankrollUsd: 1000,
        limits: { perGameUsd: 100, perSportUsd: 200, dailyLossUsd: 100, maxOpenPositions: 5, maxOrderUsd: 40 },
      },
      circuitBreaker: {
        rules: [{ name: 'daily-loss', query: 'max(arbees_daily_loss_usd)', op: '>=', threshold: 300, for: '0s' }],
        cooldown: '10s',
        halfOpenAfter: '10s',
        onPrometheusUnavailable: 'open',
      },
    },
  };
}

interface Fakes {
  controller: BreakerController;
  /** What the next Prometheus query answers. */
  answer: { reading: Reading };
  /** Set to make status writes fail, or hang until a promise resolves. */
  failStatus: { error?: Error; hang?: Promise<void> };
  published: ControlState[];
  events: Array<{ type: string; reason: string; message: string }>;
  clock: { now: number };
  order: string[];
}

function fakes(): Fakes {
  const order: string[] = [];
  const failStatus: Fakes['failStatus'] = {};
  const events: Fakes['events'] = [];
  const client = {
    apply: (_object: KubeObject, _manager: string, options?: { subresource?: string }) => {
      order.push(`apply ${options?.subresource ?? ''}`.trim());
      if (failStatus.error) return Promise.reject(failStatus.error);
      return (failStatus.hang ?? Promise.resolve()).then(() => ({}));
    },
    mergePatch: () => {
      order.push('mergePatch');
      return Promise.resolve({});
    },
    create: (object: KubeObject & { type: string; reason: string; message: string }) => {
      order.push('event');
      events.push({ type: object.type, reason: object.reason, message: object.message });
      return Promise.resolve(object);
    },
  } as unknown as KubeClient;
  const answer = { reading: { values: [0] } as Reading };
  const prometheus = { query: () => Promise.resolve(answer.reading) } as unknown as PrometheusClient;
  const published: ControlState[] = [];
  const control: ControlPublisher = {
    publish: (_shard, state) => {
      order.push('publish');
      published.push(state);
      return Promise.resolve();
    },
    close: () => undefined,
  };
  const log = createLogger({ name: 'breaker-controller-test', level: 'silent' });
  const clock = { now: 1_000_000 };
  const controller = new BreakerController({
    client,
    prometheus,
    control,
    events: new EventRecorder(client, 'test', log),
    log,
    registry: new Registry(),
    now: () => clock.now,
  });
  return { controller, answer, failStatus, published, events, clock, order };
}

describe('circuit breaker controller', () => {
  it('publishes the control key before any Kubernetes write, and even when the status write fails', async () => {
    const f = fakes();
    const s = shard();
    await f.controller.evaluate(s);
    await f.controller.idle();
    expect(f.published.at(-1)?.state).to.equal('closed');
    expect(f.order).to.deep.equal(['publish', 'apply status']);

    f.answer.reading = { values: [450] };
    f.failStatus.error = new Error('apiserver unavailable');
    f.order.length = 0;
    f.clock.now += 1_000;
    await f.controller.evaluate(s);
    await f.controller.idle();
    // The executor learns about the trip although the status could not be written.
    expect(f.published.at(-1)).to.include({ state: 'open', reason: 'daily-loss: 450 >= 300' });
    expect(f.order).to.deep.equal(['publish', 'event', 'apply status']);
    // The state is kept, and the next evaluation writes the status again, with no second trip.
    f.failStatus.error = undefined;
    f.order.length = 0;
    f.clock.now += 1_000;
    const snapshot = await f.controller.evaluate(s);
    await f.controller.idle();
    expect(snapshot).to.include({ state: 'Open', trips: 1 });
    expect(f.order).to.deep.equal(['publish', 'apply status']);
  });

  it("publishes every shard's control key without waiting for a slow apiserver", async () => {
    const f = fakes();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const shards = Array.from({ length: 20 }, (_, i) => ({
      ...shard(),
      metadata: { ...shard().metadata, name: `s${i}`, uid: `uid-${i}` },
    }));
    // Every status write hangs until released.
    f.failStatus.hang = slow;
    f.answer.reading = { values: [450] };
    for (const s of shards) await f.controller.evaluate(s);
    expect(f.published.filter((c) => c.state === 'open')).to.have.length(20);
    release();
    await f.controller.idle();
    expect(f.events.filter((e) => e.reason === 'CircuitBreakerOpen')).to.have.length(20);
  });

  it('records an Event for every transition, a second identical trip included', async () => {
    const f = fakes();
    const s = shard();
    const tick = async (loss: number, seconds: number) => {
      f.answer.reading = { values: [loss] };
      f.clock.now += seconds * 1_000;
      const { state } = await f.controller.evaluate(s);
      await f.controller.idle();
      return state;
    };
    const states = [await tick(450, 1), await tick(0, 1), await tick(0, 10), await tick(0, 10), await tick(450, 1)];
    expect(states).to.deep.equal(['Open', 'Open', 'HalfOpen', 'Closed', 'Open']);
    expect(f.events.map((e) => `${e.type} ${e.reason}`)).to.deep.equal([
      'Warning CircuitBreakerOpen',
      'Normal CircuitBreakerHalfOpen',
      'Normal CircuitBreakerClosed',
      'Warning CircuitBreakerOpen',
    ]);
    expect(f.events[3]?.message).to.equal('Closed → Open: daily-loss: 450 >= 300 (trips: 2)');
  });

  it('caps orders in probation at a quarter of maxOrderUsd, in ten-thousandths of $1', async () => {
    const f = fakes();
    const s = shard();
    f.answer.reading = { values: [450] };
    await f.controller.evaluate(s);
    f.answer.reading = { values: [0] };
    f.clock.now += 1_000;
    await f.controller.evaluate(s);
    f.clock.now += 10_000;
    await f.controller.evaluate(s);
    expect(f.published.at(-1)).to.include({ state: 'half_open', maxOrder: 10 * 10_000 });
  });
});
