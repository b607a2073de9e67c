// The detector service against a real Redis, driven by the simulators' seeded scenario: the
// built-in demo game day (same games, markets, seed, price path and faults) with more injected
// arbitrage windows, stepped at accelerated time and turned into quotes the way a monitor would
// (test/support/scenario-quotes.ts). Every signal is checked against the venues' true books at the
// moment it was raised, with the fees recomputed independently; every injected window whose edge
// survives the fees must be found, and the ones the fees erase or stale books hide must not.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { rig } from '../rig/index.js';
import { freePort } from '../../cli/local/process.js';
import { ScenarioQuotes, type TimedQuote } from '../support/scenario-quotes.js';
import { signalKeyVars, testSignalKey } from '../support/signals.js';
import { signatureProblem } from '../../contracts/signal-auth.js';
import { marketParamsKey, type MarketParams } from '../../contracts/market-params.js';
import { defaultDetectorConfig } from '../../workloads/detector/core.js';
import { loadFairValues } from '../../workloads/detector/fair-source.js';
import { polymarketFee } from '../../venues/polymarket/fees.js';
import { kalshiFee } from '../../venues/kalshi/fees.js';
import { type Levels } from '../../venues/fee-math.js';
import { DetectorService, MESSAGE_FIELD, type DetectorServiceOptions } from '../../workloads/detector/service.js';
import { startDetector } from '../../workloads/detector/start.js';
import { signalId } from '../../workloads/detector/signal-id.js';
import { signalSchema, streamKeys, type Outcome, type Quote, type Signal, type Venue } from '../../contracts/messages.js';
import { SimClock } from '../../workloads/sim/clock.js';
import { ScenarioEngine, type ArbTruth } from '../../workloads/sim/engine.js';
import { loadDemoScenario, parseScenario, type Scenario } from '../../workloads/sim/scenario.js';

const PRICE_ONE = 10_000;
/**
 * How simulated time runs. Default: stepped — the clock advances SLICE_MS of simulated time, the
 * quotes due are published, and it waits for the detector to read them, as fast as the machine
 * allows (a 30-minute game day in seconds, and the same result on a loaded machine).
 * ARBEES_DETECTOR_IT_SPEED=N paces it against the wall clock at N× instead (a soak: CPU starvation
 * then shows up as quotes that really are too old when read, and may cost a short window).
 */
