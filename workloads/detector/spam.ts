// Signal spam control (260 signals/min once flooded the original system's executor). One live signal
// per market and direction: a new one only when its edge moved by at least edgeStepBps from the live
// one, or cooldownMs after it. Then token buckets per market and per shard bound the rate of whatever
// passes. Time is passed in; tokens are integers (1 token = 60 000 units refilled `perMinute` units
// per ms), so the arithmetic is exact.

export interface BucketSettings {
  /** Burst size in signals. */
  capacity: number;
  /** Sustained rate in signals per minute. */
  perMinute: number;
}

export interface SpamSettings {
  cooldownMs: number;
  edgeStepBps: number;
  perMarket: BucketSettings;
  perShard: BucketSettings;
}

export type SpamReason = 'unchanged' | 'market_rate' | 'shard_rate';
export type SpamDecision = { emit: true } | { emit: false; reason: SpamReason };

const UNITS_PER_TOKEN = 60_000;
const EMIT: SpamDecision = Object.freeze({ emit: true });
const UNCHANGED: SpamDecision = Object.freeze({ emit: false, reason: 'unchanged' });
const MARKET_RATE: SpamDecision = Object.freeze({ emit: false, reason: 'market_rate' });
const SHARD_RATE: SpamDecision = Object.freeze({ emit: false, reason: 'shard_rate' });

export class TokenBucket {
  private units: number;
  private updated: number | undefined;
  private readonly max: number;

  constructor(private readonly settings: BucketSettings) {
    if (!Number.isInteger(settings.capacity) || settings.capacity < 1) throw new RangeError('bucket capacity must be a positive integer');
    if (!Number.isInteger(settings.perMinute) || settings.perMinute < 0) throw new RangeError('bucket rate must be a non-negative integer');
    this.max = settings.capacity * UNITS_PER_TOKEN;
    this.units = this.max;
  }

  /** Whether a token is available at `now` (refills first, takes nothing). */
  available(now: number): boolean {
    this.refill(now);
    return this.units >= UNITS_PER_TOKEN;
  }

  take(now: number): boolean {
    if (!this.available(now)) return false;
    this.units -= UNITS_PER_TOKEN;
    return true;
  }

  private refill(now: number): void {
    if (this.updated !== undefined && now > this.updated) {
      this.units = Math.min(this.max, this.units + (now - this.updated) * this.settings.perMinute);
    }
    if (this.updated === undefined || now > this.updated) this.updated = now;
  }
}

interface Live {
  edgeBps: number;
  emittedAt: number;
}

interface MarketState {
  bucket: TokenBucket;
  live: Map<string, Live>;
}

export class SpamControl {
  private readonly markets = new Map<string, MarketState>();
  private readonly shard: TokenBucket;

  constructor(private readonly settings: SpamSettings) {
    this.shard = new TokenBucket(settings.perShard);
  }

  /**
   * Decides whether a signal for (`marketId`, `direction`) with `edgeBps` may go out at `now`; if it
   * may, it becomes the live signal and the buckets are charged.
   */
  consider(marketId: string, direction: string, edgeBps: number, now: number): SpamDecision {
    let market = this.markets.get(marketId);
    const live = market?.live.get(direction);
    if (live) {
      const step = edgeBps - live.edgeBps;
      if ((step < 0 ? -step : step) < this.settings.edgeStepBps && now - live.emittedAt < this.settings.cooldownMs) return UNCHANGED;
    }
    if (!market) {
      market = { bucket: new TokenBucket(this.settings.perMarket), live: new Map() };
      this.markets.set(marketId, market);
    }
    if (!market.bucket.available(now)) return MARKET_RATE;
    if (!this.shard.available(now)) return SHARD_RATE;
    market.bucket.take(now);
    this.shard.take(now);
    if (live) {
      live.edgeBps = edgeBps;
      live.emittedAt = now;
    } else {
      market.live.set(direction, { edgeBps, emittedAt: now });
    }
    return EMIT;
  }

  /** The live signal of a market and direction, if any. */
  live(marketId: string, direction: string): Readonly<Live> | undefined {
    return this.markets.get(marketId)?.live.get(direction);
  }

  /** Drops a market's state (it left the shard). */
  forget(marketId: string): void {
    this.markets.delete(marketId);
  }
}
