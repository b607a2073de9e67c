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
    const recovering = run(config, [[700, ok(449)], [820, ok(449)]], snapshot);
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
    const { states } = run(config, [[0, ok(0, 12)], [10, blind], [300, blind], [310, ok(0, 1)], [420, ok(0, 1)], [430, ok(0, 1)]]);
    expect(states).to.deep.equal(['Open', 'Open', 'Open', 'Open', 'Open', 'HalfOpen']);
  });

  it('resets to Closed by hand, keeping the trip count', () => {
    const open = run(config, [[0, ok(0, 12)]]).snapshot;
    const after = reset(open, s(9), 'annotation arbees.io/reset-breaker');
    expect(after.snapshot).to.include({ state: 'Closed', trips: 1, reason: 'reset by annotation arbees.io/reset-breaker' });
    expect(after.transition).to.deep.equal({ from: 'Open', to: 'Closed', reason: 'reset by annotation arbees.io/reset-breaker' });
  });
});
