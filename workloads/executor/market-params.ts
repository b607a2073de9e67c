// Each market's trading terms, read from the venues (venues/market-params.ts) and kept current: the
// executor prices and sizes orders with them, and publishes them to the shard's market-params hash
// for the detector (contracts/market-params.ts), which has no way out to the venues. Refreshed every
// `intervalMs`; Kalshi's scheduled fee changes (GET /series/fee_changes, polled every
// `changesIntervalMs`) are applied at their time and confirmed by a fresh read. Polymarket publishes
// no such notice: its terms follow the schedule only. A venue that cannot be read leaves the terms
// unknown with the reason (a market whose terms are unknown is not traded), never a guess.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ProxyAgent, fetch as fetchThrough } from 'undici';
import { NO_REDIRECT, fetchErrorText, readBounded } from '../../lib/bounded-http.js';
import { marketParamsKey, type MarketParams, type UnknownParams } from '../../contracts/market-params.js';
import type { ShardConfig, ShardMarket } from '../../contracts/shard-config.js';
import type { FeeTable } from '../../venues/fee-table.js';
import { KalshiTerms, kalshiFeesOf, polymarketTerms, type GetJson } from '../../venues/market-params.js';
import type { PolymarketTick } from '../../venues/polymarket/ticks.js';

/** Markets read at once. */
const READERS = 4;
/** How long after a scheduled fee change its markets are read again (clocks differ). */
const CONFIRM_AFTER_MS = 5_000;
/** The longest delay a Node timer takes as given (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * One answer: a market, event or series (a few KiB), a CLOB market or fee rate (smaller), or a
 * series' scheduled fee changes (a short list). A redirect or a larger answer fails the read, which
 * leaves the market's terms unknown (not traded) until a later read.
 */
const ANSWER_BYTES = 4 * 1024 * 1024;

export interface MarketParamsOptions {
  shard: string;
  config: ShardConfig;
  fees: FeeTable;
  log?: Logger;
  registry?: Registry;
  /** Where the terms are published for the detector (omitted: not published). */
  redisUrl?: string;
  /** gluetun's HTTP proxy: Polymarket is read only through it. */
  polymarketProxyUrl?: string;
  /** Between full reads (default 5 min). */
  intervalMs?: number;
  /** Between reads of Kalshi's scheduled fee changes (default 60 s). */
  changesIntervalMs?: number;
  /** How soon markets left unknown by a read are read again (default 15 s). */
  retryMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

export class MarketParamsRefresher {
  private readonly params = new Map<string, MarketParams>();
  private readonly kalshi: KalshiTerms;
  private readonly getPolymarket: GetJson;
  private readonly proxy: ProxyAgent | undefined;
  private readonly redis: Redis | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Scheduled fee changes already set to apply, by series and time. */
  private readonly scheduled = new Set<string>();
  private readonly now: () => number;
  private readonly unknownGauge: Gauge<'venue'> | undefined;
  private readonly refreshes: Counter<'result'> | undefined;
  private stopped = false;
  private retrying = false;
  private markets: ShardMarket[];

  constructor(private readonly options: MarketParamsOptions) {
    this.now = options.now ?? Date.now;
    this.markets = options.config.markets;
    const timeout = options.requestTimeoutMs ?? 5_000;
    this.proxy = options.polymarketProxyUrl ? new ProxyAgent(options.polymarketProxyUrl) : undefined;
    const read =
      (dispatcher?: ProxyAgent): GetJson =>
      async (url) => {
        const init = { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeout), ...NO_REDIRECT };
        const res = dispatcher ? await fetchThrough(url, { ...init, dispatcher }) : await fetch(url, init);
        const text = await readBounded(res, ANSWER_BYTES);
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        return { status: res.status, body };
      };
    this.kalshi = new KalshiTerms(options.config.venues.kalshi.restUrl, read());
    this.getPolymarket = read(this.proxy);
    if (options.redisUrl) {
      this.redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      this.redis.on('error', () => undefined);
    }
    if (options.registry) {
      const registers = [options.registry];
      this.unknownGauge = new Gauge({
        name: 'arbees_market_params_unknown',
        help: 'Markets whose trading terms (fees, tick) could not be read from the venue, by venue: they are not traded',
        labelNames: ['venue'],
        registers,
      });
      this.refreshes = new Counter({
        name: 'arbees_market_params_reads_total',
        help: 'Reads of the markets’ trading terms from the venues, by result (ok, unknown)',
        labelNames: ['result'],
        registers,
      });
    }
  }

  /** Reads every market now, then keeps them current until stopped. */
  async start(): Promise<void> {
    await this.refresh();
    this.every(this.options.intervalMs ?? 300_000, () => this.refresh());
    this.every(this.options.changesIntervalMs ?? 60_000, () => this.watchFeeChanges());
    await this.watchFeeChanges();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.redis?.disconnect();
    await this.proxy?.close();
  }

  /** The shard's markets changed (a config reload): read the new list at once. */
  setMarkets(markets: ShardMarket[]): void {
    this.markets = markets;
    void this.refresh();
  }

  get(marketId: string): MarketParams | undefined {
    return this.params.get(marketId);
  }

  tick(marketId: string): PolymarketTick | undefined {
    const p = this.params.get(marketId)?.polymarket;
    return p?.known ? p.tick : undefined;
  }

