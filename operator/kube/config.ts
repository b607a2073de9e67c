// Where the operator's Kubernetes credentials come from, without @kubernetes/client-node: its
// KubeConfig imports the library's whole generated API (tens of MB of resident memory in a
// process that only needs a server URL, a CA and a token). We read the common cases ourselves —
// in-cluster service account, and kubeconfig files with tokens or client certificates — and hand
// anything else (exec plugins, auth providers, proxies, merged KUBECONFIG lists) to client-node.
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';

/** What KubeClient needs from a kubeconfig; client-node's KubeConfig has this shape too. */
export interface KubeAuth {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound service-account tokens rotate; re-read the file this often, as client-go does. */
const tokenFileMaxAgeMs = 60_000;

interface Credentials {
  server: string;
  ca?: Buffer;
  skipTlsVerify?: boolean;
  tlsServerName?: string;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  basic?: { username: string; password: string };
}

class LeanKubeConfig implements KubeAuth {
  private token: { value: string; readAt: number } | undefined;

  constructor(private readonly credentials: Credentials) {}

  getCurrentCluster(): { server: string } {
    return { server: this.credentials.server };
  }

  applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    const c = this.credentials;
    if (c.ca) options.ca = c.ca;
    if (c.cert) options.cert = c.cert;
    if (c.key) options.key = c.key;
    if (c.skipTlsVerify) options.rejectUnauthorized = false;
    if (c.tlsServerName) options.servername = c.tlsServerName;
    const headers = (options.headers ??= {}) as Record<string, string>;
    const token = c.token ?? (c.tokenFile ? this.readToken(c.tokenFile) : undefined);
    if (token) headers.authorization = `Bearer ${token}`;
    else if (c.basic) headers.authorization = `Basic ${Buffer.from(`${c.basic.username}:${c.basic.password}`).toString('base64')}`;
    return Promise.resolve();
  }

  private readToken(file: string): string {
    if (!this.token || Date.now() - this.token.readAt > tokenFileMaxAgeMs)
      this.token = { value: readFileSync(file, 'utf8').trim(), readAt: Date.now() };
    return this.token.value;
  }
}

/** The in-cluster service account, as client-go's rest.InClusterConfig reads it. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = serviceAccountDir): KubeAuth {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  return new LeanKubeConfig({
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    tokenFile: join(dir, 'token'),
  });
}

// The kubeconfig keys we handle; any other user or cluster key means client-node must do it.
const userKeys = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'username',
  'password',
]);
const clusterKeys = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);

/** The current context of one kubeconfig file, or undefined when it needs client-node. */
export function parseKubeconfig(text: string, file: string): KubeAuth | undefined {
  const doc = (parseYaml(text) ?? {}) as {
    'current-context'?: string;
    contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
    clusters?: Array<{ name: string; cluster?: Record<string, unknown> }>;
    users?: Array<{ name: string; user?: Record<string, unknown> }>;
  };
  const context = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  if (!context) throw new Error(`${file}: no current context`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string')
    throw new Error(`${file}: context "${doc['current-context']}" has no cluster with a server`);
  const user = (context.user ? doc.users?.find((u) => u.name === context.user)?.user : undefined) ?? {};
  if (Object.keys(user).some((k) => !userKeys.has(k)) || Object.keys(cluster).some((k) => !clusterKeys.has(k))) return undefined;

  // Paths in a kubeconfig are relative to the file.
  const read = (path: unknown) =>
    typeof path === 'string' && path ? readFileSync(isAbsolute(path) ? path : join(dirname(file), path)) : undefined;
  const data = (value: unknown) => (typeof value === 'string' && value ? Buffer.from(value, 'base64') : undefined);
  const str = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const tokenFile = str(user.tokenFile);
  return new LeanKubeConfig({
    server: cluster.server,
    ca: data(cluster['certificate-authority-data']) ?? read(cluster['certificate-authority']),
    skipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster['tls-server-name']),
    cert: data(user['client-certificate-data']) ?? read(user['client-certificate']),
    key: data(user['client-key-data']) ?? read(user['client-key']),
    token: str(user.token),
    tokenFile: tokenFile && !isAbsolute(tokenFile) ? join(dirname(file), tokenFile) : tokenFile,
    basic: str(user.username) !== undefined ? { username: str(user.username)!, password: str(user.password) ?? '' } : undefined,
  });
}

/** client-node's KubeConfig, loaded only when a kubeconfig needs what we do not handle. */
async function viaClientNode(load: (kc: KubeConfig) => void): Promise<KubeAuth> {
  const clientNode = await import('@kubernetes/client-node');
  const kubeConfig = new clientNode.KubeConfig();
  load(kubeConfig);
  return kubeConfig;
}

/**
 * The operator's credentials: the given kubeconfig file; else, in client-node's loadFromDefault
 * order, $KUBECONFIG, ~/.kube/config, the in-cluster service account.
 */
export async function loadKubeConfig(options: { file?: string; env?: NodeJS.ProcessEnv; serviceAccount?: string } = {}): Promise<KubeAuth> {
  const env = options.env ?? process.env;
  const fromFile = (file: string) => parseKubeconfig(readFileSync(file, 'utf8'), file) ?? viaClientNode((kc) => kc.loadFromFile(file));
  if (options.file) return fromFile(options.file);
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 1) return viaClientNode((kc) => kc.loadFromDefault()); // merging several files is client-node's job
  if (files.length === 1) return fromFile(files[0]!);
  const home = env.HOME ?? homedir();
  if (home && existsSync(join(home, '.kube', 'config'))) return fromFile(join(home, '.kube', 'config'));
  const serviceAccount = options.serviceAccount ?? serviceAccountDir;
  if (existsSync(join(serviceAccount, 'token'))) return inClusterConfig(env, serviceAccount);
  throw new Error('no Kubernetes credentials: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
}
