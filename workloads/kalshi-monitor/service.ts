// The Kalshi monitor process: one authenticated WebSocket to Kalshi's Trade API v2 carrying the
// shard's markets on orderbook_delta, the KalshiFeed state machine, and the quote publisher.
// Socket, Redis and timers live here; the protocol and books are in core.ts and ../market-data.
import type { KeyObject } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { Backoff, type BackoffOptions } from '../market-data/backoff.js';
import { MonitorMetrics } from '../market-data/metrics.js';
import { quoteSequence } from '../market-data/normalize.js';
import { flushAndClose, monitorRedis, socketAccounting, sweepPeriodMs, venuePublisher } from '../market-data/monitor-wiring.js';
import type { QuotePublisher } from '../market-data/publisher.js';
import { ReconnectingSocket, type Refusal } from '../market-data/socket.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { KalshiFeed, type KalshiFeedEvent, type KalshiMarketRef } from './core.js';

export interface KalshiMonitorOptions {
  shard: string;
  markets: KalshiMarketRef[];
  /** Full WebSocket URL, e.g. wss://api.elections.kalshi.com/trade-api/ws/v2. */
  wsUrl: string;
  keyId: string;
  privateKey: KeyObject;
  redisUrl: string;
  maxQuoteAgeMs: number;
  /** Levels per side in published quotes (default 10). */
  depth?: number;
  /** MAXLEN ~ of the quotes stream (default 100 000). */
  streamMaxLen?: number;
  backoff?: BackoffOptions;
  /** Minimum pause after Kalshi refuses our credentials (default 30 s): a config error is not fixed by hammering. */
  authRetryMs?: number;
  /** Drop a connection silent for this long (default 30 s; Kalshi pings every 10 s). */
  silenceMs?: number;
  useYesPrice?: boolean;
  crossedGraceMs?: number;
  resyncTimeoutMs?: number;
  /** Staleness/crossed sweep period (default min(250 ms, maxQuoteAgeMs / 4)). */
  tickMs?: number;
  registry?: Registry;
  log: Logger;
}

export class KalshiMonitor {
  readonly registry: Registry;
  readonly metrics: MonitorMetrics;
  readonly feed: KalshiFeed;
  readonly publisher: QuotePublisher;
  readonly redis: Redis;
  private readonly socket: ReconnectingSocket;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  /** The last connection problem, for /readyz and the logs. */
  lastError: string | undefined;

  constructor(private readonly options: KalshiMonitorOptions) {
    this.log = options.log;
    this.registry = options.registry ?? new Registry();
    this.redis = monitorRedis(options.redisUrl, this.log);
    const venue = 'kalshi';
    this.feed = new KalshiFeed({
      markets: options.markets,
      depth: options.depth ?? 10,
      maxQuoteAgeMs: options.maxQuoteAgeMs,
      useYesPrice: options.useYesPrice,
      crossedGraceMs: options.crossedGraceMs,
      resyncTimeoutMs: options.resyncTimeoutMs,
      publish: (key, build) => this.publisher.publishLazy(key, build),
      send: (command) => this.socket.send(JSON.stringify(command)),
      event: (event) => this.onFeedEvent(event),
      nextSeq: quoteSequence(),
    });
    const byTicker = new Map(options.markets.map((m) => [m.marketId, m.ticker]));
    this.metrics = new MonitorMetrics(this.registry, venue, {
      ages: (now) =>
        [...byTicker.entries()].map(([market, ticker]) => ({ market, seconds: this.feed.freshness.ageMs(ticker, now) / 1000 })),
    });
    this.publisher = venuePublisher({
      redis: this.redis,
      shard: options.shard,
      streamMaxLen: options.streamMaxLen,
      venue,
      metrics: this.metrics,
      log: this.log,
    });
    this.backoff = new Backoff(options.backoff);
    const wsPath = new URL(options.wsUrl).pathname;
    this.socket = new ReconnectingSocket({
      url: options.wsUrl,
      backoff: this.backoff,
      headers: () => kalshiSignedHeaders(options.keyId, options.privateKey, 'GET', wsPath),
      silenceMs: options.silenceMs ?? 30_000,
      log: this.log,
      onOpen: () => {
        this.log.info({ url: options.wsUrl, markets: options.markets.length }, 'connected to Kalshi; subscribing');
        this.lastError = undefined;
        this.feed.onOpen(Date.now());
      },
      ...socketAccounting({ venue, metrics: this.metrics, log: this.log, feed: this.feed, setError: (error) => (this.lastError = error) }),
      onRefused: (refusal) => this.onRefused(refusal),
    });
  }

