// The TradingShard CRD against a real kube-apiserver: the samples apply and come back with the
// schema's defaults, `kubectl get ts` prints our columns, the status subresource takes what the
// operator writes, and bad input is refused at `kubectl apply` with a message that names the
// problem (one table row per refusal: a valid base shard, an edit, the apiserver's message).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { packageInfo } from '../../lib/package-root.js';
import { createNamespace, installCrd, kubectl, kubectlFails } from '../support/operator-harness.js';

const namespace = 'crd-tests';
const sample = (file: string) => join(packageInfo().root, 'samples', file);

/** Server-side apply, as a user would, with strict field validation (kubectl's default). */
const applyArgs = (file: string) => [
  'apply',
  '--server-side',
  '--validate=strict',
  '--field-manager=crd-tests',
  '-n',
  namespace,
  '-f',
  file,
];

async function getShard(name: string): Promise<TradingShard> {
  return JSON.parse(await kubectl('get', 'tradingshard', name, '-n', namespace, '-o', 'json')) as TradingShard;
}

const market = (id: string, ticker: string, yes: string, no: string) => ({
  id,
  sport: 'nba',
  kalshi: { ticker },
  polymarket: { yesTokenId: yes, noTokenId: no },
});

/** The smallest valid shard: everything else comes from the CRD's defaults. */
function baseShard(name: string) {
  return {
    apiVersion: 'arbees.io/v1alpha1',
    kind: 'TradingShard',
    metadata: { name },
    spec: {
      markets: [
        market(
          'phi-lal-lal',
          'KXNBAGAME-26NOV24PHILAL-LAL',
          '5263318338913666633637843049152560634592965453430004569427007775323912434144',
          '7986446066949328740150246468436244962376109202406568035198798251449062227587',
        ),
        market(
          'bos-nyk-nyk',
          'KXNBAGAME-26NOV24BOSNYK-NYK',
          '63982323028245149756950846571683774159827283939893042083402567130318108293624',
          '50936160842510755070937162545576885937597378396825619074543738745709062080304',
        ),
      ],
      venues: {
        kalshi: { marketDataSecretRef: { name: 'kalshi-market-data' } },
        polymarket: { vpn: { provider: 'mullvad', serverCountries: ['Netherlands'], secretRef: { name: 'vpn' } } },
      },
      executor: {
        bankrollUsd: 1000,
        limits: { perGameUsd: 100, perSportUsd: 500, dailyLossUsd: 100, maxOpenPositions: 10, maxOrderUsd: 50 },
      },
    },
  };
}

/** Dotted path (numbers index arrays) → new value; undefined deletes. */
type Edits = Record<string, unknown>;

function edited(name: string, edits: Edits): Record<string, unknown> {
  const shard = baseShard(name) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(edits)) {
    const keys = path.split('.');
    const last = keys.pop()!;
    let node = shard;
    keys.forEach((key, i) => {
      node[key] ??= /^\d+$/.test(keys[i + 1] ?? last) ? [] : {};
      node = node[key] as Record<string, unknown>;
    });
    if (value === undefined) {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else node[last] = value;
  }
  return shard;
}

const creds = {
  'spec.venues.kalshi.credentialsSecretRef': { name: 'kalshi' },
  'spec.venues.polymarket.credentialsSecretRef': { name: 'polymarket' },
};
const manyMarkets = (n: number) =>
  Array.from({ length: n }, (_, i) => market(`m${i}`, `KXNBAGAME-26NOV24T${i}-A`, `${1000 + 2 * i}`, `${1001 + 2 * i}`));

interface Refusal {
  name: string;
  edits: Edits;
  /** Substring of kubectl's stderr: the apiserver's message for the field. */
  message: string;
}

