// The TradingShard resource (arbees.io/v1alpha1) as TypeScript types. The CRD's OpenAPI schema in
// crds/tradingshards.arbees.io.yaml is the validating source of truth; these types mirror it
// (after the apiserver has applied its defaults) and are what the operator's builders consume.

export const group = 'arbees.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'TradingShard';
export const plural = 'tradingshards';

export const sports = ['nba', 'nfl', 'nhl', 'mlb', 'ncaab', 'ncaaf', 'soccer'] as const;
export type Sport = (typeof sports)[number];

export const components = ['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'] as const;
export type Component = (typeof components)[number];

export interface SecretRef {
  name: string;
}

/** One binary question traded on both venues, e.g. "Lakers beat Celtics on 2026-11-24". */
export interface MarketSpec {
  /** Our id, unique in the shard (DNS-label-like). */
  id: string;
  sport: Sport;
  /** Markets of one game share this id; risk counts them against one budget. Defaults to `id`. */
  game?: string;
  /** RFC 3339 start time. */
  startsAt?: string;
  kalshi: { ticker: string };
  /** YES = the outcome of the Kalshi ticker (the same team), NO = the other outcome token. */
  polymarket: { yesTokenId: string; noTokenId: string };
}

export interface DiscoverySpec {
  sports: Sport[];
  lookaheadHours: number;
}

export interface ResourceRequirements {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

export interface ComponentOverride {
  /** The name of an image the cluster owner allowed (never an image reference). */
  image?: string;
  resources?: ResourceRequirements;
}

export interface BreakerRule {
  name: string;
  /** PromQL; the rule holds when `value op threshold` for any returned series. */
  query: string;
  op: '>' | '>=' | '<' | '<=' | '==' | '!=';
  threshold: number;
  /** Duration the condition must hold, e.g. "30s", "2m". */
  for: string;
}

export interface TradingShardSpec {
  /** Manual kill switch: the executor opens no positions; monitors keep running. */
  paused: boolean;
  markets?: MarketSpec[];
  discovery?: DiscoverySpec;
  venues: {
    kalshi: {
      environment: 'demo' | 'production';
      /** The monitor's read-only API key (keyId, privateKey): market data only. */
      marketDataSecretRef: SecretRef;
      /** The trading key (keyId, privateKey): mounted only into a live executor. */
      credentialsSecretRef?: SecretRef;
    };
    polymarket: {
      credentialsSecretRef?: SecretRef;
      vpn: {
        provider: string;
        type: 'wireguard' | 'openvpn';
        serverCountries: string[];
        secretRef: SecretRef;
      };
    };
  };
  detector: { minEdgeBps: number; maxQuoteAgeMs: number; cooldownMs: number };
  executor: {
    mode: 'paper' | 'live';
    /** Whole US dollars. */
    bankrollUsd: number;
    limits: {
      perGameUsd: number;
      perSportUsd: number;
      dailyLossUsd: number;
      maxOpenPositions: number;
      maxOrderUsd: number;
    };
  };
  circuitBreaker: {
    rules: BreakerRule[];
    cooldown: string;
    halfOpenAfter: string;
    onPrometheusUnavailable: 'hold' | 'open';
  };
  /** The name of an image the cluster owner allowed for every component (never an image reference). */
  image?: string;
  overrides?: Partial<Record<'kalshiMonitor' | 'polymarketMonitor' | 'detector' | 'executor' | 'vpn', ComponentOverride>>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type BreakerState = 'Closed' | 'Open' | 'HalfOpen';

export interface TradingShardStatus {
  observedGeneration?: number;
  phase?: 'Pending' | 'Running' | 'Degraded' | 'Halted';
  conditions?: Condition[];
  marketCount?: number;
  circuitBreaker?: {
    state: BreakerState;
    trippedBy?: string;
    observedValue?: string;
    reason?: string;
    since?: string;
    trips?: number;
  };
  discovery?: {
    /** When discovery last ran (RFC 3339). */
    lastRun: string;
    /** Venue listings of the chosen sports it could not match with certainty. */
    unmatched?: number;
    /** Why the last run failed; the previous matches are kept. */
    message?: string;
    /** The matches, added to spec.markets in the shard's config. */
    markets?: MarketSpec[];
  };
  components?: Partial<Record<Component, { readyReplicas: number; replicas: number }>>;
}

export interface TradingShard {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: TradingShardSpec;
  status?: TradingShardStatus;
}
