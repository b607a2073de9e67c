import { expect } from 'chai';
import { exposure, gameWorstLoss, type Holding } from '../../workloads/executor/exposure.js';
import { evaluateRisk, type RiskContext, type RiskSettings } from '../../workloads/executor/risk.js';
import type { Leg, Signal } from '../../contracts/messages.js';

const $ = (dollars: number) => Math.round(dollars * 10_000);
const contracts = (n: number) => n * 100;
const now = 1_000_000;

const settings: RiskSettings = {
  limits: { maxOrder: $(100), perGame: $(50), perSport: $(80), dailyLoss: $(40), maxOpenPositions: 3, bankroll: $(1000) },
  maxQuoteAgeMs: 2_000,
  marketCooldownMs: 30_000,
  minLegSize: contracts(1),
};

/** Kalshi YES at 0.40 + Polymarket NO at 0.55: a set costs 0.95 and pays 1.00. */
function arbSignal(size = contracts(100)): Signal {
  return {
    id: 'sig-1',
    kind: 'arbitrage',
    marketId: 'lal-bos',
    legs: [
      { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4000, size },
      { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5500, size },
    ],
    edgeBps: 500,
    expectedProfit: $(5),
    quoteAgesMs: [100, 200],
    createdTs: now - 50,
  };
}

function edgeSignal(size = contracts(50), price = 4000): Signal {
  return {
    ...arbSignal(),
    id: 'sig-edge',
    kind: 'edge',
    legs: [{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: price, size }],
  };
}

function ctx(overrides: Partial<RiskContext> = {}): RiskContext {
  return {
    now,
    control: { state: 'closed', reason: 'ok', since: 0 },
    paused: false,
    signal: arbSignal(),
    market: { game: 'lal-bos-2026-11-24', sport: 'nba' },
    holdings: [],
    realizedPnlToday: 0,
    unrealizedPnl: 0,
    realizedPnlTotal: 0,
    alreadySeen: false,
    fee: () => 0,
    ...overrides,
  };
}

const holding = (h: Partial<Holding>): Holding => ({
  marketId: 'm',
  game: 'g',
  sport: 'nba',
  venue: 'kalshi',
  outcome: 'yes',
  size: contracts(10),
  cost: $(5),
  ...h,
});

describe('executor exposure (money at risk per game)', () => {
  it('nets the two legs of an arbitrage to their locked-in cost', () => {
    const legs = [
      holding({ marketId: 'a', outcome: 'yes', cost: $(40), size: contracts(100) }),
      holding({ marketId: 'a', outcome: 'no', cost: $(55), size: contracts(100) }),
    ];
    expect(gameWorstLoss(legs)).to.equal(0); // pays $100 whatever happens, cost $95
    expect(gameWorstLoss([legs[0]!])).to.equal($(40));
  });

  it('counts YES on both teams of one game as one correlated bet, and YES on A + NO on B as the same side twice', () => {
    const bothTeams = [
      holding({ marketId: 'lal', outcome: 'yes', cost: $(30), size: contracts(60) }),
      holding({ marketId: 'bos', outcome: 'yes', cost: $(30), size: contracts(60) }),
    ];
    // Exactly one team wins: one leg pays $60 of the $60 spent — except a draw/none, which loses all $60.
    expect(gameWorstLoss(bothTeams)).to.equal($(60));
    const sameSide = [
      holding({ marketId: 'lal', outcome: 'yes', cost: $(20), size: contracts(50) }),
      holding({ marketId: 'bos', outcome: 'no', cost: $(20), size: contracts(50) }),
    ];
    // If BOS wins, both lose: $40 at risk — the original system allowed this as "different" bets.
    expect(gameWorstLoss(sameSide)).to.equal($(40));
  });

  it('counts an in-flight reservation only where it adds to the loss: a hedge not yet filled makes no room', () => {
    const bet = holding({ marketId: 'lal', outcome: 'yes', cost: $(40), size: contracts(100) });
    const hedge = holding({ marketId: 'lal', outcome: 'no', cost: $(55), size: contracts(100) });
    // Filled, the hedge nets the bet out; in flight, it may not fill, and the bet's $40 stays at risk.
    expect(gameWorstLoss([bet, hedge])).to.equal(0);
    expect(gameWorstLoss([bet, { ...hedge, pendingSignal: 's2' }])).to.equal($(40));
    // A reserved arbitrage (both legs of one signal) fills whole or not at all: its locked-in cost, not a leg's.
    const arb = [
      { ...bet, pendingSignal: 's3' },
      { ...hedge, pendingSignal: 's3' },
    ];
    expect(gameWorstLoss(arb)).to.equal(0);
    // Two reservations each add their own worst: YES on both teams, each in flight, risk both costs in a draw.
    const lal = holding({ marketId: 'lal', outcome: 'yes', cost: $(30), size: contracts(60), pendingSignal: 'a' });
    const bos = holding({ marketId: 'bos', outcome: 'yes', cost: $(30), size: contracts(60), pendingSignal: 'b' });
    expect(gameWorstLoss([lal, bos])).to.equal($(60));
  });

  it('sums games per sport and lists held markets', () => {
    const view = exposure([
      holding({ game: 'g1', cost: $(5) }),
      holding({ game: 'g2', marketId: 'n', cost: $(7) }),
      holding({ game: 'g3', sport: 'nhl', marketId: 'x', cost: $(1) }),
    ]);
    expect(view.bySport.get('nba')).to.equal($(12));
    expect(view.total).to.equal($(13));
    expect([...view.openMarkets].sort()).to.deep.equal(['m', 'n', 'x']);
  });
});

