import { expect } from 'chai';
import { ScenarioEngine, type SimEvent } from '../../workloads/sim/engine.js';
import { ScenarioError, loadDemoScenario, parseDuration, parseScenario, type ScenarioInput } from '../../workloads/sim/scenario.js';

const base: ScenarioInput = {
  name: 'unit',
  seed: 7,
  duration: '2m',
  messageRate: 50,
  tradeProbability: 0,
  defaults: { spreadTicks: 2, depth: 4, levelSize: 100 },
  games: [
    {
      id: 'g1',
      sport: 'nba',
      home: 'LAL',
      away: 'PHI',
      kalshi: { eventTicker: 'KXNBAGAME-26NOV24PHILAL' },
      markets: [
        {
          id: 'm1',
          team: 'LAL',
          initialPrice: 0.6,
          kalshi: { ticker: 'KXNBAGAME-26NOV24PHILAL-LAL' },
          polymarket: { yesTokenId: '111', noTokenId: '222' },
        },
      ],
    },
    {
      id: 'g2',
      sport: 'nhl',
      home: 'MTL',
      away: 'TOR',
      kalshi: { eventTicker: 'KXNHLGAME-26NOV24TORMTL' },
      markets: [
        {
          id: 'm2',
          team: 'TOR',
          initialPrice: 0.45,
          kalshi: { ticker: 'KXNHLGAME-26NOV24TORMTL-TOR' },
          polymarket: { yesTokenId: '333', noTokenId: '444' },
        },
      ],
    },
  ],
  arbitrage: [
    { id: 'w1', market: 'm1', at: '20s', duration: '10s', venue: 'kalshi', direction: 'cheap', bps: 400 },
    { id: 'w2', market: 'm2', at: '70s', duration: '15s', venue: 'polymarket', direction: 'rich', bps: 350 },
  ],
  faults: [
    { venue: 'polymarket', type: 'staleBook', at: '40s', duration: '5s' },
    { venue: 'kalshi', type: 'seqGap', at: '50s' },
  ],
};

function drain(engine: ScenarioEngine, max = Infinity): SimEvent[] {
  const out: SimEvent[] = [];
  for (let e = engine.next(); e && out.length < max; e = engine.next()) out.push(e);
  return out;
}

