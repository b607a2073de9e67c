// The operator's wiring: leader election decides who acts; the leader runs informers for
// TradingShards and their children, a work queue feeding the reconciler, and the breaker and
// discovery loops. What each of those does lives beside it.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TradingShard } from '../contracts/trading-shard.js';
import { BreakerController } from './breaker/controller.js';
import type { ControlPublisher } from './breaker/control.js';
import { PrometheusClient, type PrometheusOptions } from './breaker/prometheus.js';
import type { OperatorSettings } from './builders/settings.js';
import { DiscoveryController } from './discovery.js';
import { nameHolder } from './naming.js';
import { EventRecorder } from './events.js';
import { KubeClient, resources, type KubeObject, type Resource } from './kube/client.js';
import type { KubeAuth } from './kube/config.js';
import { keyOf, namespacedInformer, type ChangeType, type ObjectCache } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import { WorkQueue } from './kube/queue.js';
import { shardLabel } from './builders/meta.js';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.js';
import { runPeriodically, type Periodic } from './periodic.js';
import { managedBySelector, Reconciler, type ShardCleanup } from './reconciler.js';
import type { Readiness } from '../lib/ops-server.js';

export interface OperatorOptions {
  /** A loadKubeConfig() result, or client-node's KubeConfig. */
  kubeConfig: KubeAuth;
  settings: OperatorSettings;
  /** Watch these namespaces only, or all when undefined. */
  namespaces?: string[];
  identity: string;
  lease: { namespace: string; name: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  cleanup: ShardCleanup;
  log: Logger;
  registry: Registry;
  concurrency?: number;
  resyncMs?: number;
  /** The circuit breaker: rules evaluated in Prometheus every intervalMs, state published to Redis. */
  breaker: { prometheus: PrometheusOptions; intervalMs: number; control: ControlPublisher };
  /** Market discovery for shards with spec.discovery: how often each runs (default 5 minutes). */
  discovery?: { intervalMs: number };
  /** Called when leadership is lost after having been held (the CLI exits so the pod restarts clean). */
  onLostLeadership?: () => void;
}

const childResources: Resource[] = [
  resources.deployments,
  resources.services,
  resources.configMaps,
  resources.networkPolicies,
  resources.podDisruptionBudgets,
];

export class Operator {
  readonly client: KubeClient;
  private readonly elector: LeaderElector;
  private shards: ObjectCache<TradingShard & KubeObject> | undefined;
  private children = new Map<string, ObjectCache<KubeObject>>();
  private queue: WorkQueue | undefined;
  private leading = false;
  private loops: Periodic[] = [];
  private readonly metrics: OperatorMetrics;

