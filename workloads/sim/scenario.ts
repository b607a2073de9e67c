// Scenario files (YAML or JSON, validated with zod): games and their markets on both venues, the
// price paths' parameters, injected arbitrage windows, faults and market resolutions. The seeded
// engine that plays one is engine.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { packageInfo } from '../../lib/package-root.js';

export type Venue = 'kalshi' | 'polymarket';
/** Kalshi's `Series.fee_type` values. */
export const kalshiFeeTypes = ['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat'] as const;
export type KalshiFeeType = (typeof kalshiFeeTypes)[number];
/** Polymarket's price grid: a cent, or a tenth of one near 0 and 1. */
export type TickSize = '0.01' | '0.001';

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "250ms", "90s", "2m", "1.5h" or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: "${value}" (use e.g. 250ms, 90s, 2m, 1h)`);
  return Math.round(Number(match[1]) * durationUnits[match[2]!]!);
}

const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const probability = z.number().gt(0).lt(1);

const marketParams = z.object({
  initialPrice: probability.optional(),
  /** Std-dev of the fair YES price per √minute of simulated time. */
  volatility: z.number().nonnegative().optional(),
  /** Pull toward the initial price per minute (Ornstein–Uhlenbeck θ). */
  meanReversion: z.number().nonnegative().optional(),
  /** Quoted spread in ticks of $0.01 (≥ 1). */
  spreadTicks: z.number().int().min(1).max(20).optional(),
  /** Price levels per side. */
  depth: z.number().int().min(1).max(50).optional(),
  /** Typical contracts per level. */
  levelSize: z.number().int().min(1).optional(),
});

const marketSchema = marketParams.extend({
  id: z.string().min(1),
  /** Team whose win is the YES outcome. */
  team: z.string().min(1),
  kalshi: z.object({ ticker: z.string().min(1) }),
  polymarket: z.object({ yesTokenId: z.string().regex(/^\d+$/), noTokenId: z.string().regex(/^\d+$/) }),
});

const gameSchema = z.object({
  id: z.string().min(1),
  sport: z.enum(['nba', 'nhl', 'nfl', 'mlb', 'ncaab', 'ncaaf', 'soccer']),
  home: z.string().min(1),
  away: z.string().min(1),
  title: z.string().optional(),
  /** Offset from scenario start (the scenario's t = 0). */
  startsAt: duration.default(0),
  kalshi: z.object({
    eventTicker: z.string().min(1),
    seriesTicker: z.string().optional(),
    /** The series' fee schedule (`Series.fee_type`, `fee_multiplier`); games of one series must agree. */
    feeType: z.enum(kalshiFeeTypes).default('quadratic_with_maker_fees'),
    feeMultiplier: z.number().nonnegative().default(1),
    /** `fractional_trading_enabled`: counts with cents of a contract accepted. */
    fractionalTrading: z.boolean().default(false),
  }),
  polymarket: z
    .object({
      conditionId: z
        .string()
        .regex(/^0x[0-9a-fA-F]{64}$/)
        .optional(),
      slug: z.string().optional(),
      /** Matching delay for marketable orders (sports markets' `sd`), in ms of real time. */
      matchingDelayMs: z.number().int().nonnegative().default(0),
      /** The market's taker fee `fd {r, e}`: fee = C × r × (p(1 − p))^e; rate 0 is fee-free. */
      feeRate: z.number().min(0).max(1).default(0.03),
      feeExponent: z.number().int().min(1).max(4).default(1),
    })
    .default({ matchingDelayMs: 0, feeRate: 0.03, feeExponent: 1 }),
  markets: z.array(marketSchema).min(1),
});

const arbSchema = z.object({
  id: z.string().min(1),
  market: z.string().min(1),
  at: duration,
  duration: duration.refine((d) => d > 0, 'duration must be > 0'),
  /** The venue whose price is wrong. */
  venue: z.enum(['kalshi', 'polymarket']),
  /** cheap: its YES ask drops below the other venue's YES bid; rich: its YES bid rises above the other's ask. */
  direction: z.enum(['cheap', 'rich']).default('cheap'),
  /** How far the mispriced venue's ladder moves, in basis points of $1 (100 bps = one cent tick). */
  bps: z.number().int().positive(),
});

const faultSchema = z.object({
  venue: z.enum(['kalshi', 'polymarket']),
  type: z.enum(['disconnect', 'seqGap', 'staleBook', 'rateLimit', 'slow']),
  at: duration,
  /** disconnect: outage length (0 = drop sockets only); staleBook/rateLimit/slow: window length. */
  duration: duration.default(0),
  /** slow: added latency per REST response. */
  delayMs: z.number().int().nonnegative().default(500),
});

/** A scheduled change of a Kalshi series' fees (`GET /series/fee_changes`), in force from `at`. */
const feeChangeSchema = z.object({
  series: z.string().min(1),
  at: duration,
  feeType: z.enum(kalshiFeeTypes),
  feeMultiplier: z.number().nonnegative(),
});

/** A Polymarket trade that goes wrong on chain: retried (RETRYING, then CONFIRMED) or FAILED. */
const chainFaultSchema = z.object({
  /** The n-th trade of a user's taker order on the venue (1 = the first), counted over the run. */
  trade: z.number().int().positive(),
  outcome: z.enum(['failed', 'retried']),
});

const resolutionSchema = z.object({
  market: z.string().min(1),
  /** The game is over: the market stops trading with its result known (Kalshi `determined`, Polymarket `closed`). */
  at: duration,
  /** yes: the market's team won. */
  winner: z.enum(['yes', 'no']),
  /** From `at` to the payout (Kalshi `settled`/`finalized`; Polymarket's winner token and `market_resolved`). */
  settleAfter: duration.default(0),
});

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    seed: z.union([z.number().int(), z.string()]).default(1),
    duration: duration.default(3_600_000),
    /** Engine steps per simulated second, all markets together; each step changes ≥ 1 level per venue. */
    messageRate: z.number().positive().max(100_000).default(20),
    /** Probability per step of a synthetic taker trade on one venue. */
    tradeProbability: z.number().min(0).max(1).default(0.05),
    /** Polymarket: emit the pre-2025-09-15 `price_change` schema. */
    polymarketLegacyPriceChange: z.boolean().default(false),
    defaults: marketParams.default({}),
    games: z.array(gameSchema).min(1),
    arbitrage: z.array(arbSchema).default([]),
    faults: z.array(faultSchema).default([]),
    /** Markets resolved during the scenario; the books of a resolved market stop moving. */
    resolutions: z.array(resolutionSchema).default([]),
    kalshiFeeChanges: z.array(feeChangeSchema).default([]),
    /** Polymarket trades of simulator users that fail on chain or are retried (MATCHED → …). */
    polymarketChain: z.array(chainFaultSchema).default([]),
  })
  .superRefine((s, ctx) => {
    const ids = new Set<string>();
    for (const game of s.games)
      for (const market of game.markets) {
        if (ids.has(market.id)) ctx.addIssue({ code: 'custom', message: `duplicate market id "${market.id}"` });
        ids.add(market.id);
      }
    for (const arb of s.arbitrage) {
      if (!ids.has(arb.market))
        ctx.addIssue({ code: 'custom', path: ['arbitrage'], message: `arbitrage "${arb.id}": unknown market "${arb.market}"` });
    }
    const seriesFees = new Map<string, string>();
    for (const game of s.games) {
      const series = game.kalshi.seriesTicker ?? game.kalshi.eventTicker.split('-')[0]!;
      const fees = `${game.kalshi.feeType} ${game.kalshi.feeMultiplier}`;
      if ((seriesFees.get(series) ?? fees) !== fees)
        ctx.addIssue({ code: 'custom', path: ['games'], message: `games of series ${series} disagree on its fees` });
      seriesFees.set(series, fees);
    }
    const resolved = new Set<string>();
    for (const r of s.resolutions) {
      if (!ids.has(r.market)) ctx.addIssue({ code: 'custom', path: ['resolutions'], message: `resolution: unknown market "${r.market}"` });
      if (resolved.has(r.market))
        ctx.addIssue({ code: 'custom', path: ['resolutions'], message: `market "${r.market}" is resolved twice` });
      resolved.add(r.market);
      // The engine stops at the scenario's end: a later payout would never happen.
      if (r.at + r.settleAfter > s.duration)
        ctx.addIssue({ code: 'custom', path: ['resolutions'], message: `resolution of "${r.market}" settles after the scenario ends` });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type GameSpec = Scenario['games'][number];
export type MarketSpec = GameSpec['markets'][number];
export type ArbSpec = Scenario['arbitrage'][number];
export type FaultSpec = Scenario['faults'][number];
export type ResolutionSpec = Scenario['resolutions'][number];
export type FeeChangeSpec = Scenario['kalshiFeeChanges'][number];

export class ScenarioError extends Error {}

export function parseScenario(input: unknown): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    throw new ScenarioError(
      `invalid scenario:\n${result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  return result.data;
}

