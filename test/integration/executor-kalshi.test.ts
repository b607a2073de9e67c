// The executor in live mode against the Kalshi simulator (started in-process, real loopback
// sockets, RSA-PSS verified), with the rig's real PostgreSQL and Redis: the order intent is in
// the ledger before the venue sees the order; crashes after the intent and after the send are
// reconciled by client_order_id without a second send; and real executor processes killed with
// SIGKILL during a burst of signals lose no signal and duplicate no order.
import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { rig } from '../rig/index.js';
import { prng } from '../support/prng.js';
import { executorSpawner, killRounds } from '../support/kill-rounds.js';
import { waitFor, waitWhileProgressing } from '../support/wait.js';
import { startRedis } from '../../cli/local/redis.js';
import { parseDecimal } from '../../contracts/decimal.js';
import { streamKeys, type Leg, type Outcome, type Signal } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { credentialEnv } from '../../contracts/shard-config.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';
import { clientOrderId } from '../../workloads/executor/ids.js';
import { LIVE_AUTHORIZED_ENV } from '../../workloads/executor/live-venues.js';
import { startExecutorService, type ExecutorService } from '../../workloads/executor/start.js';
import type { ExecutorHooks } from '../../workloads/executor/order-sender.js';
import { askingBooks, keepBooks, signalKeyVars, xaddSignal } from '../support/signals.js';

const TICKER = 'KXNBAGAME-26NOV24PHILAL-LAL';
const KEY_ID = randomUUID();
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const contracts = (n: number) => n * 100;
const log = pino({ level: process.env.EXECUTOR_TEST_LOG ?? 'silent' });

const scenario = () =>
  parseScenario({
    name: 'executor-it',
    seed: 5,
    duration: '1h',
    messageRate: 2,
    tradeProbability: 0,
    defaults: { depth: 8, levelSize: 5_000 },
    games: [
      {
        id: 'g1',
        sport: 'nba',
        home: 'LAL',
        away: 'PHI',
        kalshi: { eventTicker: 'KXNBAGAME-26NOV24PHILAL' },
        markets: [
          { id: 'm0', team: 'LAL', initialPrice: 0.6, kalshi: { ticker: TICKER }, polymarket: { yesTokenId: '1', noTokenId: '2' } },
        ],
      },
    ],
  });

