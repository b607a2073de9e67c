import { expect } from 'chai';
import { depth } from '../../workloads/detector/book.js';
import { DetectorCore, type DetectorConfigInput, type DetectorOutput } from '../../workloads/detector/core.js';
import { planBuy, StaticFairValues } from '../../workloads/detector/edge.js';
import { FeeTable } from '../../venues/fee-table.js';
import { kalshiModel } from '../../venues/kalshi/fees.js';
import { type Levels } from '../../venues/fee-math.js';
import { signalSchema, type Outcome, type Quote, type Signal, type Venue } from '../../contracts/messages.js';
import { prng } from '../support/prng.js';

const t0 = 1_700_000_000_000;
const contracts = (n: number) => n * 100;
const roomy = { capacity: 1_000, perMinute: 1_000 };
const config: DetectorConfigInput = {
  gating: { maxQuoteAgeMs: 2_000, maxLegSkewMs: 1_000 },
  arbitrage: { minEdgeBps: 100, minProfit: 1, minSize: 100 },
  spam: { cooldownMs: 30_000, edgeStepBps: 50, perMarket: roomy, perShard: roomy },
};

let seq = 0;
function q(venue: Venue, outcome: Outcome, asks: Levels, at = t0, overrides: Partial<Quote> = {}): Quote {
  seq++;
  const best = asks[0]?.[0] ?? 10_000;
  return {
    venue,
    marketId: 'lal-bos',
    outcome,
    bids: best > 100 ? [[best - 100, contracts(10)]] : [],
    asks: asks.map(([p, s]) => [p, s] as [number, number]),
    seq,
    exchangeTs: at - 20,
    receivedTs: at,
    stale: false,
    ...overrides,
  };
}

/** Kalshi YES at 0.40 and Polymarket NO at 0.55 (a 5¢ set before fees); the other books far off. */
function arbBooks(at = t0): Quote[] {
  return [
    q('kalshi', 'no', [[6100, contracts(100)]], at),
    q('polymarket', 'yes', [[4600, contracts(100)]], at),
    q('kalshi', 'yes', [[4000, contracts(50)]], at),
    q('polymarket', 'no', [[5500, contracts(80)]], at),
  ];
}

function feed(core: DetectorCore, quotes: Quote[], now: (quote: Quote) => number = (x) => x.receivedTs): DetectorOutput[] {
  return quotes.map((quote) => core.onQuote(quote, now(quote)));
}
const signalsOf = (outputs: DetectorOutput[]): Signal[] => outputs.flatMap((o) => o.signals);
const reasonsOf = (outputs: DetectorOutput[]) => outputs.flatMap((o) => o.suppressed.map((s) => s.reason));

