// The Kalshi monitor process: one authenticated WebSocket to Kalshi's Trade API v2 carrying the
// shard's markets on orderbook_delta, the KalshiFeed state machine, and the quote publisher.
// The wiring both monitors share is in ../market-data/venue-monitor.ts; here: the signed
// handshake, Kalshi's refusals, and its subscription events. The protocol and books are in core.ts.
import type { KeyObject } from 'node:crypto';
import { VenueMonitor, type VenueMonitorOptions } from '../market-data/venue-monitor.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { KalshiFeed, type KalshiFeedEvent, type KalshiMarketRef } from './core.js';

/**
 * Kalshi's largest frame is a market's snapshot: at most 999 prices per side at its finest tick
 * ($0.001), about 30 bytes a level, so about 60 KB. 2 MiB leaves a wide margin.
 */
export const KALSHI_MAX_PAYLOAD = 2 << 20;

export interface KalshiMonitorOptions extends VenueMonitorOptions {
  markets: KalshiMarketRef[];
  /** Full WebSocket URL, e.g. wss://api.elections.kalshi.com/trade-api/ws/v2. */
  wsUrl: string;
  keyId: string;
  privateKey: KeyObject;
  /** Minimum pause after Kalshi refuses our credentials (default 30 s): a config error is not fixed by hammering. */
  authRetryMs?: number;
  useYesPrice?: boolean;
}

export class KalshiMonitor extends VenueMonitor<KalshiFeed, KalshiFeedEvent> {
  constructor(private readonly options: KalshiMonitorOptions) {
    const wsPath = new URL(options.wsUrl).pathname;
    const byTicker = new Map(options.markets.map((m) => [m.marketId, m.ticker]));
    super('kalshi', options, {
      feed: (wiring) =>
        new KalshiFeed({
          ...wiring,
          markets: options.markets,
          useYesPrice: options.useYesPrice,
          send: (command) => wiring.send(JSON.stringify(command)),
        }),
      ages: (feed, now) =>
        [...byTicker.entries()].map(([market, ticker]) => ({ market, seconds: feed.freshness.ageMs(ticker, now) / 1000 })),
      socket: { headers: () => kalshiSignedHeaders(options.keyId, options.privateKey, 'GET', wsPath) },
      maxPayload: KALSHI_MAX_PAYLOAD,
    });
  }

  protected override onConnected(): void {
    this.log.info({ url: this.options.wsUrl, markets: this.options.markets.length }, 'connected to Kalshi; subscribing');
  }

  /** Kalshi's error body, nested ({"error": {code, message, details}}) or flat (decode errors). */
  protected override refusalDetail(body: string): string | undefined {
    type Detail = { code?: string; message?: string; details?: string };
    try {
      const parsed = JSON.parse(body) as (Detail & { error?: Detail }) | null;
      const e = typeof parsed?.error === 'object' && parsed.error !== null ? parsed.error : (parsed ?? {});
      return [e.code, e.message, e.details].filter((part) => typeof part === 'string' && part).join(': ');
    } catch {
      return undefined; // not JSON
    }
  }

  protected override venueRefusal(status: number, detail: string): number | undefined {
    if (status !== 401 && status !== 403) return undefined;
    this.lastError =
      `Kalshi refused our credentials (HTTP ${status} ${detail}); check that ARBEES_KALSHI_KEY_ID and ` +
      `ARBEES_KALSHI_PRIVATE_KEY are a matching key of this environment (demo keys fail on production)`;
    this.metrics.connectErrors.inc({ venue: 'kalshi', reason: 'auth' });
    this.log.error({ status, detail, keyId: this.options.keyId }, this.lastError);
    return this.options.authRetryMs ?? 30_000;
  }

  protected override onVenueEvent(event: KalshiFeedEvent): void {
    switch (event.kind) {
      case 'subscribed':
        this.metrics.connected.set({ venue: 'kalshi' }, 1);
        this.log.info({ sid: event.sid }, 'subscribed to orderbook_delta');
        if (this.feed.ready().ready) this.backoff.reset();
        break;
      case 'gap':
        this.metrics.seqGaps.inc({ venue: 'kalshi' });
        this.log.warn({ sid: event.sid, seq: event.seq }, 'seq gap; resyncing books');
        break;
      case 'venue_error':
        this.log[event.fatal ? 'error' : 'warn']({ code: event.code, message: event.message }, 'Kalshi error message');
        if (event.fatal) this.lastError = `Kalshi refused the subscription: ${event.code} ${event.message}`;
        break;
    }
  }
}
