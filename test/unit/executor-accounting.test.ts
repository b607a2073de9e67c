// Executor pure pieces: client order ids, PnL and fee accounting against hand-computed cases,
// paper IOC matching with depth/slippage/fees, Kalshi wire mapping, control parsing.
import { expect } from 'chai';
import { polymarketModel } from '../../venues/polymarket/fees.js';
import { kalshiModel } from '../../venues/kalshi/fees.js';
import { parseControl } from '../../workloads/executor/control.js';
import { clientOrderId } from '../../workloads/executor/ids.js';
import { KalshiClient } from '../../venues/kalshi/orders.js';
import { matchIoc } from '../../workloads/executor/paper.js';
import { applyFill, settle, tradingDay, unrealizedPnl } from '../../workloads/executor/pnl.js';
import { ledgerStatus } from '../../workloads/executor/ledger.js';
import type { OrderRequest } from '../../venues/orders.js';

const $ = (dollars: number) => Math.round(dollars * 10_000);
const contracts = (n: number) => n * 100;

describe('executor client order ids', () => {
  it('are deterministic per shard, signal and leg, distinct otherwise, and fit Kalshi (≤ 64, FIX-safe)', () => {
    const a = clientOrderId('nba-east', 'sig-1', 'a');
    expect(clientOrderId('nba-east', 'sig-1', 'a')).to.equal(a);
    const others = [
      clientOrderId('nba-east', 'sig-1', 'b'),
      clientOrderId('nba-east', 'sig-2', 'a'),
      clientOrderId('nba-west', 'sig-1', 'a'),
    ];
    expect(new Set([a, ...others]).size).to.equal(4);
    for (const id of [a, ...others]) {
      expect(id.length).to.be.at.most(64);
      expect(id).to.match(/^[-\w:+=/]+$/);
    }
  });
});

describe('executor PnL accounting (exact integers)', () => {
  it('adds price × size rounded up plus the fee to the cost of a buy', () => {
    // 100 contracts at $0.40 with a Kalshi taker fee of $1.68 (0.07 × 100 × 0.4 × 0.6 = 1.68).
    const fee = kalshiModel().fee(4000, contracts(100));
    expect(fee).to.equal($(1.68));
    const { position, realized } = applyFill({ size: 0, cost: 0 }, 'buy', 4000, contracts(100), fee);
    expect(position).to.deep.equal({ size: contracts(100), cost: $(40) + $(1.68) });
    expect(realized).to.equal(0);
  });

  it('realizes proceeds − fee − average cost on a sale, to the cent', () => {
    // Hold 100 @ cost $41.68; sell 40 at $0.45: fee 0.07 × 40 × 0.45 × 0.55 = 0.693 → $0.70 (rounded up to the cent).
    const sellFee = kalshiModel().fee(4500, contracts(40));
    expect(sellFee).to.equal($(0.7));
    const { position, realized } = applyFill({ size: contracts(100), cost: $(41.68) }, 'sell', 4500, contracts(40), sellFee);
    // Cost removed: 41.68 × 40/100 = 16.672 → 16.6720; proceeds 18.00 − 0.70 = 17.30; realized 0.628.
    expect(position).to.deep.equal({ size: contracts(60), cost: $(41.68) - $(16.672) });
    expect(realized).to.equal($(17.3) - $(16.672));
    // Selling the rest removes exactly the remaining cost (no rounding residue).
    const rest = applyFill(position, 'sell', 4500, contracts(60), 0);
    expect(rest.position).to.deep.equal({ size: 0, cost: 0 });
    expect(rest.realized).to.equal($(27) - ($(41.68) - $(16.672)));
  });

  it('refuses to sell more than is held', () => {
    expect(() => applyFill({ size: 100, cost: 40 }, 'sell', 5000, 200, 0)).to.throw(RangeError);
  });

  it('settles a winning position at $1 a contract and a losing one at nothing', () => {
    expect(settle({ size: contracts(10), cost: $(4.2) }, true).realized).to.equal($(5.8));
    expect(settle({ size: contracts(10), cost: $(4.2) }, false).realized).to.equal(-$(4.2));
  });

  it('values an arbitrage set at its locked-in $1 and marks only the unpaired rest', () => {
    const positions = [
      { marketId: 'm', venue: 'kalshi' as const, outcome: 'yes' as const, size: contracts(100), cost: $(41) },
      { marketId: 'm', venue: 'polymarket' as const, outcome: 'no' as const, size: contracts(100), cost: $(56) },
    ];
    // Pays $100 whatever happens: +$3 unrealized, whatever the books say.
    expect(unrealizedPnl(positions, () => 1)).to.equal($(3));
    // A one-legged 100 YES bought for $41 marked at a mid of $0.35: −$6.
    expect(unrealizedPnl([positions[0]!], () => 3500)).to.equal(-$(6));
    // No book: marked at cost (no invented PnL).
    expect(unrealizedPnl([positions[0]!], () => undefined)).to.equal(0);
    // 100 YES + 60 NO: 60 paired at $1, 40 YES marked at 0.50.
    const partial = [positions[0]!, { ...positions[1]!, size: contracts(60), cost: $(33.6) }];
    expect(unrealizedPnl(partial, () => 5000)).to.equal($(60) + $(20) - $(41) - $(33.6));
  });

  it('resets the trading day at midnight of the configured zone', () => {
    const beforeMidnightNy = Date.UTC(2026, 10, 25, 4, 59, 59); // 23:59:59 EST on the 24th
    expect(tradingDay(beforeMidnightNy, 'America/New_York')).to.equal('2026-11-24');
    expect(tradingDay(beforeMidnightNy + 1000, 'America/New_York')).to.equal('2026-11-25');
    expect(tradingDay(beforeMidnightNy, 'UTC')).to.equal('2026-11-25');
  });
});