export function loadScenarioFile(path: string): Scenario {
  const text = readFileSync(path, 'utf8');
  return parseScenario(path.endsWith('.json') ? JSON.parse(text) : parseYaml(text));
}

/** The built-in game-day scenario shipped with the package. */
export const demoScenarioPath = (): string => join(packageInfo().root, 'workloads', 'sim', 'scenarios', 'demo.yaml');

export function loadDemoScenario(): Scenario {
  return loadScenarioFile(demoScenarioPath());
}

/** A resolved market: spec plus defaults, its game and derived identifiers. */
export interface SimMarket {
  id: string;
  game: GameSpec;
  spec: MarketSpec;
  team: string;
  initialPrice: number;
  volatility: number;
  meanReversion: number;
  spreadTicks: number;
  depth: number;
  levelSize: number;
  kalshiTicker: string;
  kalshiMarketId: string;
  conditionId: string;
  yesTokenId: string;
  noTokenId: string;
}

export function resolveMarkets(scenario: Scenario): SimMarket[] {
  const d = scenario.defaults;
  return scenario.games.flatMap((game) =>
    game.markets.map((m) => ({
      id: m.id,
      game,
      spec: m,
      team: m.team,
      initialPrice: m.initialPrice ?? d.initialPrice ?? 0.5,
      volatility: m.volatility ?? d.volatility ?? 0.02,
      meanReversion: m.meanReversion ?? d.meanReversion ?? 0.05,
      spreadTicks: m.spreadTicks ?? d.spreadTicks ?? 2,
      depth: m.depth ?? d.depth ?? 5,
      levelSize: m.levelSize ?? d.levelSize ?? 300,
      kalshiTicker: m.kalshi.ticker,
      kalshiMarketId: uuidFrom(`kalshi:${m.kalshi.ticker}`),
      conditionId: game.polymarket.conditionId ?? `0x${sha256(`polymarket:${game.id}:${m.id}`)}`,
      yesTokenId: m.polymarket.yesTokenId,
      noTokenId: m.polymarket.noTokenId,
    })),
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function uuidFrom(text: string): string {
  const h = sha256(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
