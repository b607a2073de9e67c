// Market-data monitor benchmark: how many venue messages one monitor process turns into quotes in
// Redis, and how long each message takes from arrival to Redis acknowledging its quote.
//   node --import tsx bench/monitors.bench.ts
// 1. pure path: Kalshi orderbook_delta / Polymarket price_change frames → parse, book update,
//    normalize (no I/O): messages/s and per-message p50/p99.
// 2. full path into a real redis-server (started here on loopback): frames → KalshiFeed →
//    QuotePublisher (XADD MAXLEN ~ pipelines, newest-book-wins coalescing): max throughput, then
//    paced at 1k, 10k and 50k messages/s with arrival → XADD-acknowledged latency p50/p99.
// Sockets are left out on purpose (the simulators would be the bottleneck on a shared 2-core box);
// the integration test covers the wire. Always exits 0; the figures are the result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { KalshiFeed } from '../workloads/kalshi-monitor/core.js';
import type { Quote } from '../contracts/messages.js';
import { quoteSequence } from '../workloads/market-data/normalize.js';
import { bookKey, QuotePublisher } from '../workloads/market-data/publisher.js';
import { PolymarketFeed } from '../workloads/polymarket-monitor/core.js';
import { startRedis, type RedisService } from '../cli/local/redis.js';
import { prng } from '../test/support/prng.js';

const MARKETS = 20;
const FRAMES = 200_000;

const tickers = Array.from({ length: MARKETS }, (_, i) => `KXNBAGAME-26NOV24M${i}-T${i}`);
const dollars = (p: number) => (p / 10_000).toFixed(4);
const fp = (s: number) => (s / 100).toFixed(2);

/** Subscribe ack, snapshots, then valid deltas (never negative, never crossed) on sid 1. */
function kalshiFrames(count: number): string[] {
  const rand = prng(7);
  const books = tickers.map(() => ({ yes: new Map<number, number>(), no: new Map<number, number>() }));
  const out: string[] = [JSON.stringify({ id: 1, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 1 } })];
  let seq = 0;
  for (let m = 0; m < MARKETS; m++) {
    const yes: Array<[string, string]> = [];
    const no: Array<[string, string]> = [];
    for (let l = 0; l < 10; l++) {
      const p = 3_500 + l * 100;
      books[m]!.yes.set(p, 10_000);
      books[m]!.no.set(p, 10_000);
      yes.push([dollars(p), fp(10_000)]);
      no.push([dollars(10_000 - p), fp(10_000)]); // use_yes_price: NO bids on the YES scale
    }
    out.push(
      JSON.stringify({
        type: 'orderbook_snapshot',
        sid: 1,
        seq: ++seq,
        msg: { market_ticker: tickers[m], market_id: `id-${m}`, yes_dollars_fp: yes, no_dollars_fp: no },
      }),
    );
  }
  while (out.length < count) {
    const m = Math.floor(rand() * MARKETS);
    const side = rand() < 0.5 ? 'yes' : 'no';
    const price = 3_500 + 100 * Math.floor(rand() * 10);
    const current = books[m]![side].get(price) ?? 0;
    const delta = current > 100 && rand() < 0.5 ? -Math.floor(rand() * current) : 100 + Math.floor(rand() * 20_000);
    books[m]![side].set(price, current + delta);
    const wire = side === 'no' ? 10_000 - price : price;
    out.push(
      JSON.stringify({
        type: 'orderbook_delta',
        sid: 1,
        seq: ++seq,
        msg: {
          market_ticker: tickers[m],
          market_id: `id-${m}`,
          price_dollars: dollars(wire),
          delta_fp: (delta < 0 ? '-' : '') + fp(Math.abs(delta)),
          side,
          ts: '2026-11-24T20:44:01Z',
          ts_ms: 1_795_000_000_000 + seq,
        },
      }),
    );
  }
  return out;
}

