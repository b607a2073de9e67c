// The demo's pure parts: reading /metrics text, the breaker's readings, the shard it builds, the
// summary and the report.
import { expect } from 'chai';
import { advance, demoBreakerConfig, readings } from '../../cli/demo/breaker.js';
import { parseMetricsText, sumBy, sumOf } from '../../cli/demo/metrics-text.js';
import type { Tick } from '../../cli/demo/observe.js';
import { percentile, renderChart, renderMarkdown, type ReportInput } from '../../cli/demo/report.js';
import type { Results } from '../../cli/demo/results.js';
import { demoShardConfig } from '../../cli/demo/shard.js';
import { noColor, renderSummary } from '../../cli/demo/view.js';
import { gameDayScenarioPath } from '../../cli/commands/demo.js';
import { initialSnapshot } from '../../operator/breaker/machine.js';
import { parseShardConfig } from '../../contracts/shard-config.js';
import { loadScenarioFile } from '../../workloads/sim/scenario.js';

const metrics = `# HELP arbees_stale_books Books currently marked stale
# TYPE arbees_stale_books gauge
arbees_stale_books{venue="kalshi",shard="demo"} 3
arbees_quotes_total{venue="kalshi",shard="demo"} 120
arbees_quotes_total{venue="polymarket",shard="demo"} 80
arbees_risk_rejections_total{rule="per-game",shard="demo"} 2
arbees_risk_rejections_total{rule="market-cooldown",shard="demo"} 5
arbees_signal_to_order_seconds_bucket{le="+Inf",shard="demo"} 7
arbees_pnl_usd 12.5
`;

describe('demo: metrics text', () => {
  it('reads names, labels and values, skipping comments', () => {
    const samples = parseMetricsText(metrics);
    expect(samples).to.have.length(7);
    expect(samples[0]).to.deep.equal({ name: 'arbees_stale_books', labels: { venue: 'kalshi', shard: 'demo' }, value: 3 });
    expect(samples.find((s) => s.name === 'arbees_signal_to_order_seconds_bucket')!.labels.le).to.equal('+Inf');
    expect(sumOf(samples, 'arbees_quotes_total')).to.equal(200);
    expect(sumOf(samples, 'arbees_quotes_total', { venue: 'polymarket' })).to.equal(80);
    expect(sumBy(samples, 'arbees_risk_rejections_total', 'rule')).to.deep.equal({ 'per-game': 2, 'market-cooldown': 5 });
    expect(sumOf(samples, 'arbees_pnl_usd')).to.equal(12.5);
  });
});

describe('demo: breaker', () => {
  const config = demoBreakerConfig(300);
  const monitor = (stale: number, vpn: number) => parseMetricsText(`arbees_stale_books{venue="kalshi"} ${stale}\narbees_vpn_up ${vpn}\n`);
  const executor = (loss: number) => parseMetricsText(`arbees_daily_loss_usd ${loss}\n`);

  it('opens on stale books held for the rule duration, and says which rule', () => {
    let snapshot = initialSnapshot(0);
    const scrapes = { kalshiMonitor: monitor(2, 1), polymarketMonitor: monitor(0, 1), executor: executor(0) };
    snapshot = advance(config, snapshot, scrapes, 1_000).snapshot;
    expect(snapshot.state).to.equal('Closed'); // held for 0 s of its 1 s
    const step = advance(config, snapshot, scrapes, 2_100);
    expect(step.snapshot.state).to.equal('Open');
    expect(step.snapshot.trippedBy).to.equal('stale-market-data');
  });

  it('opens at once on daily loss at 80 % of the limit', () => {
    const step = advance(
      config,
      initialSnapshot(0),
      { kalshiMonitor: monitor(0, 1), polymarketMonitor: monitor(0, 1), executor: executor(240) },
      1_000,
    );
    expect(step.snapshot.state).to.equal('Open');
    expect(step.snapshot.trippedBy).to.equal('daily-loss');
  });

  it('treats a process that does not answer as unknown, and unknown as open (fail safe)', () => {
    const r = readings({ kalshiMonitor: monitor(0, 1), polymarketMonitor: monitor(0, 1) });
    expect(r['daily-loss']).to.have.property('error');
    const step = advance(config, initialSnapshot(0), { kalshiMonitor: monitor(0, 1), polymarketMonitor: monitor(0, 1) }, 1_000);
    expect(step.snapshot.state).to.equal('Open');
  });
});

