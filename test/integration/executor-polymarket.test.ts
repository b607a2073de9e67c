// The executor live against both simulators: Kalshi directly, Polymarket only through a CONNECT
// proxy standing in for gluetun's. Polymarket orders are built and signed by the official client
// and verified by the simulator (EIP-712 signer recovery); each signed body is committed to the
// ledger before the venue sees it; an answer lost in transit is reconciled by the order's hash
// without a second order; with the tunnel down nothing reaches the venue at all.
import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { rig } from '../rig/index.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { prng } from '../support/prng.js';
import { executorSpawner, killRounds } from '../support/kill-rounds.js';
import { waitFor, waitWhileProgressing } from '../support/wait.js';
import { polymarketFee } from '../../venues/polymarket/fees.js';
import { parseDecimal } from '../../contracts/decimal.js';
import { streamKeys, type Leg, type Signal } from '../../contracts/messages.js';
import { polymarketOrderHash, type PolymarketSignedOrder } from '../../venues/polymarket/order.js';
import { credentialEnv, polymarketProxyEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { clientOrderId } from '../../workloads/executor/ids.js';
import { migrate } from '../../workloads/executor/migrations.js';
import { PolymarketClient, type PolyTrade } from '../../venues/polymarket/orders.js';
import type { ExecutorHooks } from '../../workloads/executor/order-sender.js';
import { LIVE_AUTHORIZED_ENV } from '../../workloads/executor/live-venues.js';
import { startExecutorService, type ExecutorService } from '../../workloads/executor/start.js';
import type { ExecutorSettings } from '../../workloads/executor/settings.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { polyL2Headers, type PolymarketApiCreds } from '../../workloads/sim/polymarket/auth.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';
import { askingBooks, keepBooks, signalKeyVars, xaddSignal } from '../support/signals.js';

const TICKER = 'KXNBAGAME-26NOV24PHILAL-LAL';
const YES = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
const NO = '52114319501245915516055106046884209969926127482827954674443846427813813222426';
const KALSHI_KEY = randomUUID();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kalshiPublic = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const kalshiPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const walletKey = generatePrivateKey();
const poly: PolymarketApiCreds = {
  apiKey: randomUUID(),
  secret: randomBytes(32).toString('base64url'),
  passphrase: randomBytes(16).toString('hex'),
  address: privateKeyToAccount(walletKey).address,
};
const log = pino({ level: process.env.EXECUTOR_TEST_LOG ?? 'silent' });
const shares = (n: number) => n * 100;

const scenario = (extra: Record<string, unknown> = {}) =>
  parseScenario({
    name: 'executor-poly-it',
    seed: 9,
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
        markets: [{ id: 'm0', team: 'LAL', initialPrice: 0.6, kalshi: { ticker: TICKER }, polymarket: { yesTokenId: YES, noTokenId: NO } }],
      },
    ],
    ...extra,
  });

const liveEnv = (proxyUrl?: string): NodeJS.ProcessEnv => ({
  [LIVE_AUTHORIZED_ENV]: 'true',
  ...signalKeyVars,
  [credentialEnv.kalshi.keyId]: KALSHI_KEY,
  [credentialEnv.kalshi.privateKey]: kalshiPrivate,
  [credentialEnv.polymarket.apiKey]: poly.apiKey,
  [credentialEnv.polymarket.apiSecret]: poly.secret,
  [credentialEnv.polymarket.apiPassphrase]: poly.passphrase,
  [credentialEnv.polymarket.privateKey]: walletKey,
  ...(proxyUrl ? { [polymarketProxyEnv]: proxyUrl } : {}),
});

let counter = 0;
function signal(legs: Leg[]): Signal {
  return {
    id: `pm-${process.pid}-${++counter}-${randomUUID().slice(0, 8)}`,
    kind: legs.length === 2 ? 'arbitrage' : 'edge',
    marketId: 'm0',
    legs,
    edgeBps: 100,
    expectedProfit: 1,
    quoteAgesMs: [5],
    createdTs: Date.now(),
  };
}

/**
 * The Polymarket venue's front door, behind the CONNECT proxy: it checks that every request came
 * through a tunnel and, for each order, that its signed body was committed to the ledger first.
 * `loseNextAnswer` forwards the next order but cuts the connection before the answer returns.
 */
interface Front {
  url: string;
  requests: number;
  /** Request paths, in order. */
  paths: string[];
  direct: number;
  orders: Array<{ hash: string; storedFirst: boolean }>;
  loseNextAnswer: boolean;
  /** Answers the next order with this instead of passing it on (the venue never sees it). */
  answerNextOrder?: { status: number; body: unknown };
  /**
   * Holds the next order until the executor has given up waiting for it and has looked it up once
   * (and not found it); only then does the venue get it, as a request held in a proxy would arrive.
   */
  lateNextOrder: boolean;
  /** Set once a late order has reached the venue. */
  lateDelivered: boolean;
  close(): Promise<void>;
}

