// Hostile venue input against the monitors' pure parts: prices of $0 and $1 and crossed books never
// become a fresh quote, sizes are bounded at parse time and a book that cannot be published goes
// out stale, a feed notices when its subscription stopped, frames are refused cheaply by shape
// before they are parsed, and exchange timestamps far from our clock are clamped and counted.
import { expect } from 'chai';
import { MAX_SIZE, PRICE_ONE } from '../../contracts/decimal.js';
import { quoteSchema, type Quote } from '../../contracts/messages.js';
import { KalshiFeed, type KalshiFeedEvent } from '../../workloads/kalshi-monitor/core.js';
import { PolymarketFeed, type PolymarketFeedEvent } from '../../workloads/polymarket-monitor/core.js';
import { frameProblem, MAX_BOOK_LEVELS } from '../../workloads/market-data/bounds.js';
import { FrameMemory } from '../../workloads/market-data/frame-memory.js';
import { LogThrottle } from '../../workloads/market-data/log-throttle.js';
import { QuotePublisher } from '../../workloads/market-data/publisher.js';
import { MalformedMessage, venueSignedSize, venueSize } from '../../venues/wire.js';

const T0 = 1_790_000_000_000; // the monitor's clock in these tests (epoch ms)
const QUIET_MS = 5_000;

/** Sane as the issue defines it: inside (0, 1), bid below ask, finite positive sizes, unless marked stale. */
function insane(q: Quote): string | undefined {
  const levels = [...q.bids, ...q.asks];
  if (levels.some(([p, s]) => !(p > 0 && p < PRICE_ONE) || !Number.isSafeInteger(s) || s <= 0)) return 'price or size out of range';
  if (q.bids.length > 0 && q.asks.length > 0 && q.bids[0]![0] >= q.asks[0]![0]) return 'crossed';
  return undefined;
}

/** What a feed publishes, sends and reports, kept for the assertions, and the settings common to both venues. */
function recorder<C, E>(crossedGraceMs: number) {
  const quotes: Quote[] = [];
  const sent: C[] = [];
  const events: E[] = [];
  let seq = 0;
  const wiring = {
    depth: 5,
    maxQuoteAgeMs: 60_000,
    crossedGraceMs,
    quietMs: QUIET_MS,
    publish: (_key: string, build: () => Quote) => void quotes.push(build()),
    send: (c: C) => void sent.push(c),
    event: (e: E) => void events.push(e),
    nextSeq: () => ++seq,
  };
  const kinds = (kind: string) => events.filter((e) => (e as { kind: string }).kind === kind);
  return { quotes, sent, events, wiring, kinds };
}

function kalshi() {
  const { quotes, sent, events, wiring, kinds } = recorder<Record<string, unknown>, KalshiFeedEvent>(500);
  const feed = new KalshiFeed({ ...wiring, markets: ['a', 'b'].map((id) => ({ ticker: `KX-${id.toUpperCase()}`, marketId: id })) });
  let wireSeq = 0;
  const frame = (m: unknown, at = T0) => feed.onFrame(JSON.stringify(m), at);
  const snapshot = (ticker: string, yes: Array<[string, string]>, no: Array<[string, string]>, at = T0, sid = 7) =>
    frame({ type: 'orderbook_snapshot', sid, seq: ++wireSeq, msg: { market_ticker: ticker, yes_dollars_fp: yes, no_dollars_fp: no } }, at);
  const delta = (ticker: string, side: 'yes' | 'no', price: string, change: string, at = T0, extra: Record<string, unknown> = {}) =>
    frame(
      {
        type: 'orderbook_delta',
        sid: 7,
        seq: ++wireSeq,
        msg: { market_ticker: ticker, price_dollars: price, delta_fp: change, side, ts_ms: at, ...extra },
      },
      at,
    );
  const open = () => {
    feed.onOpen(T0);
    frame({ id: sent[0]!.id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 7 } });
    // YES bids 0.40; YES asks (NO bids on the YES scale) 0.45.
    snapshot('KX-A', [['0.4000', '100.00']], [['0.4500', '80.00']]);
    snapshot('KX-B', [['0.1000', '1.00']], [['0.2000', '1.00']]);
  };
  const latest = (marketId: string, outcome: 'yes' | 'no') =>
    [...quotes].reverse().find((q) => q.marketId === marketId && q.outcome === outcome)!;
  const snapshotRequests = () => sent.filter((c) => c.cmd === 'update_subscription');
  return { feed, quotes, sent, events, frame, snapshot, delta, open, latest, snapshotRequests, kinds };
}