describe('demo: shard and scenario', () => {
  it('builds a valid paper shard with every market of the built-in game day (NBA, NFL, NHL)', () => {
    const scenario = loadScenarioFile(gameDayScenarioPath());
    const shard = parseShardConfig(
      demoShardConfig('demo', scenario, {
        kalshiRestUrl: 'http://127.0.0.1:1/trade-api/v2',
        kalshiWsUrl: 'ws://127.0.0.1:1/ws',
        polymarketClobUrl: 'http://127.0.0.1:2',
        polymarketWsUrl: 'ws://127.0.0.1:2/ws/market',
        polymarketGammaUrl: 'http://127.0.0.1:2/gamma',
      }),
      'demo',
    );
    expect(shard.executor.mode).to.equal('paper');
    expect(shard.markets.map((m) => m.id)).to.deep.equal(scenario.games.flatMap((g) => g.markets.map((m) => m.id)));
    expect(new Set(shard.markets.map((m) => m.sport))).to.deep.equal(new Set(['nba', 'nfl', 'nhl']));
    expect(scenario.arbitrage.length).to.be.at.least(3);
    expect(scenario.faults.some((f) => f.type === 'disconnect' && f.duration > 0)).to.equal(true);
  });
});

const results: Results = {
  signals: [
    {
      id: 's1',
      kind: 'arbitrage',
      marketId: 'm1',
      edgeBps: 150,
      expectedProfit: 74_700,
      createdTs: 1_000,
      quoteAgeMs: 12,
      status: 'done',
      outcome: 'both legs filled',
      receivedAt: 1_002,
      toOrderMs: 4,
      firstOrderAt: 1_004,
    },
    {
      id: 's2',
      kind: 'arbitrage',
      marketId: 'm1',
      edgeBps: 120,
      expectedProfit: 50_000,
      createdTs: 2_000,
      quoteAgeMs: 30,
      status: 'rejected',
      outcome: 'market-cooldown',
      receivedAt: 2_001,
    },
  ],
  orders: [
    {
      signalId: 's1',
      leg: 'a',
      venue: 'kalshi',
      marketId: 'm1',
      outcome: 'yes',
      side: 'buy',
      limitPrice: 5_000,
      size: 100,
      filledSize: 100,
      avgPrice: 5_000,
      fees: 10,
      status: 'filled',
    },
    {
      signalId: 's1',
      leg: 'b',
      venue: 'polymarket',
      marketId: 'm1',
      outcome: 'no',
      side: 'buy',
      limitPrice: 4_700,
      size: 100,
      filledSize: 100,
      avgPrice: 4_700,
      fees: 0,
      status: 'filled',
    },
  ],
  positions: [{ marketId: 'm1', venue: 'kalshi', outcome: 'yes', size: 100, cost: 5_000, realizedPnl: 0 }],
  rejections: { 'market-cooldown': 1 },
  lostSignals: 0,
  publishedSignals: 2,
  duplicateOrders: 0,
  windows: [
    {
      truth: {
        id: 'w1',
        marketId: 'm1',
        kalshiTicker: 'K',
        polymarketYesTokenId: '1',
        mispricedVenue: 'kalshi',
        direction: 'cheap',
        startMs: 0,
        endMs: 1,
        shiftBps: 500,
        edgeBps: 300,
        buyYesOn: 'kalshi',
        buyNoOn: 'polymarket',
      },
      from: 900,
      to: 3_000,
      signals: 2,
      filledOrders: 2,
    },
  ],
  realizedUsd: 0,
  feesUsd: 0.001,
  realizedByGame: [{ game: 'g1', kalshi: 1.25, polymarket: -0.4 }],
  feesByVenue: { kalshi: 0.001, polymarket: 0 },
  settlements: 2,
  openPositions: 1,
  balances: {
    kalshi: { start: 100_000_000, ledger: 100_012_500, venue: 100_012_500 },
    polymarket: { start: 100_000_000, ledger: 99_996_000, venue: 99_996_000 },
  },
};

const report: ReportInput = {
  scenario: { name: 'unit', seed: 1, simulatedMs: 600_000 },
  startedAt: 0,
  endedAt: 10_000,
  speed: 60,
  interrupted: false,
  pnl: [
    { at: 0, usd: 0 },
    { at: 5_000, usd: 3.2 },
    { at: 10_000, usd: 2.9 },
  ],
  transitions: [
    { at: 4_000, from: 'Closed', to: 'Open', reason: 'stale-market-data: 2 > 0' },
    { at: 7_000, from: 'Open', to: 'HalfOpen', reason: 'cleared' },
  ],
  finalBreaker: 'HalfOpen',
  peakMemoryMb: { executor: 150 },
  quotes: { kalshi: 10, polymarket: 20 },
  reconnects: { kalshi: 1, polymarket: 0 },
  results,
  chartFile: 'pnl-latency.svg',
};

