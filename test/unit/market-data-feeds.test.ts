// The venue protocol state machines without sockets: Kalshi (subscribe, snapshot, deltas, seq gap
// resync, crossed-book grace, dead subscriptions, old sids) and Polymarket (book dumps in array
// frames, both price_change schemas, crossed resync, staleness), plus fuzzing with 100k+ random and
// mutated frames: no throw, counters right, books still correct.
import { expect } from 'chai';
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Quote } from '../../contracts/messages.js';
import { KalshiFeed, type KalshiFeedEvent } from '../../workloads/kalshi-monitor/core.js';
import { PolymarketFeed, type PolymarketFeedEvent } from '../../workloads/polymarket-monitor/core.js';
import { prng } from '../support/prng.js';

const dollars = (p: number) => (p / 10_000).toFixed(4);
const fp = (s: number) => (s / 100).toFixed(2);

function kalshiHarness(options: { useYesPrice?: boolean; crossedGraceMs?: number } = {}) {
  const quotes: Quote[] = [];
  const sent: Array<Record<string, unknown>> = [];
  const events: KalshiFeedEvent[] = [];
  let seq = 0;
  const feed = new KalshiFeed({
    markets: [
      { ticker: 'KX-A', marketId: 'a' },
      { ticker: 'KX-B', marketId: 'b' },
    ],
    depth: 5,
    maxQuoteAgeMs: 1_000,
    useYesPrice: options.useYesPrice,
    crossedGraceMs: options.crossedGraceMs ?? 500,
    publish: (_key, build) => quotes.push(build()),
    send: (c) => sent.push(c),
    event: (e) => events.push(e),
    nextSeq: () => ++seq,
  });
  const frame = (m: unknown, at = 1_000) => feed.onFrame(JSON.stringify(m), at);
  const latest = (marketId: string, outcome: 'yes' | 'no') =>
    [...quotes].reverse().find((q) => q.marketId === marketId && q.outcome === outcome);
  return { feed, quotes, sent, events, frame, latest };
}

/** Opens, acknowledges sid 7 and sends snapshots for both markets (YES-scale NO levels). */
function subscribed(h: ReturnType<typeof kalshiHarness>) {
  h.feed.onOpen(1_000);
  const id = h.sent[0]!.id;
  h.frame({ id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 7 } });
  // YES bids 0.40×100, 0.41×50; NO bids (YES scale = YES asks) 0.45×80, 0.47×20 → NO bids 0.55, 0.53.
  h.frame({
    type: 'orderbook_snapshot',
    sid: 7,
    seq: 1,
    msg: {
      market_ticker: 'KX-A',
      market_id: 'u1',
      yes_dollars_fp: [
        ['0.4000', '100.00'],
        ['0.4100', '50.00'],
      ],
      no_dollars_fp: [
        ['0.4500', '80.00'],
        ['0.4700', '20.00'],
      ],
    },
  });
  h.frame({
    type: 'orderbook_snapshot',
    sid: 7,
    seq: 2,
    msg: { market_ticker: 'KX-B', market_id: 'u2', yes_dollars_fp: [['0.1000', '1.00']] },
  });
}