async function startFront(sim: () => PolymarketSimHandle, db: pg.Pool, tunnel: ConnectProxy): Promise<Front> {
  const front: Front = {
    url: '',
    requests: 0,
    paths: [],
    direct: 0,
    orders: [],
    loseNextAnswer: false,
    lateNextOrder: false,
    lateDelivered: false,
    close: () => Promise.resolve(),
  };
  // The order being held (lateNextOrder): its hash, whether the executor has given up on it, and
  // how to pass it on.
  let held: { hash: string; abandoned: boolean; deliver(): void } | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    front.requests++;
    front.paths.push(req.url ?? '');
    if (!tunnel.upstreamPorts.has(req.socket.remotePort!)) front.direct++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const lose = req.method === 'POST' && req.url === '/order' && front.loseNextAnswer;
      if (lose) front.loseNextAnswer = false;
      const answer = req.method === 'POST' && req.url === '/order' ? front.answerNextOrder : undefined;
      if (answer) {
        front.answerNextOrder = undefined;
        return void res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      }
      // `discard`: the venue's answer goes nowhere (the connection is cut, or its client is gone).
      const forward = (then?: () => void, discard = lose) => {
        const upstream = httpRequest(
          { host: '127.0.0.1', port: new URL(sim().url).port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            if (then) up.on('end', then);
            if (discard) {
              up.resume();
              up.on('end', () => res.socket?.destroy());
              return;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      };
      if (req.method !== 'POST' || req.url !== '/order') {
        // The executor's first look for the held order after giving up on it: the venue answers
        // that it has no such order, and gets it right after.
        const late = held;
        if (late?.abandoned && req.method === 'GET' && req.url === `/data/order/${late.hash}`) {
          held = undefined;
          return forward(() => late.deliver());
        }
        return forward();
      }
      const hash = polymarketOrderHash((JSON.parse(body.toString()) as { order: PolymarketSignedOrder }).order);
      if (front.lateNextOrder) {
        front.lateNextOrder = false;
        const late = {
          hash,
          abandoned: false,
          // The executor is gone from this request: the venue's answer goes nowhere.
          deliver: () => forward(() => (front.lateDelivered = true), true),
        };
        held = late;
        res.on('close', () => (late.abandoned = true));
      }
      // A separate connection: it sees only what the executor has committed.
      db.query('select 1 from polymarket_signed_orders s join orders o using (client_order_id) where s.order_hash = $1', [hash]).then(
        (r) => {
          front.orders.push({ hash, storedFirst: r.rowCount === 1 });
          if (held?.hash !== hash) forward();
        },
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return front;
}

/** An authenticated read of the Polymarket simulator (directly: the test is not the executor). */
async function polyGet<T>(sim: PolymarketSimHandle, path: string): Promise<T> {
  const res = await fetch(`${sim.url}${path}`, { headers: polyL2Headers(poly, 'GET', path.split('?')[0]!) });
  expect(res.status, `GET ${path}`).to.equal(200);
  return (await res.json()) as T;
}

async function kalshiGet(sim: KalshiSimHandle, path: string): Promise<Record<string, unknown>> {
  const full = `/trade-api/v2${path}`;
  const res = await fetch(`${new URL(sim.url).origin}${full}`, {
    headers: kalshiSignedHeaders(KALSHI_KEY, createPrivateKey(kalshiPrivate), 'GET', full),
  });
  expect(res.status, `GET ${path}`).to.equal(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('executor live against both simulators (Polymarket through the tunnel)', function () {
  this.timeout(120_000);
  let kalshi: KalshiSimHandle;
  let polymarket: PolymarketSimHandle;
  let tunnel: ConnectProxy;
  let front: Front;
  let db: pg.Pool;
  let databaseUrl: string;
  let redis: Redis;
  let redisUrl: string;
  let shard: string;
  let shardCounter = 0;
  const services: ExecutorService[] = [];
  let books: { stop(): Promise<void> };
  const clients: PolymarketClient[] = [];
  /** Whether Kalshi honours GET /portfolio/orders?client_order_id= (undocumented: the executor must not need it). */
  let clientOrderIdFilter = true;

  const shardConfig = (): ShardConfig => ({
    shard,
    markets: [{ id: 'm0', sport: 'nba', game: 'g1', kalshi: { ticker: TICKER }, polymarket: { yesTokenId: YES, noTokenId: NO } }],
    venues: {
      kalshi: { environment: 'demo', restUrl: kalshi.url, wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2' },
      polymarket: { clobUrl: front.url, wsUrl: 'ws://127.0.0.1:1', gammaUrl: `${front.url}/gamma` },
    },
    detector: { minEdgeBps: 100, maxQuoteAgeMs: 600_000, cooldownMs: 0 },
    executor: {
      mode: 'live',
      bankrollUsd: 100_000,
      limits: { perGameUsd: 50_000, perSportUsd: 50_000, dailyLossUsd: 50_000, maxOpenPositions: 10, maxOrderUsd: 5_000 },
    },
  });

  beforeEach(async () => {
    kalshi = await startKalshiSim({
      scenario: scenario(),
      apiKeys: [{ id: KALSHI_KEY, publicKeyPem: kalshiPublic }],
      port: 0,
      rateLimits: { readRate: 100_000, readCapacity: 100_000, writeRate: 100_000, writeCapacity: 100_000 },
      balanceCents: 100_000_000,
      clientOrderIdFilter,
    });
    polymarket = await startPolymarketSim({ scenario: scenario(), creds: [poly], port: 0 });
    databaseUrl = await (await rig.postgres()).createDatabase(`executor_poly_${process.pid}_${++shardCounter}`);
    db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    db.on('error', () => undefined);
    tunnel = await startConnectProxy();
    front = await startFront(() => polymarket, db, tunnel);
    redisUrl = (await rig.redis()).url;
    redis = new Redis(redisUrl);
    redis.on('error', () => undefined);
    shard = `poly-${process.pid}-${shardCounter}`;
    await redis.set(streamKeys.control(shard), JSON.stringify({ state: 'closed', reason: 'ok', since: Date.now() }));
    // The executor's own books must support a signal's limits (no monitor runs here).
    books = keepBooks(redis, shard, askingBooks('m0', 9_900));
  });

  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop().catch(() => undefined);
    await books.stop();
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    redis.disconnect();
    await front.close();
    await tunnel.close();
    await db.end();
    await kalshi.stop();
    await polymarket.stop();
  });

  const start = async ({
    env = liveEnv(tunnel.url),
    settlementIntervalMs,
    hooks,
    logger = log,
    settings = {},
  }: {
    env?: NodeJS.ProcessEnv;
    settlementIntervalMs?: number;
    hooks?: ExecutorHooks;
    logger?: Logger;
    settings?: Partial<ExecutorSettings>;
  } = {}) => {
    const service = await startExecutorService({
      runtime: { shard, redis: { url: redisUrl }, postgres: { url: databaseUrl }, http: { port: 0 }, log: { level: 'silent' } },
      shardConfig: shardConfig(),
      env,
      log: logger,
      settings: { ambiguousGraceMs: 400, claimIdleMs: 60_000, ...settings },
      risk: { marketCooldownMs: 0 },
      ops: false,
      ...(settlementIntervalMs ? { settlementIntervalMs } : {}),
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
  const refusal = async (env: NodeJS.ProcessEnv) => {
    try {
      await start({ env });
    } catch (error) {
      return String(error);
    }
    return 'started';
  };

  it('refuses live Polymarket without the VPN proxy or with partial credentials, naming what is missing', async () => {
    expect(await refusal(liveEnv())).to.contain(polymarketProxyEnv);
    const partial = liveEnv(tunnel.url);
    delete partial[credentialEnv.polymarket.privateKey];
    expect(await refusal(partial)).to.contain(credentialEnv.polymarket.privateKey);
    expect(front.requests).to.equal(0);
  });

  it(
    'trades an arbitrage on both venues: Polymarket first, signed by the official client, stored before it is sent, all ' +
      'through the tunnel; ledger = venues',
    async () => {
      const service = await start();
      const s = signal([
        { venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(12) },
        { venue: 'kalshi', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(12) },
      ]);
      expect(await service.executor.handleSignal(s)).to.equal('accepted');

      const orders = await rows<{
        client_order_id: string;
        venue: string;
        status: string;
        filled_size: string;
        venue_order_id: string;
        fees: string;
      }>('select client_order_id, venue, status, filled_size, venue_order_id, fees from orders order by id');
      expect(orders.map((o) => [o.venue, o.status, Number(o.filled_size)])).to.deep.equal([
        ['polymarket', 'filled', shares(12)],
        ['kalshi', 'filled', shares(12)],
      ]);
      // The Polymarket order is the hash of the body stored under our client order id, committed
      // before the venue saw it; the simulator accepted its EIP-712 signature.
      const [signed] = await rows<{
        client_order_id: string;
        order_hash: string;
        body: { order: PolymarketSignedOrder; orderType: string };
      }>('select * from polymarket_signed_orders');
      expect(signed!.client_order_id).to.equal(clientOrderId(shard, s.id, 'a'));
      expect(signed!.order_hash).to.equal(orders[0]!.venue_order_id).and.to.equal(polymarketOrderHash(signed!.body.order));
      expect(signed!.body.orderType).to.equal('FAK');
      expect(signed!.body.order.signer).to.equal(poly.address);
      expect(front.orders).to.deep.equal([{ hash: signed!.order_hash, storedFirst: true }]);
      const atVenue = await polyGet<{ status: string; size_matched: string } | null>(polymarket, `/data/order/${signed!.order_hash}`);
      expect(atVenue).to.include({ status: 'MATCHED', size_matched: '12' });

      // Ledger fills = the venue's trades, each fee the documented formula at the market's fd
      // (the trades say fee_rate_bps "0", as live ones do while charging).
      const trades = (await polyGet<{ data: PolyTrade[] }>(polymarket, `/data/trades?asset_id=${YES}`)).data.filter(
        (t) => t.taker_order_id === signed!.order_hash,
      );
      const fills = await rows<{ venue_fill_id: string; price: string; size: string; fee: string }>(
        `select venue_fill_id, price, size, fee from fills where venue = 'polymarket'`,
      );
      expect(fills.map((f) => f.venue_fill_id).sort()).to.deep.equal(trades.map((t) => t.id).sort());
      expect(trades.every((t) => t.fee_rate_bps === '0')).to.be.true;
      const expectedFees = trades.reduce(
        (sum, t) => sum + polymarketFee(parseDecimal(t.price, 4), parseDecimal(t.size, 2), { rate: '0.03', exponent: 1 }),
        0,
      );
      expect(expectedFees).to.be.greaterThan(0);
      expect(fills.reduce((sum, f) => sum + Number(f.fee), 0))
        .to.equal(expectedFees)
        .and.to.equal(Number(orders[0]!.fees));
      // Checked against the venue's balance: what left the wallet is what the ledger says it cost.
      const [polyCost] = await rows<{ cost: string }>(`select cost from positions where venue = 'polymarket'`);
      const pusd = await polyGet<{ balance: string }>(polymarket, '/balance-allowance?asset_type=COLLATERAL');
      expect(100_000 * 1e6 - Number(pusd.balance)).to.equal(Number(polyCost!.cost) * 100);
      const positions = await rows<{ venue: string; outcome: string; size: string }>(
        'select venue, outcome, size from positions order by venue',
      );
      expect(positions.map((p) => [p.venue, p.outcome, Number(p.size)])).to.deep.equal([
        ['kalshi', 'no', shares(12)],
        ['polymarket', 'yes', shares(12)],
      ]);

      // Every Polymarket request went through the tunnel; none around it.
      expect(front.requests).to.be.greaterThan(3);
      expect(front.direct).to.equal(0);
      expect(tunnel.tunnels).to.be.greaterThan(0);
    },
  );

  it(
    'an answer lost in transit is reconciled by the order hash: one order at the venue, recorded once, and a resend of ' +
      'the stored bytes is a duplicate',
    async () => {
      const service = await start();
      front.loseNextAnswer = true;
      const s = signal([{ venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(8) }]);
      expect(await service.executor.handleSignal(s)).to.equal('accepted');
      const cid = clientOrderId(shard, s.id, 'a');
      const [order] = await rows<{ status: string; filled_size: string; venue_order_id: string }>(
        'select status, filled_size, venue_order_id from orders where client_order_id = $1',
        [cid],
      );
      expect(order).to.include({ status: 'filled', filled_size: String(shares(8)) });
      expect(front.orders).to.have.length(1);
      const atVenue = await polyGet<{ data: Array<{ id: string }> }>(polymarket, `/data/trades?asset_id=${NO}`);
      expect(new Set(atVenue.data.map((t) => t.id)).size).to.equal((await rows('select 1 from fills')).length);

      // The same intent placed again (a retry after a restart): the stored bytes go out, the
      // venue calls them a duplicate, and the client reports the one order it has.
      const client = new PolymarketClient({
        clobUrl: front.url,
        proxyUrl: tunnel.url,
        pool: db,
        credentials: { apiKey: poly.apiKey, secret: poly.secret, passphrase: poly.passphrase, privateKey: walletKey },
      });
      clients.push(client);
      const [row] = await rows<{ created_at: Date }>('select created_at from orders where client_order_id = $1', [cid]);
      const again = await client.place({
        clientOrderId: cid,
        venue: 'polymarket',
        marketId: 'm0',
        venueMarket: NO,
        outcome: 'no',
        side: 'buy',
        limitPrice: 9_900,
        size: shares(8),
        createdTs: row!.created_at.getTime(),
      });
      expect(again).to.include({ venueOrderId: order!.venue_order_id, status: 'filled', filledSize: shares(8) });
      expect(front.orders.map((o) => o.hash)).to.deep.equal([order!.venue_order_id, order!.venue_order_id]);
      expect(front.direct).to.equal(0);
    },
  );

  it('an order reaching the venue after the executor gave up on it and first looked it up is recorded, not called never sent', async () => {
    // The grace (3 s) is shorter than the client's request timeout (5 s): counted from the order's
    // creation, it has run out by the time the executor gives up on the request.
    const service = await start({ settings: { ambiguousGraceMs: 3_000 } });
    front.lateNextOrder = true;
    const s = signal([{ venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(5) }]);
    expect(await service.executor.handleSignal(s)).to.equal('accepted');
    expect(front.lateDelivered, 'the venue got the order late').to.equal(true);
    const [order] = await rows<{ status: string; filled_size: string; venue_order_id: string | null }>(
      'select status, filled_size, venue_order_id from orders where client_order_id = $1',
      [clientOrderId(shard, s.id, 'a')],
    );
    const hash = front.orders[0]!.hash;
    expect(order).to.deep.equal({ status: 'filled', filled_size: String(shares(5)), venue_order_id: hash });
    const atVenue = await polyGet<{ data: Array<{ taker_order_id: string }> }>(polymarket, `/data/trades?asset_id=${NO}`);
    expect(atVenue.data.map((t) => t.taker_order_id)).to.include(hash);
    expect(front.orders).to.have.length(1);
  });

  it('with the tunnel down nothing reaches Polymarket: the order is never sent and nothing goes around the tunnel', async () => {
    const service = await start();
    // The market's terms were read through the tunnel at start; from now on nothing gets through.
    front.requests = 0;
    tunnel.down = true;
    const s = signal([{ venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(6) }]);
    expect(await service.executor.handleSignal(s)).to.equal('accepted');
    const [order] = await rows<{ status: string; reason: string }>('select status, reason from orders where client_order_id = $1', [
      clientOrderId(shard, s.id, 'a'),
    ]);
    expect(order!.status).to.be.oneOf(['cancelled', 'rejected']);
    expect(front.requests).to.equal(0);
    expect(await polyGet<{ data: unknown[] }>(polymarket, '/data/orders')).to.have.property('count', 0);
    expect((await polyGet<{ data: unknown[] }>(polymarket, `/data/trades?asset_id=${YES}`)).data).to.have.length(0);
  });

  it(
    'settles the arbitrage when both venues pay out: positions closed, payout − cost realized in the ledger and the ' +
      'running executor, Polymarket read through the tunnel',
    async () => {
      // Venues whose game ends a second after they start, paying out a second later: YES won.
      const resolving = scenario({ resolutions: [{ market: 'm0', at: '1s', winner: 'yes', settleAfter: '1s' }] });
      await kalshi.stop();
      await polymarket.stop();
      kalshi = await startKalshiSim({
        scenario: resolving,
        apiKeys: [{ id: KALSHI_KEY, publicKeyPem: kalshiPublic }],
        port: 0,
        balanceCents: 100_000_000,
        autoStart: false,
      });
      polymarket = await startPolymarketSim({ scenario: resolving, creds: [poly], port: 0, autoStart: false });
      const service = await start({ settlementIntervalMs: 200 });
      const s = signal([
        { venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(10) },
        { venue: 'kalshi', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(10) },
      ]);
      expect(await service.executor.handleSignal(s)).to.equal('accepted');
      const opened = await rows<{ venue: string; outcome: string; size: string; cost: string }>(
        'select venue, outcome, size, cost from positions order by venue',
      );
      expect(opened.map((p) => [p.venue, p.outcome, Number(p.size)])).to.deep.equal([
        ['kalshi', 'no', shares(10)],
        ['polymarket', 'yes', shares(10)],
      ]);
      const realizedBefore = service.executor.state().realizedTotal;

      kalshi.resume();
      polymarket.resume();
      await waitFor(
        'both positions settled',
        async () => (await rows<{ size: string }>('select size from positions')).every((p) => Number(p.size) === 0),
        20_000,
      );
      const settled = await rows<{ venue: string; winner: string; payout: string; cost: string; realized: string }>(
        'select venue, winner, payout, cost, realized from settlements order by venue',
      );
      const cost = (venue: string) => Number(opened.find((p) => p.venue === venue)!.cost);
      // YES won: the Polymarket YES pays $1 a share, the Kalshi NO nothing.
      expect(settled.map((r) => [r.venue, r.winner, Number(r.payout), Number(r.cost), Number(r.realized)])).to.deep.equal([
        ['kalshi', 'yes', 0, cost('kalshi'), -cost('kalshi')],
        ['polymarket', 'yes', 10 * 10_000, cost('polymarket'), 10 * 10_000 - cost('polymarket')],
      ]);
      const settledPnl = 10 * 10_000 - cost('kalshi') - cost('polymarket');
      // The running executor follows without a restart: its realized PnL and exposure.
      await waitFor('the executor to apply the settlement', () => service.executor.state().realizedTotal === realizedBefore + settledPnl);
      expect(service.executor.state().exposure).to.equal(0);
      expect(service.executor.state().positions.every((p) => p.size === 0)).to.be.true;
      expect(front.direct).to.equal(0);
      expect(front.paths.some((p) => p.startsWith('/gamma/markets'))).to.be.true;
    },
  );

  it('crash after the intent, before the send: nothing was signed, so the restart knows the order never left', async () => {
    let freeze = true;
    const first = await start({ hooks: { beforeSend: () => (freeze ? new Promise<void>(() => undefined) : undefined) } });
    const s = signal([{ venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(5) }]);
    void first.executor.handleSignal(s);
    const cid = clientOrderId(shard, s.id, 'a');
    await waitFor('the intent row', async () => (await rows('select 1 from orders where client_order_id = $1', [cid])).length === 1);
    kill(first);
    freeze = false;
    await start();
    const [order] = await rows<{ status: string; reason: string }>('select status, reason from orders where client_order_id = $1', [cid]);
    expect(order).to.deep.equal({ status: 'cancelled', reason: 'not found at the venue: never sent' });
    expect(await rows('select 1 from polymarket_signed_orders')).to.have.length(0);
    expect(front.orders).to.have.length(0);
  });

  it(
    'crash after the send, before the ack: the restart finds the order by its hash, records it, and sends the ' + 'Kalshi leg once',
    async () => {
      let freeze = true;
      const first = await start({ hooks: { afterSend: () => (freeze ? new Promise<void>(() => undefined) : undefined) } });
      const s = signal([
        { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(7) },
        { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(7) },
      ]);
      void first.executor.handleSignal(s);
      await waitFor('the Polymarket order at the venue', () => front.orders.length === 1);
      await waitFor(
        'the venue to answer',
        async () => (await polyGet<{ status: string } | null>(polymarket, `/data/order/${front.orders[0]!.hash}`))?.status === 'MATCHED',
      );
      kill(first);
      freeze = false;
      await start();
      const orders = await rows<{ venue: string; status: string; filled_size: string; venue_order_id: string }>(
        'select venue, status, filled_size, venue_order_id from orders where signal_id = $1 order by id',
        [s.id],
      );
      expect(orders.map((o) => [o.venue, o.status, Number(o.filled_size)])).to.deep.equal([
        ['polymarket', 'filled', shares(7)],
        ['kalshi', 'filled', shares(7)],
      ]);
      expect(orders[0]!.venue_order_id).to.equal(front.orders[0]!.hash);
      expect(front.orders).to.have.length(1); // never sent again
      const [sig] = await rows<{ status: string }>('select status from signals where id = $1', [s.id]);
      expect(sig!.status).to.equal('done');
    },
  );

  /** Both simulators again, on the scenario with `extra`, and with `poly`/`kalshi` options. */
  const restartVenues = async (extra: Record<string, unknown>, options: { balanceUsd?: number; balanceCents?: number } = {}) => {
    await kalshi.stop();
    await polymarket.stop();
    kalshi = await startKalshiSim({
      scenario: scenario(extra),
      apiKeys: [{ id: KALSHI_KEY, publicKeyPem: kalshiPublic }],
      port: 0,
      balanceCents: options.balanceCents ?? 100_000_000,
    });
    polymarket = await startPolymarketSim({ scenario: scenario(extra), creds: [poly], port: 0, balanceUsd: options.balanceUsd });
  };
  const counter = async (
    metric: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> },
    venue: string,
  ) => (await metric.get()).values.find((v) => v.labels.venue === venue)?.value ?? 0;
  const arb = () =>
    signal([
      { venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(6) },
      { venue: 'kalshi', outcome: 'no', side: 'buy', limitPrice: 9_900, size: shares(6) },
    ]);

  it('a Polymarket first leg whose trade fails on chain is no fill: nothing goes to Kalshi, the failure is counted and kept', async () => {
    await restartVenues({ polymarketChain: [{ trade: 1, outcome: 'failed' }] });
    const service = await start();
    const s = arb();
    expect(await service.executor.handleSignal(s)).to.equal('accepted');
    const orders = await rows<{ venue: string; status: string; filled_size: string }>(
      'select venue, status, filled_size from orders where signal_id = $1 order by id',
      [s.id],
    );
    expect(orders.map((o) => [o.venue, o.status, Number(o.filled_size)])).to.deep.equal([['polymarket', 'cancelled', 0]]);
    expect(await rows('select 1 from fills')).to.have.length(0);
    expect(await rows('select 1 from positions where size > 0')).to.have.length(0);
    const [sig] = await rows<{ outcome: string }>('select outcome from signals where id = $1', [s.id]);
    expect(sig!.outcome).to.equal('first leg unfilled');
    const [event] = await rows<{ rule: string; detail: string }>('select rule, detail from risk_events where signal_id = $1', [s.id]);
    expect(event).to.include({ rule: 'trade-failed' });
    expect(await counter(service.metrics.failedTrades, 'polymarket')).to.equal(1);
    expect((await kalshiGet(kalshi, '/portfolio/orders')).orders).to.deep.equal([]);
  });

  for (const policy of ['hedge', 'close'] as const) {
    const how = policy === 'hedge' ? 'retried on Polymarket' : 'unwound on Kalshi';
    it(`a Polymarket second leg whose trade fails on chain leaves Kalshi one-legged: ${how} under the ladder`, async () => {
      await restartVenues({ polymarketChain: [{ trade: 1, outcome: 'failed' }] });
      const service = await start({ settings: { firstVenue: 'kalshi', unwind: { policy, steps: 3, stepTicks: 100 } } });
      const s = arb();
      expect(await service.executor.handleSignal(s)).to.equal('accepted');
      const orders = await rows<{ venue: string; leg: string; side: string; status: string; filled_size: string }>(
        'select venue, leg, side, status, filled_size from orders where signal_id = $1 order by id',
        [s.id],
      );
      expect(orders.slice(0, 2).map((o) => [o.leg, o.venue, Number(o.filled_size)])).to.deep.equal([
        ['a', 'kalshi', shares(6)],
        ['b', 'polymarket', 0],
      ]);
      const positions = await rows<{ venue: string; outcome: string; size: string }>(
        'select venue, outcome, size from positions where size > 0 order by venue',
      );
      const [sig] = await rows<{ outcome: string }>('select outcome from signals where id = $1', [s.id]);
      if (policy === 'hedge') {
        // The missing leg bought again on Polymarket (its second trade settles): a whole set is held.
        expect(orders[2]).to.include({ leg: 'h1', venue: 'polymarket', side: 'buy', status: 'filled' });
        expect(positions.map((p) => [p.venue, p.outcome, Number(p.size)])).to.deep.equal([
          ['kalshi', 'no', shares(6)],
          ['polymarket', 'yes', shares(6)],
        ]);
        expect(sig!.outcome).to.match(/^legged: hedged/);
      } else {
        // The Kalshi leg sold back: nothing held.
        expect(orders[2]).to.include({ leg: 'c1', venue: 'kalshi', side: 'sell' });
        expect(positions).to.deep.equal([]);
        expect(sig!.outcome).to.match(/^legged: closed/);
      }
      expect(await counter(service.metrics.failedTrades, 'polymarket')).to.equal(1);
      // The ledger's Polymarket fills are the venue's settled trades and nothing else.
      const settled = (await polyGet<{ data: Array<{ id: string; status: string }> }>(polymarket, `/data/trades?asset_id=${YES}`)).data;
      const ledgerFills = await rows<{ venue_fill_id: string }>(`select venue_fill_id from fills where venue = 'polymarket'`);
      expect(ledgerFills.map((f) => f.venue_fill_id).sort()).to.deep.equal(
        settled
          .filter((t) => t.status === 'CONFIRMED')
          .map((t) => t.id)
          .sort(),
      );
    });
  }

  it('a market whose terms a venue did not give is not traded there (refused, reason kept, counted); the other venue trades', async () => {
    await polymarket.stop(); // the tunnel's front answers, the venue behind it does not
    const service = await start();
    const both = arb();
    const kalshiOnly = signal([{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(3) }]);
    expect(await service.executor.handleSignal(both)).to.equal('rejected');
    const [event] = await rows<{ rule: string; detail: string }>('select rule, detail from risk_events where signal_id = $1', [both.id]);
    expect(event!.rule).to.equal('market-terms-unknown');
    expect(event!.detail).to.match(/Polymarket|polymarket/);
    const rejections = (await service.metrics.riskRejections.get()).values.find((v) => v.labels.rule === 'market-terms-unknown');
    expect(rejections!.value).to.equal(1);
    expect(front.orders).to.have.length(0);
    expect(await service.executor.handleSignal(kalshiOnly)).to.equal('accepted');
    const [order] = await rows<{ status: string }>('select status from orders where signal_id = $1', [kalshiOnly.id]);
    expect(order!.status).to.equal('filled');
    polymarket = await startPolymarketSim({ scenario: scenario(), creds: [poly], port: 0 });
  });

  it('an order the account cannot pay for is a rejection with a metric, a risk event and an event log line, on either venue', async () => {
    await restartVenues({}, { balanceUsd: 1, balanceCents: 100 });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const service = await start({ logger });
    const poly1 = signal([{ venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(6) }]);
    const kalshi1 = signal([{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(6) }]);
    for (const s of [poly1, kalshi1]) expect(await service.executor.handleSignal(s)).to.equal('accepted');
    for (const [s, venue] of [
      [poly1, 'polymarket'],
      [kalshi1, 'kalshi'],
    ] as const) {
      const [order] = await rows<{ status: string; reason: string }>('select status, reason from orders where signal_id = $1', [s.id]);
      expect(order!.status).to.equal('rejected');
      expect(order!.reason).to.match(venue === 'polymarket' ? /not enough balance/ : /insufficient_balance/);
      const [event] = await rows<{ rule: string }>('select rule from risk_events where signal_id = $1', [s.id]);
      expect(event!.rule).to.equal('insufficient-balance');
      expect(await counter(service.metrics.balanceRefusals, venue)).to.equal(1);
      expect(lines.filter((l) => l.event === 'InsufficientBalance' && l.venue === venue)).to.have.length(1);
    }
  });

  it(
    'venue edge cases: 425 (engine restarting) is a refusal, 503 is reconciled and found never placed, a delayed order ' +
      'is followed until it matches',
    async () => {
      // Matching delay on the game, as sports markets have.
      await polymarket.stop();
      polymarket = await startPolymarketSim({
        scenario: scenario({ games: [{ ...scenario().games[0]!, polymarket: { matchingDelayMs: 300 } }] }),
        creds: [poly],
        port: 0,
      });
      const service = await start();
      const one = () => signal([{ venue: 'polymarket', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: shares(5) }]);
      const orderOf = async (s: Signal) =>
        (
          await rows<{ status: string; reason: string | null; filled_size: string }>(
            'select status, reason, filled_size from orders where signal_id = $1',
            [s.id],
          )
        )[0]!;

      front.answerNextOrder = { status: 425, body: { error: 'Too Early' } };
      const early = one();
      expect(await service.executor.handleSignal(early)).to.equal('accepted');
      expect(await orderOf(early)).to.deep.include({ status: 'rejected', filled_size: '0' });
      expect((await orderOf(early)).reason).to.contain('425');

      front.answerNextOrder = { status: 503, body: { error: 'Trading is currently disabled. Check polymarket.com for updates' } };
      const down = one();
      expect(await service.executor.handleSignal(down)).to.equal('accepted');
      expect(await orderOf(down)).to.deep.include({ status: 'cancelled', reason: 'not found at the venue: never sent' });

      const delayed = one();
      expect(await service.executor.handleSignal(delayed)).to.equal('accepted');
      expect(await orderOf(delayed)).to.deep.include({ status: 'filled', filled_size: String(shares(5)) });
      const [signed] = await rows<{ order_hash: string }>(
        'select s.order_hash from polymarket_signed_orders s join orders o using (client_order_id) where o.signal_id = $1',
        [delayed.id],
      );
      expect(await polyGet<{ status: string }>(polymarket, `/data/order/${signed!.order_hash}`)).to.include({
        status: 'MATCHED',
        size_matched: '5',
      });
    },
  );

  const killNine = async function (this: Mocha.Context) {
    const rounds = Number(process.env.EXECUTOR_KILL_ROUNDS ?? 8);
    this.timeout(240_000 + rounds * 25_000);
    const spawnExecutor = executorSpawner({
      shardConfig: shardConfig(),
      redisUrl,
      postgresUrl: databaseUrl,
      env: liveEnv(tunnel.url),
      args: ['--market-cooldown-ms', '0'],
    });
    const random = prng(23);
    const produced: Signal[] = [];
    let producing = true;
    const producer = (async () => {
      while (producing) {
        for (let i = 0, burst = 2 + Math.floor(random() * 4); i < burst; i++) {
          const size = shares(5 + Math.floor(random() * 5));
          const yes = random() < 0.5;
          const polyLeg: Leg = { venue: 'polymarket', outcome: yes ? 'yes' : 'no', side: 'buy', limitPrice: 9_900, size };
          const s =
            random() < 0.3
              ? signal([polyLeg])
              : signal([polyLeg, { venue: 'kalshi', outcome: yes ? 'no' : 'yes', side: 'buy', limitPrice: 9_900, size }]);
          produced.push(s);
          await xaddSignal(redis, shard, s);
        }
        await new Promise((r) => setTimeout(r, 50 + random() * 150));
      }
    })();

    const kills = await killRounds(rounds, spawnExecutor, random);
    producing = false;
    await producer;

    const last = spawnExecutor(rounds);
    try {
      await waitWhileProgressing('every signal decided', async () => {
        const open = await rows<{ n: number }>(`select count(*)::int as n from signals where status = 'processing'`);
        const decided = await rows<{ n: number }>('select count(*)::int as n from signals');
        return {
          done: open[0]!.n === 0 && decided[0]!.n === produced.length,
          progress: decided[0]!.n - open[0]!.n,
          state: `produced ${produced.length}, decided ${decided[0]!.n}, processing ${open[0]!.n}`,
        };
      });
    } finally {
      await last.stop('SIGTERM', 15_000);
    }

    // No lost signal, no order left open.
    const stored = await rows<{ id: string }>('select id from signals');
    expect(stored.map((r) => r.id).sort(), last.logTail(5)).to.deep.equal(produced.map((x) => x.id).sort());
    const ledger = await rows<{
      client_order_id: string;
      venue: string;
      status: string;
      filled_size: string;
      venue_order_id: string | null;
    }>('select client_order_id, venue, status, filled_size, venue_order_id from orders');
    expect(ledger.filter((o) => !['filled', 'cancelled', 'rejected'].includes(o.status))).to.have.length(0);

    // Polymarket: every order the venue saw was posted once, belongs to a ledger order, and the
    // ledger's fill equals the venue's.
    const posts = new Map<string, number>();
    for (const o of front.orders) posts.set(o.hash, (posts.get(o.hash) ?? 0) + 1);
    expect([...posts.values()].filter((n) => n > 1)).to.have.length(0);
    expect(front.orders.every((o) => o.storedFirst)).to.be.true;
    const signed = new Map(
      (await rows<{ client_order_id: string; order_hash: string }>('select client_order_id, order_hash from polymarket_signed_orders')).map(
        (r) => [r.order_hash, r.client_order_id],
      ),
    );
    const byCid = new Map(ledger.map((o) => [o.client_order_id, o]));
    for (const hash of posts.keys()) {
      const order = byCid.get(signed.get(hash)!)!;
      const atVenue = await polyGet<{ size_matched: string } | null>(polymarket, `/data/order/${hash}`);
      if (!atVenue) continue;
      expect(order.venue_order_id, `venue order ${hash}`).to.equal(hash);
      expect(Number(order.filled_size)).to.equal(parseDecimal(atVenue.size_matched, 2));
    }
    for (const o of ledger.filter((x) => x.venue === 'polymarket' && Number(x.filled_size) > 0))
      expect(posts.has(o.venue_order_id!)).to.be.true;
    // Kalshi: each client order id at the venue once, with the ledger's fill.
    const kalshiOrders = ((await kalshiGet(kalshi, '/portfolio/orders?limit=1000')).orders ?? []) as Array<{
      client_order_id: string;
      order_id: string;
      fill_count_fp: string;
    }>;
    expect(new Set(kalshiOrders.map((o) => o.client_order_id)).size).to.equal(kalshiOrders.length);
    for (const v of kalshiOrders) {
      const order = byCid.get(v.client_order_id);
      expect(order, `Kalshi order ${v.client_order_id} missing from the ledger`).to.not.equal(undefined);
      expect(order!.venue_order_id).to.equal(v.order_id);
      expect(Number(order!.filled_size)).to.equal(parseDecimal(v.fill_count_fp, 2));
    }
    process.stderr.write(
      `      kill -9 rounds: ${rounds} at ${kills.join(', ')} ms; signals ${produced.length}, Polymarket orders ` +
        `${posts.size}, Kalshi orders ${kalshiOrders.length}, ledger orders ${ledger.length}\n`,
    );
    expect(posts.size).to.be.greaterThan(0);
  };
  const killTitle =
    'kill -9 of real executor processes during a burst of cross-venue signals: no lost signal, no order sent twice, ledger = both venues';
  it(killTitle, killNine);
  describe('with a Kalshi that ignores client_order_id on GET /portfolio/orders', () => {
    before(() => (clientOrderIdFilter = false));
    after(() => (clientOrderIdFilter = true));
    it(killTitle, killNine);
  });

  it('stores at most one signed body per client order id even when two attempts race', async () => {
    await migrate(db);
    const client = new PolymarketClient({
      clobUrl: front.url,
      proxyUrl: tunnel.url,
      pool: db,
      credentials: { apiKey: poly.apiKey, secret: poly.secret, passphrase: poly.passphrase, privateKey: walletKey },
    });
    clients.push(client);
    const cid = `race-${randomUUID()}`;
    await db.query(
      `insert into signals (id, shard, market_id, kind, payload, status) values ('race', $1, 'm0', 'edge', '{}', 'processing')`,
      [shard],
    );
    await db.query(
      `insert into orders (client_order_id, shard, signal_id, leg, venue, market_id, venue_market, outcome, side, ` +
        `limit_price, size, status) values ($1, $2, 'race', 'a', 'polymarket', 'm0', $3, 'yes', 'buy', 9900, 600, 'intent')`,
      [cid, shard, YES],
    );
    const order = {
      clientOrderId: cid,
      venue: 'polymarket' as const,
      marketId: 'm0',
      venueMarket: YES,
      outcome: 'yes' as const,
      side: 'buy' as const,
      limitPrice: 9_900,
      size: shares(6),
      createdTs: Date.now(),
    };
    const results = await Promise.allSettled([client.place(order), client.place(order)]);
    const reports = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    expect(reports.length).to.be.greaterThan(0);
    expect(new Set(reports.map((r) => r.venueOrderId)).size).to.equal(1);
    expect(await rows('select 1 from polymarket_signed_orders where client_order_id = $1', [cid])).to.have.length(1);
    const matched = await polyGet<{ size_matched: string }>(polymarket, `/data/order/${reports[0]!.venueOrderId}`);
    expect(matched.size_matched).to.equal('6');
  });
});
