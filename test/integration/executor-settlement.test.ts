// Settlement against the rig's real PostgreSQL and both simulators over HTTP: positions opened
// through the ledger, markets resolved by the scenario, the poller paying them out to the cent,
// once only (again, concurrently), and leaving alone what is unresolved or unreadable.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { rig } from '../rig/index.js';
import { Ledger } from '../../workloads/executor/ledger.js';
import { createPool } from '../../workloads/executor/postgres.js';
import { createExecutorMetrics } from '../../workloads/executor/metrics.js';
import { migrate } from '../../workloads/executor/migrations.js';
import { startSettlement, type SettlementOptions, type SettlementPoller } from '../../workloads/executor/settlement.js';
import type { Outcome, Signal, Venue } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: process.env.EXECUTOR_TEST_LOG ?? 'silent' });
const token = (n: number) => `${'7'.repeat(70)}${n}`;
const ids = [1, 2, 3].map((i) => ({ id: `m${i}`, ticker: `KXNBAGAME-26NOV26G${i}-HOM`, yes: token(i * 2), no: token(i * 2 + 1) }));

// m1: the home team wins (settles at once); m2: it loses, and the payout (Kalshi `finalized`,
// Polymarket's winner token) comes 3 s after the market closes; m3 is never resolved. The
// simulators' clocks stay paused except while a test lets the scenario run.
const scenario = parseScenario({
  name: 'settlement-it',
  seed: 3,
  duration: '1h',
  messageRate: 10,
  tradeProbability: 0,
  games: ids.map((m, i) => ({
    id: `g${i + 1}`,
    sport: 'nba',
    home: 'HOM',
    away: `AW${i + 1}`,
    kalshi: { eventTicker: m.ticker.replace(/-HOM$/, '') },
    markets: [
      { id: m.id, team: 'HOM', initialPrice: 0.5, kalshi: { ticker: m.ticker }, polymarket: { yesTokenId: m.yes, noTokenId: m.no } },
    ],
  })),
  resolutions: [
    { market: 'm1', at: '1s', winner: 'yes' },
    { market: 'm2', at: '1s', winner: 'no', settleAfter: '3s' },
  ],
});

