// The seeded engine that turns a scenario (scenario.ts) into a deterministic, time-ordered stream
// of simulator events: book level updates per venue, synthetic trades, Polymarket tick-size
// changes, injected arbitrage windows, faults and market resolutions (the game ends: the market
// closes with a winner, then pays out). Both simulators run the same engine over the same file, so
// they see the same fair-price path; each applies only the events of its own venue. Same scenario
// + seed + messageRate → identical stream.
import type { BookSide } from './book.js';
import { Rng } from './rng.js';
import {
  resolveMarkets,
  ScenarioError,
  type FaultSpec,
  type ResolutionSpec,
  type Scenario,
  type SimMarket,
  type TickSize,
  type Venue,
} from './scenario.js';

export interface LevelSet {
  side: BookSide;
  /** YES price, ten-thousandths of $1. */
  price: number;
  /** Scenario liquidity at the level, hundredths of a contract (0 = none). */
  size: number;
}

export type SimEvent =
  | { kind: 'book'; t: number; venue: Venue; marketId: string; levels: LevelSet[] }
  | { kind: 'trade'; t: number; venue: Venue; marketId: string; takerSide: 'buy' | 'sell'; size: number }
  | { kind: 'tickSize'; t: number; venue: 'polymarket'; marketId: string; tickSize: TickSize }
  | { kind: 'fault'; t: number; venue: Venue; fault: FaultSpec['type']; phase: 'start' | 'end'; durationMs: number; delayMs: number }
  | { kind: 'arbitrage'; t: number; venue: Venue; marketId: string; phase: 'start' | 'end'; windowId: string }
  /** determined: trading stops, the winner is known; settled: winning contracts pay $1. */
  | { kind: 'resolution'; t: number; venue: Venue; marketId: string; winner: ResolutionSpec['winner']; phase: 'determined' | 'settled' };

/** Ground truth of one injected arbitrage window, for checking a detector. */
export interface ArbTruth {
  id: string;
  marketId: string;
  kalshiTicker: string;
  polymarketYesTokenId: string;
  mispricedVenue: Venue;
  direction: 'cheap' | 'rich';
  startMs: number;
  endMs: number;
  /** Ladder shift actually applied, in bps of $1 (whole ticks). */
  shiftBps: number;
  /** Edge before fees: the other venue's bid minus this venue's ask (cheap), or this bid minus the other ask (rich). */
  edgeBps: number;
  /** The trade that captures it: buy YES where cheap, buy NO (sell YES) where rich. */
  buyYesOn: Venue;
  buyNoOn: Venue;
}

export interface EngineOptions {
  /** Overrides the scenario's seed. */
  seed?: number | string;
  /** Overrides the scenario's messageRate (steps per simulated second). */
  messageRate?: number;
}

const TICK = 100; // $0.01 in ten-thousandths
const MIN_PRICE = 0.02;
const MAX_PRICE = 0.98;

interface Ladder {
  bid: Map<number, number>;
  ask: Map<number, number>;
}

interface MarketState {
  market: SimMarket;
  fair: number;
  lastT: number;
  tick: TickSize;
  emitted: Record<Venue, Ladder>;
}

const venues: Venue[] = ['kalshi', 'polymarket'];

export class ScenarioEngine {
  readonly scenario: Scenario;
  readonly markets: SimMarket[];
  readonly seed: number | string;
  readonly messageRate: number;
  readonly stepMs: number;
  private readonly rng: Rng;
  private readonly states: MarketState[];
  private readonly byId = new Map<string, MarketState>();
  private readonly scheduled: SimEvent[];
  private scheduledIndex = 0;
  private step = 0;
  private readonly pending: SimEvent[] = [];
  private readonly initial: Record<Venue, Map<string, Ladder>> = { kalshi: new Map(), polymarket: new Map() };

  constructor(scenario: Scenario, options: EngineOptions = {}) {
    this.scenario = scenario;
    this.markets = resolveMarkets(scenario);
    this.seed = options.seed ?? scenario.seed;
    this.messageRate = options.messageRate ?? scenario.messageRate;
    this.stepMs = 1000 / this.messageRate;
    this.rng = new Rng(this.seed);
    this.states = this.markets.map((market) => ({
      market,
      fair: market.initialPrice,
      lastT: 0,
      tick: tickFor(market.initialPrice),
      emitted: { kalshi: { bid: new Map(), ask: new Map() }, polymarket: { bid: new Map(), ask: new Map() } },
    }));
    for (const state of this.states) {
      this.byId.set(state.market.id, state);
      for (const venue of venues) {
        const ladder = this.target(state, venue, 0, false);
        state.emitted[venue] = ladder;
        this.initial[venue].set(state.market.id, { bid: new Map(ladder.bid), ask: new Map(ladder.ask) });
      }
    }
    this.scheduled = this.schedule();
    for (const truth of this.groundTruth()) {
      if (truth.edgeBps <= 0)
        throw new ScenarioError(
          `arbitrage "${truth.id}": ${truth.shiftBps} bps does not exceed the market's spread, so there is no arbitrage`,
        );
    }
  }

