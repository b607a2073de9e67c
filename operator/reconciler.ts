// Reconciles one TradingShard: its children made to match the pure builders' output with
// server-side apply (writing only what differs), stale children pruned, the finalizer honoured,
// and the status brought up to date. Level-triggered: it only reads the informers' caches.
import type { Logger } from 'pino';
import { components, type Component, type TradingShard, type TradingShardStatus } from '../contracts/trading-shard.js';
import { buildShardObjects } from './builders/index.js';
import { shardLabel } from './builders/meta.js';
import type { OperatorSettings } from './builders/settings.js';
import { containsDesired } from './diff.js';
import type { EventRecorder } from './events.js';
import { KubeApiError, resourceOf, resources, type KubeClient, type KubeObject } from './kube/client.js';
import type { ObjectCache } from './kube/informer.js';
import { nameHolder } from './naming.js';
import { preflight, secretsInUse, type Preflight, type Refusal } from './preflight.js';
import { computeStatus, statusObject, type DeploymentObservation } from './status.js';

export const fieldManager = 'arbees-operator';
export const finalizer = 'arbees.io/cleanup';
export const managedBySelector = 'app.kubernetes.io/managed-by=arbees-operator';

/** Removes what the shard left outside Kubernetes (its Redis keys). Must be idempotent. */
export type ShardCleanup = (shard: TradingShard) => Promise<void>;

export interface ReconcilerDeps {
  client: KubeClient;
  settings: OperatorSettings;
  shards: ObjectCache<TradingShard & KubeObject>;
  /** Informers of every child kind, keyed by kind. */
  children: Map<string, ObjectCache<KubeObject>>;
  events: EventRecorder;
  cleanup: ShardCleanup;
  log: Logger;
  now?: () => Date;
}

export interface ReconcileOutcome {
  /** Come back this soon: a deletion waits for the shard's pods to be gone. */
  requeueAfterMs?: number;
  created: number;
  updated: number;
  deleted: number;
  statusWritten: boolean;
}