describe('executor paper matching', () => {
  const kalshiFee = (levels: Array<[number, number]>, size: number) => kalshiModel().feeWalk(levels, size);

  it('walks the asks up to the limit, never beyond the depth, with the order’s exact Kalshi fee', () => {
    const asks: Array<[number, number]> = [
      [4000, contracts(30)],
      [4100, contracts(50)],
      [4300, contracts(100)],
    ];
    const m = matchIoc(asks, 'buy', 4100, contracts(100), 0, kalshiFee);
    expect(m.filled).to.equal(contracts(80));
    expect(m.fills.map((f) => [f.price, f.size])).to.deep.equal([
      [4000, contracts(30)],
      [4100, contracts(50)],
    ]);
    // Order fee: 0.07 × (30 × 0.24 + 50 × 0.2419) = 0.07 × 19.295 = 1.35065 → $1.36 (once per order).
    expect(m.fills.reduce((s, f) => s + f.fee, 0)).to.equal($(1.36));
    expect(m.fills.every((f) => f.fee >= 0)).to.be.true;
  });

  it('moves every level against the order by the slippage, so fewer levels clear the limit', () => {
    const asks: Array<[number, number]> = [
      [4000, contracts(30)],
      [4100, contracts(50)],
    ];
    const m = matchIoc(asks, 'buy', 4100, contracts(100), 100, () => 0);
    expect(m.fills).to.deep.equal([{ price: 4100, size: contracts(30), fee: 0 }]);
    expect(m.taken).to.deep.equal([[4000, contracts(30)]]);
  });

  it('sells into the bids down to the limit, with Polymarket’s per-fill fee', () => {
    const bids: Array<[number, number]> = [
      [5000, contracts(10)],
      [4900, contracts(10)],
      [4800, contracts(10)],
    ];
    const model = polymarketModel();
    const m = matchIoc(bids, 'sell', 4900, contracts(25), 0, (levels, size) => model.feeWalk(levels, size));
    expect(m.filled).to.equal(contracts(20));
    // 0.03 × 10 × 0.25 = 0.075; 0.03 × 10 × 0.2499 = 0.07497 → 0.0750 (rounded up per fill).
    expect(m.fills.map((f) => f.fee)).to.deep.equal([750, 750]);
  });

  it('fills nothing on an empty or too expensive book', () => {
    expect(matchIoc([], 'buy', 9900, 100, 0, () => 0).filled).to.equal(0);
    expect(matchIoc([[6000, 500]], 'buy', 5000, 100, 0, () => 0).filled).to.equal(0);
  });
});

describe('executor venue mapping', () => {
  const order = (outcome: 'yes' | 'no', side: 'buy' | 'sell', limitPrice: number): OrderRequest => ({
    clientOrderId: 'c',
    venue: 'kalshi',
    marketId: 'm',
    venueMarket: 'T',
    outcome,
    side,
    limitPrice,
    size: 100,
    createdTs: 0,
  });

  it('books Kalshi orders on the YES leg: NO bought at q is an ask at 1 − q', () => {
    expect(KalshiClient.wire(order('yes', 'buy', 4000))).to.deep.equal({ side: 'bid', price: 4000 });
    expect(KalshiClient.wire(order('no', 'buy', 5500))).to.deep.equal({ side: 'ask', price: 4500 });
    expect(KalshiClient.wire(order('yes', 'sell', 3900))).to.deep.equal({ side: 'ask', price: 3900 });
    expect(KalshiClient.wire(order('no', 'sell', 5400))).to.deep.equal({ side: 'bid', price: 4600 });
  });

  it('maps venue reports to ledger statuses (an IOC partial fill is final: cancelled with fills)', () => {
    expect(ledgerStatus({ venueOrderId: 'x', status: 'cancelled', filledSize: 50, fills: [] })).to.equal('cancelled');
    expect(ledgerStatus({ venueOrderId: 'x', status: 'resting', filledSize: 50, fills: [] })).to.equal('partially_filled');
    expect(ledgerStatus({ venueOrderId: 'x', status: 'resting', filledSize: 0, fills: [] })).to.equal('acked');
    expect(ledgerStatus({ venueOrderId: 'x', status: 'filled', filledSize: 100, fills: [] })).to.equal('filled');
  });
});

describe('executor control parsing', () => {
  it('accepts only a valid control state; anything else means do not trade', () => {
    expect(parseControl(JSON.stringify({ state: 'closed', reason: 'ok', since: 1 }))).to.deep.equal({
      state: 'closed',
      reason: 'ok',
      since: 1,
    });
    expect(parseControl(null)).to.equal(undefined);
    expect(parseControl('not json')).to.equal(undefined);
    expect(parseControl(JSON.stringify({ state: 'closed' }))).to.equal(undefined);
    expect(parseControl(JSON.stringify({ state: 'shut', reason: '', since: 1 }))).to.equal(undefined);
  });
});
