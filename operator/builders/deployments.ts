// One Deployment per component. Every Arbees container runs non-root on a read-only root
// filesystem with no capabilities; only the gluetun sidecar (vpn.ts) gets NET_ADMIN.
import type { Component, ComponentOverride, TradingShard } from '../../contracts/trading-shard.js';
import {
  credentialEnv,
  defaultShardConfigPath,
  liveTradingAuthorizedEnv,
  polymarketProxyEnv,
  signalKeyEnv,
} from '../../contracts/shard-config.js';
import { createHash } from 'node:crypto';
import { secretsInUse, type Preflight } from '../preflight.js';
import { shardConfigKey } from './config-map.js';
import { childMeta, childName, configHashAnnotation, labels, secretsVersionAnnotation, selectorLabels } from './meta.js';
import type { OperatorSettings } from './settings.js';
import { vpnControlAddress, vpnProxyPort, vpnSidecar, vpnVolumes } from './vpn.js';

const overrideKeys: Record<Component, 'kalshiMonitor' | 'polymarketMonitor' | 'detector' | 'executor'> = {
  'kalshi-monitor': 'kalshiMonitor',
  'polymarket-monitor': 'polymarketMonitor',
  detector: 'detector',
  executor: 'executor',
};

const defaultResources: Record<Component, Required<NonNullable<ComponentOverride['resources']>>> = {
  'kalshi-monitor': { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  'polymarket-monitor': { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  detector: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  executor: { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '384Mi' } },
};

export const restrictedContainerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

const podSecurity = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };

/** The only pod with the VPN sidecar; the executor reaches Polymarket through its proxy. */
const vpnComponent: Component = 'polymarket-monitor';

/**
 * The monitor asks the sidecar's control server whether the tunnel runs, every 5 s, besides the
 * venue's geoblock answer: a cut tunnel shows in arbees_vpn_up within seconds, not after a
 * geoblock request has timed out.
 */
const vpnProbeArgs = [`--vpn-control-url=http://${vpnControlAddress}`, '--vpn-probe-interval-ms=5000'];

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };

const fromSecret = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

function credentialVars(shard: TradingShard, component: Component, verdict: Preflight): EnvVar[] {
  const vars: EnvVar[] = [];
  const { kalshi, polymarket } = shard.spec.venues;
  const kalshiKey = (secret: string) => [
    fromSecret(credentialEnv.kalshi.keyId, secret, 'keyId'),
    fromSecret(credentialEnv.kalshi.privateKey, secret, 'privateKey'),
  ];
  // The monitor reads market data with a key of its own; trading keys reach only a live executor.
  if (component === 'kalshi-monitor') vars.push(...kalshiKey(kalshi.marketDataSecretRef.name));
  if (component === 'executor' && verdict.liveAuthorized) {
    vars.push({ name: liveTradingAuthorizedEnv, value: 'true' });
    if (kalshi.credentialsSecretRef) vars.push(...kalshiKey(kalshi.credentialsSecretRef.name));
    if (polymarket.credentialsSecretRef) {
      for (const [key, variable] of Object.entries(credentialEnv.polymarket))
        vars.push(fromSecret(variable, polymarket.credentialsSecretRef.name, key));
    }
  }
  if (component === 'executor') {
    // Kalshi is reached directly (a VPN exit abroad would be refused there); Polymarket (orders,
    // and market resolutions in paper mode too) only through the tunnel of the polymarket-monitor pod.
    vars.push({ name: polymarketProxyEnv, value: `http://${childName(shard, 'polymarket-proxy')}:${vpnProxyPort}` });
  }
  return vars;
}

function container(shard: TradingShard, component: Component, settings: OperatorSettings, verdict: Preflight) {
  const override = shard.spec.overrides?.[overrideKeys[component]];
  const env: EnvVar[] = [
    { name: 'ARBEES_SHARD', value: shard.metadata.name },
    { name: 'ARBEES_HTTP_PORT', value: String(settings.metricsPort) },
    { name: 'ARBEES_SHARD_CONFIG', value: defaultShardConfigPath },
    fromSecret('ARBEES_REDIS_URL', settings.connectionsSecret, settings.redisAclUsers ? `redisUrl.${component}` : 'redisUrl'),
    ...(component === 'executor' ? [fromSecret('ARBEES_POSTGRES_URL', settings.connectionsSecret, 'postgresUrl')] : []),
    // Signals are signed by the detector and checked by the executor: a process without this key
    // (a monitor) cannot make the executor trade by writing to the signals stream.
    ...(component === 'detector' || component === 'executor' ? [fromSecret(signalKeyEnv, settings.connectionsSecret, 'signalKey')] : []),
    ...credentialVars(shard, component, verdict),
  ];
  const probe = (path: string) => ({ httpGet: { path, port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 });
  return {
    name: component,
    image: verdict.images[component],
    args: component === vpnComponent ? [component, ...vpnProbeArgs] : [component],
    env,
    ports: [{ name: 'metrics', containerPort: settings.metricsPort, protocol: 'TCP' }],
    readinessProbe: probe('/readyz'),
    livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10 },
    resources: override?.resources ?? defaultResources[component],
    securityContext: restrictedContainerSecurity,
    volumeMounts: [
      { name: 'config', mountPath: '/etc/arbees', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** A digest of the versions of the Secrets this component reads: it changes, the pod rolls. */
function secretsVersion(shard: TradingShard, component: Component, settings: OperatorSettings, verdict: Preflight): Record<string, string> {
  const versions = verdict.secretVersions;
  if (!versions) return {};
  const names = [
    settings.connectionsSecret,
    ...secretsInUse(shard)
      .filter((u) => u.components.includes(component))
      .map((u) => u.name),
  ];
  const known = [...new Set(names)].filter((n) => versions[n] !== undefined).sort();
  if (known.length === 0) return {};
  const digest = createHash('sha256')
    .update(known.map((n) => `${n}=${versions[n]}`).join('\n'))
    .digest('hex');
  return { [secretsVersionAnnotation]: digest.slice(0, 16) };
}

export function buildDeployment(
  shard: TradingShard,
  component: Component,
  settings: OperatorSettings,
  configHash: string,
  verdict: Preflight,
): object {
  const vpn = component === vpnComponent;
  // Two executors at once could both trade; Recreate guarantees the old one is gone first.
  const strategy =
    component === 'executor' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(shard, childName(shard, component), component),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      strategy,
      selector: { matchLabels: selectorLabels(shard, component) },
      template: {
        metadata: {
          labels: labels(shard, component),
          annotations: { [configHashAnnotation]: configHash, ...secretsVersion(shard, component, settings, verdict) },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: podSecurity,
          ...(vpn ? { initContainers: [vpnSidecar(shard, settings, verdict.vpnImage)] } : {}),
          containers: [container(shard, component, settings, verdict)],
          volumes: [
            { name: 'config', configMap: { name: childName(shard, 'config'), items: [{ key: shardConfigKey, path: shardConfigKey }] } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ...(vpn ? vpnVolumes : []),
          ],
        },
      },
    },
  };
}