describe('sim scenario', () => {
  it('parses durations', () => {
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(parseDuration(42)).to.equal(42);
    expect(() => parseDuration('soon')).to.throw(/not a duration/);
  });

  it('loads the built-in demo scenario with two arbitrage windows and an outage', () => {
    const demo = loadDemoScenario();
    expect(demo.games.length).to.be.greaterThanOrEqual(3);
    expect(demo.games.map((g) => g.sport)).to.include.members(['nba', 'nhl']);
    expect(demo.arbitrage).to.have.length(2);
    expect(demo.faults.some((f) => f.type === 'disconnect')).to.be.true;
    const truth = new ScenarioEngine(demo).groundTruth();
    expect(truth.every((t) => t.edgeBps > 0)).to.be.true;
  });

  it('gives the identical event stream for the same seed and a different one for another seed', () => {
    const scenario = parseScenario({ ...base, tradeProbability: 0.2 });
    const a = drain(new ScenarioEngine(scenario), 5000);
    const b = drain(new ScenarioEngine(scenario), 5000);
    expect(a.length).to.equal(5000);
    expect(JSON.stringify(a)).to.equal(JSON.stringify(b));
    const c = drain(new ScenarioEngine(scenario, { seed: 8 }), 5000);
    expect(JSON.stringify(c)).to.not.equal(JSON.stringify(a));
  });

  it('advances in time order and honours messageRate', () => {
    const engine = new ScenarioEngine(parseScenario(base));
    const events = engine.advanceTo(10_000);
    for (let i = 1; i < events.length; i++) expect(events[i]!.t).to.be.at.least(events[i - 1]!.t);
    const steps = new Set(events.filter((e) => e.kind === 'book').map((e) => e.t));
    expect(steps.size).to.equal(500); // 50 steps/s × 10 s, each changes ≥ 1 level
    expect(engine.peekTime()).to.be.greaterThan(10_000);
  });

  it('records injected arbitrage windows as ground truth, and the books cross exactly inside them', () => {
    const engine = new ScenarioEngine(parseScenario(base));
    const truth = engine.groundTruth();
    expect(truth.map((t) => t.id)).to.deep.equal(['w1', 'w2']);
    expect(truth[0]).to.include({
      marketId: 'm1',
      mispricedVenue: 'kalshi',
      direction: 'cheap',
      startMs: 20_000,
      endMs: 30_000,
      shiftBps: 400,
      edgeBps: 200,
      buyYesOn: 'kalshi',
      buyNoOn: 'polymarket',
    });
    expect(truth[1]).to.include({
      marketId: 'm2',
      mispricedVenue: 'polymarket',
      shiftBps: 400,
      edgeBps: 200,
      buyYesOn: 'kalshi',
      buyNoOn: 'polymarket',
    });

    // Replay both venues' books and measure the cross-venue edge after every event.
    type Ladder = { bid: Map<number, number>; ask: Map<number, number> };
    const books = new Map<string, Ladder>();
    for (const venue of ['kalshi', 'polymarket'] as const)
      for (const id of ['m1', 'm2']) {
        const ladder: Ladder = { bid: new Map(), ask: new Map() };
        for (const l of engine.initialLevels(venue, id)) ladder[l.side].set(l.price, l.size);
        books.set(`${venue}:${id}`, ladder);
      }
    const best = (l: Ladder) => ({ bid: Math.max(...l.bid.keys()), ask: Math.min(...l.ask.keys()) });
    const crossedAt: Record<string, number[]> = { m1: [], m2: [] };
    // Both venues' updates of one step share a timestamp: measure once a step is fully applied.
    const measure = (t: number) => {
      for (const id of ['m1', 'm2']) {
        const k = best(books.get(`kalshi:${id}`)!);
        const p = best(books.get(`polymarket:${id}`)!);
        const edge = Math.max(p.bid - k.ask, k.bid - p.ask);
        if (edge > 0) {
          crossedAt[id]!.push(t);
          expect(edge).to.equal(200);
        }
      }
    };
    let lastT = 0;
    for (const event of drain(engine)) {
      if (event.t !== lastT) measure(lastT);
      lastT = event.t;
      if (event.kind !== 'book') continue;
      const ladder = books.get(`${event.venue}:${event.marketId}`)!;
      for (const l of event.levels) {
        if (l.size === 0) ladder[l.side].delete(l.price);
        else ladder[l.side].set(l.price, l.size);
      }
    }
    measure(lastT);
    for (const t of truth) {
      const times = crossedAt[t.marketId]!;
      expect(times.length, t.id).to.be.greaterThan(10);
      expect(
        times.every((x) => x >= t.startMs && x < t.endMs),
        `${t.id} crossed outside its window`,
      ).to.be.true;
    }
  });

  it('injects faults: a stale window silences one venue, and fault events arrive at their times', () => {
    const events = drain(new ScenarioEngine(parseScenario(base)));
    const polyBook = events.filter((e) => e.kind === 'book' && e.venue === 'polymarket');
    expect(polyBook.some((e) => e.t >= 40_000 && e.t < 45_000)).to.be.false;
    expect(polyBook.some((e) => e.t >= 45_000 && e.t < 46_000)).to.be.true;
    const faults = events.filter((e) => e.kind === 'fault');
    expect(faults.map((f) => [f.t, f.venue, f.kind === 'fault' && f.fault, f.kind === 'fault' && f.phase])).to.deep.equal([
      [40_000, 'polymarket', 'staleBook', 'start'],
      [45_000, 'polymarket', 'staleBook', 'end'],
      [50_000, 'kalshi', 'seqGap', 'start'],
    ]);
  });

  it('rejects invalid scenarios with every problem listed', () => {
    expect(() =>
      parseScenario({ ...base, arbitrage: [{ id: 'x', market: 'nope', at: 0, duration: '1s', venue: 'kalshi', bps: 500 }] }),
    ).to.throw(ScenarioError, /unknown market "nope"/);
    expect(() => parseScenario({ ...base, duration: 'later' })).to.throw(ScenarioError, /not a duration/);
    expect(
      () =>
        new ScenarioEngine(
          parseScenario({ ...base, arbitrage: [{ id: 'small', market: 'm1', at: 0, duration: '1s', venue: 'kalshi', bps: 150 }] }),
        ),
    ).to.throw(ScenarioError, /does not exceed/);
  });
});

