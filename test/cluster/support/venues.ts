// Both venue simulators as pods of the Arbees image (`arbees sim kalshi|polymarket`), on a
// scenario made for the cluster suite, and the keys a shard trades them with: the Kalshi monitor's
// market-data key, the executor's Kalshi trading key, Polymarket L2 credentials and a wallet.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { privateKeyToAccount } from 'viem/accounts';
import type { ScenarioInput } from '../../../workloads/sim/scenario.js';

export const venuesNamespace = 'arbees-venues';
export const kalshiPort = 8701;
export const polymarketPort = 8702;

export interface VenueKeys {
  marketData: { keyId: string; privateKey: string; publicKey: string };
  trading: { keyId: string; privateKey: string; publicKey: string };
  polymarket: { apiKey: string; apiSecret: string; apiPassphrase: string; privateKey: string; address: string };
}

function rsaKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyId: randomUUID(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function venueKeys(): VenueKeys {
  const wallet = `0x${randomBytes(32).toString('hex')}` as const;
  return {
    marketData: rsaKey(),
    trading: rsaKey(),
    polymarket: {
      apiKey: randomUUID(),
      apiSecret: randomBytes(32).toString('base64url'),
      apiPassphrase: randomBytes(16).toString('hex'),
      privateKey: wallet,
      address: privateKeyToAccount(wallet).address,
    },
  };
}

/** Two games, one market each, and a cross-venue arbitrage window every 30 s, for an hour. */
export function clusterScenario(): ScenarioInput {
  const windows = Array.from({ length: 120 }, (_, i) => ({
    id: `window-${i}`,
    market: i % 2 === 0 ? 'nba-phi-lal-lal' : 'nhl-tor-mtl-tor',
    at: `${20 + i * 30}s`,
    duration: '8s',
    venue: i % 4 < 2 ? ('kalshi' as const) : ('polymarket' as const),
    direction: 'cheap' as const,
    bps: 500,
  }));
  return {
    name: 'cluster-suite',
    seed: 20261206,
    duration: '70m',
    messageRate: 20,
    games: [
      {
        id: 'nba-phi-lal',
        sport: 'nba',
        away: 'PHI',
        home: 'LAL',
        kalshi: { eventTicker: 'KXNBAGAME-26DEC06PHILAL', seriesTicker: 'KXNBAGAME' },
        markets: [
          {
            id: 'nba-phi-lal-lal',
            team: 'LAL',
            initialPrice: 0.58,
            kalshi: { ticker: 'KXNBAGAME-26DEC06PHILAL-LAL' },
            polymarket: {
              yesTokenId: '71321045679252212594626385532706912750332728571942532289631379312455583992563',
              noTokenId: '52114319501245915516055106046884209969926127482827954674443846427813813222426',
            },
          },
        ],
      },
      {
        id: 'nhl-tor-mtl',
        sport: 'nhl',
        away: 'TOR',
        home: 'MTL',
        kalshi: { eventTicker: 'KXNHLGAME-26DEC06TORMTL', seriesTicker: 'KXNHLGAME' },
        markets: [
          {
            id: 'nhl-tor-mtl-tor',
            team: 'TOR',
            initialPrice: 0.47,
            kalshi: { ticker: 'KXNHLGAME-26DEC06TORMTL-TOR' },
            polymarket: {
              yesTokenId: '44871209365518902247761093528814760021956637411095308872014469915823071665530',
              noTokenId: '66230918475529310984420755183391247700562813904768829913057722103845516279081',
            },
          },
        ],
      },
    ],
    arbitrage: windows,
  };
}

/** The markets of the scenario in a TradingShard's spec.markets form. */
export function shardMarkets(scenario: ScenarioInput) {
  return scenario.games.flatMap((game) =>
    game.markets.map((m) => ({
      id: m.id,
      sport: game.sport,
      game: game.id,
      kalshi: { ticker: m.kalshi.ticker },
      polymarket: m.polymarket,
    })),
  );
}

const restricted = {
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
};

function simDeployment(
  name: string,
  image: string,
  args: string[],
  port: number,
  volumes: Array<{ name: string; source: object; path: string }>,
) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: venuesNamespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'sim',
              image,
              imagePullPolicy: 'Never',
              args: [...args, '--host', '0.0.0.0', '--port', String(port)],
              ports: [{ name: 'api', containerPort: port }],
              readinessProbe: { tcpSocket: { port } },
              resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
              ...restricted,
              volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: v.path, readOnly: true })),
            },
          ],
          volumes: volumes.map((v) => ({ name: v.name, ...v.source })),
        },
      },
    },
  };
}

/**
 * Namespace, keys and scenario ConfigMaps, both simulators and their Services. `polymarketAllow`:
 * the only sources the Polymarket simulator serves (the VPN exit), every other gets its geoblock.
 */
export function venueObjects(image: string, keys: VenueKeys, scenario: ScenarioInput, polymarketAllow: string[] = []): object[] {
  const config = (name: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: venuesNamespace },
    data,
  });
  const service = (name: string, port: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: venuesNamespace },
    spec: { selector: { app: name }, ports: [{ name: 'api', port, targetPort: port }] },
  });
  const scenarioVolume = { name: 'scenario', source: { configMap: { name: 'scenario' } }, path: '/scenario' };
  const p = keys.polymarket;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: venuesNamespace } },
    config('scenario', { 'scenario.yaml': stringify(scenario) }),
    config('kalshi-keys', { 'market-data.pem': keys.marketData.publicKey, 'trading.pem': keys.trading.publicKey }),
    config('polymarket-creds', {
      'creds.json': JSON.stringify([{ apiKey: p.apiKey, secret: p.apiSecret, passphrase: p.apiPassphrase, address: p.address }]),
    }),
    simDeployment(
      'kalshi-sim',
      image,
      [
        ...['sim', 'kalshi', '--scenario', '/scenario/scenario.yaml'],
        ...['--key-id', keys.marketData.keyId, '--public-key', '/keys/market-data.pem'],
        ...['--key-id', keys.trading.keyId, '--public-key', '/keys/trading.pem'],
      ],
      kalshiPort,
      [scenarioVolume, { name: 'keys', source: { configMap: { name: 'kalshi-keys' } }, path: '/keys' }],
    ),
    simDeployment(
      'polymarket-sim',
      image,
      [
        'sim',
        'polymarket',
        '--scenario',
        '/scenario/scenario.yaml',
        '--creds',
        '/creds/creds.json',
        ...polymarketAllow.flatMap((cidr) => ['--allow-cidr', cidr]),
      ],
      polymarketPort,
      [scenarioVolume, { name: 'creds', source: { configMap: { name: 'polymarket-creds' } }, path: '/creds' }],
    ),
    service('kalshi-sim', kalshiPort),
    service('polymarket-sim', polymarketPort),
  ];
}

/** The chart's operator.venueEndpoints for the simulators (both Kalshi environments point at the one). */
export function simulatorEndpoints() {
  const kalshi = `kalshi-sim.${venuesNamespace}.svc.cluster.local:${kalshiPort}`;
  const polymarket = `polymarket-sim.${venuesNamespace}.svc.cluster.local:${polymarketPort}`;
  const kalshiEnv = { restUrl: `http://${kalshi}/trade-api/v2`, wsUrl: `ws://${kalshi}/trade-api/ws/v2` };
  return {
    kalshi: { demo: kalshiEnv, production: kalshiEnv },
    polymarket: { clobUrl: `http://${polymarket}`, wsUrl: `ws://${polymarket}/ws/market`, gammaUrl: `http://${polymarket}/gamma` },
  };
}
