// Breaker thresholds calibrated from recorded history, without I/O. For each rule: the distribution
// of its worst value per evaluation inside and outside the labelled incidents; then, by replaying
// the operator's own breaker (replay.ts) with candidate settings, the threshold and `for` that
// catch every incident the rule can catch cleanly while tripping least outside incidents; with no
// such incident, a threshold at a quantile of healthy data times a margin. Every number reported
// for a setting — current or proposed — comes from a replay of that setting.
import type { BreakerRule } from '../../contracts/trading-shard.js';
import { parseDuration } from './duration.js';
import { gridTime, type Grid, type Series } from './history.js';
import type { BreakerConfig } from './machine.js';
import { replay, RuleHistory, type ReplayResult, type Transition } from './replay.js';

/** A window in which trading should have stopped, epoch ms [start, end). */
export interface Incident {
  start: number;
  end: number;
  label: string;
}

export interface CalibrationInput {
  breaker: BreakerConfig;
  grid: Grid;
  /** Each rule's recorded series by rule name; an empty list is a query that returned nothing. */
  series: Record<string, Series[]>;
  incidents: Incident[];
  /** For rules no incident calibrates: the quantile of healthy data (0.999) and the margin past it (1.5). */
  quantile: number;
  margin: number;
  /** Rules whose query Prometheus refused, and why. */
  queryErrors?: Record<string, string>;
}

export interface Distribution {
  samples: number;
  /** p50, p90, p99, p99.9 and max of the worst value per evaluation; the low tail (p10 … min) for `<` rules. */
  points: Array<{ label: string; value: number }>;
}

export interface Outcome {
  /** Transitions to Open. */
  trips: number;
  tripsOutside: number;
  /** Per incident: did the breaker trip (go to Open) inside it — detected it. */
  caught: boolean[];
  /** Per incident: was the breaker open at some time inside it, tripped there or still open from an earlier trip. */
  halted: boolean[];
  /** Per incident: from its start until the breaker was open (0 if it already was), if it was. */
  delays: Array<number | undefined>;
  haltedMs: number;
  /** Time open outside every incident: trading lost to the breaker. */
  haltedOutsideMs: number;
  /** Still open at the end, long after its last incident (or any): a rule that does not let go. */
  stuckOpen: boolean;
  transitions: Transition[];
}

/** incidents: replayed against the labelled incidents; quantile: from healthy data; kept: unchanged. */
export type Method = 'incidents' | 'quantile' | 'kept';

export interface RuleCalibration {
  rule: BreakerRule;
  /** Fraction of evaluation times at which the query returned a value. */
  coverage: number;
  outside: Distribution;
  inside: Distribution;
  proposed: BreakerRule;
  method: Method;
  /** Incidents (indices) some setting of this rule catches without a trip outside incidents. */
  targets: number[];
  /** This rule alone, replayed with its current and its proposed setting. */
  current: Outcome;
  proposal: Outcome;
  notes: string[];
}

export interface Calibration {
  grid: Grid;
  incidents: Incident[];
  quantile: number;
  margin: number;
  rules: RuleCalibration[];
  /** Every rule together, as the operator runs them. */
  breaker: { current: Outcome; proposed: Outcome };
  findings: string[];
}

/** `for` candidates, seconds: quick reactions first, up to half an hour. */
const forCandidatesS = [0, 1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800];
/** Threshold candidates per rule, at most (spread over the values seen). */
const maxThresholdCandidates = 32;
/** How far past the worst healthy value a threshold must be, relatively, to be learnt from an incident. */
const minSeparation = 0.05;

const ordered = (op: BreakerRule['op']) => op !== '==' && op !== '!=';
/** `<` and `<=` rules trip on low values: their worst is the minimum, their tail the low one. */
const lowTail = (op: BreakerRule['op']) => op === '<' || op === '<=';