function polymarketFrames(count: number): {
  frames: string[];
  markets: Array<{ marketId: string; yesTokenId: string; noTokenId: string }>;
} {
  const rand = prng(11);
  const markets = Array.from({ length: MARKETS }, (_, i) => ({
    marketId: `m${i}`,
    yesTokenId: `${10_000 + i}`,
    noTokenId: `${20_000 + i}`,
  }));
  const frames: string[] = [];
  const levels = (from: number) => Array.from({ length: 10 }, (_, l) => ({ price: ((from + l * 100) / 10_000).toFixed(2), size: '100' }));
  frames.push(
    JSON.stringify(
      markets.flatMap((m) =>
        [m.yesTokenId, m.noTokenId].map((asset_id) => ({
          event_type: 'book',
          asset_id,
          market: '0x1',
          bids: levels(3_000),
          asks: levels(6_000).reverse(),
          timestamp: '1',
          hash: 'h',
        })),
      ),
    ),
  );
  while (frames.length < count) {
    const m = markets[Math.floor(rand() * MARKETS)]!;
    const buy = rand() < 0.5;
    const price = ((buy ? 3_000 : 6_000) + 100 * Math.floor(rand() * 10)) / 10_000;
    const size = String(Math.floor(rand() * 500));
    frames.push(
      JSON.stringify({
        event_type: 'price_change',
        market: '0x1',
        price_changes: [
          {
            asset_id: m.yesTokenId,
            price: price.toFixed(2),
            size,
            side: buy ? 'BUY' : 'SELL',
            hash: 'abc',
            best_bid: '0.39',
            best_ask: '0.6',
          },
          {
            asset_id: m.noTokenId,
            price: (1 - price).toFixed(2),
            size,
            side: buy ? 'SELL' : 'BUY',
            hash: 'def',
            best_bid: '0.4',
            best_ask: '0.61',
          },
        ],
        timestamp: '1757908892351',
      }),
    );
  }
  return { frames, markets };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function kalshiFeed(publish: (key: string, build: () => Quote) => void): KalshiFeed {
  const feed = new KalshiFeed({
    markets: tickers.map((ticker, i) => ({ ticker, marketId: `market-${i}` })),
    depth: 10,
    maxQuoteAgeMs: 60_000,
    publish,
    send: () => undefined,
    event: () => undefined,
    nextSeq: quoteSequence(),
  });
  feed.onOpen(Date.now());
  return feed;
}

function purePath(): void {
  const frames = kalshiFrames(FRAMES);
  let quotes = 0;
  for (let round = 0; round < 2; round++) {
    // round 0 warms the JIT
    quotes = 0;
    const feed = kalshiFeed((_key, build) => {
      build();
      quotes++;
    });
    const lat = new Float64Array(frames.length);
    const t0 = performance.now();
    for (let i = 0; i < frames.length; i++) {
      const s = performance.now();
      feed.onFrame(frames[i]!, 1);
      lat[i] = performance.now() - s;
    }
    const elapsed = performance.now() - t0;
    if (round === 0) continue;
    lat.sort();
    console.log(
      `kalshi pure path      ${frames.length} deltas, ${MARKETS} markets: ` +
        `${Math.round(frames.length / (elapsed / 1000)).toLocaleString('en')} msg/s ` +
        `(${Math.round(quotes / (elapsed / 1000)).toLocaleString('en')} quotes/s built), per message p50 ` +
        `${(percentile(lat, 50) * 1000).toFixed(1)} µs, p99 ${(percentile(lat, 99) * 1000).toFixed(1)} µs`,
    );
  }
  const { frames: pframes, markets } = polymarketFrames(FRAMES);
  for (let round = 0; round < 2; round++) {
    const feed = new PolymarketFeed({
      markets,
      depth: 10,
      maxQuoteAgeMs: 60_000,
      publish: (_key, build) => {
        build();
        quotes++;
      },
      send: () => undefined,
      event: () => undefined,
      nextSeq: quoteSequence(),
    });
    feed.onOpen(Date.now());
    const lat = new Float64Array(pframes.length);
    const t0 = performance.now();
    for (let i = 0; i < pframes.length; i++) {
      const s = performance.now();
      feed.onFrame(pframes[i]!, 1);
      lat[i] = performance.now() - s;
    }
    const elapsed = performance.now() - t0;
    if (round === 0) continue;
    lat.sort();
    console.log(
      `polymarket pure path  ${pframes.length} price_change (2 tokens each): ` +
        `${Math.round(pframes.length / (elapsed / 1000)).toLocaleString('en')} msg/s, ` +
        `per message p50 ${(percentile(lat, 50) * 1000).toFixed(1)} µs, p99 ${(percentile(lat, 99) * 1000).toFixed(1)} µs`,
    );
  }
}

/** Feeds frames to a KalshiFeed + QuotePublisher into Redis; `rate` msg/s (0 = as fast as possible). */
async function fullPath(redis: Redis, frames: string[], rate: number, label: string): Promise<void> {
  const stream = `arbees:bench-${label.replace(/\W+/g, '')}:quotes`;
  await redis.del(stream);
  const arrival = new Map<string, number>(); // book → arrival time of the message that last changed it
  const latencies: number[] = [];
  let written = 0;
  const publisher = new QuotePublisher({
    redis,
    stream,
    maxLen: 100_000,
    onPublished: (quotes) => {
      const now = performance.now();
      written += quotes.length;
      for (const q of quotes) {
        const t = arrival.get(bookKey(q.venue, q.marketId, q.outcome));
        if (t !== undefined) latencies.push(now - t);
      }
    },
  });
  let at = 0;
  const feed = kalshiFeed((key, build) => {
    arrival.set(key, at);
    publisher.publishLazy(key, build);
  });
  const t0 = performance.now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const step = () => {
      // Deliver what is due (paced) or a socket-read-sized burst (max), then yield to I/O like a WS read loop.
      // At most one socket read's worth (256 frames) per turn, as ws delivers them.
      const due = rate > 0 ? Math.min(frames.length, Math.floor(((performance.now() - t0) / 1000) * rate) + 1) : frames.length;
      const end = Math.min(due, i + 256);
      while (i < end) {
        at = performance.now();
        feed.onFrame(frames[i++]!, Date.now());
      }
      if (i >= frames.length) resolve();
      else if (i < due)
        setImmediate(step); // behind: keep going, but let Redis replies in
      else setTimeout(step, 1);
    };
    step();
  });
  await publisher.drain(30_000);
  const elapsed = performance.now() - t0;
  const sorted = Float64Array.from(latencies).sort();
  const xlen = await redis.xlen(stream);
  console.log(
    `${label.padEnd(22)}${frames.length} msgs in ${(elapsed / 1000).toFixed(2)} s: ` +
      `${Math.round(frames.length / (elapsed / 1000)).toLocaleString('en')} msg/s in, ` +
      `${Math.round(written / (elapsed / 1000)).toLocaleString('en')} quotes/s XADDed ` +
      `(${publisher.coalesced.toLocaleString('en')} coalesced, stream len ~${xlen.toLocaleString('en')}); ` +
      `arrival→Redis ack p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
  );
  await redis.del(stream);
}

/** The publisher alone, many distinct books so that nothing coalesces: raw XADD pipeline capacity. */
async function xaddCapacity(redis: Redis): Promise<void> {
  const stream = 'arbees:bench-xadd:quotes';
  await redis.del(stream);
  const publisher = new QuotePublisher({ redis, stream, maxLen: 100_000, maxBatch: 512 });
  const total = 100_000;
  const levels = Array.from({ length: 10 }, (_, l) => [4_000 - l * 100, 10_000 + l] as [number, number]);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    publisher.publish({
      venue: 'kalshi',
      marketId: `m${i}`,
      outcome: 'yes',
      bids: levels,
      asks: levels,
      seq: i + 1,
      exchangeTs: 1,
      receivedTs: 1,
      stale: false,
    });
    if (i % 2_000 === 1_999) await new Promise((r) => setImmediate(r));
  }
  await publisher.drain(60_000);
  const elapsed = performance.now() - t0;
  console.log(
    `${'xadd capacity'.padEnd(22)}${total} distinct books, 10 levels a side, zod-checked: ` +
      `${Math.round(total / (elapsed / 1000)).toLocaleString('en')} quotes/s XADDed`,
  );
  await redis.del(stream);
}

async function main(): Promise<void> {
  console.log(`monitors benchmark (node ${process.version}, one process, one core)`);
  purePath();
  let service: RedisService | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'arbees-bench-redis-'));
  try {
    service = await startRedis(dir);
  } catch (error) {
    console.log(`full path skipped: no redis-server (${(error as Error).message.split('\n')[0]})`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const redis = new Redis(service.url);
  try {
    await fullPath(redis, kalshiFrames(20_000), 0, 'warm-up');
    await xaddCapacity(redis);
    await fullPath(redis, kalshiFrames(FRAMES), 0, 'kalshi → redis (max)');
    for (const rate of [1_000, 10_000, 50_000]) {
      await fullPath(redis, kalshiFrames(Math.min(FRAMES, rate * 3)), rate, `paced ${rate / 1000}k msg/s`);
    }
  } finally {
    await redis.quit();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 0;
});