describe('demo: report', () => {
  it('percentile is the nearest-rank value, undefined without data', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).to.equal(3);
    expect(percentile([5, 1, 3, 2, 4], 99)).to.equal(5);
    expect(percentile([], 50)).to.equal(undefined);
  });

  it('states the figures a trader checks first', () => {
    const md = renderMarkdown(report);
    expect(md).to.contain('| PnL (realized + unrealized, fees included) | **$2.90** |');
    expect(md).to.contain('| arbitrage windows injected / found | 1 / 1 |');
    expect(md).to.contain('| signals published / recorded by the executor / lost | 2 / 2 / **0** |');
    expect(md).to.contain('| orders / filled / duplicate orders | 2 / 2 / **0** |');
    expect(md).to.contain('| +4.0s | Closed → Open | stale-market-data: 2 > 0 |');
    expect(md).to.contain('![PnL and latency over time](pnl-latency.svg)');
    // Settlement: PnL per game and venue, fees per venue, and the simulators' balances against the ledger.
    expect(md).to.contain('| g1 | $1.25 | -$0.40 | $0.85 |');
    expect(md).to.contain('| fees by venue (Kalshi / Polymarket) | $0.00 / $0.00 |');
    expect(md).to.contain('| positions settled / still open | 2 / 1 |');
    expect(md).to.contain('| final balances = ledger (Kalshi / Polymarket) | **equal to the cent** |');
    expect(md).to.contain('| kalshi | $10000.00 | $10001.25 | $10001.25 | $0.00 |');
    const off = renderMarkdown({
      ...report,
      results: { ...results, balances: { ...results.balances!, polymarket: { start: 0, ledger: 10_000, venue: 9_900 } } },
    });
    expect(off).to.contain('| final balances = ledger (Kalshi / Polymarket) | **differ**: $0.00 / -$0.01 |');
  });

  it('draws PnL as a line, one latency dot per traded signal, and shades breaker spans', () => {
    const svg = renderChart(report);
    expect(svg.match(/<polyline points="([^"]+)"/)![1]!.split(' ')).to.have.length(3);
    expect(svg.match(/<circle /g)).to.have.length(1);
    // Open 4–7 s (red) and half-open from 7 s to the end (yellow), behind both panels.
    expect(svg.match(/fill="#f8d0d0"/g)).to.have.length(2);
    expect(svg.match(/fill="#faf0c0"/g)).to.have.length(2);
  });
});

describe('demo: live summary', () => {
  it('shows each market on both venues, marks stale books and a crossed market', () => {
    const tick: Tick = {
      at: 0,
      scrapes: {},
      markets: [
        {
          id: 'crossed',
          kalshi: { bid: 5_600, ask: 5_800, stale: false, ageSeconds: 0.1 },
          polymarket: { bid: 5_900, ask: 6_100, stale: false, ageSeconds: 0.2 },
        },
        {
          id: 'outage',
          kalshi: { bid: 5_000, ask: 5_200, stale: true },
          polymarket: { bid: 5_000, ask: 5_200, stale: false, ageSeconds: 0.1 },
        },
      ],
      venues: {
        kalshi: { connected: false, quotes: 10, reconnects: 2, staleBooks: 1 },
        polymarket: { connected: true, quotes: 12, reconnects: 0, staleBooks: 0 },
      },
      vpnUp: true,
      signals: { arbitrage: 1 },
      executorSignals: { accepted: 1 },
      ordersByStatus: { filled: 2 },
      fills: 2,
      openPositions: 2,
      pnlUsd: 1.5,
      dailyLossUsd: 0,
      exposureUsd: 0,
      rejections: {},
      rssMb: { executor: 150 },
    };
    const lines = renderSummary({
      tick,
      breaker: initialSnapshot(0),
      elapsedMs: 61_000,
      durationMs: 90_000,
      scenario: 'unit',
      paint: noColor,
    });
    const text = lines.join('\n');
    expect(text).to.contain('1:01 of 1:30');
    expect(text).to.match(/kalshi\s+disconnected/);
    expect(lines.find((l) => l.includes('crossed'))).to.contain('◆ crossed');
    expect(lines.find((l) => l.includes('outage'))).to.contain('stale');
    expect(text).to.contain('PnL         $1.50');
  });
});