interface LiveDeployment extends KubeObject {
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number };
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const outcome: ReconcileOutcome = { created: 0, updated: 0, deleted: 0, statusWritten: false };
    const cached = this.deps.shards.get(namespace, name);
    if (!cached) return outcome; // gone: owner references let the garbage collector remove its children
    let shard = cached;

    const holder = nameHolder(this.deps.shards.list(), shard);
    if (shard.metadata.deletionTimestamp) {
      const waitMs = await this.finalize(shard, holder === undefined);
      return waitMs === undefined ? outcome : { ...outcome, requeueAfterMs: waitMs };
    }
    if (!shard.metadata.finalizers?.includes(finalizer)) {
      shard = await this.deps.client.mergePatch<TradingShard & KubeObject>(resources.tradingShards, namespace, name, {
        metadata: { finalizers: [...(shard.metadata.finalizers ?? []), finalizer], resourceVersion: shard.metadata.resourceVersion },
      });
    }

    if (holder) {
      const conflict =
        `the name "${name}" is held by the older shard ${holder.metadata.namespace}/${name}: shards share ` +
        `Redis keys by name, so this one is not run until it is renamed or that one is deleted`;
      await this.deps.events.record(shard, 'Warning', 'NameConflict', conflict);
      outcome.statusWritten = await this.writeStatus(shard, conflict);
      return outcome;
    }

    let reconcileError: string | undefined;
    let refusals: Refusal[] = [];
    try {
      const verdict = await this.preflight(shard);
      refusals = [...verdict.refusals, ...(await this.applyChildren(shard, verdict, outcome))];
    } catch (error) {
      reconcileError = error instanceof Error ? error.message : String(error);
      await this.deps.events.record(shard, 'Warning', 'ReconcileFailed', reconcileError);
      outcome.statusWritten = await this.writeStatus(shard, reconcileError, refusals);
      throw error;
    }
    for (const refusal of refusals) await this.deps.events.record(shard, 'Warning', refusal.reason, refusal.message);
    outcome.statusWritten = await this.writeStatus(shard, reconcileError, refusals);
    const previousPaused = cached.status?.conditions?.find((c) => c.type === 'TradingPaused')?.status;
    if (previousPaused !== undefined && (previousPaused === 'True') !== shard.spec.paused) {
      await this.deps.events.record(
        shard,
        'Normal',
        shard.spec.paused ? 'Paused' : 'Resumed',
        shard.spec.paused ? 'trading paused by spec.paused' : 'trading resumed',
      );
    }
    return outcome;
  }

  /** The cluster owner's verdict on the shard: images, Secrets (labels only, never data), live trading. */
  private async preflight(shard: TradingShard & KubeObject): Promise<Preflight> {
    const labels = new Map<string, Record<string, string> | undefined>();
    const secretVersions: Record<string, string> = {};
    for (const name of new Set([...secretsInUse(shard).map((use) => use.name), this.deps.settings.connectionsSecret])) {
      const found = await this.deps.client.metadataOf(resources.secrets, shard.metadata.namespace, name);
      labels.set(name, found ? (found.metadata.labels ?? {}) : undefined);
      if (found?.metadata.resourceVersion) secretVersions[name] = found.metadata.resourceVersion;
    }
    return { ...preflight(shard, this.deps.settings, labels), secretVersions };
  }

  /** Applies what the shard wants; returns the objects it refused to take over. */
  private async applyChildren(shard: TradingShard & KubeObject, verdict: Preflight, outcome: ReconcileOutcome): Promise<Refusal[]> {
    const desired = buildShardObjects(shard, this.deps.settings, verdict) as KubeObject[];
    const createdKinds = new Set<string>();
    const updatedKinds = new Set<string>();
    const notOwned: Refusal[] = [];
    // Children are independent of one another: apply them at once, not one round trip each.
    await Promise.all(
      desired.map(async (object) => {
        const live = this.deps.children.get(object.kind)?.get(object.metadata.namespace, object.metadata.name);
        if (live && containsDesired(object, live)) return;
        // Not in our caches (which hold only what we manage): an object of that name made by
        // someone else must not be taken over by a forced apply.
        const existing =
          live ?? (await this.deps.client.metadataOf(resourceOf(object.kind), object.metadata.namespace, object.metadata.name));
        if (existing && !existing.metadata.ownerReferences?.some((o) => o.uid === shard.metadata.uid)) {
          const component = object.metadata.labels?.['app.kubernetes.io/component'] as Component | undefined;
          notOwned.push({
            reason: 'ObjectNotOwned',
            message: `${object.kind} ${object.metadata.name} exists and was not made for this shard; it is left alone`,
            components: component ? [component] : [],
          });
          return;
        }
        await this.deps.client.apply(object, fieldManager);
        if (live) {
          outcome.updated += 1;
          updatedKinds.add(`${object.kind}/${object.metadata.name}`);
        } else {
          outcome.created += 1;
          createdKinds.add(`${object.kind}/${object.metadata.name}`);
        }
      }),
    );
    // Children we made earlier that the spec no longer wants.
    const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const [kind, informer] of this.deps.children) {
      for (const child of informer.list()) {
        if (child.metadata.namespace !== shard.metadata.namespace || child.metadata.labels?.[shardLabel] !== shard.metadata.name) continue;
        if (!child.metadata.ownerReferences?.some((o) => o.uid === shard.metadata.uid)) continue;
        if (wanted.has(`${kind}/${child.metadata.name}`)) continue;
        await this.deps.client.delete(resourceOf(kind), child.metadata.namespace, child.metadata.name);
        outcome.deleted += 1;
      }
    }
    if (createdKinds.size > 0) await this.deps.events.record(shard, 'Normal', 'Created', `created ${[...createdKinds].join(', ')}`);
    if (updatedKinds.size > 0 || outcome.deleted > 0) {
      await this.deps.events.record(
        shard,
        'Normal',
        'Updated',
        `updated ${[...updatedKinds].join(', ') || 'nothing'}; deleted ${outcome.deleted} stale object(s)`,
      );
    }
    return notOwned;
  }

  private observeDeployments(shard: TradingShard): DeploymentObservation[] {
    // The rule misreads the index signature of KubeObject; without the assertion status is `{}`.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    const informer = this.deps.children.get('Deployment') as ObjectCache<LiveDeployment> | undefined;
    const observations: DeploymentObservation[] = [];
    for (const component of components) {
      const live = informer?.get(shard.metadata.namespace, `${shard.metadata.name}-${component}`);
      if (!live) continue;
      observations.push({
        component,
        generation: live.metadata.generation ?? 0,
        observedGeneration: live.status?.observedGeneration ?? 0,
        replicas: live.spec?.replicas ?? 1,
        readyReplicas: live.status?.readyReplicas ?? 0,
        updatedReplicas: live.status?.updatedReplicas ?? 0,
      });
    }
    return observations;
  }

  /** Applies the status when it differs from what is stored; returns whether it wrote. */
  private async writeStatus(
    shard: TradingShard & KubeObject,
    reconcileError: string | undefined,
    refusals: Refusal[] = [],
  ): Promise<boolean> {
    const status = computeStatus(shard, {
      deployments: this.observeDeployments(shard),
      reconcileError,
      refusals,
      now: this.deps.now?.() ?? new Date(),
    });
    if (statusUnchanged(status, shard.status)) return false;
    await this.deps.client.apply(statusObject(shard, status), fieldManager, { subresource: 'status' });
    return true;
  }

  /**
   * Releases a deleted shard: first its Deployments and their pods (a monitor stopping writes a last
   * quote, which must not outlive the cleanup), then its Redis keys, then the finalizer. Returns how soon to look again while pods
   * are still stopping.
   */
  private async finalize(shard: TradingShard & KubeObject, holdsName: boolean): Promise<number | undefined> {
    const finalizers = shard.metadata.finalizers ?? [];
    if (!finalizers.includes(finalizer)) return undefined;
    const deployments = (this.deps.children.get('Deployment')?.list() ?? []).filter(
      (d) =>
        d.metadata.namespace === shard.metadata.namespace &&
        d.metadata.labels?.[shardLabel] === shard.metadata.name &&
        d.metadata.ownerReferences?.some((o) => o.uid === shard.metadata.uid),
    );
    if (deployments.length > 0) {
      for (const d of deployments) {
        if (!d.metadata.deletionTimestamp)
          await this.deps.client.delete(resources.deployments, d.metadata.namespace, d.metadata.name, 'Foreground');
      }
      return 1_000;
    }
    // The Deployments can be gone while their last pods still stop (and write): wait for those too.
    const { items: pods } = await this.deps.client.list(resources.pods, {
      namespace: shard.metadata.namespace,
      labelSelector: `${shardLabel}=${shard.metadata.name}`,
    });
    if (pods.length > 0) return 1_000;
    // The Redis keys of this name belong to the shard holding it: a refused twin leaves them alone.
    if (holdsName) await this.deps.cleanup(shard);
    try {
      // The resourceVersion makes this a conditional write: we never drop someone else's finalizer.
      await this.deps.client.mergePatch(resources.tradingShards, shard.metadata.namespace, shard.metadata.name, {
        metadata: { finalizers: finalizers.filter((f) => f !== finalizer), resourceVersion: shard.metadata.resourceVersion },
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
    this.deps.log.info({ shard: `${shard.metadata.namespace}/${shard.metadata.name}` }, 'cleaned up and released the shard');
    return undefined;
  }
}

/**
 * Whether the stored status already says what we computed. Other field managers (the circuit
 * breaker) own other fields and conditions there, so only ours are compared.
 */
function statusUnchanged(computed: TradingShardStatus, stored: TradingShardStatus | undefined): boolean {
  if (!stored) return false;
  const { conditions, ...fields } = computed;
  if (!containsDesired(fields, stored) || !containsDesired(stored.components ?? {}, computed.components ?? {})) return false;
  return (conditions ?? []).every((c) => {
    const found = stored.conditions?.find((s) => s.type === c.type);
    return found !== undefined && containsDesired(c, found) && containsDesired(found, c);
  });
}
