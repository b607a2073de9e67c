// The cluster owner's rules before any pod is built: images only by allowed names, Secrets only
// with the Arbees label, live trading only in authorized namespaces. A refused component gets no
// Deployment, and the status says why.
import { expect } from 'chai';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { buildShardObjects } from '../../operator/builders/index.js';
import { defaultShardNetwork, publicVenueEndpoints, type OperatorSettings } from '../../operator/builders/settings.js';
import { credentialsLabel, preflight, secretsInUse } from '../../operator/preflight.js';
import { computeStatus } from '../../operator/status.js';

const settings: OperatorSettings = {
  workloadImage: 'registry.example/arbees:1.0.0',
  vpnImage: 'registry.example/gluetun:v3.40.0',
  allowedImages: { canary: 'registry.example/arbees:1.1.0' },
  allowedVpnImages: {},
  liveTradingNamespaces: ['trading-live'],
  connectionsSecret: 'arbees-connections',
  redisAclUsers: false,
  redisPort: 6379,
  postgresPort: 5432,
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  metricsPort: 9464,
  venues: publicVenueEndpoints,
  network: defaultShardNetwork,
};

function shard(namespace = 'trading', edit: (s: TradingShard) => void = () => {}): TradingShard {
  const value: TradingShard = {
    apiVersion: 'arbees.io/v1alpha1',
    kind: 'TradingShard',
    metadata: { name: 'nba', namespace, uid: 'uid-1', generation: 3 },
    spec: {
      paused: false,
      markets: [{ id: 'm', sport: 'nba', kalshi: { ticker: 'KX-M' }, polymarket: { yesTokenId: '1', noTokenId: '2' } }],
      venues: {
        kalshi: { environment: 'demo', marketDataSecretRef: { name: 'md' }, credentialsSecretRef: { name: 'trade' } },
        polymarket: {
          credentialsSecretRef: { name: 'poly' },
          vpn: { provider: 'custom', type: 'wireguard', serverCountries: ['Netherlands'], secretRef: { name: 'vpn' } },
        },
      },
      detector: { minEdgeBps: 50, maxQuoteAgeMs: 2000, cooldownMs: 5000 },
      executor: {
        mode: 'paper',
        bankrollUsd: 1000,
        limits: { perGameUsd: 100, perSportUsd: 200, dailyLossUsd: 100, maxOpenPositions: 5, maxOrderUsd: 50 },
      },
      circuitBreaker: { rules: [], cooldown: '5m', halfOpenAfter: '2m', onPrometheusUnavailable: 'open' },
    },
  };
  edit(value);
  return value;
}

const labelled = { [credentialsLabel]: 'true' };
const allLabelled = (s: TradingShard) => new Map(secretsInUse(s).map((u) => [u.name, labelled]));
const deployments = (s: TradingShard, verdict = preflight(s, settings, allLabelled(s))) =>
  (buildShardObjects(s, settings, verdict) as Array<{ kind: string; metadata: { name: string } }>)
    .filter((o) => o.kind === 'Deployment')
    .map((o) => o.metadata.name);