describe('Kalshi feed', () => {
  it('subscribes to orderbook_delta for the shard tickers with use_yes_price, and is ready after the snapshots', () => {
    const h = kalshiHarness();
    expect(h.feed.ready().ready).to.equal(false);
    subscribed(h);
    expect(h.sent[0]).to.deep.equal({
      id: 1,
      cmd: 'subscribe',
      params: { channels: ['orderbook_delta'], market_tickers: ['KX-A', 'KX-B'], use_yes_price: true },
    });
    expect(h.feed.ready()).to.deep.equal({ ready: true });
    expect(h.latest('a', 'yes')).to.include({ venue: 'kalshi', stale: false });
    expect(h.latest('a', 'yes')!.bids).to.deep.equal([
      [4100, 5000],
      [4000, 10000],
    ]);
    expect(h.latest('a', 'yes')!.asks).to.deep.equal([
      [4500, 8000],
      [4700, 2000],
    ]);
    expect(h.latest('a', 'no')!.bids).to.deep.equal([
      [5500, 8000],
      [5300, 2000],
    ]);
    expect(h.latest('a', 'no')!.asks).to.deep.equal([
      [5900, 5000],
      [6000, 10000],
    ]);
    expect(h.latest('b', 'yes')!.asks).to.deep.equal([]); // the absent NO side is an empty book side
  });

  it('reads NO levels on the NO-leg scale when use_yes_price is off', () => {
    const h = kalshiHarness({ useYesPrice: false });
    h.feed.onOpen(1);
    h.frame({ id: 1, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 1 } });
    h.frame({
      type: 'orderbook_snapshot',
      sid: 1,
      seq: 1,
      msg: { market_ticker: 'KX-A', yes_dollars_fp: [['0.4000', '1.00']], no_dollars_fp: [['0.5500', '2.00']] },
    });
    h.frame({
      type: 'orderbook_delta',
      sid: 1,
      seq: 2,
      msg: { market_ticker: 'KX-A', price_dollars: '0.5600', delta_fp: '3.00', side: 'no', ts_ms: 42 },
    });
    expect(h.latest('a', 'yes')).to.deep.include({
      asks: [
        [4400, 300],
        [4500, 200],
      ],
      exchangeTs: 42,
    });
  });

  it('applies signed deltas (removal at zero) and publishes both outcomes on every change', () => {
    const h = kalshiHarness();
    subscribed(h);
    const before = h.quotes.length;
    h.frame(
      {
        type: 'orderbook_delta',
        sid: 7,
        seq: 3,
        msg: { market_ticker: 'KX-A', price_dollars: '0.4100', delta_fp: '-50.00', side: 'yes', ts_ms: 1_050 },
      },
      1_100,
    );
    expect(h.quotes.length - before).to.equal(2);
    expect(h.latest('a', 'yes')).to.deep.include({ bids: [[4000, 10000]], exchangeTs: 1_050, receivedTs: 1_100 });
    expect(h.latest('a', 'no')!.asks).to.deep.equal([[6000, 10000]]);
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 4, msg: { market_ticker: 'KX-A', price_dollars: '0.4400', delta_fp: '12.34', side: 'no' } },
      1_200,
    );
    expect(h.latest('a', 'yes')!.asks[0]).to.deep.equal([4400, 1234]);
    const seqs = h.quotes.map((q) => q.seq);
    expect(seqs).to.deep.equal([...seqs].sort((x, y) => x - y)); // publication order
  });

  it('on a seq gap marks every book stale, asks for fresh snapshots, drops deltas until they arrive', () => {
    const h = kalshiHarness();
    subscribed(h);
    h.sent.length = 0;
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 5, msg: { market_ticker: 'KX-A', price_dollars: '0.4000', delta_fp: '1.00', side: 'yes' } },
      2_000,
    );
    expect(h.events.filter((e) => e.kind === 'gap')).to.deep.equal([{ kind: 'gap', sid: 7, seq: 5 }]);
    expect(h.sent).to.deep.equal([
      { id: 2, cmd: 'update_subscription', params: { sids: [7], market_tickers: ['KX-A', 'KX-B'], action: 'get_snapshot' } },
    ]);
    expect(h.latest('a', 'yes')!.stale).to.equal(true);
    expect(h.latest('b', 'no')!.stale).to.equal(true);
    expect(h.feed.ready().ready).to.equal(false);
    expect(h.feed.book('KX-A')!.yes.get(4000)).to.equal(10000); // the gapped delta was not applied
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 6, msg: { market_ticker: 'KX-A', price_dollars: '0.3000', delta_fp: '1.00', side: 'yes' } },
      2_001,
    );
    expect(h.feed.book('KX-A')!.yes.get(3000)).to.equal(0);
    h.frame({ type: 'orderbook_snapshot', sid: 7, seq: 7, msg: { market_ticker: 'KX-A', yes_dollars_fp: [['0.3000', '1.00']] } }, 2_002);
    h.frame({ type: 'orderbook_snapshot', sid: 7, seq: 8, msg: { market_ticker: 'KX-B', yes_dollars_fp: [['0.1000', '1.00']] } }, 2_003);
    expect(h.latest('a', 'yes')).to.deep.include({ stale: false, bids: [[3000, 100]], asks: [] });
    expect(h.feed.ready().ready).to.equal(true);
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 9, msg: { market_ticker: 'KX-A', price_dollars: '0.3000', delta_fp: '1.00', side: 'yes' } },
      2_004,
    );
    expect(h.feed.book('KX-A')!.yes.get(3000)).to.equal(200);
  });

  it('resyncs a market whose delta would go negative, and one that stays crossed past the grace period only', () => {
    const h = kalshiHarness({ crossedGraceMs: 500 });
    subscribed(h);
    h.sent.length = 0;
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 3, msg: { market_ticker: 'KX-B', price_dollars: '0.2000', delta_fp: '-1.00', side: 'yes' } },
      1_500,
    );
    expect(h.sent.at(-1)).to.deep.include({ cmd: 'update_subscription' });
    expect((h.sent.at(-1)!.params as { market_tickers: string[] }).market_tickers).to.deep.equal(['KX-B']);
    h.sent.length = 0;
    // A YES bid at 0.46 over the 0.45 YES ask: crossed for a moment (one change arrives as several deltas) …
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 4, msg: { market_ticker: 'KX-A', price_dollars: '0.4600', delta_fp: '5.00', side: 'yes' } },
      2_000,
    );
    h.feed.tick(2_100);
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 5, msg: { market_ticker: 'KX-A', price_dollars: '0.4500', delta_fp: '-80.00', side: 'no' } },
      2_200,
    );
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 6, msg: { market_ticker: 'KX-A', price_dollars: '0.4700', delta_fp: '-20.00', side: 'no' } },
      2_200,
    );
    h.feed.tick(3_000);
    expect(h.sent).to.deep.equal([]); // … then uncrossed: nothing to do
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 7, msg: { market_ticker: 'KX-A', price_dollars: '0.4000', delta_fp: '5.00', side: 'no' } },
      3_000,
    );
    h.feed.tick(3_400);
    expect(h.sent).to.deep.equal([]);
    h.feed.tick(3_500);
    expect(h.sent).to.have.length(1);
    expect(h.events.filter((e) => e.kind === 'resync').map((e) => (e as { reason: string }).reason)).to.deep.equal([
      'delta below zero',
      'crossed book',
    ]);
  });

  it('resubscribes when the live subscription dies (error 25), and ignores frames of the old sid', () => {
    const h = kalshiHarness();
    subscribed(h);
    h.sent.length = 0;
    h.frame({ type: 'error', msg: { code: 25, msg: 'Subscription buffer overflow' } }, 5_000);
    expect(h.sent.map((c) => c.cmd)).to.deep.equal(['unsubscribe', 'subscribe']);
    expect(h.latest('a', 'yes')!.stale).to.equal(true);
    h.frame({
      type: 'orderbook_delta',
      sid: 7,
      seq: 3,
      msg: { market_ticker: 'KX-A', price_dollars: '0.1000', delta_fp: '1.00', side: 'yes' },
    });
    expect(h.feed.oldSidMessages).to.equal(1);
    h.frame({ id: h.sent[1]!.id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 8 } });
    h.frame({ type: 'orderbook_snapshot', sid: 8, seq: 1, msg: { market_ticker: 'KX-A' } });
    h.frame({ type: 'orderbook_snapshot', sid: 8, seq: 2, msg: { market_ticker: 'KX-B' } });
    expect(h.feed.ready().ready).to.equal(true);
  });

  it('reports a refused subscription (e.g. 16 market not found) and asks to reconnect', () => {
    const h = kalshiHarness();
    h.feed.onOpen(1);
    h.frame({ id: 1, type: 'error', msg: { code: 16, msg: 'Market not found', market_ticker: 'KX-B' } });
    expect(h.events).to.deep.include({ kind: 'venue_error', code: 16, message: 'Market not found (KX-B)', fatal: true });
    expect(h.events.at(-1)!.kind).to.equal('reconnect');
  });

  it('publishes stale quotes for books without updates for maxQuoteAgeMs, and on disconnect', () => {
    const h = kalshiHarness();
    subscribed(h);
    const n = h.quotes.length;
    h.feed.tick(1_999);
    expect(h.quotes.length).to.equal(n);
    h.feed.tick(2_000);
    expect(h.quotes.slice(n).map((q) => [q.marketId, q.outcome, q.stale])).to.deep.equal([
      ['a', 'yes', true],
      ['a', 'no', true],
      ['b', 'yes', true],
      ['b', 'no', true],
    ]);
    h.feed.tick(5_000);
    expect(h.quotes.length).to.equal(n + 4); // once per transition
    h.frame(
      { type: 'orderbook_delta', sid: 7, seq: 3, msg: { market_ticker: 'KX-A', price_dollars: '0.3000', delta_fp: '1.00', side: 'yes' } },
      5_001,
    );
    expect(h.latest('a', 'yes')!.stale).to.equal(false);
    h.feed.onClose(5_002);
    expect(h.latest('a', 'yes')!.stale).to.equal(true);
    expect(h.feed.ready()).to.deep.equal({ ready: false, reason: 'venue_disconnected', detail: 'not connected to Kalshi' });
  });

  it('survives 100k random and mutated frames: never throws, counts malformed ones, keeps a correct book', () => {
    const rand = prng(99);
    const h = kalshiHarness();
    subscribed(h);
    let seq = 2;
    const truth: Record<'yes' | 'no', Map<number, number>> = {
      yes: new Map<number, number>([
        [4000, 10000],
        [4100, 5000],
      ]),
      no: new Map<number, number>([
        [5500, 8000],
        [5300, 2000],
      ]),
    };
    let malformedSent = 0;
    const validDelta = () => {
      const side = rand() < 0.5 ? 'yes' : 'no';
      const price = 100 * (1 + Math.floor(rand() * 40)); // both sides ≤ 0.40 on their own scale: never crossed
      const current = truth[side].get(price) ?? 0;
      const delta = current > 0 && rand() < 0.4 ? -current : 1 + Math.floor(rand() * 10_000);
      truth[side].set(price, current + delta);
      if (current + delta === 0) truth[side].delete(price);
      const wire = side === 'no' ? PRICE_ONE - price : price; // use_yes_price
      return JSON.stringify({
        type: 'orderbook_delta',
        sid: 7,
        seq: ++seq,
        msg: {
          market_ticker: 'KX-A',
          price_dollars: dollars(wire),
          delta_fp: (delta < 0 ? '-' : '') + fp(Math.abs(delta)),
          side,
          ts_ms: 1,
        },
      });
    };
    const garbage = (): string => {
      switch (Math.floor(rand() * 7)) {
        case 0:
          return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 60) }, () => Math.floor(rand() * 256))).toString('latin1');
        case 1:
          return `{"type":"orderbook_delta","sid":7,"seq":${seq + 1},"msg":{"market_`; // truncated
        case 2:
          return JSON.stringify([1, 2, 3]);
        case 3:
          return JSON.stringify({ type: 'orderbook_delta', sid: 7, seq: 'x', msg: {} });
        case 4:
          return JSON.stringify({ type: 'orderbook_delta', sid: 7, msg: { market_ticker: 'KX-A' } });
        case 5:
          return 'null';
        default:
          return '{"type":"orderbook_snapshot","sid":7,"seq":';
      }
    };
    const ignoredBefore = h.feed.oldSidMessages;
    let ignored = 0;
    for (let i = 0; i < 60_000; i++) {
      const r = rand();
      if (r < 0.5) h.feed.onFrame(validDelta(), 2_000);
      else if (r < 0.9) {
        malformedSent++;
        h.feed.onFrame(garbage(), 2_000);
      } else {
        ignored++;
        h.feed.onFrame(
          JSON.stringify(rand() < 0.5 ? { type: 'orderbook_delta', sid: 3, seq: 1, msg: {} } : { type: 'ticker', sid: 9, msg: { x: 1 } }),
          2_000,
        );
      }
    }
    expect(h.events.filter((e) => e.kind === 'malformed')).to.have.length(malformedSent);
    expect(h.events.filter((e) => e.kind === 'gap')).to.have.length(0);
    expect(h.feed.oldSidMessages - ignoredBefore).to.be.within(1, ignored);
    const view = h.feed.book('KX-A')!;
    expect(new Map(view.yes.top(1000, true))).to.deep.equal(truth.yes);
    expect(new Map(view.no.top(1000, true))).to.deep.equal(truth.no);

    // 50k mutations of valid frames (characters flipped, fields swapped): anything goes, nothing throws.
    const base = validDelta();
    let thrown = 0;
    for (let i = 0; i < 50_000; i++) {
      const chars = base.split('');
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++)
        chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 95));
      try {
        h.feed.onFrame(chars.join(''), 3_000);
      } catch {
        thrown++;
      }
    }
    expect(thrown).to.equal(0);
    for (const q of h.quotes) expect(q.bids.every(([p, s]) => p >= 0 && p <= PRICE_ONE && s > 0)).to.equal(true);
  });
});