const YES = '111';
const NO = '222';
function poly() {
  const { quotes, sent, events, wiring, kinds } = recorder<string, PolymarketFeedEvent>(300);
  const feed = new PolymarketFeed({ ...wiring, markets: [{ marketId: 'm', yesTokenId: YES, noTokenId: NO }] });
  const book = (asset: string, bids: Array<[string, string]>, asks: Array<[string, string]>, at = T0, timestamp: unknown = at) =>
    feed.onFrame(
      JSON.stringify({
        event_type: 'book',
        asset_id: asset,
        market: '0x1',
        bids: bids.map(([price, size]) => ({ price, size })),
        asks: asks.map(([price, size]) => ({ price, size })),
        timestamp,
      }),
      at,
    );
  const change = (asset: string, side: 'BUY' | 'SELL', price: string, size: string, at = T0) =>
    feed.onFrame(
      JSON.stringify({
        event_type: 'price_change',
        market: '0x1',
        price_changes: [{ asset_id: asset, price, size, side }],
        timestamp: String(at),
      }),
      at,
    );
  const open = () => {
    feed.onOpen(T0);
    book(YES, [['0.48', '30']], [['0.50', '10']]);
    book(NO, [['0.50', '10']], [['0.52', '30']]);
  };
  const latest = (outcome: 'yes' | 'no') => [...quotes].reverse().find((q) => q.outcome === outcome)!;
  const resubscribes = () => sent.map((t) => JSON.parse(t) as { operation?: string }).filter((c) => c.operation === 'subscribe');
  return { feed, quotes, sent, events, book, change, open, latest, resubscribes, kinds };
}

