import { expect } from 'chai';
import { FeeTable } from '../../venues/fee-table.js';
import { feesFromClobMarket, polymarketModel, polymarketFee } from '../../venues/polymarket/fees.js';
import { kalshiBalanceChanges, kalshiModel, kalshiFee } from '../../venues/kalshi/fees.js';
import { prng } from '../support/prng.js';
import { floorDiv, ceilDiv } from '../../venues/fee-math.js';

// Units: prices in ten-thousandths of $1, sizes in hundredths of a contract, fees in ten-thousandths of $1.
const $ = (cents: number) => cents * 100; // cents → ten-thousandths
const contracts = (n: number) => n * 100;

describe('detector fees: Kalshi', () => {
  it('matches the published worked figures (docs/exchange-protocols.md §1.8)', () => {
    // "1 contract at $0.50 taker → 0.07×0.25 = $0.0175 → $0.02 after cent alignment"
    expect(kalshiFee(5000, contracts(1))).to.equal($(2));
    // "100 contracts at $0.50 → $1.75"
    expect(kalshiFee(5000, contracts(100))).to.equal($(175));
    // "maker 100 at $0.50 → $0.44" (series with maker fees)
    expect(kalshiFee(5000, contracts(100), 'maker', { feeType: 'quadratic_with_maker_fees' })).to.equal($(44));
  });

  it('matches the per-contract table of the original code (50 → 2¢, 25 → 2¢, 10 → 1¢, 0/100 → 0)', () => {
    expect(kalshiFee(5000, contracts(1))).to.equal($(2));
    expect(kalshiFee(2500, contracts(1))).to.equal($(2));
    expect(kalshiFee(1000, contracts(1))).to.equal($(1));
    expect(kalshiFee(0, contracts(1))).to.equal(0);
    expect(kalshiFee(10_000, contracts(1))).to.equal(0);
  });

  it('rounds the order total up to the cent, not each contract (docs/exchange-protocols.md §1.8)', () => {
    // 10 × 0.07 × 0.25 = $0.175 → $0.18, where per-contract ceilings would charge 10 × 2¢.
    expect(kalshiFee(5000, contracts(10))).to.equal($(18));
    // A fractional contract still pays at least a cent when the fee is non-zero.
    expect(kalshiFee(5000, 1)).to.equal($(1));
    expect(kalshiFee(5000, 0)).to.equal(0);
  });

  it('charges makers nothing on plain quadratic series', () => {
    expect(kalshiFee(5000, contracts(100), 'maker')).to.equal(0);
    expect(kalshiFee(5000, contracts(100), 'maker', { feeType: 'quadratic' })).to.equal(0);
  });

  it('applies the per-series multiplier exactly', () => {
    // 0.5 × $1.75 = $0.875 → $0.88; 2 × $1.75 = $3.50; 0 → free.
    expect(kalshiFee(5000, contracts(100), 'taker', { multiplier: '0.5' })).to.equal($(88));
    expect(kalshiFee(5000, contracts(100), 'taker', { multiplier: 2 })).to.equal($(350));
    expect(kalshiFee(5000, contracts(100), 'taker', { multiplier: '0' })).to.equal(0);
    expect(() => kalshiFee(5000, 100, 'taker', { multiplier: '0.12345' })).to.throw(RangeError);
  });

  it('prices a multi-level order as one order: the fills are summed, then rounded once', () => {
    const model = kalshiModel();
    // 30 @ 0.40 → 0.07×30×0.24 = 0.504; 70 @ 0.45 → 0.07×70×0.2475 = 1.21275; one order: 1.71675 → $1.72
    // (two separate orders would pay 0.51 + 1.22 = $1.73).
    const asks = [
      [4000, contracts(30)],
      [4500, contracts(70)],
      [4700, contracts(500)],
    ] as const;
    expect(model.feeWalk(asks, contracts(100))).to.equal($(172));
    expect(kalshiFee(4000, contracts(30)) + kalshiFee(4500, contracts(70))).to.equal($(173));
    // Only the size asked for is charged.
    expect(model.feeWalk(asks, contracts(30))).to.equal($(51));
  });

  it('stays exact for sizes whose products overflow 2^53 (BigInt path)', () => {
    // 10 000 000 000 contracts at 0.50: 0.07 × 1e10 × 0.25 = $175 000 000 exactly.
    expect(kalshiFee(5000, contracts(10_000_000_000))).to.equal(175_000_000 * 10_000);
    // 0.07 × 123 456 789.01 × 0.3333 × 0.6667 = $1 920 342.9086… → $1 920 342.91
    const size = 12_345_678_901;
    const cents = (7n * BigInt(size) * 3333n * 6667n + 10n ** 10n - 1n) / 10n ** 10n;
    expect(Number(cents)).to.equal(192_034_291);
    expect(kalshiFee(3333, size)).to.equal(192_034_291 * 100);
  });

  it('has a marginal fee table that never understates (1e-8 $ per contract)', () => {
    const model = kalshiModel();
    expect(model.marginal(5000)).to.equal(1_750_000); // $0.0175
    expect(model.marginal(0)).to.equal(0);
    // 0.07 × 0.0001 × 0.9999 = 0.00000699930 $ → 699.93 → 700 (rounded up)
    expect(model.marginal(1)).to.equal(700);
  });
});

