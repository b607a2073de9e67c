// The chart's Grafana dashboards (charts/arbees/dashboards/*.json) and alerting rules
// (charts/arbees/files/prometheus-rules.yaml): well-formed, and — the point — every series a PromQL
// expression names is one the code exports (found by scanning the production folders for the
// prom-client declarations), a histogram's _bucket/_sum/_count, or a recording rule the chart
// defines; every label an expression matches or groups by exists on some series it reads. A renamed
// metric breaks this test instead of silently emptying a panel or an alert.
// promtool checks and tests the rules themselves: test/integration/alert-rules.test.ts.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { packageInfo } from '../../lib/package-root.js';

const root = packageInfo().root;
const chart = join(root, 'charts', 'arbees');

// ---------------------------------------------------------------------------------------------
// What the code exports

interface Exported {
  type: 'Counter' | 'Gauge' | 'Histogram' | 'Summary';
  labels: Set<string>;
  file: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Labels every scraped series gets from the scrape (ServiceMonitor/PodMonitor or files/scrape-config.yaml). */
const scrapeLabels = ['namespace', 'job', 'instance', 'pod', 'service', 'container', 'endpoint', 'component'];

function scanExports(): { found: Map<string, Exported>; declarations: number } {
  const found = new Map<string, Exported>();
  let declarations = 0;
  for (const file of ['contracts', 'lib', 'venues', 'workloads', 'operator'].flatMap((dir) => sourceFiles(join(root, dir)))) {
    const text = readFileSync(file, 'utf8');
    declarations += [...text.matchAll(/name: '(arbees_\w+)'/g)].length;
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '(arbees_\w+)'([\s\S]*?)\bregisters\b/g)) {
      const [, type, name, rest] = m as unknown as [string, Exported['type'], string, string];
      const labelList = /labelNames: \[([^\]]*)\]/.exec(rest)?.[1] ?? '';
      const labels = new Set([...labelList.matchAll(/'(\w+)'/g)].map((l) => l[1]!));
      // Workload registries carry the shard as a default label (registry.setDefaultLabels); the
      // operator's do not (its circuit-state gauge has `shard` as a label of its own).
      if (!relative(root, file).startsWith('operator')) labels.add('shard');
      found.set(name, { type, labels, file: relative(root, file) });
    }
  }
  return { found, declarations };
}
const scanned = scanExports();
const exported = scanned.found;

// ---------------------------------------------------------------------------------------------
// PromQL, as far as this test needs it: which series an expression reads, which labels it uses.

const functions = new Set(
  (
    'abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min count count_over_time count_values ' +
    'day_of_month day_of_week days_in_month delta deriv exp floor group histogram_quantile holt_winters hour idelta increase irate ' +
    'label_join label_replace last_over_time ln log10 log2 max max_over_time min min_over_time minute month predict_linear ' +
    'present_over_time quantile quantile_over_time rate resets round scalar sgn sort sort_desc sqrt stddev stddev_over_time stdvar ' +
    'stdvar_over_time sum sum_over_time time timestamp topk vector year'
  ).split(' '),
);
const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'Inf', 'NaN', 'inf', 'nan']);
/** Series Prometheus itself writes, with their labels. */
const builtinSeries: Record<string, string[]> = { ALERTS: ['alertname', 'alertstate', 'severity', 'shard', 'venue', 'rule'], up: [] };

interface Parsed {
  /** Series names read (metrics, recording rules, builtins). */
  series: string[];
  /** Labels in matchers, per series name. */
  matchers: Array<{ series: string; labels: string[] }>;
  /** Labels of by/without/on/ignoring/group_left/group_right. */
  grouping: string[];
  functions: string[];
}

