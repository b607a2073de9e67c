// The calibration's pure parts: the replay (the operator's machine over a recorded grid, skipping
// only what cannot change it), the outcome accounting, the threshold and `for` search, the
// healthy-quantile method, the findings, and the table and patch renderings.
import { expect } from 'chai';
import { parse } from 'yaml';
import type { BreakerRule } from '../../contracts/trading-shard.js';
import { calibrate, formatDuration, outcomeOf, quantile, type CalibrationInput, type Incident } from '../../operator/breaker/calibrate.js';
import { renderPatch, renderTable } from '../../operator/breaker/calibration-report.js';
import { parseDuration } from '../../operator/breaker/duration.js';
import { gridOf, gridTime, type Grid, type Series } from '../../operator/breaker/history.js';
import { initialSnapshot, step, type BreakerConfig } from '../../operator/breaker/machine.js';
import { replay, RuleHistory, type Transition } from '../../operator/breaker/replay.js';
import { prng } from '../support/prng.js';

const T0 = Date.UTC(2026, 10, 20, 18, 0, 0);
const grid = (count: number, stepMs = 1_000): Grid => ({ start: T0, stepMs, count });
const series = (values: number[], labels: Record<string, string> = {}): Series => ({ labels, values: Float64Array.from(values) });
const rule = (name: string, op: BreakerRule['op'], threshold: number, forText = '0s'): BreakerRule => ({
  name,
  query: `q_${name}`,
  op,
  threshold,
  for: forText,
});
const breaker = (rules: BreakerRule[], extra: Partial<BreakerConfig> = {}): BreakerConfig => ({
  rules,
  cooldown: '5s',
  halfOpenAfter: '3s',
  onPrometheusUnavailable: 'open',
  ...extra,
});
const at = (i: number) => T0 + i * 1_000;
const incident = (from: number, to: number): Incident => ({ start: at(from), end: at(to), label: `${from}-${to}` });

/** The machine stepped at every grid time with no skipping: what replay must equal. */
function naive(config: BreakerConfig, data: Record<string, Series[]>, g: Grid): Transition[] {
  let snapshot = initialSnapshot(g.start);
  const out: Transition[] = [];
  for (let i = 0; i < g.count; i++) {
    const readings = Object.fromEntries(
      config.rules.map((r) => [r.name, { values: (data[r.name] ?? []).map((s) => s.values[i]!).filter((v) => !Number.isNaN(v)) }]),
    );
    const result = step(config, snapshot, readings, gridTime(g, i));
    snapshot = result.snapshot;
    if (result.transition)
      out.push({ at: gridTime(g, i), ...result.transition, ...(result.transition.to === 'Open' ? { trippedBy: snapshot.trippedBy } : {}) });
  }
  return out;
}

const histories = (data: Record<string, Series[]>, count: number) =>
  Object.fromEntries(Object.entries(data).map(([name, list]) => [name, new RuleHistory(list, count)]));

/** A noisy healthy signal in [0, 2) with `level` during each given range. */
function signal(count: number, seed: number, bursts: Array<[number, number, number]>): number[] {
  const random = prng(seed);
  const values = Array.from({ length: count }, () => Math.round(random() * 200) / 100);
  for (const [from, to, level] of bursts) for (let i = from; i < to; i++) values[i] = level;
  return values;
}

