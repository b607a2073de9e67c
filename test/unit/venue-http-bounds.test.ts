// Hostile venue answers to every HTTP client that talks to a venue (security issue, point 8): a 30x
// redirect to another host is never followed (that host never hears from us, so the signed headers
// never leave), and a body above the client's bound is refused, whether its Content-Length declares
// it (refused before reading) or it comes chunked without one (reading stops at the bound). A refused
// order answer leaves the order's outcome unknown (VenueAmbiguous), never rejected or not sent, and
// the executor reconciles it. Tiny node:http servers play the venue and the other host; a CONNECT
// proxy stands in for gluetun's in front of Polymarket.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type pg from 'pg';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { AnswerRefused, readBounded } from '../../lib/bounded-http.js';
import { DiscoveryError, discoverMarkets } from '../../venues/discovery/fetch.js';
import { FeeTable } from '../../venues/fee-table.js';
import { KalshiClient } from '../../venues/kalshi/orders.js';
import { VenueAmbiguous, VenueRejected, type OrderRequest } from '../../venues/orders.js';
import { PolymarketClient } from '../../venues/polymarket/orders.js';
import type { Ledger, OrderRow } from '../../workloads/executor/ledger.js';
import { LocalBreakers } from '../../workloads/executor/local-breakers.js';
import { MarketParamsRefresher } from '../../workloads/executor/market-params.js';
import { createExecutorMetrics } from '../../workloads/executor/metrics.js';
import { OrderSender } from '../../workloads/executor/order-sender.js';
import type { Portfolio } from '../../workloads/executor/portfolio.js';
import { startSettlement } from '../../workloads/executor/settlement.js';
import { defaultExecutorSettings } from '../../workloads/executor/settings.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';

const MiB = 1024 * 1024;
/** Above every client's bound (the largest, a discovery page, is 32 MiB). */
const HUGE = 64 * MiB;

interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

