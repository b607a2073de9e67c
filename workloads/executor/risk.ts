// Pre-trade risk: every rule named, evaluated in order, pure. A signal either passes — sized down
// as far as needed to fit every limit — or is refused by the first rule that cannot be met even
// at the smallest size. Money in ten-thousandths of $1, sizes in hundredths of a contract.
import { notionalCeil, PRICE_ONE } from '../../contracts/decimal.js';
import type { ControlState, Leg, Signal } from '../../contracts/messages.js';
import { exposure, gameWorstLoss, type Holding } from './exposure.js';
import type { LocalBreakerRule } from './local-breakers.js';

export const riskRules = [
  'control-unknown',
  'circuit-open',
  'paused',
  'duplicate-signal',
  'latency-breaker',
  'venue-error-breaker',
  'stale-signal',
  'market-cooldown',
  'max-open-positions',
  'max-order',
  'bankroll',
  'per-game',
  'per-sport',
  'daily-loss',
  // Checked by the executor around the pure evaluation (executor.ts), named here so that every
  // rejection has one rule and one metric label.
  'invalid-signal',
  'unknown-market',
  'venue-unavailable',
  // A venue's terms for the market (fees, tick, fractional contracts) could not be read: not traded.
  'market-terms-unknown',
] as const;
export type RiskRule = (typeof riskRules)[number];

export interface RiskLimits {
  maxOrder: number;
  perGame: number;
  perSport: number;
  dailyLoss: number;
  maxOpenPositions: number;
  /** Starting capital; sizing adds realized PnL only, never unrealized gains. */
  bankroll: number;
}

export interface RiskSettings {
  limits: RiskLimits;
  /** Oldest quote age (at decision time) a signal may rest on. */
  maxQuoteAgeMs: number;
  /** No new signal on a market this soon after a fill there. */
  marketCooldownMs: number;
  /** Smallest leg worth sending (hundredths of a contract). */
  minLegSize: number;
}

export interface RiskContext {
  now: number;
  /** The shard's control key; undefined when missing or unreadable. */
  control: ControlState | undefined;
  paused: boolean;
  signal: Signal;
  market: { game: string; sport: string };
  /** Open positions plus orders in flight (reserved as if filled). */
  holdings: Holding[];
  realizedPnlToday: number;
  unrealizedPnl: number;
  realizedPnlTotal: number;
  lastFillAt?: number;
  alreadySeen: boolean;
  /** One of the executor's own breakers, open until then (local-breakers.ts). */
  localBreaker?: { rule: LocalBreakerRule; until: number };
  /** The venue's fee for a leg at its size (ten-thousandths of $1). */
  fee: (leg: Leg) => number;
}

export type RiskDecision =
  { accept: true; legs: Leg[]; cost: number; resizedBy?: RiskRule } | { accept: false; rule: RiskRule; reason: string };

const usd = (v: number) => `$${(v / 10_000).toFixed(2)}`;

function scaled(legs: Leg[], size: number): Leg[] {
  return legs.map((leg) => ({ ...leg, size }));
}

function legCost(leg: Leg, fee: (leg: Leg) => number): number {
  // Buying pays price × size; selling a contract we hold is not modelled here (the detector buys sets).
  return notionalCeil(leg.limitPrice, leg.size) + fee(leg);
}

/** Checks the size-dependent rules for `legs`; returns the first broken one, if any. */
function sizeViolation(ctx: RiskContext, settings: RiskSettings, legs: Leg[]): { rule: RiskRule; reason: string } | undefined {
  const { limits } = settings;
  const cost = legs.reduce((sum, leg) => sum + legCost(leg, ctx.fee), 0);
  const maxOrder =
    ctx.control?.state === 'half_open' && ctx.control.maxOrder !== undefined
      ? Math.min(limits.maxOrder, ctx.control.maxOrder)
      : limits.maxOrder;
  if (cost > maxOrder)
    return {
      rule: 'max-order',
      reason: `order cost ${usd(cost)} over the ${ctx.control?.state === 'half_open' ? 'probation ' : ''}cap ${usd(maxOrder)}`,
    };

  const before = exposure(ctx.holdings);
  const openCost = ctx.holdings.reduce((sum, h) => sum + h.cost, 0);
  const available = limits.bankroll + ctx.realizedPnlTotal - openCost;
  if (cost > available)
    return { rule: 'bankroll', reason: `order cost ${usd(cost)} over available capital ${usd(available)} (unrealized gains excluded)` };

  const newHoldings: Holding[] = legs.map((leg) => ({
    marketId: ctx.signal.marketId,
    game: ctx.market.game,
    sport: ctx.market.sport,
    venue: leg.venue,
    outcome: leg.outcome,
    size: leg.size,
    cost: legCost(leg, ctx.fee),
  }));
  const gameAfter = gameWorstLoss([...ctx.holdings.filter((h) => h.game === ctx.market.game), ...newHoldings]);
  if (gameAfter > limits.perGame)
    return { rule: 'per-game', reason: `game ${ctx.market.game} would risk ${usd(gameAfter)}, limit ${usd(limits.perGame)}` };

  const gameBefore = before.byGame.get(ctx.market.game) ?? 0;
  const sportAfter = (before.bySport.get(ctx.market.sport) ?? 0) - gameBefore + gameAfter;
  if (sportAfter > limits.perSport)
    return { rule: 'per-sport', reason: `sport ${ctx.market.sport} would risk ${usd(sportAfter)}, limit ${usd(limits.perSport)}` };

  const lossToday = Math.max(0, -(ctx.realizedPnlToday + ctx.unrealizedPnl));
  const worstAfter = lossToday + Math.max(0, gameAfter - gameBefore);
  if (worstAfter > limits.dailyLoss)
    return {
      rule: 'daily-loss',
      reason: `today's loss ${usd(lossToday)} plus this order's worst case would pass ${usd(limits.dailyLoss)}`,
    };
  return undefined;
}