describe('DetectorCore', () => {
  it('emits a depth-sized, fee-net arbitrage signal that matches the message schema', () => {
    const core = new DetectorCore(config);
    const out = feed(core, arbBooks());
    const signals = signalsOf(out);
    expect(signals).to.have.length(1);
    const signal = signals[0]!;
    expect(signalSchema.parse(signal)).to.deep.equal(signal);
    expect(signal.kind).to.equal('arbitrage');
    expect(signal.legs).to.deep.equal([
      { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4000, size: contracts(50) },
      { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5500, size: contracts(50) },
    ]);
    // Same books as the one-level case in detector-arbitrage: $1.2887 net, 257 bps.
    expect(signal.expectedProfit).to.equal(12_887);
    expect(signal.edgeBps).to.equal(257);
    expect(signal.quoteAgesMs).to.deep.equal([0, 0]);
    expect(signal.createdTs).to.equal(t0);
    expect(out.every((o) => o.quote === 'accepted')).to.be.true;
  });

  it('ignores a reordered quote', () => {
    const core = new DetectorCore(config);
    const books = arbBooks();
    feed(core, books);
    expect(core.onQuote(books[2]!, t0 + 1).quote).to.equal('out_of_order');
  });

  it('suppresses with a reason instead of trading stale, old, crossed or skewed books', () => {
    const stale = new DetectorCore(config);
    const books = arbBooks();
    books[3] = { ...books[3]!, stale: true };
    expect(reasonsOf(feed(stale, books))).to.deep.equal(['stale']);

    const old = new DetectorCore(config);
    const out = feed(old, arbBooks(), () => t0 + 2_001);
    expect(signalsOf(out)).to.deep.equal([]);
    expect(reasonsOf(out)).to.deep.equal(['too_old']);

    const crossed = new DetectorCore(config);
    const crossedBooks = arbBooks();
    crossedBooks[2] = { ...crossedBooks[2]!, bids: [[4000, contracts(5)]] };
    expect(reasonsOf(feed(crossed, crossedBooks))).to.deep.equal(['crossed']);

    const skewed = new DetectorCore(config);
    const skewedBooks = arbBooks();
    skewedBooks[2] = q('kalshi', 'yes', [[4000, contracts(50)]], t0 - 1_001);
    expect(reasonsOf(feed(skewed, skewedBooks, () => t0))).to.deep.equal(['skew']);
    // Once the old leg is refreshed the set goes out.
    expect(core1Signal(skewed, q('kalshi', 'yes', [[4000, contracts(50)]], t0 + 10))).to.have.length(1);
  });

  function core1Signal(core: DetectorCore, quote: Quote): Signal[] {
    return [...core.onQuote(quote, quote.receivedTs).signals];
  }

  it('reports nothing for quotes without an opportunity, including a fake arb that fees erase', () => {
    const core = new DetectorCore({ ...config, arbitrage: { minEdgeBps: 0, minProfit: 1 } });
    const out = feed(core, [q('kalshi', 'yes', [[4900, contracts(100)]]), q('polymarket', 'no', [[5000, contracts(100)]])]);
    expect(out.every((o) => o.signals.length === 0 && o.suppressed.length === 0)).to.be.true;
  });

  it('controls spam across a quote sequence: unchanged, edge step, cooldown, rate limit', () => {
    // Generous freshness here: this test is about spam, and its legs are 30 s apart.
    const core = new DetectorCore({
      ...config,
      gating: { maxQuoteAgeMs: 60_000, maxLegSkewMs: 60_000 },
      spam: { cooldownMs: 30_000, edgeStepBps: 50, perMarket: { capacity: 3, perMinute: 1 }, perShard: roomy },
    });
    expect(signalsOf(feed(core, arbBooks()))).to.have.length(1);
    // The same set re-quoted (new seq, same prices): suppressed as unchanged.
    const again = core.onQuote(q('polymarket', 'no', [[5500, contracts(80)]], t0 + 100), t0 + 100);
    expect(again.signals).to.deep.equal([]);
    expect(again.suppressed).to.deep.equal([
      { kind: 'arbitrage', marketId: 'lal-bos', direction: 'kalshi_yes+polymarket_no', reason: 'unchanged', edgeBps: 257 },
    ]);
    // Polymarket NO drops a cent: the edge moves by ≥ 50 bps → a new signal.
    const better = core.onQuote(q('polymarket', 'no', [[5400, contracts(80)]], t0 + 200), t0 + 200);
    expect(better.signals).to.have.length(1);
    expect(better.signals[0]!.edgeBps).to.be.at.least(257 + 50);
    // After the cooldown an unchanged set is signalled again...
    const later = core.onQuote(q('polymarket', 'no', [[5400, contracts(80)]], t0 + 30_200), t0 + 30_200);
    expect(later.signals).to.have.length(1);
    // ...but the market's bucket (3, then 1 per minute) is now empty.
    const kYes = q('kalshi', 'yes', [[3800, contracts(50)]], t0 + 30_300);
    const limited = core.onQuote(kYes, t0 + 30_300);
    expect(limited.signals).to.deep.equal([]);
    expect(limited.suppressed.map((s) => s.reason)).to.deep.equal(['market_rate']);
  });

  it('yields the same signal ids when the quote stream is replayed, at any time', () => {
    const stream = [
      ...arbBooks(),
      q('polymarket', 'no', [[5300, contracts(80)]], t0 + 500),
      q('kalshi', 'yes', [[3900, contracts(60)]], t0 + 900),
    ];
    const first = signalsOf(feed(new DetectorCore(config), stream)).map((s) => s.id);
    const replay = signalsOf(
      feed(
        new DetectorCore(config),
        stream.map((x) => ({ ...x, receivedTs: x.receivedTs + 86_400_000 })),
      ),
    ).map((s) => s.id);
    expect(first).to.have.length(3);
    expect(new Set(first).size).to.equal(3);
    expect(replay).to.deep.equal(first);
  });

  it('uses per-market fee overrides', () => {
    const fees = new FeeTable();
    fees.set('lal-bos', { kalshi: { multiplier: 0 }, polymarket: { feesEnabled: false } });
    const signal = signalsOf(feed(new DetectorCore(config, { fees }), arbBooks()))[0]!;
    // Fee-free: 50 sets × 5¢ = $2.50.
    expect(signal.expectedProfit).to.equal(25_000);
    expect(signal.edgeBps).to.equal(500);
  });

  it('signals model edge only when enabled, after fees, within the price band', () => {
    const fair = new StaticFairValues([['lal-bos', 6_000]]);
    const edge: DetectorConfigInput = {
      ...config,
      edge: { enabled: true, minEdgeBps: 1_000, minProfit: 1, minSize: 100, maxSize: contracts(20), minPrice: 500, maxPrice: 9_500 },
    };
    const off = new DetectorCore(config, { fairValues: fair });
    expect(signalsOf(feed(off, [q('kalshi', 'yes', [[4000, contracts(50)]])]))).to.deep.equal([]);

    const on = new DetectorCore(edge, { fairValues: fair });
    const [signal] = signalsOf(
      feed(on, [
        q('kalshi', 'yes', [
          [4000, contracts(10)],
          [4500, contracts(30)],
          [5000, contracts(30)],
        ]),
      ]),
    );
    expect(signalSchema.parse(signal)).to.deep.equal(signal);
    // Walks while each contract earns ≥ 10 %: 0.40 and 0.45 qualify (0.50 − fee does not), capped at 20.
    expect(signal!.legs).to.deep.equal([{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4500, size: contracts(20) }]);
    // Expected: 20 × 0.60 − (10 × 0.40 + 10 × 0.45) − fee ⌈0.07 × (10×0.24 + 10×0.2475)⌉ = $12 − $8.50 − $0.35 = $3.15.
    expect(signal!.expectedProfit).to.equal(31_500);
    expect(signal!.kind).to.equal('edge');
    // NO is priced from the complement: fair NO = 0.40, so a NO ask of 0.45 is no edge.
    expect(signalsOf(feed(on, [q('polymarket', 'no', [[4500, contracts(10)]])])).filter((x) => x.kind === 'edge')).to.deep.equal([]);
    // Outside the band: fair 0.99 vs an ask of 0.96 is never bought.
    const band = new DetectorCore(edge, { fairValues: new StaticFairValues([['lal-bos', 9_999]]) });
    expect(signalsOf(feed(band, [q('kalshi', 'yes', [[9_600, contracts(10)]])]))).to.deep.equal([]);
    expect(
      planBuy(9_999, [[9_600, 1_000]], kalshiModel(), {
        minEdgeBps: 0,
        minProfit: 1,
        minSize: 1,
        maxSize: 1_000,
        minPrice: 500,
        maxPrice: 9_500,
      }),
    ).to.equal(undefined);
  });

  it('forgets a market that leaves the shard', () => {
    const core = new DetectorCore(config);
    feed(core, arbBooks());
    core.removeMarket('lal-bos');
    expect(core.books.market('lal-bos')).to.equal(undefined);
    // Its spam state went too: the same books signal again at once.
    expect(signalsOf(feed(core, arbBooks(t0 + 10)))).to.have.length(1);
  });
});

