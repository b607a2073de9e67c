// The circuit breaker's state machine, pure: given the rules' latest readings and the time, the
// next state. Closed → Open when a rule holds for its `for`; Open → HalfOpen once no rule has held
// for `halfOpenAfter`; HalfOpen → Closed after a probation (`cooldown`) without breach, back to
// Open on any breach. Hysteresis: once a rule holds, a value that dips back to within a margin of
// the threshold keeps it holding, so a value hovering at the threshold neither restarts the
// rule's `for` clock nor starts recovery. The margin bridges dips only for the rule's `for` after
// its last real breach, and only a real breach trips: a bounded metric that sits right at its
// threshold when healthy (an `up` gauge back at 1 for `< 1`, a ratio back at 1.0 for `< 0.99`)
// must clear, or one blip would hold the rule, trip it later and keep the breaker open forever.
import type { BreakerRule, BreakerState } from '../../contracts/trading-shard.js';
import { parseDuration } from './duration.js';

export interface BreakerConfig {
  rules: BreakerRule[];
  cooldown: string;
  halfOpenAfter: string;
  onPrometheusUnavailable: 'hold' | 'open';
  /** Fraction of |threshold| a value must clear by before a holding rule stops holding. */
  hysteresis?: number;
}

/** One evaluation of one rule: the series values the query returned, or why it failed. */
export type Reading = { values: number[] } | { error: string };

export interface BreakerSnapshot {
  state: BreakerState;
  /** Epoch ms of the last state change. */
  since: number;
  trips: number;
  trippedBy?: string;
  observedValue?: string;
  reason: string;
  /** Per rule: when it started holding (epoch ms), while it holds. */
  holdingSince: Record<string, number>;
  /** Per rule: the last evaluation (epoch ms) at which its value was past the threshold itself, while it holds. */
  lastBreach?: Record<string, number>;
  /** When the last rule stopped holding (epoch ms), while none holds. */
  clearSince?: number;
}

export const initialSnapshot = (now: number): BreakerSnapshot => ({
  state: 'Closed',
  since: now,
  trips: 0,
  reason: 'no rule has tripped',
  holdingSince: {},
});

function breaches(rule: BreakerRule, value: number, margin: number): boolean {
  switch (rule.op) {
    case '>':
      return value > rule.threshold - margin;
    case '>=':
      return value >= rule.threshold - margin;
    case '<':
      return value < rule.threshold + margin;
    case '<=':
      return value <= rule.threshold + margin;
    case '==':
      return value === rule.threshold;
    case '!=':
      return value !== rule.threshold;
  }
}

export interface Step {
  snapshot: BreakerSnapshot;
  /** Set when the state changed in this step, for events and logs. */
  transition?: { from: BreakerState; to: BreakerState; reason: string };
  prometheusUnavailable: boolean;
  /** Why, per rule that could not be evaluated ("daily-loss: Prometheus unreachable: …"). */
  failures: string[];
}

