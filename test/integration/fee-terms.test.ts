// Fees come from the venues: the executor's reader takes each market's terms from both simulators
// (Kalshi series fees, Polymarket's fd, tick and fee flag), publishes them in Redis, and the
// detector's follower prices with them. Two scenarios where the venues' real fees differ from the
// defaults decide a window: one the defaults would trade and the real fees make unprofitable (no
// signal), one the defaults would skip and the real fees make profitable (a signal). Kalshi's
// scheduled fee change is applied when it comes; a venue that cannot be read leaves the market
// unpriced, with a reason and a metric.
import { expect } from 'chai';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { rig } from '../rig/index.js';
import { waitFor } from '../support/wait.js';
import { parseDecimal } from '../../contracts/decimal.js';
import type { Quote, Signal } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { FeeTable } from '../../venues/fee-table.js';
import { DetectorCore } from '../../workloads/detector/core.js';
import { MarketParamsFollower } from '../../workloads/detector/market-params.js';
import { MarketParamsRefresher } from '../../workloads/executor/market-params.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { loadScenarioFile, parseScenario, type Scenario } from '../../workloads/sim/scenario.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiKeys = [{ id: randomUUID(), publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }];

function shardConfig(shard: string, scenario: Scenario, kalshi: KalshiSimHandle, polymarket: PolymarketSimHandle): ShardConfig {
  return {
    shard,
    markets: scenario.games.flatMap((g) =>
      g.markets.map((m) => ({ id: m.id, sport: g.sport, game: g.id, kalshi: { ticker: m.kalshi.ticker }, polymarket: m.polymarket })),
    ),
    venues: {
      kalshi: { environment: 'demo', restUrl: kalshi.url, wsUrl: kalshi.wsUrl },
      polymarket: { clobUrl: polymarket.url, wsUrl: polymarket.wsUrl, gammaUrl: polymarket.gammaUrl },
    },
    detector: { minEdgeBps: 50, maxQuoteAgeMs: 5_000, cooldownMs: 0 },
    executor: {
      mode: 'paper',
      bankrollUsd: 10_000,
      limits: { perGameUsd: 600, perSportUsd: 1_000, dailyLossUsd: 300, maxOpenPositions: 12, maxOrderUsd: 150 },
    },
  };
}

const P = (text: string) => parseDecimal(text, 4);
const S = (text: string) => parseDecimal(text, 2, 'down');
type Levels = Array<[number, number]>;
const desc = (l: Levels) => [...l].sort((a, b) => b[0] - a[0]);
const asc = (l: Levels) => [...l].sort((a, b) => a[0] - b[0]);

/** Both venues' books of one market as the monitors publish them (best first), at one instant. */
function quotes(marketId: string, kalshi: KalshiSimHandle, polymarket: PolymarketSimHandle, scenario: Scenario): Quote[] {
  const market = scenario.games.flatMap((g) => g.markets).find((m) => m.id === marketId)!;
  const now = Date.now();
  const base = { marketId, seq: 1, exchangeTs: now, receivedTs: now, stale: false };
  const k = kalshi.orderbook(market.kalshi.ticker);
  const yes: Levels = k.yes.map(([p, s]) => [P(p), S(s)]);
  const no: Levels = k.no.map(([p, s]) => [P(p), S(s)]);
  const flip = (l: Levels): Levels => l.map(([p, s]) => [10_000 - p, s]);
  const poly = (token: string) => {
    const b = polymarket.book(token);
    return {
      bids: desc(b.bids.map((l) => [P(l.price), S(l.size)] as [number, number])),
      asks: asc(b.asks.map((l) => [P(l.price), S(l.size)] as [number, number])),
    };
  };
  return [
    { ...base, venue: 'kalshi', outcome: 'yes', bids: desc(yes), asks: asc(flip(no)) },
    { ...base, venue: 'kalshi', outcome: 'no', bids: desc(no), asks: asc(flip(yes)) },
    { ...base, venue: 'polymarket', outcome: 'yes', ...poly(market.polymarket.yesTokenId) },
    { ...base, venue: 'polymarket', outcome: 'no', ...poly(market.polymarket.noTokenId) },
  ];
}