describe('executor risk rules', () => {
  it('accepts a full-size arbitrage whose legs net out under every limit', () => {
    const decision = evaluateRisk(ctx(), settings);
    expect(decision).to.deep.include({ accept: true, cost: $(95) });
    expect(decision.accept && decision.legs.map((l: Leg) => l.size)).to.deep.equal([contracts(100), contracts(100)]);
  });

  it('refuses to trade without a readable control state, when open, or when paused; half-open caps the order', () => {
    expect(evaluateRisk(ctx({ control: undefined }), settings)).to.include({ accept: false, rule: 'control-unknown' });
    expect(evaluateRisk(ctx({ control: { state: 'open', reason: 'daily-loss', since: 0 } }), settings)).to.include({
      accept: false,
      rule: 'circuit-open',
    });
    expect(evaluateRisk(ctx({ paused: true }), settings)).to.include({ accept: false, rule: 'paused' });
    const probation = evaluateRisk(ctx({ control: { state: 'half_open', reason: 'probation', since: 0, maxOrder: $(19) } }), settings);
    expect(probation).to.include({ accept: true, resizedBy: 'max-order' });
    expect(probation.accept && probation.cost)
      .to.be.at.most($(19))
      .and.above($(18.9));
  });

  it('ignores duplicates, honours the latency breaker, stale quotes and the market cool-down at their boundaries', () => {
    expect(evaluateRisk(ctx({ alreadySeen: true }), settings)).to.include({ rule: 'duplicate-signal' });
    expect(evaluateRisk(ctx({ localBreaker: { rule: 'latency-breaker', until: now + 1 } }), settings)).to.include({
      rule: 'latency-breaker',
    });
    expect(evaluateRisk(ctx({ localBreaker: { rule: 'venue-error-breaker', until: now + 1 } }), settings)).to.include({
      rule: 'venue-error-breaker',
    });
    expect(evaluateRisk(ctx({ localBreaker: { rule: 'latency-breaker', until: now } }), settings)).to.include({ accept: true });
    const aged = (age: number) => ({ ...arbSignal(), quoteAgesMs: [age], createdTs: now });
    expect(evaluateRisk(ctx({ signal: aged(2_000) }), settings)).to.include({ accept: true });
    expect(evaluateRisk(ctx({ signal: aged(2_001) }), settings)).to.include({ rule: 'stale-signal' });
    expect(evaluateRisk(ctx({ lastFillAt: now - 29_999 }), settings)).to.include({ rule: 'market-cooldown' });
    expect(evaluateRisk(ctx({ lastFillAt: now - 30_000 }), settings)).to.include({ accept: true });
  });

  it('caps open positions, but lets a held market be added to', () => {
    const three = ['a', 'b', 'c'].map((m) => holding({ marketId: m, game: m, cost: $(1) }));
    expect(evaluateRisk(ctx({ holdings: three }), settings)).to.include({ rule: 'max-open-positions' });
    const including = [...three.slice(0, 2), holding({ marketId: 'lal-bos', game: 'lal-bos-2026-11-24', cost: $(1) })];
    expect(evaluateRisk(ctx({ holdings: including }), settings)).to.include({ accept: true });
  });

  it('sizes a directional bet down to the per-game limit exactly, and refuses when even one contract does not fit', () => {
    // 150 contracts at $0.40 risk $60 > $50 game limit → 125 contracts = $50.00.
    const lenient = { ...settings, limits: { ...settings.limits, dailyLoss: $(1_000) } };
    const sized = evaluateRisk(ctx({ signal: edgeSignal(contracts(150)) }), lenient);
    expect(sized).to.deep.include({ accept: true, resizedBy: 'per-game', cost: $(50) });
    // With the $40 daily loss limit, that limit binds first.
    expect(evaluateRisk(ctx({ signal: edgeSignal(contracts(150)) }), settings)).to.deep.include({
      accept: true,
      resizedBy: 'daily-loss',
      cost: $(40),
    });
    const full = holding({ marketId: 'lal-bos', game: 'lal-bos-2026-11-24', cost: $(49.8), size: contracts(120) });
    expect(evaluateRisk(ctx({ signal: edgeSignal(), holdings: [full] }), settings)).to.include({ accept: false, rule: 'per-game' });
  });

  it('counts other games of the sport against the sport limit', () => {
    const others = [holding({ game: 'g1', marketId: 'x', cost: $(45) }), holding({ game: 'g2', marketId: 'y', cost: $(30) })];
    // $75 already at risk in NBA, $80 limit: $5 left → 12.5 contracts at $0.40 → 12.50.
    const decision = evaluateRisk(ctx({ signal: edgeSignal(), holdings: others }), settings);
    expect(decision).to.deep.include({ accept: true, resizedBy: 'per-sport', cost: $(5) });
    expect(evaluateRisk(ctx({ signal: edgeSignal(), holdings: others, market: { game: 'h', sport: 'nhl' } }), settings)).to.deep.include({
      accept: true,
      cost: $(20),
    });
  });

  it("stops at the daily loss limit, counting unrealized losses and this order's worst case", () => {
    expect(
      evaluateRisk(ctx({ signal: edgeSignal(contracts(10)), realizedPnlToday: -$(30), unrealizedPnl: -$(6) }), settings),
    ).to.deep.include({ accept: true, cost: $(4) });
    expect(evaluateRisk(ctx({ signal: edgeSignal(contracts(10)), realizedPnlToday: -$(30), unrealizedPnl: -$(10) }), settings)).to.include({
      rule: 'daily-loss',
    });
    // Unrealized gains do not lift the limit (they are not money yet).
    expect(evaluateRisk(ctx({ signal: edgeSignal(contracts(10)), realizedPnlToday: -$(40), unrealizedPnl: $(100) }), settings)).to.include({
      accept: true,
    });
    expect(evaluateRisk(ctx({ signal: edgeSignal(contracts(10)), realizedPnlToday: -$(40), unrealizedPnl: 0 }), settings)).to.include({
      rule: 'daily-loss',
    });
  });

  it('sizes from realized capital only: unrealized gains never compound the bankroll', () => {
    const tied = [holding({ game: 'g1', marketId: 'x', cost: $(990) })];
    const roomy = { ...settings, limits: { ...settings.limits, perSport: $(10_000), maxOrder: $(1_000) } };
    // $1000 bankroll − $990 tied up = $10 available, however well the open position is doing.
    const decision = evaluateRisk(ctx({ signal: edgeSignal(), holdings: tied, unrealizedPnl: $(500) }), roomy);
    expect(decision).to.deep.include({ accept: true, resizedBy: 'bankroll', cost: $(10) });
    const afterRealizedWin = evaluateRisk(ctx({ signal: edgeSignal(), holdings: tied, realizedPnlTotal: $(10) }), roomy);
    expect(afterRealizedWin).to.deep.include({ accept: true, cost: $(20) });
  });

  it('includes fees in what an order costs', () => {
    const decision = evaluateRisk(ctx({ fee: (leg) => (leg.venue === 'kalshi' ? $(1.75) : $(0.5)) }), settings);
    expect(decision).to.deep.include({ accept: true, cost: $(97.25) });
  });
});