const refusals: Refusal[] = [
  // Cross-field rules (CEL)
  {
    name: 'live-without-credentials',
    edits: { 'spec.executor.mode': 'live' },
    message:
      'spec: Invalid value: "object": executor.mode live requires venues.kalshi.credentialsSecretRef and ' +
      'venues.polymarket.credentialsSecretRef',
  },
  {
    name: 'live-without-polymarket-credentials',
    edits: { 'spec.executor.mode': 'live', 'spec.venues.kalshi.credentialsSecretRef': { name: 'kalshi' } },
    message:
      'spec: Invalid value: "object": executor.mode live requires venues.kalshi.credentialsSecretRef and ' +
      'venues.polymarket.credentialsSecretRef',
  },
  {
    name: 'kalshi-without-a-market-data-key',
    edits: { 'spec.venues.kalshi': { environment: 'production', credentialsSecretRef: { name: 'kalshi' } } },
    message: 'spec.venues.kalshi.marketDataSecretRef: Required value',
  },
  {
    name: 'an-image-reference-instead-of-an-allowed-name',
    edits: { 'spec.overrides': { vpn: { image: 'evil.example/gluetun:latest' } } },
    message: `spec.overrides.vpn.image in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'`,
  },
  {
    name: 'per-game-over-per-sport',
    edits: { 'spec.executor.limits.perGameUsd': 501 },
    message: 'spec.executor.limits: Invalid value: "object": perGameUsd must not exceed perSportUsd',
  },
  {
    name: 'max-order-over-per-game',
    edits: { 'spec.executor.limits.maxOrderUsd': 101 },
    message: 'spec.executor.limits: Invalid value: "object": maxOrderUsd must not exceed perGameUsd',
  },
  {
    name: 'per-sport-over-bankroll',
    edits: { 'spec.executor.limits.perSportUsd': 1001 },
    message: 'spec.executor: Invalid value: "object": limits.perSportUsd must not exceed bankrollUsd',
  },
  {
    name: 'daily-loss-over-bankroll',
    edits: { 'spec.executor.limits.dailyLossUsd': 1001 },
    message: 'spec.executor: Invalid value: "object": limits.dailyLossUsd must not exceed bankrollUsd',
  },
  {
    name: 'no-markets-no-discovery',
    edits: { 'spec.markets': undefined },
    message: 'spec: Invalid value: "object": a shard needs markets or discovery (or both: discovery adds to the listed markets)',
  },
  {
    name: 'empty-markets',
    edits: { 'spec.markets': [] },
    message: 'spec.markets: Invalid value: 0: spec.markets in body should have at least 1 items',
  },
  {
    name: 'duplicate-market-id',
    edits: { 'spec.markets.1.id': 'phi-lal-lal' },
    message: '.spec.markets: duplicate entries for key [id="phi-lal-lal"]',
  },
  {
    name: 'duplicate-ticker',
    edits: { 'spec.markets.1.kalshi.ticker': 'KXNBAGAME-26NOV24PHILAL-LAL' },
    message: 'spec.markets: Invalid value: "array": each Kalshi ticker may appear in only one market',
  },
  {
    name: 'yes-equals-no',
    edits: { 'spec.markets.0.polymarket.noTokenId': '5263318338913666633637843049152560634592965453430004569427007775323912434144' },
    message: 'spec.markets[0].polymarket: Invalid value: "object": yesTokenId and noTokenId must differ',
  },
  {
    name: 'too-many-markets',
    edits: { 'spec.markets': manyMarkets(201) },
    message: 'spec.markets: Too many: 201: must have at most 200 items',
  },
  // Enums
  {
    name: 'bad-sport',
    edits: { 'spec.markets.0.sport': 'curling' },
    message:
      'spec.markets[0].sport: Unsupported value: "curling": supported values: "nba", "nfl", "nhl", "mlb", "ncaab", "ncaaf", "soccer"',
  },
  {
    name: 'bad-discovery-sport',
    edits: { 'spec.discovery': { sports: ['nba', 'cricket'] } },
    message: 'spec.discovery.sports[1]: Unsupported value: "cricket"',
  },
  {
    name: 'bad-op',
    edits: { 'spec.circuitBreaker.rules': [{ name: 'loss', query: 'max(arbees_daily_loss_usd)', op: '=>', threshold: 100 }] },
    message: 'spec.circuitBreaker.rules[0].op: Unsupported value: "=>": supported values: ">", ">=", "<", "<=", "==", "!="',
  },
  {
    name: 'bad-mode',
    edits: { 'spec.executor.mode': 'yolo' },
    message: 'spec.executor.mode: Unsupported value: "yolo": supported values: "paper", "live"',
  },
  {
    name: 'bad-vpn-type',
    edits: { 'spec.venues.polymarket.vpn.type': 'ipsec' },
    message: 'spec.venues.polymarket.vpn.type: Unsupported value: "ipsec": supported values: "wireguard", "openvpn"',
  },
  {
    name: 'bad-prometheus-unavailable',
    edits: { 'spec.circuitBreaker.onPrometheusUnavailable': 'ignore' },
    message: 'spec.circuitBreaker.onPrometheusUnavailable: Unsupported value: "ignore": supported values: "hold", "open"',
  },
  // Patterns and formats
  {
    name: 'bad-duration',
    edits: {
      'spec.circuitBreaker.rules': [{ name: 'loss', query: 'max(arbees_daily_loss_usd)', op: '>', threshold: 100, for: '30 seconds' }],
    },
    message:
      `spec.circuitBreaker.rules[0].for: Invalid value: "30 seconds": ` +
      `spec.circuitBreaker.rules[0].for in body should match '^([0-9]+(ms|s|m|h))+$'`,
  },
  {
    name: 'bad-cooldown',
    edits: { 'spec.circuitBreaker.cooldown': '5min' },
    message:
      `spec.circuitBreaker.cooldown: Invalid value: "5min": ` + `spec.circuitBreaker.cooldown in body should match '^([0-9]+(ms|s|m|h))+$'`,
  },
  {
    name: 'bad-ticker',
    edits: { 'spec.markets.0.kalshi.ticker': 'kxnbagame-26nov24philal-lal' },
    message:
      `spec.markets[0].kalshi.ticker: Invalid value: "kxnbagame-26nov24philal-lal": ` +
      `spec.markets[0].kalshi.ticker in body should match '^[A-Z0-9][A-Z0-9._-]*$'`,
  },
  {
    name: 'bad-token',
    edits: { 'spec.markets.0.polymarket.yesTokenId': '0x5263' },
    message:
      `spec.markets[0].polymarket.yesTokenId: Invalid value: "0x5263": ` +
      `spec.markets[0].polymarket.yesTokenId in body should match '^[0-9]{1,78}$'`,
  },
  {
    name: 'token-too-long',
    edits: { 'spec.markets.0.polymarket.noTokenId': '1'.repeat(79) },
    message: 'spec.markets[0].polymarket.noTokenId: Too long: may not be more than 78 bytes',
  },
  {
    name: 'bad-market-id',
    edits: { 'spec.markets.0.id': 'PHI_LAL' },
    message: `spec.markets[0].id: Invalid value: "PHI_LAL": spec.markets[0].id in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'`,
  },
  {
    name: 'market-id-too-long',
    edits: { 'spec.markets.0.id': 'a'.repeat(64) },
    message: 'spec.markets[0].id: Too long: may not be more than 63 bytes',
  },
  {
    name: 'bad-secret-name',
    edits: { 'spec.venues.polymarket.vpn.secretRef.name': 'VPN_secret' },
    message:
      `spec.venues.polymarket.vpn.secretRef.name: Invalid value: "VPN_secret": ` +
      `spec.venues.polymarket.vpn.secretRef.name in body should match`,
  },
  {
    name: 'bad-starts-at',
    edits: { 'spec.markets.0.startsAt': 'tomorrow 8pm' },
    message: 'spec.markets[0].startsAt: Invalid value: "tomorrow 8pm": spec.markets[0].startsAt in body must be of type date-time',
  },
  {
    name: 'bad-image',
    edits: { 'spec.image': 'Arbees Latest' },
    message: 'spec.image: Invalid value: "Arbees Latest": spec.image in body should match',
  },
  {
    name: 'bad-quantity',
    edits: { 'spec.overrides.executor.resources.limits.memory': 'lots' },
    message: 'spec.overrides.executor.resources.limits.memory: Invalid value: "lots"',
  },
  // Ranges and sizes
  {
    name: 'negative-bankroll',
    edits: { 'spec.executor.bankrollUsd': -5 },
    message: 'spec.executor.bankrollUsd: Invalid value: -5: spec.executor.bankrollUsd in body should be greater than or equal to 1',
  },
  {
    name: 'zero-open-positions',
    edits: { 'spec.executor.limits.maxOpenPositions': 0 },
    message:
      'spec.executor.limits.maxOpenPositions: Invalid value: 0: spec.executor.limits.maxOpenPositions in body should be ' +
      'greater than or equal to 1',
  },
  {
    name: 'too-many-open-positions',
    edits: { 'spec.executor.limits.maxOpenPositions': 1001 },
    message:
      'spec.executor.limits.maxOpenPositions: Invalid value: 1001: spec.executor.limits.maxOpenPositions in body should ' +
      'be less than or equal to 1000',
  },
  {
    name: 'fractional-dollars',
    edits: { 'spec.executor.bankrollUsd': 1000.5 },
    message: 'spec.executor.bankrollUsd: Invalid value: "number": spec.executor.bankrollUsd in body must be of type integer: "number"',
  },
  {
    name: 'edge-too-large',
    edits: { 'spec.detector.minEdgeBps': 5001 },
    message: 'spec.detector.minEdgeBps: Invalid value: 5001: spec.detector.minEdgeBps in body should be less than or equal to 5000',
  },
  {
    name: 'quote-age-too-small',
    edits: { 'spec.detector.maxQuoteAgeMs': 50 },
    message: 'spec.detector.maxQuoteAgeMs: Invalid value: 50: spec.detector.maxQuoteAgeMs in body should be greater than or equal to 100',
  },
  {
    name: 'lookahead-too-long',
    edits: { 'spec.discovery': { sports: ['nba'], lookaheadHours: 169 } },
    message: 'spec.discovery.lookaheadHours: Invalid value: 169: spec.discovery.lookaheadHours in body should be less than or equal to 168',
  },
  {
    name: 'no-server-countries',
    edits: { 'spec.venues.polymarket.vpn.serverCountries': [] },
    message:
      'spec.venues.polymarket.vpn.serverCountries: Invalid value: 0: spec.venues.polymarket.vpn.serverCountries in body ' +
      'should have at least 1 items',
  },
  {
    name: 'duplicate-server-country',
    edits: { 'spec.venues.polymarket.vpn.serverCountries': ['Netherlands', 'Netherlands'] },
    message: '.spec.venues.polymarket.vpn.serverCountries: duplicate entries for key [="Netherlands"]',
  },
  {
    name: 'duplicate-rule-name',
    edits: {
      'spec.circuitBreaker.rules': [
        { name: 'loss', query: 'max(arbees_daily_loss_usd)', op: '>', threshold: 100 },
        { name: 'loss', query: 'min(arbees_vpn_up)', op: '<', threshold: 1 },
      ],
    },
    message: '.spec.circuitBreaker.rules: duplicate entries for key [name="loss"]',
  },
  {
    name: 'threshold-as-string',
    edits: { 'spec.circuitBreaker.rules': [{ name: 'loss', query: 'max(arbees_daily_loss_usd)', op: '>', threshold: '100' }] },
    message: '.spec.circuitBreaker.rules[name="loss"].threshold: expected numeric (int or float), got string',
  },
  // Required fields and unknown fields
  { name: 'missing-executor', edits: { 'spec.executor': undefined }, message: 'spec.executor: Required value' },
  {
    name: 'missing-vpn-secret',
    edits: { 'spec.venues.polymarket.vpn.secretRef': undefined },
    message: 'spec.venues.polymarket.vpn.secretRef: Required value',
  },
  {
    name: 'missing-vpn-provider',
    edits: { 'spec.venues.polymarket.vpn.provider': undefined },
    message: 'spec.venues.polymarket.vpn.provider: Required value',
  },
  { name: 'unknown-field', edits: { 'spec.detector.minEdgeBsp': 40 }, message: '.spec.detector.minEdgeBsp: field not declared in schema' },
  // The shard's name prefixes its objects' names
  {
    name: 'name-too-long',
    edits: { 'metadata.name': 'x'.repeat(41) },
    message: 'metadata.name: Invalid value: "object": must be a DNS label of at most 40 characters starting with a letter',
  },
  {
    name: 'name-starts-with-a-digit',
    edits: { 'metadata.name': '1st-shard' },
    message: 'metadata.name: Invalid value: "object": must be a DNS label of at most 40 characters starting with a letter',
  },
];

