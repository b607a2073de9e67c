import { expect } from 'chai';
import { findArbitrage, planSet, type ArbSettings } from '../../workloads/detector/arbitrage.js';
import { depth } from '../../workloads/detector/book.js';
import { type MarketFees } from '../../venues/fee-table.js';
import { polymarketModel } from '../../venues/polymarket/fees.js';
import { kalshiModel } from '../../venues/kalshi/fees.js';
import { type FeeModel, type Levels } from '../../venues/fee-math.js';
import { prng } from '../support/prng.js';

const contracts = (n: number) => n * 100;
const fees: MarketFees = { kalshi: kalshiModel(), polymarket: polymarketModel() };
const lenient: ArbSettings = { minEdgeBps: 0, minProfit: 1, minSize: 1, maxSize: Infinity };

// Independent reference pricing, straight from the published formulas in BigInt rationals.
type Fills = Array<[price: number, size: number]>;
interface RefFee {
  kind: 'kalshi' | 'polymarket';
  num: bigint;
  den: bigint;
  e: number;
}
function fillsOf(asks: Levels, size: number): Fills {
  const out: Fills = [];
  let left = size;
  for (const [p, s] of asks) {
    if (left <= 0) break;
    const take = Math.min(left, s);
    out.push([p, take]);
    left -= take;
  }
  return out;
}
const ceil = (n: bigint, d: bigint) => (n + d - 1n) / d;
/** Fee in ten-thousandths of $1. Kalshi: one ceil to the cent per order; Polymarket: ceil to 0.0001 per fill. */
function refFee(fee: RefFee, fills: Fills): bigint {
  if (fee.num === 0n) return 0n;
  if (fee.kind === 'kalshi') {
    // 0.07 × M × Σ (s/100)(p/1e4)((1e4 − p)/1e4) dollars, M = num/den → cents = ⌈7·num·Σ s·p·(1e4−p) / (den·1e10)⌉
    const sum = fills.reduce((acc, [p, s]) => acc + BigInt(s) * BigInt(p) * BigInt(10_000 - p), 0n);
    return ceil(7n * fee.num * sum, fee.den * 10n ** 10n) * 100n;
  }
  // (s/100) × r × (p(1−p))^e dollars × 1e4 → ⌈s·num·q^e·1e4 / (100·den·1e8^e)⌉
  return fills.reduce(
    (acc, [p, s]) =>
      acc + ceil(BigInt(s) * fee.num * BigInt(p * (10_000 - p)) ** BigInt(fee.e) * 10_000n, 100n * fee.den * 10n ** BigInt(8 * fee.e)),
    0n,
  );
}
function refProfitMicros(asksA: Levels, feeA: RefFee, asksB: Levels, feeB: RefFee, size: number): bigint {
  const a = fillsOf(asksA, size);
  const b = fillsOf(asksB, size);
  const cost = [...a, ...b].reduce((acc, [p, s]) => acc + BigInt(p) * BigInt(s), 0n);
  return BigInt(size) * 10_000n - cost - (refFee(feeA, a) + refFee(feeB, b)) * 100n;
}
const K1: RefFee = { kind: 'kalshi', num: 1n, den: 1n, e: 1 };
const P3: RefFee = { kind: 'polymarket', num: 3n, den: 100n, e: 1 };