describe('hostile venue input: prices of $0 and $1, crossed books (issue 22.1)', () => {
  it('Kalshi: a snapshot with a YES ask of $0 is refused, the book is stale until a good snapshot repairs it', () => {
    const h = kalshi();
    h.open();
    expect(h.latest('a', 'yes').stale).to.equal(false);
    h.snapshot('KX-A', [['0.4000', '100.00']], [['0.0000', '100.00']], T0 + 10);
    for (const outcome of ['yes', 'no'] as const) {
      const q = h.latest('a', outcome);
      expect(q.stale, outcome).to.equal(true);
      expect(insane(q), outcome).to.equal(undefined); // the refused levels are not shown either
    }
    expect(h.kinds('rejected').map((e) => [(e as { book: string }).book, (e as { reason: string }).reason])).to.deep.equal([
      ['KX-A', 'price_out_of_range'],
    ]);
    expect(h.snapshotRequests().at(-1)).to.deep.include({ params: { sids: [7], market_tickers: ['KX-A'], action: 'get_snapshot' } });
    expect(h.feed.ready().ready).to.equal(false);
    h.delta('KX-A', 'yes', '0.4100', '5.00', T0 + 20); // dropped: nothing we hold can be trusted
    expect(h.latest('a', 'yes').stale).to.equal(true);
    h.snapshot('KX-A', [['0.4000', '100.00']], [['0.4500', '80.00']], T0 + 30);
    expect(h.latest('a', 'yes')).to.deep.include({ stale: false, bids: [[4000, 10000]], asks: [[4500, 8000]] });
    expect(h.feed.ready().ready).to.equal(true);
  });

  it('Kalshi: deltas at $1 or $0 (either side, either scale) mark the book unusable', () => {
    for (const [side, price] of [
      ['yes', '1.0000'],
      ['yes', '0.0000'],
      ['no', '0.0000'],
      ['no', '1.0000'],
      ['yes', '0.9995'], // finer than Kalshi's finest tick from the edge
    ] as const) {
      const h = kalshi();
      h.open();
      h.delta('KX-A', side, price, '10.00', T0 + 10);
      const q = h.latest('a', 'yes');
      expect(q.stale, `${side} ${price}`).to.equal(true);
      expect(insane(q), `${side} ${price}`).to.equal(undefined);
      expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal(['price_out_of_range']);
    }
  });

  it('Kalshi: a crossed or locked book is published stale at once, resynced after the grace period, fresh if it uncrosses', () => {
    const h = kalshi();
    h.open();
    // A YES bid at 0.45 meets the 0.45 YES ask: locked (a YES bid and a NO bid summing to $1 would have matched).
    h.delta('KX-A', 'yes', '0.4500', '5.00', T0 + 10);
    expect(h.latest('a', 'yes').stale).to.equal(true);
    expect(h.latest('a', 'no').stale).to.equal(true);
    h.delta('KX-A', 'yes', '0.4500', '-5.00', T0 + 20); // the rest of the change arrives: fine again
    expect(h.latest('a', 'yes').stale).to.equal(false);
    h.delta('KX-A', 'yes', '0.4700', '5.00', T0 + 30); // crossed, and it stays so
    expect(h.latest('a', 'yes').stale).to.equal(true);
    const requests = h.snapshotRequests().length;
    h.feed.tick(T0 + 529);
    expect(h.snapshotRequests()).to.have.length(requests);
    h.feed.tick(T0 + 530);
    expect(h.snapshotRequests()).to.have.length(requests + 1);
    expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal(['crossed']);
    for (const q of h.quotes) if (!q.stale) expect(insane(q), JSON.stringify(q)).to.equal(undefined);
  });

  it('Polymarket: a book with an ask at 0 or a bid at 1 is refused; a price_change to 0 makes the book unusable', () => {
    const h = poly();
    h.open();
    expect(h.latest('yes').stale).to.equal(false);
    h.book(YES, [['0.48', '30']], [['0', '100']], T0 + 10);
    expect(h.latest('yes').stale).to.equal(true);
    expect(insane(h.latest('yes'))).to.equal(undefined);
    expect(h.resubscribes().length).to.be.at.least(1);
    h.book(YES, [['0.48', '30']], [['0.50', '10']], T0 + 20);
    expect(h.latest('yes').stale).to.equal(false);
    h.book(NO, [['1', '5']], [['0.52', '30']], T0 + 30);
    expect(h.latest('no').stale).to.equal(true);
    h.change(YES, 'SELL', '0', '50', T0 + 40);
    expect(h.latest('yes').stale).to.equal(true);
    h.change(YES, 'SELL', '.49', '50', T0 + 50); // the book is not used again before a book message
    expect(h.latest('yes').stale).to.equal(true);
    expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal([
      'price_out_of_range',
      'price_out_of_range',
      'price_out_of_range',
    ]);
  });

  it('Polymarket: a crossed book is never fresh; one that stays crossed is resynced and counted', () => {
    const h = poly();
    h.open();
    h.book(YES, [['0.51', '30']], [['0.50', '10']], T0 + 10);
    expect(h.latest('yes').stale).to.equal(true);
    const before = h.resubscribes().length;
    h.feed.tick(T0 + 310);
    expect(h.resubscribes().length).to.equal(before + 1);
    expect(h.kinds('rejected')).to.have.length(1);
    for (const q of h.quotes) if (!q.stale) expect(insane(q), JSON.stringify(q)).to.equal(undefined);
  });

  it('asks the venue for a snapshot at most once a second per book, however often it sends bad data', () => {
    const h = kalshi();
    h.open();
    for (let i = 0; i < 200; i++) h.snapshot('KX-A', [['0.4000', '100.00']], [['0.0000', '1.00']], T0 + i);
    expect(h.snapshotRequests()).to.have.length(1);
    h.feed.tick(T0 + 1_000);
    expect(h.snapshotRequests()).to.have.length(2);
    expect(h.kinds('rejected')).to.have.length(200);
  });
});

