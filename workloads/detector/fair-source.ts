// The "static feed" of fair probabilities for model edge (edge.ts): a JSON or YAML file read at
// start-up. A live win-probability model can replace it later behind the same FairValueSource.
//
//   minEdgeBps: 1500          # optional: model-edge threshold (default core.ts, 15 %)
//   markets:
//     nba-phi-lal-lal: "0.62"     # fair probability of YES (the market's team wins)
//     nba-bos-nyk-bos: { no: "0.45" }   # or of NO; the other is 1 − p (team-aligned)
//
// Probabilities are exact decimals with at most 4 places (strings preferred; a YAML/JSON number is
// read through its decimal text, never as a binary float), within [0, 1].
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../contracts/config-error.js';
import { PRICE_ONE, parsePrice } from '../../contracts/decimal.js';
import { StaticFairValues } from './edge.js';

export const fairValuesEnv = 'ARBEES_DETECTOR_FAIR_VALUES';

/** A probability as ten-thousandths, or a message saying what is wrong with it. */
function probability(value: unknown): number | string {
  if (typeof value !== 'string' && typeof value !== 'number') return `expected a probability, got ${JSON.stringify(value)}`;
  try {
    const p = parsePrice(String(value));
    return p > PRICE_ONE ? `${JSON.stringify(value)} is above 1` : p;
  } catch (error) {
    return `not a probability with at most 4 decimals: ${JSON.stringify(value)} (${(error as Error).message})`;
  }
}

/** "0.62" | 0.62 | { yes: "0.62" } | { no: "0.38" } → fair YES probability in ten-thousandths. */
const entry = z.unknown().transform((value, ctx) => {
  let p: number | string;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1 || (keys[0] !== 'yes' && keys[0] !== 'no')) p = 'give one of "yes" or "no"';
    else {
      p = probability((value as Record<string, unknown>)[keys[0]]);
      if (typeof p === 'number' && keys[0] === 'no') p = PRICE_ONE - p;
    }
  } else {
    p = probability(value);
  }
  if (typeof p === 'string') {
    ctx.addIssue({ code: 'custom', message: p });
    return z.NEVER;
  }
  return p;
});

export const fairValuesFileSchema = z
  .object({
    minEdgeBps: z.number().int().nonnegative().optional(),
    markets: z.record(z.string().min(1), entry),
  })
  .strict();

export interface FairValuesFile {
  source: StaticFairValues;
  /** Fair YES probability per market, ten-thousandths. */
  yes: ReadonlyMap<string, number>;
  minEdgeBps?: number;
}

export function parseFairValues(value: unknown, origin: string): FairValuesFile {
  const result = fairValuesFileSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(
      `invalid fair values in ${origin}:`,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const yes = new Map(Object.entries(result.data.markets));
  return {
    source: new StaticFairValues(yes),
    yes,
    ...(result.data.minEdgeBps !== undefined ? { minEdgeBps: result.data.minEdgeBps } : {}),
  };
}

/** Reads a fair-values file (YAML, or JSON when it ends in .json). */
export function loadFairValues(path: string): FairValuesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('cannot read the fair values:', [`${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`invalid fair values in ${path}:`, [(error as Error).message.split('\n')[0] ?? String(error)]);
  }
  return parseFairValues(parsed ?? {}, path);
}