describe('detector arbitrage: sizing one market', () => {
  it('sizes a one-level set to the thinner book and nets both fees at the total size', () => {
    // Kalshi YES 100 @ 0.40, Polymarket NO 50 @ 0.55: 50 sets cost $47.50 and pay $50.
    const plan = planSet([[4000, contracts(100)]], fees.kalshi, [[5500, contracts(50)]], fees.polymarket, lenient)!;
    expect(plan.size).to.equal(contracts(50));
    expect([plan.limitA, plan.limitB]).to.deep.equal([4000, 5500]);
    // Kalshi: 0.07 × 50 × 0.24 = $0.84. Polymarket: 50 × 0.03 × 0.2475 = $0.37125 → $0.3713.
    expect(plan.feeA).to.equal(8_400);
    expect(plan.feeB).to.equal(3_713);
    // $50 − $47.50 − $0.84 − $0.3713 = $1.2887; per contract 2.5774 ¢ → 257 bps.
    expect(plan.profit).to.equal(12_887);
    expect(plan.edgeBps).to.equal(257);
  });

  it('walks several levels of both books and stops where the marginal set misses the edge', () => {
    const kalshiYes: Levels = [
      [4000, contracts(30)],
      [4200, contracts(50)],
      [4600, contracts(100)],
    ];
    const polyNo: Levels = [
      [5300, contracts(40)],
      [5500, contracts(60)],
    ];
    // Marginal sets after fees: 0.40+0.53 → 4.57¢; 0.42+0.53 → 2.55¢; 0.42+0.55 → 0.55¢; 0.46+0.55 → < 0.
    const strict = planSet(kalshiYes, fees.kalshi, polyNo, fees.polymarket, { ...lenient, minEdgeBps: 100 })!;
    expect(strict.size).to.equal(contracts(40));
    expect([strict.limitA, strict.limitB]).to.deep.equal([4200, 5300]);
    // Kalshi fee on the whole order: 0.07 × (30×0.24 + 10×0.2436) = 0.67452 → $0.68; Polymarket 40 × 0.03 × 0.2491 → $0.2990.
    expect(strict.feeA).to.equal(6_800);
    expect(strict.feeB).to.equal(2_990);
    // $40 − $16.20 − $21.20 − $0.68 − $0.2990 = $1.621 → 405 bps per contract.
    expect(strict.profit).to.equal(16_210);
    expect(strict.edgeBps).to.equal(405);

    // Any positive marginal set: one more step (to 80 sets), never into the losing 0.46 + 0.55 level.
    const all = planSet(kalshiYes, fees.kalshi, polyNo, fees.polymarket, lenient)!;
    expect(all.size).to.equal(contracts(80));
    expect([all.limitA, all.limitB]).to.deep.equal([4200, 5500]);
    expect(BigInt(all.profit * 100)).to.equal((refProfitMicros(kalshiYes, K1, polyNo, P3, all.size) / 100n) * 100n);
    expect(all.profit).to.be.greaterThan(strict.profit);
  });

  it('gives no signal for a fake arbitrage that fees erase', () => {
    // 0.49 + 0.50 = 0.99 looks like 1¢ per set, but the fees are 1.75¢ + 0.75¢.
    expect(planSet([[4900, contracts(100)]], fees.kalshi, [[5000, contracts(100)]], fees.polymarket, lenient)).to.equal(undefined);
    // Fee-free, the same books are an arbitrage: fees alone decided.
    const free = polymarketModel({ feesEnabled: false });
    const kalshiFree = kalshiModel({ multiplier: 0 });
    expect(planSet([[4900, contracts(100)]], kalshiFree, [[5000, contracts(100)]], free, lenient)?.profit).to.equal(10_000);
  });

  it('drops a set whose per-order fee rounding eats it (never a non-positive profit)', () => {
    // 1 set at 0.01 + 0.98: 1¢ gross, marginal fees ~0.13¢, but Kalshi rounds its order up to a whole
    // cent: $0.01 − $0.01 − $0.0006 < 0.
    const one = planSet([[100, contracts(1)]], fees.kalshi, [[9800, contracts(1)]], fees.polymarket, lenient);
    expect(one).to.equal(undefined);
    // 100 sets: Kalshi 0.0693 → $0.07, Polymarket 100 × 0.000588 = $0.0588; $1 − $0.1288 = $0.8712.
    const hundred = planSet([[100, contracts(100)]], fees.kalshi, [[9800, contracts(100)]], fees.polymarket, lenient)!;
    expect(hundred.profit).to.equal(8_712);
  });

  it('respects minSize, maxSize and minProfit', () => {
    const a: Levels = [[4000, contracts(100)]];
    const b: Levels = [[5500, contracts(100)]];
    expect(planSet(a, fees.kalshi, b, fees.polymarket, { ...lenient, maxSize: 1234 })!.size).to.equal(1234);
    expect(planSet(a, fees.kalshi, b, fees.polymarket, { ...lenient, minSize: contracts(101) })).to.equal(undefined);
    expect(planSet(a, fees.kalshi, b, fees.polymarket, { ...lenient, minProfit: 10_000_000 })).to.equal(undefined);
    expect(planSet([], fees.kalshi, b, fees.polymarket, lenient)).to.equal(undefined);
  });

  it('finds every way to buy a complete set, across venues and on one venue', () => {
    const found = findArbitrage(
      {
        kalshiYes: [[4000, contracts(10)]],
        kalshiNo: [[6200, contracts(10)]],
        polymarketYes: [[3500, contracts(10)]],
        polymarketNo: [[5500, contracts(10)]],
      },
      fees,
      lenient,
    );
    // K_yes+P_no = 0.95, K_no+P_yes = 0.97, K_yes+K_no = 1.02 (none), P_yes+P_no = 0.90.
    expect(found.map((o) => o.direction)).to.deep.equal([
      'kalshi_yes+polymarket_no',
      'kalshi_no+polymarket_yes',
      'polymarket_yes+polymarket_no',
    ]);
    const poly = found[2]!;
    expect(poly.legs).to.deep.equal([
      { venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 3500, size: contracts(10) },
      { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5500, size: contracts(10) },
    ]);
    expect(findArbitrage({ kalshiYes: [[4000, 100]] }, fees, lenient)).to.deep.equal([]);
  });
});