export function evaluateRisk(ctx: RiskContext, settings: RiskSettings): RiskDecision {
  const reject = (rule: RiskRule, reason: string): RiskDecision => ({ accept: false, rule, reason });
  const { signal } = ctx;
  // A limit of $0 or $1 (or beyond) is no price a venue trades at: a fault upstream, whatever the schema let through.
  const untradable = signal.legs.find((leg) => !(Number.isSafeInteger(leg.limitPrice) && leg.limitPrice > 0 && leg.limitPrice < PRICE_ONE));
  if (untradable) return reject('invalid-signal', `leg limit price ${untradable.limitPrice} is outside (0, ${PRICE_ONE})`);
  if (!ctx.control) return reject('control-unknown', 'no readable control state for the shard: not trading');
  if (ctx.control.state === 'open') return reject('circuit-open', `circuit breaker open: ${ctx.control.reason}`);
  if (ctx.paused) return reject('paused', 'shard paused by spec.paused');
  if (ctx.alreadySeen) return reject('duplicate-signal', `signal ${signal.id} already handled`);
  if (ctx.localBreaker !== undefined && ctx.now < ctx.localBreaker.until) {
    return reject(ctx.localBreaker.rule, `${ctx.localBreaker.rule} open for ${ctx.localBreaker.until - ctx.now} ms more`);
  }
  const quoteAge = Math.max(0, ...signal.quoteAgesMs) + Math.max(0, ctx.now - signal.createdTs);
  if (quoteAge > settings.maxQuoteAgeMs)
    return reject('stale-signal', `quotes are ${quoteAge} ms old at decision time (max ${settings.maxQuoteAgeMs} ms)`);
  if (ctx.lastFillAt !== undefined && ctx.now - ctx.lastFillAt < settings.marketCooldownMs) {
    return reject(
      'market-cooldown',
      `filled on ${signal.marketId} ${ctx.now - ctx.lastFillAt} ms ago (cool-down ${settings.marketCooldownMs} ms)`,
    );
  }
  const open = exposure(ctx.holdings).openMarkets;
  if (!open.has(signal.marketId) && open.size >= settings.limits.maxOpenPositions) {
    return reject('max-open-positions', `${open.size} markets already held (max ${settings.limits.maxOpenPositions})`);
  }

  // Every leg of a set has one size. Exposure grows with size, so search the largest that fits.
  const fullSize = Math.min(...signal.legs.map((l) => l.size));
  if (fullSize < settings.minLegSize) return reject('max-order', `signal size ${fullSize} below the minimum leg ${settings.minLegSize}`);
  const atMin = sizeViolation(ctx, settings, scaled(signal.legs, settings.minLegSize));
  if (atMin) return reject(atMin.rule, atMin.reason);
  const atFull = sizeViolation(ctx, settings, scaled(signal.legs, fullSize));
  let size = fullSize;
  let resizedBy: RiskRule | undefined;
  if (atFull) {
    let low = settings.minLegSize; // fits
    let high = fullSize; // does not fit
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (sizeViolation(ctx, settings, scaled(signal.legs, mid))) high = mid;
      else low = mid;
    }
    size = low;
    // The rule that stopped the size one step larger (not necessarily the first to break at full size).
    resizedBy = sizeViolation(ctx, settings, scaled(signal.legs, size + 1))?.rule;
  }
  const legs = scaled(signal.legs, size);
  return { accept: true, legs, cost: legs.reduce((sum, leg) => sum + legCost(leg, ctx.fee), 0), ...(resizedBy ? { resizedBy } : {}) };
}