describe('hostile venue input: sizes (issue 22.2)', () => {
  it('refuses a size above 10^9 contracts at parse time', () => {
    expect(MAX_SIZE).to.equal(100_000_000_000);
    expect(venueSize('1000000000.00')).to.equal(MAX_SIZE);
    for (const bad of ['1000000000.01', '90071992547409.91', '1e400', '99999999999999999999'])
      expect(() => venueSize(bad), bad).to.throw(MalformedMessage);
    expect(() => venueSignedSize('-1000000000.01')).to.throw(MalformedMessage);
  });

  it('Kalshi: deltas that push a level past the bound make the book unusable, never a frozen fresh quote', () => {
    const h = kalshi();
    h.open();
    h.delta('KX-A', 'yes', '0.4000', '600000000.00', T0 + 10);
    expect(h.latest('a', 'yes').stale).to.equal(false);
    h.delta('KX-A', 'yes', '0.4000', '600000000.00', T0 + 20);
    const q = h.latest('a', 'yes');
    expect(q.stale).to.equal(true);
    expect(quoteSchema.safeParse(q).success).to.equal(true);
    expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal(['size_out_of_range']);
  });

  it('Kalshi: a delta with an unparseable size leaves the book stale (it missed an update), not fresh', () => {
    const h = kalshi();
    h.open();
    h.delta('KX-A', 'yes', '0.4000', '90071992547409.91', T0 + 10);
    expect(h.latest('a', 'yes').stale).to.equal(true);
    expect(h.kinds('malformed')).to.have.length(1);
    expect(h.snapshotRequests()).to.have.length(1);
  });

  it('publishes a stale marker with empty levels for a quote that fails validation, so the book is never left fresh', async () => {
    const written: string[] = [];
    const invalid: string[] = [];
    const redis = {
      pipeline() {
        const commands: string[] = [];
        const pipe = {
          xadd: (...args: Array<string | number>) => (commands.push(String(args.at(-1))), pipe),
          exec: () => Promise.resolve((written.push(...commands), commands.map(() => [null, '1-0'] as [null, string]))),
        };
        return pipe;
      },
    };
    const pub = new QuotePublisher({ redis: redis as never, stream: 's', maxLen: 10, onInvalid: (_q, p) => invalid.push(p) });
    const fresh: Quote = {
      venue: 'kalshi',
      marketId: 'm1',
      outcome: 'yes',
      bids: [[4000, 100]],
      asks: [[4500, 100]],
      seq: 1,
      exchangeTs: T0,
      receivedTs: T0,
      stale: false,
    };
    pub.publish(fresh);
    pub.publish({ ...fresh, outcome: 'no', seq: 2, bids: [[4000, 2 ** 53 + 2]] });
    pub.publish({ ...fresh, marketId: 'm2', seq: 3, asks: [[0, 100]], exchangeTs: -1 });
    expect(await pub.drain(1000)).to.equal(true);
    expect(invalid).to.have.length(2);
    const out = written.map((w) => quoteSchema.parse(JSON.parse(w)));
    expect(out).to.have.length(3);
    expect(out[1]).to.deep.include({ marketId: 'm1', outcome: 'no', bids: [], asks: [], stale: true, seq: 2 });
    expect(out[2]).to.deep.include({ marketId: 'm2', outcome: 'yes', bids: [], asks: [], stale: true, seq: 3 });
  });
});

