// Executor benchmark: signals through control read + risk + ledger (decision and order intent in
// PostgreSQL) + paper fill + fill/position accounting, against the rig's real PostgreSQL and Redis.
//   node --import tsx bench/executor.bench.ts
// Prints: the pure risk decision alone; building and signing a Polymarket order with the official
// client; signal → first order sent (p50/p99: from taking the signal to the moment the paper venue
// is called, i.e. control state (a read reused for up to 100 ms) + risk + the committed intent);
// the bare commit of one row on the same PostgreSQL, which no order can go below (its intent must
// be durable first); signals/s fully processed one at a time and through the consumer group.
// Target (issue 6): p99 ≤ 1 ms signal → order sent, excluding the venue. Always exits 0.
import { performance } from 'node:perf_hooks';
import { OrderBuilder, Side, SignatureTypeV2 } from '@polymarket/clob-client-v2';
import { Redis } from 'ioredis';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { pino } from 'pino';
import { rig, stopRig } from '../test/rig/index.js';
import { evaluateRisk, type RiskContext } from '../workloads/executor/risk.js';
import { startExecutorService } from '../workloads/executor/start.js';
import { streamKeys, type Leg, type Quote, type Signal } from '../contracts/messages.js';
import type { ShardConfig } from '../contracts/shard-config.js';
import { signalKeyVars, signedJson } from '../test/support/signals.js';

const MARKETS = 20;
const DIRECT = Number(process.env.BENCH_SIGNALS ?? 2_000);
const STREAMED = Number(process.env.BENCH_STREAMED ?? 2_000);
const TARGET_P99_MS = 1;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

