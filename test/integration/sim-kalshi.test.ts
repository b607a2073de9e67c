// The Kalshi simulator over real loopback sockets: signed WebSocket handshake, snapshot + deltas
// with per-sid seq, V2 order entry matching the book, 409 on client_order_id reuse, 429.
import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import WebSocket from 'ws';
import { parseDecimal } from '../../contracts/decimal.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { startKalshiSim, type KalshiSimHandle, type KalshiSimOptions } from '../../workloads/sim/kalshi/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';

const TICKER = 'KXNBAGAME-26NOV24PHILAL-LAL';
const KEY_ID = randomUUID();
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const scenario = (extra: Record<string, unknown> = {}) =>
  parseScenario({
    name: 'kalshi-it',
    seed: 11,
    duration: '1h',
    messageRate: 4000,
    tradeProbability: 0.05,
    defaults: { depth: 6, levelSize: 200 },
    games: [
      {
        id: 'g1',
        sport: 'nba',
        home: 'LAL',
        away: 'PHI',
        kalshi: { eventTicker: 'KXNBAGAME-26NOV24PHILAL' },
        markets: [
          { id: 'm1', team: 'LAL', initialPrice: 0.6, kalshi: { ticker: TICKER }, polymarket: { yesTokenId: '1', noTokenId: '2' } },
        ],
      },
      {
        id: 'g2',
        sport: 'nhl',
        home: 'MTL',
        away: 'TOR',
        kalshi: { eventTicker: 'KXNHLGAME-26NOV24TORMTL' },
        markets: [
          {
            id: 'm2',
            team: 'TOR',
            initialPrice: 0.4,
            kalshi: { ticker: 'KXNHLGAME-26NOV24TORMTL-TOR' },
            polymarket: { yesTokenId: '3', noTokenId: '4' },
          },
        ],
      },
    ],
    ...extra,
  });

async function start(options: Partial<KalshiSimOptions> = {}): Promise<KalshiSimHandle> {
  return startKalshiSim({ scenario: scenario(), apiKeys: [{ id: KEY_ID, publicKeyPem: publicPem }], port: 0, ...options });
}

type Msg = { id?: number; type: string; sid?: number; seq?: number; msg?: Record<string, unknown> };

