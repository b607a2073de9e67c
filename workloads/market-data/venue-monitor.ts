// What both venue monitors (kalshi-monitor/service.ts, polymarket-monitor/service.ts) wire the same
// way around their feed: the metrics registry, the Redis connection, the quote publisher and its
// metrics, the reconnect backoff, the venue WebSocket with message counting and connection-loss
// handling, the periodic sweep, readiness, and the flush on stop. Each venue supplies its feed, its
// socket specifics (Kalshi's signed headers, Polymarket's VPN gate and PING keepalive), how it
// reads a refused handshake, and what its own feed events mean. What a hostile venue can make
// frequent (refused books and frames, clamped timestamps, invalid quotes) is counted every time and
// logged at most once per kind every 10 s.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { streamKeys, type Venue } from '../../contracts/messages.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { frameProblem, SCREEN_FROM_BYTES, type FrameProblem } from './bounds.js';
import type { FeedEvent } from './feed.js';
import { FrameMemory } from './frame-memory.js';
import { LogThrottle } from './log-throttle.js';
import { MonitorMetrics, type BookAges } from './metrics.js';
import { quoteSequence } from './normalize.js';
import { QuotePublisher } from './publisher.js';
import { ReconnectingSocket, type ReconnectingSocketOptions, type Refusal } from './socket.js';
import type { StalenessTracker } from './staleness.js';
import type { Readiness } from '../../lib/ops-server.js';

/** The options every venue monitor takes. */
export interface VenueMonitorOptions {
  shard: string;
  /** The venue's WebSocket URL. */
  wsUrl: string;
  redisUrl: string;
  maxQuoteAgeMs: number;
  /** Levels per side in published quotes (default 10). */
  depth?: number;
  /** MAXLEN ~ of the quotes stream (default 100 000). */
  streamMaxLen?: number;
  backoff?: BackoffOptions;
  /** Drop a connection silent for this long (default 30 s; both venues ping or pong every 10 s). */
  silenceMs?: number;
  crossedGraceMs?: number;
  resyncTimeoutMs?: number;
  /** Subscribed books silent for this long: stalled, not ready, resubscribed (default 60 s). */
  quietMs?: number;
  /** The largest venue frame accepted, bytes (default: the venue's, see VenueParts.maxPayload). */
  maxPayload?: number;
  /** Staleness/crossed sweep period (default min(250 ms, maxQuoteAgeMs / 4)). */
  tickMs?: number;
  registry?: Registry;
  log: Logger;
}

/** What the monitor needs of a venue's feed (the protocol state machine in its core.ts). */
export interface VenueFeed {
  readonly freshness: StalenessTracker<string>;
  ready(): Readiness;
  onOpen(nowMs: number): void;
  onClose(nowMs?: number): void;
  onFrame(text: string, receivedMs: number): void;
  /** A frame refused by shape before it was decoded. */
  refusedFrame(reason: FrameProblem, receivedMs: number): void;
  tick(nowMs: number): void;
}

/** The callbacks and settings a venue's feed is built with. */
export interface FeedWiring {
  depth: number;
  maxQuoteAgeMs: number;
  crossedGraceMs?: number;
  resyncTimeoutMs?: number;
  quietMs?: number;
  publish: QuotePublisher['publishLazy'];
  /** Sends a text frame if connected. */
  send(text: string): boolean;
  event(event: { kind: string }): void;
  nextSeq(): number;
}

/** What a venue adds to the common wiring. */
export interface VenueParts<F extends VenueFeed> {
  feed(wiring: FeedWiring): F;
  /** Per market id: seconds since the last update of its books. */
  ages(feed: F, nowMs: number): ReturnType<BookAges['ages']>;
  socket: Pick<ReconnectingSocketOptions, 'headers' | 'gate' | 'gateRetryMs' | 'keepalive'>;
  /** The venue's largest realistic frame with a margin, bytes. */
  maxPayload: number;
}

const venueNames: Record<Venue, string> = { kalshi: 'Kalshi', polymarket: 'Polymarket' };

export abstract class VenueMonitor<F extends VenueFeed, E extends { kind: string }> {
  readonly registry: Registry;
  readonly metrics: MonitorMetrics;
  readonly feed: F;
  readonly publisher: QuotePublisher;
  readonly redis: Redis;
  protected readonly socket: ReconnectingSocket;
  protected readonly backoff: Backoff;
  protected readonly log: Logger;
  protected readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly throttle = new LogThrottle();
  private readonly frameMemory = new FrameMemory();
  /** The last connection problem, for /readyz and the logs. */
  lastError: string | undefined;

