// A real Kubernetes control plane on loopback, the way controller-runtime's envtest runs one:
// etcd + kube-apiserver with a self-signed serving cert, a static admin token, RBAC on,
// and service-account signing keys; plus kube-controller-manager running only the garbage
// collector and namespace controllers, so owner references and namespace deletion work. Binaries come from $KUBEBUILDER_ASSETS (setup-envtest's
// convention) or are built once from the Go module proxy by scripts/build-control-plane.sh.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { isExecutable, onPath } from '../../cli/local/binaries.js';
import { freePort, LocalServiceError, startProcess, waitUntilReady, type ManagedProcess } from '../../cli/local/process.js';
import { packageInfo } from '../../lib/package-root.js';

export interface KubeService {
  readonly server: string;
  /** Reported by the apiserver's /version. */
  readonly version: string;
  readonly etcdVersion: string;
  /** Where the binaries came from. */
  readonly binDir: string;
  /** A client config for the cluster admin (group system:masters). */
  readonly kubeConfig: KubeConfig;
  /** Path of the same config as a kubeconfig file, for kubectl and helm. */
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  /** Restarts the apiserver (etcd keeps the data), to test clients that must survive it. */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

interface ControlPlaneBinaries {
  apiserver: string;
  controllerManager: string;
  etcd: string;
  /** Where they came from, for the rig's start-up line. */
  origin: string;
}

/** Our own build, from the cache or (when Go is there) built now. */
function builtControlPlaneDir(): string {
  const script = join(packageInfo().root, 'scripts', 'build-control-plane.sh');
  try {
    // Answers from the cache without building (and without Go).
    return execFileSync('bash', [script, '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    /* not built yet */
  }
  if (!onPath('go')) {
    throw new LocalServiceError('missing kube-apiserver and etcd: set KUBEBUILDER_ASSETS to setup-envtest binaries, or install Go >= 1.23 and run `make setup` to build them');
  }
  process.stderr.write('rig: building kube-apiserver, kube-controller-manager and etcd from the Go module proxy (once, several minutes)...\n');
  try {
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (error) {
    throw new LocalServiceError(`building kube-apiserver/etcd failed (${script}): ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * kube-apiserver and etcd from $KUBEBUILDER_ASSETS when set (setup-envtest's folder), else our
 * build. setup-envtest ships no kube-controller-manager, so that one may come from our build.
 */
export function controlPlaneBinaries(): ControlPlaneBinaries {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets) {
    for (const name of ['kube-apiserver', 'etcd']) {
      if (!isExecutable(join(assets, name))) throw new LocalServiceError(`missing ${name} in KUBEBUILDER_ASSETS=${assets}: point it at setup-envtest's folder, or unset it to build from source`);
    }
    const kcm = join(assets, 'kube-controller-manager');
    return {
      apiserver: join(assets, 'kube-apiserver'),
      etcd: join(assets, 'etcd'),
      controllerManager: isExecutable(kcm) ? kcm : join(builtControlPlaneDir(), 'kube-controller-manager'),
      origin: `KUBEBUILDER_ASSETS=${assets}`,
    };
  }
  const dir = builtControlPlaneDir();
  return { apiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd'), controllerManager: join(dir, 'kube-controller-manager'), origin: dir };
}

function httpsGet(url: string, token: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, agent: new Agent({ rejectUnauthorized: false }), timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startKube(dir: string): Promise<KubeService> {
  const binaries = controlPlaneBinaries();
  const binDir = binaries.origin;
  const { etcd: etcdBinary, apiserver: apiserverBinary, controllerManager: controllerManagerBinary } = binaries;
  const etcdVersion = (execFileSync(etcdBinary, ['--version'], { encoding: 'utf8' }).match(/etcd Version: (\S+)/) ?? [])[1] ?? 'unknown';

  // etcd
  const [etcdClientPort, etcdPeerPort, apiPort, kcmPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcd = startProcess(
    'etcd',
    etcdBinary,
    [
      '--name=rig',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=rig=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { logFile: join(dir, 'etcd.log') },
  );
  await waitUntilReady(etcd, async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, `etcd ${etcdVersion}`);

  // Credentials: a static admin token and the service-account signing key pair.
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},rig-admin,rig-admin,"system:masters"\n`, { mode: 0o600 });
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });

  const server = `https://127.0.0.1:${apiPort}`;
  let apiserver: ManagedProcess | undefined;
  const startApiserver = async () => {
    apiserver = startProcess(
      'kube-apiserver',
      apiserverBinary,
      [
        `--etcd-servers=${etcdUrl}`,
        '--advertise-address=127.0.0.1',
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // Without cert files the apiserver makes a self-signed CA and serving cert here.
        `--cert-dir=${certDir}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--allow-privileged=true',
        // No controller-manager mints service-account tokens here (as in envtest).
        '--disable-admission-plugins=ServiceAccount',
        '--v=1',
      ],
      { logFile: join(dir, 'kube-apiserver.log') },
    );
    await waitUntilReady(
      apiserver,
      async () => (await httpsGet(`${server}/readyz`, adminToken)).status === 200,
      90_000,
      'kube-apiserver',
    );
  };
  await startApiserver();

  // apiserver.crt holds the serving cert followed by the CA that signed it.
  const caPem = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
  const version = (JSON.parse((await httpsGet(`${server}/version`, adminToken)).body) as { gitVersion: string }).gitVersion;
  const kubeConfig = new KubeConfig();
  const caData = Buffer.from(caPem).toString('base64');
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'rig', server, caData, skipTLSVerify: false }],
    users: [{ name: 'rig-admin', token: adminToken }],
    contexts: [{ name: 'rig', cluster: 'rig', user: 'rig-admin' }],
    currentContext: 'rig',
  });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: rig, cluster: { server: "${server}", certificate-authority-data: "${caData}" } }]`,
      `users: [{ name: rig-admin, user: { token: "${adminToken}" } }]`,
      'contexts: [{ name: rig, context: { cluster: rig, user: rig-admin } }]',
      'current-context: rig',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const controllerManager = startProcess(
    'kube-controller-manager',
    controllerManagerBinary,
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--controllers=garbagecollector,namespace',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${join(dir, 'kcm-certs')}`,
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
    { logFile: join(dir, 'kube-controller-manager.log') },
  );
  await waitUntilReady(
    controllerManager,
    async () => (await httpsGet(`https://127.0.0.1:${kcmPort}/healthz`, adminToken)).status === 200,
    60_000,
    'kube-controller-manager',
  );
  return {
    server,
    version,
    etcdVersion,
    binDir,
    kubeConfig,
    kubeconfigPath,
    adminToken,
    async restartApiserver() {
      await apiserver?.stop();
      await startApiserver();
    },
    async stop() {
      await controllerManager.stop();
      await apiserver?.stop();
      await etcd.stop();
    },
  };
}
