// The order sent never costs more than the risk decision allowed: a property over every Polymarket
// tick, prices across the whole range and sizes, with the order built and signed by the official
// client as the executor does, at the tick the decision knew and at any tick the venue may have
// moved to by the time it is sent.
import { OrderBuilder, Side, SignatureTypeV2 } from '@polymarket/clob-client-v2';
import { expect } from 'chai';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { formatPrice, formatSize, notionalCeil } from '../../contracts/decimal.js';
import type { Leg } from '../../contracts/messages.js';
import { polymarketFee } from '../../venues/polymarket/fees.js';
import { POLYGON_CHAIN_ID } from '../../venues/polymarket/order.js';
import { limitOnTick, TICK_SIZES, tickUnits } from '../../venues/polymarket/ticks.js';
import { alignLegs } from '../../workloads/executor/order-grid.js';
import { prng } from '../support/prng.js';

const account = privateKeyToAccount(generatePrivateKey());
const builder = new OrderBuilder(
  { account, signTypedData: (a: never) => account.signTypedData(a) } as never,
  POLYGON_CHAIN_ID,
  SignatureTypeV2.EOA,
);
const TOKEN = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
const fees = { rate: '0.03', exponent: 1 };
const leg = (side: 'buy' | 'sell', limitPrice: number, size: number): Leg => ({
  venue: 'polymarket',
  outcome: 'yes',
  side,
  limitPrice,
  size,
});

/** What the executor's client signs for a limit decided at `price`, on the tick it reads when sending. */
async function sent(side: 'buy' | 'sell', price: number, size: number, tick: (typeof TICK_SIZES)[number]) {
  const limit = limitOnTick(price, tick, side);
  if (limit === undefined) return undefined;
  const order = await builder.buildOrder(
    { tokenID: TOKEN, price: Number(formatPrice(limit)), size: Number(formatSize(size)), side: side === 'buy' ? Side.BUY : Side.SELL },
    { tickSize: tick, negRisk: false },
    2,
  );
  // Amounts in millionths: a buy pays makerAmount of pUSD, a sell receives takerAmount.
  return { limit, usd: Number(side === 'buy' ? order.makerAmount : order.takerAmount) };
}

describe('executor order grid: Polymarket limits on the tick, in our favour', function () {
  this.timeout(60_000);

  it('a buy never costs more than risk costed, a sell never takes less, whatever tick the venue has when it is sent', async () => {
    const random = prng(4242);
    let checked = 0;
    for (let run = 0; run < 150; run++) {
      const tick = TICK_SIZES[Math.floor(random() * TICK_SIZES.length)]!;
      const price = 1 + Math.floor(random() * 9_999);
      const size = 500 + Math.floor(random() * 100_000);
      const side = random() < 0.75 ? 'buy' : 'sell';
      const decided = alignLegs([leg(side, price, size)], { polymarketTick: tick });
      const t = tickUnits(tick);
      if (!decided.ok) {
        // Refused only where the tick grid has no price in our favour inside [tick, 1 − tick].
        expect(side === 'buy' ? price < t || Math.floor(price / t) * t > 10_000 - t : price > 10_000 - t || Math.ceil(price / t) * t < t).to
          .be.true;
        continue;
      }
      const { limitPrice, size: decidedSize } = decided.legs[0]!;
      expect(limitPrice % t).to.equal(0);
      expect(side === 'buy' ? limitPrice <= price : limitPrice >= price).to.be.true;
      const cost = notionalCeil(limitPrice, decidedSize) + polymarketFee(limitPrice, decidedSize, fees);
      for (const venueTick of TICK_SIZES) {
        const order = await sent(side, limitPrice, decidedSize, venueTick);
        if (!order) continue;
        checked++;
        if (side === 'buy') {
          expect(order.limit, `${tick} → ${venueTick}`).to.be.at.most(limitPrice);
          expect(order.usd / 100 + polymarketFee(order.limit, decidedSize, fees), `${tick} → ${venueTick} at ${price}`).to.be.at.most(cost);
        } else {
          expect(order.limit).to.be.at.least(limitPrice);
          expect(order.usd).to.be.at.least(Math.floor((limitPrice * decidedSize) / 100) * 100);
        }
      }
    }
    expect(checked).to.be.greaterThan(300);
  });

  it('sizes a set on a Kalshi market without fractions in whole contracts, and refuses what the venues have not described', () => {
    const set: Leg[] = [leg('buy', 4_567, 1_234), { venue: 'kalshi', outcome: 'no', side: 'buy', limitPrice: 5_300, size: 1_234 }];
    const whole = alignLegs(set, { polymarketTick: '0.01', kalshiFractional: false });
    expect(whole).to.deep.equal({
      ok: true,
      legs: [
        { ...set[0]!, limitPrice: 4_500, size: 1_200 },
        { ...set[1]!, size: 1_200 },
      ],
    });
    expect(alignLegs(set, { polymarketTick: '0.01', kalshiFractional: true })).to.deep.include({ ok: true });
    expect(alignLegs([set[1]!], { kalshiFractional: false, polymarketTick: '0.01' })).to.deep.include({ ok: true });
    expect(alignLegs(set, { kalshiFractional: true })).to.deep.include({ ok: false, rule: 'market-terms-unknown' });
    expect(alignLegs(set, { polymarketTick: '0.01' })).to.deep.include({ ok: false, rule: 'market-terms-unknown' });
    expect(alignLegs([{ ...set[1]!, size: 50 }], { kalshiFractional: false })).to.deep.include({ ok: false, rule: 'invalid-signal' });
    expect(alignLegs([leg('buy', 50, 500)], { polymarketTick: '0.01' })).to.deep.include({ ok: false, rule: 'invalid-signal' });
  });
});
