// The Polymarket simulator over real loopback sockets: market-channel subscribe, book then
// price_change consistent with REST /book, PING/PONG and the silent-client drop, geoblock by
// source address, L2 HMAC auth, and order idempotency by hash.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import WebSocket from 'ws';
import { polymarketOrderHash, polymarketOrderTypedData } from '../../venues/polymarket/order.js';
import { polyL2Headers, type PolymarketApiCreds } from '../../workloads/sim/polymarket/auth.js';
import { GEOBLOCK_ERROR } from '../../workloads/sim/polymarket/geoblock.js';
import { startPolymarketSim, type PolymarketSimHandle, type PolymarketSimOptions } from '../../workloads/sim/polymarket/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';

const YES = '71321045679252212594626385532706912750332728571942532289631379312455583992563';
const NO = '52114319501245915516055106046884209969926127482827954674443846427813813222426';
const wallet = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const creds: PolymarketApiCreds = {
  apiKey: randomUUID(),
  secret: randomBytes(32).toString('base64url'),
  passphrase: randomBytes(32).toString('hex'),
  address: wallet.address,
};

const scenario = (extra: Record<string, unknown> = {}) =>
  parseScenario({
    name: 'poly-it',
    seed: 5,
    duration: '1h',
    messageRate: 2000,
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
          {
            id: 'm1',
            team: 'LAL',
            initialPrice: 0.6,
            kalshi: { ticker: 'KXNBAGAME-26NOV24PHILAL-LAL' },
            polymarket: { yesTokenId: YES, noTokenId: NO },
          },
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

const start = (options: Partial<PolymarketSimOptions> = {}) =>
  startPolymarketSim({ scenario: scenario(), creds: [creds], port: 0, ...options });

type Ev = Record<string, unknown> & { event_type: string };

class Client {
  readonly events: Ev[] = [];
  readonly texts: string[] = [];
  frames = 0;
  closed = false;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      this.frames++;
      if (!text.startsWith('{') && !text.startsWith('[')) return void this.texts.push(text);
      const parsed = JSON.parse(text) as Ev | Ev[];
      this.events.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    });
    ws.on('close', () => (this.closed = true));
  }
  async waitFor(pred: () => boolean, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function connect(sim: PolymarketSimHandle): Promise<Client> {
  const ws = new WebSocket(sim.wsUrl);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(new Client(ws)));
    ws.once('error', reject);
  });
}