function parsePromQL(expr: string): Parsed {
  let s = expr
    // Grafana variables ($__rate_interval, ${shard}, $shard): values, not names.
    .replace(/\$\{[^}]*\}|\$\w+/g, 'VAR')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const matchers: Parsed['matchers'] = [];
  s = s.replace(/([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}/g, (_all, name: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);
    matchers.push({ series: name ?? '', labels });
    return ` ${name ?? ''} `;
  });
  s = s.replace(/\[[^\]]*\]/g, ' ');
  const grouping: string[] = [];
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, _kw, list: string) => {
    grouping.push(
      ...list
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  s = s.replace(/\b(group_left|group_right)\b/g, ' ');
  const series: string[] = [];
  const fns: string[] = [];
  for (const m of s.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m as unknown as [string, string, string | undefined];
    if (keywords.has(name)) continue;
    if (call) fns.push(name);
    else series.push(name);
  }
  for (const m of matchers) if (m.series && !series.includes(m.series)) series.push(m.series);
  return { series, matchers, grouping, functions: fns };
}

describe('PromQL reader (of this test)', () => {
  it('finds series, matcher labels, grouping labels and functions, and ignores strings, durations and Grafana variables', () => {
    const p = parsePromQL(
      'histogram_quantile(0.99, sum by (shard, le) (rate(arbees_x_bucket{shard=~"$shard", ' +
        'a="b{c}=d"}[$__rate_interval]))) / on (shard) group_left () arbees:y offset 5m > bool 1e-3 or vector(Inf)',
    );
    expect(p.series.sort()).to.deep.equal(['arbees:y', 'arbees_x_bucket']);
    expect(p.matchers).to.deep.equal([{ series: 'arbees_x_bucket', labels: ['shard', 'a'] }]);
    expect(p.grouping).to.deep.equal(['shard', 'le', 'shard']);
    expect(p.functions).to.deep.equal(['histogram_quantile', 'sum', 'rate', 'vector']);
  });
});

// ---------------------------------------------------------------------------------------------
// The chart's rules and dashboards

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const rulesFile = parse(readFileSync(join(chart, 'files', 'prometheus-rules.yaml'), 'utf8')) as RuleFile;
const ruleTemplate = readFileSync(join(chart, 'templates', 'prometheus-rule.yaml'), 'utf8');
const rules = rulesFile.groups.flatMap((g) => g.rules);

/** Recording rules the chart defines (the file, plus the group the template renders from values), with their labels. */
const templatedRecords = [...ruleTemplate.matchAll(/record: (arbees:[\w:]+)/g)].map((m) => m[1]!);
function recordedSeries(): Map<string, Set<string>> {
  const recorded = new Map<string, Set<string>>();
  const add = (name: string, expr: string) => {
    const p = parsePromQL(expr);
    recorded.set(name, new Set([...(recorded.get(name) ?? []), ...p.grouping, 'namespace', 'shard']));
  };
  for (const r of rules) if (r.record) add(r.record, r.expr);
  for (const name of templatedRecords) add(name, '');
  return recorded;
}
const recorded = recordedSeries();

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr?: string; refId?: string; datasource?: { type: string; uid: string } }>;
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  multi?: boolean;
  includeAll?: boolean;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

const dashboardDir = join(chart, 'dashboards');
const dashboards = readdirSync(dashboardDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardDir, file), 'utf8')) as Dashboard }));

const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = (d: Dashboard): Panel[] => allPanels(d).filter((p) => p.type !== 'row');

/** Every PromQL expression of the chart, with where it comes from. */
function expressions(): Array<{ where: string; expr: string }> {
  const out = rules.map((r) => ({ where: `rules file: ${r.record ?? r.alert}`, expr: r.expr }));
  for (const { file, dashboard } of dashboards) {
    for (const p of queryPanels(dashboard))
      for (const t of p.targets ?? []) out.push({ where: `${file}: panel "${p.title}" ${t.refId}`, expr: t.expr ?? '' });
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const inner = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      if (v.type === 'query' && inner)
        out.push({ where: `${file}: variable ${v.name}`, expr: `${inner[1]!} / on (${inner[2]!}) ${inner[1]!}` });
    }
  }
  return out;
}

