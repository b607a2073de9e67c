import { expect } from 'chai';
import { parseDuration } from '../../operator/breaker/duration.js';
import { initialSnapshot, reset, step, type BreakerConfig, type BreakerSnapshot, type Reading } from '../../operator/breaker/machine.js';

const config: BreakerConfig = {
  rules: [
    { name: 'daily-loss', query: 'arbees_daily_loss_usd', op: '>', threshold: 500, for: '30s' },
    { name: 'quote-staleness', query: 'max(arbees_quote_age_seconds)', op: '>=', threshold: 10, for: '0s' },
  ],
  cooldown: '5m',
  halfOpenAfter: '2m',
  onPrometheusUnavailable: 'open',
};
const ok = (loss: number, age = 1): Record<string, Reading> => ({ 'daily-loss': { values: [loss] }, 'quote-staleness': { values: [age] } });
const s = (n: number) => n * 1000;

/** Runs readings at the given seconds, returning every state seen. */
function run(cfg: BreakerConfig, timeline: Array<[number, Record<string, Reading>]>, start: BreakerSnapshot = initialSnapshot(0)) {
  let snapshot = start;
  const states: string[] = [];
  for (const [second, readings] of timeline) {
    snapshot = step(cfg, snapshot, readings, s(second)).snapshot;
    states.push(snapshot.state);
  }
  return { snapshot, states };
}