class Client {
  readonly messages: Msg[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString()) as Msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(command: unknown) {
    this.ws.send(JSON.stringify(command));
  }
  async waitFor(pred: (m: Msg[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      if (Date.now() > deadline) throw new Error(`timed out; last messages: ${JSON.stringify(this.messages.slice(-3))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

function connect(sim: KalshiSimHandle, key = privatePem): Promise<Client> {
  const path = '/trade-api/ws/v2';
  const ws = new WebSocket(sim.wsUrl, { headers: kalshiSignedHeaders(KEY_ID, createPrivateKey(key), 'GET', path) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(new Client(ws)));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
  });
}

async function rest(sim: KalshiSimHandle, method: string, path: string, body?: unknown, key: string | null = privatePem) {
  const full = `/trade-api/v2${path}`;
  const headers: Record<string, string> = key ? kalshiSignedHeaders(KEY_ID, createPrivateKey(key), method, full) : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${sim.port}${full}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

const P = (s: string) => parseDecimal(s, 4);
const S = (s: string) => (s.startsWith('-') ? -parseDecimal(s.slice(1), 2) : parseDecimal(s, 2));

describe('Kalshi simulator', function () {
  this.timeout(90_000);
  let sim: KalshiSimHandle;
  afterEach(async () => sim?.stop());

  it('streams a snapshot then deltas with consecutive seq that rebuild its own book after thousands of updates', async () => {
    sim = await start();
    const client = await connect(sim);
    client.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_tickers: [TICKER] } });
    await client.waitFor((m) => m.filter((x) => x.type === 'orderbook_delta').length >= 3000, 60_000);
    sim.pause();
    // The answer to a command sent after the pause comes after every frame the simulator sent before it.
    client.send({ id: 2, cmd: 'list_subscriptions' });
    await client.waitFor((m) => m.some((x) => x.id === 2));
    const [ack, snapshot, ...rest_] = client.messages.filter((m) => m.id !== 2);
    expect(ack).to.deep.equal({ id: 1, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 1 } });
    expect(snapshot!.type).to.equal('orderbook_snapshot');
    expect(snapshot!.sid).to.equal(1);
    expect(snapshot!.seq).to.equal(1);
    expect(snapshot!.msg).to.include.keys('market_ticker', 'market_id', 'yes_dollars_fp', 'no_dollars_fp');
    const yes = new Map<number, number>();
    const no = new Map<number, number>();
    for (const [p, s] of snapshot!.msg!.yes_dollars_fp as string[][]) yes.set(P(p!), S(s!));
    for (const [p, s] of snapshot!.msg!.no_dollars_fp as string[][]) no.set(P(p!), S(s!));
    let seq = 1;
    for (const m of rest_) {
      expect(m.type).to.equal('orderbook_delta');
      expect(m.seq).to.equal(++seq);
      const msg = m.msg!;
      expect(msg.market_ticker).to.equal(TICKER);
      expect(msg.price_dollars).to.match(/^\d\.\d{4}$/);
      expect(msg.delta_fp).to.match(/^-?\d+\.\d{2}$/);
      expect(msg.ts_ms).to.be.a('number');
      const book = msg.side === 'yes' ? yes : no;
      const price = P(msg.price_dollars as string);
      const size = (book.get(price) ?? 0) + S(msg.delta_fp as string);
      expect(size, 'a delta drove a level negative').to.be.at.least(0);
      if (size === 0) book.delete(price);
      else book.set(price, size);
    }
    expect(seq).to.be.greaterThan(3000);
    const fmt = (m: Map<number, number>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([p, s]) => [p, s]);
    const own = sim.orderbook(TICKER);
    expect(fmt(yes)).to.deep.equal(own.yes.map(([p, s]) => [P(p), S(s)]));
    expect(fmt(no)).to.deep.equal(own.no.map(([p, s]) => [P(p), S(s)]).sort((a, b) => a[0]! - b[0]!));
    const restBook = await rest(sim, 'GET', `/markets/${TICKER}/orderbook`, undefined, null);
    expect(restBook.status).to.equal(200);
    expect((restBook.body.orderbook_fp as Record<string, unknown>).yes_dollars).to.deep.equal(own.yes);
    client.ws.close();
  });

  it('skips one seq on a seqGap fault and answers get_snapshot; rejects bad commands with Kalshi error codes', async () => {
    sim = await start({ scenario: scenario({ messageRate: 200, faults: [{ venue: 'kalshi', type: 'seqGap', at: '300ms' }] }) });
    const client = await connect(sim);
    client.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta', 'ticker'], market_tickers: [TICKER] } });
    await client.waitFor((m) => m.some((x) => x.type === 'orderbook_delta' && (x.msg?.ts_ms as number) > sim.clock.startMs + 600));
    const seqs = client.messages.filter((m) => m.sid === 1 && m.seq !== undefined).map((m) => m.seq!);
    const gaps = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1);
    expect(gaps).to.have.length(1);
    client.send({ id: 2, cmd: 'update_subscription', params: { sids: [1], action: 'get_snapshot' } });
    client.send({ id: 3, cmd: 'update_subscription', params: { sids: [1, 2], action: 'add_markets', market_tickers: [TICKER] } });
    client.send({ id: 4, cmd: 'frobnicate' });
    client.send({ id: 5, cmd: 'subscribe', params: { channels: ['nope'] } });
    client.send({ id: 6, cmd: 'unsubscribe', params: { sids: [99] } });
    client.send({ id: 7, cmd: 'list_subscriptions' });
    await client.waitFor((m) => m.some((x) => x.id === 7));
    const count = client.messages.length;
    expect(client.messages.some((m) => m.type === 'orderbook_snapshot' && m.seq! > 1)).to.be.true;
    const byId = (id: number) => client.messages.find((m) => m.id === id);
    expect(byId(3)).to.deep.equal({ id: 3, type: 'error', msg: { code: 12, msg: 'Exactly one subscription ID is required' } });
    expect(byId(4)).to.deep.equal({ id: 4, type: 'error', msg: { code: 5, msg: 'Unknown command' } });
    expect(byId(5)).to.deep.equal({ id: 5, type: 'error', msg: { code: 8, msg: 'Unknown channel name' } });
    expect(byId(6)).to.deep.equal({ id: 6, type: 'error', msg: { code: 7, msg: 'Unknown subscription ID' } });
    expect(byId(7)).to.deep.equal({
      id: 7,
      type: 'ok',
      msg: [
        { channel: 'orderbook_delta', sid: 1 },
        { channel: 'ticker', sid: 2 },
      ],
    });
    expect(client.messages.slice(0, count).some((m) => m.type === 'ticker' && m.sid === 2)).to.be.true;
    client.ws.close();
  });

  it('refuses a bad signature with 401 on the WebSocket handshake and on REST', async () => {
    sim = await start();
    let error: { status?: number; body?: string } | undefined;
    try {
      await connect(sim, other);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.status).to.equal(401);
    // Nested under `error`, as the venue sends auth errors.
    expect(JSON.parse(error!.body!)).to.deep.equal({
      error: { code: 'authentication_error', message: 'authentication error', details: 'INCORRECT_API_KEY_SIGNATURE', service: 'exchange' },
    });
    const bad = await rest(sim, 'GET', '/portfolio/positions', undefined, other);
    expect(bad.status).to.equal(401);
    expect((bad.body.error as Record<string, unknown>).details).to.equal('INCORRECT_API_KEY_SIGNATURE');
    const missing = await rest(sim, 'GET', '/portfolio/fills', undefined, null);
    expect(missing.status).to.equal(401);
    // A timestamp in seconds instead of milliseconds is refused too.
    const ws = new WebSocket(sim.wsUrl, {
      headers: kalshiSignedHeaders(KEY_ID, createPrivateKey(privatePem), 'GET', '/trade-api/ws/v2', Math.floor(Date.now() / 1000)),
    });
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode);
        req.destroy();
      });
      ws.once('open', () => resolve(101));
    });
    expect(status).to.equal(401);
  });

  it('stays up when a client resets its connection after a refused handshake', async () => {
    sim = await start();
    const { hostname, port, pathname } = new URL(sim.wsUrl);
    const socket = connectTcp(Number(port), hostname);
    const answer = await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', (data) => resolve(data.toString('latin1')));
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    expect(answer).to.match(/^HTTP\/1\.1 401 /);
    // A reset (not a close) while the simulator's side of the refused socket is still open.
    socket.resetAndDestroy();
    // The reset reaches the simulator before this request does (both over loopback, in order).
    expect((await rest(sim, 'GET', '/portfolio/balance')).status).to.equal(200);
  });

  it(
    'fills a V2 order against the book: response, /portfolio/fills, positions, and a WS delta with our client_order_id; ' + '409 on reuse',
    async () => {
      sim = await start({ scenario: scenario({ messageRate: 50, tradeProbability: 0 }) });
      sim.pause();
      const client = await connect(sim);
      client.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta', 'trade', 'fill'], market_tickers: [TICKER] } });
      await client.waitFor((m) => m.some((x) => x.type === 'orderbook_snapshot'));
      const book = await rest(sim, 'GET', `/markets/${TICKER}/orderbook`);
      const noLevels = (book.body.orderbook_fp as { no_dollars: string[][] }).no_dollars;
      const [bestNo, bestNoSize] = noLevels.map(([p, s]) => [P(p!), S(s!)] as const).reduce((a, b) => (b[0] > a[0] ? b : a));
      const askPrice = 10_000 - bestNo; // best YES ask
      const cid = randomUUID();
      const order = {
        ticker: TICKER,
        side: 'bid',
        count: '3.00',
        price: (askPrice / 10_000).toFixed(4),
        time_in_force: 'immediate_or_cancel',
        self_trade_prevention_type: 'taker_at_cross',
        client_order_id: cid,
      };
      const created = await rest(sim, 'POST', '/portfolio/events/orders', order);
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ client_order_id: cid, fill_count: '3.00', remaining_count: '0.00' });
      expect(created.body.average_fill_price).to.equal((askPrice / 10_000).toFixed(4));
      expect(created.body.order_id).to.be.a('string');

      const again = await rest(sim, 'POST', '/portfolio/events/orders', order);
      expect(again.status).to.equal(409);
      expect(again.body.error).to.include({ code: 'order_already_exists' });

      const fills = await rest(sim, 'GET', '/portfolio/fills');
      const list = fills.body.fills as Array<Record<string, unknown>>;
      expect(list).to.have.length(1);
      expect(list[0]).to.include({
        order_id: created.body.order_id,
        ticker: TICKER,
        count_fp: '3.00',
        is_taker: true,
        book_side: 'bid',
        outcome_side: 'yes',
      });
      expect(list[0]!.yes_price_dollars).to.equal((askPrice / 10_000).toFixed(4));
      const positions = await rest(sim, 'GET', '/portfolio/positions');
      expect((positions.body.market_positions as Array<Record<string, unknown>>)[0]).to.include({ ticker: TICKER, position_fp: '3.00' });
      const byCid = await rest(sim, 'GET', `/portfolio/orders?client_order_id=${cid}`);
      expect((byCid.body.orders as Array<Record<string, unknown>>).map((o) => o.status)).to.deep.equal(['executed']);
      const one = await rest(sim, 'GET', `/portfolio/orders/${created.body.order_id as string}`);
      expect((one.body.order as Record<string, unknown>).fill_count_fp).to.equal('3.00');

      await client.waitFor((m) => m.some((x) => x.type === 'fill'));
      const delta = client.messages.find((m) => m.type === 'orderbook_delta');
      expect(delta?.msg).to.include({ side: 'no', price_dollars: (bestNo / 10_000).toFixed(4), delta_fp: '-3.00' });
      expect(bestNoSize).to.be.at.least(300);
      expect(client.messages.find((m) => m.type === 'trade')?.msg).to.include({
        market_ticker: TICKER,
        count_fp: '3.00',
        taker_book_side: 'bid',
        taker_outcome_side: 'yes',
      });
      expect(client.messages.find((m) => m.type === 'fill')?.msg).to.include({
        order_id: created.body.order_id,
        is_taker: true,
        post_position_fp: '3.00',
      });

      // A resting GTC order shows up as a delta carrying our client_order_id, and cancel reports reduced_by.
      const restCid = randomUUID();
      const resting = await rest(sim, 'POST', '/portfolio/events/orders', {
        ...order,
        price: '0.0100',
        time_in_force: 'good_till_canceled',
        client_order_id: restCid,
      });
      expect(resting.body).to.include({ fill_count: '0.00', remaining_count: '3.00' });
      await client.waitFor((m) => m.some((x) => x.msg?.client_order_id === restCid));
      expect(client.messages.find((x) => x.msg?.client_order_id === restCid)?.msg).to.include({
        side: 'yes',
        price_dollars: '0.0100',
        delta_fp: '3.00',
      });
      const canceled = await rest(sim, 'DELETE', `/portfolio/events/orders/${resting.body.order_id as string}`);
      expect(canceled.body).to.include({ order_id: resting.body.order_id, reduced_by: '3.00' });
      const missingFields = await rest(sim, 'POST', '/portfolio/events/orders', {
        ticker: TICKER,
        side: 'bid',
        count: '1',
        price: '0.5000',
      });
      expect(missingFields.status).to.equal(400);
      client.ws.close();
    },
  );

  it("answers 429 with Kalshi's body and no Retry-After once the token bucket is empty", async () => {
    sim = await start({ rateLimits: { readRate: 10, readCapacity: 30, writeRate: 10, writeCapacity: 10 } });
    const results = await Promise.all(Array.from({ length: 6 }, () => rest(sim, 'GET', '/portfolio/positions')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).to.have.length(3);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).to.have.length(3);
    expect(limited[0]!.body).to.deep.equal({ error: 'too many requests' });
    expect(limited[0]!.headers.get('retry-after')).to.equal(null);
    const write = await rest(sim, 'POST', '/portfolio/events/orders', {});
    expect(write.status).to.equal(400); // the write bucket is separate
  });

  it('serves markets and events for discovery', async () => {
    sim = await start();
    const markets = await rest(sim, 'GET', '/markets?limit=1', undefined, null);
    expect((markets.body.markets as unknown[]).length).to.equal(1);
    expect(markets.body.cursor).to.equal('1');
    const market = await rest(sim, 'GET', `/markets/${TICKER}`, undefined, null);
    expect(market.body.market).to.include({
      ticker: TICKER,
      event_ticker: 'KXNBAGAME-26NOV24PHILAL',
      price_level_structure: 'linear_cent',
      status: 'active',
    });
    const events = await rest(sim, 'GET', '/events?series_ticker=KXNHLGAME&with_nested_markets=true', undefined, null);
    const list = events.body.events as Array<{ event_ticker: string; markets: Array<{ ticker: string }> }>;
    expect(list.map((e) => e.event_ticker)).to.deep.equal(['KXNHLGAME-26NOV24TORMTL']);
    expect(list[0]!.markets.map((m) => m.ticker)).to.deep.equal(['KXNHLGAME-26NOV24TORMTL-TOR']);
  });
});

describe('Kalshi simulator: market resolution', function () {
  this.timeout(90_000);
  let sim: KalshiSimHandle;
  afterEach(async () => sim?.stop());

  it(
    'determines then settles a market: REST status and result, lifecycle messages, resting orders cancelled, orders ' +
      'refused, winners paid',
    async () => {
      sim = await start({
        scenario: scenario({
          messageRate: 50,
          tradeProbability: 0,
          resolutions: [{ market: 'm1', at: '500ms', winner: 'yes', settleAfter: '2s' }],
        }),
      });
      sim.pause();
      const client = await connect(sim);
      client.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
      client.send({ id: 2, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_tickers: [TICKER] } });
      await client.waitFor((m) => m.some((x) => x.type === 'orderbook_snapshot'));
      const order = (cid: string, price: string, tif: string) => ({
        ticker: TICKER,
        side: 'bid',
        count: '3.00',
        price,
        time_in_force: tif,
        self_trade_prevention_type: 'taker_at_cross',
        client_order_id: cid,
      });
      const bought = await rest(sim, 'POST', '/portfolio/events/orders', order(randomUUID(), '0.9900', 'immediate_or_cancel'));
      expect(bought.body.fill_count).to.equal('3.00');
      const resting = await rest(sim, 'POST', '/portfolio/events/orders', order(randomUUID(), '0.0100', 'good_till_canceled'));
      expect(resting.body.remaining_count).to.equal('3.00');

      sim.resume();
      await client.waitFor((m) => m.some((x) => x.type === 'market_lifecycle_v2'));
      sim.pause();
      const determined = client.messages.find((x) => x.type === 'market_lifecycle_v2')!;
      expect(determined.sid).to.equal(1);
      expect(determined.msg).to.include({ market_ticker: TICKER, event_type: 'determined', result: 'yes', settlement_value: '1.0000' });
      expect(determined.msg!.determination_ts).to.be.a('number');
      const market = (await rest(sim, 'GET', `/markets/${TICKER}`, undefined, null)).body.market as Record<string, unknown>;
      expect(market).to.include({ status: 'determined', result: 'yes', settlement_value_dollars: '1.0000' });
      const listed = async (status: string) =>
        ((await rest(sim, 'GET', `/markets?status=${status}`, undefined, null)).body.markets as Array<{ ticker: string }>).map(
          (m) => m.ticker,
        );
      expect(await listed('closed')).to.deep.equal([TICKER]);
      expect(await listed('open')).to.deep.equal(['KXNHLGAME-26NOV24TORMTL-TOR']);
      const other = (await rest(sim, 'GET', '/markets/KXNHLGAME-26NOV24TORMTL-TOR', undefined, null)).body.market as Record<
        string,
        unknown
      >;
      expect(other).to.include({ status: 'active', result: '' });
      const cancelled = (await rest(sim, 'GET', `/portfolio/orders/${resting.body.order_id as string}`)).body.order as Record<
        string,
        unknown
      >;
      expect(cancelled).to.include({ status: 'canceled', remaining_count_fp: '0.00' });
      const refused = await rest(sim, 'POST', '/portfolio/events/orders', order(randomUUID(), '0.5000', 'good_till_canceled'));
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.include({ code: 'market_closed' });
      expect(sim.orderbook(TICKER)).to.deep.equal({ yes: [], no: [] });
      const deltas = client.messages.filter((x) => x.type === 'orderbook_delta');
      expect(deltas.length).to.be.greaterThan(0);
      expect((await rest(sim, 'GET', '/portfolio/settlements')).body.settlements).to.deep.equal([]);
      // Read once the resting bid is cancelled: it no longer holds cash back.
      const cashBefore = (await rest(sim, 'GET', '/portfolio/balance')).body.balance as number;

      sim.resume();
      await client.waitFor((m) => m.filter((x) => x.type === 'market_lifecycle_v2').length >= 2);
      const settled = client.messages.filter((x) => x.type === 'market_lifecycle_v2')[1]!;
      expect(settled.msg).to.include({ market_ticker: TICKER, event_type: 'settled' });
      expect(settled.msg!.settled_ts).to.be.a('number');
      const final = (await rest(sim, 'GET', `/markets/${TICKER}`, undefined, null)).body.market as Record<string, unknown>;
      expect(final).to.include({ status: 'finalized', result: 'yes' });
      expect(final.settlement_ts).to.be.a('string');
      expect(await listed('settled')).to.deep.equal([TICKER]);
      const settlements = (await rest(sim, 'GET', '/portfolio/settlements')).body.settlements as Array<Record<string, unknown>>;
      expect(settlements).to.have.length(1);
      expect(settlements[0]).to.include({
        ticker: TICKER,
        market_result: 'yes',
        yes_count_fp: '3.00',
        no_count_fp: '0.00',
        revenue: 300,
        fee_cost: '0.0000',
      });
      expect((await rest(sim, 'GET', '/portfolio/balance')).body.balance).to.equal(cashBefore + 300);
      const positions = (await rest(sim, 'GET', '/portfolio/positions')).body.market_positions as Array<Record<string, unknown>>;
      expect(positions.find((p) => p.ticker === TICKER)).to.include({ position_fp: '0.00' });
      client.ws.close();
    },
  );
});

describe('Kalshi simulator: fees, rounding and balances', function () {
  this.timeout(90_000);
  const MAKER_ID = randomUUID();
  const makerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const makerPem = makerKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let sim: KalshiSimHandle;
  afterEach(async () => sim?.stop());

  const call = async (id: string, pem: string, method: string, path: string, body?: unknown) => {
    const full = `/trade-api/v2${path}`;
    const headers: Record<string, string> = kalshiSignedHeaders(id, createPrivateKey(pem), method, full);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`http://127.0.0.1:${sim.port}${full}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Cash in ten-thousandths. */
  const cash = async (id: string, pem: string) => P((await call(id, pem, 'GET', '/portfolio/balance')).body.balance_dollars as string);

  // The documented mechanics, restated here on their own (docs.kalshi.com/getting_started/fee_rounding):
  // trade fee up to $0.0001, balance change floored to the cent, rounding owed back a cent at a time.
  const expectedFills = (price: number, sizes: number[], rateBp: number) => {
    let credit = 0;
    return sizes.map((size) => {
      const trade = Math.ceil((rateBp * size * price * (10_000 - price)) / 1e10);
      const exact = -Math.ceil((price * size) / 100) - trade;
      const aligned = Math.floor(exact / 100) * 100;
      credit += exact - aligned;
      const rebate = Math.min(Math.floor(credit / 100), Math.floor((trade + exact - aligned) / 100)) * 100;
      credit -= rebate;
      return { trade, change: aligned + rebate };
    });
  };

  it('charges takers and makers per the series, rounds each fill to the cent and rebates the rounding per order', async () => {
    const fractional = scenario({ tradeProbability: 0, defaults: { depth: 6, levelSize: 200, spreadTicks: 4 } });
    fractional.games[0]!.kalshi.fractionalTrading = true;
    sim = await startKalshiSim({
      scenario: fractional,
      apiKeys: [
        { id: KEY_ID, publicKeyPem: publicPem },
        { id: MAKER_ID, publicKeyPem: makerKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      ],
      port: 0,
      autoStart: false,
    });
    const book = sim.orderbook(TICKER);
    const bestBid = Math.max(...book.yes.map(([p]) => P(p)));
    const price = bestBid + 100; // inside the spread: the maker's asks are the best
    const dollarsOf = (p: number) => (p / 10_000).toFixed(4);
    const order = (side: string, count: string, tif: string) => ({
      ticker: TICKER,
      side,
      count,
      price: dollarsOf(price),
      time_in_force: tif,
      self_trade_prevention_type: 'taker_at_cross',
      client_order_id: randomUUID(),
    });
    const [takerBefore, makerBefore] = [await cash(KEY_ID, privatePem), await cash(MAKER_ID, makerPem)];
    for (let i = 0; i < 3; i++)
      expect(
        (await call(MAKER_ID, makerPem, 'POST', '/portfolio/events/orders', order('ask', '0.30', 'good_till_canceled'))).status,
      ).to.equal(201);
    const taken = await call(KEY_ID, privatePem, 'POST', '/portfolio/events/orders', order('bid', '0.90', 'immediate_or_cancel'));
    expect(taken.body).to.include({ fill_count: '0.90' });

    const taker = expectedFills(price, [30, 30, 30], 700);
    const fills = ((await call(KEY_ID, privatePem, 'GET', '/portfolio/fills')).body.fills as Array<{ fee_cost: string }>).reverse();
    expect(fills.map((f) => f.fee_cost)).to.deep.equal(taker.map((f) => `${dollarsOf(f.trade)}00`));
    const takerChange = (await cash(KEY_ID, privatePem)) - takerBefore;
    expect(takerChange).to.equal(taker.reduce((s, f) => s + f.change, 0));
    expect(takerChange % 100).to.equal(0); // the balance stays on the cent grid
    // The rebate makes three fills cost what one fill of 0.90 would, give or take a cent.
    const single = expectedFills(price, [90], 700)[0]!.change;
    expect(Math.abs(takerChange - single)).to.be.at.most(100);

    // Each maker order filled once at the maker rate (quadratic_with_maker_fees: 0.0175), buying NO at 1 − p.
    const maker = expectedFills(10_000 - price, [30], 175)[0]!;
    const makerFills = (await call(MAKER_ID, makerPem, 'GET', '/portfolio/fills')).body.fills as Array<{
      fee_cost: string;
      is_taker: boolean;
    }>;
    expect(makerFills.map((f) => [f.is_taker, f.fee_cost])).to.deep.equal(
      Array(3).fill([false, `${dollarsOf(Math.ceil((175 * 30 * price * (10_000 - price)) / 1e10))}00`]),
    );
    expect((await cash(MAKER_ID, makerPem)) - makerBefore).to.equal(3 * maker.change);
  });

  it('nets a YES against a NO of the same market: the pair pays $1 at once, and the position closes', async () => {
    sim = await startKalshiSim({
      scenario: scenario({ tradeProbability: 0 }),
      apiKeys: [{ id: KEY_ID, publicKeyPem: publicPem }],
      port: 0,
      autoStart: false,
    });
    const before = await cash(KEY_ID, privatePem);
    const ioc = (side: string, price: string) => ({
      ticker: TICKER,
      side,
      count: '2.00',
      price,
      time_in_force: 'immediate_or_cancel',
      self_trade_prevention_type: 'taker_at_cross',
      client_order_id: randomUUID(),
    });
    await call(KEY_ID, privatePem, 'POST', '/portfolio/events/orders', ioc('bid', '0.9900'));
    await call(KEY_ID, privatePem, 'POST', '/portfolio/events/orders', ioc('ask', '0.0100'));
    const fills = (await call(KEY_ID, privatePem, 'GET', '/portfolio/fills')).body.fills as Array<{
      yes_price_dollars: string;
      count_fp: string;
      fee_cost: string;
    }>;
    // Bought YES at a, sold it at b: the cash moved by the difference and both fees, nothing is held.
    const [sold, bought] = fills;
    const fees = fills.reduce((s, f) => s + Math.ceil(P(f.fee_cost.slice(0, -2)) / 100) * 100, 0);
    expect((await cash(KEY_ID, privatePem)) - before).to.equal(2 * (P(sold!.yes_price_dollars) - P(bought!.yes_price_dollars)) - fees);
    const positions = (await call(KEY_ID, privatePem, 'GET', '/portfolio/positions')).body.market_positions as Array<
      Record<string, string>
    >;
    expect(positions[0]).to.include({ position_fp: '0.00', market_exposure_dollars: '0.0000' });
    expect((await call(KEY_ID, privatePem, 'GET', '/portfolio/balance')).body.portfolio_value).to.equal(0);
  });

  it('serves the series fees and their scheduled changes, which take effect when due', async () => {
    const changing = scenario({ kalshiFeeChanges: [{ series: 'KXNBAGAME', at: '1s', feeType: 'quadratic', feeMultiplier: 0.5 }] });
    sim = await startKalshiSim({ scenario: changing, apiKeys: [{ id: KEY_ID, publicKeyPem: publicPem }], port: 0 });
    const series = async () => (await call(KEY_ID, privatePem, 'GET', '/series/KXNBAGAME')).body.series as Record<string, unknown>;
    expect(await series()).to.include({ fee_type: 'quadratic_with_maker_fees', fee_multiplier: 1 });
    const changes = (await call(KEY_ID, privatePem, 'GET', '/series/fee_changes?series_ticker=KXNBAGAME')).body
      .series_fee_change_arr as unknown[];
    expect(changes).to.have.length(1);
    expect(changes[0]).to.include({ series_ticker: 'KXNBAGAME', fee_type: 'quadratic', fee_multiplier: 0.5 });
    // Due 1 s into the scenario: wait for it to show, then check all of it.
    const deadline = Date.now() + 30_000;
    while ((await series()).fee_type !== 'quadratic' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await series()).to.include({ fee_type: 'quadratic', fee_multiplier: 0.5 });
    expect((await call(KEY_ID, privatePem, 'GET', '/series/fee_changes')).body.series_fee_change_arr).to.deep.equal([]);
    // The legacy order endpoint answers with an error body.
    const legacy = await call(KEY_ID, privatePem, 'POST', '/portfolio/orders', { ticker: TICKER });
    expect(legacy.status).to.equal(400);
    expect(legacy.body.error).to.include({ code: 'deprecated_endpoint' });
  });
});
