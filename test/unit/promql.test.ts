// operator/breaker/promql.ts: PromQL checked in-process, as the admission webhook will check a
// TradingShard's circuit-breaker queries without Prometheus. Every query the repository ships (the
// sample shards, the chart's rules, dashboards and rendered sample shard) must pass, or the webhook
// would refuse our own manifests; a table of mistakes must fail with the reason and position given;
// precedence and associativity are checked on the syntax tree. The tables agreed with Prometheus'
// own parser (the v0.316 Go module) when they were written, but for the duration arithmetic
// ([5m*2], offset (1h/2)) that promql.ts refuses on purpose.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageInfo } from '../../lib/package-root.js';
import {
  children,
  parsePromql,
  PromqlError,
  promqlLimits,
  promqlRangeBound,
  validatePromql,
  type PromqlNode,
} from '../../operator/breaker/promql.js';

const root = packageInfo().root;

// ---------------------------------------------------------------------------------------------
// The repository's queries, found by walking the files, so that a query added later is checked too.

/** Strings under `expr` keys (rules, dashboards) and under `query` keys inside a circuitBreaker. */
function collect(value: unknown, inBreaker = false, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) collect(item, inBreaker, found);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (typeof child === 'string' && (key === 'expr' || (key === 'query' && inBreaker))) found.push(child);
      else collect(child, inBreaker || key === 'circuitBreaker', found);
    }
  }
  return found;
}

const files = (dir: string, suffix: string) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));

const yamlQueries = (path: string) => parseAllDocuments(readFileSync(join(root, path), 'utf8')).flatMap((doc) => collect(doc.toJS()));

// Grafana replaces its interval variables before Prometheus sees the query.
const grafana = (expr: string) =>
  expr.replace(/\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}/g, '5m');

const fromYaml = (paths: string[]) => paths.flatMap((file) => yamlQueries(file).map((query) => ({ file, query })));
const valuesFiles = [...files('charts/arbees', '.yaml'), ...files('charts/arbees/ci', '.yaml')].filter((file) =>
  /values[^/]*\.yaml$/.test(file),
);
const sampleShardTemplate = 'charts/arbees/templates/sample-shard.yaml';

/** Where the queries are, and how many there are at least (so that a broken walk finds out). */
const sources: Array<{ what: string; atLeast: number; queries: Array<{ file: string; query: string }> }> = [
  { what: 'the sample shards', atLeast: 11, queries: fromYaml(files('samples', '.yaml')) },
  {
    what: "the chart's rules, rule tests, values and rendered sample shard",
    atLeast: 32,
    queries: [
      ...fromYaml(['charts/arbees/files/prometheus-rules.yaml', 'charts/arbees/files/prometheus-rules.test.yaml', ...valuesFiles]),
      // A Helm template, not YAML: its `query:` lines, with the template's {{ ... }} filled in.
      ...[...readFileSync(join(root, sampleShardTemplate), 'utf8').matchAll(/^\s*query:\s*(.+)$/gm)].map((m) => ({
        file: sampleShardTemplate,
        query: m[1]!.replace(/\{\{[^}]*\}\}/g, 'nba-paper'),
      })),
    ],
  },
  {
    what: "the chart's dashboards",
    atLeast: 51,
    queries: files('charts/arbees/dashboards', '.json').flatMap((file) =>
      collect(JSON.parse(readFileSync(join(root, file), 'utf8'))).map((query) => ({ file, query: grafana(query) })),
    ),
  },
];

