// Kalshi's market-data wire format: levels as [price_dollars, count_fp] decimal strings.
import { MalformedMessage, venuePrice, venueSize, type WireLevel } from '../wire.js';

/** Kalshi `[price_dollars, count_fp]` levels. */
export function kalshiLevels(raw: unknown, what: string): WireLevel[] {
  if (raw === undefined || raw === null) return []; // a side with no bids is omitted
  if (!Array.isArray(raw)) throw new MalformedMessage(`${what}: expected an array of levels`);
  return raw.map((level, i) => {
    if (!Array.isArray(level) || level.length < 2) throw new MalformedMessage(`${what}[${i}]: expected [price, size]`);
    return [venuePrice(level[0], `${what}[${i}].price`), venueSize(level[1], `${what}[${i}].size`)];
  });
}

/** Kalshi's finest tick is $0.001 (deci_cent): it trades within [0.001, 0.999], in ten-thousandths. */
export const kalshiPriceBounds = { min: 10, max: 9_990 };
