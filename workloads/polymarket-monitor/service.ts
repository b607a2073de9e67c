// The Polymarket monitor process: the VPN/geoblock probe gates the connection; one market-channel
// WebSocket (text PING every 10 s) carries the shard's outcome tokens into the PolymarketFeed; the
// quote publisher writes to Redis. While the probe fails, the monitor does not connect at all,
// drops an open connection, publishes nothing new and reports arbees_vpn_up 0.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { Backoff, type BackoffOptions } from '../market-data/backoff.js';
import { MonitorMetrics } from '../market-data/metrics.js';
import { quoteSequence } from '../market-data/normalize.js';
import { flushAndClose, monitorRedis, socketAccounting, sweepPeriodMs, venuePublisher } from '../market-data/monitor-wiring.js';
import type { QuotePublisher } from '../market-data/publisher.js';
import { ReconnectingSocket, type Refusal } from '../market-data/socket.js';
import { PolymarketFeed, type PolymarketFeedEvent, type PolymarketMarketRef } from './core.js';
import { VpnProbe } from './vpn.js';

export interface PolymarketMonitorOptions {
  shard: string;
  markets: PolymarketMarketRef[];
  /** Market channel URL, e.g. wss://ws-subscriptions-clob.polymarket.com/ws/market. */
  wsUrl: string;
  redisUrl: string;
  maxQuoteAgeMs: number;
  vpn: {
    /** When false the probe still runs and reports arbees_vpn_up, but does not gate the connection. */
    required: boolean;
    geoblockUrl: string;
    controlUrl?: string;
    controlApiKey?: string;
    /** Probe period (default 30 s); arbees_vpn_up drops to 0 when the last pass is older than 3 periods. */
    intervalMs?: number;
  };
  depth?: number;
  streamMaxLen?: number;
  backoff?: BackoffOptions;
  /** Text PING period (default 10 s). */
  pingIntervalMs?: number;
  silenceMs?: number;
  crossedGraceMs?: number;
  resyncTimeoutMs?: number;
  tickMs?: number;
  registry?: Registry;
  log: Logger;
}

export class PolymarketMonitor {
  readonly registry: Registry;
  readonly metrics: MonitorMetrics;
  readonly feed: PolymarketFeed;
  readonly publisher: QuotePublisher;
  readonly redis: Redis;
  readonly probe: VpnProbe;
  readonly vpnUp: Gauge;
  private readonly socket: ReconnectingSocket;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly probeIntervalMs: number;
  lastError: string | undefined;

