// The operator's breaker replayed over recorded history: the same pure state machine (machine.ts),
// stepped at every evaluation time of a grid with the readings Prometheus's range queries gave for
// that time, so "would have tripped" is what the operator would have done — its `for` clocks,
// hysteresis, HalfOpen probation and cooldown included. Prometheus failures are not in the record:
// a time with no sample reads as an empty result, as the operator's instant query would.
//
// A week at one step a second is 600,000 evaluations, and a calibration replays each rule with
// hundreds of settings: stretches the machine would pass through without changing anything are
// skipped (exactly: see `replay`), which the machine itself is asked about.
import type { BreakerRule, BreakerState } from '../../contracts/trading-shard.js';
import type { Grid, Series } from './history.js';
import { gridTime } from './history.js';
import { initialSnapshot, step, type BreakerConfig, type BreakerSnapshot, type Reading } from './machine.js';

export interface Transition {
  at: number;
  from: BreakerState;
  to: BreakerState;
  reason: string;
  /** The rule that opened it, on transitions to Open. */
  trippedBy?: string;
}

/** Times at which a rule cannot breach: `at(i)`, and the first time from i on at which it may. */
export interface Quiet {
  at(i: number): boolean;
  next(i: number): number;
}

/** Grid times per block when looking for the next time a rule may breach. */
const block = 256;

interface Ranked {
  /** Each time's largest (smallest) value over the series, NaN where none had one. */
  extreme: Float64Array;
  /** The distinct extremes, ascending, and each time's rank among them (−1: no value). */
  values: Float64Array;
  rank: Int32Array;
  /** Per block of times: the highest and the lowest rank in it (−1 and count when it has none). */
  blockHigh: Int32Array;
  blockLow: Int32Array;
}

/** One rule's recorded result: every series, aligned to the grid. */
export class RuleHistory {
  /** same[i]: the reading at i equals the one at i − 1 (series values, NaN equal to NaN). */
  private readonly same: Uint8Array;
  private readonly ranked = new Map<'max' | 'min', Ranked>();

  constructor(
    readonly series: Series[],
    private readonly count: number,
  ) {
    this.same = new Uint8Array(count);
    for (let i = 1; i < count; i++) this.same[i] = series.every((s) => Object.is(s.values[i], s.values[i - 1])) ? 1 : 0;
  }

  /** What an instant query at grid time i would have returned (series without a sample left out). */
  reading(i: number): Reading {
    const values: number[] = [];
    for (const s of this.series) if (!Number.isNaN(s.values[i]!)) values.push(s.values[i]!);
    return { values };
  }

  sameAsPrevious(i: number): boolean {
    return this.same[i] === 1;
  }

  /** Each time's largest (or smallest) value over the series, NaN where none had one. */
  extreme(which: 'max' | 'min'): Float64Array {
    return this.rank(which).extreme;
  }

  private rank(which: 'max' | 'min'): Ranked {
    const known = this.ranked.get(which);
    if (known) return known;
    const extreme = new Float64Array(this.count).fill(NaN);
    for (const s of this.series) {
      for (let i = 0; i < this.count; i++) {
        const v = s.values[i]!;
        if (!Number.isNaN(v) && (Number.isNaN(extreme[i]!) || (which === 'max' ? v > extreme[i]! : v < extreme[i]!))) extreme[i] = v;
      }
    }
    const values = Float64Array.from(new Set(extreme.filter((v) => !Number.isNaN(v)))).sort();
    const index = new Map<number, number>();
    values.forEach((v, k) => index.set(v, k));
    const rank = new Int32Array(this.count);
    const blocks = Math.ceil(this.count / block);
    const blockHigh = new Int32Array(blocks).fill(-1);
    const blockLow = new Int32Array(blocks).fill(values.length);
    for (let i = 0; i < this.count; i++) {
      const r = Number.isNaN(extreme[i]!) ? -1 : index.get(extreme[i]!)!;
      rank[i] = r;
      const b = Math.floor(i / block);
      if (r > blockHigh[b]!) blockHigh[b] = r;
      if (r >= 0 && r < blockLow[b]!) blockLow[b] = r;
    }
    const ranked = { extreme, values, rank, blockHigh, blockLow };
    this.ranked.set(which, ranked);
    return ranked;
  }

