// The operator's own configuration, from ARBEES_OPERATOR_* variables (set by the Helm chart) and
// the downward API, validated with zod so a bad install fails at start with a readable list.
import { z } from 'zod';
import { ConfigError } from '../contracts/config-error.js';
import { defaultShardNetwork, defaultVpnImage, publicVenueEndpoints, type OperatorSettings } from './builders/settings.js';

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/, 'must be a CIDR such as 10.244.0.0/16');
const url = z.string().refine((v) => URL.canParse(v), 'must be a URL');
const imageName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'image names are DNS labels')
  .max(63);

const labels = z.record(z.string(), z.string());
const peer = z.union([
  z.object({ ipBlock: z.object({ cidr, except: z.array(cidr).optional() }).strict() }).strict(),
  z
    .object({
      podSelector: z.object({ matchLabels: labels }).strict().optional(),
      namespaceSelector: z.object({ matchLabels: labels }).strict().optional(),
    })
    .strict()
    .refine((p) => p.podSelector || p.namespaceSelector, 'a peer needs ipBlock, podSelector or namespaceSelector'),
]);
const portRule = z.object({ protocol: z.enum(['TCP', 'UDP']), port: z.number().int().min(1).max(65535).optional() }).strict();
const shardNetworkSchema = z
  .object({
    dns: z.array(peer).min(1).optional(),
    redis: z.array(peer).optional(),
    postgres: z.array(peer).optional(),
    kalshi: z
      .object({ peers: z.array(peer).optional(), ports: z.array(portRule).min(1).optional() })
      .strict()
      .optional(),
    vpnServers: z
      .object({ peers: z.array(peer).optional(), ports: z.array(portRule).min(1).optional() })
      .strict()
      .optional(),
    metricsFrom: z.array(peer).optional(),
  })
  .strict();

