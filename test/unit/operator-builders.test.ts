// The pure builders: what a TradingShard becomes in Kubernetes, and the security and routing
// promises those objects keep.
import { expect } from 'chai';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { buildShardObjects } from '../../operator/builders/index.js';
import { admittedVerdict, expectedObjects } from '../support/shard-objects.js';
import { configHashAnnotation } from '../../operator/builders/meta.js';
import { defaultShardNetwork, publicVenueEndpoints, type OperatorSettings } from '../../operator/builders/settings.js';
import { shardConfigSchema } from '../../contracts/shard-config.js';

const settings: OperatorSettings = {
  workloadImage: 'ghcr.io/arbees/arbees:1.0.0',
  vpnImage: 'qmcgaw/gluetun:v3.40.0',
  connectionsSecret: 'arbees-connections',
  redisAclUsers: false,
  redisPort: 6379,
  postgresPort: 5432,
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  metricsPort: 9464,
  venues: publicVenueEndpoints,
  network: defaultShardNetwork,
  allowedImages: {},
  allowedVpnImages: {},
  liveTradingNamespaces: [],
};

function shard(overrides: (s: TradingShard) => void = () => {}): TradingShard {
  const value: TradingShard = {
    apiVersion: 'arbees.io/v1alpha1',
    kind: 'TradingShard',
    metadata: { name: 'nba-east', namespace: 'trading', uid: '6f1c2a9e-0000-4000-8000-000000000001', generation: 1 },
    spec: {
      paused: false,
      markets: [
        {
          id: 'nba-phi-lal-lal',
          sport: 'nba',
          kalshi: { ticker: 'KXNBAGAME-26NOV24PHILAL-LAL' },
          polymarket: { yesTokenId: '7132104567925221259462638553270691275', noTokenId: '5211431950124591551605510604688420996' },
        },
      ],
      venues: {
        kalshi: {
          environment: 'demo',
          credentialsSecretRef: { name: 'kalshi-creds' },
          marketDataSecretRef: { name: 'kalshi-market-data' },
        },
        polymarket: { vpn: { provider: 'mullvad', type: 'wireguard', serverCountries: ['Netherlands'], secretRef: { name: 'vpn' } } },
      },
      detector: { minEdgeBps: 50, maxQuoteAgeMs: 2000, cooldownMs: 5000 },
      executor: {
        mode: 'paper',
        bankrollUsd: 10000,
        limits: { perGameUsd: 500, perSportUsd: 2000, dailyLossUsd: 300, maxOpenPositions: 20, maxOrderUsd: 100 },
      },
      circuitBreaker: { rules: [], cooldown: '5m', halfOpenAfter: '2m', onPrometheusUnavailable: 'open' },
    },
  };
  overrides(value);
  return value;
}

/* eslint-disable
  @typescript-eslint/no-explicit-any,
  @typescript-eslint/no-unsafe-member-access,
  @typescript-eslint/no-unsafe-call,
  @typescript-eslint/no-unsafe-return,
  @typescript-eslint/no-unsafe-argument,
  @typescript-eslint/no-unsafe-assignment -- Kubernetes objects are walked as plain JSON here
*/
type Obj = any;
const build = (s: TradingShard): Obj[] => expectedObjects(s, settings) as Obj[];
const byName = (objects: Obj[], kind: string, name: string): Obj => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
const podSpec = (objects: Obj[], component: string): Obj => byName(objects, 'Deployment', `nba-east-${component}`).spec.template.spec;
const allContainers = (spec: Obj): Obj[] => [...(spec.initContainers ?? []), ...spec.containers];