describe('sim scenario resolutions', () => {
  const resolving: ScenarioInput = {
    ...base,
    arbitrage: [],
    faults: [],
    resolutions: [{ market: 'm1', at: '30s', winner: 'no', settleAfter: '10s' }],
  };

  it('resolves a market on both venues at its time (determined, then settled) and stops moving its books', () => {
    const events = drain(new ScenarioEngine(parseScenario(resolving)));
    const resolutions = events.filter((e) => e.kind === 'resolution');
    expect(resolutions.map((e) => e.kind === 'resolution' && [e.t, e.venue, e.marketId, e.winner, e.phase])).to.deep.equal([
      [30_000, 'kalshi', 'm1', 'no', 'determined'],
      [30_000, 'polymarket', 'm1', 'no', 'determined'],
      [40_000, 'kalshi', 'm1', 'no', 'settled'],
      [40_000, 'polymarket', 'm1', 'no', 'settled'],
    ]);
    const books = (id: string) => events.filter((e) => e.kind === 'book' && e.marketId === id);
    expect(books('m1').some((e) => e.t < 30_000)).to.be.true;
    expect(books('m1').some((e) => e.t >= 30_000)).to.be.false;
    expect(books('m2').some((e) => e.t >= 30_000)).to.be.true;
  });

  it('with every market resolved, the clock-driven engine still hands out only due events, the payout at its time', () => {
    const engine = new ScenarioEngine(
      parseScenario({
        ...resolving,
        resolutions: [
          { market: 'm1', at: '10s', winner: 'yes', settleAfter: '20s' },
          { market: 'm2', at: '10s', winner: 'no', settleAfter: '20s' },
        ],
      }),
    );
    const seen: SimEvent[] = [];
    for (let t = 0; t <= 40_000; t += 250) {
      const due = engine.advanceTo(t);
      expect(
        due.every((e) => e !== undefined && e.t <= t),
        `events at ${t} ms`,
      ).to.be.true;
      seen.push(...due);
    }
    const payouts = seen.filter((e) => e.kind === 'resolution' && e.phase === 'settled');
    expect(payouts.map((e) => e.t)).to.deep.equal([30_000, 30_000, 30_000, 30_000]);
  });

  it('settles at once by default', () => {
    const events = drain(new ScenarioEngine(parseScenario({ ...resolving, resolutions: [{ market: 'm2', at: '1m', winner: 'yes' }] })));
    expect(events.filter((e) => e.kind === 'resolution').map((e) => [e.t, e.kind === 'resolution' && e.phase])).to.deep.equal([
      [60_000, 'determined'],
      [60_000, 'settled'],
      [60_000, 'determined'],
      [60_000, 'settled'],
    ]);
  });

  it('rejects a resolution of an unknown market, a market resolved twice, or a payout after the end', () => {
    expect(() => parseScenario({ ...base, resolutions: [{ market: 'nope', at: '1s', winner: 'yes' }] })).to.throw(
      ScenarioError,
      /unknown market "nope"/,
    );
    expect(() =>
      parseScenario({
        ...base,
        resolutions: [
          { market: 'm1', at: '1s', winner: 'yes' },
          { market: 'm1', at: '2s', winner: 'no' },
        ],
      }),
    ).to.throw(ScenarioError, /resolved twice/);
    expect(() => parseScenario({ ...base, resolutions: [{ market: 'm1', at: '1m', winner: 'yes', settleAfter: '61s' }] })).to.throw(
      ScenarioError,
      /settles after the scenario ends/,
    );
    expect(() => parseScenario({ ...base, resolutions: [{ market: 'm1', at: '1m', winner: 'maybe' }] })).to.throw(ScenarioError);
  });
});