function shardConfig(shard: string, restUrl: string): ShardConfig {
  return {
    shard,
    markets: [{ id: 'm0', sport: 'nba', game: 'g1', kalshi: { ticker: TICKER }, polymarket: { yesTokenId: '1', noTokenId: '2' } }],
    venues: {
      kalshi: { environment: 'demo', restUrl, wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2' },
      polymarket: { clobUrl: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1', gammaUrl: 'http://127.0.0.1:1' },
    },
    // Signals may wait in the stream while an executor restarts: keep them fresh for the test.
    detector: { minEdgeBps: 100, maxQuoteAgeMs: 600_000, cooldownMs: 0 },
    executor: {
      mode: 'live',
      bankrollUsd: 100_000,
      limits: { perGameUsd: 50_000, perSportUsd: 50_000, dailyLossUsd: 50_000, maxOpenPositions: 10, maxOrderUsd: 5_000 },
    },
  };
}

const liveEnv = (): NodeJS.ProcessEnv => ({
  [LIVE_AUTHORIZED_ENV]: 'true',
  ...signalKeyVars,
  [credentialEnv.kalshi.keyId]: KEY_ID,
  [credentialEnv.kalshi.privateKey]: privatePem,
});

let signalCounter = 0;
function signal(legs: Leg[]): Signal {
  return {
    id: `ks-${process.pid}-${++signalCounter}-${randomUUID().slice(0, 8)}`,
    kind: legs.length === 2 ? 'arbitrage' : 'edge',
    marketId: 'm0',
    legs,
    edgeBps: 100,
    expectedProfit: 1,
    quoteAgesMs: [5],
    createdTs: Date.now(),
  };
}
const buy = (outcome: Outcome, size: number): Leg => ({ venue: 'kalshi', outcome, side: 'buy', limitPrice: 9_900, size });

/**
 * A pass-through proxy in front of the simulator that, for every order the venue is about to
 * receive, looks the client_order_id up in the ledger first.
 */
async function ledgerCheckingProxy(
  sim: KalshiSimHandle,
  db: pg.Pool,
): Promise<{
  url: string;
  seen: Array<{ cid: string; intentCommitted: boolean }>;
  posts: Map<string, number>;
  /** Requests passed on to the venue and not yet answered. */
  forwarding(): number;
  close(): Promise<void>;
}> {
  const seen: Array<{ cid: string; intentCommitted: boolean }> = [];
  const posts = new Map<string, number>();
  let forwarding = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = () => {
        forwarding++;
        res.once('close', () => forwarding--);
        const upstream = httpRequest(
          { host: '127.0.0.1', port: sim.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      };
      if (req.method === 'POST' && req.url?.startsWith('/trade-api/v2/portfolio/events/orders')) {
        const cid = String((JSON.parse(body.toString()) as { client_order_id?: string }).client_order_id);
        posts.set(cid, (posts.get(cid) ?? 0) + 1);
        // A separate connection: sees only what the executor has committed.
        db.query('select 1 from orders where client_order_id = $1', [cid]).then(
          (r) => {
            seen.push({ cid, intentCommitted: r.rowCount === 1 });
            forward();
          },
          () => res.destroy(),
        );
      } else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/trade-api/v2`,
    seen,
    posts,
    forwarding: () => forwarding,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function venue(sim: KalshiSimHandle, path: string): Promise<Record<string, unknown>> {
  const full = `/trade-api/v2${path}`;
  const res = await fetch(`http://127.0.0.1:${sim.port}${full}`, {
    headers: kalshiSignedHeaders(KEY_ID, createPrivateKey(privatePem), 'GET', full),
  });
  expect(res.status, `GET ${path}`).to.equal(200);
  return (await res.json()) as Record<string, unknown>;
}

interface VenueOrder {
  order_id: string;
  client_order_id: string;
  status: string;
  fill_count_fp: string;
}

async function venueList<T>(sim: KalshiSimHandle, path: string, field: string): Promise<T[]> {
  const out: T[] = [];
  let cursor = '';
  do {
    const page = await venue(sim, `${path}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...(page[field] as T[]));
    cursor = typeof page.cursor === 'string' ? page.cursor : '';
  } while (cursor);
  return out;
}

const venueOrders = (sim: KalshiSimHandle) => venueList<VenueOrder>(sim, '/portfolio/orders', 'orders');

let dbCounter = 0;
async function freshDatabase(): Promise<string> {
  return (await rig.postgres()).createDatabase(`executor_kalshi_${process.pid}_${++dbCounter}`);
}

describe('executor live against the Kalshi simulator', function () {
  this.timeout(180_000);
  /** Whether the simulator honours GET /portfolio/orders?client_order_id= (undocumented: the executor must not need it). */
  let clientOrderIdFilter = true;
  let sim: KalshiSimHandle;
  let db: pg.Pool;
  let databaseUrl: string;
  let redis: Redis;
  let redisUrl: string;
  let proxy: Awaited<ReturnType<typeof ledgerCheckingProxy>>;
  let shard: string;
  let shardCounter = 0;
  const services: ExecutorService[] = [];
  let books: { stop(): Promise<void> };

  beforeEach(async () => {
    sim = await startKalshiSim({
      scenario: scenario(),
      apiKeys: [{ id: KEY_ID, publicKeyPem: publicPem }],
      port: 0,
      rateLimits: { readRate: 100_000, readCapacity: 100_000, writeRate: 100_000, writeCapacity: 100_000 },
      balanceCents: 100_000_000,
      clientOrderIdFilter,
    });
    databaseUrl = await freshDatabase();
    db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    db.on('error', () => undefined);
    redisUrl = (await rig.redis()).url;
    redis = new Redis(redisUrl);
    redis.on('error', () => undefined);
    proxy = await ledgerCheckingProxy(sim, db);
    shard = `live-${process.pid}-${++shardCounter}`;
    await redis.set(streamKeys.control(shard), JSON.stringify({ state: 'closed', reason: 'ok', since: Date.now() }));
    // The executor's own books must support a signal's limits (no monitor runs here).
    books = keepBooks(redis, shard, askingBooks('m0', 9_900));
  });

  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop().catch(() => undefined);
    await books.stop();
    await proxy.close();
    redis.disconnect();
    await db.end();
    await sim.stop();
  });

  const start = async (hooks?: ExecutorHooks, grace = 400) => {
    const service = await startExecutorService({
      runtime: { shard, redis: { url: redisUrl }, postgres: { url: databaseUrl }, http: { port: 0 }, log: { level: 'silent' } },
      shardConfig: shardConfig(shard, proxy.url),
      env: liveEnv(),
      log,
      settings: { ambiguousGraceMs: grace, claimIdleMs: 60_000, firstVenue: 'kalshi' },
      risk: { marketCooldownMs: 0 },
      ops: false,
      ...(hooks ? { hooks } : {}),
    });
    services.push(service);
    return service;
  };
  const kill = (service: ExecutorService) => {
    service.kill();
    services.splice(services.indexOf(service), 1);
  };
  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows;

  /**
   * Nothing lost, nothing duplicated: every produced signal has a final ledger row; each client
   * order id reached the venue at most once; ledger orders, fills and positions equal the venue's.
   */
  const expectLedgerMatchesVenue = async (produced: Signal[], logs = '') => {
    // No lost signal: every produced id has a final row, no extra ones.
    const stored = await rows<{ id: string; status: string }>('select id, status from signals');
    expect(stored.map((r) => r.id).sort(), logs).to.deep.equal(produced.map((s) => s.id).sort());
    expect(stored.every((r) => r.status === 'done' || r.status === 'rejected')).to.be.true;

    // No duplicate order: each client order id reached the venue at most once, and every venue
    // order is in the ledger with the same id and fill.
    const atVenue = await venueOrders(sim);
    const byCid = new Map<string, VenueOrder[]>();
    for (const o of atVenue) byCid.set(o.client_order_id, [...(byCid.get(o.client_order_id) ?? []), o]);
    expect([...byCid.values()].filter((list) => list.length > 1)).to.have.length(0);
    const ledger = await rows<{
      client_order_id: string;
      status: string;
      filled_size: string;
      venue_order_id: string | null;
      reason: string | null;
      leg: string;
      signal_id: string;
    }>('select client_order_id, status, filled_size, venue_order_id, reason, leg, signal_id from orders');
    expect(ledger.filter((o) => !['filled', 'cancelled', 'rejected'].includes(o.status))).to.have.length(0);
    const ledgerByCid = new Map(ledger.map((o) => [o.client_order_id, o]));
    for (const v of atVenue) {
      const l = ledgerByCid.get(v.client_order_id);
      expect(l, `venue order ${v.client_order_id} missing from the ledger`).to.not.equal(undefined);
      expect(l!.venue_order_id).to.equal(v.order_id);
      expect(Number(l!.filled_size)).to.equal(parseDecimal(v.fill_count_fp, 2));
    }
    for (const l of ledger) {
      if (l.venue_order_id)
        expect(byCid.has(l.client_order_id), `ledger order not at the venue (${atVenue.length} venue orders): ${JSON.stringify(l)}`).to.be
          .true;
      else expect(l.reason).to.match(/never sent|kalshi/);
    }
    // Each signal's orders: at most its legs (plus unwind steps), never two of one leg.
    const perSignal = new Map<string, string[]>();
    for (const l of ledger) perSignal.set(l.signal_id, [...(perSignal.get(l.signal_id) ?? []), l.leg]);
    for (const legs of perSignal.values()) expect(new Set(legs).size).to.equal(legs.length);
    // Ledger positions = venue position; ledger fills = venue fills.
    const positions = await rows<{ outcome: string; size: string }>('select outcome, size from positions');
    const net = positions.reduce((s, p) => s + (p.outcome === 'yes' ? 1 : -1) * Number(p.size), 0);
    const venuePos = ((await venue(sim, '/portfolio/positions')).market_positions as Array<{ ticker: string; position_fp: string }>).find(
      (p) => p.ticker === TICKER,
    );
    expect(net).to.equal(venuePos ? Math.round(Number(venuePos.position_fp) * 100) : 0);
    const venueFills = await venueList<unknown>(sim, '/portfolio/fills', 'fills');
    const ledgerFills = await rows<{ n: number }>('select count(*)::int as n from fills');
    expect(ledgerFills[0]!.n).to.equal(venueFills.length);
    return { atVenue, ledger };
  };

  it('refuses live mode unless both switches are on', async () => {
    let error: unknown;
    try {
      await startExecutorService({
        runtime: { shard, redis: { url: redisUrl }, postgres: { url: databaseUrl }, http: { port: 0 }, log: { level: 'silent' } },
        shardConfig: shardConfig(shard, proxy.url),
        env: { ...liveEnv(), [LIVE_AUTHORIZED_ENV]: 'false' },
        log,
        ops: false,
      });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.contain(LIVE_AUTHORIZED_ENV);
  });

  it(
    'places signed IOC orders with client_order_id, each only after its intent row is committed; fills and positions ' + 'match the venue',
    async () => {
      const service = await start();
      const balance = async () => parseDecimal((await venue(sim, '/portfolio/balance')).balance_dollars as string, 4);
      const before = await balance();
      const single = signal([buy('yes', contracts(10))]);
      const set = signal([buy('yes', contracts(7)), buy('no', contracts(7))]);
      expect(await service.executor.handleSignal(single)).to.equal('accepted');
      expect(await service.executor.handleSignal(set)).to.equal('accepted');

      expect(proxy.seen).to.have.length(3);
      expect(
        proxy.seen.every((s) => s.intentCommitted),
        JSON.stringify(proxy.seen),
      ).to.be.true;
      expect(proxy.seen.map((s) => s.cid)).to.deep.equal([
        clientOrderId(shard, single.id, 'a'),
        clientOrderId(shard, set.id, 'a'),
        clientOrderId(shard, set.id, 'b'),
      ]);

      const orders = await rows<{ client_order_id: string; status: string; filled_size: string; venue_order_id: string; fees: string }>(
        'select client_order_id, status, filled_size, venue_order_id, fees from orders order by id',
      );
      expect(orders.map((o) => [o.status, Number(o.filled_size)])).to.deep.equal([
        ['filled', contracts(10)],
        ['filled', contracts(7)],
        ['filled', contracts(7)],
      ]);
      const atVenue = await venueOrders(sim);
      for (const o of orders) {
        const v = atVenue.find((x) => x.client_order_id === o.client_order_id)!;
        expect(v.order_id).to.equal(o.venue_order_id);
        expect(v.status).to.equal('executed');
      }
      // Ledger fills = venue fills; each fee is the trade fee plus the cent rounding Kalshi takes
      // from the balance (never a cent more), so the ledger's cost is what left the balance.
      const venueFills = (await venue(sim, '/portfolio/fills?limit=1000')).fills as Array<{ fill_id: string; fee_cost: string }>;
      const ledgerFills = await rows<{ venue_fill_id: string; fee: string }>('select venue_fill_id, fee from fills');
      expect(ledgerFills.map((f) => f.venue_fill_id).sort()).to.deep.equal(venueFills.map((f) => f.fill_id).sort());
      for (const f of ledgerFills) {
        const trade = parseDecimal(venueFills.find((v) => v.fill_id === f.venue_fill_id)!.fee_cost, 6) / 100;
        expect(Number(f.fee)).to.be.within(trade - 100, trade + 100);
      }
      const cost = await rows<{ outcome: string; size: string; cost: string }>('select outcome, size, cost from positions');
      const held = (outcome: string) => cost.filter((p) => p.outcome === outcome).reduce((s, p) => s + Number(p.size), 0);
      // Kalshi pays a YES and a NO held together $1 at once; the ledger counts them until settlement.
      const netted = Math.min(held('yes'), held('no')) * 100;
      expect((await balance()) - before).to.equal(netted - cost.reduce((s, p) => s + Number(p.cost), 0));
      // The venue nets YES and NO into one position; the ledger keeps them apart.
      const positions = await rows<{ outcome: string; size: string }>('select outcome, size from positions');
      const net = positions.reduce((s, p) => s + (p.outcome === 'yes' ? 1 : -1) * Number(p.size), 0);
      const venuePos = ((await venue(sim, '/portfolio/positions')).market_positions as Array<{ ticker: string; position_fp: string }>).find(
        (p) => p.ticker === TICKER,
      )!;
      expect(net).to.equal(Number(venuePos.position_fp) * 100);
    },
  );

  it('sizes orders in whole contracts on a market without fractional trading, as the venue says it is', async () => {
    const service = await start();
    const s = signal([buy('yes', 350)]); // 3.5 contracts
    expect(await service.executor.handleSignal(s)).to.equal('accepted');
    const [order] = await rows<{ size: string; status: string; filled_size: string }>(
      'select size, status, filled_size from orders where signal_id = $1',
      [s.id],
    );
    expect(order).to.deep.equal({ size: '300', status: 'filled', filled_size: '300' });
    const [v] = (await venueOrders(sim)).filter((o) => o.client_order_id === clientOrderId(shard, s.id, 'a'));
    expect(v!.fill_count_fp).to.equal('3.00');
    // 1.99 contracts go as one.
    const under = signal([buy('yes', 199)]);
    expect(await service.executor.handleSignal(under)).to.equal('accepted');
    const [one] = await rows<{ size: string }>('select size from orders where signal_id = $1', [under.id]);
    expect(one!.size).to.equal('100');
  });

  it('crash after the intent, before the send: the restarted executor finds nothing at the venue and never sends it', async () => {
    let freeze = true;
    const first = await start({ beforeSend: () => (freeze ? new Promise<void>(() => undefined) : undefined) });
    const s = signal([buy('yes', contracts(5)), buy('no', contracts(5))]);
    void first.executor.handleSignal(s);
    const cid = clientOrderId(shard, s.id, 'a');
    await waitFor(
      'the intent row',
      async () => (await rows('select 1 from orders where client_order_id = $1', [cid])).length === 1,
      30_000,
    );
    kill(first);
    freeze = false;
    await start();
    const [order] = await rows<{ status: string; reason: string }>('select status, reason from orders where client_order_id = $1', [cid]);
    expect(order).to.deep.equal({ status: 'cancelled', reason: 'not found at the venue: never sent' });
    expect(proxy.posts.get(cid) ?? 0).to.equal(0);
    expect((await venueOrders(sim)).filter((o) => o.client_order_id === cid)).to.have.length(0);
    const [sig] = await rows<{ status: string; outcome: string }>('select status, outcome from signals where id = $1', [s.id]);
    expect(sig).to.deep.equal({ status: 'done', outcome: 'first leg unfilled' });
    // Leg b was never created: a first leg is only sent by the run that decided it.
    expect(await rows('select 1 from orders where signal_id = $1', [s.id])).to.have.length(1);
  });

  const crashAfterSend = async () => {
    let freeze = true;
    const first = await start({ afterSend: () => (freeze ? new Promise<void>(() => undefined) : undefined) });
    const s = signal([buy('yes', contracts(6)), buy('no', contracts(6))]);
    void first.executor.handleSignal(s);
    const cidA = clientOrderId(shard, s.id, 'a');
    const cidB = clientOrderId(shard, s.id, 'b');
    await waitFor('the venue to have leg a', async () => (await venueOrders(sim)).some((o) => o.client_order_id === cidA), 30_000);
    const [before] = await rows<{ status: string }>('select status from orders where client_order_id = $1', [cidA]);
    expect(before!.status).to.equal('sent'); // the venue has it; the ledger does not know the outcome
    kill(first);
    freeze = false;
    await start();
    const orders = await rows<{ client_order_id: string; status: string; filled_size: string }>(
      'select client_order_id, status, filled_size from orders where signal_id = $1 order by id',
      [s.id],
    );
    expect(orders.map((o) => [o.client_order_id, o.status, Number(o.filled_size)])).to.deep.equal([
      [cidA, 'filled', contracts(6)],
      [cidB, 'filled', contracts(6)],
    ]);
    expect(proxy.posts.get(cidA)).to.equal(1);
    expect(proxy.posts.get(cidB)).to.equal(1);
    expect((await venueOrders(sim)).filter((o) => o.client_order_id === cidA || o.client_order_id === cidB)).to.have.length(2);
    const [sig] = await rows<{ status: string }>('select status from signals where id = $1', [s.id]);
    expect(sig!.status).to.equal('done');
  };
  it(
    'crash after the send, before the ack: the restart finds the order by client_order_id, records it, sends the ' + 'second leg once',
    crashAfterSend,
  );

  const killNine = async function (this: Mocha.Context) {
    const rounds = Number(process.env.EXECUTOR_KILL_ROUNDS ?? 8);
    this.timeout(240_000 + rounds * 25_000);
    const spawnExecutor = executorSpawner({
      shardConfig: shardConfig(shard, proxy.url),
      redisUrl,
      postgresUrl: databaseUrl,
      env: liveEnv(),
      args: ['--market-cooldown-ms', '0', '--first-venue', 'kalshi'],
    });

    const key = streamKeys.signals(shard);
    const produced: Signal[] = [];
    let producing = true;
    let rand = 11;
    const next = () => (rand = (rand * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const producer = (async () => {
      while (producing) {
        const burst = 3 + Math.floor(next() * 6);
        for (let i = 0; i < burst; i++) {
          const size = contracts(1 + Math.floor(next() * 5));
          const s = next() < 0.5 ? signal([buy('yes', size)]) : signal([buy('yes', size), buy('no', size)]);
          produced.push(s);
          await xaddSignal(redis, shard, s);
          // Now and then the detector replays a signal: it must be ignored.
          if (next() < 0.1) await xaddSignal(redis, shard, s);
        }
        await new Promise((r) => setTimeout(r, 50 + next() * 150));
      }
    })();

    const kills = await killRounds(rounds, spawnExecutor, next);
    producing = false;
    await producer;

    const last = spawnExecutor(rounds);
    try {
      // The backlog grows with the rounds (signals keep coming while no executor runs): wait as
      // long as it drains.
      await waitWhileProgressing('every signal decided and acknowledged', async () => {
        const groups = (await redis.xinfo('GROUPS', key).catch(() => [])) as unknown[][];
        const pending = groups.length === 0 ? [1] : ((await redis.xpending(key, 'executor')) as [number, ...unknown[]]);
        const lag = groups.length === 0 ? 1 : Number(groups[0]![groups[0]!.indexOf('lag') + 1]);
        const open = await rows<{ n: number }>(`select count(*)::int as n from signals where status = 'processing'`);
        const decided = await rows<{ n: number }>(`select count(*)::int as n from signals`);
        return {
          done: pending[0] === 0 && lag === 0 && open[0]!.n === 0 && decided[0]!.n === produced.length,
          progress: decided[0]!.n - open[0]!.n - Number(pending[0]),
          state: `produced ${produced.length}, decided ${decided[0]!.n}, processing ${open[0]!.n}, pending ${pending[0]}, lag ${lag}`,
        };
      });
    } finally {
      await last.stop('SIGTERM', 15_000);
    }
    const logs = last.logTail(5);

    const { atVenue, ledger } = await expectLedgerMatchesVenue(produced, logs);
    const duplicates = await rows<{ n: number }>(`select count(*)::int as n from risk_events where rule = 'duplicate-signal'`);
    process.stderr.write(
      `      kill -9 rounds: ${rounds} at ${kills.join(', ')} ms; signals ${produced.length}, venue orders ` +
        `${atVenue.length}, ledger orders ${ledger.length}, replays ignored ${duplicates[0]!.n}\n`,
    );
    expect(atVenue.length).to.be.greaterThan(0);
  };
  it('kill -9 of real executor processes during a burst of signals: no lost signal, no duplicate order, ledger = venue', killNine);

  describe('with a venue that ignores client_order_id on GET /portfolio/orders (found by ticker and time window)', () => {
    before(() => (clientOrderIdFilter = false));
    after(() => (clientOrderIdFilter = true));
    it('crash after the send, before the ack: found without the filter, recorded, second leg sent once', crashAfterSend);
    it('kill -9 of real executor processes during a burst of signals: no lost signal, no duplicate order, ledger = venue', killNine);
  });

  /** Signals into the stream every 40 ms until stopped; a signal counts as produced once Redis took it. */
  const produce = (client: Redis, intervalMs = 40) => {
    const produced: Signal[] = [];
    let running = true;
    let n = 0;
    const done = (async () => {
      let pending: Signal | undefined;
      while (running) {
        pending ??= ++n % 2 === 0 ? signal([buy('yes', contracts(2))]) : signal([buy('yes', contracts(1)), buy('no', contracts(1))]);
        try {
          await xaddSignal(client, shard, pending);
          produced.push(pending);
          pending = undefined;
        } catch {
          // Redis is down: the same signal goes again once it is back.
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
    return {
      produced,
      stop: async () => {
        running = false;
        await done;
      },
    };
  };
  const venueOrderCount = async () => (await venueOrders(sim)).length;
  const allDecided = async (client: Redis, produced: Signal[]) => {
    const pending = (await client.xpending(streamKeys.signals(shard), 'executor').catch(() => [1])) as [number, ...unknown[]];
    const open = await rows<{ n: number }>(`select count(*)::int as n from signals where status = 'processing'`);
    const decided = await rows<{ n: number }>('select count(*)::int as n from signals');
    return pending[0] === 0 && open[0]!.n === 0 && decided[0]!.n === produced.length;
  };

  it('PostgreSQL restart mid-stream: trading stops while it is down, resumes after, nothing lost or duplicated', async () => {
    const postgres = await rig.postgres();
    let service = await start();
    const producer = produce(redis);
    await waitFor('orders at the venue', async () => (await venueOrderCount()) >= 6, 60_000);
    let frozen: number;
    await postgres.stop();
    try {
      // The executor notices at once (its shard lock is a session of that server) and takes no more
      // signals; the orders already on their way finish. After that nothing may reach the venue: no
      // signal can be recorded, so none can be decided, however many keep coming.
      await waitFor('the executor to notice PostgreSQL is gone', () => service.executor.lostLock, 30_000);
      await waitFor('the orders on their way to finish', () => proxy.forwarding() === 0, 30_000);
      frozen = await venueOrderCount();
      const queued = producer.produced.length;
      await waitFor('25 more signals while PostgreSQL is down', () => producer.produced.length >= queued + 25, 30_000);
      expect(await venueOrderCount(), 'orders sent while PostgreSQL was down').to.equal(frozen);
    } finally {
      await postgres.start();
    }
    // The shard lock was a session of the old server: the executor knows it lost it and stops,
    // and its restart (what Kubernetes does with the pod) reconciles and carries on.
    await waitFor('the executor to notice the lost lock', () => service.executor.lostLock, 30_000);
    kill(service);
    service = await start();
    await waitFor('new orders after the restart', async () => (await venueOrderCount()) > frozen, 30_000);
    await producer.stop();
    await waitFor('every signal decided', () => allDecided(redis, producer.produced), 60_000);
    await expectLedgerMatchesVenue(producer.produced);
  });

  it(
    'Redis restart mid-stream (persistent, as ElastiCache is): trading stops, resumes on its own, nothing lost or ' + 'duplicated',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'arbees-redis-restart-'));
      const persistent = await startRedis(dir, { persistent: true });
      const client = new Redis(persistent.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      const persistentBooks = keepBooks(client, shard, askingBooks('m0', 9_900));
      try {
        redisUrl = persistent.url;
        await client.set(streamKeys.control(shard), JSON.stringify({ state: 'closed', reason: 'ok', since: Date.now() }));
        const service = await start();
        const producer = produce(client);
        await waitFor('orders at the venue', async () => (await venueOrderCount()) >= 6, 60_000);
        await persistent.stop();
        // The executor has noticed (its read failed: not ready, and it stays so until Redis is back),
        // the signals in flight are done (in-flight second legs may still complete) and no order is on
        // its way to the venue.
        await waitFor(
          'the executor to stop taking signals, with nothing in flight',
          async () =>
            !service.executor.state().ready &&
            (await rows<{ n: number }>(`select count(*)::int as n from signals where status = 'processing'`))[0]!.n === 0 &&
            proxy.forwarding() === 0,
          30_000,
        );
        const frozen = await venueOrderCount();
        // No signal can come in while Redis is down (the producer cannot write either), so there is
        // no count of processed input to wait for: only a window shows the executor does not start
        // trading again on its own (its loop retries every 500 ms).
        await new Promise((r) => setTimeout(r, 2_000));
        // No control state can be read: no new risk.
        expect(await venueOrderCount(), 'orders sent while Redis was down').to.equal(frozen);
        await persistent.start();
        await waitFor('new orders after the restart', async () => (await venueOrderCount()) > frozen, 30_000);
        await producer.stop();
        await waitFor('every signal decided', () => allDecided(client, producer.produced), 60_000);
        await expectLedgerMatchesVenue(producer.produced);
      } finally {
        await persistentBooks.stop();
        client.disconnect();
        await persistent.stop();
      }
    },
  );

  it('an open message on the control channel stops the very next signal, before the key changes', async () => {
    const service = await start();
    const before = signal([buy('yes', contracts(1))]);
    expect(await service.executor.handleSignal(before)).to.equal('accepted');
    const sent = await venueOrderCount();
    // The key still says closed: only the channel says open.
    await redis.publish(streamKeys.control(shard), JSON.stringify({ state: 'open', reason: 'operator tripped', since: Date.now() }));
    const next = signal([buy('yes', contracts(1))]);
    await xaddSignal(redis, shard, next);
    const decision = await waitFor(
      'the next signal decided',
      async () => (await rows<{ status: string; outcome: string }>('select status, outcome from signals where id = $1', [next.id]))[0],
    );
    expect(decision.status).to.equal('rejected');
    const [event] = await rows<{ rule: string }>('select rule from risk_events where signal_id = $1', [next.id]);
    expect(event!.rule).to.equal('circuit-open');
    expect(await venueOrderCount()).to.equal(sent);
  });

  it(
    'crashes that cut ≥ 200 signals at random points of their order path (in-process; the kill -9 test covers real ' +
      'processes): no lost signal, no duplicate order',
    async () => {
      const target = Number(process.env.EXECUTOR_CRASH_POINTS ?? 200);
      const rand = prng(20261126);
      const key = streamKeys.signals(shard);
      const consumer = `${hostname()}-${process.pid}`; // every in-process executor's consumer name
      const producer = produce(redis, 15);
      let cut = 0;
      let rounds = 0;
      while (cut < target) {
        expect(rounds, `only ${cut} signals cut after ${rounds} crashes`).to.be.below(500);
        rounds++;
        const began = Date.now();
        const service = await start();
        // The crash point is random along the order path, counted from the moment this run holds a
        // signal (it has started reading): a loaded machine may start a run slower than any fixed delay.
        await waitFor(
          'this run to read a signal',
          async () =>
            ((await redis.xpending(key, 'executor', '-', '+', 10_000, consumer)) as Array<[string, string, number, number]>).some(
              ([, , idleMs]) => idleMs < Date.now() - began,
            ),
          30_000,
        );
        await new Promise((r) => setTimeout(r, rand() * 250));
        kill(service);
        // Signals this run had read (fresh, or re-read from an earlier crash) and not acknowledged:
        // the crash cut each one somewhere between the read and the acknowledgement — recorded or
        // not, decided or not, orders sent or not.
        const pending = (await redis.xpending(key, 'executor', '-', '+', 10_000, consumer)) as Array<[string, string, number, number]>;
        cut += pending.filter(([, , idleMs]) => idleMs < Date.now() - began).length;
      }
      await producer.stop();
      await start();
      await waitFor('every signal decided', () => allDecided(redis, producer.produced), 60_000);
      const { atVenue } = await expectLedgerMatchesVenue(producer.produced);
      process.stderr.write(
        `      in-process crashes: ${rounds}, cutting ${cut} signals mid-path; signals ` +
          `${producer.produced.length}, venue orders ${atVenue.length}\n`,
      );
    },
  );
});