describe('breaker calibration: replay', () => {
  it("equals the operator's machine stepped at every evaluation, on runs, gaps and flapping series", () => {
    const random = prng(7);
    const count = 3_000;
    // Values held for random runs (as a 15 s scrape looks at a 1 s step), with gaps and a second series.
    const runs = (scale: number) => {
      const values: number[] = [];
      while (values.length < count) {
        const value = random() < 0.05 ? NaN : Math.round(random() * scale * 10) / 10;
        values.push(...Array<number>(1 + Math.floor(random() * 20)).fill(value));
      }
      return values.slice(0, count);
    };
    const data = { age: [series(runs(12)), series(runs(8))], up: [series(runs(1).map((v) => (v > 0.1 ? 1 : 0)))] };
    const config = breaker([rule('age', '>', 9, '4s'), rule('up', '<', 1, '2s')]);
    const g = grid(count);
    const replayed = replay(config, histories(data, count), g);
    const expected = naive(config, data, g);
    expect(expected.length, 'the data makes the breaker move').to.be.greaterThan(20);
    expect(replayed.transitions).to.deep.equal(expected);
  });

  it('equals it too where every value differs, for every op (skipping what cannot breach)', () => {
    const random = prng(11);
    const count = 4_000;
    const noisy = (scale: number) => Array.from({ length: count }, () => (random() < 0.02 ? NaN : random() * scale));
    const data = {
      hi: [series(noisy(10)), series(noisy(9))],
      hiEq: [series(noisy(10))],
      lo: [series(noisy(1))],
      loEq: [series(noisy(1))],
      eq: [series(noisy(3).map(Math.round))],
    };
    const config = breaker([
      rule('hi', '>', 9.6, '2s'),
      rule('hiEq', '>=', 9.8, '0s'),
      rule('lo', '<', 0.03, '1s'),
      rule('loEq', '<=', 0.01, '0s'),
      rule('eq', '==', 3, '3s'),
    ]);
    const g = grid(count);
    const expected = naive(config, data, g);
    expect(new Set(expected.filter((t) => t.to === 'Open').map((t) => t.trippedBy)).size, 'every rule trips somewhere').to.equal(5);
    expect(replay(config, histories(data, count), g).transitions).to.deep.equal(expected);
  });

  it('trips after `for`, not on a shorter spike; re-opens at once on a breach in HalfOpen', () => {
    const values = [0, 0, 5, 5, 0, 0, 5, 5, 5, 5, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const g = grid(values.length);
    const config = breaker([rule('x', '>', 3, '2s')]);
    const { transitions } = replay(config, histories({ x: [series(values)] }, g.count), g);
    expect(transitions.map((t) => [(t.at - T0) / 1000, t.to, t.trippedBy])).to.deep.equal([
      [8, 'Open', 'x'], // held from 6: for 2s
      [13, 'HalfOpen', undefined], // clear from 10, halfOpenAfter 3s
      [15, 'Open', 'x'], // probation tolerates nothing, no `for`
      [19, 'HalfOpen', undefined],
      [24, 'Closed', undefined], // cooldown 5s
    ]);
  });

  it('reads a time with no sample as an empty result: it breaks a `for` clock', () => {
    const values = [5, 5, NaN, 5, 5, 5];
    const g = grid(values.length);
    const { transitions } = replay(breaker([rule('x', '>', 3, '2s')]), histories({ x: [series(values)] }, g.count), g);
    expect(transitions.map((t) => (t.at - T0) / 1000)).to.deep.equal([5]);
  });
});

describe('breaker calibration: outcomes', () => {
  it('counts trips, incidents tripped and halted in, time to halt and time halted outside incidents', () => {
    const g = grid(100);
    const transitions: Transition[] = [
      { at: at(10), from: 'Closed', to: 'Open', reason: 'r' }, // outside: 10..20 open
      { at: at(20), from: 'Open', to: 'HalfOpen', reason: '' },
      { at: at(25), from: 'HalfOpen', to: 'Closed', reason: '' },
      { at: at(45), from: 'Closed', to: 'Open', reason: 'r' }, // inside the 40..50 incident, open until 60
      { at: at(60), from: 'Open', to: 'HalfOpen', reason: '' },
      { at: at(90), from: 'HalfOpen', to: 'Open', reason: 'r' }, // inside 88..95, open to the end (100)
    ];
    const outcome = outcomeOf(
      { transitions, final: initialSnapshot(0), stopped: false },
      g,
      [incident(40, 50), incident(50, 55), incident(70, 80), incident(88, 95)],
      3_000,
    );
    expect(outcome).to.include({ trips: 3, tripsOutside: 1, haltedMs: 10_000 + 15_000 + 10_000 });
    // 50..55 was halted by the trip at 45 without a trip of its own.
    expect(outcome.caught).to.deep.equal([true, false, false, true]);
    expect(outcome.halted).to.deep.equal([true, true, false, true]);
    expect(outcome.delays).to.deep.equal([5_000, 0, undefined, 2_000]);
    // Open 10..20, 45..60 (55..60 outside), 90..100 (95..100 outside).
    expect(outcome.haltedOutsideMs).to.equal(10_000 + 5_000 + 5_000);
    expect(outcome.stuckOpen, 'open 5 s past a 7 s incident').to.equal(false);
    expect(
      outcomeOf({ transitions, final: initialSnapshot(0), stopped: false }, g, [incident(40, 50), incident(88, 90)], 3_000).stuckOpen,
      'open 10 s past a 2 s one',
    ).to.equal(true);
  });

  it('formats durations as the CRD writes them, and takes nearest-rank quantiles', () => {
    for (const ms of [0, 500, 1_000, 90_000, 3_600_000 + 1_500]) expect(parseDuration(formatDuration(ms))).to.equal(ms);
    expect(formatDuration(90_000)).to.equal('1m30s');
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect([quantile(sorted, 0.5), quantile(sorted, 0.99), quantile(sorted, 0.999), quantile(sorted, 1)]).to.deep.equal([
      500, 990, 999, 1000,
    ]);
  });
});

describe('breaker calibration: search', () => {
  const count = 400;
  const incidents = [incident(60, 90), incident(200, 220), incident(300, 340)];
  const input = (rules: BreakerRule[], data: Record<string, Series[]>, extra: Partial<CalibrationInput> = {}): CalibrationInput => ({
    breaker: breaker(rules),
    grid: grid(count),
    series: data,
    incidents,
    quantile: 0.999,
    margin: 1.5,
    ...extra,
  });

  it('proposes a threshold and `for` that catch every incident and never trip outside, where the current one misses', () => {
    // Healthy noise below 2, a healthy spike of 7 for 3 s, incidents at 9+ for 15-40 s.
    const values = signal(count, 1, [
      [70, 85, 9],
      [205, 220, 12],
      [310, 340, 10],
      [150, 153, 7],
    ]);
    const current = rule('age', '>', 20, '30s');
    const result = calibrate(input([current], { age: [series(values)] }));
    const [age] = result.rules;
    expect(age!.current.caught).to.deep.equal([false, false, false]);
    expect(age!.method).to.equal('incidents');
    expect(age!.targets).to.deep.equal([0, 1, 2]);
    expect(age!.proposal.caught).to.deep.equal([true, true, true]);
    expect(age!.proposal.tripsOutside).to.equal(0);
    // Either above the healthy spike, or a `for` longer than it: a replay says which.
    const { threshold } = age!.proposed;
    const forMs = parseDuration(age!.proposed.for);
    expect(threshold >= 7 || forMs >= 3_000, `${threshold} for ${age!.proposed.for}`).to.equal(true);
    expect(threshold).to.be.below(9);
    // The reported outcome is the replay of exactly the proposed setting.
    const g = grid(count);
    const again = outcomeOf(replay(breaker([age!.proposed]), histories({ age: [series(values)] }, count), g), g, incidents, 3_000);
    expect(again).to.deep.equal(age!.proposal);
    expect(result.breaker.proposed.caught).to.deep.equal([true, true, true]);
    expect(result.findings).to.deep.equal([]);
  });

  it('puts the threshold past the worst healthy value by the margin when that still catches the incidents', () => {
    const values = signal(count, 2, [
      [60, 90, 30],
      [200, 220, 30],
      [300, 340, 30],
    ]);
    const [age] = calibrate(input([rule('age', '>', 50, '0s')], { age: [series(values)] })).rules;
    const healthyMax = age!.outside.points.at(-1)!.value;
    expect(age!.proposed.threshold).to.equal(Number((healthyMax * 1.5).toPrecision(2)));
    expect(age!.proposed.for).to.equal('0s');
  });

  it('calibrates a `<` rule on an up gauge between its healthy 1 and its incident 0', () => {
    const up = Array<number>(count).fill(1);
    for (const [from, to] of [
      [62, 90],
      [201, 220],
      [305, 340],
    ] as const)
      up.fill(0, from, to);
    const [vpn] = calibrate(input([rule('vpn', '<', 1, '1m')], { vpn: [series(up)] })).rules;
    expect(vpn!.current.caught, 'no cut lasts the current 1m').to.deep.equal([false, false, false]);
    expect(vpn!.proposed).to.include({ op: '<', threshold: 0.5, for: '0s' });
    expect(vpn!.proposal.caught).to.deep.equal([true, true, true]);
    expect(vpn!.outside.points.map((p) => p.label)).to.deep.equal(['p50', 'p10', 'p1', 'p0.1', 'min']);
  });

  it('leaves incidents a rule cannot tell apart to other rules, and calibrates it from healthy data', () => {
    // Rejections only in the second incident; stale quotes in the first and third.
    const stale = signal(count, 3, [
      [60, 90, 15],
      [300, 340, 15],
    ]);
    const rejections = Array<number>(count).fill(0);
    rejections.fill(0.8, 205, 220);
    rejections.fill(0.1, 120, 121); // one healthy blip
    const result = calibrate(
      input([rule('stale', '>', 10, '30s'), rule('rejections', '>', 0.5, '1m'), rule('loss', '>=', 300)], {
        stale: [series(stale)],
        rejections: [series(rejections, { venue: 'kalshi' }), series(Array<number>(count).fill(0), { venue: 'polymarket' })],
        loss: [series(Array.from({ length: count }, (_, i) => i / 10))],
      }),
    );
    const [staleR, rejectR, lossR] = result.rules;
    expect(staleR!.targets).to.deep.equal([0, 2]);
    expect(rejectR!.targets).to.deep.equal([1]);
    expect(rejectR!.proposal.caught[1]).to.equal(true);
    expect(rejectR!.proposal.tripsOutside).to.equal(0);
    // The loss grows through the window: no incident to learn from, so p99.9 of healthy × 1.5.
    expect(lossR!.method).to.equal('quantile');
    expect(lossR!.proposed.for).to.equal('0s');
    expect(lossR!.proposed.threshold).to.equal(60);
    expect(result.breaker.proposed.caught).to.deep.equal([true, true, true]);
    expect(result.breaker.proposed.tripsOutside).to.equal(0);
    expect(result.breaker.current.caught, 'a 30 s incident never outlasts for: 30s').to.deep.equal([false, false, true]);
  });

  it('with no incidents: healthy quantile × margin, rounded away from healthy, `for` kept; a zero quantile keeps the threshold', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i % 100) / 10); // 0 … 9.9
    const result = calibrate({
      ...input([rule('age', '>', 3, '10s'), rule('rejections', '>', 0.05, '2m')], {
        age: [series(values)],
        rejections: [series(Array<number>(1000).fill(0))],
      }),
      grid: grid(1000),
      incidents: [],
    });
    const [age, rejections] = result.rules;
    expect(age!.method).to.equal('quantile');
    expect(age!.proposed).to.include({ threshold: 15, for: '10s' }); // 9.9 × 1.5 = 14.85, rounded up
    expect(age!.current.tripsOutside).to.be.greaterThan(0);
    expect(age!.proposal.trips).to.equal(0);
    expect(rejections!.method).to.equal('kept');
    expect(rejections!.proposed).to.deep.equal(rejections!.rule);
    expect(result.findings.some((f) => f.startsWith('rejections: ') && f.includes('is 0'))).to.equal(true);
  });

  it('reports a rule with no data, and a query Prometheus refuses, as findings', () => {
    const values = signal(count, 4, [
      [60, 90, 15],
      [200, 220, 15],
      [300, 340, 15],
    ]);
    const result = calibrate(
      input(
        [rule('age', '>', 10, '5s'), rule('typo', '>', 1), rule('broken', '>', 1)],
        { age: [series(values)], typo: [] },
        { queryErrors: { broken: 'query failed (HTTP 400): parse error' } },
      ),
    );
    const [, typo, broken] = result.rules;
    expect(typo).to.include({ method: 'kept', coverage: 0 });
    expect(result.findings).to.include(
      'typo: no data in the window: the query returned nothing, so this rule can never fire (check the metric name and labels)',
    );
    expect(broken!.method).to.equal('kept');
    expect(result.findings.find((f) => f.startsWith('broken: '))).to.contain('the breaker would stay open');
  });

  it('names the setting that would catch an incident no proposal catches, and how often it would trip outside', () => {
    const values = signal(count, 5, [
      [60, 90, 15],
      [200, 220, 15],
    ]); // nothing but noise in 300..340
    const result = calibrate(input([rule('age', '>', 10, '5s')], { age: [series(values)] }));
    expect(result.breaker.proposed.caught).to.deep.equal([true, true, false]);
    expect(result.breaker.proposed.tripsOutside, 'the proposal stays clean').to.equal(0);
    const finding = result.findings.find((f) =>
      f.startsWith('incident 3 (300-340): no rule catches it without tripping outside incidents; '),
    );
    // Only a threshold inside the noise trips in it, and so trips outside too.
    const [, threshold, trips] = /closest: age > ([\d.]+) for \S+ would, with (\d+) trip\(s\) outside incidents$/.exec(finding ?? '') ?? [];
    expect(Number(threshold), finding).to.be.below(2);
    expect(Number(trips), finding).to.be.at.least(1);
  });

  it('says so when no setting tried catches an incident at all', () => {
    const result = calibrate(input([rule('rejections', '>', 0.05, '0s')], { rejections: [series(Array<number>(count).fill(0))] }));
    expect(result.findings).to.include(
      'incident 1 (60-90): no rule catches it without tripping outside incidents; ' +
        'no setting tried catches it at all: it needs a rule on another signal',
    );
  });
});