describe('operator preflight: what the cluster owner allows a shard', () => {
  it('admits a paper shard whose Secrets are labelled, and mounts no trading key anywhere', () => {
    const paper = shard();
    expect(secretsInUse(paper).map((u) => u.name)).to.deep.equal(['md', 'vpn']);
    const verdict = preflight(paper, settings, allLabelled(paper));
    expect(verdict.refusals).to.deep.equal([]);
    expect(deployments(paper)).to.have.length(4);
  });

  it('refuses an image name the owner did not allow, for the components that name it only', () => {
    const named = shard('trading', (s) => (s.spec.overrides = { detector: { image: 'my-own-build' }, vpn: { image: 'canary' } }));
    const verdict = preflight(named, settings, allLabelled(named));
    expect(verdict.refusals.map((r) => [r.reason, r.components])).to.deep.equal([
      ['ImageNotAllowed', ['detector']],
      ['ImageNotAllowed', ['polymarket-monitor']], // workload image names are not VPN image names
    ]);
    expect(deployments(named, verdict)).to.deep.equal(['nba-kalshi-monitor', 'nba-executor']);
    const canary = shard('trading', (s) => (s.spec.image = 'canary'));
    expect(preflight(canary, settings, allLabelled(canary)).images.executor).to.equal('registry.example/arbees:1.1.0');
  });

  it('uses a Secret only when it carries the Arbees label, and says which and why', () => {
    const paper = shard();
    const labels = new Map<string, Record<string, string> | undefined>([
      ['md', { 'app.kubernetes.io/part-of': 'arbees' }],
      ['vpn', undefined],
    ]);
    const verdict = preflight(paper, settings, labels);
    expect(verdict.refusals.map((r) => [r.reason, r.components])).to.deep.equal([
      ['SecretNotLabelled', ['kalshi-monitor']],
      ['SecretMissing', ['polymarket-monitor']],
    ]);
    expect(verdict.refusals[0]!.message).to.contain('"md"').and.contain(`${credentialsLabel}=true`);
    expect(deployments(paper, verdict)).to.deep.equal(['nba-detector', 'nba-executor']);
    const status = computeStatus(
      { ...paper, metadata: { ...paper.metadata } },
      { deployments: [], refusals: verdict.refusals, now: new Date(0) },
    );
    expect(status.phase).to.equal('Degraded');
    expect(status.conditions?.find((c) => c.type === 'Degraded')).to.include({
      status: 'True',
      reason: 'SecretNotLabelled',
      observedGeneration: 3,
    });
  });

  it('starts a live executor only in a namespace the owner authorized, and tells the shard why not elsewhere', () => {
    const live = (namespace: string) => shard(namespace, (s) => (s.spec.executor.mode = 'live'));
    const authorized = preflight(live('trading-live'), settings, allLabelled(live('trading-live')));
    expect(authorized.liveAuthorized).to.equal(true);
    expect(deployments(live('trading-live'))).to.include('nba-executor');
    // Trading keys are checked only for live shards, and only then reach the executor.
    expect(secretsInUse(live('trading-live')).map((u) => u.name)).to.deep.equal(['md', 'vpn', 'trade', 'poly']);

    const elsewhere = live('trading');
    const verdict = preflight(elsewhere, settings, allLabelled(elsewhere));
    expect(verdict.liveAuthorized).to.equal(false);
    expect(verdict.refusals.map((r) => r.reason)).to.deep.equal(['LiveTradingNotAuthorized']);
    expect(deployments(elsewhere, verdict)).not.to.include('nba-executor');
    const status = computeStatus(elsewhere, { deployments: [], refusals: verdict.refusals, now: new Date(0) });
    expect(status.conditions?.find((c) => c.type === 'LiveTradingAuthorized')).to.include({
      status: 'False',
      reason: 'NamespaceNotAuthorized',
    });
    expect(status.phase).to.equal('Degraded');
  });

  it('reports a breaker rule it cannot evaluate (the shard Degraded, the breaker failing safe), and runs the pods', () => {
    const bad = shard('trading', (s) =>
      s.spec.circuitBreaker.rules.push({ name: 'typo', query: 'rate(up[5m]', op: '>', threshold: 1, for: '0s' }),
    );
    const verdict = preflight(bad, settings, allLabelled(bad));
    expect(verdict.refusals.map((r) => [r.reason, r.components])).to.deep.equal([['InvalidRule', []]]);
    expect(verdict.refusals[0]!.message).to.match(/^spec\.circuitBreaker\.rules\[0\] \(typo\): query not valid PromQL/);
    expect(deployments(bad, verdict)).to.have.length(4);
    expect(computeStatus(bad, { deployments: [], refusals: verdict.refusals, now: new Date(0) }).phase).to.equal('Degraded');
  });
});