  /** The books at t = 0 for one venue, YES-price ladders by market id. */
  initialLevels(venue: Venue, marketId: string): LevelSet[] {
    const ladder = this.initial[venue].get(marketId);
    if (!ladder) throw new Error(`unknown market ${marketId}`);
    return [...toLevels(ladder.bid, 'bid'), ...toLevels(ladder.ask, 'ask')];
  }

  initialTickSize(marketId: string): TickSize {
    return tickFor(this.byId.get(marketId)!.market.initialPrice);
  }

  groundTruth(): ArbTruth[] {
    return this.scenario.arbitrage.map((arb) => {
      const market = this.byId.get(arb.market)!.market;
      const shiftTicks = Math.ceil(arb.bps / TICK);
      const edgeTicks = shiftTicks - market.spreadTicks;
      const other: Venue = arb.venue === 'kalshi' ? 'polymarket' : 'kalshi';
      return {
        id: arb.id,
        marketId: market.id,
        kalshiTicker: market.kalshiTicker,
        polymarketYesTokenId: market.yesTokenId,
        mispricedVenue: arb.venue,
        direction: arb.direction,
        startMs: arb.at,
        endMs: arb.at + arb.duration,
        shiftBps: shiftTicks * TICK,
        edgeBps: edgeTicks * TICK,
        buyYesOn: arb.direction === 'cheap' ? arb.venue : other,
        buyNoOn: arb.direction === 'cheap' ? other : arb.venue,
      };
    });
  }

  /**
   * The next event, or undefined once the scenario's duration is over or the next event would be
   * later than `until` (steps that produce nothing, e.g. every market resolved, are skipped only up
   * to it).
   */
  next(until = Infinity): SimEvent | undefined {
    for (;;) {
      if (this.pending.length > 0) return this.pending.shift();
      const stepT = (this.step + 1) * this.stepMs;
      const sched = this.scheduled[this.scheduledIndex];
      if (sched && sched.t <= stepT) {
        if (sched.t > until) return undefined;
        this.scheduledIndex++;
        // Arbitrage windows open and close exactly on time: re-quote the mispriced venue now.
        if (sched.kind === 'arbitrage') this.requote(this.byId.get(sched.marketId)!, sched.venue, sched.t, false);
        return sched;
      }
      if (stepT > this.scenario.duration || stepT > until) return undefined;
      this.step++;
      this.runStep(stepT);
    }
  }

  /** All events with t ≤ `t` (simulated ms since start) not yet returned. */
  advanceTo(t: number, max = Infinity): SimEvent[] {
    const out: SimEvent[] = [];
    while (out.length < max) {
      const peek = this.peekTime();
      if (peek === undefined || peek > t) break;
      const event = this.next(t);
      if (!event) break;
      out.push(event);
    }
    return out;
  }

  /** Time of the next event, or undefined when the scenario is over. */
  peekTime(): number | undefined {
    if (this.pending.length > 0) return this.pending[0]!.t;
    const stepT = (this.step + 1) * this.stepMs;
    const sched = this.scheduled[this.scheduledIndex];
    if (sched && sched.t <= stepT) return sched.t;
    return stepT > this.scenario.duration ? undefined : stepT;
  }

  private schedule(): SimEvent[] {
    const out: SimEvent[] = [];
    for (const arb of this.scenario.arbitrage) {
      out.push({ kind: 'arbitrage', t: arb.at, venue: arb.venue, marketId: arb.market, phase: 'start', windowId: arb.id });
      out.push({ kind: 'arbitrage', t: arb.at + arb.duration, venue: arb.venue, marketId: arb.market, phase: 'end', windowId: arb.id });
    }
    for (const f of this.scenario.faults) {
      const base = { kind: 'fault' as const, venue: f.venue, fault: f.type, durationMs: f.duration, delayMs: f.delayMs };
      out.push({ ...base, t: f.at, phase: 'start' });
      if (f.duration > 0) out.push({ ...base, t: f.at + f.duration, phase: 'end' });
    }
    for (const r of this.scenario.resolutions) {
      for (const venue of venues) {
        const base = { kind: 'resolution' as const, venue, marketId: r.market, winner: r.winner };
        out.push({ ...base, t: r.at, phase: 'determined' });
        out.push({ ...base, t: r.at + r.settleAfter, phase: 'settled' });
      }
    }
    return out.sort((a, b) => a.t - b.t);
  }