  constructor(private readonly options: PolymarketMonitorOptions) {
    this.log = options.log;
    this.registry = options.registry ?? new Registry();
    this.redis = monitorRedis(options.redisUrl, this.log);
    const venue = 'polymarket';
    this.probeIntervalMs = options.vpn.intervalMs ?? 30_000;
    this.probe = new VpnProbe({
      geoblockUrl: options.vpn.geoblockUrl,
      controlUrl: options.vpn.controlUrl,
      controlApiKey: options.vpn.controlApiKey,
    });
    const probe = this.probe;
    const freshFor = this.probeIntervalMs * 3;
    this.vpnUp = new Gauge({
      name: 'arbees_vpn_up',
      help: '1 when Polymarket is reachable through the VPN: the last geoblock/VPN probe passed within 3 probe periods',
      registers: [this.registry],
      collect() {
        const s = probe.status;
        this.set(s.up && Date.now() - s.checkedMs <= freshFor ? 1 : 0);
      },
    });
    this.feed = new PolymarketFeed({
      markets: options.markets,
      depth: options.depth ?? 10,
      maxQuoteAgeMs: options.maxQuoteAgeMs,
      crossedGraceMs: options.crossedGraceMs,
      resyncTimeoutMs: options.resyncTimeoutMs,
      publish: (key, build) => this.publisher.publishLazy(key, build),
      send: (text) => this.socket.send(text),
      event: (event) => this.onFeedEvent(event),
      nextSeq: quoteSequence(),
    });
    this.metrics = new MonitorMetrics(this.registry, venue, {
      ages: (now) =>
        options.markets.map((m) => ({
          market: m.marketId,
          seconds: Math.max(this.feed.freshness.ageMs(m.yesTokenId, now), this.feed.freshness.ageMs(m.noTokenId, now)) / 1000,
        })),
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
    this.socket = new ReconnectingSocket({
      url: options.wsUrl,
      backoff: this.backoff,
      gate: () => !options.vpn.required || this.probe.status.up,
      gateRetryMs: 500,
      silenceMs: options.silenceMs ?? 30_000,
      keepalive: { intervalMs: options.pingIntervalMs ?? 10_000, text: 'PING' },
      log: this.log,
      onOpen: () => {
        this.log.info(
          { url: options.wsUrl, tokens: options.markets.length * 2 },
          'connected to the Polymarket market channel; subscribing',
        );
        this.lastError = undefined;
        this.metrics.connected.set({ venue }, 1);
        this.feed.onOpen(Date.now());
      },
      ...socketAccounting({ venue, metrics: this.metrics, log: this.log, feed: this.feed, setError: (error) => (this.lastError = error) }),
      onRefused: (refusal) => this.onRefused(refusal),
    });
  }

  private onRefused({ status, body }: Refusal): number {
    const venue = 'polymarket';
    let detail = body.trim().slice(0, 300);
    try {
      const parsed = JSON.parse(body) as { error?: string };
      if (parsed.error) detail = parsed.error;
    } catch {
      // HTML or text
    }
    if (status === 403) {
      this.lastError =
        `Polymarket refused the connection from our address (HTTP 403: ` + `${detail}); is the VPN up and in a permitted location?`;
      this.metrics.connectErrors.inc({ venue, reason: 'geoblock' });
      this.log.error({ status, detail }, this.lastError);
      void this.runProbe();
      return 10_000;
    }
    this.lastError = `Polymarket refused the WebSocket handshake: HTTP ${status} ${detail}`;
    this.metrics.connectErrors.inc({ venue, reason: status === 429 ? 'rate_limited' : 'http' });
    this.log.warn({ status, detail }, this.lastError);
    return status === 429 ? 5_000 : 0;
  }

  private onFeedEvent(event: PolymarketFeedEvent): void {
    const venue = 'polymarket';
    switch (event.kind) {
      case 'resync':
        this.metrics.resyncs.inc({ venue }, event.tokens.length);
        this.log.info({ tokens: event.tokens.length, reason: event.reason }, 'resyncing token books');
        break;
      case 'malformed':
        this.metrics.malformed.inc({ venue });
        this.log.debug({ error: event.error }, 'skipped a malformed message');
        break;
      case 'reconnect':
        this.socket.reconnect(event.reason);
        break;
    }
  }

  /** One probe; logs transitions and drops the connection when the VPN goes away. */
  runProbe(): Promise<void> {
    this.probing ??= (async () => {
      const before = this.probe.status;
      const after = await this.probe.check();
      if (after.up && !before.up) this.log.info({ ip: after.ip, country: after.country }, 'VPN check passed: Polymarket reachable');
      if (!after.up && (before.up || before.checkedMs === 0)) {
        this.lastError = `VPN check failed: ${after.reason}`;
        this.log.error(
          { reason: after.reason, required: this.options.vpn.required },
          this.options.vpn.required ? 'not behind the VPN: refusing to connect to Polymarket' : 'VPN check failed (not required)',
        );
        if (this.options.vpn.required && this.socket.open) this.socket.reconnect('VPN down');
      }
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  async start(): Promise<void> {
    await this.redis.connect().catch((error: Error) => this.log.warn({ err: error.message }, 'redis not reachable yet; will keep trying'));
    await this.runProbe();
    this.probeTimer = setInterval(() => void this.runProbe(), this.probeIntervalMs);
    this.socket.start();
    const tickMs = sweepPeriodMs(this.options.maxQuoteAgeMs, this.options.tickMs);
    this.timer = setInterval(() => {
      this.feed.tick(Date.now());
      this.metrics.staleBooks.set({ venue: 'polymarket' }, this.feed.freshness.counts().stale);
      if (this.feed.ready().ready) this.backoff.reset();
    }, tickMs);
  }

  readiness(): { ready: boolean; reason?: string } {
    if (this.options.vpn.required && !this.probe.status.up)
      return { ready: false, reason: `VPN check failing: ${this.probe.status.reason}` };
    const r = this.feed.ready();
    if (!r.ready && this.lastError) return { ready: false, reason: `${r.reason}: ${this.lastError}` };
    return r;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.socket.stop();
    this.feed.onClose(Date.now());
    await this.probing;
    await flushAndClose(this.publisher, this.redis);
  }
}