function shardConfig(shard: string, kalshi: string, clob: string, gamma: string): ShardConfig {
  return {
    shard,
    markets: ids.map((m) => ({
      id: m.id,
      sport: 'nba' as const,
      game: `game-${m.id}`,
      kalshi: { ticker: m.ticker },
      polymarket: { yesTokenId: m.yes, noTokenId: m.no },
    })),
    venues: {
      kalshi: { environment: 'demo', restUrl: kalshi, wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2' },
      polymarket: { clobUrl: clob, wsUrl: 'ws://127.0.0.1:1', gammaUrl: gamma },
    },
    detector: { minEdgeBps: 100, maxQuoteAgeMs: 5_000, cooldownMs: 0 },
    executor: {
      mode: 'paper',
      bankrollUsd: 1_000,
      limits: { perGameUsd: 50, perSportUsd: 200, dailyLossUsd: 100, maxOpenPositions: 10, maxOrderUsd: 200 },
    },
  };
}

const FILL_DAY = '2026-11-25';
const SETTLE_NOW = Date.parse('2026-11-26T23:30:00Z');
const SETTLE_DAY = '2026-11-26';

let counter = 0;
/** One filled order through the ledger's own path (intent, then the venue's report with its fill). */
async function fill(
  ledger: Ledger,
  marketId: string,
  venue: Venue,
  outcome: Outcome,
  side: 'buy' | 'sell',
  price: number,
  size: number,
  fee: number,
): Promise<void> {
  const n = ++counter;
  const signal: Signal = {
    id: `sig-${n}`,
    kind: 'edge',
    marketId,
    legs: [{ venue, outcome, side, limitPrice: price, size }],
    edgeBps: 100,
    expectedProfit: 0,
    quoteAgesMs: [1],
    createdTs: Date.now(),
  };
  const order = {
    clientOrderId: `cid-${n}-${randomUUID()}`,
    venue,
    marketId,
    venueMarket: marketId,
    outcome,
    side,
    limitPrice: price,
    size,
    createdTs: Date.now(),
    leg: 'a',
  };
  expect(await ledger.insertAccepted(signal, [{ leg: 'a', venue, outcome, side, limitPrice: price, size }], order)).to.deep.equal({
    inserted: true,
  });
  const row = (await ledger.order(order.clientOrderId))!;
  await ledger.recordReport(
    row,
    { venueOrderId: `v-${n}`, status: 'filled', filledSize: size, fills: [{ fillId: `f-${n}`, price, size, fee, ts: Date.now() }] },
    FILL_DAY,
  );
}

interface PositionDb {
  market_id: string;
  venue: Venue;
  outcome: Outcome;
  size: string;
  cost: string;
  realized_pnl: string;
  version: string;
}

describe('executor settlement against real PostgreSQL and both simulators', function () {
  this.timeout(60_000);
  let kalshi: KalshiSimHandle;
  let poly: PolymarketSimHandle;
  let pool: pg.Pool;
  const pollers: SettlementPoller[] = [];

  before(async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    kalshi = await startKalshiSim({
      scenario,
      apiKeys: [{ id: randomUUID(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      autoStart: false,
    });
    poly = await startPolymarketSim({
      scenario,
      creds: [
        {
          apiKey: randomUUID(),
          secret: randomBytes(32).toString('base64url'),
          passphrase: 'p',
          address: '0x' + randomBytes(20).toString('hex'),
        },
      ],
      autoStart: false,
    });
    kalshi.pause();
    poly.pause();
    pool = createPool(await (await rig.postgres()).createDatabase(`settlement_it_${process.pid}`));
    await migrate(pool);
  });
  after(async () => {
    for (const p of pollers) await p.stop();
    await pool?.end();
    await kalshi?.stop();
    await poly?.stop();
  });

  const shard = 'settle-1';
  const config = () => shardConfig(shard, kalshi.url, poly.url, poly.gammaUrl);
  const poller = (options: Partial<SettlementOptions> = {}) => {
    const p = startSettlement({
      pool,
      shard,
      shardConfig: config(),
      log,
      intervalMs: 3_600_000,
      timeZone: 'UTC',
      now: () => SETTLE_NOW,
      ...options,
    });
    pollers.push(p);
    return p;
  };
  const positions = async () =>
    (
      await pool.query<PositionDb>(
        'select market_id, venue, outcome, size, cost, realized_pnl, version from positions where shard = $1 order by ' +
          'market_id, venue, outcome',
        [shard],
      )
    ).rows.map((r) => ({
      key: `${r.market_id}/${r.venue}/${r.outcome}`,
      size: Number(r.size),
      cost: Number(r.cost),
      realized: Number(r.realized_pnl),
    }));
  const daily = async () =>
    Object.fromEntries(
      (
        await pool.query<{ day: string; realized: string }>(
          `select to_char(day, 'YYYY-MM-DD') as day, realized from pnl_daily where shard = $1`,
          [shard],
        )
      ).rows.map((r) => [r.day, Number(r.realized)]),
    );
  const settlementRows = async () =>
    Number((await pool.query<{ n: string }>('select count(*) as n from settlements where shard = $1', [shard])).rows[0]!.n);

  // Hand-computed, in ten-thousandths of $1 (sizes in hundredths of a contract):
  // m1 kalshi YES: buy 10 @ 0.45 + fee 0.18 = 4.68; sell 2 @ 0.50 realizes 1.00 − 0.936 = 0.064,
  //   leaving 8 costing 3.744; YES wins: 8.00 − 3.744 = 4.256.
  // m1 polymarket NO: buy 10 @ 0.52 = 5.20; loses: −5.20.
  // m2 kalshi NO: buy 5.5 @ 0.30 + fee 0.12 = 1.77; NO wins: 5.50 − 1.77 = 3.73.
  // m2 polymarket YES: buy 7.25 @ 0.69 = 5.0025; loses: −5.0025.
  // m3 kalshi YES: buy 3 @ 0.50 = 1.50; never resolves.
  const opened = [
    { key: 'm1/kalshi/yes', size: 800, cost: 37_440, realized: 640 },
    { key: 'm1/polymarket/no', size: 1_000, cost: 52_000, realized: 0 },
    { key: 'm2/kalshi/no', size: 550, cost: 17_700, realized: 0 },
    { key: 'm2/polymarket/yes', size: 725, cost: 50_025, realized: 0 },
    { key: 'm3/kalshi/yes', size: 300, cost: 15_000, realized: 0 },
  ];

  it('opens positions through the ledger, and settles nothing while no market has resolved', async () => {
    const ledger = new Ledger(pool, shard);
    await fill(ledger, 'm1', 'kalshi', 'yes', 'buy', 4_500, 1_000, 1_800);
    await fill(ledger, 'm1', 'kalshi', 'yes', 'sell', 5_000, 200, 0);
    await fill(ledger, 'm1', 'polymarket', 'no', 'buy', 5_200, 1_000, 0);
    await fill(ledger, 'm2', 'kalshi', 'no', 'buy', 3_000, 550, 1_200);
    await fill(ledger, 'm2', 'polymarket', 'yes', 'buy', 6_900, 725, 0);
    await fill(ledger, 'm3', 'kalshi', 'yes', 'buy', 5_000, 300, 0);
    expect(await positions()).to.deep.equal(opened);
    expect(await daily()).to.deep.equal({ [FILL_DAY]: 640 });

    const result = await poller().pollOnce();
    expect(result).to.deep.equal({ checked: 5, settled: [], unresolved: 5, failed: 0 });
    expect(await positions()).to.deep.equal(opened);
  });

  it('leaves positions untouched when a venue answers 500, garbage, half an answer, or nothing', async () => {
    const kalshiMarket = async (i: number) =>
      ((await (await fetch(`${kalshi.url}/markets/${ids[i]!.ticker}`)).json()) as { market: Record<string, unknown> }).market;
    const gammaClosed = async (i: number) =>
      ((await (await fetch(`${poly.gammaUrl}/markets?clob_token_ids=${ids[i]!.yes}&closed=true`)).json()) as unknown[]).length === 1;
    kalshi.resume();
    poly.resume();
    await waitFor(
      'both markets to close on both venues',
      async () => (await kalshiMarket(1)).status === 'determined' && (await gammaClosed(1)),
    );
    kalshi.pause();
    poly.pause();
    // A correct poller would settle now.
    expect(await kalshiMarket(0)).to.include({ status: 'finalized', result: 'yes', settlement_value_dollars: '1.0000' });
    expect(await kalshiMarket(1)).to.include({ status: 'determined', result: 'no', settlement_value_dollars: '0.0000' });

    const respond = (status: number, body: string) =>
      (() => Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json' } }))) as typeof fetch;
    const unreachable = shardConfig(shard, 'http://127.0.0.1:1/trade-api/v2', 'http://127.0.0.1:1', 'http://127.0.0.1:1/gamma');
    const cases: Array<[string, Partial<SettlementOptions>, { unresolved: number; failed: number }]> = [
      ['HTTP 500', { fetchImpl: respond(500, '{"error":"internal"}') }, { unresolved: 0, failed: 5 }],
      ['HTML', { fetchImpl: respond(200, '<html>maintenance</html>') }, { unresolved: 0, failed: 5 }],
      ['JSON of the wrong shape', { fetchImpl: respond(200, '{"market":{"status":"determined"}}') }, { unresolved: 5, failed: 0 }],
      ['connection refused', { shardConfig: unreachable, requestTimeoutMs: 1_000 }, { unresolved: 0, failed: 5 }],
    ];
    for (const [what, options, expected] of cases) {
      const result = await poller(options).pollOnce();
      expect(result, what).to.deep.equal({ checked: 5, settled: [], ...expected });
    }
    expect(await positions()).to.deep.equal(opened);
    expect(await settlementRows()).to.equal(0);
  });

  it('settles resolved markets to the cent, once, even with two pollers at once; leaves the unresolved alone', async () => {
    const metrics = createExecutorMetrics(shard);
    const told: string[] = [];
    const a = poller({ metrics, onSettled: (s) => told.push(`${s.marketId}/${s.venue}/${s.winner}`) });
    const b = poller();
    const [ra, rb] = await Promise.all([a.pollOnce(), b.pollOnce()]);
    const settled = [...ra.settled, ...rb.settled].map((s) => `${s.marketId}/${s.venue}/${s.winner}`).sort();
    // m2 is determined on Kalshi (still open to dispute) and closed on Polymarket without a
    // declared winner: neither has paid out, so neither is settled.
    expect(settled).to.deep.equal(['m1/kalshi/yes', 'm1/polymarket/yes']);
    // Whichever poller came second found the positions settled already; both saw m2 (both venues) and m3 open.
    for (const r of [ra, rb]) expect([r.unresolved, r.failed]).to.deep.equal([3, 0]);

    const realized = { m1k: 640 + 80_000 - 37_440, m1p: -52_000 };
    const afterFirst = [
      { key: 'm1/kalshi/yes', size: 0, cost: 0, realized: realized.m1k },
      { key: 'm1/polymarket/no', size: 0, cost: 0, realized: realized.m1p },
      opened[2]!,
      opened[3]!,
      opened[4]!,
    ];
    expect(await positions()).to.deep.equal(afterFirst);
    expect(realized).to.deep.equal({ m1k: 43_200, m1p: -52_000 }); // $4.32, −$5.20
    const settledToday = 80_000 - 37_440 - 52_000;
    expect(await daily()).to.deep.equal({ [FILL_DAY]: 640, [SETTLE_DAY]: settledToday });
    expect(await settlementRows()).to.equal(2);
    const rows = (
      await pool.query<{ market_id: string; venue: string; payout: string; cost: string; realized: string }>(
        'select market_id, venue, payout, cost, realized from settlements order by market_id, venue',
      )
    ).rows;
    expect(rows.map((r) => [r.market_id, r.venue, Number(r.payout), Number(r.cost), Number(r.realized)])).to.deep.equal([
      ['m1', 'kalshi', 80_000, 37_440, 42_560],
      ['m1', 'polymarket', 0, 52_000, -52_000],
    ]);
    expect(told.length).to.equal(ra.settled.length);
    const counted = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'arbees_settlements_total')!.values;
    expect(counted.reduce((s, v) => s + v.value, 0)).to.equal(ra.settled.reduce((s, x) => s + x.effects.settled.length, 0));

    // Again, and two at once: nothing changes.
    const again = await Promise.all([a.pollOnce(), b.pollOnce(), poller().pollOnce()]);
    for (const r of again) expect(r).to.deep.equal({ checked: 3, settled: [], unresolved: 3, failed: 0 });
    expect(await positions()).to.deep.equal(afterFirst);
    expect(await daily()).to.deep.equal({ [FILL_DAY]: 640, [SETTLE_DAY]: settledToday });
    expect(await settlementRows()).to.equal(2);
  });

  it('settles on its own timer once both venues pay out, and stops cleanly', async () => {
    const timed = poller({ intervalMs: 100 });
    kalshi.resume();
    poly.resume();
    await waitFor('m2 to settle on both venues once paid out', async () =>
      (await positions()).filter((p) => p.key.startsWith('m2/')).every((p) => p.size === 0),
    );
    await timed.stop();
    const final = await positions();
    const settled = { key: 'm2/kalshi/no', size: 0, cost: 0, realized: 55_000 - 17_700 }; // $3.73
    expect(final.find((p) => p.key === 'm2/kalshi/no')).to.deep.equal(settled);
    expect(final.find((p) => p.key === 'm2/polymarket/yes')).to.deep.equal({
      key: 'm2/polymarket/yes',
      size: 0,
      cost: 0,
      realized: -50_025,
    });
    expect(final.find((p) => p.key === 'm3/kalshi/yes')).to.deep.equal(opened[4]);
    expect((await daily())[SETTLE_DAY]).to.equal(80_000 - 37_440 - 52_000 + 55_000 - 17_700 - 50_025);
    expect(await settlementRows()).to.equal(4);
  });
});