/** CRD-style duration ("0s", "500ms", "1m30s", "2h"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) parts.push(`${amount}${unit}`);
    rest -= amount * size;
  }
  return parts.join('');
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
}

function sortedValues(worst: Float64Array, keep: (i: number) => boolean): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < worst.length; i++) if (!Number.isNaN(worst[i]!) && keep(i)) out.push(worst[i]!);
  return Float64Array.from(out).sort();
}

export function distribution(sorted: Float64Array, low: boolean): Distribution {
  if (sorted.length === 0) return { samples: 0, points: [] };
  const qs: Array<[string, number]> = low
    ? [
        ['p50', 0.5],
        ['p10', 0.1],
        ['p1', 0.01],
        ['p0.1', 0.001],
        ['min', 0],
      ]
    : [
        ['p50', 0.5],
        ['p90', 0.9],
        ['p99', 0.99],
        ['p99.9', 0.999],
        ['max', 1],
      ];
  return { samples: sorted.length, points: qs.map(([label, q]) => ({ label, value: q === 0 ? sorted[0]! : quantile(sorted, q) })) };
}

/** Which incident (index) each evaluation time falls in, −1 outside all. */
function incidentIndex(grid: Grid, incidents: Incident[]): Int32Array {
  const at = new Int32Array(grid.count).fill(-1);
  for (let i = 0; i < grid.count; i++) {
    const t = gridTime(grid, i);
    at[i] = incidents.findIndex((incident) => t >= incident.start && t < incident.end);
  }
  return at;
}

const inside = (t: number, incidents: Incident[]) => incidents.some((i) => t >= i.start && t < i.end);

