import { expect } from 'chai';
import { signalId } from '../../workloads/detector/signal-id.js';
import { SpamControl, TokenBucket, type SpamSettings } from '../../workloads/detector/spam.js';
import type { Quote } from '../../contracts/messages.js';

const t0 = 1_700_000_000_000;
const roomy = { capacity: 1_000, perMinute: 1_000 };

describe('detector spam control', () => {
  const settings: SpamSettings = { cooldownMs: 30_000, edgeStepBps: 100, perMarket: roomy, perShard: roomy };

  it('keeps one live signal per market and direction; a new one needs an edge step', () => {
    const spam = new SpamControl(settings);
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 300, t0)).to.deep.equal({ emit: true });
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 300, t0 + 1)).to.deep.equal({ emit: false, reason: 'unchanged' });
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 399, t0 + 2)).to.deep.equal({ emit: false, reason: 'unchanged' });
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 400, t0 + 3)).to.deep.equal({ emit: true });
    // The step is measured from the live (last emitted) edge, in either direction.
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 301, t0 + 4)).to.deep.equal({ emit: false, reason: 'unchanged' });
    expect(spam.consider('m1', 'kalshi_yes+polymarket_no', 300, t0 + 5)).to.deep.equal({ emit: true });
    expect(spam.live('m1', 'kalshi_yes+polymarket_no')).to.deep.equal({ edgeBps: 300, emittedAt: t0 + 5 });
    // Other directions and markets are independent.
    expect(spam.consider('m1', 'kalshi_no+polymarket_yes', 300, t0 + 6)).to.deep.equal({ emit: true });
    expect(spam.consider('m2', 'kalshi_yes+polymarket_no', 300, t0 + 6)).to.deep.equal({ emit: true });
  });

  it('re-emits an unchanged signal once the cooldown has passed', () => {
    const spam = new SpamControl(settings);
    expect(spam.consider('m1', 'd', 300, t0).emit).to.be.true;
    expect(spam.consider('m1', 'd', 300, t0 + 29_999)).to.deep.equal({ emit: false, reason: 'unchanged' });
    expect(spam.consider('m1', 'd', 300, t0 + 30_000).emit).to.be.true;
    expect(spam.consider('m1', 'd', 300, t0 + 30_001)).to.deep.equal({ emit: false, reason: 'unchanged' });
    spam.forget('m1');
    expect(spam.consider('m1', 'd', 300, t0 + 30_002).emit).to.be.true;
  });

  it('rate-limits per market with a token bucket', () => {
    const spam = new SpamControl({ ...settings, edgeStepBps: 1, perMarket: { capacity: 2, perMinute: 6 } });
    expect(spam.consider('m1', 'd', 100, t0).emit).to.be.true;
    expect(spam.consider('m1', 'd', 200, t0).emit).to.be.true;
    expect(spam.consider('m1', 'd', 300, t0)).to.deep.equal({ emit: false, reason: 'market_rate' });
    // A suppressed signal does not become the live one.
    expect(spam.live('m1', 'd')?.edgeBps).to.equal(200);
    // 6 per minute: one token every 10 s.
    expect(spam.consider('m1', 'd', 300, t0 + 9_999)).to.deep.equal({ emit: false, reason: 'market_rate' });
    expect(spam.consider('m1', 'd', 300, t0 + 10_000).emit).to.be.true;
    expect(spam.consider('m2', 'd', 300, t0 + 10_000).emit).to.be.true;
  });

  it('rate-limits the whole shard, charging no market when the shard refuses', () => {
    const spam = new SpamControl({ ...settings, perMarket: { capacity: 1, perMinute: 60 }, perShard: { capacity: 3, perMinute: 60 } });
    expect(['a', 'b', 'c', 'd'].map((m) => spam.consider(m, 'x', 300, t0))).to.deep.equal([
      { emit: true },
      { emit: true },
      { emit: true },
      { emit: false, reason: 'shard_rate' },
    ]);
    // 60 per minute: one shard token a second; market d kept its own token.
    expect(spam.consider('d', 'x', 300, t0 + 999)).to.deep.equal({ emit: false, reason: 'shard_rate' });
    expect(spam.consider('d', 'x', 300, t0 + 1_000)).to.deep.equal({ emit: true });
  });

  it('refills buckets exactly and caps them at capacity', () => {
    const bucket = new TokenBucket({ capacity: 2, perMinute: 1 });
    expect(bucket.take(t0)).to.be.true;
    expect(bucket.take(t0)).to.be.true;
    expect(bucket.take(t0 + 59_999)).to.be.false;
    expect(bucket.take(t0 + 60_000)).to.be.true;
    // A long idle time refills to capacity, not beyond; time going backwards refills nothing.
    expect(bucket.take(t0 + 10_000_000)).to.be.true;
    expect(bucket.take(t0 + 10_000_000)).to.be.true;
    expect(bucket.take(t0 + 5_000_000)).to.be.false;
    expect(() => new TokenBucket({ capacity: 0, perMinute: 1 })).to.throw(RangeError);
  });
});

describe('detector signal ids', () => {
  const book = (overrides: Partial<Quote> = {}): Quote => ({
    venue: 'kalshi',
    marketId: 'lal-bos',
    outcome: 'yes',
    bids: [[3900, 500]],
    asks: [
      [4000, 1000],
      [4100, 500],
    ],
    seq: 42,
    exchangeTs: t0,
    receivedTs: t0 + 30,
    stale: false,
    ...overrides,
  });
  const other = book({ venue: 'polymarket', outcome: 'no', asks: [[5500, 700]], bids: [], seq: 7 });

  it('is deterministic: the same market, direction and books give the same id', () => {
    const id = signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book(), other]);
    expect(id).to.match(/^arbitrage:lal-bos:kalshi_yes\+polymarket_no:[0-9a-f]{16}$/);
    expect(signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book(), { ...other }])).to.equal(id);
    // Our receive time is not part of it: a replay at another time dedupes.
    expect(signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book({ receivedTs: t0 + 99_999 }), other])).to.equal(id);
  });

  it('changes with any part of the trigger', () => {
    const base = signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book(), other]);
    const variants = [
      signalId('edge', 'lal-bos', 'kalshi_yes+polymarket_no', [book(), other]),
      signalId('arbitrage', 'lal-bos2', 'kalshi_yes+polymarket_no', [book(), other]),
      signalId('arbitrage', 'lal-bos', 'kalshi_no+polymarket_yes', [book(), other]),
      signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book({ seq: 43 }), other]),
      signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [
        book({
          asks: [
            [4000, 1001],
            [4100, 500],
          ],
        }),
        other,
      ]),
      signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book({ bids: [[3800, 500]] }), other]),
      signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [other, book()]),
      signalId('arbitrage', 'lal-bos', 'kalshi_yes+polymarket_no', [book()]),
    ];
    expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
  });

  it('does not collide over many distinct triggers', () => {
    const ids = new Set<string>();
    for (let seq = 0; seq < 20_000; seq++) ids.add(signalId('arbitrage', 'm', 'd', [book({ seq })]));
    expect(ids.size).to.equal(20_000);
  });
});