  private runStep(t: number): void {
    const state = this.states[this.rng.int(this.states.length)]!;
    if (this.closed(state, t)) return;
    const m = state.market;
    const dtMin = Math.max(t - state.lastT, 0) / 60_000;
    state.lastT = t;
    const drift = m.meanReversion * (m.initialPrice - state.fair) * dtMin;
    state.fair = clamp(state.fair + drift + m.volatility * Math.sqrt(dtMin) * this.rng.normal(), MIN_PRICE, MAX_PRICE);
    const tick = tickFor(state.fair);
    if (tick !== state.tick) {
      state.tick = tick;
      this.pending.push({ kind: 'tickSize', t, venue: 'polymarket', marketId: m.id, tickSize: tick });
    }
    for (const venue of venues) this.requote(state, venue, t, true);
    if (this.rng.next() < this.scenario.tradeProbability) {
      const venue = this.rng.pick(venues);
      const takerSide = this.rng.next() < 0.5 ? 'buy' : 'sell';
      const size = this.rng.range(1, Math.max(1, Math.floor(m.levelSize / 4))) * 100;
      if (!this.active('staleBook', venue, t)) this.pending.push({ kind: 'trade', t, venue, marketId: m.id, takerSide, size });
    }
  }

  private requote(state: MarketState, venue: Venue, t: number, perturb: boolean): void {
    if (this.closed(state, t)) return;
    const target = this.target(state, venue, t, perturb);
    if (this.active('staleBook', venue, t)) return;
    const levels = diff(state.emitted[venue], target);
    state.emitted[venue] = target;
    if (levels.length > 0) this.pending.push({ kind: 'book', t, venue, marketId: state.market.id, levels });
  }

  /** A resolved market's books stop moving: the venues clear them when trading stops. */
  private closed(state: MarketState, t: number): boolean {
    return this.scenario.resolutions.some((r) => r.market === state.market.id && t >= r.at);
  }

  private active(type: FaultSpec['type'], venue: Venue, t: number): boolean {
    return this.scenario.faults.some((f) => f.type === type && f.venue === venue && t >= f.at && t < f.at + f.duration);
  }

  /** The ladder a venue should show at time t; sizes carried over from what was last emitted. */
  private target(state: MarketState, venue: Venue, t: number, perturb: boolean): Ladder {
    const m = state.market;
    let shift = 0;
    for (const arb of this.scenario.arbitrage) {
      if (arb.market === m.id && arb.venue === venue && t >= arb.at && t < arb.at + arb.duration) {
        shift += (arb.direction === 'cheap' ? -1 : 1) * Math.ceil(arb.bps / TICK);
      }
    }
    const mid = Math.round(state.fair * 10_000);
    const bestBid = Math.floor((mid - (m.spreadTicks * TICK) / 2) / TICK) * TICK + shift * TICK;
    const bestAsk = bestBid + m.spreadTicks * TICK;
    const previous = state.emitted[venue];
    const ladder: Ladder = { bid: new Map(), ask: new Map() };
    const sizeFor = (side: BookSide, price: number) => previous[side].get(price) ?? this.randomSize(m);
    for (let i = 0; i < m.depth; i++) {
      const bid = bestBid - i * TICK;
      if (bid >= TICK && bid <= 10_000 - TICK) ladder.bid.set(bid, sizeFor('bid', bid));
      const ask = bestAsk + i * TICK;
      if (ask >= TICK && ask <= 10_000 - TICK) ladder.ask.set(ask, sizeFor('ask', ask));
    }
    if (perturb) {
      const all = [...[...ladder.bid.keys()].map((p) => ['bid', p] as const), ...[...ladder.ask.keys()].map((p) => ['ask', p] as const)];
      if (all.length > 0) {
        const [side, price] = all[this.rng.int(all.length)]!;
        let size = this.randomSize(m);
        if (size === ladder[side].get(price)) size += 100;
        ladder[side].set(price, size);
      }
    }
    return ladder;
  }

  private randomSize(m: SimMarket): number {
    return Math.max(1, Math.round(m.levelSize * (0.5 + this.rng.next()))) * 100;
  }
}

function tickFor(price: number): TickSize {
  return price > 0.96 || price < 0.04 ? '0.001' : '0.01';
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function toLevels(map: Map<number, number>, side: BookSide): LevelSet[] {
  return [...map.entries()].sort((a, b) => a[0] - b[0]).map(([price, size]) => ({ side, price, size }));
}

function diff(before: Ladder, after: Ladder): LevelSet[] {
  const out: LevelSet[] = [];
  for (const side of ['bid', 'ask'] as const) {
    for (const price of before[side].keys()) if (!after[side].has(price)) out.push({ side, price, size: 0 });
    for (const [price, size] of [...after[side].entries()].sort((a, b) => a[0] - b[0])) {
      if (before[side].get(price) !== size) out.push({ side, price, size });
    }
  }
  return out;
}