/** The tree as text with every operation parenthesized, to see how the parser grouped it. */
function show(node: PromqlNode): string {
  const modifiers = (n: { offset?: number; at?: number | string }) =>
    (n.offset === undefined ? '' : ` offset ${n.offset}`) + (n.at === undefined ? '' : ` @ ${n.at}`);
  switch (node.kind) {
    case 'number':
      return String(node.value);
    case 'string':
      return JSON.stringify(node.value);
    case 'selector': {
      const matchers = node.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',');
      const range = node.rangeMs === undefined ? '' : `[${node.rangeMs}ms]`;
      return `${node.name ?? ''}${matchers ? `{${matchers}}` : ''}${range}${modifiers(node)}`;
    }
    case 'subquery':
      return `${show(node.expr)}[${node.rangeMs}ms:${node.stepMs ?? ''}]${modifiers(node)}`;
    case 'binary': {
      const m = node.matching;
      const matching = m
        ? ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(',')})${m.group ? ` group_${m.group}(${m.include.join(',')})` : ''}`
        : '';
      return `(${show(node.lhs)} ${node.op}${node.bool ? ' bool' : ''}${matching} ${show(node.rhs)})`;
    }
    case 'unary':
      return `(${node.op}${show(node.expr)})`;
    case 'paren':
      return `(${show(node.expr)})`;
    case 'call':
      return `${node.name}(${node.args.map(show).join(', ')})`;
    case 'aggregate': {
      const g = node.grouping;
      return `${node.op}${g ? ` ${g.without ? 'without' : 'by'}(${g.labels.join(',')})` : ''}(${children(node).map(show).join(', ')})`;
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Queries Prometheus accepts, one or more per part of the language. */
const valid = [
  // Literals: numbers (hex, underscores, exponents, octal, Inf/NaN), durations, strings.
  '1',
  '-2.43',
  '3.4e-9',
  '1E+3',
  '.5',
  '5.',
  '0x8f',
  '0x7FFFFFFFFFFFFFFF',
  '1e308',
  '0X_53_AB_F3_82',
  '1_000_000',
  '.123_456_789',
  '010',
  '-Inf',
  '+inf',
  'NaN',
  '1h30m',
  '12h34m56s',
  '54s321ms',
  '1y2w3d',
  'time() - 5m',
  '"double"',
  "'single'",
  '`raw \\n "quotes" \'too\'`',
  '"esc \\a\\b\\f\\n\\r\\t\\v\\\\ \\" \\101 \\x41 \\u00e9 \\U0001F600"',
  "'it\\'s'",
  '`multi\nline`',
  // Selectors.
  'http_requests_total',
  'arbees:shard:circuit_state',
  'http_requests_total{job="prometheus",group="canary"}',
  'http_requests_total{environment=~"staging|testing|development",method!="GET"}',
  'http_requests_total{replica!="rep-a",replica=~"rep.*"}',
  'up{job="a",}',
  'up {job = "a" , instance != ""}',
  'up{}',
  '{job=~".+"}',
  '{job=~".*",method="get"}',
  '{job!=""}',
  '{job!~".*"}',
  '{__name__=~"job:.*"}',
  '{__name__="on"}',
  '{"metric.with.dots"}',
  '{"metric.with.dots", "label.with.dots"="x"}',
  'up{"label.with.dots"="x"}',
  'up{job=~"(?i)API|web"}',
  'up{job=~"(?P<name>a+)b"}',
  'up{job=~"a\\\\(?=b"}',
  'up{job=~`\\d+\\.\\d+`}',
  'up{job=~`(a)\\12`}',
  'up{job=~"(?P<1st>a)(?<b>c)"}',
  'up{job=~"a(?:b)c(?i)d(?s:e)(?)"}',
  'up{job=~"$*shard|x^+"}',
  'up{on="x", by="y", offset="z", sum="w"}',
  'sum',
  'by',
  'offset',
  'start',
  'Sum{job="a"}',
  // Range vectors, subqueries, offset and @.
  'http_requests_total{job="prometheus"}[5m]',
  'up[1.5]',
  'up [ 5m ]',
  'rate(http_requests_total[5m] offset 1w)',
  'rate(http_requests_total[5m] offset -1w)',
  'up offset 5m',
  'up offset 1.5',
  'up OFFSET +5m',
  'http_requests_total @ 1609746000',
  'http_requests_total @ 1609746000.5',
  'up @ -5',
  'up @ 5m',
  'rate(http_requests_total[5m] @ 1609746000)',
  'http_requests_total @ 1609746000 offset 5m',
  'http_requests_total offset 5m @ 1609746000',
  'http_requests_total @ start()',
  'rate(http_requests_total[5m] @ end())',
  'up @ START()',
  'max_over_time(deriv(rate(distance_covered_total[5s])[30s:5s])[10m:])',
  'rate(up[5m])[30m:1m]',
  'min_over_time(rate(up[5m])[1h:] offset 1d @ end())',
  '(up)[5m:]',
  'sum(rate(up[5m]))[1h:5m]',
  // Operators, modifiers, vector matching.
  'up + 1',
  '1 + 2 * 3 ^ 4 % 5 - 6 / 7',
  'up atan2 up',
  'up > 0',
  'up > bool 0',
  '1 > bool 2',
  'up == bool up',
  'up and up',
  'up or up unless up',
  'up AND ON(job) up',
  'method_code:http_errors:rate5m{code="500"} / ignoring(code) method:http_requests:rate5m',
  'method_code:http_errors:rate5m / ignoring(code) group_left method:http_requests:rate5m',
  'a * on(instance, job) group_left(info_label) b',
  'a * on(instance) group_right (version) b',
  'a - on() b',
  'a / ignoring() group_left () b',
  'a + on (job,) b',
  '1 + on() up',
  'up and on(job, instance) (up == 1)',
  '- - up',
  '+up',
  '-(up)',
  // Aggregations.
  'sum(http_requests_total)',
  'sum by (job) (rate(http_requests_total[5m]))',
  'sum(rate(http_requests_total[5m])) by (job)',
  'sum without (instance) (up)',
  'sum without () (up)',
  'avg by (job, instance,) (up)',
  'max by ("label.with.dots") (up)',
  'min by (on, offset, sum, bool) (up)',
  'group(up)',
  'stddev(up)',
  'stdvar(up)',
  'count(up == 1)',
  'count_values("version", build_version)',
  'topk(5, up)',
  'bottomk(3, sum by (job) (up)) by (job)',
  'quantile(0.9, up)',
  'quantile by (job) (scalar(up), up)',
  'SUM BY (job) (up)',
  // Functions: every argument shape.
  'abs(up)',
  'absent(nonexistent{job="myjob"})',
  'absent_over_time(up[1h])',
  'clamp(up, 0, 1)',
  'clamp_max(up, 1)',
  'clamp_min(up, 0)',
  'day_of_week()',
  'day_of_week(timestamp(up))',
  'days_in_month(vector(time()))',
  'delta(cpu_temp_celsius{host="zeus"}[2h])',
  'deriv(up[5m])',
  'first_over_time(up[5m])',
  'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))',
  'histogram_fraction(0, 0.2, rate(http_request_duration_seconds[1h]))',
  'histogram_avg(rate(http_request_duration_seconds[5m]))',
  'histogram_count(rate(x[10m]))',
  'histogram_stddev(x)',
  'label_join(up{job="api-server"}, "foo", ",", "src1", "src2", "src3")',
  'label_join(up, "foo", ",")',
  'label_replace(up{job="api-server"}, "foo", "$1", "service", "(.*):.*")',
  'predict_linear(node_filesystem_free_bytes[1h], 4 * 3600)',
  'quantile_over_time(0.5, up[5m])',
  'round(up)',
  'round(up, 0.5)',
  'scalar(sum(up))',
  'sort_desc(up)',
  'time()',
  'pi()',
  'vector(1)',
  'year()',
  'timestamp(up offset 5m)',
  'sgn(up) * cosh(up) + acos(up) - deg(rad(up))',
  'changes(up[1h]) > 4',
  'resets(up[1h])',
  'present_over_time(up[5m])',
  'count_over_time(up[5m]) / 2',
  // Comments and whitespace.
  '# the rate\nrate(up[5m]) # per second\n',
  'sum by (job) (\n  up # comment inside\n)',
  'up{job="a" # comment inside braces\n}',
  '\t up \r\n',
];

