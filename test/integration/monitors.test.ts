// The Kalshi and Polymarket monitors against the venue simulators (in-process, real sockets on
// loopback) and the rig's real Redis: quotes in the stream match the simulators' own books, a
// dropped socket and a seq gap are recovered, stale books are published stale, a bad Kalshi key is
// refused with a clear error and backoff, and a geoblocked Polymarket monitor publishes nothing
// and reports arbees_vpn_up 0.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { rig } from '../rig/index.js';
import { parseDecimal, PRICE_ONE } from '../../contracts/decimal.js';
import { createLogger } from '../../lib/log.js';
import { readyzBody } from '../../lib/ops-server.js';
import { quoteSchema, streamKeys, type Quote } from '../../contracts/messages.js';
import { KalshiMonitor, type KalshiMonitorOptions } from '../../workloads/kalshi-monitor/service.js';
import { PolymarketMonitor, type PolymarketMonitorOptions } from '../../workloads/polymarket-monitor/service.js';
import { QUOTE_FIELD } from '../../workloads/market-data/publisher.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';

const DEPTH = 5;
const MARKETS = [
  {
    id: 'nba-phi-lal-lal',
    team: 'LAL',
    initialPrice: 0.62,
    kalshi: { ticker: 'KXNBAGAME-26NOV24PHILAL-LAL' },
    polymarket: {
      yesTokenId: '71321045679252212594626385532706912750332728571942532289631379312455583992563',
      noTokenId: '52114319501245915516055106046884209969926127482827954674443846427813813222426',
    },
  },
  {
    id: 'nhl-tor-mtl-tor',
    team: 'TOR',
    initialPrice: 0.48,
    kalshi: { ticker: 'KXNHLGAME-26NOV24TORMTL-TOR' },
    polymarket: {
      yesTokenId: '44871209365518902247761093528814760021956637411095308872014469915823071665530',
      noTokenId: '66230918475529310984420755183391247700562813904768829913057722103845516279081',
    },
  },
];

const scenario = (faults: unknown[] = []) =>
  parseScenario({
    name: 'monitors-it',
    seed: 424242,
    duration: '1h',
    messageRate: 150,
    tradeProbability: 0.05,
    defaults: { depth: 6, levelSize: 200, volatility: 0.03 },
    games: [
      { id: 'g1', sport: 'nba', home: 'LAL', away: 'PHI', kalshi: { eventTicker: 'KXNBAGAME-26NOV24PHILAL' }, markets: [MARKETS[0]] },
      { id: 'g2', sport: 'nhl', home: 'MTL', away: 'TOR', kalshi: { eventTicker: 'KXNHLGAME-26NOV24TORMTL' }, markets: [MARKETS[1]] },
    ],
    faults,
  });

const keyId = randomUUID();
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const polyCreds = {
  apiKey: randomUUID(),
  secret: randomBytes(32).toString('base64url'),
  passphrase: randomBytes(16).toString('hex'),
  address: `0x${randomBytes(20).toString('hex')}`,
};
const log = createLogger({ name: 'monitors-it', level: process.env.ARBEES_TEST_LOG ?? 'silent' });
const fastBackoff = { baseMs: 50, maxMs: 400 };

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
}

// Generous: a condition costs nothing when it holds fast, and a loaded machine may take its time.
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every quote in the stream, oldest first, schema-checked. */
async function readQuotes(redis: Redis, shard: string): Promise<Quote[]> {
  const entries = await redis.xrange(streamKeys.quotes(shard), '-', '+');
  return entries.map(([, fields]) => {
    expect(fields[0]).to.equal(QUOTE_FIELD);
    return quoteSchema.parse(JSON.parse(fields[1]!));
  });
}

function latestByBook(quotes: Quote[]): Map<string, Quote> {
  const out = new Map<string, Quote>();
  for (const q of quotes) out.set(`${q.venue}/${q.marketId}/${q.outcome}`, q);
  return out;
}

const P = (s: string) => parseDecimal(s, 4);
const S = (s: string) => parseDecimal(s, 2);

