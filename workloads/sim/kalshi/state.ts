// What the Kalshi simulator holds: its markets (book, traded volume, resolution), every order by
// id and by client_order_id, and one account per API key. Units: price in ten-thousandths of $1,
// size in hundredths of a contract, cash in ten-thousandths of $1.
import { LadderBook, type BookSide, type RestingOrder, type StpMode } from '../book.js';
import type { ScenarioEngine } from '../engine.js';
import type { SimMarket } from '../scenario.js';
import type { KalshiFill, KalshiSettlement } from './wire.js';

export interface KMarket {
  sim: SimMarket;
  book: LadderBook;
  lastPrice?: number;
  volume: number;
  openInterest: number;
  dollarVolume: number;
  lastTradeSize: number;
  /** Best bid and ask when the ticker channel last heard of them. */
  lastTop: string;
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
  resting?: RestingOrder;
}

export interface Position {
  /** Signed: YES contracts held > 0, NO contracts < 0. */
  position: number;
  traded: number;
  fees: number;
  updatedMs: number;
}

export interface Account {
  cash: number;
  positions: Map<string, Position>;
  fills: KalshiFill[];
  settlements: KalshiSettlement[];
}

/** The owner of the scenario's own taker trades, which no account records. */
export const SCENARIO_OWNER = '__scenario__';

export class KalshiState {
  /** By ticker, in scenario order. */
  readonly markets = new Map<string, KMarket>();
  readonly orders = new Map<string, KOrder>();
  /** owner + NUL + client_order_id → order id. */
  readonly byClientId = new Map<string, string>();
  readonly accounts = new Map<string, Account>();
  private readonly byMarketId = new Map<string, KMarket>();

  /** `startCash`: each account's cash when it first trades or asks. */
  constructor(
    engine: ScenarioEngine,
    private readonly startCash: number,
  ) {
    for (const sim of engine.markets) {
      const book = new LadderBook();
      book.setLevels(engine.initialLevels('kalshi', sim.id));
      const m: KMarket = { sim, book, volume: 0, openInterest: 0, dollarVolume: 0, lastTradeSize: 0, lastTop: book.topKey() };
      this.markets.set(sim.kalshiTicker, m);
      this.byMarketId.set(sim.id, m);
    }
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
}
