// What the venues say about each market's trading terms, as the executor fetches them and publishes
// them for the detector: Kalshi's series fees (`fee_type`, `fee_multiplier`, with the event's
// overrides) and whether fractional contracts are taken; Polymarket's taker fee block `fd` and tick.
// One Redis hash per shard, a field per market id, the value this JSON. A venue part the executor
// could not establish carries the reason instead: such a market is not traded (fail safe).
import { z } from 'zod';

export const marketParamsKey = (shard: string) => `arbees:${shard}:market-params`;

const unknownPart = z.object({ known: z.literal(false), reason: z.string() });
const decimalText = z.string().regex(/^\d+(\.\d{1,6})?$/);

export const kalshiParamsSchema = z.object({
  known: z.literal(true),
  feeType: z.enum(['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees']),
  multiplier: decimalText,
  fractional: z.boolean(),
  series: z.string(),
});

export const polymarketParamsSchema = z.object({
  known: z.literal(true),
  /** fd.r; "0" for a fee-free market. */
  rate: decimalText,
  exponent: z.number().int().min(1).max(4),
  tick: z.enum(['0.1', '0.01', '0.005', '0.0025', '0.001', '0.0001']),
});

export const marketParamsSchema = z.object({
  marketId: z.string().min(1),
  /** When the executor last read the venues (epoch ms). */
  fetchedAt: z.number().int().nonnegative(),
  kalshi: z.union([kalshiParamsSchema, unknownPart]),
  polymarket: z.union([polymarketParamsSchema, unknownPart]),
});

export type KalshiParams = z.infer<typeof kalshiParamsSchema>;
export type PolymarketParams = z.infer<typeof polymarketParamsSchema>;
export type UnknownParams = z.infer<typeof unknownPart>;
export type MarketParams = z.infer<typeof marketParamsSchema>;