  private onRefused({ status, body }: Refusal): number {
    let detail = body.trim().slice(0, 300);
    try {
      const parsed = JSON.parse(body) as { code?: string; message?: string; details?: string };
      detail = [parsed.code, parsed.message, parsed.details].filter(Boolean).join(': ');
    } catch {
      // not JSON
    }
    if (status === 401 || status === 403) {
      this.lastError =
        `Kalshi refused our credentials (HTTP ${status} ${detail}); check that ARBEES_KALSHI_KEY_ID and ` +
        `ARBEES_KALSHI_PRIVATE_KEY are a matching key of this environment (demo keys fail on production)`;
      this.metrics.connectErrors.inc({ venue: 'kalshi', reason: 'auth' });
      this.log.error({ status, detail, keyId: this.options.keyId }, this.lastError);
      return this.options.authRetryMs ?? 30_000;
    }
    this.lastError = `Kalshi refused the WebSocket handshake: HTTP ${status} ${detail}`;
    this.metrics.connectErrors.inc({ venue: 'kalshi', reason: status === 429 ? 'rate_limited' : 'http' });
    this.log.warn({ status, detail }, this.lastError);
    return status === 429 ? 5_000 : 0;
  }

  private onFeedEvent(event: KalshiFeedEvent): void {
    const venue = 'kalshi';
    switch (event.kind) {
      case 'subscribed':
        this.metrics.connected.set({ venue }, 1);
        this.log.info({ sid: event.sid }, 'subscribed to orderbook_delta');
        break;
      case 'gap':
        this.metrics.seqGaps.inc({ venue });
        this.log.warn({ sid: event.sid, seq: event.seq }, 'seq gap; resyncing books');
        break;
      case 'resync':
        this.metrics.resyncs.inc({ venue }, event.tickers.length);
        this.log.info({ tickers: event.tickers.length, reason: event.reason }, 'resyncing books from fresh snapshots');
        break;
      case 'malformed':
        this.metrics.malformed.inc({ venue });
        this.log.debug({ error: event.error }, 'skipped a malformed message');
        break;
      case 'venue_error':
        this.log[event.fatal ? 'error' : 'warn']({ code: event.code, message: event.message }, 'Kalshi error message');
        if (event.fatal) this.lastError = `Kalshi refused the subscription: ${event.code} ${event.message}`;
        break;
      case 'reconnect':
        this.socket.reconnect(event.reason);
        break;
    }
    if (event.kind === 'subscribed' && this.feed.ready().ready) this.backoff.reset();
  }

  async start(): Promise<void> {
    await this.redis.connect().catch((error: Error) => this.log.warn({ err: error.message }, 'redis not reachable yet; will keep trying'));
    this.socket.start();
    const tickMs = sweepPeriodMs(this.options.maxQuoteAgeMs, this.options.tickMs);
    this.timer = setInterval(() => {
      const now = Date.now();
      this.feed.tick(now);
      const counts = this.feed.freshness.counts();
      this.metrics.staleBooks.set({ venue: 'kalshi' }, counts.stale);
      if (this.feed.ready().ready) this.backoff.reset();
    }, tickMs);
  }

  readiness(): { ready: boolean; reason?: string } {
    const r = this.feed.ready();
    if (!r.ready && this.lastError) return { ready: false, reason: `${r.reason}: ${this.lastError}` };
    return r;
  }

  /** Stops the feed, publishes every book as stale, flushes, and closes Redis. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.socket.stop();
    this.feed.onClose(Date.now());
    await flushAndClose(this.publisher, this.redis);
  }
}