/** What the Kalshi quotes of a market must show, from the simulator's own book (NO bids on the NO-leg scale). */
function kalshiExpected(sim: KalshiSimHandle, ticker: string) {
  const book = sim.orderbook(ticker);
  const yesBids = book.yes.map(([p, s]) => [P(p), S(s)] as [number, number]).sort((a, b) => b[0] - a[0]);
  const noBids = book.no.map(([p, s]) => [P(p), S(s)] as [number, number]).sort((a, b) => b[0] - a[0]);
  const mirror = (levels: Array<[number, number]>) => levels.map(([p, s]) => [PRICE_ONE - p, s] as [number, number]);
  return {
    yes: { bids: yesBids.slice(0, DEPTH), asks: mirror(noBids).slice(0, DEPTH) },
    no: { bids: noBids.slice(0, DEPTH), asks: mirror(yesBids).slice(0, DEPTH) },
  };
}

/** The Polymarket token book from the simulator's REST /book body (bids ascending, asks descending). */
function polyExpected(sim: PolymarketSimHandle, tokenId: string) {
  const book = sim.book(tokenId);
  const levels = (side: Array<{ price: string; size: string }>) =>
    side
      .map(({ price, size }) => [P(price), S(size)] as [number, number])
      .reverse()
      .slice(0, DEPTH);
  return { bids: levels(book.bids), asks: levels(book.asks) };
}

