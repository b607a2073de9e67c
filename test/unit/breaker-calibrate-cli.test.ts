// `arbees breaker calibrate`'s input: windows, times, incidents, the shard's breaker with the CRD's
// defaults, and the readable refusals of bad input (exit 2) before anything is read.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { breakerOf, parseIncident, parseSpan, parseTime } from '../../cli/commands/breaker.js';
import { UsageError } from '../../cli/command.js';
import { main } from '../../cli/main.js';
import { packageInfo } from '../../lib/package-root.js';

const calibrateWith = async (...argv: string[]) => {
  const lines = { out: [] as string[], err: [] as string[] };
  const code = await main(['breaker', 'calibrate', ...argv], { out: (t) => lines.out.push(t), err: (t) => lines.err.push(t), env: {} });
  return { code, err: lines.err.join('\n'), out: lines.out.join('\n') };
};

const shardYaml = (name: string, rules: string) => `apiVersion: arbees.io/v1alpha1
kind: TradingShard
metadata: { name: ${name}, namespace: trading }
spec:
  circuitBreaker:
    rules:
${rules}
`;
const goodRule = `      - { name: stale, query: 'max(arbees_quote_age_seconds)', op: '>', threshold: 10 }`;

describe('arbees breaker calibrate: input', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'arbees-calibrate-cli-'))));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads spans with days, times with a zone or as Unix seconds, and incidents as START/LENGTH or START/END', () => {
    expect(parseSpan('7d', 'x')).to.equal(7 * 86_400_000);
    expect(parseSpan('1d12h', 'x')).to.equal(36 * 3_600_000);
    expect(parseSpan('90s', 'x')).to.equal(90_000);
    for (const bad of ['0s', '7 d', 'd', '', '10'])
      expect(() => parseSpan(bad, '--since'), bad).to.throw(UsageError, /--since: .* is not a duration/);
    expect(parseTime('2026-11-20T18:00Z', 'x')).to.equal(Date.UTC(2026, 10, 20, 18));
    expect(parseTime('2026-11-20T19:00:00+01:00', 'x')).to.equal(Date.UTC(2026, 10, 20, 18));
    expect(parseTime('1795197600', 'x')).to.equal(Date.UTC(2026, 10, 20, 18));
    expect(parseTime('2026-11-20', 'x')).to.equal(Date.UTC(2026, 10, 20));
    // Local time would mean something else on every machine.
    expect(() => parseTime('2026-11-20T18:00', '--start')).to.throw(UsageError, /with a zone/);
    expect(parseIncident('2026-11-20T18:00Z/30m')).to.deep.equal({
      start: Date.UTC(2026, 10, 20, 18),
      end: Date.UTC(2026, 10, 20, 18, 30),
      label: '2026-11-20T18:00Z/30m',
    });
    expect(parseIncident('2026-11-20T18:00Z/2026-11-20T18:10Z').end).to.equal(Date.UTC(2026, 10, 20, 18, 10));
    expect(parseIncident('2026-11-20T18:00Z/1d').end).to.equal(Date.UTC(2026, 10, 21, 18));
    expect(() => parseIncident('2026-11-20T18:00Z')).to.throw(UsageError, /START\/LENGTH/);
    expect(() => parseIncident('2026-11-20T18:00Z/2026-11-20T17:00Z')).to.throw(UsageError, /ends before it starts/);
    expect(() => parseIncident('yesterday/30m')).to.throw(UsageError, /not a time/);
  });

  it("fills in the CRD's defaults for the breaker, the same ones the CRD declares", () => {
    const breaker = breakerOf({ spec: { circuitBreaker: { rules: [{ name: 'a', query: 'q', op: '>', threshold: 1 } as never] } } }, 'x');
    const crd = parse(readFileSync(join(packageInfo().root, 'crds', 'tradingshards.arbees.io.yaml'), 'utf8')) as {
      spec: {
        versions: Array<{
          schema: {
            openAPIV3Schema: {
              properties: {
                spec: {
                  properties: {
                    circuitBreaker: {
                      properties: Record<string, { default?: unknown; items?: { properties: { for: { default: unknown } } } }>;
                    };
                  };
                };
              };
            };
          };
        }>;
      };
    };
    const declared = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.circuitBreaker.properties;
    expect(breaker).to.deep.include({
      cooldown: declared.cooldown!.default,
      halfOpenAfter: declared.halfOpenAfter!.default,
      onPrometheusUnavailable: declared.onPrometheusUnavailable!.default,
    });
    expect(breaker.rules[0]!.for).to.equal(declared.rules!.items!.properties.for.default);
  });

  it('lists every problem of a breaker it cannot replay', () => {
    const bad = {
      spec: { circuitBreaker: { halfOpenAfter: '2 minutes', rules: [{ name: 'a', op: '=~', threshold: 'ten', for: 30 } as never] } },
    };
    expect(() => breakerOf(bad, 'shard.yaml')).to.throw(
      UsageError,
      [
        'shard.yaml: rules[0] (a): query is missing',
        'rules[0] (a): op must be one of > >= < <= == !=',
        'rules[0] (a): threshold must be a number',
        'rules[0] (a).for: "30" is not a duration',
        'halfOpenAfter: "2 minutes" is not a duration',
      ].join('; '),
    );
    expect(() => breakerOf({ spec: {} }, 'shard.yaml')).to.throw(UsageError, 'no rules: nothing to calibrate');
  });

  it('refuses bad input with exit 2 and says what is wrong, before reading anything', async () => {
    const one = file('one.yaml', shardYaml('nba-paper', goodRule));
    const two = file('two.yaml', `${shardYaml('a', goodRule)}---\n${shardYaml('b', goodRule)}`);
    const prom = ['--prometheus-url', 'http://127.0.0.1:1'];
    const cases: Array<[string[], string | RegExp]> = [
      [['-f', one], '--prometheus-url is required'],
      [['--prometheus-url', 'ftp://x', '-f', one], '"ftp://x" is not an http(s) URL'],
      [[...prom], 'name the shard: --file MANIFEST, or --shard NAME'],
      [[...prom, '-f', one, '--output', 'json'], '--output must be table or yaml, got "json"'],
      [[...prom, '-f', one, '--since', '7d', '--start', '2026-11-20T00:00Z'], 'use --since or --start/--end, not both'],
      [[...prom, '-f', one, '--start', '2026-11-21T00:00Z', '--end', '2026-11-20T00:00Z'], 'the window must start before it ends'],
      [
        [...prom, '-f', one, '--start', '2026-11-20T00:00Z', '--end', '2026-11-21T00:00Z', '--incident', '2026-11-25T00:00Z/1h'],
        '--incident 2026-11-25T00:00Z/1h lies outside the window',
      ],
      [[...prom, '-f', one, '--quantile', '1.5'], '--quantile must be between 0 and 1, got "1.5"'],
      [[...prom, '-f', one, '--margin', '0.5'], '--margin must be at least 1'],
      [[...prom, '-f', one, '--step', 'fast'], '--step: "fast" is not a duration'],
      [[...prom, '-f', two], /holds several TradingShards \(a, b\): choose one with --shard/],
      [[...prom, '-f', two, '--shard', 'c'], 'no TradingShard named "c" (found: a, b)'],
      [[...prom, '-f', file('none.yaml', 'kind: ConfigMap\n')], 'no TradingShard in it'],
      [[...prom, '-f', join(dir, 'missing.yaml')], /--file: cannot read .*missing\.yaml/],
      [[...prom, '-f', one, '--bearer-token-file', join(dir, 'no-token')], /--bearer-token-file: cannot read/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await calibrateWith(...argv);
      expect(code, argv.join(' ')).to.equal(2);
      const first = err.split('\n')[0]!;
      if (typeof message === 'string') expect(first, argv.join(' ')).to.contain(message);
      else expect(first, argv.join(' ')).to.match(message);
    }
  });
});
