// What the Kalshi simulator holds: its markets (book, traded volume, public trades, resolution),
// its series (fee schedule and scheduled fee changes), every order by id and by client_order_id,
// and one account per API key. Units: price in ten-thousandths of $1, size in hundredths of a
// contract, cash in ten-thousandths of $1.
import { LadderBook, PRICE_ONE, type BookSide, type RestingOrder, type StpMode } from '../book.js';
import type { ScenarioEngine } from '../engine.js';
import type { FeeChangeSpec, GameSpec, KalshiFeeType, SimMarket } from '../scenario.js';
import type { KalshiFill, KalshiSettlement } from './wire.js';

export interface KTrade {
  id: string;
  price: number;
  size: number;
  takerSide: BookSide;
  tsMs: number;
}

export interface KMarket {
  sim: SimMarket;
  series: string;
  book: LadderBook;
  lastPrice?: number;
  volume: number;
  openInterest: number;
  dollarVolume: number;
  lastTradeSize: number;
  /** Best bid and ask when the ticker channel last heard of them. */
  lastTop: string;
  /** Every print, oldest first (`GET /markets/trades`). */
  trades: KTrade[];
  /** The quotes at the scenario's start, reported as the day-before ones. */
  previous: { bid: number; ask: number; price: number };
  /** From determination to payout, when the scenario resolves the market. */
  settleAfterMs?: number;
  /** Set when the game is over: trading stops at `determinedMs`, winners are paid at `settledMs`. */
  resolution?: { result: 'yes' | 'no'; determinedMs: number; settledMs?: number };
}

export interface KOrder {
  orderId: string;
  owner: string;
  clientOrderId: string;
  ticker: string;
  side: BookSide;
  price: number;
  initial: number;
  filled: number;
  remaining: number;
  status: 'resting' | 'canceled' | 'executed';
  tif: string;
  stp: StpMode;
  createdMs: number;
  updatedMs: number;
  takerFees: number;
  makerFees: number;
  takerCost: number;
  makerCost: number;
  /** Rounding overpaid on this order's fills and not yet rebated (the fee accumulator). */
  roundingCredit: number;
  resting?: RestingOrder;
}

export interface Position {
  /** Signed: YES contracts held > 0, NO contracts < 0. */
  position: number;
  traded: number;
  /** What the contracts held cost (no fees). */
  exposure: number;
  realized: number;
  fees: number;
  updatedMs: number;
}

export interface Account {
  /** Always on the cent grid after a fill: Kalshi's balance precision for non-direct members. */
  cash: number;
  positions: Map<string, Position>;
  fills: KalshiFill[];
  settlements: KalshiSettlement[];
}

export interface SeriesFees {
  feeType: KalshiFeeType;
  /** Decimal text, as the scenario gives it. */
  multiplier: string;
}

export interface KSeries {
  ticker: string;
  game: GameSpec;
  base: SeriesFees;
  /** Scheduled changes, in force from their simulated epoch ms. */
  changes: Array<SeriesFees & { id: string; atMs: number }>;
}

/** The owner of the scenario's own taker trades, which no account records. */
export const SCENARIO_OWNER = '__scenario__';

export const seriesOf = (game: GameSpec): string => game.kalshi.seriesTicker ?? game.kalshi.eventTicker.split('-')[0]!;

export class KalshiState {
  /** By ticker, in scenario order. */
  readonly markets = new Map<string, KMarket>();
  readonly series = new Map<string, KSeries>();
  readonly orders = new Map<string, KOrder>();
  /** owner + NUL + client_order_id → order id. */
  readonly byClientId = new Map<string, string>();
  readonly accounts = new Map<string, Account>();
  private readonly byMarketId = new Map<string, KMarket>();

  /** `startCash`: each account's cash when it first trades or asks; `startMs`: the scenario's t = 0. */
  constructor(
    engine: ScenarioEngine,
    private readonly startCash: number,
    startMs: number,
  ) {
    for (const sim of engine.markets) {
      const book = new LadderBook();
      book.setLevels(engine.initialLevels('kalshi', sim.id));
      const series = seriesOf(sim.game);
      const resolution = engine.scenario.resolutions.find((r) => r.market === sim.id);
      const m: KMarket = {
        sim,
        series,
        book,
        volume: 0,
        openInterest: 0,
        dollarVolume: 0,
        lastTradeSize: 0,
        lastTop: book.topKey(),
        trades: [],
        previous: {
          bid: book.best('bid')?.[0] ?? 0,
          ask: book.best('ask')?.[0] ?? PRICE_ONE,
          price: Math.round(sim.initialPrice * 100) * 100,
        },
        ...(resolution ? { settleAfterMs: resolution.settleAfter } : {}),
      };
      this.markets.set(sim.kalshiTicker, m);
      this.byMarketId.set(sim.id, m);
      if (!this.series.has(series)) {
        const base = { feeType: sim.game.kalshi.feeType, multiplier: String(sim.game.kalshi.feeMultiplier) };
        this.series.set(series, { ticker: series, game: sim.game, base, changes: [] });
      }
    }
    engine.scenario.kalshiFeeChanges.forEach((change: FeeChangeSpec, i) => {
      const series = this.series.get(change.series);
      if (!series) throw new Error(`fee change for unknown series ${change.series}`);
      series.changes.push({
        id: `fee-change-${i + 1}`,
        feeType: change.feeType,
        multiplier: String(change.feeMultiplier),
        // In force from the second the venue announces (scheduled_ts has no milliseconds).
        atMs: Math.floor((startMs + change.at) / 1000) * 1000,
      });
    });
  }

  /** The market a scenario event names. */
  market(marketId: string): KMarket {
    return this.byMarketId.get(marketId)!;
  }

  account(owner: string): Account {
    let a = this.accounts.get(owner);
    if (!a) this.accounts.set(owner, (a = { cash: this.startCash, positions: new Map(), fills: [], settlements: [] }));
    return a;
  }

  /** A series' fees in force at `nowMs` (the last scheduled change that has come, else its base). */
  feesAt(series: string, nowMs: number): SeriesFees {
    const s = this.series.get(series)!;
    const due = s.changes.filter((c) => c.atMs <= nowMs).sort((a, b) => a.atMs - b.atMs);
    return due.at(-1) ?? s.base;
  }

  /** Cash held back for the owner's resting orders: what each would pay if it filled, fee included. */
  reserved(owner: string, fee: (o: KOrder) => number): number {
    let sum = 0;
    for (const o of this.orders.values()) {
      if (o.owner !== owner || o.status !== 'resting') continue;
      sum += Math.ceil(((o.side === 'bid' ? o.price : PRICE_ONE - o.price) * o.remaining) / 100) + fee(o);
    }
    return sum;
  }
}