/** Advances the breaker by one evaluation at time `now`. */
export function step(config: BreakerConfig, previous: BreakerSnapshot, readings: Record<string, Reading>, now: number): Step {
  const hysteresis = config.hysteresis ?? 0.1;
  const holdingSince: Record<string, number> = {};
  const lastBreach: Record<string, number> = {};
  const failures: string[] = [];
  let tripping: { rule: BreakerRule; value: number } | undefined;
  let anyHolding = false;
  for (const rule of config.rules) {
    const reading = readings[rule.name];
    const heldSince = previous.holdingSince[rule.name];
    const breachedAt = previous.lastBreach?.[rule.name];
    if (!reading || 'error' in reading) {
      failures.push(`${rule.name}: ${reading ? reading.error : 'not evaluated'}`);
      // Keep the rule's clock while Prometheus is unreadable; do not invent a value.
      if (heldSince !== undefined) holdingSince[rule.name] = heldSince;
      if (breachedAt !== undefined) lastBreach[rule.name] = breachedAt;
      continue;
    }
    const forMs = parseDuration(rule.for);
    // NaN (0/0, an empty histogram) says nothing; ±Inf is a real value past any threshold.
    const values = reading.values.filter((v) => !Number.isNaN(v));
    const breaching = values.filter((v) => breaches(rule, v, 0));
    const margin = Math.abs(rule.threshold) * hysteresis;
    const bridged =
      breaching.length === 0 &&
      heldSince !== undefined &&
      breachedAt !== undefined &&
      now - breachedAt < forMs &&
      values.some((v) => breaches(rule, v, margin));
    if (breaching.length === 0 && !bridged) continue;
    anyHolding = true;
    const started = heldSince ?? now;
    holdingSince[rule.name] = started;
    lastBreach[rule.name] = breaching.length > 0 ? now : (breachedAt ?? now);
    if (breaching.length === 0) continue; // within the margin: the clock runs, but only a real breach trips
    const worst = rule.op.startsWith('<') ? Math.min(...breaching) : Math.max(...breaching);
    const heldLongEnough = now - started >= forMs;
    // In HalfOpen any breach re-opens at once: probation tolerates nothing.
    if ((heldLongEnough || previous.state === 'HalfOpen') && !tripping) tripping = { rule, value: worst };
  }

  const prometheusUnavailable = failures.length > 0;
  // "Clear" needs every rule read and none holding; blind time does not count toward recovery.
  const clear = !anyHolding && !prometheusUnavailable;
  const next: BreakerSnapshot = { ...previous, holdingSince, lastBreach, clearSince: clear ? (previous.clearSince ?? now) : undefined };
  const move = (to: BreakerState, reason: string, extra: Partial<BreakerSnapshot> = {}): Step => ({
    snapshot: { ...next, ...extra, state: to, since: now, reason },
    transition: { from: previous.state, to, reason },
    prometheusUnavailable,
    failures,
  });

  if (tripping && previous.state !== 'Open') {
    return move('Open', `${tripping.rule.name}: ${tripping.value} ${tripping.rule.op} ${tripping.rule.threshold}`, {
      trips: previous.trips + 1,
      trippedBy: tripping.rule.name,
      observedValue: String(tripping.value),
    });
  }
  if (prometheusUnavailable && config.onPrometheusUnavailable === 'open' && previous.state !== 'Open') {
    return move('Open', `Prometheus unavailable (fail safe): ${failures.join('; ')}`, {
      trips: previous.trips + 1,
      trippedBy: 'PrometheusUnavailable',
      observedValue: undefined,
    });
  }
  if (prometheusUnavailable) return { snapshot: next, prometheusUnavailable, failures }; // hold, or already open: no recovery while blind
  if (
    previous.state === 'Open' &&
    next.clearSince !== undefined &&
    now - Math.max(next.clearSince, previous.since) >= parseDuration(config.halfOpenAfter)
  ) {
    return move('HalfOpen', `no rule has held for ${config.halfOpenAfter}; probation with reduced order size`);
  }
  if (previous.state === 'HalfOpen' && now - previous.since >= parseDuration(config.cooldown)) {
    return move('Closed', `probation of ${config.cooldown} passed without a breach`, { trippedBy: undefined, observedValue: undefined });
  }
  return { snapshot: next, prometheusUnavailable, failures };
}

/** Manual reset (the arbees.io/reset-breaker annotation): closed, rule clocks cleared. */
export function reset(previous: BreakerSnapshot, now: number, who: string): Step {
  return {
    snapshot: {
      state: 'Closed',
      since: now,
      trips: previous.trips,
      reason: `reset by ${who}`,
      holdingSince: {},
      lastBreach: {},
      clearSince: undefined,
    },
    transition: previous.state === 'Closed' ? undefined : { from: previous.state, to: 'Closed', reason: `reset by ${who}` },
    prometheusUnavailable: false,
    failures: [],
  };
}