describe('detector fees: Polymarket', () => {
  it('uses fee = C × r × (p(1 − p))^e with the sports rate r = 0.03, e = 1 by default (docs/exchange-protocols.md §2.9)', () => {
    // 100 shares at 0.50: 100 × 0.03 × 0.25 = $0.75 (derived from the formula; no published example).
    expect(polymarketFee(5000, contracts(100))).to.equal(7_500);
    expect(polymarketModel().marginal(5000)).to.equal(750_000);
  });

  it('matches the earlier published peak: 1.56 % at p = 0.5 for r 0.25, e 2 (docs/exchange-protocols.md §2.9)', () => {
    // 0.25 × (0.25)^2 = $0.015625 per share → 100 shares $1.5625.
    expect(polymarketFee(5000, contracts(100), { rate: '0.25', exponent: 2 })).to.equal(15_625);
    // NCAAB/Serie A in the same version: r 0.0175, e 1 → 100 × 0.0175 × 0.25 = $0.4375.
    expect(polymarketFee(5000, contracts(100), { rate: '0.0175', exponent: 1 })).to.equal(4_375);
  });

  it('rounds each fill up to 0.0001 $ and charges nothing on fee-free markets', () => {
    // 1 share at 0.37: 0.03 × 0.2331 = 0.006993 → 0.0070.
    expect(polymarketFee(3700, contracts(1))).to.equal(70);
    expect(polymarketFee(3700, contracts(1), { feesEnabled: false })).to.equal(0);
    expect(polymarketFee(3700, contracts(1), { rate: 0 })).to.equal(0);
    // A walk rounds each level: 1 @ 0.37 (0.006993 → 70) + 1 @ 0.38 (0.03 × 0.2356 = 0.007068 → 71).
    expect(
      polymarketModel().feeWalk(
        [
          [3700, 100],
          [3800, 100],
        ],
        200,
      ),
    ).to.equal(141);
  });

  it('rejects bad parameters', () => {
    expect(() => polymarketFee(5000, 100, { exponent: 0 })).to.throw(RangeError);
    expect(() => polymarketFee(10_001, 100)).to.throw(RangeError);
    expect(() => polymarketFee(5000, -1)).to.throw(RangeError);
  });
});

describe('detector fees: per-market table and integer helpers', () => {
  it('resolves defaults and per-market overrides, sharing models with equal parameters', () => {
    const table = new FeeTable();
    table.set('nba-1', { kalshi: { multiplier: '0.5' } });
    expect(table.forMarket('nba-1')!.kalshi.fee(5000, contracts(100))).to.equal($(88));
    expect(table.forMarket('nba-1')!.polymarket).to.equal(polymarketModel());
    expect(table.forMarket('other')!.kalshi).to.equal(kalshiModel());
    table.set('nba-1', { polymarket: { feesEnabled: false } });
    expect(table.forMarket('nba-1')!.kalshi.fee(5000, contracts(100))).to.equal($(88));
    expect(table.forMarket('nba-1')!.polymarket.fee(5000, contracts(100))).to.equal(0);
    table.delete('nba-1');
    expect(table.forMarket('nba-1')!.kalshi).to.equal(kalshiModel());
  });

  it('strict, knows only what the venues said: each venue apart, unknown with the reason, never a default', () => {
    const table = new FeeTable('strict');
    expect(table.forMarket('m')).to.equal(undefined);
    expect(table.reason('m')).to.contain('no fee terms read');
    const terms = {
      marketId: 'm',
      fetchedAt: 1,
      kalshi: { known: true as const, feeType: 'quadratic' as const, multiplier: '2', fractional: false, series: 'S' },
      polymarket: { known: false as const, reason: '/fee-rate base_fee 0 disagrees with fd (charges)' },
    };
    table.apply(terms);
    expect(table.model('m', 'kalshi')!.fee(5000, contracts(100))).to.equal($(350));
    expect(table.model('m', 'polymarket')).to.equal(undefined);
    expect(table.forMarket('m')).to.equal(undefined);
    expect(table.reason('m', 'polymarket')).to.contain('disagrees');
    table.apply({ ...terms, polymarket: { known: true, rate: '0', exponent: 1, tick: '0.01' } });
    expect(table.forMarket('m')!.polymarket.fee(5000, contracts(100))).to.equal(0);
    // A table with defaults still refuses what the venues said is unknown.
    const lenient = new FeeTable();
    lenient.forget('m', 'venue unreachable', 'kalshi');
    expect(lenient.model('m', 'kalshi')).to.equal(undefined);
    expect(lenient.model('m', 'polymarket')).to.equal(polymarketModel());
  });

  it('divides exactly with explicit rounding', () => {
    expect(ceilDiv(0, 7)).to.equal(0);
    expect(ceilDiv(14, 7)).to.equal(2);
    expect(ceilDiv(15, 7)).to.equal(3);
    expect(ceilDiv(2 ** 53 - 1, 3)).to.equal(Number((2n ** 53n - 1n + 2n) / 3n));
    expect(floorDiv(-1, 100)).to.equal(-1);
    expect(floorDiv(-100, 100)).to.equal(-1);
    expect(floorDiv(199, 100)).to.equal(1);
  });
});

