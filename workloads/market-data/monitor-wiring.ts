// What both venue monitors wire the same way around their feed: the Redis connection, the quote
// publisher and its metrics, the socket callbacks that count messages and connection losses, the
// staleness sweep period, and the flush on stop. Venue specifics (auth, VPN, refusals, feed
// events) stay in each monitor.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { streamKeys, type Venue } from '../../contracts/messages.js';
import type { MonitorMetrics } from './metrics.js';
import { QuotePublisher } from './publisher.js';
import type { ReconnectingSocketOptions } from './socket.js';

const venueNames: Record<Venue, string> = { kalshi: 'Kalshi', polymarket: 'Polymarket' };

/** Connects on start; errors are logged, the commands retry. */
export function monitorRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: false });
  redis.on('error', (error: Error) => log.warn({ err: error.message }, 'redis error'));
  return redis;
}

/** The shard's quotes stream, with publish latency, coalescing and errors counted for the venue. */
export function venuePublisher(o: {
  redis: Redis;
  shard: string;
  streamMaxLen?: number;
  venue: Venue;
  metrics: MonitorMetrics;
  log: Logger;
}): QuotePublisher {
  const { venue, metrics, log } = o;
  return new QuotePublisher({
    redis: o.redis,
    stream: streamKeys.quotes(o.shard),
    maxLen: o.streamMaxLen ?? 100_000,
    onPublished: (quotes, ackMs) => {
      metrics.quotes.inc({ venue }, quotes.length);
      for (const q of quotes) metrics.publishLatency.observe({ venue }, Math.max(0, ackMs - q.receivedTs) / 1000);
    },
    onCoalesced: () => metrics.coalesced.inc({ venue }),
    onError: (error) => {
      metrics.publishErrors.inc({ venue });
      log.warn({ err: error.message }, 'publishing quotes to redis failed; retrying');
    },
    onInvalid: (quote, problem) => log.error({ marketId: quote.marketId, problem }, 'refusing to publish an invalid quote'),
  });
}

/** Message counting and connection-loss handling: the feed marks its books stale, the error is kept for /readyz. */
export function socketAccounting(o: {
  venue: Venue;
  metrics: MonitorMetrics;
  log: Logger;
  feed: { onFrame(text: string, receivedMs: number): void; onClose(now: number): void };
  setError(error: string): void;
}): Pick<ReconnectingSocketOptions, 'onMessage' | 'onDown' | 'onReconnect'> {
  const { venue, metrics, log, feed } = o;
  const name = venueNames[venue];
  return {
    onMessage: (text, receivedMs) => {
      metrics.messages.inc({ venue });
      feed.onFrame(text, receivedMs);
    },
    onDown: ({ wasOpen, reason }) => {
      metrics.connected.set({ venue }, 0);
      if (wasOpen) log.warn({ reason }, `${name} connection lost; books marked stale`);
      else if (!reason.startsWith('handshake refused')) {
        o.setError(`cannot connect to ${name}: ${reason}`);
        log.warn({ reason }, `${name} connection attempt failed`);
        metrics.connectErrors.inc({ venue, reason: 'network' });
      }
      feed.onClose(Date.now());
    },
    onReconnect: () => metrics.reconnects.inc({ venue }),
  };
}

/** How often books are checked for staleness: a quarter of maxQuoteAgeMs, between 10 and 250 ms. */
export function sweepPeriodMs(maxQuoteAgeMs: number, tickMs?: number): number {
  return tickMs ?? Math.max(10, Math.min(250, Math.floor(maxQuoteAgeMs / 4)));
}

/** After the feed has marked every book stale: flush what is queued (bounded), then close Redis. */
export async function flushAndClose(publisher: QuotePublisher, redis: Redis): Promise<void> {
  await publisher.drain(3_000);
  publisher.close();
  await redis.quit().catch(() => redis.disconnect());
}
