// A calibration as people read it (a table) and as kubectl takes it (a merge patch for
// spec.circuitBreaker, with the evidence in comments). Pure: text in, text out.
import { Document, isMap, type Node } from 'yaml';
import type { BreakerRule } from '../../contracts/trading-shard.js';
import type { Calibration, Distribution, Outcome, RuleCalibration } from './calibrate.js';
import { formatDuration } from './calibrate.js';
import { gridTime } from './history.js';

export interface ShardRef {
  name: string;
  namespace?: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** A duration for reading: whole seconds above a second. */
const human = (ms: number) => formatDuration(ms >= 1_000 ? Math.round(ms / 1_000) * 1_000 : Math.round(ms));
const number = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3))));
// Exact: a threshold shown rounded could read as equal to the healthy maximum it is just past.
const setting = (rule: BreakerRule) => `${rule.op} ${rule.threshold} for ${rule.for}`;
const shardName = (shard: ShardRef) => (shard.namespace ? `${shard.namespace}/${shard.name}` : shard.name);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

function distributionCells(d: Distribution): string[] {
  if (d.samples === 0) return ['0', '', '', '', '', ''];
  return [String(d.samples), ...d.points.map((p) => number(p.value))];
}

const count = (flags: boolean[], of: number) => (of === 0 ? '-' : `${flags.filter(Boolean).length}/${of}`);
const caught = (outcome: Outcome, of: number) => count(outcome.caught, of);

function slowest(outcome: Outcome): string {
  const delays = outcome.delays.filter((d): d is number => d !== undefined);
  return delays.length === 0 ? '-' : human(Math.max(...delays));
}

const whole = (o: Outcome, n: number) =>
  `tripped in ${caught(o, n)} and halted in ${count(o.halted, n)} incidents, ` +
  `${o.tripsOutside} trip(s) and ${human(o.haltedOutsideMs)} halted outside them`;

function outcomeCells(outcome: Outcome, incidents: number): string[] {
  return [
    caught(outcome, incidents),
    count(outcome.halted, incidents),
    String(outcome.tripsOutside),
    human(outcome.haltedOutsideMs),
    slowest(outcome),
  ];
}

function how(r: RuleCalibration, c: Calibration): string {
  if (r.method === 'incidents') return `incidents ${r.targets.map((n) => n + 1).join(',')}`;
  if (r.method === 'quantile') return `healthy ${r.rule.op.startsWith('<') ? 'low ' : ''}q${c.quantile} × ${c.margin}`;
  return 'kept';
}

/** The human table: window, incidents, distributions, current vs proposed, findings. */
export function renderTable(c: Calibration, shard: ShardRef, breaker: { cooldown: string; halfOpenAfter: string }): string {
  const n = c.incidents.length;
  const lines = [
    `Circuit-breaker calibration of TradingShard ${shardName(shard)}`,
    `Window ${iso(c.grid.start)} → ${iso(gridTime(c.grid, c.grid.count - 1))}, evaluated every ${human(c.grid.stepMs)}` +
      ` (${c.grid.count} evaluations); halfOpenAfter ${breaker.halfOpenAfter}, cooldown ${breaker.cooldown}`,
  ];
  if (n === 0) lines.push(`No incidents labelled: thresholds at the healthy quantile ${c.quantile} × margin ${c.margin}; \`for\` kept.`);
  else {
    lines.push(`Incidents (trading should have stopped):`);
    c.incidents.forEach((incident, i) =>
      lines.push(`  ${i + 1}  ${iso(incident.start)} → ${iso(incident.end)}  (${human(incident.end - incident.start)})  ${incident.label}`),
    );
  }

  lines.push('', 'Worst value per evaluation (max over series; min for < rules: p50 p10 p1 p0.1 min)');
  const head = ['rule', 'op', 'outside: n', 'p50', 'p90', 'p99', 'p99.9', 'max', '| inside: n', 'p50', 'p90', 'p99', 'p99.9', 'max'];
  const distRows = c.rules.map((r) => {
    const inside = distributionCells(r.inside);
    return [r.rule.name, r.rule.op, ...distributionCells(r.outside), `| ${inside[0]}`, ...inside.slice(1)];
  });
  lines.push(...table([head, ...distRows]));

  lines.push(
    '',
    "Settings replayed through the operator's breaker (the machine itself: for, hysteresis, HalfOpen probation).",
    'Tripped in: incidents it opened in. Halted in: incidents it was open in, from a trip there or before. Slowest halt: to open.',
  );
  const rows: string[][] = [['rule', '', 'setting', 'tripped in', 'halted in', 'trips outside', 'halted outside', 'slowest halt', 'from']];
  for (const r of c.rules) {
    rows.push([r.rule.name, 'current', setting(r.rule), ...outcomeCells(r.current, n), '']);
    rows.push(['', 'proposed', setting(r.proposed), ...outcomeCells(r.proposal, n), how(r, c)]);
  }
  rows.push(['all rules', 'current', '', ...outcomeCells(c.breaker.current, n), '']);
  rows.push(['', 'proposed', '', ...outcomeCells(c.breaker.proposed, n), '']);
  lines.push(...table(rows));

  if (c.findings.length > 0) lines.push('', 'Findings:', ...c.findings.map((f) => `- ${f}`));
  return lines.join('\n');
}

/** A merge patch of spec.circuitBreaker.rules (the whole list: a merge patch replaces lists), evidence in comments. */
export function renderPatch(c: Calibration, shard: ShardRef): string {
  const n = c.incidents.length;
  const rules = c.rules.map((r) => ({
    name: r.proposed.name,
    query: r.proposed.query,
    op: r.proposed.op,
    threshold: r.proposed.threshold,
    for: r.proposed.for,
  }));
  const doc = new Document({ spec: { circuitBreaker: { rules } } });
  const target = `${shard.name}${shard.namespace ? ` -n ${shard.namespace}` : ''}`;
  doc.commentBefore = [
    ` Proposed by \`arbees breaker calibrate\` for TradingShard ${shardName(shard)},`,
    ` from ${iso(c.grid.start)} to ${iso(gridTime(c.grid, c.grid.count - 1))}`,
    ` every ${human(c.grid.stepMs)}, against ${n} labelled incident(s). Nothing has been applied. To apply it:`,
    `   kubectl patch tradingshard ${target} --type merge --patch-file <this file>`,
    ' A merge patch replaces the whole rule list, so every rule is here, changed or not.',
    ` Whole breaker, current: ${whole(c.breaker.current, n)};`,
    `   proposed: ${whole(c.breaker.proposed, n)}.`,
  ].join('\n');
  const list = doc.getIn(['spec', 'circuitBreaker', 'rules'], true) as Node & { items: Node[] };
  c.rules.forEach((r, i) => {
    const item = list.items[i];
    if (!isMap(item)) return;
    const was = `was ${setting(r.rule)}: caught ${caught(r.current, n)}, ${r.current.tripsOutside} trip(s) outside`;
    const now = `now caught ${caught(r.proposal, n)}, ${r.proposal.tripsOutside} trip(s) outside (${how(r, c)})`;
    item.commentBefore = [` ${r.rule.name}: ${was}; ${now}`, ...r.notes.map((note) => ` ${note}`)].join('\n');
  });
  return doc.toString({ lineWidth: 0 });
}