/** Length of [from, to) outside every incident. */
function outsideLength(from: number, to: number, incidents: Incident[]): number {
  const covered = incidents
    .map((i) => [Math.max(from, i.start), Math.min(to, i.end)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let length = 0;
  let cursor = from;
  for (const [a, b] of covered) {
    if (a > cursor) length += a - cursor;
    cursor = Math.max(cursor, b);
  }
  return length + Math.max(0, to - cursor);
}

/** Open from `openedAt` to the end: longer after the incident it opened in than that incident lasted, plus halfOpenAfter. */
function stuck(openedAt: number, end: number, incidents: Incident[], halfOpenAfterMs: number): boolean {
  const during = incidents.find((i) => openedAt >= i.start && openedAt < i.end);
  return during ? end - during.end > during.end - during.start + halfOpenAfterMs : true;
}

/** What a replay cost and caught, measured against the incidents; `halfOpenAfterMs` is the breaker's. */
export function outcomeOf(result: ReplayResult, grid: Grid, incidents: Incident[], halfOpenAfterMs: number): Outcome {
  const end = gridTime(grid, grid.count - 1) + grid.stepMs;
  const open: Array<[number, number]> = [];
  let openedAt: number | undefined;
  for (const t of result.transitions) {
    if (t.to === 'Open') openedAt = t.at;
    else if (t.from === 'Open' && openedAt !== undefined) {
      open.push([openedAt, t.at]);
      openedAt = undefined;
    }
  }
  if (openedAt !== undefined) open.push([openedAt, end]);
  const trips = result.transitions.filter((t) => t.to === 'Open');
  const delays = incidents.map((incident) => {
    const first = open.find(([a, b]) => a < incident.end && b > incident.start);
    return first ? Math.max(0, first[0] - incident.start) : undefined;
  });
  return {
    trips: trips.length,
    tripsOutside: trips.filter((t) => !inside(t.at, incidents)).length,
    // Caught means tripped inside: a rule left open since an earlier incident (or one that never
    // lets go) would otherwise "catch" every later incident for free.
    caught: incidents.map((i) => trips.some((t) => t.at >= i.start && t.at < i.end)),
    halted: delays.map((d) => d !== undefined),
    delays,
    haltedMs: open.reduce((sum, [a, b]) => sum + (b - a), 0),
    haltedOutsideMs: open.reduce((sum, [a, b]) => sum + outsideLength(a, b, incidents), 0),
    stuckOpen: openedAt !== undefined && stuck(openedAt, end, incidents, halfOpenAfterMs),
    transitions: result.transitions,
  };
}

interface Scored {
  threshold: number;
  forMs: number;
  /** Up to the first trip outside incidents only, when `dirty`. */
  outcome: Outcome;
  caughtTargets: number;
  /** Tripped outside incidents: replayed only that far (no target can be learnt from it). */
  dirty: boolean;
}

const slowestMs = (o: Outcome) => Math.max(0, ...o.delays.map((d) => d ?? 0));

/** What a setting is judged by: more target incidents caught, not stuck open, fewer trips outside, less time halted outside. */
function judge(a: Scored, b: Scored): number {
  return (
    b.caughtTargets - a.caughtTargets ||
    Number(a.outcome.stuckOpen) - Number(b.outcome.stuckOpen) ||
    a.outcome.tripsOutside - b.outcome.tripsOutside ||
    a.outcome.haltedOutsideMs - b.outcome.haltedOutsideMs
  );
}

/** Among equals, the quicker to trip, then the shorter `for` (where the threshold goes is placeThreshold's call). */
const compare = (a: Scored, b: Scored) => judge(a, b) || slowestMs(a.outcome) - slowestMs(b.outcome) || a.forMs - b.forMs;

const sameScore = (a: Scored, b: Scored) => judge(a, b) === 0;

/** Distinct values spread over what was seen: quantiles overall, the healthy extremes, each incident's spread. */
function thresholdCandidates(worst: Float64Array, at: Int32Array, incidents: number, low: boolean): number[] {
  const picks = new Set<number>();
  const all = sortedValues(worst, () => true);
  if (all.length === 0) return [];
  for (let k = 0; k <= 24; k++) picks.add(quantile(all, k / 24));
  const healthy = sortedValues(worst, (i) => at[i] === -1);
  if (healthy.length > 0) for (const q of [0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) picks.add(quantile(healthy, q));
  for (let n = 0; n < incidents; n++) {
    const mine = sortedValues(worst, (i) => at[i] === n);
    if (mine.length > 0) for (const q of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]) picks.add(q === 0 ? mine[0]! : quantile(mine, q));
  }
  const sorted = [...picks].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length <= maxThresholdCandidates) return sorted;
  // Thin out evenly, keeping the healthy extreme (the edge of not tripping outside incidents).
  const edge = healthy.length > 0 ? (low ? healthy[0]! : healthy[healthy.length - 1]!) : undefined;
  const thinned = new Set(
    Array.from({ length: maxThresholdCandidates }, (_, k) => sorted[Math.round((k * (sorted.length - 1)) / (maxThresholdCandidates - 1))]!),
  );
  if (edge !== undefined && Number.isFinite(edge)) thinned.add(edge);
  return [...thinned].sort((a, b) => a - b);
}

/** `value` rounded to `digits` significant digits. */
function significant(value: number, digits: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

/** Healthy reference moved past itself by the margin: 1.5 puts a `>` threshold 50 % above it, a `<` one 50 % below. */
const pastMargin = (reference: number, margin: number, low: boolean) => reference + (low ? -1 : 1) * Math.abs(reference) * (margin - 1);

interface Context {
  input: CalibrationInput;
  histories: Record<string, RuleHistory>;
  at: Int32Array;
  halfOpenAfterMs: number;
}

function replayRule(ctx: Context, rule: BreakerRule, stopOutside = false): { outcome: Outcome; stopped: boolean } {
  const { grid, incidents, breaker } = ctx.input;
  // The search stops a replay at its first trip outside incidents: most candidates do, early, and
  // a setting that does is never the one a target incident is learnt from.
  const stop = stopOutside ? (t: Transition) => t.to === 'Open' && !inside(t.at, incidents) : undefined;
  const result = replay({ ...breaker, rules: [rule] }, { [rule.name]: ctx.histories[rule.name] }, grid, stop);
  return { outcome: outcomeOf(result, grid, incidents, ctx.halfOpenAfterMs), stopped: result.stopped };
}

function scored(ctx: Context, rule: BreakerRule, threshold: number, forMs: number, targets: number[], stopOutside = false): Scored {
  const { outcome, stopped } = replayRule(ctx, { ...rule, threshold, for: formatDuration(forMs) }, stopOutside);
  return { threshold, forMs, outcome, caughtTargets: targets.filter((n) => outcome.caught[n]).length, dirty: stopped };
}

/**
 * Where in the tied thresholds' range to put the proposal: as far past the healthy extreme as the
 * margin says, inside the range of equal outcomes, rounded to few significant digits.
 */
function placeThreshold(rule: BreakerRule, tied: number[], values: Float64Array, target: number): number[] {
  const low = lowTail(rule.op);
  const lo = Math.min(...tied);
  const hi = Math.max(...tied);
  // The replay's outcome changes only where the threshold passes a seen value: for `>` and `<=`
  // every threshold in [lo, next seen value above hi) acts alike; for `>=` and `<`, (previous below lo, hi].
  const closedBelow = rule.op === '>' || rule.op === '<=';
  const next = values.find((v) => v > hi) ?? Infinity;
  const previous = [...values].reverse().find((v) => v < lo) ?? -Infinity;
  const within = (v: number) => (closedBelow ? v >= lo && v < next : v > previous && v <= hi);
  let chosen: number;
  if (within(target)) chosen = target;
  else if (closedBelow) chosen = target < lo ? lo : Number.isFinite(next) ? (hi + next) / 2 : hi;
  else chosen = target > hi ? hi : Number.isFinite(previous) ? (previous + lo) / 2 : lo;
  // Rounded first (nicer in a spec): to the nearest, then up or down, with as few digits as fit;
  // then the exact choice; then the tied candidates, rounded the same way, then as they are.
  const rounded = (v: number) =>
    [2, 3, 4, 6].flatMap((d) => {
      const unit = 10 ** (Math.floor(Math.log10(Math.abs(v))) - d + 1);
      return [significant(v, d), significant(Math.ceil(v / unit) * unit, d), significant(Math.floor(v / unit) * unit, d)];
    });
  const ends = low ? [lo, hi] : [hi, lo];
  return [...new Set([...rounded(chosen), chosen, ...ends.flatMap(rounded), ...ends])].filter((v) => Number.isFinite(v) && within(v));
}

/** A rule's calibration, and the settings its search tried (for incidents no rule catches cleanly). */
interface RuleSearch {
  calibration: RuleCalibration;
  tried: Array<{ threshold: number; forMs: number }>;
}

function calibrateRule(ctx: Context, rule: BreakerRule, progress: (done: number, total: number) => void): RuleSearch {
  const calibration = (c: RuleCalibration, tried: RuleSearch['tried'] = []): RuleSearch => ({ calibration: c, tried });
  const { input, at } = ctx;
  const { grid, incidents } = input;
  const low = lowTail(rule.op);
  // The worst value at each evaluation: max over the series, min for `<` rules.
  const worst = ctx.histories[rule.name]!.extreme(low ? 'min' : 'max');
  const healthy = sortedValues(worst, (i) => at[i] === -1);
  const covered = worst.reduce((n, v) => n + (Number.isNaN(v) ? 0 : 1), 0);
  const base = {
    rule,
    coverage: covered / grid.count,
    outside: distribution(healthy, low),
    inside: distribution(
      sortedValues(worst, (i) => at[i] !== -1),
      low,
    ),
    current: replayRule(ctx, rule).outcome,
  };
  const kept = (notes: string[]): RuleSearch =>
    calibration({ ...base, proposed: rule, method: 'kept', targets: [], proposal: base.current, notes });
  const refused = input.queryErrors?.[rule.name];
  if (refused !== undefined) {
    const unavailable =
      input.breaker.onPrometheusUnavailable === 'open' ? 'the breaker would stay open' : 'the breaker would hold its state';
    return kept([`Prometheus refuses the query (${refused}): the operator counts that as Prometheus unavailable, so ${unavailable}`]);
  }
  if (covered === 0)
    return kept(['no data in the window: the query returned nothing, so this rule can never fire (check the metric name and labels)']);
  const notes =
    base.coverage < 0.95
      ? [
          `the query returned a value at only ${(base.coverage * 100).toFixed(1)} % of the evaluations` +
            ' (a labelled counter exists only from its first increment)',
        ]
      : [];
  if (!ordered(rule.op)) return kept([...notes, `op ${rule.op} has no threshold to move: not calibrated`]);
  const currentForMs = parseDuration(rule.for);

  // Without incidents the table's header says how; with them, why this rule fell back.
  const fromHealthy = (why?: string, tried: RuleSearch['tried'] = []): RuleSearch => {
    if (why) notes.push(why);
    if (healthy.length === 0) return kept([...notes, 'no data outside incidents to set a threshold from: kept']);
    const q = low ? 1 - input.quantile : input.quantile;
    const reference = quantile(healthy, q);
    if (reference === 0)
      return kept([...notes, `healthy p${(input.quantile * 100).toFixed(1)} is 0: no scale to set a threshold from: kept`]);
    // Rounded away from the healthy side, so rounding never eats into the margin.
    const raw = pastMargin(reference, input.margin, low);
    const digits = 10 ** (Math.floor(Math.log10(Math.abs(raw))) - 1);
    const threshold = (low ? Math.floor(raw / digits) : Math.ceil(raw / digits)) * digits;
    const proposed = { ...rule, threshold: significant(threshold, 2) };
    const proposal = replayRule(ctx, proposed).outcome;
    return calibration({ ...base, proposed, method: 'quantile', targets: [], proposal, notes }, tried);
  };
  if (incidents.length === 0) return fromHealthy();

  const longest = Math.max(...incidents.map((i) => i.end - i.start));
  const fors = [...new Set([...forCandidatesS.map((s) => s * 1000), currentForMs])].filter(
    (ms) => ms === 0 || (ms >= grid.stepMs && ms <= longest) || ms === currentForMs,
  );
  // A threshold hardly past the worst healthy value rests on a difference the next week may not
  // repeat (or on Prometheus's extrapolation of a counter): not a candidate.
  const edge = healthy.length > 0 ? (low ? healthy[0]! : healthy[healthy.length - 1]!) : undefined;
  const separated = (threshold: number) => edge === undefined || Math.abs(threshold - edge) >= minSeparation * Math.abs(edge);
  const seen = thresholdCandidates(worst, at, incidents.length, low);
  // Between the values seen too: a `>` threshold must lie below an incident's level to catch it.
  const between = seen.slice(1).map((v, k) => (v + seen[k]!) / 2);
  const nearEdge = edge === undefined ? [] : [edge + (low ? -1 : 1) * minSeparation * Math.abs(edge), pastMargin(edge, input.margin, low)];
  const thresholds = [...new Set([...seen, ...between, ...nearEdge])].filter(separated).sort((x, y) => x - y);
  const all = incidents.map((_, n) => n);
  const results: Scored[] = [];
  const total = fors.length * thresholds.length;
  for (const forMs of fors) {
    for (const threshold of thresholds) {
      results.push(scored(ctx, rule, threshold, forMs, all, true));
      progress(results.length, total);
    }
  }
  const tried = results.map(({ threshold, forMs }) => ({ threshold, forMs }));
  // Only clean settings are proposed: no trip outside incidents, and letting go afterwards (a rising
  // total that crosses a line during an incident is no signal of it). An incident that only a
  // setting tripping outside would catch is left to other rules, or reported (see calibrate).
  const clean = results.filter((r) => !r.dirty && !r.outcome.stuckOpen);
  const targets = all.filter((n) => clean.some((r) => r.outcome.caught[n]));
  if (targets.length === 0)
    return fromHealthy(
      'catches none of the labelled incidents without tripping outside them' +
        ` (a threshold within ${minSeparation * 100} % of the worst healthy value does not count)`,
      tried,
    );
  const best = [...clean].sort(compare)[0]!;
  const tied = clean.filter((r) => r.forMs === best.forMs && sameScore(r, best)).map((r) => r.threshold);
  const reference = edge ?? best.threshold;
  const values = sortedValues(worst, () => true);
  // The first placement that replays as well as the best candidate (hysteresis can tell them apart).
  let chosen = best;
  for (const threshold of placeThreshold(rule, tied, values, pastMargin(reference, input.margin, low)).filter(separated)) {
    const trial = threshold === best.threshold ? best : scored(ctx, rule, threshold, best.forMs, targets);
    if (sameScore(trial, best)) {
      chosen = trial;
      break;
    }
  }
  const proposed = { ...rule, threshold: chosen.threshold, for: formatDuration(chosen.forMs) };
  const missed = targets.filter((n) => !chosen.outcome.caught[n]);
  if (chosen.outcome.stuckOpen) notes.push('the proposal is still open at the end of the window, long after its last incident');
  if (missed.length > 0)
    notes.push(
      `no single setting catches all of incidents ${targets.map((n) => n + 1).join(', ')};` +
        ` this one misses ${missed.map((n) => n + 1).join(', ')}`,
    );
  return calibration({ ...base, proposed, method: 'incidents', targets, proposal: chosen.outcome, notes }, tried);
}

/** For an incident no proposal catches: the setting that does with the fewest trips outside incidents, if any. */
function closest(ctx: Context, searches: Map<BreakerRule, RuleSearch>, n: number, full: Map<string, Outcome>): string | undefined {
  let found: { text: string; trips: number } | undefined;
  for (const [rule, search] of searches) {
    for (const { threshold, forMs } of search.tried) {
      const setting = { ...rule, threshold, for: formatDuration(forMs) };
      const key = `${rule.name} ${threshold} ${forMs}`;
      const outcome = full.get(key) ?? replayRule(ctx, setting).outcome;
      full.set(key, outcome);
      if (outcome.caught[n] && (!found || outcome.tripsOutside < found.trips)) {
        found = { text: `${rule.name} ${rule.op} ${threshold} for ${setting.for}`, trips: outcome.tripsOutside };
      }
    }
  }
  return found && `${found.text} would, with ${found.trips} trip(s) outside incidents`;
}

/** Calibrates every rule of the breaker over the recorded series. `progress` hears each replay. */
export function calibrate(
  input: CalibrationInput,
  progress: (rule: string, done: number, total: number) => void = () => undefined,
): Calibration {
  const { grid, incidents } = input;
  const histories = Object.fromEntries(
    input.breaker.rules.map((rule) => [rule.name, new RuleHistory(input.series[rule.name] ?? [], grid.count)]),
  );
  const ctx: Context = {
    input,
    histories,
    at: incidentIndex(grid, incidents),
    halfOpenAfterMs: parseDuration(input.breaker.halfOpenAfter),
  };
  const searches = new Map(
    input.breaker.rules.map((rule) => [rule, calibrateRule(ctx, rule, (done, total) => progress(rule.name, done, total))]),
  );
  const rules = [...searches.values()].map((s) => s.calibration);
  const whole = (list: BreakerRule[]) =>
    outcomeOf(replay({ ...input.breaker, rules: list }, histories, grid), grid, incidents, ctx.halfOpenAfterMs);
  const breaker = { current: whole(input.breaker.rules), proposed: whole(rules.map((r) => r.proposed)) };

  const findings: string[] = [];
  for (const r of rules) for (const note of r.notes) findings.push(`${r.rule.name}: ${note}`);
  const full = new Map<string, Outcome>();
  incidents.forEach((incident, n) => {
    // Detected by some rule of its own, not only halted by one still open from before.
    if (rules.some((r) => r.proposal.caught[n])) return;
    const near = closest(ctx, searches, n, full);
    findings.push(
      `incident ${n + 1} (${incident.label}): no rule catches it without tripping outside incidents; ` +
        (near ? `closest: ${near}` : 'no setting tried catches it at all: it needs a rule on another signal'),
    );
  });
  if (breaker.proposed.tripsOutside > 0)
    findings.push(`the proposed settings still trip ${breaker.proposed.tripsOutside} time(s) outside incidents`);
  return { grid, incidents, quantile: input.quantile, margin: input.margin, rules, breaker, findings };
}
