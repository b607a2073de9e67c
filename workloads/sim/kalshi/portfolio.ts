// Kalshi accounts: each match booked to its owner (cash, position, the order's fees and cost, the
// fill record, the fill message), the balance an order needs, and the payout when a market settles.
//
// Fees follow Kalshi's fee schedule and its Fee Rounding page as the demo venue behaves
// (docs.kalshi.com/getting_started/fee_rounding, the version with trade fees to $0.0001, which the
// fill recorded on demo shows: docs/venue-conformance.md, Kalshi research). Per fill: the trade fee
// is M × rate × C × P × (1 − P) rounded up to $0.0001 (rate 0.07 for takers; for makers 0.0175 on
// `quadratic_with_maker_fees` series, 0.035 on `quadratic_with_combo_maker_fees`, else none); the
// balance moves by (revenue − trade fee) floored to the cent, the difference being a rounding fee;
// the rounding overpaid accumulates per order and comes back a cent at a time once it reaches one,
// never making a fill's net fee negative. A YES and a NO of one market net: each pair pays $1 at once.
import type { Logger } from 'pino';
import { parseDecimal } from '../../../contracts/decimal.js';
import { PRICE_ONE, type BookSide } from '../book.js';
import type { SimClock } from '../clock.js';
import type { KalshiFeed } from './feed.js';
import { SCENARIO_OWNER, type KalshiState, type KMarket, type KOrder, type Position, type SeriesFees } from './state.js';
import { fillJson, settlementJson } from './wire.js';

const CENT = 100;
/** One hundredth of a contract pays $0.01 at settlement or when netted. */
const PAYOUT_PER_UNIT = 100;

/** Fee rate in ten-thousandths by role and series fee type. */
function feeRate(fees: SeriesFees, isTaker: boolean): bigint {
  if (isTaker) return 700n;
  if (fees.feeType === 'quadratic_with_maker_fees') return 175n;
  return fees.feeType === 'quadratic_with_combo_maker_fees' ? 350n : 0n;
}

/** The trade fee of a fill in ten-thousandths of $1, rounded up. */
export function tradeFee(fees: SeriesFees, isTaker: boolean, price: number, size: number): number {
  // multiplier (1e-4) × rate (1e-4) × size (1e-2) × p (1e-4) × (1 − p) (1e-4) is in 1e-18 $; a fee unit is 1e-4 $.
  const n = BigInt(parseDecimal(fees.multiplier, 4)) * feeRate(fees, isTaker) * BigInt(size) * BigInt(price * (PRICE_ONE - price));
  const d = 10n ** 14n;
  return Number((n + d - 1n) / d);
}

/** Outlay of the side bought: YES at p (a bid) or NO at 1 − p (an ask). */
const outlayOf = (side: BookSide, price: number, size: number) => Math.ceil(((side === 'bid' ? price : PRICE_ONE - price) * size) / 100);

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

  /** The series' fees now. */
  fees(m: KMarket): SeriesFees {
    return this.state.feesAt(m.series, this.clock.now());
  }

  /**
   * What an order would take from the balance if it all filled as a taker at its price: the side it
   * buys (none for the contracts it closes) plus the fee, rounded up to the cent.
   */
  required(owner: string, m: KMarket, side: BookSide, price: number, size: number): number {
    const held = this.state.account(owner).positions.get(m.sim.kalshiTicker)?.position ?? 0;
    const closes = side === 'bid' ? Math.max(0, -held) : Math.max(0, held);
    const opens = Math.max(0, size - closes);
    const total = outlayOf(side, price, opens) + tradeFee(this.fees(m), true, price, size);
    return Math.ceil(total / CENT) * CENT;
  }

  /** Cash the owner may still commit: the balance less what its resting orders hold back. */
  available(owner: string): number {
    const held = this.state.reserved(owner, (o) => tradeFee(this.fees(this.state.markets.get(o.ticker)!), true, o.price, o.remaining));
    return this.state.account(owner).cash - held;
  }

  /** Books one side of a match to its owner (nothing for the scenario's own takers). */
  record(owner: string, order: KOrder | undefined, { m, side, price, size, isTaker, tradeId }: Match): void {
    if (owner === SCENARIO_OWNER) return;
    const tsMs = this.clock.now();
    const acct = this.state.account(owner);
    const pos = acct.positions.get(m.sim.kalshiTicker) ?? { position: 0, traded: 0, exposure: 0, realized: 0, fees: 0, updatedMs: tsMs };
    const fee = tradeFee(this.fees(m), isTaker, price, size);
    const outlay = outlayOf(side, price, size);
    const closed = Math.min(size, side === 'bid' ? Math.max(0, -pos.position) : Math.max(0, pos.position));
    const credit = closed * PAYOUT_PER_UNIT;
    settleNetting(pos, closed, credit - outlayOf(side, price, closed));
    pos.exposure += outlayOf(side, price, size - closed);

    // The balance change on the cent grid; the rounding it costs is owed back once it adds up.
    const exact = credit - outlay - fee;
    const aligned = Math.floor(exact / CENT) * CENT;
    const rounding = exact - aligned;
    let rebate = 0;
    if (order) {
      order.roundingCredit += rounding;
      rebate = Math.min(Math.floor(order.roundingCredit / CENT), Math.floor((fee + rounding) / CENT)) * CENT;
      order.roundingCredit -= rebate;
    }
    acct.cash += aligned + rebate;
    pos.position += side === 'bid' ? size : -size;
    pos.traded += outlay;
    pos.fees += fee + rounding - rebate;
    pos.updatedMs = tsMs;
    acct.positions.set(m.sim.kalshiTicker, pos);
    if (order) {
      order.filled += size;
      order.updatedMs = tsMs;
      if (isTaker) {
        order.takerFees += fee;
        order.takerCost += outlay;
      } else {
        order.makerFees += fee;
        order.makerCost += outlay;
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
      const payout = (resolution.result === 'yes' ? yes : no) * PAYOUT_PER_UNIT;
      acct.cash += payout;
      acct.settlements.push(settlementJson(m, resolution.result, yes, no, payout / CENT, now));
      pos.realized += payout - pos.exposure;
      pos.exposure = 0;
      pos.position = 0;
      pos.updatedMs = now;
    }
    this.feed.lifecycle(m, { event_type: 'settled', settled_ts: Math.floor(now / 1000) });
    this.log?.info({ ticker: m.sim.kalshiTicker, result: resolution.result }, 'market settled');
  }
}

/** Contracts netted against the position: their share of its cost leaves it, and what they returned is realized. */
function settleNetting(pos: Position, closed: number, returned: number): void {
  if (closed === 0) return;
  const held = Math.abs(pos.position);
  const basis = closed === held ? pos.exposure : Math.round((pos.exposure * closed) / held);
  pos.exposure -= basis;
  pos.realized += returned - basis;
}