const SPEED = Number(process.env.ARBEES_DETECTOR_IT_SPEED ?? 0);
const SLICE_MS = 500;
const config = defaultDetectorConfig;
const MIN_EDGE_BPS = config.arbitrage.minEdgeBps;
const MAX_AGE = config.gating.maxQuoteAgeMs;
const runId = `${process.pid}-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The scenario: the demo plus windows on every market, both venues and both directions, one long
// window (spam control), and two that stale books must hide.

/** Windows a stale book hides: no signal is allowed, whatever their edge. */
const HIDDEN = new Set(['hide-lal-kalshi-outage', 'hide-bos-polymarket-frozen']);

function testScenario(): Scenario {
  const demo = loadDemoScenario();
  const extra = [
    { id: 'x-bos-kalshi-cheap', market: 'nba-bos-nyk-bos', at: '6m', duration: '20s', venue: 'kalshi', direction: 'cheap', bps: 900 },
    // During the Kalshi outage (8m–8m20s): its books are flagged stale.
    { id: 'hide-lal-kalshi-outage', market: 'nba-phi-lal-lal', at: '485s', duration: '10s', venue: 'kalshi', direction: 'cheap', bps: 900 },
    {
      id: 'x-lal-polymarket-cheap',
      market: 'nba-phi-lal-lal',
      at: '570s',
      duration: '20s',
      venue: 'polymarket',
      direction: 'cheap',
      bps: 800,
    },
    { id: 'x-tor-kalshi-rich', market: 'nhl-tor-mtl-tor', at: '12m', duration: '25s', venue: 'kalshi', direction: 'rich', bps: 800 },
    // During the Polymarket frozen feed (18m–18m45s): its books go quiet, then are flagged stale.
    {
      id: 'hide-bos-polymarket-frozen',
      market: 'nba-bos-nyk-bos',
      at: '1090s',
      duration: '20s',
      venue: 'kalshi',
      direction: 'cheap',
      bps: 900,
    },
    { id: 'x-lal-kalshi-rich', market: 'nba-phi-lal-lal', at: '22m', duration: '20s', venue: 'kalshi', direction: 'rich', bps: 800 },
    // Three minutes long: spam control must keep it to a handful of signals.
    {
      id: 'x-bos-polymarket-rich-long',
      market: 'nba-bos-nyk-bos',
      at: '23m',
      duration: '3m',
      venue: 'polymarket',
      direction: 'rich',
      bps: 700,
    },
    {
      id: 'x-tor-polymarket-cheap',
      market: 'nhl-tor-mtl-tor',
      at: '27m',
      duration: '20s',
      venue: 'polymarket',
      direction: 'cheap',
      bps: 900,
    },
  ];
  return parseScenario({ ...demo, arbitrage: [...demo.arbitrage, ...extra] });
}

// ---------------------------------------------------------------------------------------------
// Independent pricing: the venues' published fee formulas in exact integers (BigInt), not the
// detector's fee module; cross-checked with the fee functions on single fills.

/** Kalshi taker fee of one order walking `fills`: ⌈0.07 × Σ C·P·(1−P)⌉ to the cent, in 1e-4 $. */
function kalshiOrderFee(fills: Array<[number, number]>): bigint {
  // size (hundredths) × p (1e-4) × (1e4 − p) (1e-4): dollars = 0.07 × S / 1e10; cents = 7S / 1e10.
  const s = fills.reduce((sum, [p, size]) => sum + BigInt(size) * BigInt(p) * BigInt(PRICE_ONE - p), 0n);
  const cents = (7n * s + 10n ** 10n - 1n) / 10n ** 10n;
  return cents * 100n;
}

/** Polymarket taker fee per fill: ⌈0.03 × C × p × (1−p)⌉ to $0.0001, summed, in 1e-4 $. */
function polymarketOrderFee(fills: Array<[number, number]>): bigint {
  return fills.reduce((sum, [p, size]) => sum + (3n * BigInt(size) * BigInt(p) * BigInt(PRICE_ONE - p) + 10n ** 8n - 1n) / 10n ** 8n, 0n);
}

/** Buys `size` from `asks` best first, never above `limit`; undefined when they cannot fill it. */
function fillsFor(asks: Levels, size: number, limit: number): Array<[number, number]> | undefined {
  const fills: Array<[number, number]> = [];
  let left = size;
  for (const [price, available] of asks) {
    if (left === 0 || price > limit) break;
    const take = Math.min(left, available);
    fills.push([price, take]);
    left -= take;
  }
  return left === 0 ? fills : undefined;
}

interface Priced {
  /** Net profit in 1e-4 $, rounded down (as signals state it). */
  profit: number;
  edgeBps: number;
}

/** Net result of buying `size` sets from two legs' asks at their limit prices, or undefined if the books cannot fill it. */
function priceSet(legs: Array<{ venue: Venue; asks: Levels; limit: number }>, size: number): Priced | undefined {
  let micros = BigInt(size) * BigInt(PRICE_ONE); // payout in 1e-6 $
  for (const leg of legs) {
    const fills = fillsFor(leg.asks, size, leg.limit);
    if (!fills) return undefined;
    for (const [p, s] of fills) micros -= BigInt(p) * BigInt(s);
    micros -= (leg.venue === 'kalshi' ? kalshiOrderFee(fills) : polymarketOrderFee(fills)) * 100n;
  }
  const floor = (x: bigint, d: bigint) => (x >= 0n ? x / d : -((-x + d - 1n) / d));
  return { profit: Number(floor(micros, 100n)), edgeBps: Number(floor(micros, BigInt(size))) };
}

/** Per-contract net at the top of two books, in 1e-8 $ (fees unrounded: the marginal contract). */
function topNet(a: number, venueA: Venue, b: number, venueB: Venue): number {
  const fee = (p: number, venue: Venue) => ((venue === 'kalshi' ? 7 : 3) * p * (PRICE_ONE - p)) / 100;
  return (PRICE_ONE - a - b) * 10_000 - fee(a, venueA) - fee(b, venueB);
}

// ---------------------------------------------------------------------------------------------
// The venues' true books over the quote stream. Each change of a venue's book is published as its
// YES quote, then its NO quote; the YES quote alone is the whole book (NO is its mirror), so the
// latest YES quote of a venue is the venue's true book at that point of the stream.

class TrueBooks {
  private readonly yes = new Map<string, Quote>();

  apply(quote: Quote): void {
    if (quote.outcome === 'yes') this.yes.set(`${quote.venue}/${quote.marketId}`, quote);
  }

  book(venue: Venue, marketId: string): Quote | undefined {
    return this.yes.get(`${venue}/${marketId}`);
  }

  asks(venue: Venue, marketId: string, outcome: Outcome): Levels {
    const book = this.book(venue, marketId)!;
    return outcome === 'yes' ? book.asks : book.bids.map(([p, s]) => [PRICE_ONE - p, s] as const);
  }

  /** Both books present, not flagged stale, and received within maxQuoteAgeMs of `now`. */
  fresh(marketId: string, venues: Venue[], now: number): boolean {
    return venues.every((venue) => {
      const book = this.book(venue, marketId);
      return book !== undefined && !book.stale && now - book.receivedTs <= MAX_AGE;
    });
  }
}

interface Located {
  signal: Signal;
  /** Index of the quote that triggered it, and its simulated time. */
  index: number;
  t: number;
  /** The independent price of the signal on the true books at that moment. */
  priced: Priced | undefined;
  fresh: boolean;
}

const combos: Array<[Venue, Outcome, Venue, Outcome]> = [
  ['kalshi', 'yes', 'polymarket', 'no'],
  ['kalshi', 'no', 'polymarket', 'yes'],
  ['kalshi', 'yes', 'kalshi', 'no'],
  ['polymarket', 'yes', 'polymarket', 'no'],
];

/**
 * Finds the quote that raised each signal (its id is a hash of the two books it priced, so it is
 * recomputed over the stream as the detector saw it) and prices the signal on the true books then.
 */
function locate(quotes: TimedQuote[], signals: Signal[]): Located[] {
  const wanted = new Map(signals.filter((s) => s.kind === 'arbitrage').map((s) => [s.id, s]));
  const seen = new Map<string, Quote>(); // the detector's view: latest quote per venue/market/outcome
  const truth = new TrueBooks();
  const found = new Map<string, Located>();
  quotes.forEach(({ t, quote }, index) => {
    truth.apply(quote);
    const key = `${quote.venue}/${quote.marketId}/${quote.outcome}`;
    const previous = seen.get(key);
    // The detector keeps a book unless the quote is older (book.ts): seq and exchange time both not newer.
    if (previous && quote.seq <= previous.seq && quote.exchangeTs <= previous.exchangeTs) return;
    seen.set(key, quote);
    for (const [va, oa, vb, ob] of combos) {
      if (!((va === quote.venue && oa === quote.outcome) || (vb === quote.venue && ob === quote.outcome))) continue;
      const qa = seen.get(`${va}/${quote.marketId}/${oa}`);
      const qb = seen.get(`${vb}/${quote.marketId}/${ob}`);
      if (!qa || !qb) continue;
      const id = signalId('arbitrage', quote.marketId, `${va}_${oa}+${vb}_${ob}`, [qa, qb]);
      const signal = wanted.get(id);
      if (!signal || found.has(id)) continue;
      const now = quote.receivedTs;
      const legs = signal.legs.map((leg) => ({
        venue: leg.venue,
        asks: truth.asks(leg.venue, quote.marketId, leg.outcome),
        limit: leg.limitPrice,
      }));
      const size = signal.legs[0]!.size;
      found.set(id, { signal, index, t, priced: priceSet(legs, size), fresh: truth.fresh(quote.marketId, [va, vb], now) });
    }
  });
  return [...wanted.values()].map((s) => found.get(s.id) ?? { signal: s, index: -1, t: NaN, priced: undefined, fresh: false });
}

/** Whether the true books during a window ever held a set in its direction worth ≥ minEdgeBps after fees, with both books fresh. */
function windowJustified(quotes: TimedQuote[], w: ArbTruth): boolean {
  const truth = new TrueBooks();
  const yesOn = w.buyYesOn;
  const noOn = w.buyNoOn;
  for (const { t, quote } of quotes) {
    truth.apply(quote);
    if (quote.marketId !== w.marketId || t < w.startMs || t >= w.endMs) continue;
    if (!truth.fresh(w.marketId, [yesOn, noOn], quote.receivedTs)) continue;
    const a = truth.asks(yesOn, w.marketId, 'yes')[0];
    const b = truth.asks(noOn, w.marketId, 'no')[0];
    if (a && b && topNet(a[0], yesOn, b[0], noOn) >= MIN_EDGE_BPS * 10_000) return true;
  }
  return false;
}

/** Whether a signal buys the window's set: YES where the window made YES cheap, NO on the other side. */
function matchesWindow(located: Located, w: ArbTruth): boolean {
  const { signal, t } = located;
  const yes = signal.legs.find((l) => l.outcome === 'yes');
  const no = signal.legs.find((l) => l.outcome === 'no');
  return signal.marketId === w.marketId && yes?.venue === w.buyYesOn && no?.venue === w.buyNoOn && t >= w.startMs && t < w.endMs;
}

// ---------------------------------------------------------------------------------------------
// Redis plumbing

async function publish(redis: Redis, shard: string, quotes: Array<Quote | string>): Promise<string | undefined> {
  let last: string | undefined;
  for (let i = 0; i < quotes.length; i += 2_000) {
    const pipeline = redis.pipeline();
    for (const q of quotes.slice(i, i + 2_000))
      pipeline.xadd(streamKeys.quotes(shard), '*', MESSAGE_FIELD, typeof q === 'string' ? q : JSON.stringify(q));
    const results = (await pipeline.exec()) ?? [];
    for (const [error, id] of results) {
      if (error) throw error;
      last = id as string;
    }
  }
  return last;
}

async function readSignals(redis: Redis, shard: string): Promise<Signal[]> {
  const out: Signal[] = [];
  let from = '-';
  for (;;) {
    const entries = (await redis.xrange(streamKeys.signals(shard), from, '+', 'COUNT', 5_000)) as [string, string[]][];
    for (const [, fields] of entries) {
      const json = JSON.parse(fields[fields.indexOf(MESSAGE_FIELD) + 1]!) as unknown;
      // Every signal is signed with the shard's key, as the executor requires.
      expect(signatureProblem(json, testSignalKey, shard), 'signature').to.equal(undefined);
      out.push(signalSchema.parse(json));
    }
    if (entries.length < 5_000) return out;
    from = `(${entries[entries.length - 1]![0]}`;
  }
}

async function readQuotes(redis: Redis, shard: string): Promise<string[]> {
  const out: string[] = [];
  let from = '-';
  for (;;) {
    const entries = (await redis.xrange(streamKeys.quotes(shard), from, '+', 'COUNT', 10_000)) as [string, string[]][];
    for (const [, fields] of entries) out.push(fields[fields.indexOf(MESSAGE_FIELD) + 1]!);
    if (entries.length < 10_000) return out;
    from = `(${entries[entries.length - 1]![0]}`;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

async function caughtUp(service: DetectorService, lastId: string | undefined, pollMs = 20): Promise<void> {
  await until(`the detector to read up to ${lastId}`, () => service.stats().lastId === lastId, 60_000, pollMs);
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    total += Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------------------------------------------------------------------------------------------

describe('detector service (real Redis, scenario-driven)', function () {
  this.timeout(240_000);
  let redisUrl: string;
  let redis: Redis;
  const shards: string[] = [];
  const shardName = (name: string) => {
    const shard = `det-${name}-${runId}`;
    shards.push(shard);
    return shard;
  };

  before(async () => {
    redisUrl = (await rig.redis()).url;
    redis = new Redis(redisUrl);
    redis.on('error', () => undefined); // the outage test stops Redis under it; commands still report errors
  });

  after(async () => {
    for (const shard of shards) await redis.del(streamKeys.quotes(shard), streamKeys.signals(shard));
    redis.disconnect();
  });

  describe("on the simulators' seeded game day, stepped at accelerated time", () => {
    const scenario = testScenario();
    let truths: ArbTruth[];
    let quotes: TimedQuote[];
    let signals: Signal[];
    let located: Located[];
    let liveShard: string;
    let suppressed: Record<string, number>;
    const hiddenVisible = new Set<string>();

    before(async function () {
      this.timeout(600_000);
      liveShard = shardName('live');
      const engine = new ScenarioEngine(scenario);
      truths = engine.groundTruth();
      const startMs = Date.UTC(2026, 10, 24, 0, 0, 0);
      const paced = SPEED > 0 ? new SimClock({ speed: SPEED, startMs }) : undefined;
      let simNow = 0;
      const elapsed = () => (paced ? paced.elapsed() : simNow);
      // Ground truth for the hidden windows: was the set profitable on the venues' real books?
      const feed: ScenarioQuotes = new ScenarioQuotes(engine, {
        startMs,
        staleAfterMs: MAX_AGE,
        onChange: (t, _venue, marketId) => {
          for (const w of truths) {
            if (!HIDDEN.has(w.id) || w.marketId !== marketId || t < w.startMs || t >= w.endMs) continue;
            const a = feed.trueAsks(w.buyYesOn, marketId, 'yes')[0];
            const b = feed.trueAsks(w.buyNoOn, marketId, 'no')[0];
            if (a && b && topNet(a[0], w.buyYesOn, b[0], w.buyNoOn) >= MIN_EDGE_BPS * 10_000) hiddenVisible.add(w.id);
          }
        },
      });
      const registry = new Registry();
      const service = new DetectorService({
        shard: liveShard,
        redisUrl,
        signalKey: testSignalKey,
        now: () => Math.floor(startMs + elapsed()),
        registry,
        blockMs: 200,
      });
      await service.start();
      const began = Date.now();
      let lastId: string | undefined;
      try {
        // Monitors at accelerated time: whatever the engine has due is converted and XADDed.
        while (engine.peekTime() !== undefined) {
          if (!paced) simNow += SLICE_MS;
          const due = feed.advanceTo(elapsed());
          if (due.length > 0)
            lastId =
              (await publish(
                redis,
                liveShard,
                due.map((d) => d.quote),
              )) ?? lastId;
          if (paced) await sleep(5);
          else if (lastId) await caughtUp(service, lastId, 1);
        }
        await caughtUp(service, lastId);
      } finally {
        await service.stop();
      }
      quotes = feed.produced;
      signals = await readSignals(redis, liveShard);
      located = locate(quotes, signals);
      const text = await registry.metrics();
      suppressed = {};
      for (const line of text.split('\n')) {
        const m = /^arbees_signals_suppressed_total\{reason="([^"]+)"\} (\d+)/.exec(line);
        if (m) suppressed[m[1]!] = Number(m[2]);
      }
      console.log(
        `      ${quotes.length} quotes over ${scenario.duration / 60_000} simulated min in ` +
          `${((Date.now() - began) / 1000).toFixed(1)} s (${paced ? `paced ×${SPEED}` : `stepped ${SLICE_MS} ms`}); ` +
          `${signals.length} signals; suppressed ${JSON.stringify(suppressed)}`,
      );
    });

    it('finds every injected window that the fees justify, and none the fees erase or stale books hide (recall 1.0)', () => {
      const rows: string[] = [];
      const expected: ArbTruth[] = [];
      for (const w of truths) {
        const justified = windowJustified(quotes, w);
        const hits = located.filter((l) => matchesWindow(l, w));
        const shouldFind = justified && !HIDDEN.has(w.id);
        if (shouldFind) expected.push(w);
        const firstLag = hits.length ? `first after ${((hits[0]!.t - w.startMs) / 1000).toFixed(2)} s` : '';
        rows.push(
          `${w.id.padEnd(28)} ${String(w.edgeBps).padStart(4)} bps gross  ` +
            `${HIDDEN.has(w.id) ? 'stale-hidden' : justified ? 'fee-justified' : 'fee-erased  '}  ${hits.length} signal(s) ${firstLag}`,
        );
        if (shouldFind) expect(hits.length, `window ${w.id}`).to.be.greaterThan(0);
        else expect(hits, `window ${w.id} must not be signalled`).to.have.length(0);
      }
      const found = expected.filter((w) => located.some((l) => matchesWindow(l, w))).length;
      const recall = found / expected.length;
      console.log(`      windows:\n${rows.map((r) => `        ${r}`).join('\n')}`);
      console.log(`      recall ${recall.toFixed(3)} (${found}/${expected.length} fee-justified windows found)`);
      expect(expected.length).to.be.at.least(6);
      expect(
        truths.some((w) => !windowJustified(quotes, w)),
        'the demo keeps a window the fees erase',
      ).to.equal(true);
      expect(recall).to.equal(1);
    });

    it('raises no arbitrage signal that the true books did not justify after fees (precision 1.0)', () => {
      const arbs = located.filter((l) => l.signal.kind === 'arbitrage');
      expect(
        arbs.every((l) => l.index >= 0),
        'every signal traced back to the quote that raised it',
      ).to.equal(true);
      let inWindow = 0;
      let natural = 0;
      const wrong: Located[] = [];
      for (const l of arbs) {
        const window = truths.find((w) => matchesWindow(l, w) && !HIDDEN.has(w.id));
        const profitable = l.fresh && l.priced !== undefined && l.priced.profit > 0 && l.priced.edgeBps >= MIN_EDGE_BPS;
        if (window && profitable) inWindow++;
        else if (profitable) natural++;
        else wrong.push(l);
      }
      const precision = arbs.length ? (inWindow + natural) / arbs.length : 1;
      console.log(
        `      precision ${precision.toFixed(3)} (${arbs.length} arbitrage signals: ${inWindow} in injected windows, ` +
          `${natural} natural arbitrage verified after fees, ${wrong.length} unjustified)`,
      );
      expect(wrong.map((l) => ({ id: l.signal.id, t: l.t, priced: l.priced, fresh: l.fresh }))).to.deep.equal([]);
      expect(precision).to.equal(1);
    });

    it('states expected profit net of fees exactly as the venues would charge, and sizes within displayed depth', () => {
      expect(located.length).to.be.greaterThan(0);
      for (const l of located) {
        const { signal, priced } = l;
        expect(signal.expectedProfit, signal.id).to.be.greaterThan(0);
        expect(signal.edgeBps, signal.id).to.be.at.least(MIN_EDGE_BPS);
        expect(new Set(signal.legs.map((leg) => leg.size)).size, 'both legs the same size').to.equal(1);
        // Fillable on the true books at the limit prices (size ≤ displayed depth), at exactly the stated profit.
        expect(priced, `${signal.id} fillable at its limits`).to.not.equal(undefined);
        expect(priced!.profit, signal.id).to.equal(signal.expectedProfit);
        expect(priced!.edgeBps, signal.id).to.equal(signal.edgeBps);
        expect(signal.quoteAgesMs.every((age) => age <= MAX_AGE)).to.equal(true);
      }
      // The independent fee formulas agree with the detector's fee functions on single fills.
      for (const [p, s] of [
        [4000, 100],
        [5900, 69_100],
        [100, 1],
        [9_999, 12_345],
        [5000, 2_500_000],
      ] as const) {
        expect(Number(kalshiOrderFee([[p, s]])), `kalshi ${p} × ${s}`).to.equal(kalshiFee(p, s));
        expect(Number(polymarketOrderFee([[p, s]])), `polymarket ${p} × ${s}`).to.equal(polymarketFee(p, s));
      }
    });

    it('raises nothing from stale books: a venue outage and a frozen feed hide their windows', () => {
      // Gating worked on the stream, not by luck: stale and too-old pairs were seen and refused.
      expect((suppressed.stale ?? 0) + (suppressed.too_old ?? 0)).to.be.greaterThan(0);
      for (const id of HIDDEN) {
        const w = truths.find((x) => x.id === id)!;
        // The mispricing was there on the venues' books (the monitors just could not see them fresh) …
        expect(hiddenVisible.has(id), `${id} made a set profitable after fees`).to.equal(true);
        // … and no signal touched the market while a leg was stale.
        const during = located.filter((l) => l.signal.marketId === w.marketId && l.t >= w.startMs && l.t < w.endMs);
        expect(during, id).to.have.length(0);
      }
      for (const l of located) expect(l.fresh, `${l.signal.id} raised on fresh books`).to.equal(true);
    });

    it('bounds repeated signals: one live signal per market and direction, renewed only on cooldown or a real edge move', () => {
      const spam = config.spam;
      const byKey = new Map<string, Located[]>();
      for (const l of located) {
        const key = `${l.signal.marketId}|${l.signal.legs.map((leg) => `${leg.venue}_${leg.outcome}`).join('+')}`;
        byKey.set(key, [...(byKey.get(key) ?? []), l]);
      }
      for (const [key, list] of byKey) {
        for (let i = 1; i < list.length; i++) {
          const dt = list[i]!.signal.createdTs - list[i - 1]!.signal.createdTs;
          const step = Math.abs(list[i]!.signal.edgeBps - list[i - 1]!.signal.edgeBps);
          expect(dt >= spam.cooldownMs || step >= spam.edgeStepBps, `${key}: ${dt} ms and ${step} bps after the previous`).to.equal(true);
        }
      }
      const rows: string[] = [];
      for (const w of truths) {
        const count = located.filter((l) => matchesWindow(l, w)).length;
        const bound = spam.perMarket.capacity + Math.ceil(((w.endMs - w.startMs) * spam.perMarket.perMinute) / 60_000);
        rows.push(`${w.id}: ${count} ≤ ${bound}`);
        expect(count, w.id).to.be.at.most(bound);
      }
      const long = truths.find((w) => w.id === 'x-bos-polymarket-rich-long')!;
      const longCount = located.filter((l) => matchesWindow(l, long)).length;
      const wouldBe = suppressed.unchanged ?? 0;
      console.log(`      signals per window (bound): ${rows.join(', ')}; ${wouldBe} repeats suppressed as unchanged`);
      // A 3-minute window of the same edge: at most one per cooldown, plus edge steps, but never one per quote.
      expect(longCount).to.be.at.least(2);
      expect(longCount).to.be.at.most(Math.ceil((long.endMs - long.startMs) / spam.cooldownMs) + 3);
      expect(wouldBe).to.be.greaterThan(10 * longCount);
    });

    it('yields identical signal ids when the recorded quote stream is replayed', async function () {
      this.timeout(300_000);
      const recorded = await readQuotes(redis, liveShard);
      expect(recorded.length).to.equal(quotes.length);
      const replays = [shardName('replay-a'), shardName('replay-b')];
      const ids: string[][] = [];
      for (const shard of replays) {
        // Event time: a replay's decisions must not depend on how fast it runs.
        const service = new DetectorService({ shard, redisUrl, signalKey: testSignalKey, timeSource: 'quote', blockMs: 200 });
        await service.start();
        try {
          const lastId = await publish(redis, shard, recorded);
          await caughtUp(service, lastId);
        } finally {
          await service.stop();
        }
        ids.push((await readSignals(redis, shard)).map((s) => s.id));
        await redis.del(streamKeys.quotes(shard));
      }
      const live = new Set(signals.map((s) => s.id));
      const shared = ids[0]!.filter((id) => live.has(id)).length;
      console.log(
        `      replays: ${ids[0]!.length} and ${ids[1]!.length} signals, identical ids: ` +
          `${JSON.stringify(ids[0]) === JSON.stringify(ids[1])}; ${shared}/${signals.length} live ids reproduced`,
      );
      expect(ids[0]!.length).to.be.greaterThan(0);
      expect(ids[1]).to.deep.equal(ids[0]);
      // The live run decided on its own clock; the first signal of each window is on the same books
      // (paced against a loaded machine, a stall may delay it: not compared then).
      if (SPEED > 0) return;
      for (const w of truths) {
        const first = located.find((l) => matchesWindow(l, w));
        if (first) expect(ids[0], `first signal of ${w.id}`).to.include(first.signal.id);
      }
    });
  });

  describe('service behaviour', () => {
    const market = 'lal-bos';
    let seq = 0;
    /** A profitable pair: Kalshi YES at 0.40 and Polymarket NO at 0.52 (an 8¢ set before fees). */
    const book = (venue: Venue, outcome: Outcome, ask: number, receivedTs: number, extra: Partial<Quote> = {}): Quote => ({
      venue,
      marketId: market,
      outcome,
      bids: [[ask - 200, 10_000]],
      asks: [
        [ask, 5_000],
        [ask + 100, 5_000],
      ],
      seq: ++seq,
      exchangeTs: receivedTs,
      receivedTs,
      stale: false,
      ...extra,
    });

    it('gates stale and too-old books, refuses invalid entries, counts why, and keeps serving /metrics, /healthz and /readyz', async () => {
      const shard = shardName('gating');
      const running = await startDetector({
        shard,
        redisUrl,
        signalKey: testSignalKey,
        httpPort: 0,
        httpHost: '127.0.0.1',
        markets: [market],
        blockMs: 200,
      });
      try {
        const port = running.ops.port;
        expect((await get(port, '/healthz')).status).to.equal(200);
        expect((await get(port, '/readyz')).status).to.equal(200);
        const now = Date.now();
        let last = await publish(redis, shard, [
          book('kalshi', 'yes', 4000, now),
          book('polymarket', 'no', 5200, now, { stale: true }), // the monitor lost this book
          book('polymarket', 'no', 5200, now - MAX_AGE - 5_000), // an old book (received long ago)
          'not json',
          JSON.stringify({ venue: 'kalshi', marketId: market }),
          JSON.stringify(book('kalshi', 'yes', 4000, now, { marketId: 'someone-elses-market' })),
        ]);
        await caughtUp(running.service, last);
        expect(await readSignals(redis, shard)).to.have.length(0);
        let metrics = (await get(port, '/metrics')).body;
        expect(metricValue(metrics, 'arbees_signals_suppressed_total', { reason: 'stale' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_signals_suppressed_total', { reason: 'too_old' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_detector_invalid_quotes_total', { reason: 'json' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_detector_invalid_quotes_total', { reason: 'schema' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_detector_invalid_quotes_total', { reason: 'unknown_market' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_quotes_consumed_total')).to.equal(6);

        // The same books, fresh: a signal (so the gating above, not the prices, stopped it).
        // (Written as workloads/market-data's publisher does, in a `quote` field.)
        const fresh = book('polymarket', 'no', 5200, Date.now());
        await redis.xadd(streamKeys.quotes(shard), '*', 'quote', JSON.stringify(fresh));
        last = await publish(redis, shard, [JSON.stringify({ ...fresh, seq: fresh.seq - 1, exchangeTs: fresh.exchangeTs - 1 })]);
        await caughtUp(running.service, last);
        const signals = await readSignals(redis, shard);
        expect(signals).to.have.length(1);
        expect(signals[0]!.legs.map((l) => `${l.venue}_${l.outcome}@${l.limitPrice}`)).to.deep.equal([
          'kalshi_yes@4100',
          'polymarket_no@5300',
        ]);
        metrics = (await get(port, '/metrics')).body;
        expect(metricValue(metrics, 'arbees_signals_total', { kind: 'arbitrage' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_detector_invalid_quotes_total', { reason: 'out_of_order' })).to.equal(1);
        expect(metricValue(metrics, 'arbees_detector_evaluation_seconds_count')).to.equal(5);
      } finally {
        await running.stop();
      }
    });

    it('resumes from the newest quote after a restart: warm books, but never a signal from history', async () => {
      const shard = shardName('restart');
      const options: DetectorServiceOptions = { shard, redisUrl, signalKey: testSignalKey, blockMs: 200 };
      const first = new DetectorService(options);
      await first.start();
      let last = await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now()), book('polymarket', 'no', 5200, Date.now())]);
      await caughtUp(first, last);
      await first.stop();
      expect(await readSignals(redis, shard)).to.have.length(1);

      // While it is down the books move to a new opportunity: history, not to be signalled.
      last = await publish(redis, shard, [book('kalshi', 'yes', 3900, Date.now()), book('polymarket', 'no', 5100, Date.now())]);
      const second = new DetectorService(options);
      await second.start();
      try {
        expect(second.stats().lastId).to.equal(last);
        expect(second.stats().warmed).to.equal(4); // the whole tail is fresh
        // Read past the history (a quote of another market, after it, is consumed): nothing signalled from it.
        last = await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now(), { marketId: 'another-market' })]);
        await caughtUp(second, last);
        expect(await readSignals(redis, shard)).to.have.length(1);
        // A fresh Kalshi quote pairs with the warmed Polymarket book at once.
        last = await publish(redis, shard, [book('kalshi', 'yes', 3800, Date.now())]);
        await caughtUp(second, last);
        const signals = await readSignals(redis, shard);
        expect(signals).to.have.length(2);
        expect(signals[1]!.legs.map((l) => `${l.venue}_${l.outcome}@${l.limitPrice}`)).to.deep.equal([
          'kalshi_yes@3900',
          'polymarket_no@5200',
        ]);
      } finally {
        await second.stop();
      }
    });

    it('survives a Redis outage: not ready while Redis is gone, consuming again when it is back', async function () {
      this.timeout(120_000);
      const shard = shardName('outage');
      const server = await rig.redis();
      const running = await startDetector({ shard, redisUrl, signalKey: testSignalKey, httpPort: 0, httpHost: '127.0.0.1', blockMs: 200 });
      try {
        await server.stop();
        await until('the detector to report not ready', async () => (await get(running.ops.port, '/readyz')).status === 503, 30_000);
        expect((await get(running.ops.port, '/healthz')).status).to.equal(200);
        await server.start();
        await until('the detector to be ready again', async () => (await get(running.ops.port, '/readyz')).status === 200, 30_000);
        // Redis came back empty (no persistence in the rig): new entries are still read.
        const last = await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now()), book('polymarket', 'no', 5200, Date.now())]);
        await caughtUp(running.service, last);
        expect(await readSignals(redis, shard)).to.have.length(1);
        expect(
          metricValue((await get(running.ops.port, '/metrics')).body, 'arbees_detector_redis_errors_total', { operation: 'xread' }),
        ).to.be.greaterThan(0);
      } finally {
        await running.stop();
      }
    });

    it('raises model-edge signals from a static fair-value feed when enabled', async () => {
      const shard = shardName('edge');
      const dir = mkdtempSync(join(tmpdir(), 'arbees-fair-'));
      try {
        writeFileSync(join(dir, 'fair.yaml'), `minEdgeBps: 1500\nmarkets:\n  ${market}: "0.70"\n`);
        const fair = loadFairValues(join(dir, 'fair.yaml'));
        const running = await startDetector({
          shard,
          redisUrl,
          signalKey: testSignalKey,
          httpPort: 0,
          httpHost: '127.0.0.1',
          blockMs: 200,
          fairValues: fair.source,
          detector: { edge: { enabled: true, minEdgeBps: fair.minEdgeBps! } },
        });
        try {
          // Kalshi YES at 0.40 against a fair 0.70: 30 points before the fee, well over 15 % after it.
          const last = await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now())]);
          await caughtUp(running.service, last);
          const signals = await readSignals(redis, shard);
          expect(signals.map((s) => s.kind)).to.deep.equal(['edge']);
          expect(signals[0]!.legs).to.deep.equal([{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4100, size: 10_000 }]);
          expect(signals[0]!.edgeBps).to.be.at.least(1500);
          expect(metricValue((await get(running.ops.port, '/metrics')).body, 'arbees_signals_total', { kind: 'edge' })).to.equal(1);
        } finally {
          await running.stop();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('runs as `arbees detector` from the shard config and stops cleanly on SIGTERM', async function () {
      this.timeout(120_000);
      const shard = shardName('cli');
      const dir = mkdtempSync(join(tmpdir(), 'arbees-detector-'));
      const shardConfig = {
        shard,
        markets: [
          { id: market, sport: 'nba', game: 'g1', kalshi: { ticker: 'KXNBAGAME-X-LAL' }, polymarket: { yesTokenId: '1', noTokenId: '2' } },
        ],
        venues: {
          kalshi: { environment: 'demo', restUrl: 'http://127.0.0.1:1/', wsUrl: 'ws://127.0.0.1:1/' },
          polymarket: { clobUrl: 'http://127.0.0.1:1/', wsUrl: 'ws://127.0.0.1:1/', gammaUrl: 'http://127.0.0.1:1/' },
        },
        detector: { minEdgeBps: 50, maxQuoteAgeMs: 4_000, cooldownMs: 10_000 },
        executor: {
          mode: 'paper',
          bankrollUsd: 1000,
          limits: { perGameUsd: 50, perSportUsd: 200, dailyLossUsd: 100, maxOpenPositions: 5, maxOrderUsd: 100 },
        },
      };
      writeFileSync(join(dir, 'shard.json'), JSON.stringify(shardConfig));
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', 'cli/arbees.ts', 'detector'], {
        env: {
          ...process.env,
          ARBEES_SHARD: shard,
          ARBEES_REDIS_URL: redisUrl,
          ARBEES_HTTP_PORT: String(port),
          ARBEES_SHARD_CONFIG: join(dir, 'shard.json'),
          ARBEES_LOG_LEVEL: 'info',
          ...signalKeyVars,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await until(
          'the detector to be ready',
          async () => (await get(port, '/readyz').catch(() => ({ status: 0 }))).status === 200,
          60_000,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${output}`);
        });
        // No fee terms from the venues yet: the set is not priced, and the metric says why.
        await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now()), book('polymarket', 'no', 5200, Date.now())]);
        await until(
          'the set refused for unknown fees',
          async () =>
            metricValue((await get(port, '/metrics')).body, 'arbees_signals_suppressed_total', { reason: 'fees_unknown', shard }) > 0,
          30_000,
        );
        expect(await readSignals(redis, shard)).to.have.length(0);
        // The terms as the executor publishes them: now it is priced.
        const terms: MarketParams = {
          marketId: market,
          fetchedAt: Date.now(),
          kalshi: { known: true, feeType: 'quadratic', multiplier: '1', fractional: false, series: 'KXNBAGAME' },
          polymarket: { known: true, rate: '0.03', exponent: 1, tick: '0.01' },
        };
        await redis.hset(marketParamsKey(shard), market, JSON.stringify(terms));
        // The detector reads them every 2 s: once it has, no market of its is unpriced.
        await until('the detector to read the terms', async () => {
          const body = (await get(port, '/metrics')).body;
          return body.includes('\narbees_detector_markets_fees_unknown') && metricValue(body, 'arbees_detector_markets_fees_unknown') === 0;
        });
        await publish(redis, shard, [book('kalshi', 'yes', 4000, Date.now()), book('polymarket', 'no', 5200, Date.now())]);
        await until('a signal from the CLI detector', async () => (await readSignals(redis, shard)).length === 1, 30_000);
        const metrics = (await get(port, '/metrics')).body;
        expect(metricValue(metrics, 'arbees_signals_total', { kind: 'arbitrage', shard })).to.equal(1);
        expect(metrics).to.include('arbees_detector_evaluation_seconds_bucket');
        const began = Date.now();
        child.kill('SIGTERM');
        expect(await exited, output).to.equal(0);
        expect(Date.now() - began).to.be.below(5_000);
        expect(output).to.include('stopping detector');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