describe('DetectorCore: properties over a random quote stream (seeded)', () => {
  it('every signal is valid, profitable after fees, within displayed depth and priced on the books', () => {
    const rand = prng(7);
    const fair = new StaticFairValues();
    const core = new DetectorCore(
      {
        ...config,
        edge: { enabled: true, minEdgeBps: 500, minProfit: 1, minSize: 1, maxSize: contracts(100), minPrice: 500, maxPrice: 9_500 },
        spam: {
          cooldownMs: 1_000,
          edgeStepBps: 10,
          perMarket: { capacity: 5, perMinute: 600 },
          perShard: { capacity: 50, perMinute: 6_000 },
        },
      },
      { fairValues: fair },
    );
    const venues: Venue[] = ['kalshi', 'polymarket'];
    const outcomes: Outcome[] = ['yes', 'no'];
    const mids = new Map<string, number>();
    let now = t0;
    let signals = 0;
    for (let n = 0; n < 20_000; n++) {
      now += Math.floor(rand() * 20);
      const marketId = `m${Math.floor(rand() * 8)}`;
      const mid = Math.max(300, Math.min(9_700, (mids.get(marketId) ?? 5_000) + Math.floor(rand() * 201) - 100));
      mids.set(marketId, mid);
      if (rand() < 0.01) fair.set(marketId, Math.max(0, Math.min(10_000, mid + Math.floor(rand() * 3_001) - 1_500)));
      const venue = venues[Math.floor(rand() * 2)]!;
      const outcome = outcomes[Math.floor(rand() * 2)]!;
      const center = outcome === 'yes' ? mid : 10_000 - mid;
      let price = Math.max(1, Math.min(9_999, center + Math.floor(rand() * 500) - 200));
      const asks: [number, number][] = [];
      for (let i = 0, count = 1 + Math.floor(rand() * 5); i < count && price < 10_000; i++) {
        asks.push([price, 1 + Math.floor(rand() * contracts(200))]);
        price += 1 + Math.floor(rand() * 150);
      }
      const bestAsk = asks[0]![0];
      const bids: [number, number][] =
        bestAsk > 50 && rand() < 0.95 ? [[bestAsk - 1 - Math.floor(rand() * 50), 500]] : rand() < 0.5 ? [[bestAsk, 500]] : [];
      const quote: Quote = {
        venue,
        marketId,
        outcome,
        bids,
        asks: rand() < 0.02 ? [] : asks,
        seq: n,
        exchangeTs: now,
        receivedTs: now - (rand() < 0.05 ? 3_000 : 0),
        stale: rand() < 0.02,
      };
      const out = core.onQuote(quote, now);
      for (const signal of out.signals) {
        signals++;
        const context = JSON.stringify({ n, signal });
        expect(() => signalSchema.parse(signal), context).not.to.throw();
        expect(signal.expectedProfit, context).to.be.greaterThan(0);
        for (const leg of signal.legs) {
          const book = core.books.get(leg.venue, marketId, leg.outcome)!;
          expect(leg.size, context).to.be.at.most(depth(book.asks));
          expect(
            book.asks.some(([p]) => p === leg.limitPrice),
            context,
          ).to.be.true;
          expect(book.stale, context).to.be.false;
        }
      }
    }
    expect(signals).to.be.greaterThan(50);
  });
});
