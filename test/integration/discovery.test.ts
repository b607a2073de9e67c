// Discovery against both simulators over real HTTP: Kalshi's events with nested markets and
// Polymarket's Gamma events, matched into the markets a shard trades — through the library and
// through `arbees discover`.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { discoverMarkets } from '../../venues/discovery/fetch.js';
import { easternDate } from '../../venues/discovery/match.js';
import { startKalshiSim, type KalshiSimHandle } from '../../workloads/sim/kalshi/server.js';
import { startPolymarketSim, type PolymarketSimHandle } from '../../workloads/sim/polymarket/server.js';
import { parseScenario } from '../../workloads/sim/scenario.js';
import type { ShardMarket } from '../../contracts/shard-config.js';
import type { KubeObject } from '../../operator/kube/client.js';
import { resources } from '../../operator/kube/client.js';
import type { TradingShard } from '../../contracts/trading-shard.js';
import {
  adminClient,
  createNamespace,
  eventually,
  installCrd,
  kubectl,
  sampleShard,
  startTestOperator,
  type RunningOperator,
} from '../support/operator-harness.js';

const REPO = join(import.meta.dirname, '..', '..');

// Tickers carry today's date (US Eastern), as the venues list today's games.
const today = easternDate(new Date().toISOString())!;
const [yyyy, mm, dd] = today.split('-');
const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const stamp = `${yyyy!.slice(2)}${months[Number(mm) - 1]}${dd}`;

const scenario = parseScenario({
  name: 'discovery-it',
  seed: 3,
  duration: '1h',
  games: [
    {
      id: 'g1',
      sport: 'nba',
      away: 'PHI',
      home: 'LAL',
      title: '76ers vs. Lakers',
      kalshi: { eventTicker: `KXNBAGAME-${stamp}PHILAL`, seriesTicker: 'KXNBAGAME' },
      // The Kalshi market is the home team's: its YES token must be the Lakers' outcome.
      markets: [
        {
          id: 'm1',
          team: 'LAL',
          initialPrice: 0.6,
          kalshi: { ticker: `KXNBAGAME-${stamp}PHILAL-LAL` },
          polymarket: { yesTokenId: '1001', noTokenId: '1002' },
        },
      ],
    },
    {
      id: 'g2',
      sport: 'nba',
      away: 'BOS',
      home: 'NYK',
      title: 'Celtics vs. Knicks',
      kalshi: { eventTicker: `KXNBAGAME-${stamp}BOSNYK`, seriesTicker: 'KXNBAGAME' },
      markets: [
        {
          id: 'm2',
          team: 'BOS',
          initialPrice: 0.55,
          kalshi: { ticker: `KXNBAGAME-${stamp}BOSNYK-BOS` },
          polymarket: { yesTokenId: '2001', noTokenId: '2002' },
        },
      ],
    },
    {
      id: 'g3',
      sport: 'nhl',
      away: 'TOR',
      home: 'MTL',
      title: 'Maple Leafs vs. Canadiens',
      kalshi: { eventTicker: `KXNHLGAME-${stamp}TORMTL`, seriesTicker: 'KXNHLGAME' },
      markets: [
        {
          id: 'm3',
          team: 'MTL',
          initialPrice: 0.5,
          kalshi: { ticker: `KXNHLGAME-${stamp}TORMTL-MTL` },
          polymarket: { yesTokenId: '3001', noTokenId: '3002' },
        },
      ],
    },
  ],
});

const expected = (sport: string, away: string, home: string, team: string, ticker: string, yes: string, no: string) => ({
  id: `${sport}-${away}-${home}-${today}-${team}`.toLowerCase(),
  sport,
  game: `${sport}-${away}-${home}-${today}`.toLowerCase(),
  kalshi: { ticker },
  polymarket: { yesTokenId: yes, noTokenId: no },
});

