// Services (metrics, and the VPN pod's proxy for live Polymarket orders) and NetworkPolicies: each
// component may reach exactly what it needs. The Polymarket pod may open no TCP connection to the
// internet at all, only the tunnel's own packets, so even without gluetun's firewall nothing
// reaches Polymarket directly.
import { components, type Component, type TradingShard } from '../../contracts/trading-shard.js';
import { childMeta, childName, selectorLabels } from './meta.js';
import type { NetworkPeer, OperatorSettings, PortRule } from './settings.js';
import { vpnProxyPort } from './vpn.js';

export function buildServices(shard: TradingShard, settings: OperatorSettings): object[] {
  const metrics = components.map((component) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(shard, childName(shard, component), component),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(shard, component),
      ports: [{ name: 'metrics', port: settings.metricsPort, targetPort: 'metrics', protocol: 'TCP' }],
    },
  }));
  // In every mode: the executor reads Polymarket (orders when live, market resolutions always)
  // only through the VPN pod.
  const proxy = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(shard, childName(shard, 'polymarket-proxy'), 'polymarket-monitor'),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(shard, 'polymarket-monitor'),
      ports: [{ name: 'vpn-proxy', port: vpnProxyPort, targetPort: 'vpn-proxy', protocol: 'TCP' }],
    },
  };
  return [...metrics, proxy];
}

interface Rule {
  to?: NetworkPeer[];
  from?: NetworkPeer[];
  ports: PortRule[];
}

/**
 * A rule to `peers`; with none configured, to `fallback`: for a venue or the VPN any address outside
 * the cluster's ranges, for a store any address (it may be a pod, or a managed service).
 */
function ruleTo(peers: NetworkPeer[] | undefined, ports: PortRule[], fallback: NetworkPeer): Rule {
  return { to: peers && peers.length > 0 ? peers : [fallback], ports };
}

function egressRules(shard: TradingShard, component: Component, settings: OperatorSettings): Rule[] {
  const net = settings.network;
  const outside: NetworkPeer = { ipBlock: { cidr: '0.0.0.0/0', except: [settings.podCidr, settings.serviceCidr] } };
  const anywhere: NetworkPeer = { ipBlock: { cidr: '0.0.0.0/0' } };
  const tcp = (port: number): PortRule[] => [{ protocol: 'TCP', port }];
  const rules: Rule[] = [
    {
      to: net.dns,
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
    ruleTo(net.redis, tcp(settings.redisPort), anywhere),
  ];
  if (component === 'kalshi-monitor' || component === 'executor') rules.push(ruleTo(net.kalshi.peers, net.kalshi.ports, outside));
  if (component === 'executor') {
    rules.push(ruleTo(net.postgres, tcp(settings.postgresPort), anywhere));
    rules.push({ to: [{ podSelector: { matchLabels: selectorLabels(shard, 'polymarket-monitor') } }], ports: tcp(vpnProxyPort) });
  }
  if (component === 'polymarket-monitor') {
    // Only the tunnel itself: WireGuard is UDP on a provider-chosen port; OpenVPN UDP or TCP.
    const tunnel: PortRule[] =
      net.vpnServers.ports ??
      (shard.spec.venues.polymarket.vpn.type === 'wireguard'
        ? [{ protocol: 'UDP' }]
        : [{ protocol: 'UDP' }, { protocol: 'TCP', port: 1194 }, { protocol: 'TCP', port: 443 }]);
    rules.push(ruleTo(net.vpnServers.peers, tunnel, outside));
  }
  return rules;
}

function ingressRules(shard: TradingShard, component: Component, settings: OperatorSettings): Rule[] {
  const metricsFrom = settings.network.metricsFrom;
  const rules: Rule[] = [
    { ...(metricsFrom.length > 0 ? { from: metricsFrom } : {}), ports: [{ protocol: 'TCP', port: settings.metricsPort }] },
  ];
  if (component === 'polymarket-monitor') {
    rules.push({
      from: [{ podSelector: { matchLabels: selectorLabels(shard, 'executor') } }],
      ports: [{ protocol: 'TCP', port: vpnProxyPort }],
    });
  }
  return rules;
}

export function buildNetworkPolicies(shard: TradingShard, settings: OperatorSettings): object[] {
  return components.map((component) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(shard, childName(shard, component), component),
    spec: {
      podSelector: { matchLabels: selectorLabels(shard, component) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: ingressRules(shard, component, settings),
      egress: egressRules(shard, component, settings),
    },
  }));
}