function config(shard: string): ShardConfig {
  return {
    shard,
    markets: Array.from({ length: MARKETS }, (_, i) => ({
      id: `m${i}`,
      sport: 'nba' as const,
      game: `g${i}`,
      kalshi: { ticker: `KX-${i}` },
      polymarket: { yesTokenId: `${i}1`, noTokenId: `${i}2` },
    })),
    venues: {
      kalshi: { environment: 'demo', restUrl: 'http://127.0.0.1:1/trade-api/v2', wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2' },
      polymarket: { clobUrl: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1', gammaUrl: 'http://127.0.0.1:1' },
    },
    detector: { minEdgeBps: 100, maxQuoteAgeMs: 60_000, cooldownMs: 0 },
    executor: {
      mode: 'paper',
      bankrollUsd: 100_000_000,
      limits: {
        perGameUsd: 100_000_000,
        perSportUsd: 100_000_000,
        dailyLossUsd: 100_000_000,
        maxOpenPositions: 1_000,
        maxOrderUsd: 1_000_000,
      },
    },
  };
}

let counter = 0;
function signal(i: number): Signal {
  const m = `m${i % MARKETS}`;
  const legs: Leg[] =
    i % 2 === 0
      ? [
          { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4_100, size: 1_000 },
          { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5_600, size: 1_000 },
        ]
      : [{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4_100, size: 1_000 }];
  return {
    id: `bench-${process.pid}-${++counter}`,
    kind: legs.length === 2 ? 'arbitrage' : 'edge',
    marketId: m,
    legs,
    edgeBps: 200,
    expectedProfit: 100,
    quoteAgesMs: [5, 5],
    createdTs: Date.now(),
  };
}

function riskOnly(): void {
  const holdings = Array.from({ length: 40 }, (_, i) => ({
    marketId: `m${i % MARKETS}`,
    game: `g${i % MARKETS}`,
    sport: 'nba',
    venue: 'kalshi' as const,
    outcome: 'yes' as const,
    size: 1_000,
    cost: 4_000,
  }));
  const ctx = (s: Signal): RiskContext => ({
    now: Date.now(),
    control: { state: 'closed', reason: 'ok', since: 0 },
    paused: false,
    signal: s,
    market: { game: `g${s.marketId.slice(1)}`, sport: 'nba' },
    holdings,
    realizedPnlToday: 0,
    unrealizedPnl: 0,
    realizedPnlTotal: 0,
    alreadySeen: false,
    fee: () => 10,
  });
  const settings = {
    limits: { maxOrder: 1e10, perGame: 1e10, perSport: 1e10, dailyLoss: 1e10, maxOpenPositions: 1000, bankroll: 1e12 },
    maxQuoteAgeMs: 60_000,
    marketCooldownMs: 0,
    minLegSize: 100,
  };
  const signals = Array.from({ length: 50_000 }, (_, i) => signal(i));
  const times: number[] = [];
  const began = performance.now();
  for (const s of signals) {
    const t = performance.now();
    evaluateRisk(ctx(s), settings);
    times.push(performance.now() - t);
  }
  const elapsed = performance.now() - began;
  times.sort((a, b) => a - b);
  console.log(
    `risk decision (pure, 40 holdings): ${Math.round(signals.length / (elapsed / 1000)).toLocaleString()} ` +
      `decisions/s, p50 ${fmt(pct(times, 50))}, p99 ${fmt(pct(times, 99))}`,
  );
}

/** What the live Polymarket client spends per order before sending: build, round and EIP-712 sign. */
async function polymarketSigning(): Promise<void> {
  const account = privateKeyToAccount(generatePrivateKey());
  const builder = new OrderBuilder(
    { account, signTypedData: (args: Parameters<typeof account.signTypedData>[0]) => account.signTypedData(args) } as never,
    137,
    SignatureTypeV2.EOA,
  );
  const times: number[] = [];
  for (let i = 0; i < 600; i++) {
    const t = performance.now();
    await builder.buildOrder(
      {
        tokenID: '71321045679252212594626385532706912750332728571942532289631379312455583992563',
        price: 0.55,
        size: 10 + (i % 7),
        side: Side.BUY,
      },
      { tickSize: '0.01', negRisk: false },
      2,
    );
    if (i >= 100) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `Polymarket order build + EIP-712 sign (official client, ${times.length}): p50 ${fmt(pct(times, 50))}, p99 ${fmt(pct(times, 99))}`,
  );
}

async function main(): Promise<void> {
  riskOnly();
  await polymarketSigning();
  const [pgServer, redisServer] = await Promise.all([rig.postgres(), rig.redis()]);
  const databaseUrl = await pgServer.createDatabase(`executor_bench_${process.pid}`);
  const shard = `bench-${process.pid}`;
  const redis = new Redis(redisServer.url);
  await redis.set(streamKeys.control(shard), JSON.stringify({ state: 'closed', reason: 'bench', since: Date.now() }));
  const deep: Array<[number, number]> = [[4_000, 1e9]];
  const quotes: Quote[] = [];
  for (let i = 0; i < MARKETS; i++) {
    const now = Date.now();
    for (const [venue, outcome, price] of [
      ['kalshi', 'yes', 4_000],
      ['polymarket', 'no', 5_500],
    ] as const) {
      quotes.push({
        venue,
        marketId: `m${i}`,
        outcome,
        asks: [[price, deep[0]![1]]],
        bids: [[price - 100, 1e9]],
        seq: 1,
        exchangeTs: now,
        receivedTs: now,
        stale: false,
      });
    }
  }
  for (const q of quotes) await redis.xadd(streamKeys.quotes(shard), '*', 'quote', JSON.stringify(q));

  const sentAt = new Map<string, number>();
  const service = await startExecutorService({
    runtime: { shard, redis: { url: redisServer.url }, postgres: { url: databaseUrl }, http: { port: 0 }, log: { level: 'silent' } },
    shardConfig: config(shard),
    env: signalKeyVars,
    log: pino({ level: 'silent' }),
    // No venues to read fees and ticks from: the assumed ones.
    terms: 'assumed',
    settings: { concurrency: 8, claimIdleMs: 600_000 },
    risk: { marketCooldownMs: 0 },
    ops: false,
    hooks: {
      beforeSend(order) {
        if (order.leg === 'a') sentAt.set(order.signalId, performance.now());
      },
    },
  });
  try {
    // Warm-up (JIT, connection pool).
    for (let i = 0; i < 200; i++) await service.executor.handleSignal(signal(i));

    // 1. One at a time: latency and sequential throughput.
    const latencies: number[] = [];
    const began = performance.now();
    for (let i = 0; i < DIRECT; i++) {
      const s = signal(i);
      const t = performance.now();
      const outcome = await service.executor.handleSignal(s, t);
      if (outcome === 'accepted') latencies.push(sentAt.get(s.id)! - t);
    }
    const elapsed = performance.now() - began;
    latencies.sort((a, b) => a - b);
    const p99 = pct(latencies, 99);
    console.log(
      `signal → order sent (paper, sequential, ${latencies.length} accepted): p50 ${fmt(pct(latencies, 50))}, p99 ` +
        `${fmt(p99)}, max ${fmt(latencies[latencies.length - 1]!)} — target p99 ≤ ` +
        `${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}`,
    );
    console.log(
      `fully processed one at a time (risk + ledger + paper fills of every leg + positions): ` +
        `${Math.round(DIRECT / (elapsed / 1000)).toLocaleString()} signals/s`,
    );

    // The floor under that latency: one row inserted and committed on the same server.
    const commits: number[] = [];
    const client = await service.pool.connect();
    try {
      await client.query('create table if not exists bench_commit_floor (id bigserial primary key, payload jsonb not null)');
      for (let i = 0; i < DIRECT; i++) {
        const t = performance.now();
        await client.query('insert into bench_commit_floor (payload) values ($1)', [JSON.stringify(signal(i))]);
        commits.push(performance.now() - t);
      }
    } finally {
      client.release();
    }
    commits.sort((a, b) => a - b);
    console.log(
      `  the durability floor — one row inserted and committed on this PostgreSQL: p50 ` +
        `${fmt(pct(commits, 50))}, p99 ${fmt(pct(commits, 99))}`,
    );

    // 2. Through Redis: XADD a burst, consumer group with concurrency 8, until every signal is decided.
    const burst = Array.from({ length: STREAMED }, (_, i) => signal(i));
    const key = streamKeys.signals(shard);
    const t0 = performance.now();
    const pipeline = redis.pipeline();
    for (const s of burst) pipeline.xadd(key, '*', 'data', signedJson(s, shard));
    await pipeline.exec();
    const ids = burst.map((s) => s.id);
    for (;;) {
      const result = await service.pool.query<{ n: number }>(
        `select count(*)::int as n from signals where id = any($1) and status <> 'processing'`,
        [ids],
      );
      if (result.rows[0]!.n === ids.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const streamed = performance.now() - t0;
    const orders = await service.pool.query<{ n: number }>('select count(*)::int as n from orders');
    console.log(
      `through the consumer group (XADD burst of ${STREAMED}, concurrency 8): ` +
        `${Math.round(STREAMED / (streamed / 1000)).toLocaleString()} signals/s end to end; ${orders.rows[0]!.n} orders in the ledger`,
    );
  } finally {
    await service.stop();
    redis.disconnect();
    await stopRig();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 0;
});
