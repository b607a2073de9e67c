import { expect } from 'chai';
import { formatDecimal, formatPrice, notionalCeil, parseDecimal, parsePrice, parseSize } from '../../contracts/decimal.js';

describe('exact decimals', () => {
  it('parses venue strings into integer units without float error', () => {
    expect(parsePrice('0.4800')).to.equal(4800);
    expect(parsePrice('0.07')).to.equal(700);
    expect(parsePrice('1')).to.equal(10_000);
    expect(parsePrice('0.0010')).to.equal(10);
    expect(parseSize('300.00')).to.equal(30_000);
    expect(parseSize('74.77')).to.equal(7477);
    // 0.1 + 0.2 style drift cannot happen: every value is an integer.
    expect(parsePrice('0.1') + parsePrice('0.2')).to.equal(parsePrice('0.3'));
  });

  it('rounds extra size decimals down (never more than the book shows) and refuses extra price decimals', () => {
    expect(parseSize('219.217767')).to.equal(21_921);
    expect(() => parsePrice('0.48005')).to.throw(RangeError, /more than 4 decimals/);
    expect(parsePrice('0.480000')).to.equal(4800); // trailing zeros are exact
  });

  it('refuses what is not a non-negative decimal', () => {
    for (const bad of ['', '-0.5', '1e-3', 'abc', '0x10', '.5', 'NaN']) expect(() => parseDecimal(bad, 4), bad).to.throw(RangeError);
  });

  it('formats back exactly', () => {
    expect(formatPrice(4800)).to.equal('0.4800');
    expect(formatPrice(10_000)).to.equal('1.0000');
    expect(formatDecimal(-125, 2)).to.equal('-1.25');
    expect(formatDecimal(7, 0)).to.equal('7');
    for (const text of ['0.0001', '0.9999', '12.3400']) expect(formatPrice(parsePrice(text))).to.equal(text);
  });

  it('rounds notional up to the ten-thousandth (what a buyer pays)', () => {
    expect(notionalCeil(4800, 30_000)).to.equal(1_440_000); // 300 contracts at $0.48 = $144.0000
    expect(notionalCeil(3333, 1)).to.equal(34); // 0.01 contract at $0.3333 = $0.003333 → $0.0034
  });
});