/** Queries Prometheus refuses: the message and the position (a UTF-16 offset into the query). */
const invalid: Array<[query: string, error: string, position: number]> = [
  // Lexical.
  ['', 'empty query', 0],
  ['  # only a comment', 'empty query', 0],
  ['up $ 1', "unexpected character '$'", 3],
  ['up ! 1', "unexpected character '!'", 3],
  ['up =~ "a"', "'=~' only matches labels inside {...}", 3],
  ['1.5h', "bad number or duration syntax '1.5h'", 0],
  ['0xABm', "bad number or duration syntax '0xABm'", 0],
  ['1.2.3', "bad number or duration syntax '1.2.3'", 0],
  ['1__0', "bad number or duration syntax '1__0'", 0],
  ['1e309', "number out of range '1e309'", 0],
  ['up + 0x8000000000000000', "number out of range '0x8000000000000000'", 5],
  ['5mm', "bad number or duration syntax '5mm'", 0],
  ['up[30s5m]', "invalid duration '30s5m' (units go from longest to shortest: y w d h m s ms, each once)", 3],
  ['up[5m5m]', "invalid duration '5m5m' (units go from longest to shortest: y w d h m s ms, each once)", 3],
  ['up[99999999999999y]', "duration out of range: '99999999999999y'", 3],
  ['"abc', 'unterminated string', 0],
  ["up{a='b\n'}", 'unterminated string', 5],
  ['`abc', 'unterminated string', 0],
  ['"a\\qb"', "unknown escape sequence '\\q' in string", 2],
  ['"it\\\'s"', "unknown escape sequence '\\'' in string", 3],
  ['"\\x4"', "invalid escape sequence '\\x4\"' in string", 1],
  ['"\\400"', "invalid escape sequence '\\400' in string", 1],
  ['"\\uD800"', "invalid escape sequence '\\uD800' in string", 1],
  ['up{a=1}', "unexpected character '1' inside braces", 5],
  ['up{a:b="c"}', "unexpected character ':' inside braces", 4],
  ['up{a="b"{', "unexpected character '{' inside braces", 8],
  ['up[5m # no comment here]', "unexpected character '#' in range, expected a duration such as 5m", 6],
  ['up[a]', "unexpected character 'a' in range, expected a duration such as 5m", 3],
  // Structure.
  ['sum(up))', "unexpected ')'", 7],
  ['(up', "unclosed '('", 0],
  ['sum(rate(up[5m])', "unexpected end of input, expected ',' or ')'", 16],
  ['up{job="a"', "unexpected end of input, expected ',' or '}'", 10],
  ['up[5m', "unexpected end of input, expected ':' or ']'", 5],
  ['up[5m:1m:2m]', "unexpected ':', expected ']'", 8],
  ['up +', 'unexpected end of input, expected an expression', 4],
  ['up foo', "unexpected 'foo', expected an operator or the end of the query", 3],
  ['up 5', 'unexpected number 5, expected an operator or the end of the query', 3],
  ['on{}', "unexpected 'on', expected an expression", 0],
  ['bool', "unexpected 'bool', expected an expression", 0],
  ['up ] 1', "unexpected ']', expected an operator or the end of the query", 3],
  ['up{a}', "unexpected '}', expected one of =, !=, =~, !~", 4],
  ['up{a=b}', "unexpected 'b', expected a quoted string", 5],
  ['up{a="b" c="d"}', "unexpected 'c', expected ',' or '}'", 9],
  ['up{,}', "unexpected ',', expected a label name or '}'", 3],
  ['sum by job (up)', "unexpected 'job', expected '('", 7],
  ['sum by (job up) (x)', "unexpected 'up', expected ',' or ')'", 12],
  ['sum by (Inf) (up)', "unexpected number Inf, expected a label name or ')'", 8],
  ['sum by ("") (up)', 'unexpected string "", expected a label name or \')\'', 8],
  ['sum(up) by (a) by (b)', "unexpected 'by', expected an operator or the end of the query", 15],
  ['rate(up[5m],)', 'trailing comma in call to rate()', 11],
  ['topk(5, up,)', 'trailing comma in topk()', 10],
  ['a:b(up)', "unexpected '(', expected an operator or the end of the query", 3],
  ['up offset', 'unexpected end of input, expected a duration such as 5m', 9],
  ['up offset foo', "unexpected 'foo', expected a duration such as 5m", 10],
  ['up @', 'unexpected end of input, expected a Unix timestamp, start() or end()', 4],
  ['up @ start', "unexpected end of input, expected '('", 10],
  ['up > on(job) bool up', "unexpected 'bool', expected an expression", 13],
  ['up * on(a) group_left (b)', 'unexpected end of input, expected an expression', 25],
  ['up + group_left up', 'group_left needs on(...) or ignoring(...) before it', 5],
  // Selectors, ranges and modifiers.
  ['{job=~".*"}', 'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")', 0],
  ['{}', 'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")', 0],
  [
    'rate({job=""}[5m])',
    'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")',
    5,
  ],
  ['{job!~"x"}', 'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")', 0],
  ['{""}', 'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")', 0],
  ['up{__name__="up"}', "metric name set twice: 'up' and __name__", 0],
  ['up{job=~"(a"}', 'invalid regular expression "(a": Unterminated group', 8],
  ['up{job!~"*"}', 'invalid regular expression "*": Nothing to repeat', 8],
  ['up{job=~"a)(b"}', 'invalid regular expression "a)(b": Unmatched \')\'', 8],
  ['up{job=~`a\\(?)b`}', 'invalid regular expression "a\\\\(?)b": Unmatched \')\'', 8],
  ['up{job=~"a(?=b)"}', 'invalid regular expression "a(?=b)": RE2 has no lookahead or lookbehind', 8],
  ['up{job=~"(a)\\\\1"}', 'invalid regular expression "(a)\\\\1": RE2 has no backreferences', 8],
  ['up[0s]', 'duration must be greater than 0', 3],
  ['up[0]', 'duration must be greater than 0', 3],
  ['up[5m:0s]', 'duration must be greater than 0', 6],
  ['up[-5m]', 'duration arithmetic is not supported here: write the duration out (e.g. [10m])', 3],
  ['rate(up[5m * 2])', 'duration arithmetic is not supported here: write the duration out (e.g. [10m])', 11],
  ['up offset (1h / 2)', "unexpected '(', expected a duration such as 5m", 10],
  ['up[99999999999]', 'duration out of range', 3],
  ['up offset 99999999999', 'offset out of range', 3],
  ['up offset 5m [5m]', 'offset must come after the range (foo[5m] offset 1h)', 13],
  ['up @ 100 [5m]', '@ must come after the range (foo[5m] @ end())', 9],
  ['up[5m][5m]', 'a range [..] only applies to a vector selector (for an expression, use a subquery such as [5m:1m])', 6],
  ['rate(up[5m])[5m]', 'a range [..] only applies to a vector selector (for an expression, use a subquery such as [5m:1m])', 12],
  ['(up)[5m]', 'a range [..] only applies to a vector selector (for an expression, use a subquery such as [5m:1m])', 4],
  ['up[5m][10m:]', 'subquery needs an instant vector, got range vector', 6],
  ['"a"[5m:]', 'subquery needs an instant vector, got string', 3],
  ['sum(up) offset 5m', 'offset must come right after a selector or a subquery (inside rate(...), say, not after it)', 8],
  ['(up) offset 5m', 'offset must come right after a selector or a subquery (inside rate(...), say, not after it)', 5],
  ['rate(up[5m]) @ 100', '@ must come right after a selector or a subquery (inside rate(...), say, not after it)', 13],
  ['up offset 5m offset 1m', 'offset may not be set twice', 13],
  ['up @ 1 @ 2', '@ may not be set twice', 7],
  ['up offset Inf', 'offset out of range', 3],
  ['up @ NaN', 'timestamp out of bounds for @', 5],
  // Types.
  ['rate(up)', 'range vector expected in call to rate(), got instant vector (add a range such as [5m])', 5],
  ['increase(sum(up))', 'range vector expected in call to increase(), got instant vector (add a range such as [5m])', 9],
  [
    'abs(up[5m])',
    'instant vector expected in call to abs(), got range vector (apply a function such as rate() or avg_over_time() to it first)',
    4,
  ],
  ['sum(up[5m])', 'instant vector expected in sum(), got range vector (apply a function such as rate() or avg_over_time() to it first)', 4],
  ['sum(1)', 'instant vector expected in sum(), got scalar', 4],
  ['histogram_quantile(rate(x[5m]), 0.9)', 'scalar expected in call to histogram_quantile() as argument 1, got instant vector', 19],
  ['label_replace(up, "a", "b", "c", 5)', 'string expected in call to label_replace() as argument 5, got scalar', 33],
  ['vector("1")', 'scalar expected in call to vector(), got string', 7],
  ['topk(up, 5)', 'scalar expected as the parameter of topk(), got instant vector', 5],
  ['count_values(1, up)', 'string expected as the parameter of count_values(), got scalar', 13],
  ['1 > 2', 'comparison between two scalars needs bool (e.g. 1 > bool 0)', 2],
  ['time() == scalar(up)', 'comparison between two scalars needs bool (e.g. 1 == bool 0)', 7],
  ['up + bool 1', 'bool only applies to comparison operators (==, !=, <, <=, >, >=)', 5],
  ['up and 1', "'and' only applies between instant vectors, not scalars", 3],
  ['1 or up', "'or' only applies between instant vectors, not scalars", 2],
  ['1 + on(job) up', 'vector matching (on/ignoring) only applies between instant vectors', 4],
  ['up and on(a) group_left up', "no group_left/group_right allowed with 'and' (set operators are many-to-many)", 7],
  ['up / on(a) group_left(a) up', "label 'a' must not be in both on(...) and group_left(...)", 5],
  [
    'up[5m] + 1',
    "'+' needs scalar or instant vector operands, got range vector (apply a function such as rate() or avg_over_time() to it first)",
    0,
  ],
  ['up > "a"', "'>' needs scalar or instant vector operands, got string", 5],
  ['-up[5m]', "unary '-' needs a scalar or an instant vector, got range vector", 0],
  ['-up[5m:]', "unary '-' needs a scalar or an instant vector, got range vector", 0],
  ['-"a"', "unary '-' needs a scalar or an instant vector, got string", 0],
  // Functions and aggregations: names, arity, experimental ones.
  ['rat(up[5m])', "unknown function 'rat' (did you mean 'rate'?)", 0],
  ['sum_over_tim(up[5m])', "unknown function 'sum_over_tim' (did you mean 'sum_over_time'?)", 0],
  ['foo(up)', "unknown function 'foo'", 0],
  ['RATE(up[5m])', "unknown function 'RATE' (did you mean 'rate'?)", 0],
  ['holt_winters(up[5m], 0.5, 0.5)', "unknown function 'holt_winters'", 0],
  ['rate()', 'rate() takes 1 argument, got 0', 5],
  ['rate(up[5m], up[5m])', 'rate() takes 1 argument, got 2', 13],
  ['time(1)', 'time() takes 0 arguments, got 1', 5],
  ['round(up, 1, 2)', 'round() takes 1 to 2 arguments, got 3', 13],
  ['clamp(up, 1)', 'clamp() takes 3 arguments, got 2', 11],
  ['label_join(up, "a")', 'label_join() takes at least 3 arguments, got 2', 18],
  ['sum()', 'sum() takes one instant vector, got 0 arguments', 4],
  ['sum(up, up)', 'sum() takes one instant vector, got 2 arguments', 8],
  ['topk(up)', 'topk() takes a scalar parameter and an instant vector, got 1 argument', 7],
  ['count_values(up)', 'count_values() takes a string parameter and an instant vector, got 1 argument', 15],
  ['quantile(0.5, up, up)', 'quantile() takes a scalar parameter and an instant vector, got 3 arguments', 18],
  ['limitk(2, up)', 'limitk() is experimental (Prometheus accepts it only with --enable-feature=promql-experimental-functions)', 0],
  [
    'limit_ratio(0.5, up)',
    'limit_ratio() is experimental (Prometheus accepts it only with --enable-feature=promql-experimental-functions)',
    0,
  ],
  [
    'sort_by_label(up, "job")',
    'sort_by_label() is experimental (Prometheus accepts it only with --enable-feature=promql-experimental-functions)',
    0,
  ],
  [
    'up * on(a) group_left mad_over_time(up[5m])',
    'mad_over_time() is experimental (Prometheus accepts it only with --enable-feature=promql-experimental-functions)',
    22,
  ],
];

