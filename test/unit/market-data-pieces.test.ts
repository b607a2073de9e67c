// The small pure pieces of the monitors: venue number parsing and quote normalization, jittered
// exponential backoff, staleness, and the coalescing quote publisher (with a fake Redis pipeline).
import { expect } from 'chai';
import { quoteSchema, type Quote } from '../../contracts/messages.js';
import { Backoff } from '../../workloads/market-data/backoff.js';
import { KalshiBook } from '../../workloads/market-data/book.js';
import { quoteSequence, toQuote } from '../../workloads/market-data/normalize.js';
import { polymarketLevels } from '../../venues/polymarket/wire.js';
import { kalshiLevels } from '../../venues/kalshi/wire.js';
import { epochMs, venueSignedSize, venueSize, venuePrice, MalformedMessage } from '../../venues/wire.js';
import { QuotePublisher, QUOTE_FIELD } from '../../workloads/market-data/publisher.js';
import { StalenessTracker } from '../../workloads/market-data/staleness.js';

describe('market-data normalization', () => {
  it('parses venue decimals exactly into integer units', () => {
    expect(venuePrice('0.0800')).to.equal(800);
    expect(venuePrice('0.960')).to.equal(9600);
    expect(venuePrice('.48')).to.equal(4800); // Polymarket may drop the leading zero
    expect(venuePrice('1')).to.equal(10_000);
    expect(venueSize('300.00')).to.equal(30_000);
    expect(venueSize('219.217767')).to.equal(21_921); // rounded down, never more than shown
    expect(venueSignedSize('-54.00')).to.equal(-5_400);
    expect(venueSignedSize('74.77')).to.equal(7_477);
    for (const bad of ['1.01', '-0.5', 'abc', '', '0.00001', '1e-2', 'NaN']) expect(() => venuePrice(bad), bad).to.throw(MalformedMessage);
    expect(() => venuePrice(undefined)).to.throw(MalformedMessage);
    expect(() => venueSize({})).to.throw(MalformedMessage);
    expect(() => venueSignedSize(5)).to.throw(MalformedMessage);
  });

  it('reads Kalshi and Polymarket level arrays, treating an absent side as empty', () => {
    expect(
      kalshiLevels(
        [
          ['0.0800', '300.00'],
          ['0.2200', '333.00'],
        ],
        'yes',
      ),
    ).to.deep.equal([
      [800, 30000],
      [2200, 33300],
    ]);
    expect(kalshiLevels(undefined, 'no')).to.deep.equal([]);
    expect(() => kalshiLevels([['0.1']], 'yes')).to.throw(MalformedMessage);
    expect(() => kalshiLevels('x', 'yes')).to.throw(MalformedMessage);
    expect(polymarketLevels([{ price: '.48', size: '30' }], 'bids')).to.deep.equal([[4800, 3000]]);
    expect(() => polymarketLevels([{ price: '0.48' }], 'bids')).to.throw(MalformedMessage);
    expect(epochMs('1757908892351', 1)).to.equal(1757908892351);
    expect(epochMs(1669149841000, 1)).to.equal(1669149841000);
    expect(epochMs('soon', 7)).to.equal(7);
  });

  it('builds quotes that satisfy the shared quote schema, best level first on both sides', () => {
    const book = new KalshiBook();
    book.applySnapshot(
      [
        [800, 30000],
        [2200, 33300],
      ],
      [
        [5400, 2000],
        [5600, 14600],
      ],
    );
    const next = quoteSequence(1_700_000_000_000);
    const yes = toQuote(book.view('yes', 10), {
      venue: 'kalshi',
      marketId: 'm1',
      outcome: 'yes',
      seq: next(),
      exchangeTs: 5,
      receivedTs: 6,
      stale: false,
    });
    const no = toQuote(book.view('no', 10), {
      venue: 'kalshi',
      marketId: 'm1',
      outcome: 'no',
      seq: next(),
      exchangeTs: 5,
      receivedTs: 6,
      stale: true,
    });
    expect(quoteSchema.parse(yes)).to.deep.equal(yes);
    expect(quoteSchema.parse(no)).to.deep.equal(no);
    expect(yes.bids[0]).to.deep.equal([2200, 33300]);
    expect(yes.asks[0]).to.deep.equal([4400, 14600]);
    expect(no.bids[0]).to.deep.equal([5600, 14600]);
    expect(no.asks[0]).to.deep.equal([7800, 33300]);
    expect(no.seq).to.equal(yes.seq + 1);
    expect(yes.seq).to.equal(1_700_000_000_000_000);
    expect(Number.isSafeInteger(yes.seq)).to.equal(true);
  });
});

describe('market-data backoff', () => {
  it('grows exponentially to the cap, within the jitter band, and resets', () => {
    const low = new Backoff({ baseMs: 100, maxMs: 1_000, jitter: 0.5, random: () => 1 });
    const high = new Backoff({ baseMs: 100, maxMs: 1_000, jitter: 0.5, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => high.next())).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).to.deep.equal([50, 100, 200, 400, 500, 500]);
    high.reset();
    expect(high.attempts).to.equal(0);
    expect(high.next()).to.equal(100);
  });

  it('spreads real random delays over [d·(1 − jitter), d] and never returns a hot loop of zeros', () => {
    const b = new Backoff({ baseMs: 1_000, maxMs: 1_000, jitter: 0.5 });
    const delays = Array.from({ length: 500 }, () => b.next());
    expect(Math.min(...delays)).to.be.at.least(500);
    expect(Math.max(...delays)).to.be.at.most(1_000);
    expect(new Set(delays).size).to.be.greaterThan(50); // jittered, not lockstep
    const full = new Backoff({ baseMs: 10, maxMs: 10, jitter: 1, random: () => 1 });
    expect(full.next()).to.equal(0);
    expect(() => new Backoff({ baseMs: 0 })).to.throw(RangeError);
    expect(() => new Backoff({ jitter: 2 })).to.throw(RangeError);
  });
});

