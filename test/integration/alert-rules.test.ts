// The chart's monitoring against the real tools: promtool checks and unit-tests
// charts/arbees/files/prometheus-rules.yaml (and refuses a broken copy), helm renders the
// PrometheusRule from that same file plus the daily loss limits from values (promtool checks the
// rendered rules too), the ServiceMonitor/PodMonitor select exactly what the operator's builders
// create, and the dashboards' queries are valid PromQL. Names and labels: test/unit/dashboards.test.ts.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { requireBinary } from '../../cli/local/binaries.js';
import { components, type TradingShard } from '../../contracts/trading-shard.js';
import { expectedObjects } from '../support/shard-objects.js';
import { defaultShardNetwork, publicVenueEndpoints, type OperatorSettings } from '../../operator/builders/settings.js';
import { packageInfo } from '../../lib/package-root.js';
import { tool } from '../rig/tools.js';

const run = promisify(execFile);
const chart = join(packageInfo().root, 'charts', 'arbees');
const files = join(chart, 'files');

/* eslint-disable
  @typescript-eslint/no-explicit-any,
  @typescript-eslint/no-unsafe-member-access,
  @typescript-eslint/no-unsafe-assignment,
  @typescript-eslint/no-unsafe-argument,
  @typescript-eslint/no-unsafe-call,
  @typescript-eslint/no-unsafe-return -- Kubernetes and rule objects are walked as plain YAML here
*/
type Obj = any;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its exit code and output instead of throwing on failure. */
async function outcome(binary: string, args: string[], cwd?: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const promtool = () => requireBinary('promtool', 'run `apt-get install prometheus` (it ships promtool; scripts/setup-system.sh does it)');

async function helmTemplate(...sets: string[]): Promise<Obj[]> {
  const args = ['template', 'mon', chart, '--namespace', 'arbees-system', ...sets.flatMap((s) => ['--set', s])];
  const { stdout } = await run(tool('helm'), args, { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d): Obj => d.toJS())
    .filter(Boolean);
}

const rulesFile = () => parse(readFileSync(join(files, 'prometheus-rules.yaml'), 'utf8')) as { groups: Obj[] };
const ruleCount = (groups: Obj[]) => groups.reduce((n: number, g: Obj) => n + (g.rules as unknown[]).length, 0);

describe('chart monitoring: alerting rules (promtool)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'arbees-rules-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('promtool accepts the rules file', async () => {
    const result = await outcome(promtool(), ['check', 'rules', join(files, 'prometheus-rules.yaml')]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain(`SUCCESS: ${ruleCount(rulesFile().groups)} rules found`);
  });

  it("passes the rules' unit tests (every alert firing and not firing)", async () => {
    const result = await outcome(promtool(), ['test', 'rules', 'prometheus-rules.test.yaml'], files);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain('SUCCESS');
  });

  it('refuses a copy with a syntax error', async () => {
    const broken = join(dir, 'syntax.yaml');
    const text = readFileSync(join(files, 'prometheus-rules.yaml'), 'utf8');
    expect(text).to.contain('expr: arbees:shard:circuit_state == 2');
    writeFileSync(broken, text.replace('expr: arbees:shard:circuit_state == 2', 'expr: arbees:shard:circuit_state == == 2'));
    const result = await outcome(promtool(), ['check', 'rules', broken]);
    expect(result.code).to.not.equal(0);
    expect(result.stdout + result.stderr).to.match(/parse error/);
  });

  it('fails the unit tests of a copy whose alert threshold was changed', async () => {
    const text = readFileSync(join(files, 'prometheus-rules.yaml'), 'utf8');
    expect(text).to.contain('arbees:shard:daily_loss_ratio >= 0.8');
    writeFileSync(
      join(dir, 'prometheus-rules.yaml'),
      text.replace('arbees:shard:daily_loss_ratio >= 0.8', 'arbees:shard:daily_loss_ratio >= 0.9'),
    );
    copyFileSync(join(files, 'prometheus-rules.test.yaml'), join(dir, 'prometheus-rules.test.yaml'));
    expect((await outcome(promtool(), ['check', 'rules', join(dir, 'prometheus-rules.yaml')])).code, 'still valid rules').to.equal(0);
    const result = await outcome(promtool(), ['test', 'rules', 'prometheus-rules.test.yaml'], dir);
    expect(result.code).to.not.equal(0);
    expect(result.stdout + result.stderr)
      .to.contain('FAILED')
      .and.to.contain('ArbeesDailyLossNearLimit');
  });
});

describe('chart monitoring: helm renders it', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'arbees-monitoring-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('renders nothing for monitoring by default, and lints clean with everything on', async () => {
    const kinds = (await helmTemplate()).map((o) => o.kind);
    expect(kinds).to.not.include.members(['PrometheusRule', 'ServiceMonitor', 'PodMonitor']);
    expect(kinds).to.not.include('ConfigMap');
    const lint = await outcome(tool('helm'), [
      'lint',
      '--strict',
      chart,
      '--set',
      'monitoring.prometheusRule.enabled=true,monitoring.serviceMonitor.enabled=true,monitoring.dashboards.enabled=true',
    ]);
    expect(lint.code, lint.stdout + lint.stderr).to.equal(0);
    expect(lint.stdout).to.contain('0 chart(s) failed');
  });

  it("puts the rules file's groups verbatim in the PrometheusRule, with the Prometheus' selector labels", async () => {
    const objects = await helmTemplate('monitoring.prometheusRule.enabled=true', 'monitoring.prometheusRule.labels.release=kps');
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    expect(rules).to.have.length(1);
    expect(rules[0].apiVersion).to.equal('monitoring.coreos.com/v1');
    expect(rules[0].metadata.labels).to.include({ release: 'kps', 'app.kubernetes.io/instance': 'mon' });
    // No limits configured: no limits group.
    expect(rules[0].spec.groups).to.deep.equal(rulesFile().groups);
  });

  it('records the daily loss limits from values, which promtool accepts and the alert uses', async () => {
    const objects = await helmTemplate(
      'monitoring.prometheusRule.enabled=true',
      'monitoring.prometheusRule.dailyLossLimits.defaultUsd=300',
      'monitoring.prometheusRule.dailyLossLimits.perShardUsd.nfl-live=150',
      'monitoring.prometheusRule.dailyLossLimits.perShardUsd.nba-west=2000000',
    );
    const groups: Obj[] = objects.find((o) => o.kind === 'PrometheusRule').spec.groups;
    expect(groups.slice(0, -1)).to.deep.equal(rulesFile().groups);
    const limits = groups.at(-1);
    expect(limits.name).to.equal('arbees-daily-loss-limits');
    expect(limits.rules.map((r: Obj) => r.record)).to.deep.equal(['arbees:shard:daily_loss_limit_usd']);

    writeFileSync(join(dir, 'rendered-rules.yaml'), stringify({ groups }));
    const check = await outcome(promtool(), ['check', 'rules', join(dir, 'rendered-rules.yaml')]);
    expect(check.code, check.stdout + check.stderr).to.equal(0);

    const series = (shard: string, loss: number) => ({
      series: `arbees_daily_loss_usd{namespace="trading", job="${shard}-executor", instance="10.1.0.5:9464", shard="${shard}"}`,
      values: `${loss}x5`,
    });
    const test = {
      rule_files: ['rendered-rules.yaml'],
      evaluation_interval: '1m',
      group_eval_order: ['arbees-daily-loss-limits', 'arbees-recording', 'arbees-alerts'],
      tests: [
        {
          interval: '1m',
          // nfl-live: its own limit, 150 (120 is 80%); nba-east: the default, 300 (80% is 240, so 239
          // does not alert); nba-west: 2,000,000, written out in full.
          input_series: [series('nfl-live', 120), series('nba-east', 239), series('nba-west', 1_000_000)],
          promql_expr_test: [
            {
              expr: 'arbees:shard:daily_loss_limit_usd',
              eval_time: '2m',
              exp_samples: [
                { labels: 'arbees:shard:daily_loss_limit_usd{shard="nfl-live"}', value: 150 },
                { labels: 'arbees:shard:daily_loss_limit_usd{shard="nba-west"}', value: 2_000_000 },
                { labels: 'arbees:shard:daily_loss_limit_usd{shard="nba-east"}', value: 300 },
              ],
            },
          ],
          alert_rule_test: [
            {
              eval_time: '3m',
              alertname: 'ArbeesDailyLossNearLimit',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', namespace: 'trading', shard: 'nfl-live' },
                  exp_annotations: annotationsOf('ArbeesDailyLossNearLimit', 'nfl-live', '80%'),
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'rendered.test.yaml'), stringify(test));
    const result = await outcome(promtool(), ['test', 'rules', 'rendered.test.yaml'], dir);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it('refuses monitoring values outside the schema', async () => {
    for (const [set, message] of [
      ['monitoring.serviceMonitor.shards.kind=Probe', /monitoring\.serviceMonitor\.shards\.kind.*must be one of/s],
      [
        'monitoring.prometheusRule.dailyLossLimits.perShardUsd.Not_A_Shard=10',
        /perShardUsd: Property name of "Not_A_Shard" does not match/,
      ],
      ['monitoring.prometheusRule.dailyLossLimits.defaultUsd=-1', /defaultUsd: Must be greater than or equal to 0/],
      ['monitoring.serviceMonitor.interval=5x', /monitoring\.serviceMonitor\.interval: Does not match pattern/],
      ['monitoring.dashboards.colour=blue', /monitoring\.dashboards: Additional property colour is not allowed/],
    ] as const) {
      const result = await outcome(tool('helm'), ['template', 'x', chart, '--set', set]);
      expect(result.code, set).to.not.equal(0);
      expect(result.stderr, set).to.match(message);
    }
  });

  it('ships every dashboard in a ConfigMap labelled for the Grafana sidecar', async () => {
    const objects = await helmTemplate('monitoring.dashboards.enabled=true', 'monitoring.dashboards.annotations.grafana_folder=Arbees');
    const maps = objects.filter((o) => o.kind === 'ConfigMap');
    const jsonFiles = readdirSync(join(chart, 'dashboards')).filter((f) => f.endsWith('.json'));
    expect(maps).to.have.length(jsonFiles.length);
    for (const file of jsonFiles) {
      const map = maps.find((m) => m.data?.[file] !== undefined);
      expect(map, file).to.not.equal(undefined);
      expect(map.metadata.labels).to.include({ grafana_dashboard: '1' });
      expect(map.metadata.annotations).to.deep.equal({ grafana_folder: 'Arbees' });
      expect(map.metadata.namespace).to.equal('arbees-system');
      expect(JSON.parse(map.data[file])).to.deep.equal(JSON.parse(readFileSync(join(chart, 'dashboards', file), 'utf8')));
    }
  });

  it("the dashboards' queries are valid PromQL (Grafana variables filled in)", async () => {
    const rules: Array<{ record: string; expr: string }> = [];
    for (const file of readdirSync(join(chart, 'dashboards')).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(chart, 'dashboards', file), 'utf8'));
      const panels: Obj[] = dashboard.panels.flatMap((p: Obj) => [p, ...(p.panels ?? [])]);
      for (const panel of panels) {
        for (const target of panel.targets ?? []) {
          const expr = String(target.expr).replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replaceAll('$shard', '.*');
          expect(expr, `${file}: ${panel.title}`).to.not.contain('$');
          rules.push({ record: `dashboard:${file.replace(/\W/g, '_')}:${rules.length}`, expr });
        }
      }
    }
    writeFileSync(join(dir, 'dashboard-queries.yaml'), stringify({ groups: [{ name: 'dashboards', rules }] }));
    const result = await outcome(promtool(), ['check', 'rules', join(dir, 'dashboard-queries.yaml')]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain(`SUCCESS: ${rules.length} rules found`);
  });
});

const settings: OperatorSettings = {
  workloadImage: 'ghcr.io/arbees/arbees:1.0.0',
  vpnImage: 'qmcgaw/gluetun:v3.40.0',
  connectionsSecret: 'arbees-connections',
  redisAclUsers: false,
  redisPort: 6379,
  postgresPort: 5432,
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  metricsPort: 9464,
  venues: publicVenueEndpoints,
  network: defaultShardNetwork,
  allowedImages: {},
  allowedVpnImages: {},
  liveTradingNamespaces: [],
};
// Live; the polymarket-proxy Service exists in every mode (it must yield no target).
const shard: TradingShard = {
  apiVersion: 'arbees.io/v1alpha1',
  kind: 'TradingShard',
  metadata: { name: 'nba-east', namespace: 'trading', uid: '6f1c2a9e-0000-4000-8000-000000000001', generation: 1 },
  spec: {
    paused: false,
    markets: [
      {
        id: 'phi-lal-lal',
        sport: 'nba',
        kalshi: { ticker: 'KXNBAGAME-26NOV24PHILAL-LAL' },
        polymarket: { yesTokenId: '71321', noTokenId: '52114' },
      },
    ],
    venues: {
      kalshi: { environment: 'production', credentialsSecretRef: { name: 'kalshi' }, marketDataSecretRef: { name: 'kalshi-market-data' } },
      polymarket: {
        credentialsSecretRef: { name: 'polymarket' },
        vpn: { provider: 'mullvad', type: 'wireguard', serverCountries: ['Netherlands'], secretRef: { name: 'vpn' } },
      },
    },
    detector: { minEdgeBps: 50, maxQuoteAgeMs: 2000, cooldownMs: 5000 },
    executor: {
      mode: 'live',
      bankrollUsd: 10000,
      limits: { perGameUsd: 500, perSportUsd: 2000, dailyLossUsd: 300, maxOpenPositions: 20, maxOrderUsd: 100 },
    },
    circuitBreaker: { rules: [], cooldown: '5m', halfOpenAfter: '2m', onPrometheusUnavailable: 'open' },
  },
};

describe('chart monitoring: scrape targets match what the operator builds', function () {
  this.timeout(120_000);

  const built = expectedObjects(shard, settings) as Obj[];

  /** A Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist). */
  function selects(selector: Obj, labels: Record<string, string>): boolean {
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of selector.matchExpressions ?? []) {
      const has = e.key in labels;
      if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
      if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
      if (e.operator === 'Exists' && !has) return false;
      if (e.operator === 'DoesNotExist' && has) return false;
    }
    return true;
  }

  /** The targets a ServiceMonitor yields from the built Services: name and port. */
  function serviceTargets(monitor: Obj): string[] {
    const port = monitor.spec.endpoints[0].port;
    return built
      .filter((o) => o.kind === 'Service' && selects(monitor.spec.selector, o.metadata.labels))
      .filter((s) => s.spec.ports.some((p: Obj) => p.name === port))
      .map((s) => s.metadata.name as string)
      .sort();
  }

  it('the shards ServiceMonitor scrapes the metrics port of every component Service of every namespace, and nothing else', async () => {
    const objects = await helmTemplate('monitoring.serviceMonitor.enabled=true', 'monitoring.serviceMonitor.labels.release=kps');
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).to.deep.equal(['mon-operator', 'mon-shards']);
    for (const m of monitors) expect(m.metadata.labels).to.include({ release: 'kps' });
    const shards = monitors.find((m) => m.metadata.name === 'mon-shards');
    expect(shards.spec.namespaceSelector).to.deep.equal({ any: true });
    expect(serviceTargets(shards)).to.deep.equal(components.map((c) => `nba-east-${c}`).sort());
    // The metrics port is where the containers serve /metrics.
    for (const service of built.filter((o) => o.kind === 'Service' && serviceTargets(shards).includes(o.metadata.name))) {
      expect(service.spec.ports.find((p: Obj) => p.name === 'metrics')).to.include({ port: 9464, targetPort: 'metrics' });
    }
    expect(shards.spec.endpoints[0].relabelings[0].sourceLabels).to.deep.equal([
      '__meta_kubernetes_service_label_app_kubernetes_io_component',
    ]);
    expect(
      built.find((o) => o.kind === 'Service' && o.metadata.name === 'nba-east-polymarket-proxy'),
      'the proxy Service exists and is not a target',
    ).to.not.equal(undefined);
  });

  it('the PodMonitor alternative selects every component pod, in the namespaces given, by its metrics container port', async () => {
    const objects = await helmTemplate(
      'monitoring.serviceMonitor.enabled=true',
      'monitoring.serviceMonitor.shards.kind=PodMonitor',
      'monitoring.serviceMonitor.shards.namespaces={trading,nfl}',
    );
    const monitor = objects.find((o) => o.kind === 'PodMonitor');
    expect(monitor.spec.namespaceSelector).to.deep.equal({ matchNames: ['trading', 'nfl'] });
    const endpoint = monitor.spec.podMetricsEndpoints[0];
    expect(endpoint.relabelings[0].sourceLabels).to.deep.equal(['__meta_kubernetes_pod_label_app_kubernetes_io_component']);
    const pods = built.filter((o) => o.kind === 'Deployment' && selects(monitor.spec.selector, o.spec.template.metadata.labels));
    expect(pods.map((d) => d.metadata.name).sort()).to.deep.equal(components.map((c) => `nba-east-${c}`).sort());
    for (const d of pods) {
      const ports = d.spec.template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
      expect(
        ports.find((p: Obj) => p.name === endpoint.port),
        d.metadata.name,
      ).to.include({ containerPort: 9464 });
    }
  });

  it("the operator ServiceMonitor selects the release's operator Service in the release namespace", async () => {
    const objects = await helmTemplate('monitoring.serviceMonitor.enabled=true');
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'mon-operator');
    expect(monitor.spec.namespaceSelector).to.deep.equal({ matchNames: ['arbees-system'] });
    expect(monitor.spec.selector.matchLabels).to.deep.equal({
      'app.kubernetes.io/name': 'arbees',
      'app.kubernetes.io/instance': 'mon',
      'app.kubernetes.io/component': 'operator',
    });
    expect(monitor.spec.endpoints[0].port).to.equal('metrics');
    // Once the chart installs the operator's metrics Service, it must be the one selected.
    const services = objects.filter((o) => o.kind === 'Service' && selects(monitor.spec.selector, o.metadata.labels ?? {}));
    for (const s of services) expect(s.spec.ports.map((p: Obj) => p.name)).to.include('metrics');
    const operatorServices = objects.filter(
      (o) => o.kind === 'Service' && o.metadata.labels?.['app.kubernetes.io/component'] === 'operator',
    );
    expect(services).to.deep.equal(operatorServices);
  });
});

