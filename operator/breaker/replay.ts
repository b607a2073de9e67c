// The operator's breaker replayed over recorded history: the same pure state machine (machine.ts),
// stepped at every evaluation time of a grid with the readings Prometheus's range queries gave for
// that time, so "would have tripped" is what the operator would have done — its `for` clocks,
// hysteresis, HalfOpen probation and cooldown included. Prometheus failures are not in the record:
// a time with no sample reads as an empty result, as the operator's instant query would.
import type { BreakerState } from '../../contracts/trading-shard.js';
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

/** One rule's recorded result: every series, aligned to the grid. */
export class RuleHistory {
  /** same[i]: the reading at i equals the one at i − 1 (series values, NaN equal to NaN). */
  private readonly same: Uint8Array;

  constructor(readonly series: Series[], count: number) {
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
}

export interface ReplayResult {
  transitions: Transition[];
  final: BreakerSnapshot;
}

/** Closed with no rule holding: a repeat of the same readings changes nothing the machine keeps. */
const quiet = (s: BreakerSnapshot) => s.state === 'Closed' && Object.keys(s.holdingSince).length === 0;

/** Steps the machine through the grid; rules without a history read as empty results. */
export function replay(config: BreakerConfig, histories: Record<string, RuleHistory | undefined>, grid: Grid): ReplayResult {
  const rules = config.rules.map((rule) => ({ name: rule.name, history: histories[rule.name] }));
  const empty: Reading = { values: [] };
  let snapshot = initialSnapshot(grid.start);
  const transitions: Transition[] = [];
  for (let i = 0; i < grid.count; i++) {
    // Skipping is exact: from a quiet state the same readings lead back to it (only clearSince,
    // which the first of them set, would be written again).
    if (i > 0 && quiet(snapshot) && rules.every((r) => !r.history || r.history.sameAsPrevious(i))) continue;
    const now = gridTime(grid, i);
    const readings: Record<string, Reading> = {};
    for (const r of rules) readings[r.name] = r.history ? r.history.reading(i) : empty;
    const result = step(config, snapshot, readings, now);
    snapshot = result.snapshot;
    if (result.transition) transitions.push({ at: now, ...result.transition, ...(result.transition.to === 'Open' ? { trippedBy: snapshot.trippedBy } : {}) });
  }
  return { transitions, final: snapshot };
}
