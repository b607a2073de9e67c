// Kalshi accounts: each match booked to its owner (cash, position, the order's fees and cost, the
// fill record, the fill message), and the payout when a market settles.
import type { Logger } from 'pino';
import { PRICE_ONE, type BookSide } from '../book.js';
import type { SimClock } from '../clock.js';
import type { KalshiFeed } from './feed.js';
import { SCENARIO_OWNER, type KalshiState, type KMarket, type KOrder } from './state.js';
import { fillJson, settlementJson } from './wire.js';

/** The taker's fee rate, in hundredths: 0.07 × contracts × P × (1 − P); makers pay none here. */
const TAKER_FEE_RATE = 7;

/** Rounded up to $0.0001 (ten-thousandths of $1, like the price). */
const feeFor = (size: number, price: number, rate: number) => Math.ceil((rate * size * price * (PRICE_ONE - price)) / 1e8);

export interface Match {
  m: KMarket;
  /** The owner's side of the book: bid buys YES, ask sells it (buys NO). */
  side: BookSide;
  price: number;
  size: number;
  isTaker: boolean;
  tradeId: string;
}

export class KalshiPortfolio {
  constructor(
    private readonly state: KalshiState,
    private readonly feed: KalshiFeed,
    private readonly clock: SimClock,
    private readonly log: Logger | undefined,
  ) {}

  /** Books one side of a match to its owner (nothing for the scenario's own takers). */
  record(owner: string, order: KOrder | undefined, { m, side, price, size, isTaker, tradeId }: Match): void {
    if (owner === SCENARIO_OWNER) return;
    const tsMs = this.clock.now();
    const fee = feeFor(size, price, isTaker ? TAKER_FEE_RATE : 0);
    const cost = Math.ceil(((side === 'bid' ? price : PRICE_ONE - price) * size) / 100);
    const acct = this.state.account(owner);
    acct.cash -= cost + fee;
    const pos = acct.positions.get(m.sim.kalshiTicker) ?? { position: 0, traded: 0, fees: 0, updatedMs: tsMs };
    pos.position += side === 'bid' ? size : -size;
    pos.traded += cost;
    pos.fees += fee;
    pos.updatedMs = tsMs;
    acct.positions.set(m.sim.kalshiTicker, pos);
    if (order) {
      order.filled += size;
      order.updatedMs = tsMs;
      if (isTaker) {
        order.takerFees += fee;
        order.takerCost += cost;
      } else {
        order.makerFees += fee;
        order.makerCost += cost;
      }
    }
    const fill = fillJson({ order, m, side, price, size, isTaker, fee, tradeId, tsMs });
    acct.fills.push(fill);
    this.feed.fill(owner, fill, pos.position);
  }

  /** Pays every holder of the winning side $1 a contract (revenue in cents, as Kalshi reports it). */
  settle(m: KMarket): void {
    const resolution = m.resolution!;
    const now = this.clock.now();
    resolution.settledMs = now;
    for (const acct of this.state.accounts.values()) {
      const pos = acct.positions.get(m.sim.kalshiTicker);
      if (!pos || pos.position === 0) continue;
      const yes = Math.max(pos.position, 0);
      const no = Math.max(-pos.position, 0);
      // One hundredth of a contract pays one cent.
      const revenueCents = resolution.result === 'yes' ? yes : no;
      acct.cash += revenueCents * 100;
      acct.settlements.push(settlementJson(m, resolution.result, yes, no, revenueCents, now));
      pos.position = 0;
      pos.updatedMs = now;
    }
    this.feed.lifecycle(m, { event_type: 'settled', settled_ts: Math.floor(now / 1000) });
    this.log?.info({ ticker: m.sim.kalshiTicker, result: resolution.result }, 'market settled');
  }
}