/** The annotations of an alert of the rules file, as Prometheus renders them for one shard. */
function annotationsOf(alert: string, shard: string, percent: string): Record<string, string> {
  const rule = rulesFile()
    .groups.flatMap((g: Obj) => g.rules)
    .find((r: Obj) => r.alert === alert);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations as Record<string, string>)) {
    out[k] = v
      .replaceAll('{{ $labels.shard }}', shard)
      .replaceAll('{{ $labels.namespace }}', 'trading')
      .replaceAll('{{ $value | humanizePercentage }}', percent);
  }
  return out;
}

describe('chart monitoring: plain Prometheus scrape config', function () {
  this.timeout(60_000);

  it('keeps the same targets as the ServiceMonitors, by the labels the builders set, and is valid for promtool', async () => {
    const config = parse(readFileSync(join(files, 'scrape-config.yaml'), 'utf8')) as { scrape_configs: Obj[] };
    const shards = config.scrape_configs.find((c) => c.job_name === 'arbees-shards');
    const keep = (c: Obj) => c.relabel_configs.filter((r: Obj) => r.action === 'keep');
    const metaLabel = (label: string) => `__meta_kubernetes_service_label_${label.replace(/[^\w]/g, '_')}`;
    expect(keep(shards)).to.deep.include({
      source_labels: [metaLabel('app.kubernetes.io/component')],
      regex: components.join('|'),
      action: 'keep',
    });
    expect(keep(shards)).to.deep.include({
      source_labels: [metaLabel('app.kubernetes.io/part-of'), metaLabel('app.kubernetes.io/managed-by')],
      regex: 'arbees;arbees-operator',
      action: 'keep',
    });
    expect(keep(shards)).to.deep.include({
      source_labels: ['__meta_kubernetes_service_labelpresent_arbees_io_shard'],
      regex: 'true',
      action: 'keep',
    });
    const [service] = (expectedObjects(shard, settings) as Obj[]).filter((o) => o.kind === 'Service');
    expect(service.metadata.labels).to.include({
      'app.kubernetes.io/part-of': 'arbees',
      'app.kubernetes.io/managed-by': 'arbees-operator',
      'arbees.io/shard': 'nba-east',
    });
    expect(service.spec.ports[0].name).to.equal('metrics');

    // Debian's promtool has no Kubernetes discovery: check everything else with static targets.
    for (const c of config.scrape_configs) {
      delete c.kubernetes_sd_configs;
      c.static_configs = [{ targets: ['127.0.0.1:9464'] }];
    }
    const dir = mkdtempSync(join(tmpdir(), 'arbees-scrape-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const result = await outcome(promtool(), ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