/** Valid edge cases the rules must not refuse. */
const acceptances: Array<{ name: string; edits: Edits }> = [
  { name: 'live-with-credentials', edits: { 'spec.executor.mode': 'live', 'spec.venues.kalshi.environment': 'production', ...creds } },
  // Paper trading needs no trading key, on either environment.
  { name: 'paper-on-production', edits: { 'spec.venues.kalshi.environment': 'production' } },
  { name: 'markets-and-discovery', edits: { 'spec.discovery': { sports: ['nba', 'nhl'] } } },
  {
    name: 'limits-at-their-bounds',
    edits: { 'spec.executor.limits': { perGameUsd: 500, perSportUsd: 1000, dailyLossUsd: 1000, maxOpenPositions: 1000, maxOrderUsd: 500 } },
  },
  {
    name: 'both-sides-of-one-game',
    edits: {
      'spec.markets.1': {
        ...market(
          'phi-lal-phi',
          'KXNBAGAME-26NOV24PHILAL-PHI',
          '7986446066949328740150246468436244962376109202406568035198798251449062227587',
          '5263318338913666633637843049152560634592965453430004569427007775323912434144',
        ),
        game: 'phi-lal',
      },
      'spec.markets.0.game': 'phi-lal',
    },
  },
  { name: 'two-hundred-markets', edits: { 'spec.markets': manyMarkets(200) } },
  {
    name: 'overrides',
    edits: {
      'spec.image': 'canary',
      'spec.overrides': {
        vpn: { image: 'gluetun-3-40', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } } },
      },
    },
  },
];