describe('hostile venue input: a feed that notices it stopped (issue 22.3)', () => {
  it('Kalshi: a duplicate subscribed acknowledgement with another sid does not kill the feed', () => {
    const h = kalshi();
    h.open();
    h.frame({ id: h.sent[0]!.id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 99 } }, T0 + 5);
    h.delta('KX-A', 'yes', '0.4100', '5.00', T0 + 10);
    expect(h.latest('a', 'yes')).to.deep.include({
      stale: false,
      bids: [
        [4100, 500],
        [4000, 10000],
      ],
    });
    expect(h.feed.ready().ready).to.equal(true);
  });

  it('Kalshi: an error with an unrelated id does not resubscribe everything; one answering our snapshot request does', () => {
    const h = kalshi();
    h.open();
    h.sent.length = 0;
    h.frame({ id: 4242, type: 'error', msg: { code: 8, msg: 'Unknown command' } }, T0 + 10);
    expect(h.sent).to.deep.equal([]);
    expect(h.latest('a', 'yes').stale).to.equal(false);
    h.snapshot('KX-A', [['0.4000', '100.00']], [['1.0000', '1.00']], T0 + 20); // refused: a snapshot request goes out
    const request = h.snapshotRequests()[0]!;
    h.frame({ id: request.id, type: 'error', msg: { code: 17, msg: 'Internal error' } }, T0 + 30);
    expect(h.sent.map((c) => c.cmd)).to.deep.equal(['update_subscription', 'unsubscribe', 'subscribe']);
  });

  it('Kalshi: subscribed books that hear nothing for the quiet period: stalled, not ready, resubscribed, then reconnected', () => {
    const h = kalshi();
    h.open();
    h.sent.length = 0;
    h.feed.tick(T0 + QUIET_MS);
    expect(h.kinds('stalled')).to.have.length(0);
    h.feed.tick(T0 + QUIET_MS + 1);
    expect(h.kinds('stalled')).to.deep.equal([{ kind: 'stalled', silentMs: QUIET_MS + 1 }]);
    expect(h.feed.ready().ready).to.equal(false);
    expect(h.sent.map((c) => c.cmd)).to.deep.equal(['unsubscribe', 'subscribe']);
    expect(h.latest('a', 'yes').stale).to.equal(true);
    h.feed.tick(T0 + QUIET_MS + 1 + 15_001); // the new subscription is never acknowledged
    expect(h.kinds('reconnect')).to.have.length(1);
  });

  it('Kalshi: a lively subscription is not stalled', () => {
    const h = kalshi();
    h.open();
    for (let t = 1_000; t <= 20_000; t += 1_000) {
      h.delta('KX-B', 'yes', '0.1000', '1.00', T0 + t);
      h.feed.tick(T0 + t);
    }
    expect(h.kinds('stalled')).to.have.length(0);
    expect(h.feed.ready().ready).to.equal(true);
  });

  it('Polymarket: tokens that hear nothing for the quiet period: stalled, not ready, resubscribed, ready again on a book', () => {
    const h = poly();
    h.open();
    const before = h.resubscribes().length;
    h.feed.tick(T0 + QUIET_MS + 1);
    expect(h.kinds('stalled')).to.have.length(1);
    expect(h.feed.ready().ready).to.equal(false);
    expect(h.resubscribes().length).to.equal(before + 1);
    h.book(YES, [['0.48', '30']], [['0.50', '10']], T0 + QUIET_MS + 100);
    h.book(NO, [['0.50', '10']], [['0.52', '30']], T0 + QUIET_MS + 100);
    expect(h.feed.ready().ready).to.equal(true);
  });
});

describe('hostile venue input: memory per frame (issue 22.4)', () => {
  it('refuses nested-array bombs and floods of values by their shape, without parsing them', () => {
    expect(frameProblem('{"type":"orderbook_delta","msg":{"a":[["0.1","1"]]}}')).to.equal(undefined);
    expect(frameProblem('['.repeat(64))).to.equal('too_deep');
    expect(frameProblem(`"${'['.repeat(1000)}"`)).to.equal(undefined); // inside a string it is text
    expect(frameProblem(`["\\"${'['.repeat(1000)}"]`)).to.equal(undefined); // escaped quotes stay in the string
    expect(frameProblem(`[${'{},'.repeat(600_000)}{}]`)).to.equal('too_many_values');
    expect(frameProblem(`[${'1,'.repeat(600_000)}1]`)).to.equal('too_many_values');
    const started = performance.now();
    expect(frameProblem('['.repeat(4 << 20))).to.equal('too_deep');
    expect(frameProblem(`[${'[],'.repeat(1_300_000)}[]]`)).to.equal('too_many_values');
    expect(performance.now() - started).to.be.below(1_000);
  });

  it('both feeds refuse such frames (counted) and keep working', () => {
    const k = kalshi();
    k.open();
    k.feed.onFrame('['.repeat(100_000), T0 + 1);
    expect(k.kinds('frame_refused')).to.deep.equal([{ kind: 'frame_refused', reason: 'too_deep' }]);
    k.delta('KX-A', 'yes', '0.4100', '5.00', T0 + 2);
    // The refused frame may have been a book message: Kalshi's seq tells (no gap here, so fresh).
    expect(k.latest('a', 'yes').stale).to.equal(false);
    const p = poly();
    p.open();
    p.feed.onFrame(`[${'{},'.repeat(600_000)}{}]`, T0 + 1);
    expect(p.kinds('frame_refused')).to.deep.equal([{ kind: 'frame_refused', reason: 'too_many_values' }]);
    // Polymarket has no seq: a refused frame may have carried our books' changes, so they are resynced.
    expect(p.latest('yes').stale).to.equal(true);
    expect(p.resubscribes().length).to.be.at.least(1);
  });

  it('bounds the depth kept per side: a deeper snapshot or a delta past the bound makes the book unusable', () => {
    const levels = (n: number, from: number): Array<[string, string]> =>
      Array.from({ length: n }, (_, i) => [((from + i) / 10_000).toFixed(4), '1.00']);
    const h = kalshi();
    h.open();
    h.snapshot('KX-A', levels(MAX_BOOK_LEVELS + 1, 10), [], T0 + 10);
    expect(h.latest('a', 'yes').stale).to.equal(true);
    expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal(['too_deep']);
    h.snapshot('KX-A', levels(MAX_BOOK_LEVELS, 10), [], T0 + 20);
    expect(h.latest('a', 'yes').stale).to.equal(false);
    h.delta('KX-A', 'yes', ((10 + MAX_BOOK_LEVELS) / 10_000).toFixed(4), '1.00', T0 + 30);
    expect(h.latest('a', 'yes').stale).to.equal(true);
    expect(h.kinds('rejected').map((e) => (e as { reason: string }).reason)).to.deep.equal(['too_deep', 'too_deep']);
    const p = poly();
    p.open();
    p.book(
      YES,
      levels(MAX_BOOK_LEVELS + 1, 1).map(([price]) => [price, '1']),
      [],
      T0 + 10,
    );
    expect(p.latest('yes').stale).to.equal(true);
  });
});