describe('chart: metric names in alerts and dashboards', () => {
  /** The labels a series has, or undefined if nothing exports or records it. */
  function labelsOf(name: string): Set<string> | undefined {
    const direct = exported.get(name);
    if (direct) return new Set([...direct.labels, ...scrapeLabels]);
    const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
    const base = histogram && exported.get(histogram[1]!);
    if (base && (base.type === 'Histogram' || base.type === 'Summary')) {
      return new Set([...base.labels, ...scrapeLabels, ...(histogram[2] === 'bucket' ? ['le'] : [])]);
    }
    const rec = recorded.get(name);
    if (rec) return rec;
    const builtin = builtinSeries[name];
    return builtin ? new Set([...builtin, ...scrapeLabels]) : undefined;
  }

  it('finds the metrics the breaker and the dashboards rely on, with their labels, by scanning the sources', () => {
    expect(exported.size, 'every `name: arbees_...` is a prom-client declaration this test understands').to.equal(scanned.declarations);
    expect(templatedRecords, 'the PrometheusRule template records the daily loss limit').to.deep.equal([
      'arbees:shard:daily_loss_limit_usd',
    ]);
    for (const [name, labels] of Object.entries({
      arbees_quotes_total: ['venue', 'shard'],
      arbees_quote_age_seconds: ['venue', 'market', 'shard'],
      arbees_ws_reconnects_total: ['venue', 'shard'],
      arbees_signals_total: ['kind', 'shard'],
      arbees_orders_total: ['venue', 'status', 'shard'],
      arbees_order_latency_seconds: ['venue', 'shard'],
      arbees_pnl_usd: ['shard'],
      arbees_daily_loss_usd: ['shard'],
      arbees_exposure_usd: ['shard'],
      arbees_risk_rejections_total: ['rule', 'shard'],
      arbees_vpn_up: ['shard'],
      arbees_operator_reconcile_total: ['result'],
      arbees_operator_reconcile_duration_seconds: [],
      arbees_operator_circuit_state: ['shard'],
    })) {
      expect(exported.get(name)?.labels, name).to.deep.equal(new Set(labels));
    }
    expect(exported.get('arbees_order_latency_seconds')?.type).to.equal('Histogram');
  });

  it('every series an expression reads is exported by the code, a histogram part of it, or recorded by the chart', () => {
    const unknown: string[] = [];
    for (const { where, expr } of expressions()) {
      for (const name of parsePromQL(expr).series) if (!labelsOf(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).to.deep.equal([]);
  });

  it('every label an expression matches on or groups by exists on a series it reads', () => {
    const wrong: string[] = [];
    for (const { where, expr } of expressions()) {
      const p = parsePromQL(expr);
      for (const m of p.matchers) {
        const known = labelsOf(m.series);
        for (const l of m.labels) if (known && !known.has(l)) wrong.push(`${where}: ${m.series} has no label ${l}`);
      }
      const available = new Set(p.series.flatMap((s) => [...(labelsOf(s) ?? [])]));
      // label_replace writes the labels it names; the rules file's breaker series gains `namespace`.
      for (const l of p.grouping) if (!available.has(l)) wrong.push(`${where}: no series read has label ${l}`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('uses only PromQL functions that exist', () => {
    const unknown = expressions().flatMap(({ where, expr }) =>
      parsePromQL(expr)
        .functions.filter((f) => !functions.has(f))
        .map((f) => `${where}: ${f}`),
    );
    expect(unknown).to.deep.equal([]);
  });

  it('would catch a misspelt metric', () => {
    expect(labelsOf('arbees_quote_age_second')).to.equal(undefined);
    expect(labelsOf('arbees_quotes_total_bucket'), 'a counter has no buckets').to.equal(undefined);
    expect(labelsOf('arbees_order_latency_seconds_bucket')?.has('le')).to.equal(true);
  });
});

describe('chart: alerting rules file', () => {
  const required = [
    'ArbeesShardHalted',
    'ArbeesBreakerFlapping',
    'ArbeesDailyLossNearLimit',
    'ArbeesStaleMarketData',
    'ArbeesVpnDown',
    'ArbeesOperatorReconcileErrors',
  ];
  const alerts = rules.filter((r) => r.alert);

  it('has the alerts of the circuit-breaker issue, each with a severity, a summary, a description and a runbook', () => {
    expect(alerts.map((a) => a.alert)).to.include.members(required);
    for (const a of alerts) {
      expect(a.labels?.severity, a.alert).to.be.oneOf(['critical', 'warning', 'info']);
      for (const key of ['summary', 'description', 'runbook'])
        expect(a.annotations?.[key], `${a.alert} ${key}`).to.be.a('string').and.not.equal('');
    }
  });

  it('names recording rules level:metric:operations, each once', () => {
    const records = rules.filter((r) => r.record).map((r) => r.record!);
    for (const r of records) expect(r).to.match(/^arbees:[a-z_]+:[a-z0-9_]+(:[a-z0-9_]+)?$/);
    expect(new Set(records).size).to.equal(records.length);
  });

  it('has a promtool test where every alert fires and one where it does not', () => {
    const tests = (
      parse(readFileSync(join(chart, 'files', 'prometheus-rules.test.yaml'), 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const cases = tests.filter((t) => t.alertname === a.alert);
      expect(
        cases.some((c) => c.exp_alerts.length > 0),
        `${a.alert} firing`,
      ).to.equal(true);
      expect(
        cases.some((c) => c.exp_alerts.length === 0),
        `${a.alert} not firing`,
      ).to.equal(true);
    }
  });
});

describe('chart: Grafana dashboards', () => {
  it('are the four of the issue, with unique uids and titles', () => {
    expect(dashboards.map((d) => d.file)).to.deep.equal(['breaker.json', 'money.json', 'shard-health.json', 'trading.json']);
    const uids = dashboards.map((d) => d.dashboard.uid);
    const titles = dashboards.map((d) => d.dashboard.title);
    expect(new Set(uids).size).to.equal(uids.length);
    expect(new Set(titles).size).to.equal(titles.length);
    for (const uid of uids) expect(uid).to.match(/^[a-z0-9-]{1,40}$/);
    for (const title of titles) expect(title).to.match(/^Arbees \/ /);
  });

  for (const { file, dashboard } of dashboards) {
    describe(file, () => {
      it('has a Prometheus data source variable and a multi-value shard variable queried through it', () => {
        const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
        expect(vars.datasource).to.include({ type: 'datasource', query: 'prometheus' });
        expect(vars.shard).to.include({ type: 'query', multi: true, includeAll: true });
        expect(vars.shard?.datasource).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
        expect(dashboard.schemaVersion).to.be.a('number');
      });

      it('has panels with unique ids, on the grid without overlapping, each querying through ${datasource}', () => {
        const panels = allPanels(dashboard);
        expect(new Set(panels.map((p) => p.id)).size).to.equal(panels.length);
        const queries = queryPanels(dashboard);
        expect(queries.length).to.be.greaterThan(2);
        const cells = new Set<string>();
        for (const p of panels) {
          const { x, y, w, h } = p.gridPos;
          expect(x + w, p.title).to.be.at.most(24);
          for (let i = x; i < x + w; i++)
            for (let j = y; j < y + h; j++) {
              expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).to.equal(false);
              cells.add(`${i},${j}`);
            }
        }
        for (const p of queries) {
          expect(p.title, `panel ${p.id}`).to.be.a('string').and.not.equal('');
          expect(p.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
          expect(p.targets, p.title).to.be.an('array').that.is.not.empty;
          const refIds = p.targets!.map((t) => t.refId);
          expect(new Set(refIds).size, p.title).to.equal(refIds.length);
          for (const t of p.targets!) {
            expect(t.expr, p.title).to.be.a('string').and.not.equal('');
            expect(t.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
          }
        }
      });

      it('filters by $shard wherever a query reads per-shard series', () => {
        for (const p of queryPanels(dashboard)) {
          for (const t of p.targets ?? []) {
            const perShard = parsePromQL(t.expr!).series.some(
              (s) =>
                s !== 'ALERTS' && (s.startsWith('arbees:') || exported.get(s.replace(/_(bucket|sum|count)$/, ''))?.labels.has('shard')),
            );
            if (perShard) expect(t.expr, `${file}: ${p.title}`).to.contain('shard=~"$shard"');
          }
        }
      });
    });
  }

  it('show what the issue asks for: shard health, trading, money, breaker timeline', () => {
    const reads = (file: string) =>
      new Set(
        queryPanels(dashboards.find((d) => d.file === file)!.dashboard).flatMap((p) =>
          (p.targets ?? []).flatMap((t) => parsePromQL(t.expr!).series),
        ),
      );
    expect([...reads('shard-health.json')]).to.include.members([
      'arbees_quotes_total',
      'arbees_quote_age_seconds',
      'arbees_stale_books',
      'arbees_ws_reconnects_total',
      'arbees_vpn_up',
    ]);
    expect([...reads('trading.json')]).to.include.members([
      'arbees_signals_total',
      'arbees_orders_total',
      'arbees_risk_rejections_total',
      'arbees_order_latency_seconds_bucket',
      'arbees_signal_to_order_seconds_bucket',
    ]);
    expect([...reads('money.json')]).to.include.members([
      'arbees_pnl_usd',
      'arbees_daily_loss_usd',
      'arbees:shard:daily_loss_limit_usd',
      'arbees_exposure_usd',
    ]);
    expect([...reads('breaker.json')]).to.include.members(['arbees_operator_circuit_state', 'arbees_operator_reconcile_total']);
    const timeline = queryPanels(dashboards.find((d) => d.file === 'breaker.json')!.dashboard).find((p) => p.type === 'state-timeline');
    expect(timeline?.targets?.[0]?.expr).to.contain('arbees_operator_circuit_state');
  });
});