async function call(sim: PolymarketSimHandle, method: string, path: string, body?: string, signWith: PolymarketApiCreds | null = creds) {
  const headers: Record<string, string> = signWith ? polyL2Headers(signWith, method, path.split('?')[0]!, body ?? '') : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.url}${path}`, { method, headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
}

/** A V2 order body with amounts in 6 decimals, EIP-712 signed by `signer`. */
async function orderJson(tokenId: string, side: 'BUY' | 'SELL', price: number, shares: number, orderType = 'GTC', signer = wallet) {
  const usd = Math.round(price * shares * 1e6);
  const qty = Math.round(shares * 1e6);
  const order = {
    salt: Math.floor(Math.random() * 1e15),
    maker: creds.address,
    signer: creds.address,
    tokenId,
    makerAmount: String(side === 'BUY' ? usd : qty),
    takerAmount: String(side === 'BUY' ? qty : usd),
    side,
    signatureType: 0,
    timestamp: String(Date.now()),
    expiration: '0',
    metadata: '0x' + '0'.repeat(64),
    builder: '0x' + '0'.repeat(64),
  };
  const signature = await signer.signTypedData(polymarketOrderTypedData(order));
  return JSON.stringify({ order: { ...order, signature }, owner: creds.apiKey, orderType, postOnly: false });
}

describe('Polymarket simulator', function () {
  this.timeout(90_000);
  let sim: PolymarketSimHandle;
  afterEach(async () => sim?.stop());

  it('sends book on subscribe, then price_changes (batched) that stay consistent with REST /book', async () => {
    sim = await start();
    const client = await connect(sim);
    client.ws.send(JSON.stringify({ assets_ids: [YES, NO], type: 'market' }));
    let pings = 0;
    const ping = () => {
      pings++;
      client.ws.send('PING');
    };
    const pinger = setInterval(ping, 500);
    await client.waitFor(() => client.events.filter((e) => e.event_type === 'price_change').length >= 1500, 60_000);
    sim.pause();
    clearInterval(pinger);
    // The PONG to a PING sent after the pause comes after every frame the simulator sent before it.
    ping();
    await client.waitFor(() => client.texts.filter((t) => t === 'PONG').length === pings);
    expect(client.events[0]!.event_type).to.equal('book');
    expect(client.events[1]!.event_type).to.equal('book');
    expect(client.frames).to.be.lessThan(client.events.length + client.texts.length); // some frames were arrays
    const books = new Map<string, { bids: Map<string, string>; asks: Map<string, string>; hash: string }>();
    for (const e of client.events) {
      if (e.event_type === 'book') {
        const levels = (xs: Array<{ price: string; size: string }>) => new Map(xs.map((x) => [x.price, x.size]));
        books.set(e.asset_id as string, { bids: levels(e.bids as never), asks: levels(e.asks as never), hash: e.hash as string });
        expect(e).to.include.keys('market', 'timestamp', 'hash');
      } else if (e.event_type === 'price_change') {
        expect(e).to.include.keys('market', 'price_changes', 'timestamp');
        for (const c of e.price_changes as Array<Record<string, string>>) {
          const book = books.get(c.asset_id!);
          expect(book, 'price_change before book').to.not.equal(undefined);
          const side = c.side === 'BUY' ? book!.bids : book!.asks;
          if (c.size === '0') side.delete(c.price!);
          else side.set(c.price!, c.size!);
          book!.hash = c.hash!;
          expect(c).to.include.keys('best_bid', 'best_ask');
        }
      }
    }
    expect(client.events.some((e) => e.event_type === 'last_trade_price')).to.be.true;
    for (const token of [YES, NO]) {
      const res = await call(sim, 'GET', `/book?token_id=${token}`, undefined, null);
      expect(res.status).to.equal(200);
      const mine = books.get(token)!;
      const rest = res.body as unknown as {
        bids: Array<{ price: string; size: string }>;
        asks: Array<{ price: string; size: string }>;
        hash: string;
      };
      const sorted = (m: Map<string, string>, dir: 1 | -1) =>
        [...m.entries()].sort((a, b) => dir * (Number(a[0]) - Number(b[0]))).map(([price, size]) => ({ price, size }));
      expect(sorted(mine.bids, 1)).to.deep.equal(rest.bids); // bids ascending
      expect(sorted(mine.asks, -1)).to.deep.equal(rest.asks); // asks descending
      expect(mine.hash).to.equal(rest.hash);
    }
    const yesBook = sim.book(YES);
    const noBook = sim.book(NO);
    expect(Number(yesBook.bids.at(-1)!.price) + Number(noBook.asks.at(-1)!.price)).to.be.closeTo(1, 1e-9);
    client.ws.close();
  });

  it('answers PING with PONG and drops a client that stops pinging', async () => {
    sim = await start({ pingTimeoutMs: 400, scenario: scenario({ messageRate: 20 }) });
    const client = await connect(sim);
    client.ws.send(JSON.stringify({ assets_ids: [YES], type: 'market' }));
    client.ws.send('PING');
    await client.waitFor(() => client.texts.includes('PONG'));
    const t0 = Date.now();
    await client.waitFor(() => client.closed);
    expect(Date.now() - t0).to.be.within(100, 1500);
  });

  it("refuses a geoblocked source address with Polymarket's 403 on HTTP and WebSocket, and reports it on /api/geoblock", async () => {
    sim = await start({ geoblock: { allowedCidrs: ['10.99.0.0/16'] } });
    const book = await call(sim, 'GET', `/book?token_id=${YES}`, undefined, null);
    expect(book.status).to.equal(403);
    expect(book.body).to.deep.equal(GEOBLOCK_ERROR);
    expect(GEOBLOCK_ERROR.error).to.equal(
      'Trading restricted in your region, please refer to available regions - https://docs.polymarket.com/developers/CLOB/geoblock',
    );
    const order = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.01, 10));
    expect(order.status).to.equal(403);
    const ws = new WebSocket(sim.wsUrl);
    const refused = await new Promise<{ status?: number; body: string }>((resolve) => {
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode, body });
          req.destroy();
        });
      });
    });
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.body)).to.deep.equal(GEOBLOCK_ERROR);
    const check = await call(sim, 'GET', '/api/geoblock', undefined, null);
    expect(check.status).to.equal(200);
    expect(check.body).to.include({ blocked: true, ip: '127.0.0.1' });
    await sim.stop();

    // Trading scope, as on the real venue: market data flows, order placement is refused.
    sim = await start({ geoblock: { allowedCidrs: ['10.99.0.0/16'], scope: 'trading' } });
    expect((await call(sim, 'GET', `/book?token_id=${YES}`, undefined, null)).status).to.equal(200);
    const blockedOrder = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.01, 10));
    expect(blockedOrder.status).to.equal(403);
    expect(blockedOrder.body).to.deep.equal(GEOBLOCK_ERROR);
  });

  it('refuses an order with a bad L2 signature or unknown key with 401', async () => {
    sim = await start();
    const body = await orderJson(YES, 'BUY', 0.01, 10);
    const wrongSecret = await call(sim, 'POST', '/order', body, { ...creds, secret: randomBytes(32).toString('base64url') });
    expect(wrongSecret.status).to.equal(401);
    expect(wrongSecret.body).to.deep.equal({ error: 'Unauthorized/Invalid api key' });
    const unknownKey = await call(sim, 'POST', '/order', body, { ...creds, apiKey: randomUUID() });
    expect(unknownKey.status).to.equal(401);
    const unsigned = await call(sim, 'POST', '/order', body, null);
    expect(unsigned.status).to.equal(401);
    // Signed over a different body than the one sent.
    const headers = polyL2Headers(creds, 'POST', '/order', await orderJson(YES, 'BUY', 0.02, 10));
    const res = await fetch(`${sim.url}/order`, { method: 'POST', headers, body });
    expect(res.status).to.equal(401);
  });

  it(
    'identifies orders by a hash of the order: a retry of the same bytes is a duplicate, not a second order; marketable ' + 'orders match',
    async () => {
      sim = await start({ scenario: scenario({ messageRate: 20, tradeProbability: 0 }) });
      sim.pause();
      const body = await orderJson(YES, 'BUY', 0.01, 10);
      const first = await call(sim, 'POST', '/order', body);
      expect(first.status).to.equal(200);
      expect(first.body).to.include({ success: true, errorMsg: '', status: 'live' });
      const id = first.body.orderID as string;
      expect(id).to.match(/^0x[0-9a-f]{64}$/);
      const retry = await call(sim, 'POST', '/order', body);
      expect(retry.status).to.equal(400);
      expect(retry.body).to.deep.equal({ error: `order ${id} is invalid. Duplicated.` });
      const open = await call(sim, 'GET', '/data/orders');
      expect((open.body.data as Array<{ id: string }>).map((o) => o.id)).to.deep.equal([id]);
      const one = await call(sim, 'GET', `/data/order/${id}`);
      expect(one.body).to.include({ id, status: 'LIVE', side: 'BUY', price: '0.01', original_size: '10' });

      const bestAsk = Number(sim.book(YES).asks.at(-1)!.price);
      const taker = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', bestAsk, 5, 'FAK'));
      expect(taker.body).to.include({ success: true, status: 'matched', takingAmount: '5' });
      const tradeIds = taker.body.tradeIDs as string[];
      expect(tradeIds).to.have.length.greaterThan(0);
      const trades = await call(sim, 'GET', `/data/trades?asset_id=${YES}`);
      const mine = (trades.body.data as Array<Record<string, string>>).filter((t) => t.taker_order_id === taker.body.orderID);
      expect(mine.map((t) => t.id)).to.deep.equal(tradeIds);
      expect(mine.reduce((sum, t) => sum + Number(t.size), 0)).to.equal(5);
      expect(mine[0]).to.include({
        asset_id: YES,
        side: 'BUY',
        price: String(bestAsk),
        trader_side: 'TAKER',
        maker_address: creds.address,
      });
      const offTick = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.015, 10));
      expect(offTick.status).to.equal(400);
      expect(offTick.body.error).to.match(/^order 0x[0-9a-f]{64} is invalid\. Price \(0\.015\) breaks minimum tick size rule: 0\.01$/);
      const canceled = await call(sim, 'DELETE', '/order', JSON.stringify({ orderID: id }));
      expect(canceled.body).to.deep.equal({ canceled: [id], not_canceled: {} });
    },
  );

  it(
    'recovers the EIP-712 signer: a tampered order or one signed by another wallet is refused, and the order id is the ' + 'struct hash',
    async () => {
      sim = await start();
      const good = JSON.parse(await orderJson(YES, 'BUY', 0.01, 10)) as { order: Record<string, unknown> };
      const tampered = JSON.stringify({ ...good, order: { ...good.order, takerAmount: '20000000' } });
      const refused = await call(sim, 'POST', '/order', tampered);
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.match(/Invalid signature$/);
      const foreign = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.01, 10, 'GTC', stranger));
      expect(foreign.status).to.equal(400);
      expect(foreign.body.error).to.match(/Invalid signature$/);
      const placed = await call(sim, 'POST', '/order', JSON.stringify(good));
      expect(placed.status).to.equal(200);
      expect(placed.body.orderID).to.equal(polymarketOrderHash(good.order as never));
    },
  );

  it('serves CLOB /markets with cursor pagination and Gamma discovery with JSON-encoded fields', async () => {
    sim = await start();
    const markets = await call(sim, 'GET', '/markets', undefined, null);
    expect(markets.body).to.include({ next_cursor: 'LTE=', count: 2 });
    const events = await fetch(`${sim.gammaUrl}/events?closed=false`).then(
      (r) => r.json() as Promise<Array<{ slug: string; markets: Array<Record<string, unknown>> }>>,
    );
    expect(events).to.have.length(2);
    const market = events[0]!.markets[0]!;
    expect(JSON.parse(market.clobTokenIds as string)).to.deep.equal([YES, NO]);
    expect(JSON.parse(market.outcomes as string)).to.deep.equal(['LAL', 'PHI']);
    expect(market).to.include({ sportsMarketType: 'moneyline', enableOrderBook: true });
  });
});

describe('Polymarket simulator: market resolution', function () {
  this.timeout(90_000);
  let sim: PolymarketSimHandle;
  afterEach(async () => sim?.stop());

  it('closes a market (orders refused, resting ones cancelled), then declares the winner: Gamma, CLOB and market_resolved', async () => {
    sim = await start({
      scenario: scenario({
        messageRate: 50,
        tradeProbability: 0,
        resolutions: [{ market: 'm1', at: '500ms', winner: 'no', settleAfter: '2s' }],
      }),
    });
    sim.pause();
    const client = await connect(sim);
    client.ws.send(JSON.stringify({ assets_ids: [YES, NO], type: 'market', custom_feature_enabled: true }));
    await client.waitFor(() => client.events.some((e) => e.event_type === 'book'));
    const resting = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.05, 10));
    expect(resting.body).to.include({ success: true, status: 'live' });
    const gamma = async (id: string) =>
      (
        (await call(sim, 'GET', `/gamma/markets?clob_token_ids=${id}`, undefined, null)).body as unknown as Array<Record<string, unknown>>
      )[0]!;
    const conditionId = (await gamma(YES)).conditionId as string;
    const clob = async () => (await call(sim, 'GET', `/markets/${conditionId}`, undefined, null)).body as Record<string, unknown>;

    sim.resume();
    await client.waitFor(() => sim.book(YES).bids.length === 0);
    sim.pause();
    expect(await gamma(YES)).to.include({ closed: true, acceptingOrders: false });
    expect(await clob()).to.include({ closed: true, accepting_orders: false });
    // Closed, not yet resolved.
    expect(((await clob()).tokens as Array<{ winner: boolean }>).map((t) => t.winner)).to.deep.equal([false, false]);
    expect(await gamma('3')).to.include({ closed: false, acceptingOrders: true });
    const closedList = (await call(sim, 'GET', '/gamma/markets?closed=true', undefined, null)).body as unknown as Array<
      Record<string, unknown>
    >;
    expect(closedList.map((m) => m.conditionId)).to.deep.equal([conditionId]);
    const order = (await call(sim, 'GET', `/data/order/${resting.body.orderID as string}`)).body;
    expect(order).to.include({ status: 'CANCELED' });
    const refused = await call(sim, 'POST', '/order', await orderJson(NO, 'BUY', 0.5, 10));
    expect(refused.status).to.equal(400);
    expect(refused.body.error).to.match(/closed/);
    expect(client.events.some((e) => e.event_type === 'market_resolved')).to.be.false;

    sim.resume();
    await client.waitFor(() => client.events.some((e) => e.event_type === 'market_resolved'));
    const resolved = client.events.find((e) => e.event_type === 'market_resolved')!;
    expect(resolved).to.include({ market: conditionId, winning_asset_id: NO, winning_outcome: 'PHI' });
    expect(resolved.assets_ids).to.deep.equal([YES, NO]);
    const market = await gamma(YES);
    expect(market).to.include({ closed: true, outcomePrices: JSON.stringify(['0', '1']), clobTokenIds: JSON.stringify([YES, NO]) });
    expect((await clob()).tokens).to.deep.equal([
      { token_id: YES, outcome: 'LAL', price: 0, winner: false },
      { token_id: NO, outcome: 'PHI', price: 1, winner: true },
    ]);
    client.ws.close();
  });
});

describe('Polymarket simulator: wallets, fees and trades on chain', function () {
  this.timeout(90_000);
  let sim: PolymarketSimHandle;
  afterEach(async () => sim?.stop());

  const quiet = (extra: Record<string, unknown> = {}) => scenario({ messageRate: 20, tradeProbability: 0, ...extra });
  /** pUSD, or one token's shares, in 6-decimal units. */
  const balance = async (token?: string) =>
    Number(
      (
        await call(
          sim,
          'GET',
          token ? `/balance-allowance?asset_type=CONDITIONAL&token_id=${token}` : '/balance-allowance?asset_type=COLLATERAL',
        )
      ).body.balance,
    );
  const tradeOf = async (id: string) => ((await call(sim, 'GET', `/data/trades?id=${id}`)).body.data as Array<Record<string, unknown>>)[0]!;
  const until = async (id: string, status: string) => {
    const seen: unknown[] = [];
    // Polled often enough to see each state it passes through; a deadline, not a count, bounds it.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const t = await tradeOf(id);
      if (seen.at(-1) !== t.status) seen.push(t.status);
      if (t.status === status) return { trade: t, seen };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`trade ${id} never reached ${status}: ${JSON.stringify(seen)}`);
  };

  it("charges the taker the market's fd fee from pUSD, reports it as live fills do, and declares the fee alike everywhere", async () => {
    const feed = quiet();
    feed.games[0]!.polymarket.feeRate = 0.05;
    feed.games[1]!.polymarket.feeRate = 0;
    sim = await start({ scenario: feed });
    sim.pause();
    const [cash0, shares0] = [await balance(), await balance(YES)];
    const ask = Number(sim.book(YES).asks.at(-1)!.price);
    const taken = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', ask, 10, 'FAK'));
    expect(taken.body).to.include({ status: 'matched', takingAmount: '10' });
    const { trade } = await until((taken.body.tradeIDs as string[])[0]!, 'CONFIRMED');
    expect(trade).to.include({ fee_rate_bps: '0', status: 'CONFIRMED' });
    expect(trade.transaction_hash).to.match(/^0x[0-9a-f]{64}$/);
    // fee = C × r × p(1 − p), up to $0.0001; in 6-decimal units.
    const p = Math.round(ask * 10_000);
    const fee = Math.ceil((1000 * 500 * p * (10_000 - p)) / 1e10) * 100; // 10 shares × 0.05, in $0.0001 then 6-decimal units
    expect(cash0 - (await balance())).to.equal(Math.round(ask * 10 * 1e6) + fee);
    expect((await balance(YES)) - shares0).to.equal(10e6);
    const condition = sim.book(YES).market;
    const info = (await call(sim, 'GET', `/clob-markets/${condition}`, undefined, null)).body as Record<string, unknown>;
    expect(info).to.deep.include({ c: condition, fd: { r: 0.05, e: 1, to: true }, tbf: 1000, mts: 0.01 });
    expect((await call(sim, 'GET', `/fee-rate?token_id=${YES}`, undefined, null)).body).to.deep.equal({ base_fee: 1000 });
    expect((await call(sim, 'GET', `/markets/${condition}`, undefined, null)).body).to.include({ taker_base_fee: 1000 });
    // The fee-free game says so on all three.
    expect((await call(sim, 'GET', '/fee-rate?token_id=3', undefined, null)).body).to.deep.equal({ base_fee: 0 });
    const free = (await call(sim, 'GET', `/clob-markets/${sim.book('3').market}`, undefined, null)).body as Record<string, unknown>;
    expect(free).to.deep.include({ fd: { r: 0, e: 1, to: true }, tbf: 0 });
  });

  it('a trade failed on chain ends FAILED without a hash and is undone; a retried one goes RETRYING, then CONFIRMED', async () => {
    sim = await start({
      scenario: quiet({
        polymarketChain: [
          { trade: 1, outcome: 'failed' },
          { trade: 2, outcome: 'retried' },
        ],
      }),
    });
    sim.pause();
    const [cash0, shares0] = [await balance(), await balance(YES)];
    const ask = Number(sim.book(YES).asks.at(-1)!.price);
    const first = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', ask, 5, 'FAK'));
    const failed = await until((first.body.tradeIDs as string[])[0]!, 'FAILED');
    expect(failed.seen).to.deep.equal(['MATCHED', 'FAILED']);
    expect(failed.trade.transaction_hash).to.equal(undefined);
    expect(failed.trade.err_msg).to.be.a('string').and.not.equal('');
    expect([await balance(), await balance(YES)]).to.deep.equal([cash0, shares0]);
    expect((await call(sim, 'GET', `/data/order/${first.body.orderID as string}`)).body).to.include({ size_matched: '0' });

    const second = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', ask, 5, 'FAK'));
    const retried = await until((second.body.tradeIDs as string[])[0]!, 'CONFIRMED');
    expect(retried.seen).to.include.members(['RETRYING', 'CONFIRMED']);
    expect(retried.seen.indexOf('RETRYING')).to.be.below(retried.seen.indexOf('CONFIRMED'));
    expect(retried.trade.transaction_hash).to.match(/^0x[0-9a-f]{64}$/);
    expect((await balance(YES)) - shares0).to.equal(5e6);
  });

  it("refuses what the wallet cannot cover with the venue's message: pUSD for a buy (resting ones count), shares for a sell", async () => {
    sim = await start({ scenario: quiet(), balanceUsd: 20 });
    sim.pause();
    const refused = await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.5, 50));
    expect(refused.status).to.equal(400);
    expect(refused.body).to.deep.equal({ error: 'not enough balance / allowance' });
    expect((await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.1, 150))).body).to.include({ status: 'live' });
    // $15 of the $20 rests in that bid: $10 more is too much.
    expect((await call(sim, 'POST', '/order', await orderJson(YES, 'BUY', 0.1, 100))).status).to.equal(400);
    const sell = await call(sim, 'POST', '/order', await orderJson(NO, 'SELL', 0.9, 5));
    expect(sell.status).to.equal(400);
    expect(sell.body).to.deep.equal({ error: 'not enough balance / allowance' });
  });
});
