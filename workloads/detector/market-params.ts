// The detector's fee terms: what the executor read from the venues and published in the shard's
// market-params hash (contracts/market-params.ts), read every `pollMs` into the core's strict fee
// table. A market the executor has not described, whose terms it could not read, or whose entry is
// older than `maxAgeMs` (the executor stopped refreshing it) has unknown fees and is not priced.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { marketParamsKey, marketParamsSchema, type MarketParams } from '../../contracts/market-params.js';
import type { FeeTable } from '../../venues/fee-table.js';

export interface MarketParamsFollowerOptions {
  shard: string;
  redisUrl: string;
  fees: FeeTable;
  /** The shard's markets (discovery may add more: every market in the hash is read). */
  markets?: Iterable<string>;
  registry?: Registry;
  log?: Logger;
  /** Between reads (default 2 s). */
  pollMs?: number;
  /** An entry older than this is not trusted (default 15 min: three of the executor's refreshes). */
  maxAgeMs?: number;
  now?: () => number;
}

export class MarketParamsFollower {
  private readonly redis: Redis;
  private readonly unknownGauge: Gauge | undefined;
  private readonly now: () => number;
  /** The last text of each entry, what it parsed to (null: unreadable), and the terms applied. */
  private readonly texts = new Map<string, string>();
  private readonly cache = new Map<string, MarketParams | null>();
  private readonly applied = new Map<string, MarketParams>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MarketParamsFollowerOptions) {
    this.now = options.now ?? Date.now;
    this.redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
    if (options.registry) {
      this.unknownGauge = new Gauge({
        name: 'arbees_detector_markets_fees_unknown',
        help: 'Markets the detector does not price because their venue fee terms are unknown or stale',
        registers: [options.registry],
      });
    }
  }

  async start(): Promise<void> {
    await this.redis.connect().catch(() => undefined);
    await this.poll();
    const loop = () => {
      this.timer = setTimeout(() => void this.poll().finally(loop), this.options.pollMs ?? 2_000);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.redis.disconnect();
  }

  /** Reads the hash once and applies every entry; a market without a good, fresh entry is unknown. */
  async poll(): Promise<void> {
    let entries: Record<string, string> | undefined;
    try {
      entries = await this.redis.hgetall(marketParamsKey(this.options.shard));
    } catch (error) {
      // Unreadable now: what was read stays until it ages.
      this.options.log?.debug({ err: (error as Error).message }, 'cannot read market terms');
    }
    if (entries) {
      for (const [id, text] of Object.entries(entries)) {
        if (this.texts.get(id) === text) continue;
        this.texts.set(id, text);
        const parsed = marketParamsSchema.safeParse(safeJson(text));
        this.cache.set(id, parsed.success ? parsed.data : null);
      }
      for (const id of [...this.cache.keys()]) if (!(id in entries)) this.drop(id);
    }
    const maxAge = this.options.maxAgeMs ?? 900_000;
    let unknown = 0;
    for (const id of new Set([...(this.options.markets ?? []), ...this.cache.keys()])) {
      const params = this.cache.get(id);
      const age = params ? this.now() - params.fetchedAt : 0;
      if (!params || age > maxAge) {
        const reason = params
          ? `terms ${Math.round(age / 1000)} s old`
          : params === null
            ? 'unreadable terms'
            : 'no terms from the executor yet';
        this.options.fees.forget(id, reason);
        this.applied.delete(id);
      } else if (this.applied.get(id) !== params) {
        this.applied.set(id, params);
        this.options.fees.apply(params);
        if (!this.options.fees.forMarket(id))
          this.options.log?.warn({ market: id, reason: this.options.fees.reason(id) }, 'market fee terms unknown: not priced');
      }
      if (!this.options.fees.forMarket(id)) unknown++;
    }
    this.unknownGauge?.set(unknown);
  }

  private drop(id: string): void {
    this.cache.delete(id);
    this.texts.delete(id);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
