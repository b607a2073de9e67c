// The detector's configuration (runtime config without PostgreSQL, shard settings, fair-value
// feed), its CLI in --check mode, and the pairing rule the scenario test found: one venue's YES and
// NO books must be from one moment.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectorSettings } from '../../workloads/detector/start.js';
import { main } from '../../cli/main.js';
import { DetectorCore } from '../../workloads/detector/core.js';
import { loadFairValues, parseFairValues } from '../../workloads/detector/fair-source.js';
import { loadRuntimeConfigWithoutPostgres } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { signalKeyVars, testSignalKey } from '../support/signals.js';

const shardConfig = {
  shard: 'nba-east',
  markets: [{ id: 'lal', sport: 'nba', game: 'g1', kalshi: { ticker: 'KX-LAL' }, polymarket: { yesTokenId: '1', noTokenId: '2' } }],
  venues: {
    kalshi: { environment: 'demo', restUrl: 'http://127.0.0.1:1/', wsUrl: 'ws://127.0.0.1:1/' },
    polymarket: { clobUrl: 'http://127.0.0.1:1/', wsUrl: 'ws://127.0.0.1:1/', gammaUrl: 'http://127.0.0.1:1/' },
  },
  detector: { minEdgeBps: 50, maxQuoteAgeMs: 1_500, cooldownMs: 10_000 },
  executor: {
    mode: 'paper',
    bankrollUsd: 1000,
    limits: { perGameUsd: 50, perSportUsd: 200, dailyLossUsd: 100, maxOpenPositions: 5, maxOrderUsd: 100 },
  },
};

describe('detector configuration', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'arbees-detector-unit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads fair probabilities exactly, per market, as YES or NO', () => {
    const fair = parseFairValues({ minEdgeBps: 900, markets: { a: '0.62', b: { no: 0.45 }, c: { yes: '1' }, d: 0.0001 } }, 'test');
    expect([...fair.yes]).to.deep.equal([
      ['a', 6200],
      ['b', 5500],
      ['c', 10_000],
      ['d', 1],
    ]);
    expect(fair.minEdgeBps).to.equal(900);
    expect(fair.source.fairValue('b', 'no')).to.equal(4500);
    expect(fair.source.fairValue('zzz', 'yes')).to.equal(undefined);
    expect(() => parseFairValues({ markets: { a: '0.123456' } }, 'f.yaml')).to.throw(ConfigError, /markets\.a: not a probability/);
    expect(() => parseFairValues({ markets: { a: '1.5' } }, 'f.yaml')).to.throw(ConfigError, /markets\.a: "1.5" is above 1/);
    expect(() => parseFairValues({ markets: { a: { yes: '0.5', no: '0.5' } } }, 'f.yaml')).to.throw(ConfigError);
    expect(() => parseFairValues({ market: {} }, 'f.yaml')).to.throw(ConfigError);
  });

  it('loads a YAML fair-value file', () => {
    const path = join(dir, 'fair.yaml');
    writeFileSync(path, 'markets:\n  nba-phi-lal-lal: "0.62"\n');
    expect(loadFairValues(path).source.fairValue('nba-phi-lal-lal', 'no')).to.equal(3800);
    expect(() => loadFairValues(join(dir, 'missing.yaml'))).to.throw(ConfigError, /ENOENT/);
  });

  it('takes the shard, Redis and HTTP settings from file and environment, without PostgreSQL', () => {
    const env = { ARBEES_SHARD: 'nba-east', ARBEES_REDIS_URL: 'redis://r:6379', ARBEES_HTTP_PORT: '9000' };
    expect(loadRuntimeConfigWithoutPostgres({ env })).to.deep.include({
      shard: 'nba-east',
      redis: { url: 'redis://r:6379' },
      http: { port: 9000 },
    });
    const file = join(dir, 'runtime.yaml');
    writeFileSync(file, 'shard: from-file\nredis: { url: "redis://f:1" }\npostgres: { url: "postgres://p/db" }\n');
    const fromFile = loadRuntimeConfigWithoutPostgres({ file, env: { ARBEES_SHARD: 'nba-east' } });
    expect(fromFile.shard).to.equal('nba-east');
    expect(fromFile.redis.url).to.equal('redis://f:1');
    expect(() => loadRuntimeConfigWithoutPostgres({ env: {} })).to.throw(
      ConfigError,
      /shard: is required \(set shard in the file or ARBEES_SHARD\)/,
    );
    expect(() => loadRuntimeConfigWithoutPostgres({ env: { ...env, ARBEES_REDIS_URL: 'http://x' } })).to.throw(
      ConfigError,
      /from ARBEES_REDIS_URL/,
    );
    writeFileSync(file, 'shard: x\nredis: { url: "redis://f:1" }\nbogus: 1\n');
    expect(() => loadRuntimeConfigWithoutPostgres({ file, env: {} })).to.throw(ConfigError, /bogus/);
  });

  it("maps the shard's detector spec onto the core, model edge only with a fair-value feed", () => {
    const shard = shardConfig as unknown as ShardConfig;
    const settings = detectorSettings(shard, undefined);
    expect(settings).to.deep.equal({
      gating: { maxQuoteAgeMs: 1_500, maxLegSkewMs: 1_500 },
      arbitrage: { minEdgeBps: 50 },
      edge: { enabled: false },
      spam: { cooldownMs: 10_000 },
    });
    const fair = parseFairValues({ minEdgeBps: 2_000, markets: { lal: '0.5' } }, 'test');
    expect(detectorSettings(shard, fair).edge).to.deep.equal({ enabled: true, minEdgeBps: 2_000 });
  });

  it('`arbees detector --check` prints the resolved settings, and refuses a shard config of another shard', async () => {
    const path = join(dir, 'shard.json');
    writeFileSync(path, JSON.stringify(shardConfig));
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      env: { ARBEES_SHARD: 'nba-east', ARBEES_REDIS_URL: 'redis://u:secret@r:6379', ...signalKeyVars },
    };
    // Without the signal key it does not start: a config error naming the variable.
    expect(await main(['detector', '--check', '--shard-config', path], { ...io, env: { ...io.env, ARBEES_SIGNAL_KEY: '' } })).to.equal(1);
    expect(err.splice(0).join('\n')).to.match(/the detector needs ARBEES_SIGNAL_KEY:\n.*is not set/);
    expect(await main(['detector', '--check', '--shard-config', path], io)).to.equal(0);
    expect(out.join('\n')).to.not.include(testSignalKey);
    const printed = JSON.parse(out.join('\n')) as { redis: string; markets: string[]; detector: { arbitrage: { minEdgeBps: number } } };
    expect(printed.markets).to.deep.equal(['lal']);
    expect(printed.detector.arbitrage.minEdgeBps).to.equal(50);
    expect(printed.redis).to.not.include('secret');
    expect(await main(['detector', '--check', '--shard-config', path], { ...io, env: { ...io.env, ARBEES_SHARD: 'nhl-west' } })).to.equal(
      1,
    );
    expect(err.join('\n')).to.include('another shard');
    expect(await main(['detector', '--bogus'], io)).to.equal(2);
  });
});

