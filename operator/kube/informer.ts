// An informer: a local cache of one resource kept current by list + watch, telling a handler
// about every change. It survives what real clusters do: watch expiry (410 Gone → relist),
// dropped connections and apiserver restarts (reconnect with backoff), and missed events
// (a periodic relist, which also re-announces every object so drift gets reconciled).
import { apiVersionOf, KubeApiError, type KubeClient, type KubeObject, type Resource } from './client.js';

export type ChangeType = 'added' | 'updated' | 'deleted' | 'resync';
export type ChangeHandler<T extends KubeObject> = (type: ChangeType, object: T, previous?: T) => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Full relist period; every cached object is re-announced as 'resync'. */
  resyncMs?: number;
  /** Server-side watch duration before a routine re-watch. */
  watchSeconds?: number;
  onError?: (error: unknown, retryInMs: number) => void;
}

export const keyOf = (object: KubeObject) => `${object.metadata.namespace ?? ''}/${object.metadata.name}`;

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private abort = new AbortController();
  private running = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private lastResync = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly resource: Resource,
    private readonly handler: ChangeHandler<T>,
    private readonly options: InformerOptions = {},
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  /** Resolves after the first complete list. */
  async waitForSync(): Promise<void> {
    if (this.synced) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (this.running) {
      try {
        if (needList || Date.now() - this.lastResync >= (this.options.resyncMs ?? 600_000)) {
          await this.relist();
          needList = false;
        }
        const watchSeconds = this.options.watchSeconds ?? 240 + Math.floor(Math.random() * 120);
        await this.client.watch<T>(
          this.resource,
          {
            namespace: this.options.namespace,
            labelSelector: this.options.labelSelector,
            resourceVersion: this.resourceVersion,
            timeoutSeconds: Math.min(
              watchSeconds,
              Math.max(1, Math.ceil(((this.options.resyncMs ?? 600_000) - (Date.now() - this.lastResync)) / 1000)),
            ),
            signal: this.abort.signal,
          },
          (event) => {
            if (event.type === 'ERROR') {
              const status = event.object as unknown as { code?: number; message?: string };
              throw new KubeApiError(status.code ?? 500, 'WatchError', status.message ?? 'watch error');
            }
            if (event.type === 'BOOKMARK') {
              this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
              return;
            }
            this.apply(event.type, event.object);
          },
        );
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        if (error instanceof KubeApiError && error.status === 410) {
          needList = true; // our resourceVersion is too old: start again from a fresh list
          continue;
        }
        failures += 1;
        needList = true;
        const retryInMs = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6));
        this.options.onError?.(error, retryInMs);
        await sleep(retryInMs, this.abort.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.client.list<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
    });
    const seen = new Set<string>();
    for (const item of items) {
      // Lists omit apiVersion/kind on items; restore them for consumers.
      item.apiVersion ??= apiVersionOf(this.resource);
      item.kind ??= this.resource.kind;
      const key = keyOf(item);
      seen.add(key);
      const previous = this.cache.get(key);
      if (previous && previous.metadata.resourceVersion === item.metadata.resourceVersion) {
        // Unchanged: keep the cached copy, so the fresh one dies young instead of replacing a
        // long-lived object every resync (old-generation churn is what grows the heap).
        this.handler('resync', previous, previous);
        continue;
      }
      this.cache.set(key, slim(item));
      if (!previous) this.handler('added', item);
      else this.handler('updated', item, previous);
    }
    for (const [key, object] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handler('deleted', object);
      }
    }
    this.resourceVersion = resourceVersion;
    this.lastResync = Date.now();
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void {
    const key = keyOf(object);
    this.resourceVersion = object.metadata.resourceVersion ?? this.resourceVersion;
    const previous = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.handler('deleted', object);
      return;
    }
    this.cache.set(key, slim(object));
    this.handler(previous ? 'updated' : 'added', object, previous);
  }
}

/**
 * What the cache keeps of an object: all of it but metadata.managedFields, which is often the
 * largest part (one entry per field manager, every field listed) and which nothing here reads —
 * server-side apply computes ownership on the server.
 */
function slim<T extends KubeObject>(object: T): T {
  delete object.metadata.managedFields;
  return object;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** What the reconciler reads: an informer's cache, over one namespace, several, or all. */
export interface ObjectCache<T extends KubeObject> {
  readonly hasSynced: boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  start(): void;
  stop(): Promise<void>;
  waitForSync(): Promise<void>;
}

/**
 * One informer per namespace of `namespaces` (every namespace when undefined), read as one cache:
 * an operator limited to some namespaces needs only namespaced permissions there.
 */
export function namespacedInformer<T extends KubeObject>(
  client: KubeClient,
  resource: Resource,
  handler: ChangeHandler<T>,
  options: Omit<InformerOptions, 'namespace'> & { namespaces?: string[] },
): ObjectCache<T> {
  const { namespaces, ...rest } = options;
  const parts = (namespaces ?? [undefined]).map((namespace) => new Informer<T>(client, resource, handler, { ...rest, namespace }));
  if (parts.length === 1) return parts[0]!;
  return {
    get hasSynced() {
      return parts.every((p) => p.hasSynced);
    },
    get: (namespace, name) => parts.map((p) => p.get(namespace, name)).find((o) => o !== undefined),
    list: () => parts.flatMap((p) => p.list()),
    start: () => parts.forEach((p) => p.start()),
    stop: async () => {
      await Promise.all(parts.map((p) => p.stop()));
    },
    waitForSync: async () => {
      await Promise.all(parts.map((p) => p.waitForSync()));
    },
  };
}
