// The Polymarket monitor process: the VPN/geoblock probe gates the connection; one market-channel
// WebSocket (text PING every 10 s) carries the shard's outcome tokens into the PolymarketFeed; the
// quote publisher writes to Redis. While the probe fails, the monitor does not connect at all,
// drops an open connection, publishes nothing new and reports arbees_vpn_up 0. The wiring both
// monitors share is in ../market-data/venue-monitor.ts.
import { Gauge } from 'prom-client';
import { VenueMonitor, type VenueMonitorOptions } from '../market-data/venue-monitor.js';
import { PolymarketFeed, type PolymarketFeedEvent, type PolymarketMarketRef } from './core.js';
import { VpnProbe } from './vpn.js';
import type { Readiness } from '../../lib/ops-server.js';

/**
 * Polymarket's largest frame is the initial dump, every subscribed token's book in one array: a
 * sports book holds a few hundred levels (about 40 bytes each), so 10–30 KB a token; 4 MiB carries
 * well over a hundred markets. (One token fully populated at the 0.0001 tick would be 800 KB.)
 */
export const POLYMARKET_MAX_PAYLOAD = 4 << 20;

export interface PolymarketMonitorOptions extends VenueMonitorOptions {
  markets: PolymarketMarketRef[];
  /** Market channel URL, e.g. wss://ws-subscriptions-clob.polymarket.com/ws/market. */
  wsUrl: string;
  vpn: {
    /** When false the probe still runs and reports arbees_vpn_up, but does not gate the connection. */
    required: boolean;
    geoblockUrl: string;
    controlUrl?: string;
    controlApiKey?: string;
    /** Probe period (default 30 s); arbees_vpn_up drops to 0 when the last pass is older than 3 periods. */
    intervalMs?: number;
  };
  /** Text PING period (default 10 s). */
  pingIntervalMs?: number;
}

export class PolymarketMonitor extends VenueMonitor<PolymarketFeed, PolymarketFeedEvent> {
  readonly probe: VpnProbe;
  readonly vpnUp: Gauge;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private readonly probeIntervalMs: number;

  constructor(private readonly options: PolymarketMonitorOptions) {
    const probe = new VpnProbe({
      geoblockUrl: options.vpn.geoblockUrl,
      controlUrl: options.vpn.controlUrl,
      controlApiKey: options.vpn.controlApiKey,
    });
    super('polymarket', options, {
      feed: (wiring) => new PolymarketFeed({ ...wiring, markets: options.markets, send: (text) => void wiring.send(text) }),
      ages: (feed, now) =>
        options.markets.map((m) => ({
          market: m.marketId,
          seconds: Math.max(feed.freshness.ageMs(m.yesTokenId, now), feed.freshness.ageMs(m.noTokenId, now)) / 1000,
        })),
      socket: {
        gate: () => !options.vpn.required || probe.status.up,
        gateRetryMs: 500,
        keepalive: { intervalMs: options.pingIntervalMs ?? 10_000, text: 'PING' },
      },
      maxPayload: POLYMARKET_MAX_PAYLOAD,
    });
    this.probeIntervalMs = options.vpn.intervalMs ?? 30_000;
    this.probe = probe;
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
  }

  protected override onConnected(): void {
    this.log.info(
      { url: this.options.wsUrl, tokens: this.options.markets.length * 2 },
      'connected to the Polymarket market channel; subscribing',
    );
    this.metrics.connected.set({ venue: 'polymarket' }, 1);
  }

  protected override refusalDetail(body: string): string | undefined {
    try {
      return (JSON.parse(body) as { error?: string } | null)?.error || undefined;
    } catch {
      return undefined; // HTML or text
    }
  }

  protected override venueRefusal(status: number, detail: string): number | undefined {
    if (status !== 403) return undefined;
    this.lastError = `Polymarket refused the connection from our address (HTTP 403: ${detail}); is the VPN up and in a permitted location?`;
    this.metrics.connectErrors.inc({ venue: 'polymarket', reason: 'geoblock' });
    this.log.error({ status, detail }, this.lastError);
    void this.runProbe();
    return 10_000;
  }

  protected override onVenueEvent(_event: PolymarketFeedEvent): void {}

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

  protected override async beforeConnect(): Promise<void> {
    await this.runProbe();
    this.probeTimer = setInterval(() => void this.runProbe(), this.probeIntervalMs);
  }

  override readiness(): Readiness {
    // The probe's reason (exit address, country, the control server's answer) is for the log only.
    if (this.options.vpn.required && !this.probe.status.up)
      return { ready: false, reason: 'vpn_down', detail: `VPN check failing: ${this.probe.status.reason}` };
    return super.readiness();
  }

  override async stop(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    await super.stop();
    await this.probing;
  }
}
