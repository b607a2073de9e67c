// What the builders need beyond the TradingShard itself: cluster-wide choices the Helm chart makes
// once (images, network ranges, where Redis and PostgreSQL are, the venues' endpoints).

export interface VenueEndpoints {
  kalshi: Record<'demo' | 'production', { restUrl: string; wsUrl: string }>;
  polymarket: { clobUrl: string; wsUrl: string; gammaUrl: string };
}

/** A NetworkPolicy peer: an address range, or pods (and their namespaces) by label. */
export type NetworkPeer =
  | { ipBlock: { cidr: string; except?: string[] } }
  | { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: { matchLabels: Record<string, string> } };

export interface PortRule {
  protocol: 'TCP' | 'UDP';
  /** Absent: every port of the protocol. */
  port?: number;
}

/**
 * Where each shard component may connect, set by the chart from its values: a destination
 * outside the cluster is a CIDR list; one inside is pods by label. `undefined` peers mean any
 * address outside the cluster's own ranges.
 */
export interface ShardNetwork {
  /** Cluster DNS (default: kube-system's kube-dns pods). */
  dns: NetworkPeer[];
  /** Redis and PostgreSQL: the chart's in-cluster pods, or the external stores' CIDRs. */
  redis?: NetworkPeer[];
  postgres?: NetworkPeer[];
  /** Kalshi's REST and WebSocket endpoints (monitor and executor). */
  kalshi: { peers?: NetworkPeer[]; ports: PortRule[] };
  /** The VPN servers the Polymarket pod's tunnel reaches (its only way out). */
  vpnServers: { peers?: NetworkPeer[]; ports?: PortRule[] };
  /** Who may scrape /metrics (empty: any pod; probes come from the node). */
  metricsFrom: NetworkPeer[];
}

export const defaultShardNetwork: ShardNetwork = {
  dns: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  kalshi: { ports: [{ protocol: 'TCP', port: 443 }] },
  vpnServers: {},
  metricsFrom: [],
};

export interface OperatorSettings {
  /** Image of every Arbees component unless the shard picks another allowed one. */
  workloadImage: string;
  /** gluetun, pinned: the VPN sidecar of every pod that talks to Polymarket. */
  vpnImage: string;
  /**
   * Other images the cluster owner allows, by the names a shard may pick (spec.image,
   * spec.overrides.*.image); a shard never gives an image reference itself.
   */
  allowedImages: Record<string, string>;
  allowedVpnImages: Record<string, string>;
  /** Namespaces where a live shard's executor is authorized to trade; anywhere else it is not started. */
  liveTradingNamespaces: string[];
  /**
   * A Secret in each shard's namespace holding the connection URLs (they may carry passwords, so
   * never plain env): `redisUrl` for every component (or, with redisAclUsers, `redisUrl.<component>`:
   * each component its own Redis user), `postgresUrl` for the executor, and `signalKey`, the key
   * the detector signs its signals with and the executor checks them by.
   */
  connectionsSecret: string;
  /** Redis ACL users per component: a monitor's password can write quotes and nothing else. */
  redisAclUsers: boolean;
  /** TCP ports the NetworkPolicies open towards Redis and PostgreSQL. */
  redisPort: number;
  postgresPort: number;
  /** Where the shards' components may connect (their NetworkPolicies). */
  network: ShardNetwork;
  /** Cluster ranges the VPN firewall must let through so Redis stays reachable. */
  podCidr: string;
  serviceCidr: string;
  metricsPort: number;
  venues: VenueEndpoints;
}

/** The venues' public endpoints (docs/exchange-protocols.md). */
export const publicVenueEndpoints: VenueEndpoints = {
  kalshi: {
    demo: { restUrl: 'https://demo-api.kalshi.co/trade-api/v2', wsUrl: 'wss://demo-api.kalshi.co/trade-api/ws/v2' },
    production: { restUrl: 'https://api.elections.kalshi.com/trade-api/v2', wsUrl: 'wss://api.elections.kalshi.com/trade-api/ws/v2' },
  },
  polymarket: {
    clobUrl: 'https://clob.polymarket.com',
    wsUrl: 'wss://ws-subscriptions-clob.polymarket.com/ws/market',
    gammaUrl: 'https://gamma-api.polymarket.com',
  },
};

export const defaultVpnImage = 'qmcgaw/gluetun:v3.40.0';