describe('hostile venue input: exchange timestamps (issue 22.5)', () => {
  it('clamps timestamps far from the monitor clock to the receive time, and counts them', () => {
    for (const bad of [2 ** 53, -5, T0 - 3 * 365 * 86_400_000, T0 + 3_600_000, '9007199254740993', 'soon']) {
      const h = kalshi();
      h.open();
      h.delta('KX-A', 'yes', '0.4100', '5.00', T0 + 10, { ts_ms: bad });
      expect(h.latest('a', 'yes').exchangeTs, String(bad)).to.equal(T0 + 10);
      expect(h.kinds('clock'), String(bad)).to.have.length(1);
      const p = poly();
      p.open();
      p.book(YES, [['0.48', '30']], [['0.50', '10']], T0 + 10, typeof bad === 'number' ? String(bad) : bad);
      expect(p.latest('yes').exchangeTs, String(bad)).to.equal(T0 + 10);
      expect(p.kinds('clock'), String(bad)).to.have.length(1);
    }
    const h = kalshi();
    h.open();
    h.delta('KX-A', 'yes', '0.4100', '5.00', T0 + 10, { ts_ms: T0 - 2_000 }); // a venue a little behind: kept
    expect(h.latest('a', 'yes').exchangeTs).to.equal(T0 - 2_000);
    expect(h.kinds('clock')).to.have.length(0);
  });
});

describe('rate-limited warnings', () => {
  it('logs the first of a kind, then at most one per period with the count suppressed meanwhile', () => {
    const t = new LogThrottle(10_000);
    expect(t.take('rejected:crossed', 0)).to.equal(0);
    expect(t.take('rejected:crossed', 1)).to.equal(undefined);
    expect(t.take('rejected:crossed', 2)).to.equal(undefined);
    expect(t.take('stalled', 3)).to.equal(0);
    expect(t.take('rejected:crossed', 10_000)).to.equal(2);
    expect(t.take('rejected:crossed', 10_001)).to.equal(undefined);
  });
});

describe('memory after large frames', () => {
  it('asks V8 for a collection once large frames add up to the budget, never for ordinary ones', () => {
    const memory = new FrameMemory(1 << 20);
    for (let i = 0; i < 100_000; i++) memory.received(300);
    expect(memory.collections).to.equal(0);
    for (let i = 0; i < 15; i++) memory.received(64 * 1024);
    expect(memory.collections).to.equal(0);
    memory.received(64 * 1024);
    expect(memory.collections).to.equal(1);
    for (let i = 0; i < 10; i++) memory.received(1 << 20);
    expect(memory.collections).to.equal(11);
  });
});
