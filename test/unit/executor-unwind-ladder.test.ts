// The unwind price ladder, pure (no PostgreSQL, no venue): which limit prices a one-legged fill is
// unwound at, and what the unwind costs against the planned set. Prices in ten-thousandths of $1,
// sizes in hundredths of a contract.
import { expect } from 'chai';
import { closePrices, hedgePrices, paidPrice, TICK, unwindCost } from '../../workloads/executor/unwind-ladder.js';

const ladder = { steps: 3, stepTicks: 100 };

describe('executor unwind ladder: hedge (buy the missing leg)', () => {
  it('starts one step over the planned price and moves one step worse each try', () => {
    expect(hedgePrices(4_000, ladder)).to.deep.equal([4_100, 4_200, 4_300]);
    expect(hedgePrices(4_000, { steps: 4, stepTicks: 250 })).to.deep.equal([4_250, 4_500, 4_750, 5_000]);
  });

  it('never bids above 1 − tick, however far the steps would go', () => {
    expect(TICK).to.equal(100);
    expect(hedgePrices(9_750, ladder)).to.deep.equal([9_850, 9_900, 9_900]);
    expect(hedgePrices(9_900, ladder)).to.deep.equal([9_900, 9_900, 9_900]);
  });

  it('tries exactly `steps` prices (none when steps is 0)', () => {
    expect(hedgePrices(5_000, { steps: 1, stepTicks: 100 })).to.deep.equal([5_100]);
    expect(hedgePrices(5_000, { steps: 0, stepTicks: 100 })).to.deep.equal([]);
  });
});

describe('executor unwind ladder: close (sell the excess of the first leg)', () => {
  it('starts at the best bid and moves one step lower each try', () => {
    expect(closePrices(5_500, 4_000, ladder)).to.deep.equal([5_500, 5_400, 5_300]);
  });

  it('with no bid, starts at what the first leg paid', () => {
    expect(closePrices(undefined, 4_000, ladder)).to.deep.equal([4_000, 3_900, 3_800]);
  });

  it('never offers below one tick', () => {
    expect(closePrices(250, 4_000, ladder)).to.deep.equal([250, 150, 100]);
    expect(closePrices(50, 4_000, ladder)).to.deep.equal([100, 100, 100]);
  });

  it('a bid of 0 is a bid: the ladder starts there (floored), not at the paid price', () => {
    expect(closePrices(0, 4_000, ladder)).to.deep.equal([100, 100, 100]);
  });
});

describe('executor unwind ladder: the price the first leg paid', () => {
  it('is the size-weighted average of its fills, rounded', () => {
    expect(paidPrice([{ price: 4_000, size: 100, fee: 7 }], 4_100)).to.equal(4_000);
    // (4000 × 100 + 4100 × 300) / 400 = 4075
    expect(
      paidPrice(
        [
          { price: 4_000, size: 100, fee: 0 },
          { price: 4_100, size: 300, fee: 0 },
        ],
        3_000,
      ),
    ).to.equal(4_075);
    // (4001 × 1 + 4002 × 2) / 3 = 4001.67 → 4002
    expect(
      paidPrice(
        [
          { price: 4_001, size: 1, fee: 0 },
          { price: 4_002, size: 2, fee: 0 },
        ],
        3_000,
      ),
    ).to.equal(4_002);
  });

  it('is the planned price when the fills are not known', () => {
    expect(paidPrice([], 4_100)).to.equal(4_100);
  });
});

describe('executor unwind ladder: cost against the plan', () => {
  it('a hedge costs what it paid over the planned price, rounded up to the ten-thousandth, plus fees', () => {
    // 200 ticks over on 1.50 contracts: 200 × 150 / 100 = 300, plus a fee of 12.
    expect(unwindCost([{ price: 4_200, size: 150, fee: 12 }], 'buy', 4_000)).to.equal(312);
    // 1 tick over on 0.01 contract: 0.01 → rounded up to 1.
    expect(unwindCost([{ price: 4_001, size: 1, fee: 0 }], 'buy', 4_000)).to.equal(1);
  });

  it('a close costs what it sold under the first leg’s price, plus fees', () => {
    expect(
      unwindCost(
        [
          { price: 3_800, size: 100, fee: 5 },
          { price: 3_700, size: 50, fee: 3 },
        ],
        'sell',
        4_000,
      ),
    ).to.equal(200 + 5 + 150 + 3);
  });

  it('a fill better than the plan costs only its fee (it is not counted as a gain)', () => {
    expect(unwindCost([{ price: 3_900, size: 100, fee: 4 }], 'buy', 4_000)).to.equal(4);
    expect(unwindCost([{ price: 4_100, size: 100, fee: 4 }], 'sell', 4_000)).to.equal(4);
    expect(unwindCost([], 'sell', 4_000)).to.equal(0);
  });
});
