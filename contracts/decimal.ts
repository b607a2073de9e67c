// Exact conversion between the venues' decimal strings and our integer units. Money never
// passes through a binary float: "0.4800" dollars is 4800 ten-thousandths, "300.00" contracts
// is 30000 hundredths.

/** Units we keep: prices and money in ten-thousandths of $1, sizes in hundredths of a contract. */
export const PRICE_SCALE = 4;
export const SIZE_SCALE = 2;
export const PRICE_ONE = 10_000; // $1.0000, the payout of a winning contract

/**
 * Parses a non-negative decimal string into an integer of `scale` decimals. Extra decimals are
 * rounded toward zero (`round: 'down'`, safe for sizes: never more than shown) or refused.
 */
export function parseDecimal(text: string, scale: number, extra: 'down' | 'error' = 'error'): number {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal: "${text}"`);
  const whole = match[1]!;
  let fraction = match[2] ?? '';
  if (fraction.length > scale) {
    if (extra === 'error' && /[1-9]/.test(fraction.slice(scale))) throw new RangeError(`"${text}" has more than ${scale} decimals`);
    fraction = fraction.slice(0, scale);
  }
  const value = Number(whole) * 10 ** scale + Number(fraction.padEnd(scale, '0') || '0');
  if (!Number.isSafeInteger(value)) throw new RangeError(`"${text}" is too large`);
  return value;
}

/** Formats an integer of `scale` decimals as a decimal string, e.g. (4800, 4) → "0.4800". */
export function formatDecimal(value: number, scale: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  const sign = value < 0 ? '-' : '';
  const digits = Math.abs(value)
    .toString()
    .padStart(scale + 1, '0');
  return scale === 0 ? sign + digits : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

export const parsePrice = (text: string) => parseDecimal(text, PRICE_SCALE);
export const formatPrice = (value: number) => formatDecimal(value, PRICE_SCALE);
export const parseSize = (text: string) => parseDecimal(text, SIZE_SCALE, 'down');
export const formatSize = (value: number) => formatDecimal(value, SIZE_SCALE);

/** Cost in ten-thousandths of $1 of `size` hundredths of a contract at `price`, rounded up (what we pay). */
export function notionalCeil(price: number, size: number): number {
  return Math.ceil((price * size) / 10 ** SIZE_SCALE);
}

/** The largest size we accept anywhere, in hundredths: 10^9 contracts, far above any venue's limit. */
export const MAX_SIZE = 10 ** 9 * 10 ** SIZE_SCALE;