describe('market discovery against the simulators', function () {
  this.timeout(60_000);
  let kalshi: KalshiSimHandle;
  let polymarket: PolymarketSimHandle;

  before(async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    kalshi = await startKalshiSim({
      scenario,
      apiKeys: [{ id: 'k', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
      port: 0,
      autoStart: false,
    });
    polymarket = await startPolymarketSim({ scenario, creds: [], port: 0, autoStart: false });
  });
  after(async () => {
    await kalshi?.stop();
    await polymarket?.stop();
  });

  it('matches every game of the chosen sports, each YES token the same team as the Kalshi market', async () => {
    const result = await discoverMarkets({
      kalshiRestUrl: kalshi.url,
      gammaUrl: polymarket.gammaUrl,
      sports: ['nba', 'nhl'],
      lookaheadHours: 24,
    });
    expect(result.unmatched).to.deep.equal([]);
    const strip = (m: ShardMarket) => ({ id: m.id, sport: m.sport, game: m.game, kalshi: m.kalshi, polymarket: m.polymarket });
    expect(result.markets.map(strip)).to.have.deep.members([
      expected('nba', 'PHI', 'LAL', 'LAL', `KXNBAGAME-${stamp}PHILAL-LAL`, '1001', '1002'),
      expected('nba', 'BOS', 'NYK', 'BOS', `KXNBAGAME-${stamp}BOSNYK-BOS`, '2001', '2002'),
      expected('nhl', 'TOR', 'MTL', 'MTL', `KXNHLGAME-${stamp}TORMTL-MTL`, '3001', '3002'),
    ]);
    expect(result.markets.every((m) => m.startsAt !== undefined)).to.equal(true);
  });

  it('leaves out games that start after the lookahead window', async () => {
    const later = await discoverMarkets({
      kalshiRestUrl: kalshi.url,
      gammaUrl: polymarket.gammaUrl,
      sports: ['nhl'],
      lookaheadHours: 1,
      now: Date.now() - 3 * 3_600_000,
    });
    expect(later.markets).to.deep.equal([]);
  });

  it('arbees discover prints the matches, and says which venue failed when one is down', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli', 'arbees.ts'), 'discover', ...args], {
          cwd: REPO,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await run(['--kalshi-url', kalshi.url, '--gamma-url', polymarket.gammaUrl, '--sports', 'nba', '--output', 'json']);
    expect(ok.code, ok.stderr).to.equal(0);
    const markets = JSON.parse(ok.stdout) as ShardMarket[];
    expect(markets.map((m) => m.kalshi.ticker).sort()).to.deep.equal([`KXNBAGAME-${stamp}BOSNYK-BOS`, `KXNBAGAME-${stamp}PHILAL-LAL`]);
    expect(ok.stderr).to.contain('2 market(s) matched, 0 left out');
    const down = await run(['--kalshi-url', 'http://127.0.0.1:9/trade-api/v2', '--gamma-url', polymarket.gammaUrl, '--sports', 'nba']);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/discovery failed: GET http:\/\/127\.0\.0\.1:9\/trade-api\/v2\/events/);
  });

  describe('in the operator (spec.discovery)', () => {
    let op: RunningOperator | undefined;
    after(async () => op?.stop());

    it('records the matches in status.discovery and adds them to the shard config', async () => {
      await installCrd();
      await createNamespace('discovery-it');
      op = await startTestOperator({
        namespace: 'discovery-it',
        config: {
          discoveryIntervalMs: 600_000,
          venueEndpoints: {
            kalshi: { demo: { restUrl: kalshi.url, wsUrl: kalshi.wsUrl }, production: { restUrl: kalshi.url, wsUrl: kalshi.wsUrl } },
            polymarket: { clobUrl: polymarket.url, wsUrl: polymarket.wsUrl, gammaUrl: polymarket.gammaUrl },
          },
        },
      });
      const base = sampleShard('nba-discovered', 'discovery-it');
      const { markets: _listed, ...spec } = base.spec;
      const shard = { ...base, spec: { ...spec, discovery: { sports: ['nba'], lookaheadHours: 24 } } } as TradingShard & KubeObject;
      const client = await adminClient();
      await client.apply(shard, 'arbees-tests');
      type Stored = TradingShard & KubeObject;
      const found = await eventually(
        async () => {
          const s = await client.get<Stored>(resources.tradingShards, 'discovery-it', 'nba-discovered');
          return (s.status?.discovery?.markets?.length ?? 0) === 2 && s.status?.marketCount === 2 ? s : undefined;
        },
        30_000,
        'status.discovery with two NBA markets',
      );
      expect(found.status!.discovery!.unmatched).to.equal(0);
      expect(found.status!.discovery!.markets!.find((m) => m.kalshi.ticker.endsWith('PHILAL-LAL'))!.polymarket).to.deep.equal({
        yesTokenId: '1001',
        noTokenId: '1002',
      });
      const configMap = await eventually(
        async () => {
          const cm = JSON.parse(await kubectl('get', 'configmap', 'nba-discovered-config', '-n', 'discovery-it', '-o', 'json')) as {
            data: Record<string, string>;
          };
          const config = JSON.parse(cm.data['shard.json']!) as { markets: ShardMarket[] };
          return config.markets.length === 2 ? config : undefined;
        },
        30_000,
        'the discovered markets in the shard config',
      );
      expect(configMap.markets.map((m) => m.kalshi.ticker).sort()).to.deep.equal([
        `KXNBAGAME-${stamp}BOSNYK-BOS`,
        `KXNBAGAME-${stamp}PHILAL-LAL`,
      ]);
      const events = JSON.parse(await kubectl('get', 'events', '-n', 'discovery-it', '-o', 'json')) as {
        items: Array<{ reason: string; message: string }>;
      };
      expect(events.items.some((e) => e.reason === 'MarketsDiscovered' && e.message.startsWith('2 markets matched (+2 −0)'))).to.equal(
        true,
      );
    });
  });
});
