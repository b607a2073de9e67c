// A thin Kubernetes REST client over node:https, authenticated from a kubeconfig. We send and
// receive plain JSON objects: client-node's typed models silently drop fields they do not know
// (e.g. JSON-schema `enum`), which would corrupt server-side apply.
import { request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeAuth } from './config.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface Resource {
  kind: string;
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const resources = {
  tradingShards: { kind: 'TradingShard', group: 'arbees.io', version: 'v1alpha1', plural: 'tradingshards', namespaced: true },
  deployments: { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  services: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  configMaps: { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  networkPolicies: { kind: 'NetworkPolicy', group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespaced: true },
  podDisruptionBudgets: { kind: 'PodDisruptionBudget', group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', namespaced: true },
  serviceAccounts: { kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  events: { kind: 'Event', group: '', version: 'v1', plural: 'events', namespaced: true },
  leases: { kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
  secrets: { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', namespaced: true },
  pods: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true },
} satisfies Record<string, Resource>;

const kindToResource: Record<string, Resource> = Object.fromEntries(Object.values(resources).map((r) => [r.kind, r]));

export const apiVersionOf = (resource: Resource) => (resource.group ? `${resource.group}/${resource.version}` : resource.version);

export function resourceOf(kind: string): Resource {
  const resource = kindToResource[kind];
  if (!resource) throw new Error(`no REST mapping for kind ${kind}`);
  return resource;
}

/** The collection path of a resource, optionally in a namespace (all namespaces when omitted). */
export function collectionPath(resource: Resource, namespace?: string): string {
  const base = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  return namespace && resource.namespaced ? `${base}/namespaces/${namespace}/${resource.plural}` : `${base}/${resource.plural}`;
}

export function objectPath(resource: Resource, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** Counts requests by verb and resource, so tests and benchmarks can prove a steady state makes no writes. */
export type RequestObserver = (verb: string, resource: string, status: number) => void;

/** The resource plural (and subresource) a request path names, e.g. "tradingshards/status". */
export function resourceOfPath(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const at = parts.indexOf('namespaces');
  const rest = at >= 0 ? parts.slice(at + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
  return rest.length === 0 ? 'namespaces' : rest.length >= 3 ? `${rest[0]}/${rest[2]}` : rest[0]!;
}

const partialMetadata = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export class KubeClient {
  private readonly server: URL;

  constructor(
    private readonly config: KubeAuth,
    private readonly observe: RequestObserver = () => undefined,
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  private async options(method: string, path: string, headers: Record<string, string>, timeoutMs?: number): Promise<RequestOptions> {
    const url = new URL(path, this.server);
    const options: RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: { accept: 'application/json', ...headers },
      timeout: timeoutMs,
    };
    await this.config.applyToHTTPSOptions(options);
    return options;
  }

  /** One request; JSON in, JSON out; non-2xx becomes a KubeApiError with the server's message. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 30_000,
    accept = 'application/json',
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options = await this.options(method, path, { accept, ...(payload ? { 'content-type': contentType } : {}) }, timeoutMs);
    const send = options.protocol === 'http:' ? httpRequest : request;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
    this.observe(method, resourceOfPath(path), status);
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (status < 200 || status >= 300) {
      const statusBody = parsed as { reason?: string; message?: string } | undefined;
      throw new KubeApiError(status, statusBody?.reason ?? 'Unknown', statusBody?.message ?? `${method} ${path}: HTTP ${status}`, parsed);
    }
    return parsed as T;
  }

  get<T = KubeObject>(resource: Resource, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', objectPath(resource, namespace, name));
  }

  /**
   * An object's metadata only (PartialObjectMetadata), or undefined on 404: how the operator checks
   * a Secret's labels without ever receiving its data.
   */
  async metadataOf(resource: Resource, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.request<KubeObject>('GET', objectPath(resource, namespace, name), undefined, undefined, undefined, partialMetadata);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** get, or undefined on 404. */
  async find<T = KubeObject>(resource: Resource, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(resource, namespace, name);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T = KubeObject>(
    resource: Resource,
    options: { namespace?: string; labelSelector?: string } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const query = new URLSearchParams({ limit: '500' });
      if (options.labelSelector) query.set('labelSelector', options.labelSelector);
      if (continueToken) query.set('continue', continueToken);
      const page = await this.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(
        'GET',
        `${collectionPath(resource, options.namespace)}?${query.toString()}`,
      );
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  /**
   * Server-side apply with our field manager. `force` takes ownership of fields another manager
   * set (we are the controller of these objects).
   */
  apply<T = KubeObject>(object: KubeObject, fieldManager: string, options: { subresource?: 'status'; dryRun?: boolean } = {}): Promise<T> {
    const resource = resourceOf(object.kind);
    const query = new URLSearchParams({ fieldManager, force: 'true' });
    if (options.dryRun) query.set('dryRun', 'All');
    const subresource = options.subresource ? `/${options.subresource}` : '';
    const path = `${objectPath(resource, object.metadata.namespace, object.metadata.name)}${subresource}?${query.toString()}`;
    // JSON is YAML, so an apply patch can be sent as JSON.
    return this.request<T>('PATCH', path, object, 'application/apply-patch+yaml');
  }

  mergePatch<T = KubeObject>(resource: Resource, namespace: string | undefined, name: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', objectPath(resource, namespace, name), patch, 'application/merge-patch+json');
  }

  jsonPatch<T = KubeObject>(resource: Resource, namespace: string | undefined, name: string, patch: unknown[]): Promise<T> {
    return this.request<T>('PATCH', objectPath(resource, namespace, name), patch, 'application/json-patch+json');
  }

  /** Deletes; `Foreground`: the object goes only once its dependents (a Deployment's pods) are gone. */
  async delete(
    resource: Resource,
    namespace: string | undefined,
    name: string,
    propagationPolicy: 'Background' | 'Foreground' = 'Background',
  ): Promise<void> {
    try {
      await this.request('DELETE', objectPath(resource, namespace, name), {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        propagationPolicy,
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return;
      throw error;
    }
  }

  create<T = KubeObject>(object: KubeObject): Promise<T> {
    return this.request<T>('POST', collectionPath(resourceOf(object.kind), object.metadata.namespace), object);
  }

  replace<T = KubeObject>(object: KubeObject): Promise<T> {
    return this.request<T>('PUT', objectPath(resourceOf(object.kind), object.metadata.namespace, object.metadata.name), object);
  }

  /**
   * Streams watch events until the server ends the watch, the timeout passes, or `signal` aborts.
   * Resolves when the stream ends; a 410 arrives as an ERROR event (or a KubeApiError).
   */
  async watch<T>(
    resource: Resource,
    options: { namespace?: string; labelSelector?: string; resourceVersion: string; timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const query = new URLSearchParams({
      watch: '1',
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(options.timeoutSeconds),
    });
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    const path = `${collectionPath(resource, options.namespace)}?${query.toString()}`;
    // The socket idle timeout catches a dead connection the server can no longer end.
    const requestOptions = await this.options('GET', path, {}, (options.timeoutSeconds + 30) * 1000);
    const send = requestOptions.protocol === 'http:' ? httpRequest : request;
    await new Promise<void>((resolve, reject) => {
      const req = send({ ...requestOptions, signal: options.signal }, (res) => {
        this.observe('WATCH', resourceOfPath(path), res.statusCode ?? 0);
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const body = safeJson(text) as { reason?: string; message?: string } | undefined;
            reject(
              new KubeApiError(
                res.statusCode ?? 0,
                body?.reason ?? 'Unknown',
                body?.message ?? `watch ${path}: HTTP ${res.statusCode}`,
                body,
              ),
            );
          });
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let newline = buffer.indexOf('\n');
          for (; newline >= 0; newline = buffer.indexOf('\n')) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (error) {
              // A handler error (e.g. 410 in an ERROR event) ends this watch for the caller.
              req.destroy();
              reject(error instanceof Error ? error : new Error(String(error)));
              return;
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', (error) => (options.signal.aborted ? resolve() : reject(error)));
        res.on('aborted', () => resolve());
      });
      req.on('timeout', () => req.destroy(new Error(`watch ${path}: no data for ${options.timeoutSeconds + 30} s`)));
      req.on('error', (error) => (options.signal.aborted ? resolve() : reject(error)));
      req.end();
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}