describe('circuit breaker state machine', () => {
  it('parses the CRD durations', () => {
    expect(parseDuration('30s')).to.equal(30_000);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('250ms')).to.equal(250);
    for (const bad of ['', '30', '5 m', '1d', 's']) expect(() => parseDuration(bad), bad).to.throw(RangeError);
  });

  it('opens only after a rule has held for its `for`, naming the rule and the value', () => {
    const { snapshot, states } = run(config, [
      [0, ok(100)],
      [10, ok(600)],
      [30, ok(700)],
      [40, ok(650)],
    ]);
    expect(states).to.deep.equal(['Closed', 'Closed', 'Closed', 'Open']);
    expect(snapshot).to.include({ state: 'Open', trippedBy: 'daily-loss', observedValue: '650', trips: 1, since: s(40) });
    expect(snapshot.reason).to.equal('daily-loss: 650 > 500');
  });

  it('a rule with for: 0s opens at once', () => {
    expect(run(config, [[0, ok(0, 12)]]).snapshot).to.include({ state: 'Open', trippedBy: 'quote-staleness' });
  });

  it('recovers Open → HalfOpen → Closed, and HalfOpen re-opens on any breach', () => {
    const { states } = run(config, [
      [0, ok(0, 12)], // open
      [60, ok(0, 1)], // clear since 60
      [170, ok(0, 1)],
      [180, ok(0, 1)], // 2 min clear → half-open
      [300, ok(0, 1)],
      [480, ok(0, 1)], // 5 min probation → closed
    ]);
    expect(states).to.deep.equal(['Open', 'Open', 'Open', 'HalfOpen', 'HalfOpen', 'Closed']);
    const reopened = run(config, [
      [0, ok(0, 12)],
      [60, ok(0, 1)],
      [180, ok(0, 1)],
      [190, ok(501)], // daily-loss holds for 0 s, but probation tolerates no breach
    ]);
    expect(reopened.states).to.deep.equal(['Open', 'Open', 'HalfOpen', 'Open']);
    expect(reopened.snapshot.trips).to.equal(2);
  });

  it('does not flap on a value oscillating around the threshold (hysteresis)', () => {
    const timeline: Array<[number, Record<string, Reading>]> = [];
    for (let t = 0; t <= 600; t += 5) timeline.push([t, ok(t % 10 === 0 ? 505 : 495)]);
    const { states, snapshot } = run(config, timeline);
    // Opens once after 30 s of holding (495 still counts as holding within the 10% margin) and stays open.
    expect(states.indexOf('Open')).to.equal(6);
    expect(new Set(states.slice(6))).to.deep.equal(new Set(['Open']));
    expect(snapshot.trips).to.equal(1);
    // Only a clear drop below 450 (10% of 500) starts recovery.
    const recovering = run(
      config,
      [
        [700, ok(449)],
        [820, ok(449)],
      ],
      snapshot,
    );
    expect(recovering.states).to.deep.equal(['Open', 'HalfOpen']);
  });

  it('fails safe when Prometheus cannot answer (open), or holds its state (hold)', () => {
    const blind: Record<string, Reading> = { 'daily-loss': { error: 'connect ECONNREFUSED' }, 'quote-staleness': { values: [1] } };
    const opened = step(config, initialSnapshot(0), blind, s(5));
    expect(opened.snapshot).to.include({ state: 'Open', trippedBy: 'PrometheusUnavailable' });
    expect(opened.prometheusUnavailable).to.equal(true);
    expect(opened.snapshot.reason).to.contain('daily-loss: connect ECONNREFUSED');
    const held = step({ ...config, onPrometheusUnavailable: 'hold' }, initialSnapshot(0), blind, s(5));
    expect(held.snapshot.state).to.equal('Closed');
    expect(held.transition).to.equal(undefined);
    // Blind time does not count as "clear": no recovery until readings return and stay clear.
    const { states } = run(config, [
      [0, ok(0, 12)],
      [10, blind],
      [300, blind],
      [310, ok(0, 1)],
      [420, ok(0, 1)],
      [430, ok(0, 1)],
    ]);
    expect(states).to.deep.equal(['Open', 'Open', 'Open', 'Open', 'Open', 'HalfOpen']);
  });

  it('resets to Closed by hand, keeping the trip count', () => {
    const open = run(config, [[0, ok(0, 12)]]).snapshot;
    const after = reset(open, s(9), 'annotation arbees.io/reset-breaker');
    expect(after.snapshot).to.include({ state: 'Closed', trips: 1, reason: 'reset by annotation arbees.io/reset-breaker' });
    expect(after.transition).to.deep.equal({ from: 'Open', to: 'Closed', reason: 'reset by annotation arbees.io/reset-breaker' });
  });
  it('lets a bounded gauge that is healthy at the threshold clear: one VPN blip neither trips later nor holds the breaker open', () => {
    // min(arbees_vpn_up) < 1: healthy is exactly 1, so a margin above the threshold is unreachable.
    const vpn: BreakerConfig = { ...config, rules: [{ name: 'vpn-down', query: 'min(arbees_vpn_up)', op: '<', threshold: 1, for: '1m' }] };
    const up = (value: number): Record<string, Reading> => ({ 'vpn-down': { values: [value] } });
    const blip = run(vpn, [
      [0, up(0)],
      [10, up(1)],
      [70, up(1)],
      [130, up(1)],
    ]);
    expect(blip.states).to.deep.equal(['Closed', 'Closed', 'Closed', 'Closed']);
    expect(blip.snapshot.holdingSince).to.deep.equal({});
    // A real outage of a minute trips it; the tunnel coming back (value 1 again) recovers it, the
    // margin delaying the start of recovery by at most `for` after the last reading of 0.
    const outage = run(
      vpn,
      [
        [200, up(0)],
        [230, up(0)],
        [260, up(0)],
      ],
      blip.snapshot,
    );
    expect(outage.states).to.deep.equal(['Closed', 'Closed', 'Open']);
    const timeline: Array<[number, Record<string, Reading>]> = [];
    for (let t = 270; t <= 450; t += 10) timeline.push([t, up(1)]);
    const back = run(vpn, timeline, outage.snapshot);
    expect(back.states.indexOf('HalfOpen')).to.equal(timeline.findIndex(([t]) => t === 320 + 120));
  });

  it("bridges dips within the margin only for the rule's `for` after its last real breach, and never trips on them", () => {
    const loss: BreakerConfig = {
      ...config,
      rules: [{ name: 'daily-loss', query: 'arbees_daily_loss_usd', op: '>', threshold: 500, for: '30s' }],
    };
    const at = (value: number): Record<string, Reading> => ({ 'daily-loss': { values: [value] } });
    // Holding since 0; 495 is within 10 % so the clock keeps running, but 495 itself does not trip.
    const held = run(loss, [
      [0, at(505)],
      [20, at(495)],
      [40, at(495)],
    ]);
    expect(held.states).to.deep.equal(['Closed', 'Closed', 'Closed']);
    expect(held.snapshot.holdingSince).to.deep.equal({}); // 40 s after the last breach: the margin no longer bridges
    const tripped = run(loss, [
      [0, at(505)],
      [20, at(495)],
      [29, at(505)],
      [31, at(506)],
    ]);
    expect(tripped.states).to.deep.equal(['Closed', 'Closed', 'Closed', 'Open']);
    // Open: a value inside the margin delays recovery by at most `for` after the last breach.
    const recovering = run(
      loss,
      [
        [40, at(495)],
        [60, at(495)],
        [61, at(495)],
        [180, at(495)],
        [181, at(495)],
      ],
      tripped.snapshot,
    );
    expect(recovering.states).to.deep.equal(['Open', 'Open', 'Open', 'Open', 'HalfOpen']);
  });

  it('counts +Inf as past any threshold and ignores NaN', () => {
    const latency: BreakerConfig = {
      ...config,
      rules: [{ name: 'latency', query: 'histogram_quantile(0.99, x)', op: '>', threshold: 2, for: '0s' }],
    };
    expect(step(latency, initialSnapshot(0), { latency: { values: [NaN] } }, s(1)).snapshot.state).to.equal('Closed');
    expect(step(latency, initialSnapshot(0), { latency: { values: [NaN, Infinity] } }, s(1)).snapshot).to.include({
      state: 'Open',
      observedValue: 'Infinity',
    });
  });

  it('reports why each unreadable rule failed', () => {
    const result = step(config, initialSnapshot(0), { 'daily-loss': { error: 'Prometheus unreachable: connect ECONNREFUSED' } }, s(1));
    expect(result.failures).to.deep.equal(['daily-loss: Prometheus unreachable: connect ECONNREFUSED', 'quote-staleness: not evaluated']);
  });
});