  /** Whether Kalshi takes fractions of a contract on the market (undefined: unknown). */
  fractional(marketId: string): boolean | undefined {
    const k = this.params.get(marketId)?.kalshi;
    return k?.known ? k.fractional : undefined;
  }

  /** Reads every market's terms from both venues and applies them, a few markets at a time (the venues' rate limits). */
  async refresh(markets: ShardMarket[] = this.markets): Promise<void> {
    this.kalshi.newRound();
    const queue = [...markets];
    const worker = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        const market = m;
        const [kalshi, polymarket] = await Promise.all([
          this.attempt(() => this.kalshi.market(market.kalshi.ticker)),
          this.attempt(() =>
            polymarketTerms(this.options.config.venues.polymarket.clobUrl, market.polymarket.yesTokenId, this.getPolymarket),
          ),
        ]);
        await this.apply({ marketId: market.id, fetchedAt: this.now(), kalshi, polymarket });
      }
    };
    await Promise.all(Array.from({ length: Math.min(READERS, markets.length) }, worker));
    this.updateGauge();
    // A venue that did not answer is asked again soon: its markets are not traded meanwhile.
    const unknown = this.markets.filter((m) => !this.params.get(m.id)?.kalshi.known || !this.params.get(m.id)?.polymarket.known);
    if (unknown.length > 0 && !this.retrying) {
      this.retrying = true;
      this.after(this.options.retryMs ?? 15_000, async () => {
        this.retrying = false;
        await this.refresh(unknown);
      });
    }
  }

  private async attempt<T>(read: () => Promise<T>): Promise<T | UnknownParams> {
    try {
      return await read();
    } catch (error) {
      return { known: false, reason: `venue unreachable: ${fetchErrorText(error)}` };
    }
  }

  private async apply(params: MarketParams): Promise<void> {
    const before = this.params.get(params.marketId);
    this.params.set(params.marketId, params);
    this.options.fees.apply(params);
    const known = params.kalshi.known && params.polymarket.known;
    this.refreshes?.inc({ result: known ? 'ok' : 'unknown' });
    if (!known)
      this.options.log?.warn(
        { market: params.marketId, reason: this.options.fees.reason(params.marketId) },
        'market terms unknown: not traded',
      );
    else if (before && JSON.stringify({ ...before, fetchedAt: 0 }) !== JSON.stringify({ ...params, fetchedAt: 0 }))
      this.options.log?.info({ market: params.marketId, kalshi: params.kalshi, polymarket: params.polymarket }, 'market terms changed');
    await this.redis?.hset(marketParamsKey(this.options.shard), params.marketId, JSON.stringify(params)).catch(() => undefined);
  }

  /** Kalshi's announced fee changes: each applied to its series' markets when its time comes, then read back. */
  private async watchFeeChanges(): Promise<void> {
    const series = new Map<string, string[]>();
    for (const [marketId, p] of this.params)
      if (p.kalshi.known) series.set(p.kalshi.series, [...(series.get(p.kalshi.series) ?? []), marketId]);
    for (const [ticker, marketIds] of series) {
      let changes;
      try {
        changes = await this.kalshi.feeChanges(ticker);
      } catch (error) {
        this.options.log?.debug({ series: ticker, err: (error as Error).message }, 'cannot read scheduled fee changes');
        continue;
      }
      for (const change of changes) {
        const key = `${ticker}@${change.atMs}`;
        // Past changes are in the series already; one beyond a timer's reach is set on a later poll.
        if (change.atMs <= this.now() || change.atMs - this.now() > MAX_TIMER_MS || this.scheduled.has(key)) continue;
        this.scheduled.add(key);
        this.options.log?.info({ series: ticker, at: new Date(change.atMs).toISOString() }, 'Kalshi fee change scheduled');
        this.after(change.atMs - this.now(), async () => {
          const fees = kalshiFeesOf({ fee_type: change.feeType, fee_multiplier: change.multiplier }, undefined);
          for (const id of marketIds) {
            const p = this.params.get(id);
            if (!p?.kalshi.known) continue;
            await this.apply({ ...p, fetchedAt: this.now(), kalshi: 'known' in fees ? fees : { ...p.kalshi, ...fees } });
          }
          this.updateGauge();
          // Read back once the venue's clock has surely passed the change too.
          this.after(CONFIRM_AFTER_MS, () => this.refresh(this.markets.filter((m) => marketIds.includes(m.id))));
        });
      }
    }
  }

  private updateGauge(): void {
    if (!this.unknownGauge) return;
    const all = [...this.params.values()];
    this.unknownGauge.set({ venue: 'kalshi' }, all.filter((p) => !p.kalshi.known).length);
    this.unknownGauge.set({ venue: 'polymarket' }, all.filter((p) => !p.polymarket.known).length);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const run = () =>
      this.after(ms, async () => {
        await fn().catch((error: unknown) => this.options.log?.warn({ err: error }, 'reading market terms failed'));
        if (!this.stopped) run();
      });
    run();
  }

  private after(ms: number, fn: () => Promise<void>): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        void fn().catch((error: unknown) => this.options.log?.warn({ err: error }, 'applying market terms failed'));
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.timers.add(timer);
  }
}
