// What the cluster owner allows a shard before any of its pods is built: images only by the names
// the owner configured, Secrets only when they carry the Arbees label, live trading only in the
// namespaces the owner authorized. Pure: the reconciler fetches the Secrets' labels and applies
// the verdict (a refused component gets no Deployment; the shard is Degraded, with an Event).
import type { Component, TradingShard } from '../contracts/trading-shard.js';
import { ruleQueryProblem } from './breaker/rule-check.js';
import type { OperatorSettings } from './builders/settings.js';

/** The label that marks a Secret as meant for Arbees; a shard cannot use any other Secret. */
export const credentialsLabel = 'arbees.io/credentials';

export interface SecretUse {
  name: string;
  /** What it holds, for messages. */
  purpose: string;
  components: Component[];
}

export interface Refusal {
  reason: 'ImageNotAllowed' | 'SecretNotLabelled' | 'SecretMissing' | 'LiveTradingNotAuthorized' | 'ObjectNotOwned' | 'InvalidRule';
  message: string;
  components: Component[];
}

export interface Preflight {
  images: Record<Component, string>;
  vpnImage: string;
  /** Live mode in a namespace the cluster owner authorized. */
  liveAuthorized: boolean;
  refusals: Refusal[];
  /**
   * resourceVersion of each Secret the shard's pods read (the connections Secret among them): a
   * pod rolls when a Secret it mounts changes (a rotated password, a new key).
   */
  secretVersions?: Record<string, string>;
}

const overrideKeys: Record<Component, 'kalshiMonitor' | 'polymarketMonitor' | 'detector' | 'executor'> = {
  'kalshi-monitor': 'kalshiMonitor',
  'polymarket-monitor': 'polymarketMonitor',
  detector: 'detector',
  executor: 'executor',
};
const allComponents = Object.keys(overrideKeys) as Component[];

/** The Secrets a shard would mount, and into which components (trading keys only when live). */
export function secretsInUse(shard: TradingShard): SecretUse[] {
  const { kalshi, polymarket } = shard.spec.venues;
  const uses: SecretUse[] = [
    { name: kalshi.marketDataSecretRef.name, purpose: "the Kalshi monitor's market-data key", components: ['kalshi-monitor'] },
    { name: polymarket.vpn.secretRef.name, purpose: 'the VPN keys', components: ['polymarket-monitor'] },
  ];
  if (shard.spec.executor.mode === 'live') {
    if (kalshi.credentialsSecretRef)
      uses.push({ name: kalshi.credentialsSecretRef.name, purpose: 'the Kalshi trading key', components: ['executor'] });
    if (polymarket.credentialsSecretRef) {
      uses.push({ name: polymarket.credentialsSecretRef.name, purpose: 'the Polymarket trading keys', components: ['executor'] });
    }
  }
  return uses;
}

function resolveImage(name: string | undefined, fallback: string, allowed: Record<string, string>): string | undefined {
  return name === undefined || name === 'default' ? fallback : allowed[name];
}

/**
 * The verdict for a shard. `secretLabels` maps each Secret name of secretsInUse to its labels, or
 * to undefined when the Secret does not exist.
 */
export function preflight(
  shard: TradingShard,
  settings: OperatorSettings,
  secretLabels: Map<string, Record<string, string> | undefined>,
): Preflight {
  const refusals: Refusal[] = [];
  const images = {} as Record<Component, string>;
  for (const component of allComponents) {
    const name = shard.spec.overrides?.[overrideKeys[component]]?.image ?? shard.spec.image;
    const image = resolveImage(name, settings.workloadImage, settings.allowedImages);
    if (image) images[component] = image;
    else
      refusals.push({
        reason: 'ImageNotAllowed',
        message: `image "${name}" of ${component} is not one the cluster owner allowed`,
        components: [component],
      });
  }
  const vpnName = shard.spec.overrides?.vpn?.image;
  const vpnImage = resolveImage(vpnName, settings.vpnImage, settings.allowedVpnImages) ?? '';
  if (!vpnImage) {
    refusals.push({
      reason: 'ImageNotAllowed',
      message: `VPN image "${vpnName}" is not one the cluster owner allowed`,
      components: ['polymarket-monitor'],
    });
  }
  for (const use of secretsInUse(shard)) {
    const labels = secretLabels.get(use.name);
    if (!secretLabels.has(use.name) || labels === undefined) {
      refusals.push({
        reason: 'SecretMissing',
        message: `Secret "${use.name}" (${use.purpose}) does not exist`,
        components: use.components,
      });
    } else if (labels[credentialsLabel] !== 'true') {
      refusals.push({
        reason: 'SecretNotLabelled',
        message: `Secret "${use.name}" (${use.purpose}) lacks the label ${credentialsLabel}=true, so it is not used`,
        components: use.components,
      });
    }
  }
  // A rule the breaker cannot evaluate reads as a failing one (fail safe); the shard says which.
  for (const [i, rule] of shard.spec.circuitBreaker.rules.entries()) {
    const problem = ruleQueryProblem(rule.query);
    if (problem)
      refusals.push({ reason: 'InvalidRule', message: `spec.circuitBreaker.rules[${i}] (${rule.name}): query ${problem}`, components: [] });
  }
  const live = shard.spec.executor.mode === 'live';
  const liveAuthorized = live && settings.liveTradingNamespaces.includes(shard.metadata.namespace);
  if (live && !liveAuthorized) {
    refusals.push({
      reason: 'LiveTradingNotAuthorized',
      message:
        `live trading is not authorized in namespace ${shard.metadata.namespace} ` +
        '(the cluster owner lists the namespaces: chart value liveTrading.namespaces)',
      components: ['executor'],
    });
  }
  return { images, vpnImage, liveAuthorized, refusals };
}

/** Components no refusal touches: the ones to build. */
export function admittedComponents(verdict: Preflight): Component[] {
  const refused = new Set(verdict.refusals.flatMap((r) => r.components));
  return allComponents.filter((c) => !refused.has(c));
}