  protected constructor(
    readonly venue: Venue,
    private readonly common: VenueMonitorOptions,
    parts: VenueParts<F>,
  ) {
    this.log = common.log;
    this.name = venueNames[venue];
    this.registry = common.registry ?? new Registry();
    this.redis = new Redis(common.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: false });
    this.redis.on('error', (error: Error) => this.log.warn({ err: error.message }, 'redis error'));
    this.feed = parts.feed({
      depth: common.depth ?? 10,
      maxQuoteAgeMs: common.maxQuoteAgeMs,
      crossedGraceMs: common.crossedGraceMs,
      resyncTimeoutMs: common.resyncTimeoutMs,
      quietMs: common.quietMs,
      publish: (key, build) => this.publisher.publishLazy(key, build),
      send: (text) => this.socket.send(text),
      event: (event) => this.onFeedEvent(event as E | FeedEvent),
      nextSeq: quoteSequence(),
    });
    this.metrics = new MonitorMetrics(this.registry, venue, { ages: (now) => parts.ages(this.feed, now) });
    this.publisher = this.quotePublisher(common.streamMaxLen ?? 100_000);
    this.backoff = new Backoff(common.backoff);
    this.socket = new ReconnectingSocket({
      url: common.wsUrl,
      backoff: this.backoff,
      silenceMs: common.silenceMs ?? 30_000,
      maxPayload: common.maxPayload ?? parts.maxPayload,
      log: this.log,
      ...parts.socket,
      onOversized: () => {
        this.metrics.framesRefused.inc({ venue, reason: 'too_large' });
        this.warn(
          'frame:too_large',
          { maxPayload: common.maxPayload ?? parts.maxPayload },
          `${this.name} sent a frame over maxPayload; reconnecting`,
        );
      },
      onOpen: () => {
        this.lastError = undefined;
        this.onConnected();
        this.feed.onOpen(Date.now());
      },
      // Refused by shape from its bytes: a hostile frame never becomes a string, let alone parsed JSON.
      screen: (data, receivedMs) => {
        this.metrics.messages.inc({ venue });
        this.frameMemory.received(data.length);
        const problem = data.length >= SCREEN_FROM_BYTES ? frameProblem(data) : undefined;
        if (problem) this.feed.refusedFrame(problem, receivedMs);
        return problem === undefined;
      },
      onMessage: (text, receivedMs) => this.feed.onFrame(text, receivedMs),
      onDown: ({ wasOpen, reason }) => this.onDown(wasOpen, reason),
      onReconnect: () => this.metrics.reconnects.inc({ venue }),
      onRefused: (refusal) => this.onRefused(refusal),
    });
  }

  /** The connection is open (the feed subscribes next). */
  protected abstract onConnected(): void;
  /** The venue's reading of a refused handshake's body. */
  protected abstract refusalDetail(body: string): string | undefined;
  /** A refusal the venue explains itself (credentials, geoblock): the minimum pause, or undefined for the common handling. */
  protected abstract venueRefusal(status: number, detail: string): number | undefined;
  /** The venue's own feed events (besides resync, malformed and reconnect). */
  protected abstract onVenueEvent(event: E): void;

  /** Publishes to the shard's quotes stream, with latency, coalescing and errors counted for the venue. */
  private quotePublisher(maxLen: number): QuotePublisher {
    const { venue, metrics, log } = this;
    return new QuotePublisher({
      redis: this.redis,
      stream: streamKeys.quotes(this.common.shard),
      maxLen,
      onPublished: (quotes, ackMs) => {
        metrics.quotes.inc({ venue }, quotes.length);
        const labels = { venue };
        for (const q of quotes) {
          metrics.publishLatency.observe(labels, Math.max(0, ackMs - q.receivedTs) / 1000);
          metrics.venueDelay.observe(labels, Math.max(0, q.receivedTs - q.exchangeTs) / 1000);
        }
      },
      onCoalesced: () => metrics.coalesced.inc({ venue }),
      onError: (error) => {
        metrics.publishErrors.inc({ venue });
        log.warn({ err: error.message }, 'publishing quotes to redis failed; retrying');
      },
      onInvalid: (quote, problem) => {
        metrics.booksRejected.inc({ venue, reason: 'invalid_quote' });
        this.warn(
          'invalid_quote',
          { marketId: quote.marketId, problem },
          'refusing to publish an invalid quote; published its book stale instead',
          'error',
        );
      },
    });
  }

  /** A log line that hostile input could repeat: the first of its kind, then one per 10 s saying how many were left out. */
  private warn(key: string, fields: Record<string, unknown>, message: string, level: 'warn' | 'error' = 'warn'): void {
    const suppressed = this.throttle.take(key, Date.now());
    if (suppressed !== undefined) this.log[level]({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }

  /** The feed marks its books stale; a failed attempt's error is kept for /readyz. */
  private onDown(wasOpen: boolean, reason: string): void {
    const { venue, name } = this;
    this.metrics.connected.set({ venue }, 0);
    if (wasOpen) this.log.warn({ reason }, `${name} connection lost; books marked stale`);
    else if (!reason.startsWith('handshake refused')) {
      this.lastError = `cannot connect to ${name}: ${reason}`;
      this.log.warn({ reason }, `${name} connection attempt failed`);
      this.metrics.connectErrors.inc({ venue, reason: 'network' });
    }
    this.feed.onClose(Date.now());
  }

  private onRefused({ status, body }: Refusal): number {
    const detail = this.refusalDetail(body) ?? body.trim().slice(0, 300);
    const pause = this.venueRefusal(status, detail);
    if (pause !== undefined) return pause;
    this.lastError = `${this.name} refused the WebSocket handshake: HTTP ${status} ${detail}`;
    this.metrics.connectErrors.inc({ venue: this.venue, reason: status === 429 ? 'rate_limited' : 'http' });
    this.log.warn({ status, detail }, this.lastError);
    return status === 429 ? 5_000 : 0;
  }

  private onFeedEvent(event: E | FeedEvent): void {
    const venue = this.venue;
    switch (event.kind) {
      case 'resync': {
        const { books, reason } = event as Extract<FeedEvent, { kind: 'resync' }>;
        this.metrics.resyncs.inc({ venue }, books.length);
        this.log.info({ books: books.length, reason }, 'resyncing books from fresh copies');
        return;
      }
      case 'malformed':
        this.metrics.malformed.inc({ venue });
        this.log.debug({ error: (event as Extract<FeedEvent, { kind: 'malformed' }>).error }, 'skipped a malformed message');
        return;
      case 'reconnect':
        this.socket.reconnect((event as Extract<FeedEvent, { kind: 'reconnect' }>).reason);
        return;
      case 'rejected': {
        const { book, reason, detail } = event as Extract<FeedEvent, { kind: 'rejected' }>;
        this.metrics.booksRejected.inc({ venue, reason });
        this.warn(`rejected:${reason}`, { book, reason, detail }, `${this.name} book refused: stale until a snapshot repairs it`);
        return;
      }
      case 'frame_refused': {
        const { reason } = event as Extract<FeedEvent, { kind: 'frame_refused' }>;
        this.metrics.framesRefused.inc({ venue, reason });
        this.warn(`frame:${reason}`, { reason }, `${this.name} frame refused unparsed`);
        return;
      }
      case 'stalled': {
        const { silentMs } = event as Extract<FeedEvent, { kind: 'stalled' }>;
        this.metrics.stalls.inc({ venue });
        this.log.warn({ silentMs }, `${this.name} subscription silent: not ready, resubscribing`);
        return;
      }
      case 'clock':
        this.metrics.clockRejected.inc({ venue });
        this.warn(
          'clock',
          { value: (event as Extract<FeedEvent, { kind: 'clock' }>).value },
          `${this.name} timestamp far from our clock; using the receive time`,
        );
        return;
      default:
        this.onVenueEvent(event as E);
    }
  }

  /** Before the first connection attempt (e.g. the VPN check). */
  protected async beforeConnect(): Promise<void> {}

  async start(): Promise<void> {
    await this.redis.connect().catch((error: Error) => this.log.warn({ err: error.message }, 'redis not reachable yet; will keep trying'));
    await this.beforeConnect();
    this.socket.start();
    const { maxQuoteAgeMs, tickMs } = this.common;
    // A quarter of maxQuoteAgeMs, between 10 and 250 ms.
    const period = tickMs ?? Math.max(10, Math.min(250, Math.floor(maxQuoteAgeMs / 4)));
    this.timer = setInterval(() => {
      this.feed.tick(Date.now());
      this.metrics.staleBooks.set({ venue: this.venue }, this.feed.freshness.counts().stale);
      if (this.feed.ready().ready) this.backoff.reset();
    }, period);
  }

  /** A code for /readyz; the last connection error (venue text) only in the detail, for the log. */
  readiness(): Readiness {
    const r = this.feed.ready();
    if (!r.ready && this.lastError) return { ...r, detail: r.detail ? `${r.detail}: ${this.lastError}` : this.lastError };
    return r;
  }

  /** Stops the feed, publishes every book as stale, flushes (bounded), and closes Redis. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.socket.stop();
    this.feed.onClose(Date.now());
    await this.publisher.drain(3_000);
    this.publisher.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