describe('PromQL validation (operator/breaker/promql.ts)', () => {
  describe("the repository's own queries", () => {
    for (const { what, atLeast, queries } of sources) {
      it(`finds the queries of ${what}`, () => {
        expect(queries.length).to.be.at.least(atLeast);
      });
      for (const { file, query } of queries) {
        it(`accepts ${file}: ${query.replace(/\s+/g, ' ').trim()}`, () => {
          expect(validatePromql(query)).to.include({ ok: true });
        });
      }
    }
  });

  describe('valid queries', () => {
    for (const query of valid) {
      it(`accepts ${JSON.stringify(query)}`, () => {
        expect(validatePromql(query)).to.include({ ok: true });
      });
    }
  });

  describe('invalid queries', () => {
    for (const [query, error, position] of invalid) {
      it(`refuses ${JSON.stringify(query)}: ${error}`, () => {
        const lineColumn = query.includes('\n')
          ? ` (line ${query.slice(0, position).split('\n').length}, column ${position - query.lastIndexOf('\n', position - 1)})`
          : '';
        expect(validatePromql(query)).to.deep.equal({ ok: false, error: `${error} at ${position}${lineColumn}`, position });
      });
    }
  });

  describe('the syntax tree', () => {
    const trees: Array<[query: string, tree: string]> = [
      // Precedence, loosest first: or; and unless; comparisons; + -; * / % atan2; ^.
      ['a or b and c unless d', '(a or ((b and c) unless d))'],
      ['a and b == c + d * e ^ f', '(a and (b == (c + (d * (e ^ f)))))'],
      ['a ^ b * c + d > e unless f or g', '((((((a ^ b) * c) + d) > e) unless f) or g)'],
      ['a atan2 b + c % d', '((a atan2 b) + (c % d))'],
      // Left-associative, except ^.
      ['a - b - c', '((a - b) - c)'],
      ['a / b * c % d', '(((a / b) * c) % d)'],
      ['a == b != c', '((a == b) != c)'],
      ['a or b or c', '((a or b) or c)'],
      ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
      // Unary minus binds looser than ^ and as tightly as *: -2^2 is -4; a literal folds.
      ['-2 ^ 2', '(-(2 ^ 2))'],
      ['-a * b', '((-a) * b)'],
      ['-a + b', '((-a) + b)'],
      ['a ^ -b', '(a ^ (-b))'],
      ['-a ^ -b ^ c * d', '((-(a ^ (-(b ^ c)))) * d)'],
      ['a * -b + c', '((a * (-b)) + c)'],
      ['-1 + 2', '(-1 + 2)'],
      ['- -1', '1'],
      // Modifiers bind to the selector right before them.
      ['a + b offset 5m', '(a + b offset 300)'],
      ['a[5m] offset -1h @ start()', 'a[300000ms] offset -3600 @ start'],
      ['a @ end() offset 1m', 'a offset 60 @ end'],
      ['rate(a[5m])[1h:1m] offset 1d', 'rate(a[300000ms])[3600000ms:60000] offset 86400'],
      ['a[5m:]', 'a[300000ms:]'],
      // Matching, bool, grouping, literals.
      ['a > bool on(x, y) group_left(z) b', '(a > bool on(x,y) group_left(z) b)'],
      ['a / ignoring(x) group_right b', '(a / ignoring(x) group_right() b)'],
      ['sum by (a) (x) + sum(x) without (b)', '(sum by(a)(x) + sum without(b)(x))'],
      ['topk(5, x)', 'topk(5, x)'],
      ['0x_1F + 1_000 + 010 + 09 + .5e1', '((((31 + 1000) + 8) + 9) + 5)'],
      ['1h30m + 1ms + 1y + 2w', '(((5400 + 0.001) + 31536000) + 1209600)'],
      ["x{a=\"\\101\\x42\\u0043\\U0001F600\\\\\\n\", b='\\'', c=`\\n`}", 'x{a="ABC😀\\\\\\n",b="\'",c="\\\\n"}'],
      ['{"dotted.name", "x.y"!="", z=~"a"}', '{__name__="dotted.name",x.y!="",z=~"a"}'],
    ];
    for (const [query, tree] of trees) {
      it(`reads ${query} as ${tree}`, () => {
        expect(show(parsePromql(query))).to.equal(tree);
      });
    }

    it('knows the type of each result', () => {
      const types = ['1 + 1', 'up', 'up[5m]', 'rate(up[5m])[1h:]', '"s"', 'time() - 1', 'scalar(up) * up', 'sum(up) > 0', '(1)'].map((q) =>
        validatePromql(q),
      );
      expect(types.map((r) => (r.ok ? r.type : r.error))).to.deep.equal([
        'scalar',
        'vector',
        'matrix',
        'matrix',
        'string',
        'scalar',
        'vector',
        'vector',
        'scalar',
      ]);
    });

    it('throws a PromqlError with the reason and position from parsePromql', () => {
      expect(() => parsePromql('sum(up))')).to.throw(PromqlError, "unexpected ')' at 7");
      try {
        parsePromql('rate(up)');
        expect.fail('rate(up) parsed');
      } catch (error) {
        expect(error).to.be.instanceOf(PromqlError);
        expect((error as PromqlError).reason).to.equal(
          'range vector expected in call to rate(), got instant vector (add a range such as [5m])',
        );
        expect((error as PromqlError).position).to.equal(5);
      }
    });

    it('gives the line and column of an error in a query that spans lines', () => {
      expect(validatePromql('sum by (venue) (\n  rate(orders[5m])\n  / rat(sent[5m])\n)')).to.deep.equal({
        ok: false,
        error: "unknown function 'rat' (did you mean 'rate'?) at 40 (line 3, column 5)",
        position: 40,
      });
    });
  });

  describe('experimental functions', () => {
    const experimental = [
      'limitk(2, up)',
      'limit_ratio(0.5, up)',
      'sort_by_label(up, "job", "instance")',
      'mad_over_time(up[5m])',
      'info(up, {k8s_cluster_name=~".+"})',
      'double_exponential_smoothing(up[5m], 0.5, 0.5)',
      'step() + 1',
    ];
    for (const query of experimental) {
      it(`accepts ${query} only when told Prometheus enables them`, () => {
        expect(validatePromql(query)).to.include({ ok: false });
        expect(validatePromql(query, { experimental: true })).to.include({ ok: true });
      });
    }

    it('still checks their arguments', () => {
      expect(validatePromql('limitk(up, 2)', { experimental: true })).to.include({ ok: false, position: 7 });
      expect(validatePromql('mad_over_time(up)', { experimental: true })).to.include({ ok: false, position: 14 });
    });
  });

  describe('cost bounds', () => {
    it(`refuses a query longer than ${promqlLimits.maxLength} characters`, () => {
      const longest = `up${' '.repeat(promqlLimits.maxLength - 2)}`;
      expect(validatePromql(longest)).to.include({ ok: true });
      expect(validatePromql(`${longest} `)).to.deep.equal({
        ok: false,
        error: 'query longer than 4096 characters (4097) at 4096',
        position: 4096,
      });
    });

    it(`refuses nesting deeper than ${promqlLimits.maxDepth} levels`, () => {
      const nested = (n: number) => `${'('.repeat(n)}up${')'.repeat(n)}`;
      expect(validatePromql(nested(64))).to.include({ ok: true });
      expect(validatePromql(nested(65))).to.deep.equal({ ok: false, error: 'expression nested deeper than 64 levels at 65', position: 65 });
      expect(validatePromql(`${'abs('.repeat(65)}up${')'.repeat(65)}`)).to.include({ ok: false, position: 260 });
      expect(validatePromql(`${'-'.repeat(65)}1`)).to.include({ ok: false, position: 65 });
      expect(validatePromql(`up${' ^ up'.repeat(65)}`)).to.include({ ok: false });
    });

    it('does not count a long chain of operators as nesting', () => {
      expect(validatePromql(`up${' + up'.repeat(500)}`)).to.include({ ok: true });
    });

    const windows: Array<[query: string, ms: number]> = [
      ['up', 0],
      ['1 + 1', 0],
      ['rate(up[5m])', 300_000],
      ['up offset 365d', 0],
      ['rate(up[5m] offset 1w)', 300_000],
      ['max_over_time(rate(up[5m])[1d:1m])', 86_400_000],
      ['rate(a[1h]) / rate(b[90s]) + sum(increase(c[2h])) by (x)', 7_200_000],
      ['up[1.5]', 1_500],
      ['avg_over_time(up[365d])', 31_536_000_000],
      ['quantile_over_time(0.9, (up > bool 0)[1y2w:1h])', 32_745_600_000],
    ];
    for (const [query, ms] of windows) {
      it(`measures the largest window of ${query} as ${ms} ms`, () => {
        expect(promqlRangeBound(query)).to.equal(ms);
        expect(validatePromql(query)).to.deep.equal({ ok: true, type: parsePromql(query).type, maxRangeMs: ms });
      });
    }

    it('throws on an invalid query rather than measuring it', () => {
      expect(() => promqlRangeBound('rate(up[5m]')).to.throw(PromqlError, "unexpected end of input, expected ',' or ')' at 11");
    });
  });
});