function signalsOf(core: DetectorCore, list: Quote[]): { signals: Signal[]; suppressed: string[] } {
  const signals: Signal[] = [];
  const suppressed: string[] = [];
  for (const q of list) {
    const out = core.onQuote(q, q.receivedTs);
    signals.push(...out.signals);
    suppressed.push(...out.suppressed.map((s) => s.reason));
  }
  return { signals, suppressed };
}

describe('fees from the venues: read, published, priced', function () {
  this.timeout(60_000);
  let kalshi: KalshiSimHandle;
  let polymarket: PolymarketSimHandle;
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const venues = async (scenario: Scenario, speed = 1, autoStart = true) => {
    kalshi = await startKalshiSim({ scenario, apiKeys, port: 0, speed, autoStart });
    polymarket = await startPolymarketSim({ scenario, creds: [], port: 0, speed, autoStart });
    stops.push(
      () => kalshi.stop(),
      () => polymarket.stop(),
    );
  };

  /** The executor's reader and the detector's follower on one Redis, both strict. */
  const readers = async (scenario: Scenario, options: { changesIntervalMs?: number; retryMs?: number } = {}) => {
    const shard = `fees-${randomUUID().slice(0, 8)}`;
    const redisUrl = (await rig.redis()).url;
    const registry = new Registry();
    const executorFees = new FeeTable('strict');
    const refresher = new MarketParamsRefresher({
      shard,
      config: shardConfig(shard, scenario, kalshi, polymarket),
      fees: executorFees,
      redisUrl,
      registry,
      intervalMs: 3_600_000,
      ...options,
    });
    await refresher.start();
    const detectorFees = new FeeTable('strict');
    const follower = new MarketParamsFollower({ shard, redisUrl, fees: detectorFees, pollMs: 50 });
    await follower.start();
    stops.push(
      () => refresher.stop(),
      () => follower.stop(),
    );
    return { refresher, follower, executorFees, detectorFees, registry };
  };

  for (const [file, expected] of [
    ['fees-unprofitable', 'no signal'],
    ['fees-profitable', 'a signal'],
  ] as const) {
    it(`${file}: the defaults and the venues' fees disagree on the window; priced with the venues' fees there is ${expected}`, async () => {
      const scenario = loadScenarioFile(`workloads/sim/scenarios/${file}.yaml`);
      // Both venues held at one instant of the window: their own clocks start apart, and on a
      // loaded machine far enough apart that the prices' walk widens the edge past the fees.
      await venues(scenario, 1, false);
      kalshi.pause();
      polymarket.pause();
      const window = scenario.arbitrage[0]!;
      kalshi.runTo(window.at + 5_000);
      polymarket.runTo(window.at + 5_000);
      const { refresher, detectorFees } = await readers(scenario);
      const marketId = scenario.games[0]!.markets[0]!.id;
      const game = scenario.games[0]!;
      // The venues' values, read and published, not the defaults.
      const terms = refresher.get(marketId)!;
      expect(terms.kalshi).to.include({ known: true, feeType: game.kalshi.feeType, multiplier: String(game.kalshi.feeMultiplier) });
      expect(terms.polymarket).to.include({ known: true, rate: String(game.polymarket.feeRate), tick: '0.01' });
      await waitFor('the detector to have the terms', () => detectorFees.forMarket(marketId) !== undefined);

      const books = quotes(marketId, kalshi, polymarket, scenario);
      const config = { arbitrage: { minEdgeBps: 50 }, spam: { cooldownMs: 0 } };
      const assumed = signalsOf(new DetectorCore(config, { fees: new FeeTable() }), books);
      const real = signalsOf(new DetectorCore(config, { fees: detectorFees }), books);
      if (expected === 'no signal') {
        expect(assumed.signals, 'the default fees see an arbitrage').to.not.be.empty;
        expect(real.signals).to.be.empty;
      } else {
        expect(assumed.signals, 'the default fees see none').to.be.empty;
        expect(real.signals).to.not.be.empty;
        expect(real.signals[0]!.legs.map((l) => l.venue).sort()).to.deep.equal(['kalshi', 'polymarket']);
      }
      expect(real.suppressed).to.not.include('fees_unknown');
    });
  }

  it("applies Kalshi's scheduled fee change when it comes, without waiting for the next full read", async () => {
    const base = loadScenarioFile('workloads/sim/scenarios/fees-profitable.yaml');
    const scenario = parseScenario({
      ...base,
      kalshiFeeChanges: [{ series: 'KXNHLGAME', at: '4s', feeType: 'quadratic_with_maker_fees', feeMultiplier: 1.5 }],
    });
    await venues(scenario);
    const { refresher, executorFees, detectorFees } = await readers(scenario, { changesIntervalMs: 200 });
    const marketId = scenario.games[0]!.markets[0]!.id;
    const fee = (table: FeeTable) => table.model(marketId, 'kalshi')?.fee(5_000, 10_000);
    expect(fee(executorFees)).to.equal(8_800); // 0.5 × 0.07 × 100 × 0.25 = $0.875 → $0.88
    await waitFor('the change applied', () => fee(executorFees) === 26_300, 10_000); // 1.5 × … = $2.625 → $2.63
    expect(refresher.get(marketId)!.kalshi).to.include({ feeType: 'quadratic_with_maker_fees', multiplier: '1.5' });
    await waitFor('the detector to follow', () => fee(detectorFees) === 26_300);
  });

  it('a venue that cannot be read leaves the market unpriced: a reason, a metric, no signal, and it is read again', async () => {
    // The window is Kalshi's: its books show it whatever Polymarket's clock says.
    const scenario = loadScenarioFile('workloads/sim/scenarios/fees-unprofitable.yaml');
    await venues(scenario, 60);
    const marketId = scenario.games[0]!.markets[0]!.id;
    const port = new URL(polymarket.url).port;
    await polymarket.stop();
    const { refresher, detectorFees, registry } = await readers(scenario, { retryMs: 200 });
    expect(refresher.get(marketId)!.polymarket).to.include({ known: false });
    expect((refresher.get(marketId)!.polymarket as { reason: string }).reason).to.match(/unreachable/);
    const unknown = await registry.getSingleMetric('arbees_market_params_unknown')!.get();
    expect(unknown.values.find((v) => v.labels.venue === 'polymarket')!.value).to.equal(1);
    await waitFor('the detector to know it is unknown', () => detectorFees.reason(marketId).includes('unreachable'));
    await waitFor('the window to open', () => kalshi.clock.elapsed() > 40_000);
    kalshi.pause();
    const unread = refresher.get(marketId)!;
    // The books as they are, priced with what could be read: nothing with a Polymarket leg.
    polymarket = await startPolymarketSim({ scenario, creds: [], port: Number(port), speed: 60 });
    stops.push(() => polymarket.stop());
    const core = new DetectorCore({ arbitrage: { minEdgeBps: 50 }, spam: { cooldownMs: 0 } }, { fees: new FeeTable('strict') });
    core.fees.apply(unread);
    const priced = signalsOf(core, quotes(marketId, kalshi, polymarket, scenario));
    expect(priced.signals.filter((s) => s.legs.some((l) => l.venue === 'polymarket'))).to.be.empty;
    expect(priced.suppressed).to.include('fees_unknown');
    // Read again soon, the market is priced once more.
    await waitFor('the venue read again', () => refresher.get(marketId)!.polymarket.known, 10_000);
  });
});
