// The executor's settings: the shard config's limits turned into ledger units, plus defaults that
// the command line or a test may override.
import { hostname } from 'node:os';
import type { Venue } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import type { IntakeSettings } from './intake.js';
import type { LocalBreakerSettings } from './local-breakers.js';
import type { RiskSettings } from './risk.js';

export interface UnwindSettings {
  policy: 'hedge' | 'close';
  /** Price steps tried before giving up (each a new IOC order). */
  steps: number;
  /** Ticks (ten-thousandths of $1) each step moves against us. */
  stepTicks: number;
}

export interface ExecutorSettings {
  risk: RiskSettings;
  /** Which venue's leg of a cross-venue set goes first. */
  firstVenue: Venue;
  unwind: UnwindSettings;
  /** The daily loss limit resets at this zone's midnight. */
  timeZone: string;
  /** The executor's own breakers: venue round trip too slow, or too many venue failures in a row. */
  localBreakers: LocalBreakerSettings;
  /** How long an order we cannot find may still appear at the venue (ambiguous send, start-up). */
  ambiguousGraceMs: number;
  intake: IntakeSettings;
  /** Pending entries idle this long with another consumer are claimed. */
  claimIdleMs: number;
  /** Signals handled at once (their decisions are serialized; venue round trips overlap). */
  concurrency: number;
  /** How far in the future a signal's createdTs may be (the detector's clock against ours); beyond it, refused. */
  maxClockSkewMs: number;
}

export type RiskTuning = Partial<Pick<RiskSettings, 'marketCooldownMs' | 'maxQuoteAgeMs' | 'minLegSize'>>;

/** Settings from the shard config's limits (USD → ten-thousandths) plus defaults and overrides. */
export function defaultExecutorSettings(
  config: ShardConfig,
  overrides: Partial<ExecutorSettings> = {},
  tuning: RiskTuning = {},
): ExecutorSettings {
  const usd = (dollars: number) => dollars * 10_000;
  const limits = config.executor.limits;
  return {
    risk: {
      limits: {
        maxOrder: usd(limits.maxOrderUsd),
        perGame: usd(limits.perGameUsd),
        perSport: usd(limits.perSportUsd),
        dailyLoss: usd(limits.dailyLossUsd),
        maxOpenPositions: limits.maxOpenPositions,
        bankroll: usd(config.executor.bankrollUsd),
      },
      maxQuoteAgeMs: Math.max(config.detector.maxQuoteAgeMs, 1) * 2,
      marketCooldownMs: 1_000,
      minLegSize: 100,
      ...tuning,
    },
    firstVenue: 'polymarket',
    unwind: { policy: 'close', steps: 3, stepTicks: 100 },
    timeZone: 'America/New_York',
    localBreakers: { latency: { maxOrderRttMs: 2_000, cooldownMs: 60_000 }, venueErrors: { maxConsecutive: 5, cooldownMs: 60_000 } },
    ambiguousGraceMs: 5_000,
    intake: { group: 'executor', consumer: `${hostname()}-${process.pid}`, batch: 32, blockMs: 1_000 },
    claimIdleMs: 30_000,
    concurrency: 8,
    maxClockSkewMs: 1_000,
    ...overrides,
  };
}