describe('breaker calibration: rendering', () => {
  const count = 200;
  const incidents = [incident(50, 80), incident(120, 140)];
  const values = signal(count, 6, [
    [55, 80, 14],
    [125, 140, 14],
  ]);
  const result = calibrate({
    breaker: breaker([rule('stale-quotes', '>', 30, '1m'), rule('daily-loss', '>=', 300)]),
    grid: grid(count),
    series: { 'stale-quotes': [series(values)], 'daily-loss': [series(Array<number>(count).fill(12))] },
    incidents,
    quantile: 0.999,
    margin: 1.5,
  });
  const shard = { name: 'nba-paper', namespace: 'trading' };

  it('prints the window, the incidents, both distributions and current vs proposed', () => {
    const text = renderTable(result, shard, { cooldown: '5s', halfOpenAfter: '3s' });
    expect(text).to.contain('TradingShard trading/nba-paper');
    expect(text).to.contain('2026-11-20T18:00:50Z → 2026-11-20T18:01:20Z  (30s)');
    const proposed = result.rules[0]!.proposed;
    // tripped in, halted in, trips outside, halted outside
    expect(text).to.match(new RegExp(`stale-quotes\\s+current\\s+> 30 for 1m\\s+0/2\\s+0/2\\s+0\\s+0s`));
    expect(text).to.match(new RegExp(`proposed\\s+> ${proposed.threshold} for ${proposed.for}\\s+2/2\\s+2/2\\s+0\\s+\\d+s`));
    expect(text).to.match(/all rules\s+current\s+0\/2\s+0\/2/);
  });

  it('writes a merge patch listing every rule with its proposal, which parses back', () => {
    const text = renderPatch(result, shard);
    expect(text).to.contain('kubectl patch tradingshard nba-paper -n trading --type merge --patch-file');
    const patch = parse(text) as { spec: { circuitBreaker: { rules: BreakerRule[] } } };
    expect(Object.keys(patch)).to.deep.equal(['spec']);
    expect(Object.keys(patch.spec.circuitBreaker)).to.deep.equal(['rules']);
    expect(patch.spec.circuitBreaker.rules).to.deep.equal(result.rules.map((r) => r.proposed));
    expect(text).to.match(/# stale-quotes: was > 30 for 1m: caught 0\/2, 0 trip\(s\) outside; now caught 2\/2/);
  });
});

describe('breaker calibration: grid', () => {
  it('aligns the first evaluation to a multiple of the step and counts both ends', () => {
    expect(gridOf(T0 + 300, T0 + 10_000, 1_000)).to.deep.equal({ start: T0 + 1_000, stepMs: 1_000, count: 10 });
    expect(() => gridOf(T0 + 100, T0 + 200, 1_000)).to.throw(/holds no step/);
  });
});