describe('TradingShard CRD (real apiserver)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'arbees-crd-'));

  before(async function () {
    this.timeout(900_000); // a first run on a fresh machine builds the control plane
    await installCrd();
    await createNamespace(namespace);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const writeShard = (object: unknown): string => {
    const file = join(dir, `${(object as { metadata: { name: string } }).metadata.name}.json`);
    writeFileSync(file, JSON.stringify(object));
    return file;
  };

  it('applies the paper sample as written (Secrets too) and keeps what it sets', async () => {
    const out = await kubectl(...applyArgs(sample('paper-shard.yaml')));
    expect(out).to.include('secret/nba-paper-vpn serverside-applied').and.include('tradingshard.arbees.io/nba-paper serverside-applied');
    const shard = await getShard('nba-paper');
    expect(shard.spec.markets).to.have.length(3);
    expect(shard.spec.detector).to.deep.equal({ minEdgeBps: 60, maxQuoteAgeMs: 1500, cooldownMs: 5000 });
    expect(shard.spec.circuitBreaker.rules.map((r) => `${r.name}:${r.op}:${r.threshold}:${r.for}`)).to.deep.equal([
      'daily-loss:>=:300:0s',
      'stale-quotes:>:5:5s',
      'vpn-down:<:0.5:1m',
      'order-rejections:>:0.05:2m',
      'ws-reconnect-storm:>:5:1m',
    ]);
    expect(shard.spec.markets![0]!.polymarket.yesTokenId).to.equal(
      '5263318338913666633637843049152560634592965453430004569427007775323912434144',
    );
  });

  it('applies the live sample with both credential Secrets', async () => {
    const out = await kubectl(...applyArgs(sample('live-shard.yaml')));
    expect(out).to.include('secret/nfl-live-kalshi serverside-applied').and.include('secret/nfl-live-polymarket serverside-applied');
    const shard = await getShard('nfl-live');
    expect(shard.spec.executor.mode).to.equal('live');
    expect(shard.spec.venues.kalshi).to.deep.equal({
      environment: 'production',
      credentialsSecretRef: { name: 'nfl-live-kalshi' },
      marketDataSecretRef: { name: 'nfl-live-kalshi-market-data' },
    });
    expect(shard.spec.detector).to.deep.equal({ minEdgeBps: 100, maxQuoteAgeMs: 2000, cooldownMs: 5000 });
    expect(shard.spec.venues.polymarket.vpn.type).to.equal('wireguard');
  });

  it('applies the discovery sample and fills every default it leaves out', async () => {
    await kubectl(...applyArgs(sample('discovery-shard.yaml')));
    const shard = await getShard('nhl-nfl-discovery');
    expect(shard.spec.markets).to.equal(undefined);
    expect(shard.spec.discovery).to.deep.equal({ sports: ['nhl', 'nfl'], lookaheadHours: 36 });
    expect(shard.spec.paused).to.equal(false);
    expect(shard.spec.detector).to.deep.equal({ minEdgeBps: 50, maxQuoteAgeMs: 2000, cooldownMs: 5000 });
    expect(shard.spec.executor.mode).to.equal('paper');
    expect(shard.spec.venues.kalshi).to.deep.equal({
      environment: 'demo',
      marketDataSecretRef: { name: 'nhl-nfl-discovery-kalshi-market-data' },
    });
    expect(shard.spec.circuitBreaker).to.deep.include({ cooldown: '5m', halfOpenAfter: '2m', onPrometheusUnavailable: 'open' });
    expect(shard.spec.circuitBreaker.rules[0]!.for).to.equal('0s');
  });

  it('defaults whole blocks the user leaves out of a minimal shard', async () => {
    await kubectl(...applyArgs(writeShard(edited('minimal', { 'spec.discovery': { sports: ['mlb'] } }))));
    const { spec } = await getShard('minimal');
    expect(spec.paused).to.equal(false);
    expect(spec.detector).to.deep.equal({ minEdgeBps: 50, maxQuoteAgeMs: 2000, cooldownMs: 5000 });
    expect(spec.executor.mode).to.equal('paper');
    expect(spec.venues.kalshi).to.deep.equal({ environment: 'demo', marketDataSecretRef: { name: 'kalshi-market-data' } });
    expect(spec.venues.polymarket.vpn.type).to.equal('wireguard');
    expect(spec.circuitBreaker).to.deep.equal({ rules: [], cooldown: '5m', halfOpenAfter: '2m', onPrometheusUnavailable: 'open' });
    expect(spec.discovery).to.deep.equal({ sports: ['mlb'], lookaheadHours: 24 });
  });

  it('prints phase, breaker, markets, mode, paused and age in kubectl get ts, and takes the status the operator writes', async () => {
    await kubectl(...applyArgs(sample('paper-shard.yaml'))); // no-ops after the tests above; lets this one run alone
    await kubectl(...applyArgs(sample('live-shard.yaml')));
    const status = {
      observedGeneration: 1,
      phase: 'Running',
      marketCount: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'AllReady',
          message: '4 of 4 components ready',
          lastTransitionTime: '2026-11-24T20:00:00Z',
          observedGeneration: 1,
        },
      ],
      circuitBreaker: { state: 'Closed', reason: 'no rule has tripped', since: '2026-11-24T20:00:00Z', trips: 0 },
      components: {
        'kalshi-monitor': { replicas: 1, readyReplicas: 1 },
        'polymarket-monitor': { replicas: 1, readyReplicas: 1 },
        detector: { replicas: 1, readyReplicas: 1 },
        executor: { replicas: 1, readyReplicas: 1 },
      },
    };
    await kubectl('patch', 'ts', 'nba-paper', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    expect((await getShard('nba-paper')).status).to.deep.equal(status);
    const [header = '', ...lines] = (await kubectl('get', 'ts', '-n', namespace)).trimEnd().split('\n');
    expect(header.trim().split(/\s+/)).to.deep.equal(['NAME', 'PHASE', 'BREAKER', 'MARKETS', 'MODE', 'PAUSED', 'AGE']);
    // Cells by the header's column offsets: a shard without status has empty cells.
    const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
    const rows = lines.map((line) => starts.map((start, i) => line.slice(start, starts[i + 1]).trim()));
    expect(rows.find((r) => r[0] === 'nba-paper')?.slice(0, 6)).to.deep.equal(['nba-paper', 'Running', 'Closed', '3', 'paper', 'false']);
    expect(rows.find((r) => r[0] === 'nfl-live')?.slice(0, 6)).to.deep.equal(['nfl-live', '', '', '', 'live', 'false']);
    // The category and the full names reach the same objects.
    expect(await kubectl('get', 'arbees', '-n', namespace, '-o', 'name')).to.include('tradingshard.arbees.io/nba-paper');
    expect(await kubectl('get', 'tradingshards.arbees.io', 'nba-paper', '-n', namespace, '-o', 'name')).to.equal(
      'tradingshard.arbees.io/nba-paper\n',
    );
    // The status schema refuses what the operator must not write.
    const bad = await kubectlFails(
      'patch',
      'ts',
      'nba-paper',
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Exploded' } }),
    );
    expect(bad).to.include('status.phase: Unsupported value: "Exploded": supported values: "Pending", "Running", "Degraded", "Halted"');
  });

  it('accepts valid edge cases: live with credentials, markets plus discovery, limits at their bounds, 200 markets', async () => {
    for (const { name, edits } of acceptances) {
      const out = await kubectl(...applyArgs(writeShard(edited(name, edits))));
      expect(out, name).to.include(`tradingshard.arbees.io/${name} serverside-applied`);
    }
  });

  it('refuses the same input through kubectl create (client-side, strict field validation)', async () => {
    const unknown = await kubectlFails(
      'create',
      '--validate=strict',
      '-n',
      namespace,
      '-f',
      writeShard(edited('create-unknown', { 'spec.detector.minEdgeBsp': 40 })),
    );
    expect(unknown, unknown).to.include('strict decoding error: unknown field "spec.detector.minEdgeBsp"');
    const limits = await kubectlFails(
      'create',
      '-n',
      namespace,
      '-f',
      writeShard(edited('create-limits', { 'spec.executor.limits.perGameUsd': 501 })),
    );
    expect(limits, limits).to.include(
      'The TradingShard "create-limits" is invalid: spec.executor.limits: Invalid value: "object": perGameUsd must not exceed perSportUsd',
    );
    const duplicate = await kubectlFails(
      'create',
      '-n',
      namespace,
      '-f',
      writeShard(edited('create-duplicate', { 'spec.markets.1.id': 'phi-lal-lal' })),
    );
    expect(duplicate, duplicate).to.include('spec.markets[1]: Duplicate value: map[string]interface {}{"id":"phi-lal-lal"}');
  });

  describe(`refuses bad input at kubectl apply (${refusals.length} cases)`, () => {
    for (const { name, edits, message } of refusals) {
      it(`${name}: ${message.replace(/^[^:]+: /, '').slice(0, 90)}`, async () => {
        const stderr = await kubectlFails(...applyArgs(writeShard(edited(name, edits))));
        expect(stderr, stderr).to.include(message);
      });
    }
  });
});
