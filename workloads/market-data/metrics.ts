// The monitors' Prometheus metrics: units in the names, labels venue (and market, a
// bounded set per shard). The registry carries the shard as a default label.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Venue } from '../../contracts/messages.js';
import { WHOLE_MS_BUCKETS } from '../../lib/latency-buckets.js';

export interface BookAges {
  /** Per market id: seconds since the last update of its books (Infinity before the first). */
  ages(nowMs: number): Array<{ market: string; seconds: number }>;
}

export class MonitorMetrics {
  readonly quotes: Counter<'venue'>;
  readonly quoteAge: Gauge<'venue' | 'market'>;
  readonly publishLatency: Histogram<'venue'>;
  readonly venueDelay: Histogram<'venue'>;
  readonly reconnects: Counter<'venue'>;
  readonly connectErrors: Counter<'venue' | 'reason'>;
  readonly seqGaps: Counter<'venue'>;
  readonly resyncs: Counter<'venue'>;
  readonly malformed: Counter<'venue'>;
  readonly coalesced: Counter<'venue'>;
  readonly publishErrors: Counter<'venue'>;
  readonly connected: Gauge<'venue'>;
  readonly staleBooks: Gauge<'venue'>;
  readonly messages: Counter<'venue'>;
  readonly booksRejected: Counter<'venue' | 'reason'>;
  readonly framesRefused: Counter<'venue' | 'reason'>;
  readonly stalls: Counter<'venue'>;
  readonly clockRejected: Counter<'venue'>;

  constructor(
    readonly registry: Registry,
    readonly venue: Venue,
    ages: BookAges,
  ) {
    const registers = [registry];
    this.quotes = new Counter({
      name: 'arbees_quotes_total',
      help: 'Quotes published to the shard quotes stream',
      labelNames: ['venue'],
      registers,
    });
    this.quoteAge = new Gauge({
      name: 'arbees_quote_age_seconds',
      help: 'Seconds since the last book update per market (the oldest of its outcomes; -1 before the first update)',
      labelNames: ['venue', 'market'],
      registers,
      collect() {
        const now = Date.now();
        for (const { market, seconds } of ages.ages(now)) this.set({ venue, market }, Number.isFinite(seconds) ? seconds : -1);
      },
    });
    this.publishLatency = new Histogram({
      name: 'arbees_quote_publish_latency_seconds',
      help: 'From receiving the venue message to Redis acknowledging the quote',
      labelNames: ['venue'],
      buckets: [...WHOLE_MS_BUCKETS],
      registers,
    });
    this.venueDelay = new Histogram({
      name: 'arbees_quote_venue_delay_seconds',
      help: "From the venue's timestamp on the message to the monitor receiving it, per published quote (the venue's clock against ours)",
      labelNames: ['venue'],
      buckets: [...WHOLE_MS_BUCKETS],
      registers,
    });
    this.reconnects = new Counter({
      name: 'arbees_ws_reconnects_total',
      help: 'WebSocket reconnect attempts after the first connection',
      labelNames: ['venue'],
      registers,
    });
    this.connectErrors = new Counter({
      name: 'arbees_ws_connect_errors_total',
      help: 'Failed WebSocket connection attempts by reason (auth, geoblock, http, network)',
      labelNames: ['venue', 'reason'],
      registers,
    });
    this.seqGaps = new Counter({
      name: 'arbees_seq_gaps_total',
      help: 'Sequence gaps detected on the venue stream',
      labelNames: ['venue'],
      registers,
    });
    this.resyncs = new Counter({
      name: 'arbees_book_resyncs_total',
      help: 'Books dropped and rebuilt from a fresh snapshot (gap, crossed or inconsistent book, dead subscription)',
      labelNames: ['venue'],
      registers,
    });
    this.malformed = new Counter({
      name: 'arbees_malformed_messages_total',
      help: 'Venue messages that could not be parsed or applied, skipped',
      labelNames: ['venue'],
      registers,
    });
    this.coalesced = new Counter({
      name: 'arbees_quotes_coalesced_total',
      help: 'Quotes replaced by a newer one of the same book before Redis took them (backpressure)',
      labelNames: ['venue'],
      registers,
    });
    this.publishErrors = new Counter({
      name: 'arbees_quote_publish_errors_total',
      help: 'Failed Redis pipelines (retried)',
      labelNames: ['venue'],
      registers,
    });
    this.connected = new Gauge({
      name: 'arbees_ws_connected',
      help: '1 while the venue WebSocket is open and subscribed',
      labelNames: ['venue'],
      registers,
    });
    this.staleBooks = new Gauge({
      name: 'arbees_stale_books',
      help: 'Books currently marked stale, old or resyncing (Kalshi: per market; Polymarket: per outcome token)',
      labelNames: ['venue'],
      registers,
    });
    this.messages = new Counter({
      name: 'arbees_ws_messages_total',
      help: 'Venue WebSocket messages received',
      labelNames: ['venue'],
      registers,
    });
    this.booksRejected = new Counter({
      name: 'arbees_book_rejected_total',
      help:
        'Books refused as unusable until a snapshot repairs them, by reason (price_out_of_range, size_out_of_range, ' +
        'too_deep, crossed, malformed) or quotes replaced by a stale marker (invalid_quote)',
      labelNames: ['venue', 'reason'],
      registers,
    });
    this.framesRefused = new Counter({
      name: 'arbees_ws_frames_refused_total',
      help: 'Venue WebSocket frames refused unparsed: too_large (over maxPayload; the connection is dropped), too_deep, too_many_values',
      labelNames: ['venue', 'reason'],
      registers,
    });
    this.stalls = new Counter({
      name: 'arbees_feed_stalls_total',
      help: 'Subscriptions whose books received nothing for the quiet period (then resubscribed, else reconnected)',
      labelNames: ['venue'],
      registers,
    });
    this.clockRejected = new Counter({
      name: 'arbees_exchange_ts_rejected_total',
      help: 'Exchange timestamps unreadable or further than 5 minutes from our clock, replaced by the receive time',
      labelNames: ['venue'],
      registers,
    });
    for (const c of [
      this.quotes,
      this.reconnects,
      this.seqGaps,
      this.resyncs,
      this.malformed,
      this.coalesced,
      this.publishErrors,
      this.messages,
      this.stalls,
      this.clockRejected,
    ])
      c.inc({ venue }, 0);
    this.connected.set({ venue }, 0);
  }
}
