// Defence in depth against untradable prices (issue 22.1): a venue trades strictly between $0 and
// $1, so a price of 0 or $1 (or beyond) is a fault wherever it shows up. The monitors refuse it
// (market-data-hostile.test.ts); here, on their own: the quote and signal contracts, the detector's
// gate (even for a quote marked fresh), and the executor's risk decision.
import { expect } from 'chai';
import { MAX_SIZE, PRICE_ONE } from '../../contracts/decimal.js';
import { MAX_QUOTE_LEVELS, quoteSchema, signalSchema, type Quote, type Signal } from '../../contracts/messages.js';
import { bookProblem } from '../../workloads/detector/gating.js';
import { evaluateRisk, type RiskContext, type RiskSettings } from '../../workloads/executor/risk.js';

const now = 1_790_000_000_000;

const quote = (q: Partial<Quote> = {}): Quote => ({
  venue: 'kalshi',
  marketId: 'm',
  outcome: 'yes',
  bids: [[4800, 100]],
  asks: [[5000, 100]],
  seq: 1,
  exchangeTs: now,
  receivedTs: now,
  stale: false,
  ...q,
});

const signal = (limitPrice: number): Signal => ({
  id: 'sig',
  kind: 'edge',
  marketId: 'm',
  legs: [{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice, size: 100 }],
  edgeBps: 100,
  expectedProfit: 100,
  quoteAgesMs: [10],
  createdTs: now,
});

describe('untradable prices: the contracts', () => {
  it('a quote level is priced inside (0, 1) with a bounded size, and a quote has a bounded number of levels', () => {
    expect(quoteSchema.safeParse(quote()).success).to.equal(true);
    expect(quoteSchema.safeParse(quote({ bids: [[1, 1]], asks: [[PRICE_ONE - 1, MAX_SIZE]] })).success).to.equal(true);
    for (const bad of [
      { asks: [[0, 100]] },
      { asks: [[PRICE_ONE, 100]] },
      { bids: [[0, 100]] },
      { bids: [[4800, MAX_SIZE + 1]] },
      { bids: Array.from({ length: MAX_QUOTE_LEVELS + 1 }, (_, i) => [4000 - i, 1]) },
    ] as Array<Partial<Quote>>)
      expect(quoteSchema.safeParse(quote(bad)).success, JSON.stringify(bad).slice(0, 80)).to.equal(false);
  });

  it('a stale marker with no levels is a valid quote (a book that cannot be shown can still be marked)', () => {
    expect(quoteSchema.safeParse(quote({ bids: [], asks: [], stale: true })).success).to.equal(true);
  });

  it('a signal leg is limited inside (0, 1)', () => {
    expect(signalSchema.safeParse(signal(4000)).success).to.equal(true);
    for (const bad of [0, PRICE_ONE, -1, PRICE_ONE + 1]) expect(signalSchema.safeParse(signal(bad)).success, String(bad)).to.equal(false);
  });
});

describe('untradable prices: the detector gate, even on a quote marked fresh', () => {
  const settings = { maxQuoteAgeMs: 2_000, maxLegSkewMs: 500 };
  it('refuses a lone $0 or $1 ask, a $0 or $1 bid, and nonsensical sizes', () => {
    expect(bookProblem(quote(), now, settings)).to.equal(undefined);
    for (const bad of [
      { bids: [], asks: [[0, 100]] },
      { bids: [], asks: [[PRICE_ONE, 100]] },
      { bids: [[0, 100]], asks: [[5000, 100]] },
      {
        bids: [[4800, 100]],
        asks: [
          [5000, 100],
          [PRICE_ONE, 100],
        ],
      },
      {
        bids: [
          [4800, 100],
          [0, 100],
        ],
        asks: [[5000, 100]],
      },
      { bids: [], asks: [[PRICE_ONE + 100, 100]] },
      { asks: [[5000, 0]] },
      { asks: [[5000, -5]] },
      { asks: [[5000, 1.5]] },
      { bids: [[4800, Number.NaN]] },
    ] as Array<Partial<Quote>>)
      expect(bookProblem(quote(bad), now, settings), JSON.stringify(bad)).to.equal('invalid');
  });
});

describe('untradable prices: the executor refuses a signal whose leg limit is outside (0, 1)', () => {
  const settings: RiskSettings = {
    limits: { maxOrder: 1e9, perGame: 1e9, perSport: 1e9, dailyLoss: 1e9, maxOpenPositions: 10, bankroll: 1e9 },
    maxQuoteAgeMs: 2_000,
    marketCooldownMs: 0,
    minLegSize: 1,
  };
  // Everything else as favourable as it gets: only the price can refuse.
  const ctx = (s: Signal): RiskContext => ({
    signal: s,
    now,
    fee: () => 0,
    holdings: [],
    control: { state: 'closed', reason: 'ok', since: 0 },
    market: { game: 'g', sport: 'nba' },
    paused: false,
    alreadySeen: false,
    ...{ realizedPnlToday: 0, unrealizedPnl: 0, realizedPnlTotal: 0 },
  });
  it('accepts a tradable price and refuses 0, $1 and beyond as invalid-signal', () => {
    expect(evaluateRisk(ctx(signal(4000)), settings)).to.include({ accept: true });
    for (const bad of [0, PRICE_ONE, PRICE_ONE + 1, -1, 1.5])
      expect(evaluateRisk(ctx(signal(bad)), settings), String(bad)).to.include({ accept: false, rule: 'invalid-signal' });
  });
});
