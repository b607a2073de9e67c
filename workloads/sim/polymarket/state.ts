// What the Polymarket simulator holds: each market's YES ladder (the NO token is its mirror), its
// tick size, last trade and resolution; both tokens of every market; every order by its hash; the
// trades of our takers and where each is on chain; each wallet's pUSD and shares. Units: price in
// ten-thousandths of $1, size in hundredths of a share, pUSD in ten-thousandths of $1.
import { LadderBook, type RestingOrder } from '../book.js';
import type { ScenarioEngine } from '../engine.js';
import type { SimMarket, TickSize } from '../scenario.js';
import type { PolymarketApiCreds } from './auth.js';
import type { BookSummary } from './wire.js';

export type Outcome = 'yes' | 'no';

export interface PMarket {
  sim: SimMarket;
  /** Position in the scenario (Gamma's numeric ids derive from it). */
  index: number;
  book: LadderBook;
  tick: TickSize;
  lastTrade: { price: number; size: number; takerBuysYes: boolean };
  changedMs: number;
  /** REST /book bodies, cached until the book next changes. */
  summaries: Partial<Record<Outcome, BookSummary>>;
  /** Best bid and ask when best_bid_ask was last sent. */
  lastTop: string;
  /** Set when the game is over: trading stops at `closedMs`, the winner token is declared at `resolvedMs`. */
  resolution?: { winner: Outcome; closedMs: number; resolvedMs?: number };
}

export interface Token {
  market: PMarket;
  outcome: Outcome;
}

export interface POrder {
  id: string;
  owner: string;
  makerAddress: string;
  market: PMarket;
  assetId: string;
  outcome: Outcome;
  side: 'BUY' | 'SELL';
  /** Token price. */
  price: number;
  originalSize: number;
  sizeMatched: number;
  status: 'LIVE' | 'MATCHED' | 'CANCELED' | 'DELAYED' | 'UNMATCHED';
  orderType: string;
  createdSec: number;
  expiration: string;
  resting?: RestingOrder;
}

/** Where a trade is on chain: sent for execution, mined, final; or retried, or failed for good. */
export type TradeStatus = 'MATCHED' | 'MINED' | 'CONFIRMED' | 'RETRYING' | 'FAILED';

/** The resting side of one match, as the trade's `maker_orders` lists it. */
export interface MakerFill {
  orderId: string;
  owner: string;
  makerAddress: string;
  price: number;
  size: number;
}

/** One match of one of our taker orders, as GET /data/trades reports it. */
export interface PTrade {
  id: string;
  owner: string;
  /** The wallet whose pUSD and shares the trade moves. */
  address: string;
  takerOrderId: string;
  market: PMarket;
  assetId: string;
  outcome: Outcome;
  side: 'BUY' | 'SELL';
  /** Token price. */
  price: number;
  size: number;
  /** The taker fee charged, in pUSD. */
  fee: number;
  maker: MakerFill;
  matchSec: number;
  /** Position among the trades of one match (a match split into several trades). */
  bucket: number;
  status: TradeStatus;
  lastUpdateSec: number;
  transactionHash?: string;
  error?: string;
}

/** A wallet on the venue: pUSD (collateral) and outcome shares by token id. */
export interface Wallet {
  collateral: number;
  shares: Map<string, number>;
}

/** The owner of the scenario's own taker trades. */
export const SCENARIO_OWNER = '__scenario__';

export class PolymarketState {
  /** By scenario market id, in scenario order. */
  readonly markets = new Map<string, PMarket>();
  readonly tokens = new Map<string, Token>();
  /** By order hash. */
  readonly orders = new Map<string, POrder>();
  readonly trades: PTrade[] = [];
  /** API key → the signer address it belongs to (keys created through L1 are added). */
  readonly addressOf: Map<string, string>;
  /** By lower-case address. */
  readonly wallets = new Map<string, Wallet>();

  /** `startCollateral`: each wallet's pUSD when first seen. */
  constructor(
    engine: ScenarioEngine,
    creds: PolymarketApiCreds[],
    nowMs: number,
    private readonly startCollateral: number,
  ) {
    for (const [index, sim] of engine.markets.entries()) {
      const book = new LadderBook();
      book.setLevels(engine.initialLevels('polymarket', sim.id));
      const m: PMarket = {
        sim,
        index,
        book,
        tick: engine.initialTickSize(sim.id),
        lastTrade: { price: Math.round(sim.initialPrice * 100) * 100, size: 0, takerBuysYes: true },
        changedMs: nowMs,
        summaries: {},
        lastTop: book.topKey(),
      };
      this.markets.set(sim.id, m);
      this.tokens.set(sim.yesTokenId, { market: m, outcome: 'yes' });
      this.tokens.set(sim.noTokenId, { market: m, outcome: 'no' });
    }
    this.addressOf = new Map(creds.map((c) => [c.apiKey, c.address]));
  }

  market(marketId: string): PMarket {
    return this.markets.get(marketId)!;
  }

  wallet(address: string): Wallet {
    const key = address.toLowerCase();
    let w = this.wallets.get(key);
    if (!w) this.wallets.set(key, (w = { collateral: this.startCollateral, shares: new Map() }));
    return w;
  }

  /** The market whose condition id this is (any case). */
  byCondition(conditionId: string): PMarket | undefined {
    return [...this.markets.values()].find((m) => m.sim.conditionId.toLowerCase() === conditionId.toLowerCase());
  }
}

export const tokenId = (m: PMarket, outcome: Outcome): string => (outcome === 'yes' ? m.sim.yesTokenId : m.sim.noTokenId);