/** A JSON object in an environment variable, checked by `schema`. */
function jsonObjectOf<T extends z.ZodType>(schema: T, shape: string) {
  return z.string().transform((text, ctx) => {
    try {
      return schema.parse(JSON.parse(text));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be JSON of ${shape}: ${(error as Error).message.split('\n')[0]}` });
      return z.NEVER;
    }
  });
}
const kalshiEndpoints = z.object({ restUrl: url, wsUrl: url }).strict();
const venueEndpointsSchema = z
  .object({
    kalshi: z.object({ demo: kalshiEndpoints, production: kalshiEndpoints }).strict(),
    polymarket: z.object({ clobUrl: url, wsUrl: url, gammaUrl: url }).strict(),
  })
  .strict();

/** Comma-separated namespace names, blanks dropped. */
const namespaceList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  )
  .optional();

export const operatorConfigSchema = z.object({
  identity: z.string().min(1),
  leaseNamespace: z.string().min(1),
  leaseName: z.string().min(1).default('arbees-operator'),
  /** Comma-separated namespaces to watch; empty: every namespace. */
  watchNamespaces: namespaceList,
  httpPort: z.coerce.number().int().min(0).max(65535).default(9464),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  redisUrl: url,
  prometheusUrl: url,
  prometheusBearerTokenFile: z.string().optional(),
  // With Prometheus scraping every second, a trip reaches the executor within about 2 s.
  breakerIntervalMs: z.coerce.number().int().min(200).default(1_000),
  discoveryIntervalMs: z.coerce.number().int().min(1_000).default(300_000),
  controlTtlSeconds: z.coerce.number().int().min(5).default(60),
  resyncSeconds: z.coerce.number().int().min(10).default(600),
  workloadImage: z.string().min(1),
  podCidr: cidr,
  serviceCidr: cidr,
  vpnImage: z.string().min(1).default(defaultVpnImage),
  /** JSON {name: image} of the images a shard may pick by name, besides the default. */
  workloadImages: jsonObjectOf(z.record(imageName, z.string().min(1)), '{"name": "registry/image:tag", ...}').optional(),
  vpnImages: jsonObjectOf(z.record(imageName, z.string().min(1)), '{"name": "registry/image:tag", ...}').optional(),
  /** JSON: where the shards' components may connect (see ShardNetwork); unset parts keep their defaults. */
  shardNetwork: jsonObjectOf(
    shardNetworkSchema,
    '{dns, redis, postgres, kalshi: {peers, ports}, vpnServers: {peers, ports}, metricsFrom}',
  ).optional(),
  /** Comma-separated namespaces where live trading is authorized. */
  liveTradingNamespaces: namespaceList,
  /** Folder with tls.crt and tls.key: serve the admission webhook (every replica) with them. */
  webhookCertDir: z.string().optional(),
  webhookPort: z.coerce.number().int().min(1).max(65535).default(9443),
  connectionsSecret: z.string().min(1).default('arbees-connections'),
  /** "true": each component reads its own Redis URL (redisUrl.<component>) from the connections Secret. */
  redisAclUsers: z.enum(['true', 'false']).default('false'),
  postgresPort: z.coerce.number().int().min(1).max(65535).default(5432),
  /** JSON of VenueEndpoints, to point shards at the simulators (kind demo) or a venue's staging. */
  venueEndpoints: z
    .string()
    .transform((text, ctx) => {
      try {
        return venueEndpointsSchema.parse(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message:
            `must be JSON of ` +
            `{kalshi:{demo,production:{restUrl,wsUrl}},polymarket:{clobUrl,wsUrl,gammaUrl}}: ${(error as Error).message.split('\n')[0]}`,
        });
        return z.NEVER;
      }
    })
    .optional(),
});
export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

export const operatorEnv: Record<keyof OperatorConfig, string> = {
  identity: 'POD_NAME',
  leaseNamespace: 'POD_NAMESPACE',
  leaseName: 'ARBEES_OPERATOR_LEASE_NAME',
  watchNamespaces: 'ARBEES_OPERATOR_WATCH_NAMESPACES',
  httpPort: 'ARBEES_HTTP_PORT',
  logLevel: 'ARBEES_LOG_LEVEL',
  redisUrl: 'ARBEES_REDIS_URL',
  prometheusUrl: 'ARBEES_PROMETHEUS_URL',
  prometheusBearerTokenFile: 'ARBEES_PROMETHEUS_BEARER_TOKEN_FILE',
  breakerIntervalMs: 'ARBEES_BREAKER_INTERVAL_MS',
  discoveryIntervalMs: 'ARBEES_DISCOVERY_INTERVAL_MS',
  controlTtlSeconds: 'ARBEES_CONTROL_TTL_SECONDS',
  resyncSeconds: 'ARBEES_OPERATOR_RESYNC_SECONDS',
  workloadImage: 'ARBEES_WORKLOAD_IMAGE',
  podCidr: 'ARBEES_POD_CIDR',
  serviceCidr: 'ARBEES_SERVICE_CIDR',
  vpnImage: 'ARBEES_VPN_IMAGE',
  workloadImages: 'ARBEES_WORKLOAD_IMAGES',
  vpnImages: 'ARBEES_VPN_IMAGES',
  liveTradingNamespaces: 'ARBEES_LIVE_TRADING_NAMESPACES',
  shardNetwork: 'ARBEES_SHARD_NETWORK',
  webhookCertDir: 'ARBEES_WEBHOOK_CERT_DIR',
  webhookPort: 'ARBEES_WEBHOOK_PORT',
  connectionsSecret: 'ARBEES_CONNECTIONS_SECRET',
  redisAclUsers: 'ARBEES_REDIS_ACL_USERS',
  postgresPort: 'ARBEES_POSTGRES_PORT',
  venueEndpoints: 'ARBEES_VENUE_ENDPOINTS',
};

export function loadOperatorConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const raw = Object.fromEntries(
    Object.entries(operatorEnv)
      .map(([key, variable]): [string, string | undefined] => [key, env[variable] === '' ? undefined : env[variable]])
      .filter(([, value]) => value !== undefined),
  );
  const result = operatorConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      'invalid operator configuration:',
      result.error.issues.map((issue) => {
        const key = String(issue.path[0]) as keyof OperatorConfig;
        const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
        return `${operatorEnv[key] ?? key}: ${missing ? 'is required' : issue.message}`;
      }),
    );
  }
  return result.data;
}

/** The builders' settings: the operator's config plus what follows from it. */
export function settingsFromConfig(config: OperatorConfig): OperatorSettings {
  return {
    workloadImage: config.workloadImage,
    vpnImage: config.vpnImage,
    allowedImages: config.workloadImages ?? {},
    allowedVpnImages: config.vpnImages ?? {},
    liveTradingNamespaces: config.liveTradingNamespaces ?? [],
    network: {
      dns: config.shardNetwork?.dns ?? defaultShardNetwork.dns,
      redis: config.shardNetwork?.redis,
      postgres: config.shardNetwork?.postgres,
      kalshi: { peers: config.shardNetwork?.kalshi?.peers, ports: config.shardNetwork?.kalshi?.ports ?? defaultShardNetwork.kalshi.ports },
      vpnServers: { peers: config.shardNetwork?.vpnServers?.peers, ports: config.shardNetwork?.vpnServers?.ports },
      metricsFrom: config.shardNetwork?.metricsFrom ?? [],
    },
    connectionsSecret: config.connectionsSecret,
    redisAclUsers: config.redisAclUsers === 'true',
    // Workloads share the operator's Redis; its port is what their NetworkPolicies open.
    redisPort: Number(new URL(config.redisUrl).port || 6379),
    postgresPort: config.postgresPort,
    podCidr: config.podCidr,
    serviceCidr: config.serviceCidr,
    metricsPort: 9464,
    venues: config.venueEndpoints ?? publicVenueEndpoints,
  };
}