  constructor(private readonly options: OperatorOptions) {
    this.metrics = createOperatorMetrics(options.registry, {
      queueDepth: () => this.queue?.depth ?? 0,
      shards: () => this.shards?.list().length ?? 0,
    });
    this.client = new KubeClient(options.kubeConfig, (verb, resource, status) =>
      this.metrics.kubeRequests.inc({ verb, resource, code: String(status) }),
    );
    this.elector = new LeaderElector(this.client, {
      ...options.lease,
      identity: options.identity,
      onStartedLeading: () => void this.lead(),
      onStoppedLeading: () => void this.stepDown(),
      onError: (error) => options.log.warn({ err: error }, 'leader election request failed'),
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready when standing by, or when leading with every cache filled. */
  readiness(): Readiness {
    if (!this.leading) return { ready: true };
    const synced = (this.shards?.hasSynced ?? false) && [...this.children.values()].every((i) => i.hasSynced);
    return synced ? { ready: true } : { ready: false, reason: 'caches_not_synced' };
  }

  start(): void {
    this.options.log.info({ identity: this.options.identity, lease: this.options.lease }, 'operator starting; waiting for leadership');
    this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop(); // releases the lease; onStoppedLeading stops the controllers
    await this.stopControllers();
  }

  /** Resolves when nothing is queued or running (for tests and benchmarks). */
  async idle(): Promise<void> {
    await this.queue?.idle();
  }

  private async lead(): Promise<void> {
    const { log } = this.options;
    log.info({ identity: this.options.identity }, 'became leader');
    this.leading = true;
    this.metrics.leader.set(1);
    const events = new EventRecorder(this.client, this.options.identity, log);
    const onWatchError = (what: string) => (error: unknown, retryInMs: number) =>
      log.warn({ err: error, retryInMs }, `${what} watch failed; retrying`);
    this.shards = namespacedInformer<TradingShard & KubeObject>(
      this.client,
      resources.tradingShards,
      (type, shard, previous) => this.onShard(type, shard, previous),
      {
        namespaces: this.options.namespaces,
        resyncMs: this.options.resyncMs,
        onError: onWatchError('TradingShard'),
      },
    );
    for (const resource of childResources) {
      this.children.set(
        resource.kind,
        namespacedInformer(this.client, resource, (type, child) => this.onChild(type, child), {
          namespaces: this.options.namespaces,
          labelSelector: managedBySelector,
          resyncMs: this.options.resyncMs,
          onError: onWatchError(resource.kind),
        }),
      );
    }
    const reconciler = new Reconciler({
      client: this.client,
      settings: this.options.settings,
      shards: this.shards,
      children: this.children,
      events,
      cleanup: this.options.cleanup,
      log,
    });
    this.queue = new WorkQueue(
      async (key) => {
        const [namespace = '', name = ''] = key.split('/');
        const end = this.metrics.reconcileDuration.startTimer();
        try {
          const outcome = await reconciler.reconcile(namespace, name);
          this.metrics.reconciles.inc({ result: 'success' });
          if (outcome.created + outcome.updated + outcome.deleted > 0 || outcome.statusWritten)
            log.info({ shard: key, ...outcome }, 'reconciled');
          return outcome.requeueAfterMs === undefined ? undefined : { requeueAfterMs: outcome.requeueAfterMs };
        } catch (error) {
          this.metrics.reconciles.inc({ result: 'error' });
          throw error;
        } finally {
          end();
        }
      },
      (key, error, retryInMs) => log.warn({ shard: key, err: error, retryInMs }, 'reconcile failed; will retry'),
      { concurrency: this.options.concurrency ?? 8 },
    );
    // Children first, so the first reconcile of each shard sees what already exists.
    for (const informer of this.children.values()) informer.start();
    await Promise.all([...this.children.values()].map((i) => i.waitForSync()));
    this.shards.start();
    await this.shards.waitForSync();
    log.info({ shards: this.shards.list().length }, 'caches synced');
    this.startLoops(events);
  }

  /** The breaker on every live shard each interval; discovery for the shards that ask for it. */
  private startLoops(events: EventRecorder): void {
    const { breaker, log, registry, settings } = this.options;
    const all = () => this.shards?.list() ?? [];
    const breakers = new BreakerController({
      client: this.client,
      prometheus: new PrometheusClient(breaker.prometheus),
      control: breaker.control,
      events,
      log,
      registry,
    });
    const discoveryMs = this.options.discovery?.intervalMs ?? 300_000;
    const discovery = new DiscoveryController({ client: this.client, settings, events, log, intervalMs: discoveryMs });
    const onError = (what: string) => (error: unknown) => log.error({ err: error }, `${what} failed`);
    this.loops = [
      // A shard refused for its name (naming.ts) must not write the holder's control key.
      runPeriodically(
        () => breakers.evaluateAll(all().filter((s, _, list) => !s.metadata.deletionTimestamp && !nameHolder(list, s))),
        breaker.intervalMs,
        onError('circuit breaker pass'),
      ),
      // Each shard's own interval decides when it is due; look every 30 s at most.
      runPeriodically(
        () => discovery.evaluateAll(all().filter((s) => s.spec.discovery && !s.metadata.deletionTimestamp)),
        Math.min(discoveryMs, 30_000),
        onError('market discovery pass'),
      ),
    ];
  }

  private onShard(type: ChangeType, shard: TradingShard & KubeObject, previous?: TradingShard & KubeObject): void {
    // Status writes change neither generation nor metadata we act on: skip them, or we would loop.
    if (
      type === 'updated' &&
      previous &&
      previous.metadata.generation === shard.metadata.generation &&
      previous.metadata.deletionTimestamp === shard.metadata.deletionTimestamp &&
      JSON.stringify(previous.metadata.finalizers) === JSON.stringify(shard.metadata.finalizers) &&
      JSON.stringify(previous.metadata.annotations) === JSON.stringify(shard.metadata.annotations) &&
      // Discovered markets are the one status field the children depend on (the shard config).
      JSON.stringify(previous.status?.discovery?.markets) === JSON.stringify(shard.status?.discovery?.markets)
    ) {
      return;
    }
    this.queue?.add(keyOf(shard));
    // A shard of the same name elsewhere may have been waiting for this one's name.
    if (type === 'deleted')
      for (const twin of this.shards?.list() ?? []) if (twin.metadata.name === shard.metadata.name) this.queue?.add(keyOf(twin));
  }

  private onChild(type: ChangeType, child: KubeObject): void {
    if (type === 'resync') return; // the shard's own resync covers drift
    const shard = child.metadata.labels?.[shardLabel];
    if (shard) this.queue?.add(`${child.metadata.namespace}/${shard}`);
  }

  private async stepDown(): Promise<void> {
    const wasLeading = this.leading;
    await this.stopControllers();
    if (wasLeading) {
      this.options.log.warn({ identity: this.options.identity }, 'lost leadership');
      this.options.onLostLeadership?.();
    }
  }

  private async stopControllers(): Promise<void> {
    this.leading = false;
    this.metrics.leader.set(0);
    await Promise.all(this.loops.map((loop) => loop.stop()));
    this.loops = [];
    await this.queue?.shutdown();
    await Promise.all([this.shards?.stop(), ...[...this.children.values()].map((i) => i.stop())]);
    this.children = new Map();
    this.shards = undefined;
    this.queue = undefined;
  }
}