describe('Polymarket feed', () => {
  const YES = '111';
  const NO = '222';
  function harness() {
    const quotes: Quote[] = [];
    const sent: string[] = [];
    const events: PolymarketFeedEvent[] = [];
    let seq = 0;
    const feed = new PolymarketFeed({
      markets: [{ marketId: 'm', yesTokenId: YES, noTokenId: NO }],
      depth: 3,
      maxQuoteAgeMs: 1_000,
      crossedGraceMs: 300,
      publish: (_key, build) => quotes.push(build()),
      send: (t) => sent.push(t),
      event: (e) => events.push(e),
      nextSeq: () => ++seq,
    });
    const latest = (outcome: 'yes' | 'no') => [...quotes].reverse().find((q) => q.outcome === outcome);
    return { feed, quotes, sent, events, latest };
  }
  const books = JSON.stringify([
    {
      event_type: 'book',
      asset_id: YES,
      market: '0x1',
      bids: [
        { price: '.47', size: '10' },
        { price: '.48', size: '30' },
      ],
      asks: [
        { price: '.52', size: '5' },
        { price: '.50', size: '7.5' },
      ],
      timestamp: '990',
      hash: 'h',
    },
    {
      event_type: 'book',
      asset_id: NO,
      market: '0x1',
      bids: [{ price: '.50', size: '5' }],
      asks: [{ price: '.52', size: '30' }],
      timestamp: '990',
      hash: 'h',
    },
  ]);

  it('subscribes by assets_ids and reads the initial dump (a JSON array frame) into both token books', () => {
    const h = harness();
    h.feed.onOpen(1);
    expect(JSON.parse(h.sent[0]!)).to.deep.equal({
      assets_ids: [YES, NO],
      type: 'market',
      initial_dump: true,
      custom_feature_enabled: false,
    });
    expect(h.feed.ready().ready).to.equal(false);
    h.feed.onFrame(books, 1_000);
    expect(h.feed.ready()).to.deep.equal({ ready: true });
    expect(h.latest('yes')).to.deep.equal({
      venue: 'polymarket',
      marketId: 'm',
      outcome: 'yes',
      bids: [
        [4800, 3000],
        [4700, 1000],
      ],
      asks: [
        [5000, 750],
        [5200, 500],
      ],
      seq: 1,
      exchangeTs: 990,
      receivedTs: 1_000,
      stale: false,
    });
    expect(h.latest('no')!.bids).to.deep.equal([[5000, 500]]);
  });

  it('applies current and legacy price_change (new total size, 0 removes), ignores PONG, trades and other tokens', () => {
    const h = harness();
    h.feed.onOpen(1);
    h.feed.onFrame(books, 1_000);
    h.feed.onFrame(
      JSON.stringify({
        event_type: 'price_change',
        market: '0x1',
        price_changes: [
          { asset_id: YES, price: '0.48', size: '0', side: 'BUY', hash: 'x', best_bid: '0.47', best_ask: '0.5' },
          { asset_id: NO, price: '0.52', size: '12', side: 'SELL', hash: 'y' },
          { asset_id: '999', price: '0.1', size: '1', side: 'BUY' },
        ],
        timestamp: '1090',
      }),
      1_100,
    );
    expect(h.latest('yes')).to.deep.include({ bids: [[4700, 1000]], exchangeTs: 1090 });
    expect(h.latest('no')!.asks).to.deep.equal([[5200, 1200]]);
    h.feed.onFrame(
      JSON.stringify({
        event_type: 'price_change',
        asset_id: YES,
        market: '0x1',
        changes: [{ price: '0.4', side: 'SELL', size: '3300' }],
        timestamp: '1',
        hash: 'z',
      }),
      1_200,
    );
    expect(h.latest('yes')!.asks[0]).to.deep.equal([4000, 330000]);
    const n = h.quotes.length;
    h.feed.onFrame('PONG', 1_300);
    h.feed.onFrame(
      JSON.stringify({ event_type: 'last_trade_price', asset_id: YES, price: '0.456', size: '219.217767', side: 'BUY' }),
      1_300,
    );
    h.feed.onFrame(JSON.stringify({ event_type: 'tick_size_change', asset_id: YES, old_tick_size: '0.01', new_tick_size: '0.001' }), 1_300);
    expect(h.quotes.length).to.equal(n);
    expect(h.feed.tickSize(YES)).to.equal('0.001');
    expect(h.events).to.deep.equal([]);
  });

  it('resyncs a token that stays crossed by unsubscribing and resubscribing it', () => {
    const h = harness();
    h.feed.onOpen(1);
    h.feed.onFrame(books, 1_000);
    h.sent.length = 0;
    h.feed.onFrame(
      JSON.stringify({
        event_type: 'price_change',
        market: '0x1',
        price_changes: [{ asset_id: YES, price: '0.51', size: '1', side: 'BUY' }],
        timestamp: '2',
      }),
      1_000,
    );
    h.feed.tick(1_200);
    expect(h.sent).to.deep.equal([]);
    h.feed.tick(1_300);
    expect(h.sent.map((t) => JSON.parse(t) as Record<string, unknown>)).to.deep.equal([
      { assets_ids: [YES], operation: 'unsubscribe' },
      { assets_ids: [YES], operation: 'subscribe', initial_dump: true, custom_feature_enabled: false },
    ]);
    expect(h.latest('yes')!.stale).to.equal(true);
    h.feed.onFrame(books, 1_400);
    expect(h.latest('yes')!.stale).to.equal(false);
    expect(h.events.map((e) => e.kind)).to.deep.equal(['rejected', 'resync']);
  });

  it('marks silent books stale and everything stale on disconnect', () => {
    const h = harness();
    h.feed.onOpen(1);
    h.feed.onFrame(books, 1_000);
    h.feed.tick(2_000);
    expect([h.latest('yes')!.stale, h.latest('no')!.stale]).to.deep.equal([true, true]);
    h.feed.onFrame(books, 2_100);
    h.feed.onClose(2_200);
    expect([h.latest('yes')!.stale, h.latest('no')!.stale]).to.deep.equal([true, true]);
  });

  it('survives 100k random and mutated frames without throwing, counting the unparseable ones', () => {
    const rand = prng(5);
    const h = harness();
    h.feed.onOpen(1);
    h.feed.onFrame(books, 1_000);
    let bad = 0;
    for (let i = 0; i < 50_000; i++) {
      bad++;
      h.feed.onFrame(
        rand() < 0.5
          ? Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => 33 + Math.floor(rand() * 90)))
              .toString('latin1')
              .replace(/^PONG$/, 'x')
          : JSON.stringify([
              { event_type: 'price_change', market: '0x1', price_changes: [{ asset_id: YES, price: '1.5', size: '1', side: 'BUY' }] },
            ]),
        1_000,
      );
    }
    const malformed = h.events.filter((e) => e.kind === 'malformed').length;
    expect(malformed).to.be.within(bad - 50, bad); // a random string may by chance be valid JSON (a number)
    let thrown = 0;
    for (let i = 0; i < 50_000; i++) {
      const chars = books.split('');
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++)
        chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 95));
      try {
        h.feed.onFrame(chars.join(''), 2_000);
      } catch {
        thrown++;
      }
    }
    expect(thrown).to.equal(0);
    h.feed.onFrame(books, 3_000);
    expect(h.latest('yes')!.bids[0]).to.deep.equal([4800, 3000]);
  });
});
