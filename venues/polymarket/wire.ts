// Polymarket's market-data wire format: levels as {price, size} decimal strings.
import { MalformedMessage, venuePrice, venueSize, type WireLevel } from '../wire.js';

/** Polymarket `{price, size}` levels. */
export function polymarketLevels(raw: unknown, what: string): WireLevel[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new MalformedMessage(`${what}: expected an array of levels`);
  return raw.map((level: unknown, i) => {
    if (typeof level !== 'object' || level === null) throw new MalformedMessage(`${what}[${i}]: expected {price, size}`);
    const { price, size } = level as { price?: unknown; size?: unknown };
    return [venuePrice(price, `${what}[${i}].price`), venueSize(size, `${what}[${i}].size`)];
  });
}

/** Polymarket's finest tick is 0.0001: it trades within [tick, 1 − tick], in ten-thousandths. */
export const polymarketPriceBounds = { min: 1, max: 9_999 };