describe('market-data monitors (simulators + real Redis)', function () {
  this.timeout(120_000);
  let redisUrl: string;
  let redis: Redis;
  const cleanup: Array<() => Promise<void>> = [];

  before(async () => {
    redisUrl = (await rig.redis()).url;
    redis = new Redis(redisUrl);
  });
  after(async () => redis?.quit());
  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop().catch(() => undefined);
  });

  const kalshiMonitor = (sim: KalshiSimHandle, shard: string, extra: Partial<KalshiMonitorOptions> = {}) => {
    const monitor = new KalshiMonitor({
      shard,
      markets: MARKETS.map((m) => ({ ticker: m.kalshi.ticker, marketId: m.id })),
      wsUrl: sim.wsUrl,
      keyId,
      privateKey: keys.privateKey,
      redisUrl,
      maxQuoteAgeMs: 10_000,
      depth: DEPTH,
      backoff: fastBackoff,
      log,
      ...extra,
    });
    cleanup.push(() => monitor.stop());
    return monitor;
  };
  const polyMonitor = (sim: PolymarketSimHandle, shard: string, extra: Partial<PolymarketMonitorOptions> = {}) => {
    const monitor = new PolymarketMonitor({
      shard,
      markets: MARKETS.map((m) => ({ marketId: m.id, ...m.polymarket })),
      wsUrl: sim.wsUrl,
      redisUrl,
      maxQuoteAgeMs: 10_000,
      depth: DEPTH,
      backoff: fastBackoff,
      vpn: { required: true, geoblockUrl: new URL('/api/geoblock', sim.url).toString(), intervalMs: 500 },
      log,
      ...extra,
    });
    cleanup.push(() => monitor.stop());
    return monitor;
  };

  it("publishes quotes that match the simulators' books, recovering from dropped sockets and a seq gap", async () => {
    const shard = `mon-${randomBytes(3).toString('hex')}`;
    const faults = [
      { venue: 'kalshi', type: 'disconnect', at: '1500ms', duration: 0 },
      { venue: 'polymarket', type: 'disconnect', at: '1500ms', duration: 0 },
      { venue: 'kalshi', type: 'seqGap', at: '3s' },
    ];
    const ksim = await startKalshiSim({ scenario: scenario(faults), apiKeys: [{ id: keyId, publicKeyPem: publicPem }], port: 0 });
    cleanup.push(() => ksim.stop());
    const psim = await startPolymarketSim({ scenario: scenario(faults), creds: [polyCreds], port: 0 });
    cleanup.push(() => psim.stop());
    const km = kalshiMonitor(ksim, shard);
    const pm = polyMonitor(psim, shard);
    await Promise.all([km.start(), pm.start()]);
    await until('both monitors ready', () => km.readiness().ready && pm.readiness().ready);

    // The scenario drops both sockets at 1.5 s and skips a Kalshi seq at 3 s.
    await until(
      'reconnects and the gap resync',
      async () =>
        (await metric(km.registry, 'arbees_ws_reconnects_total')) >= 1 &&
        (await metric(pm.registry, 'arbees_ws_reconnects_total')) >= 1 &&
        (await metric(km.registry, 'arbees_seq_gaps_total')) >= 1,
    );
    await until('ready again after the faults', () => km.readiness().ready && pm.readiness().ready);
    expect(await metric(km.registry, 'arbees_book_resyncs_total', { venue: 'kalshi' })).to.be.at.least(MARKETS.length);
    expect(await metric(km.registry, 'arbees_malformed_messages_total')).to.equal(0);
    expect(await metric(pm.registry, 'arbees_malformed_messages_total')).to.equal(0);
    expect(await metric(pm.registry, 'arbees_vpn_up')).to.equal(1);

    // Let the books move a little more (both monitors publish again after the faults, and the stream
    // holds what the checks below read), freeze the venues, and compare once the monitors caught up.
    const [kQuotes, pQuotes] = [await metric(km.registry, 'arbees_quotes_total'), await metric(pm.registry, 'arbees_quotes_total')];
    await until(
      'both monitors publishing again after the faults',
      async () =>
        (await metric(km.registry, 'arbees_quotes_total')) > kQuotes &&
        (await metric(pm.registry, 'arbees_quotes_total')) > pQuotes &&
        (await redis.xlen(streamKeys.quotes(shard))) > 100,
    );
    ksim.pause();
    psim.pause();
    let mismatch = '';
    await until(
      "Redis quotes equal to the simulators' books",
      async () => {
        const latest = latestByBook(await readQuotes(redis, shard));
        mismatch = '';
        for (const m of MARKETS) {
          const k = kalshiExpected(ksim, m.kalshi.ticker);
          for (const outcome of ['yes', 'no'] as const) {
            const got = latest.get(`kalshi/${m.id}/${outcome}`);
            if (!got || got.stale || JSON.stringify([got.bids, got.asks]) !== JSON.stringify([k[outcome].bids, k[outcome].asks])) {
              mismatch =
                `kalshi ${m.id} ${outcome}: got ` +
                `${JSON.stringify(got && [got.bids, got.asks, got.stale])} want ${JSON.stringify(k[outcome])}`;
            }
            const token = outcome === 'yes' ? m.polymarket.yesTokenId : m.polymarket.noTokenId;
            const p = polyExpected(psim, token);
            const pgot = latest.get(`polymarket/${m.id}/${outcome}`);
            if (!pgot || pgot.stale || JSON.stringify([pgot.bids, pgot.asks]) !== JSON.stringify([p.bids, p.asks])) {
              mismatch = `polymarket ${m.id} ${outcome}: got ${JSON.stringify(pgot && [pgot.bids, pgot.asks])} want ${JSON.stringify(p)}`;
            }
          }
        }
        return mismatch === '';
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; ${mismatch}`);
    });
    const all = await readQuotes(redis, shard);
    expect(all.length).to.be.greaterThan(100);
    expect(await metric(km.registry, 'arbees_quotes_total')).to.be.greaterThan(0);
    // Per book, seq increases along the stream (what consumers order by).
    const lastSeq = new Map<string, number>();
    for (const q of all) {
      const key = `${q.venue}/${q.marketId}/${q.outcome}`;
      expect(q.seq, key).to.be.greaterThan(lastSeq.get(key) ?? 0);
      lastSeq.set(key, q.seq);
    }
    // Some quotes were published stale during the faults.
    expect(all.some((q) => q.venue === 'kalshi' && q.stale)).to.equal(true);
    expect(all.some((q) => q.venue === 'polymarket' && q.stale)).to.equal(true);

    // Graceful stop: every book is left published as stale.
    await Promise.all([km.stop(), pm.stop()]);
    const after = latestByBook(await readQuotes(redis, shard));
    expect(after.size).to.equal(MARKETS.length * 4);
    for (const q of after.values()) expect(q.stale, `${q.venue} ${q.marketId} ${q.outcome}`).to.equal(true);
  });

  it('publishes a book stale when it has had no update for maxQuoteAgeMs, and fresh again on the next one', async () => {
    const shard = `mon-${randomBytes(3).toString('hex')}`;
    const ksim = await startKalshiSim({ scenario: scenario(), apiKeys: [{ id: keyId, publicKeyPem: publicPem }], port: 0 });
    cleanup.push(() => ksim.stop());
    const km = kalshiMonitor(ksim, shard, { maxQuoteAgeMs: 400 });
    await km.start();
    await until('ready', () => km.readiness().ready);
    ksim.pause();
    await until('all four books stale in Redis', async () => {
      const latest = latestByBook(await readQuotes(redis, shard));
      return latest.size === 4 && [...latest.values()].every((q) => q.stale);
    });
    expect(await metric(km.registry, 'arbees_stale_books')).to.equal(MARKETS.length); // Kalshi tracks one book per market
    expect(await metric(km.registry, 'arbees_quote_age_seconds')).to.be.greaterThan(0.4 * 2);
    ksim.resume();
    await until('fresh again', async () => [...latestByBook(await readQuotes(redis, shard)).values()].some((q) => !q.stale));
  });

  it('refuses a bad Kalshi key with a clear error, backs off instead of looping, and publishes nothing', async () => {
    const shard = `mon-${randomBytes(3).toString('hex')}`;
    const ksim = await startKalshiSim({ scenario: scenario(), apiKeys: [{ id: keyId, publicKeyPem: publicPem }], port: 0 });
    cleanup.push(() => ksim.stop());
    const km = kalshiMonitor(ksim, shard, { privateKey: wrongKey, authRetryMs: 1_000 });
    const started = Date.now();
    await km.start();
    await until('an auth failure', async () => (await metric(km.registry, 'arbees_ws_connect_errors_total', { reason: 'auth' })) >= 1);
    expect(km.lastError).to.match(/Kalshi refused our credentials \(HTTP 401 .*INCORRECT_API_KEY_SIGNATURE\)/);
    expect(km.lastError).to.include('ARBEES_KALSHI_PRIVATE_KEY');
    // Not ready with a fixed code; the venue's words reach the log (the detail), never /readyz.
    const readiness = km.readiness();
    expect(readiness).to.deep.include({ ready: false, reason: 'venue_disconnected' });
    expect(readiness.ready === false && readiness.detail).to.include('INCORRECT_API_KEY_SIGNATURE');
    expect(readyzBody(readiness)).to.equal('not ready: venue_disconnected\n');
    // Backs off: three refusals take at least two retry periods (a loop would make them at once; the
    // fast backoff alone is 50-400 ms), and not one quote was published meanwhile.
    await until('a third auth failure', async () => (await metric(km.registry, 'arbees_ws_connect_errors_total', { reason: 'auth' })) >= 3);
    expect(Date.now() - started).to.be.at.least(2 * 1_000); // ≥ 1 s apart
    expect(await redis.xlen(streamKeys.quotes(shard))).to.equal(0);
  });

  it('behind a geoblock reports arbees_vpn_up 0, never connects, publishes nothing, and is not ready', async () => {
    const shard = `mon-${randomBytes(3).toString('hex')}`;
    const psim = await startPolymarketSim({
      scenario: scenario(),
      creds: [polyCreds],
      port: 0,
      geoblock: { allowedCidrs: ['10.99.0.0/16'] },
    });
    cleanup.push(() => psim.stop());
    const pm = polyMonitor(psim, shard);
    await pm.start(); // the first probe has run, and the connection loop has asked its gate once
    // A second probe (every 500 ms) found the same: the monitor has had its chance to connect, and did not.
    const firstProbe = pm.probe.status.checkedMs;
    await until('a second VPN probe', () => pm.probe.status.checkedMs > firstProbe);
    expect(await metric(pm.registry, 'arbees_vpn_up')).to.equal(0);
    expect(pm.probe.status).to.include({ up: false, ip: '127.0.0.1', country: 'US' });
    const readiness = pm.readiness();
    expect(readiness).to.deep.include({ ready: false, reason: 'vpn_down' });
    expect(readiness.ready === false && readiness.detail).to.match(/VPN check failing: geoblocked: Polymarket sees 127\.0\.0\.1 in US/);
    expect(readyzBody(readiness)).to.equal('not ready: vpn_down\n'); // the exit address stays in the log
    expect(await metric(pm.registry, 'arbees_ws_messages_total')).to.equal(0);
    expect(await metric(pm.registry, 'arbees_ws_connect_errors_total')).to.equal(0); // it did not even try
    expect(await redis.xlen(streamKeys.quotes(shard))).to.equal(0);
  });
});