describe('market-data staleness', () => {
  it('is stale until synced, fresh on touch, stale again by age (reported once) or while resyncing', () => {
    const t = new StalenessTracker<string>(1_000);
    t.add('a');
    t.add('b');
    expect(t.isStale('a')).to.equal(true);
    expect(t.allSynced()).to.equal(false);
    t.touch('a', 10_000);
    t.touch('b', 10_500);
    expect(t.allSynced()).to.equal(true);
    expect(t.sweep(10_999)).to.deep.equal([]);
    expect(t.sweep(11_000)).to.deep.equal(['a']);
    expect(t.sweep(11_200)).to.deep.equal([]);
    expect(t.sweep(11_500)).to.deep.equal(['b']);
    expect(t.ageMs('a', 11_500)).to.equal(1_500);
    t.touch('a', 12_000);
    expect(t.isStale('a')).to.equal(false);
    expect(t.startResync('a')).to.equal(true);
    expect(t.startResync('a')).to.equal(false);
    expect(t.isResyncing('a')).to.equal(true);
    expect(t.allSynced()).to.equal(false);
    expect(t.counts()).to.deep.equal({ total: 2, stale: 2, resyncing: 1 });
    expect(t.sweep(99_000)).to.deep.equal([]); // already stale: not reported again
  });
});

describe('market-data quote publisher', () => {
  const quote = (marketId: string, seq: number, outcome: 'yes' | 'no' = 'yes'): Quote => ({
    venue: 'kalshi',
    marketId,
    outcome,
    bids: [[4800, 100]],
    asks: [[5000, 100]],
    seq,
    exchangeTs: 1,
    receivedTs: 1,
    stale: false,
  });

  class FakeRedis {
    written: Array<Array<string | number>> = [];
    fail = 0;
    gate: Promise<void> | undefined;
    pipeline() {
      const commands: Array<Array<string | number>> = [];
      const pipe = {
        xadd: (...args: Array<string | number>) => {
          commands.push(args);
          return pipe;
        },
        exec: async () => {
          await this.gate;
          if (this.fail > 0) {
            this.fail--;
            throw new Error('connection lost');
          }
          this.written.push(...commands);
          return commands.map(() => [null, '1-0'] as [null, string]);
        },
      };
      return pipe;
    }
  }

  it('XADDs with MAXLEN ~ to the stream, the quote JSON in one field', async () => {
    const redis = new FakeRedis();
    const pub = new QuotePublisher({ redis: redis as never, stream: 'arbees:s1:quotes', maxLen: 5000 });
    pub.publish(quote('m1', 1));
    expect(await pub.drain(1000)).to.equal(true);
    expect(redis.written).to.have.length(1);
    const [key, maxlen, approx, n, id, field, json] = redis.written[0]!;
    expect([key, maxlen, approx, n, id, field]).to.deep.equal(['arbees:s1:quotes', 'MAXLEN', '~', 5000, '*', QUOTE_FIELD]);
    expect(JSON.parse(String(json))).to.deep.equal(quote('m1', 1));
    expect(pub.published).to.equal(1);
  });

  it('when Redis is slow, keeps only the newest quote per book (bounded, counted), and retries failures', async () => {
    const redis = new FakeRedis();
    let release!: () => void;
    redis.gate = new Promise((resolve) => (release = resolve));
    let dropped = 0;
    const pub = new QuotePublisher({ redis: redis as never, stream: 's', maxLen: 10, onCoalesced: () => dropped++ });
    pub.publish(quote('m1', 1));
    await new Promise((r) => setImmediate(r)); // the first pipeline is now in flight and blocked
    for (let seq = 2; seq <= 1000; seq++) {
      pub.publish(quote('m1', seq));
      pub.publish(quote('m2', seq, 'no'));
    }
    expect(pub.backlog).to.equal(2); // bounded by books, not by messages
    expect(dropped).to.equal(998 * 2);
    redis.fail = 1; // the blocked pipeline (seq 1) fails; the retry sends what is newest by then
    release();
    expect(await pub.drain(3000)).to.equal(true);
    const seqs = redis.written.map((c) => (JSON.parse(String(c[6])) as Quote).seq);
    expect(seqs).to.deep.equal([1000, 1000]);
    expect(pub.errors).to.equal(1);
  });

  it('refuses (and reports) a quote that breaks the schema, and sends a stale marker of its book instead', async () => {
    const redis = new FakeRedis();
    const invalid: string[] = [];
    const pub = new QuotePublisher({ redis: redis as never, stream: 's', maxLen: 10, onInvalid: (_q, p) => invalid.push(p) });
    pub.publish({ ...quote('m1', 1), bids: [[12_000, 5]] });
    pub.publish(quote('m2', 2));
    expect(await pub.drain(1000)).to.equal(true);
    expect(invalid).to.have.length(1);
    expect(redis.written.map((w) => JSON.parse(String(w.at(-1))) as Quote)).to.deep.equal([
      { ...quote('m1', 1), bids: [], asks: [], stale: true },
      quote('m2', 2),
    ]);
  });
});
