import { expect } from 'chai';
import { BookStore, costMicros, depth, walkAsks, worstPrice } from '../../workloads/detector/book.js';
import { bookProblem, gateLegs, quoteAge } from '../../workloads/detector/gating.js';
import type { Quote } from '../../contracts/messages.js';

const now = 1_700_000_000_000;

function quote(overrides: Partial<Quote> = {}): Quote {
  return {
    venue: 'kalshi',
    marketId: 'lal-bos',
    outcome: 'yes',
    bids: [[4700, 1000]],
    asks: [
      [4800, 1000],
      [4900, 2000],
    ],
    seq: 1,
    exchangeTs: now - 100,
    receivedTs: now - 50,
    stale: false,
    ...overrides,
  };
}

describe('detector book store', () => {
  it('keeps the latest book per venue, market and outcome', () => {
    const store = new BookStore();
    expect(store.update(quote())).to.equal('accepted');
    expect(store.update(quote({ outcome: 'no', seq: 2 }))).to.equal('accepted');
    expect(store.update(quote({ venue: 'polymarket', seq: 1 }))).to.equal('accepted');
    const newer = quote({ seq: 3, exchangeTs: now - 10, asks: [[4850, 500]] });
    expect(store.update(newer)).to.equal('accepted');
    expect(store.get('kalshi', 'lal-bos', 'yes')).to.equal(newer);
    expect(store.get('kalshi', 'lal-bos', 'no')?.seq).to.equal(2);
    expect(store.get('polymarket', 'lal-bos', 'yes')?.seq).to.equal(1);
    expect(store.get('polymarket', 'lal-bos', 'no')).to.equal(undefined);
    expect(store.size).to.equal(1);
    store.remove('lal-bos');
    expect(store.get('kalshi', 'lal-bos', 'yes')).to.equal(undefined);
  });

  it('refuses a replayed or reordered quote but accepts a restarted connection', () => {
    const store = new BookStore();
    store.update(quote({ seq: 10, exchangeTs: now - 100 }));
    expect(store.update(quote({ seq: 10, exchangeTs: now - 100 }))).to.equal('out_of_order');
    expect(store.update(quote({ seq: 9, exchangeTs: now - 200 }))).to.equal('out_of_order');
    // A reconnect restarts seq; its exchange time is newer.
    expect(store.update(quote({ seq: 1, exchangeTs: now - 20 }))).to.equal('accepted');
    expect(store.get('kalshi', 'lal-bos', 'yes')?.seq).to.equal(1);
  });
});

describe('detector book walking', () => {
  const asks = [
    [4800, 1000],
    [4900, 2000],
    [5100, 500],
  ] as const;

  it('walks asks level by level', () => {
    expect(depth(asks)).to.equal(3500);
    expect(walkAsks(asks, 2500)).to.deep.equal({
      filled: 2500,
      costMicros: 1000 * 4800 + 1500 * 4900,
      worstPrice: 4900,
      fills: [
        [4800, 1000],
        [4900, 1500],
      ],
    });
    expect(costMicros(asks, 2500)).to.equal(1000 * 4800 + 1500 * 4900);
    expect(worstPrice(asks, 1000)).to.equal(4800);
    expect(worstPrice(asks, 1001)).to.equal(4900);
    expect(worstPrice(asks, 3500)).to.equal(5100);
  });

  it('never fills more than the book shows', () => {
    const walk = walkAsks(asks, 10_000);
    expect(walk.filled).to.equal(3500);
    expect(walk.worstPrice).to.equal(5100);
    expect(worstPrice(asks, 3501)).to.equal(undefined);
    expect(walkAsks([], 100)).to.deep.equal({ filled: 0, costMicros: 0, worstPrice: undefined, fills: [] });
  });
});

describe('detector gating', () => {
  const settings = { maxQuoteAgeMs: 2_000, maxLegSkewMs: 500 };

  it('passes a fresh, sane book', () => {
    expect(bookProblem(quote(), now, settings)).to.equal(undefined);
    expect(bookProblem(quote({ bids: [] }), now, settings)).to.equal(undefined);
    expect(quoteAge(quote(), now)).to.equal(50);
    expect(quoteAge(quote({ receivedTs: now + 5 }), now)).to.equal(0);
  });

  it('ignores stale quotes: flagged by the monitor or older than maxQuoteAgeMs', () => {
    expect(bookProblem(undefined, now, settings)).to.equal('missing');
    expect(bookProblem(quote({ stale: true }), now, settings)).to.equal('stale');
    expect(bookProblem(quote({ receivedTs: now - 2_000 }), now, settings)).to.equal(undefined);
    expect(bookProblem(quote({ receivedTs: now - 2_001 }), now, settings)).to.equal('too_old');
  });

  it('ignores crossed, empty and malformed books', () => {
    expect(bookProblem(quote({ asks: [] }), now, settings)).to.equal('empty');
    expect(bookProblem(quote({ bids: [[4800, 100]] }), now, settings)).to.equal('crossed');
    expect(bookProblem(quote({ bids: [[4900, 100]] }), now, settings)).to.equal('crossed');
    expect(
      bookProblem(
        quote({
          asks: [
            [4900, 100],
            [4800, 100],
          ],
        }),
        now,
        settings,
      ),
    ).to.equal('invalid');
    expect(bookProblem(quote({ asks: [[0, 100]], bids: [] }), now, settings)).to.equal('invalid');
    expect(
      bookProblem(
        quote({
          bids: [
            [4000, 100],
            [4500, 100],
          ],
        }),
        now,
        settings,
      ),
    ).to.equal('invalid');
  });

  it('requires both legs fresh within the skew bound', () => {
    const a = quote({ receivedTs: now - 100 });
    expect(gateLegs(a, quote({ venue: 'polymarket', outcome: 'no', receivedTs: now - 600 }), now, settings)).to.equal(undefined);
    expect(gateLegs(a, quote({ venue: 'polymarket', outcome: 'no', receivedTs: now - 601 }), now, settings)).to.equal('skew');
    expect(gateLegs(quote({ venue: 'polymarket', receivedTs: now - 601 }), a, now, settings)).to.equal('skew');
    expect(gateLegs(a, quote({ stale: true }), now, settings)).to.equal('stale');
    expect(gateLegs(undefined, a, now, settings)).to.equal('missing');
  });
});