describe("detector pairing of one venue's YES and NO books", () => {
  const t0 = 1_800_000_000_000;
  let seq = 0;
  /** One venue's book as a monitor publishes it: YES ladder, and NO as its mirror. */
  function quotes(venue: Venue, bid: number, ask: number, at: number): Record<Outcome, Quote> {
    const base = { venue, marketId: 'm', exchangeTs: at, receivedTs: at, stale: false };
    return {
      yes: { ...base, outcome: 'yes', bids: [[bid, 30_000]], asks: [[ask, 30_000]], seq: ++seq },
      no: { ...base, outcome: 'no', bids: [[10_000 - ask, 30_000]], asks: [[10_000 - bid, 30_000]], seq: ++seq },
    };
  }

  it('never prices a new YES book against the old NO book of the same venue (the phantom set of a ladder jump)', () => {
    const core = new DetectorCore({ arbitrage: { minEdgeBps: 1 } });
    const before = quotes('kalshi', 5_100, 5_300, t0);
    core.onQuote(before.yes, t0);
    core.onQuote(before.no, t0);
    // The ladder jumps 9 cents down: YES ask 0.44 against the old NO ask 0.49 would be a 0.93 set.
    const after = quotes('kalshi', 4_200, 4_400, t0 + 50);
    const out = core.onQuote(after.yes, t0 + 50);
    expect(out.signals).to.have.length(0);
    expect(out.suppressed.map((s) => `${s.direction}:${s.reason}`)).to.deep.equal(['kalshi_yes+kalshi_no:skew']);
    // Once the NO book catches up the pair mirrors, and a consistent book is never a set below $1.
    expect(core.onQuote(after.no, t0 + 50).signals).to.have.length(0);
  });

  it('still finds a cross-venue set on the same books', () => {
    const core = new DetectorCore({ arbitrage: { minEdgeBps: 1 } });
    const kalshi = quotes('kalshi', 4_200, 4_400, t0);
    const poly = quotes('polymarket', 5_100, 5_300, t0);
    for (const q of [kalshi.yes, kalshi.no, poly.yes]) core.onQuote(q, t0);
    const out = core.onQuote(poly.no, t0);
    expect(out.signals.map((s) => s.legs.map((l) => `${l.venue}_${l.outcome}@${l.limitPrice}`))).to.deep.equal([
      ['kalshi_yes@4400', 'polymarket_no@4900'],
    ]);
  });
});