  /**
   * When `rule` cannot breach, asking the machine itself which values breach: for > and >= they
   * are the values from some value up (for < and <=, down), so one question per halving of the
   * values seen finds the edge. Undefined for == and !=, which have no such edge.
   */
  quiet(config: BreakerConfig, rule: BreakerRule): Quiet | undefined {
    const up = rule.op === '>' || rule.op === '>=';
    if (!up && rule.op !== '<' && rule.op !== '<=') return undefined;
    const { values, rank, blockHigh, blockLow } = this.rank(up ? 'max' : 'min');
    const alone = { ...config, rules: [{ ...rule, for: '0s' }] };
    const breaches = (v: number) => step(alone, initialSnapshot(0), { [rule.name]: { values: [v] } }, 0).transition?.to === 'Open';
    // The first rank that breaches (up), or the first that does not (down).
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaches(values[mid]!) === up) hi = mid;
      else lo = mid + 1;
    }
    const edge = lo;
    const at = up ? (i: number) => rank[i]! < edge : (i: number) => rank[i]! === -1 || rank[i]! >= edge;
    const blockQuiet = up ? (b: number) => blockHigh[b]! < edge : (b: number) => blockLow[b]! >= edge;
    const count = this.count;
    return {
      at,
      next(i) {
        let j = i;
        while (j < count) {
          if (j % block === 0 && blockQuiet(j / block)) j += block;
          else if (at(j)) j += 1;
          else return j;
        }
        return count;
      },
    };
  }
}

export interface ReplayResult {
  transitions: Transition[];
  final: BreakerSnapshot;
  /** Stopped at a transition `stopAt` asked to stop at (the rest of the grid not replayed). */
  stopped: boolean;
}

/** Closed with no rule holding: a time at which no rule can breach leaves it so. */
const quietState = (s: BreakerSnapshot) => s.state === 'Closed' && Object.keys(s.holdingSince).length === 0;

/** Steps the machine through the grid; rules without a history read as empty results. `stopAt` may end it early. */
export function replay(
  config: BreakerConfig,
  histories: Record<string, RuleHistory | undefined>,
  grid: Grid,
  stopAt?: (t: Transition) => boolean,
): ReplayResult {
  const rules = config.rules.map((rule) => ({
    name: rule.name,
    history: histories[rule.name],
    quiet: histories[rule.name]?.quiet(config, rule),
  }));
  const empty: Reading = { values: [] };
  let snapshot = initialSnapshot(grid.start);
  const transitions: Transition[] = [];
  for (let i = 0; i < grid.count; i++) {
    // Skipping is exact: from a quiet state, readings that breach nothing (or repeat the ones that
    // left it quiet) lead back to it; only clearSince, which the first of them set, would be rewritten.
    if (i > 0 && quietState(snapshot)) {
      const next = Math.min(...rules.map((r) => (!r.history ? grid.count : r.quiet ? r.quiet.next(i) : i)));
      if (next > i) {
        i = next - 1;
        continue;
      }
      if (rules.every((r) => !r.history || r.quiet?.at(i) || r.history.sameAsPrevious(i))) continue;
    }
    const now = gridTime(grid, i);
    const readings: Record<string, Reading> = {};
    for (const r of rules) readings[r.name] = r.history ? r.history.reading(i) : empty;
    const result = step(config, snapshot, readings, now);
    snapshot = result.snapshot;
    if (!result.transition) continue;
    const transition: Transition = {
      at: now,
      ...result.transition,
      ...(result.transition.to === 'Open' ? { trippedBy: snapshot.trippedBy } : {}),
    };
    transitions.push(transition);
    if (stopAt?.(transition)) return { transitions, final: snapshot, stopped: true };
  }
  return { transitions, final: snapshot, stopped: false };
}