describe('Kalshi balance changes: fee rounding to the cent with the per-order accumulator', () => {
  // The worked examples of docs.kalshi.com/getting_started/fee_rounding, in millionths of $1.
  const micros = (dollars: number) => Math.round(dollars * 1e6);
  const fills = (revenue: number, fee: number) => Array.from({ length: 3 }, () => ({ revenue: micros(revenue), tradeFee: micros(fee) }));

  it('subpenny price: three 1-lot buys at $0.055 pay 1.5¢, 0.5¢, 1.5¢ of fees (the second gets the cent back)', () => {
    const changes = kalshiBalanceChanges(fills(-0.055, 0.0085));
    expect(changes).to.deep.equal([micros(-0.07), micros(-0.06), micros(-0.07)]);
    expect(changes.map((c) => -c - micros(0.055))).to.deep.equal([micros(0.015), micros(0.005), micros(0.015)]);
  });

  it('fractional contracts: three 0.30 buys at $0.50, the second fee-free', () => {
    expect(kalshiBalanceChanges(fills(-0.15, 0.0041))).to.deep.equal([micros(-0.16), micros(-0.15), micros(-0.16)]);
  });

  it('both at once: three 0.03 buys at $0.3301, rebates on the second and the third', () => {
    expect(kalshiBalanceChanges(fills(-0.009903, 0.0005))).to.deep.equal([micros(-0.02), micros(-0.01), micros(-0.01)]);
  });

  it('never rebates more than a fill paid, whole contracts at whole cents round only the fee', () => {
    // 1 contract at $0.50: $0.0175 of fee costs $0.02; 100 contracts cost exactly $1.75.
    expect(kalshiBalanceChanges([{ revenue: micros(-0.5), tradeFee: micros(0.0175) }])).to.deep.equal([micros(-0.52)]);
    expect(kalshiBalanceChanges([{ revenue: micros(-50), tradeFee: micros(1.75) }])).to.deep.equal([micros(-51.75)]);
    const random = prng(7);
    for (let run = 0; run < 500; run++) {
      const list = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
        revenue: -Math.floor(random() * 1e6),
        tradeFee: Math.floor(random() * 2e4),
      }));
      kalshiBalanceChanges(list).forEach((change, i) => {
        expect(change % 10_000, 'on the cent grid').to.equal(0);
        expect(-change - -list[i]!.revenue, 'net fee ≥ 0').to.be.at.least(0);
      });
    }
  });
});

describe('Polymarket fee parameters from /clob-markets', () => {
  it('reads fd as the official client does; fee-free without fd only where tbf says so; anything else is unknown', () => {
    expect(feesFromClobMarket({ fd: { r: 0.03, e: 1, to: true }, tbf: 1000 })).to.deep.equal({ rate: '0.03', exponent: 1 });
    expect(feesFromClobMarket({ fd: { r: 0.25, e: 2 } })).to.deep.equal({ rate: '0.25', exponent: 2 });
    expect(feesFromClobMarket({ fd: { r: 0, e: 1 } })).to.deep.equal({ feesEnabled: false });
    expect(feesFromClobMarket({ tbf: 0 })).to.deep.equal({ feesEnabled: false });
    expect(feesFromClobMarket({ tbf: 1000 })).to.equal(undefined);
    expect(feesFromClobMarket({ fd: { r: '0.03' } })).to.equal(undefined);
    expect(feesFromClobMarket({ fd: { r: 0.03, e: 1.5 } })).to.equal(undefined);
    expect(feesFromClobMarket(null)).to.equal(undefined);
  });
});