interface TestServer {
  url: string;
  hits: Hit[];
  /** Body bytes handed to the socket so far by the hostile answers. */
  streamed: number;
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, server: TestServer) => void): Promise<TestServer> {
  const s: TestServer = { url: '', hits: [], streamed: 0, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    s.hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    res.on('error', () => undefined);
    handler(req, res, s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return s;
}

type Mode = 'redirect' | 'declared' | 'chunked';

/** Answers `mode`'s way: a redirect to `elsewhere`, or HUGE bytes of JSON-ish text with or without a length. */
function hostile(mode: Mode, elsewhere: TestServer, status = 200) {
  return (req: IncomingMessage, res: ServerResponse, s: TestServer) => {
    if (mode === 'redirect') {
      res.writeHead(req.method === 'GET' ? 302 : 307, { location: `${elsewhere.url}${req.url ?? '/'}` }).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...(mode === 'declared' ? { 'content-length': String(HUGE) } : {}) });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && s.streamed < HUGE) {
        s.streamed += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
}

/** What a refused read may have let through: the bound, plus what sockets buffer on the way. */
const readAtMost = (limit: number) => limit + 16 * MiB;

const order: OrderRequest = {
  clientOrderId: 'c-1',
  venue: 'kalshi',
  marketId: 'm0',
  venueMarket: 'KXNBAGAME-26NOV24PHILAL-LAL',
  outcome: 'yes',
  side: 'buy',
  limitPrice: 5_000,
  size: 300,
  createdTs: Date.now(),
};

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('venue HTTP answers: redirects refused, bodies bounded', function () {
  this.timeout(30_000);
  const stops: Array<() => Promise<unknown>> = [];
  let elsewhere: TestServer;

  beforeEach(async () => {
    elsewhere = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    stops.push(() => elsewhere.close());
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const venue = async (handler: Parameters<typeof serve>[0]) => {
    const s = await serve(handler);
    stops.push(() => s.close());
    return s;
  };

  describe('the shared reader', () => {
    it('refuses a declared length above the bound without reading, and stops a chunked body at the bound', async () => {
      const declared = new Response('x'.repeat(100), { headers: { 'content-length': '100' } });
      expect(await refusal(readBounded(declared, 99))).to.be.instanceOf(AnswerRefused);
      const chunked = new Response(new Blob(['y'.repeat(200)]).stream());
      expect((await refusal(readBounded(chunked, 150))).message).to.equal('answer over 150 bytes');
      expect(await readBounded(new Response('{"ok":true}'), 11)).to.equal('{"ok":true}');
    });
  });

  describe('Kalshi orders', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const client = (s: TestServer) =>
      new KalshiClient({ restUrl: `${s.url}/trade-api/v2`, credentials: { keyId: 'key-id', privateKey }, timeoutMs: 10_000 });

    for (const method of ['place', 'find'] as const) {
      it(`${method}: a redirect to another host is unknown, not followed, and the signed headers never leave`, async () => {
        const s = await venue(hostile('redirect', elsewhere));
        const error = await refusal(client(s)[method](order));
        expect(error).to.be.instanceOf(VenueAmbiguous);
        expect(s.hits).to.have.length(1);
        expect(s.hits[0]!.headers).to.have.property('kalshi-access-signature');
        expect(elsewhere.hits, 'the other host was contacted').to.deep.equal([]);
      });
    }

    for (const mode of ['declared', 'chunked'] as const) {
      it(`place: an oversized order answer (${mode}) is unknown, even with a 4xx status, and is not read past the bound`, async () => {
        for (const status of [201, 400]) {
          const s = await venue(hostile(mode, elsewhere, status));
          const error = await refusal(client(s).place(order));
          expect(error, `HTTP ${status}`).to.be.instanceOf(VenueAmbiguous);
          expect(error).to.not.be.instanceOf(VenueRejected);
          expect(error.message).to.match(/answer (of|over)/);
          expect(s.streamed).to.be.below(readAtMost(256 * 1024));
        }
      });

      it(`find: an oversized page of orders (${mode}) is unknown, never "not found"`, async () => {
        const s = await venue(hostile(mode, elsewhere));
        const error = await refusal(client(s).find(order));
        expect(error).to.be.instanceOf(VenueAmbiguous);
        expect(error.message).to.match(/answer (of|over)/);
        expect(s.streamed).to.be.below(readAtMost(16 * MiB));
      });
    }

    it('the executor marks an order whose answer was refused unknown and reconciles it, never rejected or never sent', async () => {
      let posts = 0;
      const s = await venue((req, res, server) => {
        if (req.method === 'POST') {
          posts++;
          return hostile('chunked', elsewhere, 201)(req, res, server);
        }
        if (req.url?.startsWith('/trade-api/v2/portfolio/orders')) {
          const found = { order_id: 'v-1', client_order_id: order.clientOrderId, status: 'canceled', fill_count_fp: '0.00' };
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ orders: [found], cursor: '' }));
        }
        res.writeHead(404).end('{}');
      });
      const statuses: string[] = [];
      const recorded: string[] = [];
      const ledger = {
        markStatus: (_id: string, status: string) => Promise.resolve(void statuses.push(status)),
        recordReport: (_o: OrderRow, report: { venueOrderId: string }) => {
          recorded.push(report.venueOrderId);
          return Promise.resolve({ positions: [], realized: 0, fees: 0, newFills: 0 });
        },
        riskEvent: () => Promise.resolve(),
      } as unknown as Ledger;
      const config = { executor: { bankrollUsd: 1_000, limits: {} }, detector: { maxQuoteAgeMs: 1_000 } } as unknown as ShardConfig;
      const settings = defaultExecutorSettings(config, { ambiguousGraceMs: 0 });
      const sender = new OrderSender({
        ledger,
        venues: { kalshi: client(s) },
        portfolio: { apply: () => undefined, tradingDay: () => '2026-01-01' } as unknown as Portfolio,
        metrics: createExecutorMetrics('bounds'),
        localBreakers: new LocalBreakers(settings.localBreakers),
        live: true,
        settings: () => settings,
        killed: () => false,
        now: Date.now,
      });
      const row: OrderRow = { ...order, signalId: 's-1', leg: 'a', status: 'intent', filledSize: 0, fees: 0 };
      const result = await sender.send(row);
      expect(posts).to.equal(1); // not resent
      expect(statuses).to.deep.equal(['sent', 'unknown']);
      expect(recorded).to.deep.equal(['v-1']); // found again by reconciliation
      expect(result.report).to.include({ venueOrderId: 'v-1', status: 'cancelled' });
    });
  });

  describe('Polymarket orders (through the VPN proxy)', () => {
    let proxy: ConnectProxy;
    beforeEach(async () => {
      proxy = await startConnectProxy();
      stops.push(() => proxy.close());
    });
    const hash = `0x${'ab'.repeat(32)}`;
    // The order was signed and committed before: place resends the stored body.
    const pool = {
      query: () => Promise.resolve({ rows: [{ order_hash: hash, body: { order: { salt: 1 }, owner: 'api-key', orderType: 'FAK' } }] }),
    } as unknown as pg.Pool;
    const client = (s: TestServer) => {
      const c = new PolymarketClient({
        clobUrl: s.url,
        proxyUrl: proxy.url,
        pool,
        credentials: {
          apiKey: 'api-key',
          secret: Buffer.from('secret').toString('base64'),
          passphrase: 'pass',
          privateKey: `0x${'11'.repeat(32)}`,
        },
        timeoutMs: 10_000,
      });
      stops.push(() => c.close());
      return c;
    };

    for (const method of ['place', 'find'] as const) {
      it(`${method}: a redirect to another host is unknown (not rejected) and not followed`, async () => {
        const s = await venue(hostile('redirect', elsewhere));
        const error = await refusal(client(s)[method](order));
        expect(error).to.be.instanceOf(VenueAmbiguous);
        expect(error).to.not.be.instanceOf(VenueRejected);
        expect(s.hits).to.have.length(1);
        expect(s.hits[0]!.headers).to.have.property('poly_signature');
        expect(elsewhere.hits, 'the other host was contacted').to.deep.equal([]);
      });
    }

    for (const mode of ['declared', 'chunked'] as const) {
      it(`place: an oversized order answer (${mode}) is unknown and not read past the bound`, async () => {
        for (const status of [200, 400]) {
          const s = await venue(hostile(mode, elsewhere, status));
          const error = await refusal(client(s).place(order));
          expect(error, `HTTP ${status}`).to.be.instanceOf(VenueAmbiguous);
          expect(error).to.not.be.instanceOf(VenueRejected);
          expect(error.message).to.match(/answer (of|over)/);
          expect(s.streamed).to.be.below(readAtMost(256 * 1024));
        }
      });
    }
  });

  describe('discovery listings', () => {
    const discover = (s: TestServer) =>
      discoverMarkets({ kalshiRestUrl: `${s.url}/trade-api/v2`, gammaUrl: s.url, sports: ['nba'], lookaheadHours: 24, timeoutMs: 10_000 });

    it('a redirect fails discovery and the other host is never asked', async () => {
      const s = await venue(hostile('redirect', elsewhere));
      const error = await refusal(discover(s));
      expect(error).to.be.instanceOf(DiscoveryError);
      expect(error.message).to.match(/redirect/);
      expect(elsewhere.hits).to.deep.equal([]);
    });

    for (const mode of ['declared', 'chunked'] as const) {
      it(`an oversized page (${mode}) fails discovery, read no further than the bound`, async () => {
        const s = await venue(hostile(mode, elsewhere));
        const error = await refusal(discover(s));
        expect(error).to.be.instanceOf(DiscoveryError);
        expect(error.message).to.match(/answer (of|over)/);
        expect(s.streamed).to.be.below(readAtMost(32 * MiB));
      });
    }
  });

  describe('market terms (executor) and settlement', () => {
    let proxy: ConnectProxy;
    beforeEach(async () => {
      proxy = await startConnectProxy();
      stops.push(() => proxy.close());
    });
    const market = { id: 'm0', sport: 'nba', game: 'g0', kalshi: { ticker: 'KX-A' }, polymarket: { yesTokenId: '11', noTokenId: '12' } };
    const config = (s: TestServer): ShardConfig => ({
      shard: 'bounds',
      markets: [market as ShardConfig['markets'][number]],
      venues: {
        kalshi: { environment: 'demo', restUrl: `${s.url}/trade-api/v2`, wsUrl: 'ws://127.0.0.1:1' },
        polymarket: { clobUrl: `${s.url}/clob`, wsUrl: 'ws://127.0.0.1:1', gammaUrl: `${s.url}/gamma` },
      },
      detector: { minEdgeBps: 50, maxQuoteAgeMs: 5_000, cooldownMs: 0 },
      executor: {
        mode: 'paper',
        bankrollUsd: 10_000,
        limits: { perGameUsd: 600, perSportUsd: 1_000, dailyLossUsd: 300, maxOpenPositions: 12, maxOrderUsd: 150 },
      },
    });

    for (const mode of ['redirect', 'declared', 'chunked'] as const) {
      it(`market params: a ${mode} answer leaves both venues' terms unknown (Polymarket read through the proxy)`, async () => {
        const s = await venue(hostile(mode, elsewhere));
        const refresher = new MarketParamsRefresher({
          shard: 'bounds',
          config: config(s),
          fees: new FeeTable('strict'),
          polymarketProxyUrl: proxy.url,
          requestTimeoutMs: 10_000,
        });
        stops.push(() => refresher.stop());
        await refresher.refresh();
        const params = refresher.get('m0')!;
        for (const venueName of ['kalshi', 'polymarket'] as const) {
          const terms = params[venueName];
          expect(terms.known, venueName).to.equal(false);
          expect((terms as { reason: string }).reason, venueName).to.match(mode === 'redirect' ? /redirect/ : /answer (of|over)/);
        }
        expect(s.hits.some((h) => h.url.startsWith('/clob/'))).to.equal(true);
        expect(elsewhere.hits).to.deep.equal([]);
        if (mode !== 'redirect') expect(s.streamed).to.be.below(2 * readAtMost(4 * MiB)); // both venues' reads
      });

      it(`settlement: a ${mode} answer leaves the positions open (a failed read), on both venues`, async () => {
        const s = await venue(hostile(mode, elsewhere));
        const pool = {
          query: () =>
            Promise.resolve({
              rows: [
                { market_id: 'm0', venue: 'kalshi' },
                { market_id: 'm0', venue: 'polymarket' },
              ],
            }),
        } as unknown as pg.Pool;
        const settlement = startSettlement({
          pool,
          shard: 'bounds',
          shardConfig: config(s),
          log: pino({ level: 'silent' }),
          polymarketProxyUrl: proxy.url,
          intervalMs: 3_600_000,
          requestTimeoutMs: 10_000,
        });
        stops.push(() => settlement.stop());
        expect(await settlement.pollOnce()).to.deep.include({ checked: 2, failed: 2, unresolved: 0, settled: [] });
        expect(elsewhere.hits).to.deep.equal([]);
        if (mode !== 'redirect') expect(s.streamed).to.be.below(2 * readAtMost(4 * MiB));
      });
    }
  });
});
