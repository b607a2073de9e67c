// `arbees breaker calibrate`: reads each breaker rule's history from Prometheus, replays the
// operator's breaker over it and proposes thresholds (operator/breaker/calibrate.ts). Reads only:
// the proposal is printed, never applied.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Command, CommandIo } from '../command.js';
import { parseOptions, UsageError } from '../command.js';
import type { BreakerRule, TradingShard } from '../../contracts/trading-shard.js';
import { calibrate, type Incident } from '../../operator/breaker/calibrate.js';
import { renderPatch, renderTable, type ShardRef } from '../../operator/breaker/calibration-report.js';
import { parseDuration } from '../../operator/breaker/duration.js';
import { gridOf, HistoryError, readRange, type Series } from '../../operator/breaker/history.js';
import type { BreakerConfig } from '../../operator/breaker/machine.js';
import { PrometheusClient } from '../../operator/breaker/prometheus.js';

const dayMs = 86_400_000;
const ops: ReadonlyArray<BreakerRule['op']> = ['>', '>=', '<', '<=', '==', '!='];

/** A span of time: the CRD's units (ms, s, m, h) and days in front ("7d", "1d12h"). */
export function parseSpan(text: string, what: string): number {
  const days = /^(\d+)d(.*)$/.exec(text);
  try {
    const ms = days ? Number(days[1]) * dayMs + (days[2] ? parseDuration(days[2]) : 0) : parseDuration(text);
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new UsageError(`${what}: "${text}" is not a duration (use e.g. 90s, 30m, 12h, 7d, 1d12h)`);
}

/** RFC 3339 with a zone ("2026-11-20T18:00Z"), a date (UTC midnight), or Unix seconds. */
export function parseTime(text: string, what: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const zoned = /^\d{4}-\d{2}-\d{2}$/.test(text) || /T.*(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const ms = Date.parse(text);
  if (!zoned || Number.isNaN(ms))
    throw new UsageError(`${what}: "${text}" is not a time (use RFC 3339 with a zone, e.g. 2026-11-20T18:00Z, or Unix seconds)`);
  return ms;
}

/** START/LENGTH ("2026-11-20T18:00Z/30m") or START/END, as labelled by whoever was on call. */
export function parseIncident(text: string): Incident {
  const slash = text.lastIndexOf('/');
  if (slash <= 0) throw new UsageError(`--incident: "${text}" must be START/LENGTH or START/END, e.g. 2026-11-20T18:00Z/30m`);
  const start = parseTime(text.slice(0, slash), `--incident ${text}`);
  const tail = text.slice(slash + 1);
  const end =
    /^\d+(ms|s|m|h|d)/.test(tail) && !/^\d+(\.\d+)?$/.test(tail)
      ? start + parseSpan(tail, `--incident ${text}`)
      : parseTime(tail, `--incident ${text}`);
  if (end <= start) throw new UsageError(`--incident: "${text}" ends before it starts`);
  return { start, end, label: text };
}

/** spec.circuitBreaker with the CRD's defaults (for 0s, cooldown 5m, halfOpenAfter 2m, open when blind), checked. */
export function breakerOf(
  shard: { spec?: { circuitBreaker?: Partial<TradingShard['spec']['circuitBreaker']> } },
  where: string,
): BreakerConfig {
  const spec = shard.spec?.circuitBreaker ?? {};
  const problems: string[] = [];
  const duration = (value: string | undefined, field: string, fallback: string): string => {
    const text = value ?? fallback;
    try {
      parseDuration(String(text)); // YAML may hand a number here
    } catch {
      problems.push(`${field}: "${text}" is not a duration`);
    }
    return text;
  };
  const rules = (Array.isArray(spec.rules) ? spec.rules : []).map((raw: Partial<BreakerRule>, i): BreakerRule => {
    const at = `rules[${i}]${raw.name ? ` (${raw.name})` : ''}`;
    if (typeof raw.name !== 'string' || raw.name === '') problems.push(`${at}: name is missing`);
    if (typeof raw.query !== 'string' || raw.query === '') problems.push(`${at}: query is missing`);
    if (!ops.includes(raw.op as BreakerRule['op'])) problems.push(`${at}: op must be one of ${ops.join(' ')}`);
    if (typeof raw.threshold !== 'number' || !Number.isFinite(raw.threshold)) problems.push(`${at}: threshold must be a number`);
    return {
      name: String(raw.name),
      query: String(raw.query),
      op: raw.op!,
      threshold: Number(raw.threshold),
      for: duration(raw.for, `${at}.for`, '0s'),
    };
  });
  const breaker: BreakerConfig = {
    rules,
    cooldown: duration(spec.cooldown, 'cooldown', '5m'),
    halfOpenAfter: duration(spec.halfOpenAfter, 'halfOpenAfter', '2m'),
    onPrometheusUnavailable: spec.onPrometheusUnavailable ?? 'open',
  };
  if (rules.length === 0) problems.push('spec.circuitBreaker has no rules: nothing to calibrate');
  if (problems.length > 0) throw new UsageError(`${where}: ${problems.join('; ')}`);
  return breaker;
}

type ShardObject = TradingShard & { kind?: string; metadata: { name: string; namespace?: string } };

function shardFromFile(file: string, name: string | undefined): ShardObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--file: cannot read ${file}: ${(error as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const broken = docs.find((d) => d.errors.length > 0);
  if (broken) throw new UsageError(`--file ${file}: not YAML/JSON: ${broken.errors[0]!.message.split('\n')[0]}`);
  const shards = docs.map((d) => d.toJS() as ShardObject | null).filter((d): d is ShardObject => d?.kind === 'TradingShard');
  const names = shards.map((s) => s.metadata?.name).join(', ');
  const chosen = name === undefined ? shards : shards.filter((s) => s.metadata?.name === name);
  if (chosen.length === 1) return chosen[0]!;
  if (shards.length === 0) throw new UsageError(`--file ${file}: no TradingShard in it`);
  throw new UsageError(
    name === undefined
      ? `--file ${file} holds several TradingShards (${names}): choose one with --shard`
      : `--file ${file}: no TradingShard named "${name}" (found: ${names})`,
  );
}

async function shardFromCluster(
  name: string,
  namespace: string,
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ShardObject> {
  // Loaded only here: a calibration from a file never touches Kubernetes code.
  const { loadKubeConfig } = await import('../../operator/kube/config.js');
  const { KubeClient, KubeApiError, resources } = await import('../../operator/kube/client.js');
  try {
    return await new KubeClient(await loadKubeConfig({ file: kubeconfig, env })).get<ShardObject>(resources.tradingShards, namespace, name);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) throw new UsageError(`no TradingShard ${namespace}/${name} in the cluster`);
    throw new CalibrationFailed(`cannot read TradingShard ${namespace}/${name}: ${(error as Error).message}`);
  }
}

class CalibrationFailed extends Error {}

function readFileOption(path: string | undefined, option: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function number(text: string | undefined, option: string, fallback: number, valid: (v: number) => boolean, expected: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || !valid(value)) throw new UsageError(`${option} must be ${expected}, got "${text}"`);
  return value;
}

/** Progress on stderr, at most one line a second per rule (and its last). */
function progressLine(io: CommandIo): (line: string, last: boolean) => void {
  let shown = 0;
  return (line, last) => {
    if (!last && Date.now() - shown < 1_000) return;
    shown = Date.now();
    io.err(`· ${line}`);
  };
}

const options = {
  'prometheus-url': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  timeout: { type: 'string' },
  'max-response-mb': { type: 'string' },
  file: { type: 'string', short: 'f' },
  shard: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  since: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  step: { type: 'string' },
  incident: { type: 'string', multiple: true },
  quantile: { type: 'string' },
  margin: { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

export const breakerCalibrateCommand: Command = {
  path: ['breaker', 'calibrate'],
  summary: "Propose circuit-breaker thresholds from Prometheus history by replaying the operator's breaker",
  help: `Usage: arbees breaker calibrate --prometheus-url URL (--file SHARD.yaml | --shard NAME [-n NS])
                               [--since 7d | --start TIME [--end TIME]] [--step 1s]
                               [--incident START/LENGTH ...] [-o table|yaml]

For each rule of a TradingShard's spec.circuitBreaker, reads the rule's query over a
window of history with Prometheus range queries, one value per evaluation step, and:
  - prints the distribution of the rule's worst value per evaluation (the max over
    its series; the min for < and <= rules) outside and inside the incidents:
    p50 p90 p99 p99.9 max (p50 p10 p1 p0.1 min for < rules);
  - replays the operator's own breaker state machine over the recorded values (its
    \`for\` clocks, hysteresis, Open -> HalfOpen after halfOpenAfter, probation of
    cooldown, re-opening on any breach in HalfOpen), so a trip here is what the
    operator would have done, not a threshold crossing;
  - with incidents: searches thresholds and \`for\` for a clean setting (no trip
    outside incidents, letting go afterwards) that trips (goes to Open) in the most
    incidents, then halts trading least outside them, then reacts fastest; the
    threshold is placed past the worst healthy value by the margin where that
    still trips in the same incidents, and never within 5 % of it;
  - with no incident a rule can catch: threshold = healthy quantile x margin
    (for < rules: the low quantile, that far below), \`for\` kept;
  - reports, for the current and the proposed setting of each rule and of all rules
    together: incidents tripped in, incidents halted in (open at some time in
    them, from a trip there or before), trips outside incidents, trading time
    halted (Open) outside incidents, and the slowest time to halt;
  - reports as findings rules whose query returned no data (they can never fire),
    queries Prometheus refuses, and incidents no rule trips in cleanly, with the
    setting that would, and its trips outside incidents.
Nothing is applied. --output yaml prints a merge patch of spec.circuitBreaker.rules
for "kubectl patch tradingshard NAME --type merge --patch-file FILE".

Prometheus failures during the window are not in Prometheus's history: the replay
cannot show trips that onPrometheusUnavailable would have caused.

Prometheus (the operator's own settings are the defaults):
  --prometheus-url URL       base URL (default $ARBEES_PROMETHEUS_URL)
  --bearer-token-file PATH   token sent as "Authorization: Bearer"
                             (default $ARBEES_PROMETHEUS_BEARER_TOKEN_FILE)
  --ca-file PATH             PEM CA bundle for an https URL with a private CA
  --timeout DURATION         per range request (default 60s)
  --max-response-mb N        largest response read (default 64); a larger chunk is
                             read again in halves

The shard (one of):
  -f, --file PATH            a manifest holding the TradingShard (YAML or JSON, other
                             documents ignored); --shard picks one of several
  --shard NAME               without --file: the live object, read with kubectl's
                             credentials (--kubeconfig, else $KUBECONFIG, else
                             ~/.kube/config, else in-cluster)
  -n, --namespace NS         its namespace (default "default")
  --kubeconfig PATH          kubeconfig to use

The window:
  --since DURATION           history up to now (default 7d); units ms s m h d
  --start TIME, --end TIME   instead of --since; TIME is RFC 3339 with a zone
                             (2026-11-20T18:00Z) or Unix seconds; --end defaults to now
  --step DURATION            evaluation step of the replay (default: the operator's,
                             $ARBEES_BREAKER_INTERVAL_MS, else 1s). Read in chunks of
                             at most 11,000 points per series (Prometheus's limit).
                             A longer step reads and replays faster but sees less
                             than the operator did.
  --incident START/LENGTH    where trading should have stopped, repeatable:
                             2026-11-20T18:00Z/30m, or START/END with two times

The method:
  --quantile Q               healthy quantile for rules no incident calibrates
                             (default 0.999)
  --margin M                 how far past the healthy value the threshold goes:
                             1.5 = 50 % above it (below it for < rules) (default 1.5)
  -o, --output FORMAT        table (default) or yaml (the patch, on stdout)
  -h, --help                 show this help

Progress goes to stderr. Exit status: 0 done, 1 Prometheus or the cluster failed,
2 bad input.

Example:
  arbees breaker calibrate --prometheus-url https://prometheus.example:9090 \\
    --bearer-token-file /var/run/secrets/prometheus/token -f samples/paper-shard.yaml \\
    --since 7d --incident 2026-11-20T18:00Z/30m --incident 2026-11-22T01:10Z/12m`,
  async run(args, io) {
    const { values } = parseOptions(args, options);
    const output = values.output ?? 'table';
    if (output !== 'table' && output !== 'yaml') throw new UsageError(`--output must be table or yaml, got "${output}"`);
    const url = values['prometheus-url'] ?? io.env.ARBEES_PROMETHEUS_URL;
    if (!url) throw new UsageError('--prometheus-url is required (or $ARBEES_PROMETHEUS_URL)');
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--prometheus-url: "${url}" is not an http(s) URL`);
    if (values.file === undefined && values.shard === undefined)
      throw new UsageError('name the shard: --file MANIFEST, or --shard NAME for the live object');
    if (values.since !== undefined && values.start !== undefined) throw new UsageError('use --since or --start/--end, not both');

    const end = values.end !== undefined ? parseTime(values.end, '--end') : Date.now();
    const start = values.start !== undefined ? parseTime(values.start, '--start') : end - parseSpan(values.since ?? '7d', '--since');
    if (start >= end) throw new UsageError('the window must start before it ends');
    const interval = io.env.ARBEES_BREAKER_INTERVAL_MS ? `${io.env.ARBEES_BREAKER_INTERVAL_MS}ms` : '1s';
    const stepMs = parseSpan(values.step ?? interval, '--step');
    const incidents = (values.incident ?? []).map(parseIncident).sort((a, b) => a.start - b.start);
    const outsideWindow = incidents.find((i) => i.end <= start || i.start >= end);
    if (outsideWindow) throw new UsageError(`--incident ${outsideWindow.label} lies outside the window`);
    const quantile = number(values.quantile, '--quantile', 0.999, (v) => v > 0 && v < 1, 'between 0 and 1');
    const margin = number(values.margin, '--margin', 1.5, (v) => v >= 1, 'at least 1');
    const timeoutMs = parseSpan(values.timeout ?? '60s', '--timeout');
    const maxBytes = number(values['max-response-mb'], '--max-response-mb', 64, (v) => v > 0, 'a positive number') * 1024 * 1024;
    const tokenFile = values['bearer-token-file'] ?? (io.env.ARBEES_PROMETHEUS_BEARER_TOKEN_FILE || undefined);
    const bearerToken = readFileOption(tokenFile, '--bearer-token-file')?.trim();
    const ca = readFileOption(values['ca-file'], '--ca-file');
    const grid = gridOf(start, end, stepMs);

    try {
      const shard =
        values.file !== undefined
          ? shardFromFile(values.file, values.shard)
          : await shardFromCluster(values.shard!, values.namespace ?? 'default', values.kubeconfig, io.env);
      const ref: ShardRef = {
        name: shard.metadata.name,
        namespace: shard.metadata.namespace ?? (values.file === undefined ? (values.namespace ?? 'default') : undefined),
      };
      const breaker = breakerOf(shard, values.file ?? `TradingShard ${ref.namespace}/${ref.name}`);

      const client = new PrometheusClient({ url, bearerToken, ca, timeoutMs, maxBytes });
      const series: Record<string, Series[]> = {};
      const queryErrors: Record<string, string> = {};
      try {
        for (const [i, rule] of breaker.rules.entries()) {
          const show = progressLine(io);
          try {
            series[rule.name] = await readRange(client, rule.query, grid, {
              timeoutMs,
              maxBytes,
              onProgress: (read, total) =>
                show(`reading ${rule.name} (${i + 1}/${breaker.rules.length}): ${read}/${total} points`, read === total),
            });
          } catch (error) {
            // A query Prometheus refuses is a finding about the rule; anything else stops the run.
            const message = (error as Error).message;
            if (error instanceof HistoryError && /^query failed \(HTTP (400|422)\)/.test(message)) queryErrors[rule.name] = message;
            else throw new CalibrationFailed(`reading ${rule.name} from ${url}: ${message}`);
          }
        }
      } finally {
        client.close();
      }
      const replaying = progressLine(io);
      const result = calibrate({ breaker, grid, series, incidents, quantile, margin, queryErrors }, (rule, done, total) =>
        replaying(`replaying ${rule}: ${done}/${total} candidate settings`, done === total),
      );
      io.out(output === 'yaml' ? renderPatch(result, ref) : renderTable(result, ref, breaker));
      return 0;
    } catch (error) {
      if (error instanceof CalibrationFailed || error instanceof HistoryError) {
        io.err(`arbees breaker calibrate: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