describe('detector arbitrage: properties over random book pairs (seeded)', () => {
  const kalshiChoices: Array<[FeeModel, RefFee]> = [
    [kalshiModel(), K1],
    [kalshiModel({ multiplier: '0.5' }), { kind: 'kalshi', num: 1n, den: 2n, e: 1 }],
    [kalshiModel({ multiplier: 2 }), { kind: 'kalshi', num: 2n, den: 1n, e: 1 }],
    [kalshiModel({ multiplier: 0 }), { kind: 'kalshi', num: 0n, den: 1n, e: 1 }],
  ];
  const polyChoices: Array<[FeeModel, RefFee]> = [
    [polymarketModel(), P3],
    [polymarketModel({ rate: '0.0175' }), { kind: 'polymarket', num: 7n, den: 400n, e: 1 }],
    [polymarketModel({ rate: '0.25', exponent: 2 }), { kind: 'polymarket', num: 1n, den: 4n, e: 2 }],
    [polymarketModel({ feesEnabled: false }), { kind: 'polymarket', num: 0n, den: 1n, e: 1 }],
  ];

  function randomAsks(rand: () => number, best: number): Levels {
    const levels: Array<[number, number]> = [];
    let price = Math.max(1, Math.min(9_999, best));
    const count = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < count && price < 10_000; i++) {
      levels.push([price, 1 + Math.floor(rand() * (rand() < 0.2 ? 100 : 50_000))]);
      price += 1 + Math.floor(rand() * 300);
    }
    return levels;
  }

  it('never signals a non-positive profit, never oversizes, and limit prices are on the books', () => {
    const rand = prng(20261124);
    let plans = 0;
    for (let n = 0; n < 6_000; n++) {
      const mid = 200 + Math.floor(rand() * 9_600);
      const asksA = randomAsks(rand, mid + Math.floor(rand() * 700) - 450);
      const asksB = randomAsks(rand, 10_000 - mid + Math.floor(rand() * 700) - 450);
      const [feeA, refA] = rand() < 0.7 ? kalshiChoices[Math.floor(rand() * 4)]! : polyChoices[Math.floor(rand() * 4)]!;
      const [feeB, refB] = polyChoices[Math.floor(rand() * 4)]!;
      const settings: ArbSettings = {
        minEdgeBps: [0, 0, 50, 100, 300][Math.floor(rand() * 5)]!,
        minProfit: [1, 100, 1_000][Math.floor(rand() * 3)]!,
        minSize: [1, 100][Math.floor(rand() * 2)]!,
        maxSize: rand() < 0.3 ? 1 + Math.floor(rand() * 20_000) : Infinity,
      };
      const plan = planSet(asksA, feeA, asksB, feeB, settings);
      if (!plan) continue;
      plans++;
      const context = JSON.stringify({ n, asksA, asksB, settings, plan });
      expect(plan.profit, context).to.be.at.least(Math.max(1, settings.minProfit));
      expect(plan.edgeBps, context).to.be.at.least(settings.minEdgeBps);
      expect(plan.size, context).to.be.at.most(Math.min(depth(asksA), depth(asksB), settings.maxSize));
      expect(plan.size, context).to.be.at.least(settings.minSize);
      expect(
        asksA.some(([p]) => p === plan.limitA),
        context,
      ).to.be.true;
      expect(
        asksB.some(([p]) => p === plan.limitB),
        context,
      ).to.be.true;
      // The limit price is the worst level the size reaches: the levels before it are not enough.
      expect(depth(asksA.filter(([p]) => p < plan.limitA)), context).to.be.below(plan.size);
      expect(depth(asksB.filter(([p]) => p < plan.limitB)), context).to.be.below(plan.size);
      // Exact: the profit and fees agree with the independent BigInt reference.
      const micros = refProfitMicros(asksA, refA, asksB, refB, plan.size);
      expect(micros > 0n, context).to.be.true;
      expect(BigInt(plan.profit), context).to.equal(micros >= 0n ? micros / 100n : -((-micros + 99n) / 100n));
      expect(BigInt(plan.feeA), context).to.equal(refFee(refA, fillsOf(asksA, plan.size)));
      expect(BigInt(plan.feeB), context).to.equal(refFee(refB, fillsOf(asksB, plan.size)));
    }
    // The generator is tuned so that a good share of the pairs are real opportunities.
    expect(plans).to.be.greaterThan(1_000);
  });
});