describe('operator builders', () => {
  it('builds the config, four Deployments, their Services and NetworkPolicies, and a PDB', () => {
    const objects = build(shard());
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).to.deep.equal(
      [
        'ConfigMap/nba-east-config',
        ...['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'].flatMap((c) => [
          `Deployment/nba-east-${c}`,
          `Service/nba-east-${c}`,
          `NetworkPolicy/nba-east-${c}`,
        ]),
        'Service/nba-east-polymarket-proxy',
        'PodDisruptionBudget/nba-east',
      ].sort(),
    );
    for (const object of objects) {
      expect(object.metadata.namespace).to.equal('trading');
      expect(object.metadata.ownerReferences).to.deep.equal([
        {
          apiVersion: 'arbees.io/v1alpha1',
          kind: 'TradingShard',
          name: 'nba-east',
          uid: '6f1c2a9e-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(object.metadata.labels).to.include({
        'app.kubernetes.io/managed-by': 'arbees-operator',
        'app.kubernetes.io/part-of': 'arbees',
        'arbees.io/shard': 'nba-east',
      });
    }
  });

  it('is deterministic, and refuses a shard that has no uid yet', () => {
    expect(build(shard())).to.deep.equal(build(shard()));
    expect(() => build(shard((s) => delete s.metadata.uid))).to.throw(/no uid/);
  });

  it('never runs two executors at once, and runs each component once', () => {
    const objects = build(shard());
    const executor = byName(objects, 'Deployment', 'nba-east-executor');
    expect(executor.spec).to.include({ replicas: 1 });
    expect(executor.spec.strategy).to.deep.equal({ type: 'Recreate' });
    for (const component of ['kalshi-monitor', 'polymarket-monitor', 'detector']) {
      expect(byName(objects, 'Deployment', `nba-east-${component}`).spec.replicas).to.equal(1);
    }
  });

  it('runs every Arbees container non-root, read-only, with no capabilities; only the VPN gets NET_ADMIN', () => {
    const objects = build(shard((s) => (s.spec.executor.mode = 'live')));
    const withNetAdmin: string[] = [];
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = deployment.spec.template.spec;
      expect(spec.securityContext).to.deep.include({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.automountServiceAccountToken).to.equal(false);
      for (const container of allContainers(spec)) {
        if (container.securityContext.capabilities.add?.includes('NET_ADMIN'))
          withNetAdmin.push(`${deployment.metadata.name}/${container.name}`);
        if (container.name === 'vpn') {
          expect(container.securityContext.capabilities).to.deep.equal({ drop: ['ALL'], add: ['NET_ADMIN'] });
          continue;
        }
        expect(container.securityContext, container.name).to.deep.equal({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
    expect(withNetAdmin).to.deep.equal(['nba-east-polymarket-monitor/vpn']);
  });

  it('puts gluetun in the Polymarket pod as a native sidecar that gates the monitor and lets cluster traffic through', () => {
    const spec = podSpec(build(shard()), 'polymarket-monitor');
    expect(spec.initContainers).to.have.length(1);
    const vpn = spec.initContainers[0];
    expect(vpn).to.include({ name: 'vpn', image: 'qmcgaw/gluetun:v3.40.0', restartPolicy: 'Always' });
    expect(vpn.startupProbe.exec.command).to.deep.equal(['/gluetun-entrypoint', 'healthcheck']);
    const env = Object.fromEntries(vpn.env.map((e: Obj) => [e.name, e.value]));
    expect(env).to.include({
      VPN_SERVICE_PROVIDER: 'mullvad',
      VPN_TYPE: 'wireguard',
      SERVER_COUNTRIES: 'Netherlands',
      FIREWALL_OUTBOUND_SUBNETS: '10.244.0.0/16,10.96.0.0/12',
      FIREWALL_INPUT_PORTS: '8888,9464',
    });
    // Only the VPN type's keys, each by name: never the whole Secret.
    expect(vpn.envFrom).to.equal(undefined);
    const fromSecret = vpn.env.filter((e: Obj) => e.valueFrom).map((e: Obj) => e.valueFrom.secretKeyRef);
    expect(fromSecret.map((r: Obj) => r.name)).to.satisfy((names: string[]) => names.every((n) => n === 'vpn'));
    expect(fromSecret.filter((r: Obj) => !r.optional).map((r: Obj) => r.key)).to.deep.equal(['WIREGUARD_PRIVATE_KEY']);
    const openvpn = podSpec(build(shard((s) => (s.spec.venues.polymarket.vpn.type = 'openvpn'))), 'polymarket-monitor').initContainers[0];
    expect(openvpn.env.filter((e: Obj) => e.valueFrom).map((e: Obj) => e.valueFrom.secretKeyRef.key)).to.deep.equal([
      'OPENVPN_USER',
      'OPENVPN_PASSWORD',
    ]);
    expect(vpn.volumeMounts).to.deep.include({ name: 'dev-net-tun', mountPath: '/dev/net/tun' });
    expect(spec.volumes).to.deep.include({ name: 'dev-net-tun', hostPath: { path: '/dev/net/tun', type: 'CharDevice' } });
    for (const component of ['kalshi-monitor', 'detector', 'executor'])
      expect(podSpec(build(shard()), component).initContainers).to.equal(undefined);
  });

  it('lets the Polymarket pod send only tunnel packets to the internet, never TCP 443', () => {
    const policy = byName(build(shard()), 'NetworkPolicy', 'nba-east-polymarket-monitor');
    expect(policy.spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
    const internetRules = policy.spec.egress.filter((r: Obj) => r.to?.some((p: Obj) => p.ipBlock?.except));
    expect(internetRules.flatMap((r: Obj) => r.ports)).to.deep.equal([{ protocol: 'UDP' }]);
    expect(internetRules[0].to[0].ipBlock.except).to.deep.equal(['10.244.0.0/16', '10.96.0.0/12']);
    const kalshi = byName(build(shard()), 'NetworkPolicy', 'nba-east-kalshi-monitor');
    expect(kalshi.spec.egress.flatMap((r: Obj) => r.ports)).to.deep.include({ protocol: 'TCP', port: 443 });
    expect(kalshi.spec.egress.flatMap((r: Obj) => r.ports)).not.to.deep.include({ protocol: 'TCP', port: 5432 });
  });

  it('opens each egress only to the destinations the cluster owner configured', () => {
    const stores = {
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'redis' } },
      namespaceSelector: { matchLabels: { x: 'y' } },
    };
    const network = {
      dns: [{ ipBlock: { cidr: '10.200.0.1/32' } }],
      redis: [stores],
      postgres: [{ ipBlock: { cidr: '10.0.5.0/24' } }],
      kalshi: { peers: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP' as const, port: 443 }] },
      vpnServers: { peers: [{ ipBlock: { cidr: '198.51.100.7/32' } }], ports: [{ protocol: 'UDP' as const, port: 51820 }] },
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    };
    const built = expectedObjects(shard(), { ...settings, network }) as Obj[];
    const egress = (component: string) => byName(built, 'NetworkPolicy', `nba-east-${component}`).spec.egress as Obj[];
    for (const component of ['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor']) {
      const policy = byName(built, 'NetworkPolicy', `nba-east-${component}`);
      // Nothing anywhere: every rule names its destination, and nothing is open to 0.0.0.0/0.
      expect(
        egress(component).every((r) => r.to?.length > 0),
        component,
      ).to.equal(true);
      expect(JSON.stringify(egress(component)), component).not.to.contain('0.0.0.0/0');
      expect(egress(component)[0]).to.deep.equal({
        to: network.dns,
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      });
      expect(egress(component)[1]).to.deep.equal({ to: [stores], ports: [{ protocol: 'TCP', port: 6379 }] });
      expect(policy.spec.ingress[0]).to.deep.equal({ from: network.metricsFrom, ports: [{ protocol: 'TCP', port: 9464 }] });
    }
    expect(egress('executor')).to.deep.include({ to: network.postgres, ports: [{ protocol: 'TCP', port: 5432 }] });
    expect(egress('executor')).to.deep.include({ to: network.kalshi.peers, ports: network.kalshi.ports });
    expect(egress('kalshi-monitor')).to.deep.include({ to: network.kalshi.peers, ports: network.kalshi.ports });
    expect(egress('polymarket-monitor').slice(2)).to.deep.equal([{ to: network.vpnServers.peers, ports: network.vpnServers.ports }]);
    expect(egress('detector')).to.have.length(2); // DNS and Redis only
  });

  it("routes the executor's Polymarket traffic through the VPN pod in every mode: a proxy Service reachable only from the executor", () => {
    const paper = build(shard());
    const live = build(
      shard((s) => {
        s.spec.executor.mode = 'live';
        s.spec.venues.polymarket.credentialsSecretRef = { name: 'poly-creds' };
      }),
    );
    for (const built of [paper, live]) {
      const proxy = byName(built, 'Service', 'nba-east-polymarket-proxy');
      expect(proxy.spec.selector).to.deep.equal({ 'arbees.io/shard': 'nba-east', 'app.kubernetes.io/component': 'polymarket-monitor' });
      const executorEnv = podSpec(built, 'executor').containers[0].env;
      expect(executorEnv).to.deep.include({ name: 'ARBEES_POLYMARKET_PROXY_URL', value: 'http://nba-east-polymarket-proxy:8888' });
      const ingress = byName(built, 'NetworkPolicy', 'nba-east-polymarket-monitor').spec.ingress;
      expect(ingress).to.deep.include({
        from: [{ podSelector: { matchLabels: { 'arbees.io/shard': 'nba-east', 'app.kubernetes.io/component': 'executor' } } }],
        ports: [{ protocol: 'TCP', port: 8888 }],
      });
      const egress = byName(built, 'NetworkPolicy', 'nba-east-executor').spec.egress;
      expect(egress).to.deep.include({
        to: [{ podSelector: { matchLabels: { 'arbees.io/shard': 'nba-east', 'app.kubernetes.io/component': 'polymarket-monitor' } } }],
        ports: [{ protocol: 'TCP', port: 8888 }],
      });
    }
    expect(podSpec(paper, 'executor').containers[0].env.map((e: Obj) => e.name)).not.to.include('ARBEES_POLYMARKET_PRIVATE_KEY');
  });

  it('hands secrets to containers only as Secret references, each to the component that needs it', () => {
    const live = build(
      shard((s) => {
        s.spec.executor.mode = 'live';
        s.spec.venues.polymarket.credentialsSecretRef = { name: 'poly-creds' };
      }),
    );
    const secretVars = (objects: Obj[], component: string) =>
      podSpec(objects, component)
        .containers[0].env.filter((e: Obj) => e.valueFrom)
        .map((e: Obj) => `${e.name}<-${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
    // The monitor's own market-data key, never the trading key.
    expect(secretVars(live, 'kalshi-monitor')).to.deep.equal([
      'ARBEES_REDIS_URL<-arbees-connections/redisUrl',
      'ARBEES_KALSHI_KEY_ID<-kalshi-market-data/keyId',
      'ARBEES_KALSHI_PRIVATE_KEY<-kalshi-market-data/privateKey',
    ]);
    expect(secretVars(live, 'polymarket-monitor')).to.deep.equal(['ARBEES_REDIS_URL<-arbees-connections/redisUrl']);
    expect(secretVars(live, 'detector')).to.deep.equal([
      'ARBEES_REDIS_URL<-arbees-connections/redisUrl',
      'ARBEES_SIGNAL_KEY<-arbees-connections/signalKey',
    ]);
    expect(secretVars(live, 'executor')).to.include.members([
      'ARBEES_POSTGRES_URL<-arbees-connections/postgresUrl',
      'ARBEES_POLYMARKET_PRIVATE_KEY<-poly-creds/privateKey',
      'ARBEES_KALSHI_PRIVATE_KEY<-kalshi-creds/privateKey',
    ]);
    expect(podSpec(live, 'executor').containers[0].env).to.deep.include({ name: 'ARBEES_LIVE_TRADING_AUTHORIZED', value: 'true' });
    // A paper executor gets no trading key of either venue, and no authorization.
    const paper = build(shard());
    expect(secretVars(paper, 'executor')).to.deep.equal([
      'ARBEES_REDIS_URL<-arbees-connections/redisUrl',
      'ARBEES_POSTGRES_URL<-arbees-connections/postgresUrl',
      'ARBEES_SIGNAL_KEY<-arbees-connections/signalKey',
    ]);
    // With Redis ACL users, each component connects as its own user.
    const acl = expectedObjects(shard(), { ...settings, redisAclUsers: true }) as Obj[];
    for (const component of ['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor']) {
      expect(secretVars(acl, component)[0]).to.equal(`ARBEES_REDIS_URL<-arbees-connections/redisUrl.${component}`);
    }
    expect(podSpec(paper, 'executor').containers[0].env.map((e: Obj) => e.name)).not.to.include('ARBEES_LIVE_TRADING_AUTHORIZED');
  });

  it("renders a shard config the workloads accept, with the environment's venue endpoints", () => {
    const production = build(shard((s) => (s.spec.venues.kalshi.environment = 'production')));
    const config = shardConfigSchema.parse(JSON.parse(byName(production, 'ConfigMap', 'nba-east-config').data['shard.json']));
    expect(config.venues.kalshi).to.deep.equal({ environment: 'production', ...publicVenueEndpoints.kalshi.production });
    expect(config.markets[0]).to.include({ id: 'nba-phi-lal-lal', game: 'nba-phi-lal-lal' });
    expect(config.executor.limits.perGameUsd).to.equal(500);
  });

  it('rolls the pods when the rendered config changes, but not on pause (that travels through the control key)', () => {
    const hashes = (s: TradingShard) =>
      build(s)
        .filter((o) => o.kind === 'Deployment')
        .map((d) => d.spec.template.metadata.annotations[configHashAnnotation]);
    const base = hashes(shard());
    expect(new Set(base).size).to.equal(1);
    expect(hashes(shard((s) => (s.spec.paused = true)))).to.deep.equal(base);
    // The pause is in the rendered config all the same (a forged control key cannot un-pause the
    // executor, which re-reads the file), and only the pause differs.
    const rendered = (s: TradingShard) =>
      shardConfigSchema.parse(JSON.parse(String(build(s).find((o) => o.kind === 'ConfigMap').data['shard.json'])));
    expect(rendered(shard((s) => (s.spec.paused = true)))).to.deep.equal({ ...rendered(shard()), paused: true });
    expect(rendered(shard()).paused).to.equal(false);
    expect(hashes(shard((s) => (s.spec.detector.minEdgeBps = 57)))).not.to.deep.equal(base);
    const others = (s: TradingShard) => build(s).filter((o) => o.kind !== 'Deployment' && o.kind !== 'ConfigMap');
    expect(others(shard((s) => (s.spec.detector.minEdgeBps = 57)))).to.deep.equal(others(shard()));
  });

  it('rolls the pods that read a Secret when it changes, and only those', () => {
    const versions = { 'arbees-connections': '10', 'kalshi-market-data': '20', vpn: '30' };
    const annotations = (secretVersions: Record<string, string>) => {
      const verdict = { ...admittedVerdict(shard(), settings), secretVersions };
      return Object.fromEntries(
        (buildShardObjects(shard(), settings, verdict) as Obj[])
          .filter((o) => o.kind === 'Deployment')
          .map((d) => [
            d.metadata.labels['app.kubernetes.io/component'],
            d.spec.template.metadata.annotations['arbees.io/secrets-version'],
          ]),
      );
    };
    const base = annotations(versions);
    const vpnRotated = annotations({ ...versions, vpn: '31' });
    expect(Object.keys(base).filter((c) => base[c] !== vpnRotated[c])).to.deep.equal(['polymarket-monitor']);
    const passwordRotated = annotations({ ...versions, 'arbees-connections': '11' });
    expect(Object.keys(base).filter((c) => base[c] !== passwordRotated[c])).to.have.length(4);
  });

  it('resolves images by the names the cluster owner allowed, and per-component resource overrides', () => {
    const owner = { ...settings, allowedImages: { canary: 'registry.example/arbees:2.0.0', patched: 'registry.example/arbees:2.0.1' } };
    const named = shard((s) => {
      s.spec.image = 'canary';
      s.spec.overrides = { detector: { image: 'patched', resources: { requests: { cpu: '1', memory: '256Mi' } } } };
    });
    const objects = expectedObjects(named, owner) as Obj[];
    expect(podSpec(objects, 'detector').containers[0]).to.deep.include({
      image: 'registry.example/arbees:2.0.1',
      resources: { requests: { cpu: '1', memory: '256Mi' } },
    });
    expect(podSpec(objects, 'executor').containers[0].image).to.equal('registry.example/arbees:2.0.0');
    expect(podSpec(objects, 'executor').containers[0].args).to.deep.equal(['executor']);
    expect(podSpec(build(shard()), 'executor').containers[0].image).to.equal(settings.workloadImage);
  });
});
