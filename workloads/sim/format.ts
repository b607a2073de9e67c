// Number formatting shared by the simulators. Internal units: price in ten-thousandths of $1,
// size in hundredths of a contract/share.
import { formatDecimal, PRICE_ONE } from '../../contracts/decimal.js';

/** Kalshi `*_dollars`: four decimals, "0.0800". */
export const dollars = (price: number): string => formatDecimal(price, 4);
/** Kalshi `*_fp`: two decimals, signed where needed, "300.00" / "-54.00". */
export const fp = (size: number): string => formatDecimal(size, 2);

/** Polymarket-style decimal: no trailing zeros, "0.48", "30", "74.77". */
function trimmed(value: number, scale: number): string {
  const text = formatDecimal(value, scale);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
/** Every price a book can show, formatted once (feeds format whole books on every change). */
const polyPrices = Array.from({ length: PRICE_ONE + 1 }, (_, price) => trimmed(price, 4));
export const polyPrice = (price: number): string => polyPrices[price] ?? trimmed(price, 4);
export const polySize = (size: number): string => trimmed(size, 2);

export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
