// A real Kubernetes control plane on loopback, the way controller-runtime's envtest runs one:
// etcd + kube-apiserver with a self-signed serving cert, a static admin token, RBAC on,
// and service-account signing keys; plus kube-controller-manager running only the garbage
// collector and namespace controllers, so owner references and namespace deletion work.
// Binaries come from $KUBEBUILDER_ASSETS (setup-envtest's convention) or are built once from the
// Go module proxy by scripts/build-control-plane.sh.
// With `node` options it is the control plane of the rig's cluster (test/rig/node.ts) instead.
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

const CONTROL_PLANE = 'kube-apiserver, kube-controller-manager and etcd';

/** Our own build by scripts/<script> (which prints its folder), from the cache or (when Go is there) built now. */
export function builtBinariesDir(script: string, what: string): string {
  script = join(packageInfo().root, 'scripts', script);
  try {
    // Answers from the cache without building (and without Go).
    return execFileSync('bash', [script, '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    /* not built yet */
  }
  if (!onPath('go')) {
    throw new LocalServiceError(
      `missing ${what}: install Go >= 1.23 and run \`make setup\` to build them` +
        (script.endsWith('control-plane.sh') ? ', or set KUBEBUILDER_ASSETS to setup-envtest binaries' : ''),
    );
  }
  process.stderr.write(`rig: building ${what} from the Go module proxy (once, several minutes)...\n`);
  try {
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (error) {
    throw new LocalServiceError(`building ${what} failed (${script}): ${(error as Error).message.split('\n')[0]}`);
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
      if (!isExecutable(join(assets, name)))
        throw new LocalServiceError(
          `missing ${name} in KUBEBUILDER_ASSETS=${assets}: point it at setup-envtest's folder, or unset it to build from source`,
        );
    }
    const kcm = join(assets, 'kube-controller-manager');
    return {
      apiserver: join(assets, 'kube-apiserver'),
      etcd: join(assets, 'etcd'),
      controllerManager: isExecutable(kcm)
        ? kcm
        : join(builtBinariesDir('build-control-plane.sh', CONTROL_PLANE), 'kube-controller-manager'),
      origin: `KUBEBUILDER_ASSETS=${assets}`,
    };
  }
  const dir = builtBinariesDir('build-control-plane.sh', CONTROL_PLANE);
  return {
    apiserver: join(dir, 'kube-apiserver'),
    etcd: join(dir, 'etcd'),
    controllerManager: join(dir, 'kube-controller-manager'),
    origin: dir,
  };
}

export function httpsGet(url: string, token: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, agent: new Agent({ rejectUnauthorized: false }), timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** For a control plane with nodes (test/rig/node.ts); without it, the envtest-like one above. */
export interface KubeOptions {
  node?: {
    /** The apiserver binds and advertises here: pods reach it through the `kubernetes` Service. */
    address: string;
    /** Node pod ranges are allocated from this. */
    clusterCIDR: string;
    /** The apiserver's client certificate towards kubelets (logs, exec, stats). */
    kubeletClientCert: string;
    kubeletClientKey: string;
    /** The apiserver's port (a cluster's NetworkPolicies allow the usual 443/6443 to reach it). */
    port: number;
  };
  /** How processes are started (the node's outlive this process when kept); startProcess by default. */
  spawn?: typeof startProcess;
}

export async function startKube(dir: string, options: KubeOptions = {}): Promise<KubeService> {
  const { node } = options;
  const spawn = options.spawn ?? startProcess;
  const address = node?.address ?? '127.0.0.1';
  const binaries = controlPlaneBinaries();
  const binDir = binaries.origin;
  const { etcd: etcdBinary, apiserver: apiserverBinary, controllerManager: controllerManagerBinary } = binaries;
  const etcdVersion = (execFileSync(etcdBinary, ['--version'], { encoding: 'utf8' }).match(/etcd Version: (\S+)/) ?? [])[1] ?? 'unknown';

  // etcd
  const [etcdClientPort, etcdPeerPort, apiPort, kcmPort] = [
    await freePort(),
    await freePort(),
    node?.port ?? (await freePort()),
    await freePort(),
  ];
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcd = spawn(
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

  const server = `https://${address}:${apiPort}`;
  let apiserver: ManagedProcess | undefined;
  const startApiserver = async () => {
    apiserver = spawn(
      'kube-apiserver',
      apiserverBinary,
      [
        `--etcd-servers=${etcdUrl}`,
        `--advertise-address=${address}`,
        `--bind-address=${address}`,
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
        ...(node
          ? [
              '--kubelet-preferred-address-types=InternalIP',
              `--kubelet-client-certificate=${node.kubeletClientCert}`,
              `--kubelet-client-key=${node.kubeletClientKey}`,
            ]
          : // No controller-manager mints service-account tokens here (as in envtest).
            ['--disable-admission-plugins=ServiceAccount']),
        '--v=1',
      ],
      { logFile: join(dir, 'kube-apiserver.log') },
    );
    await waitUntilReady(apiserver, async () => (await httpsGet(`${server}/readyz`, adminToken)).status === 200, 90_000, 'kube-apiserver');
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
  const controllerManager = spawn(
    'kube-controller-manager',
    controllerManagerBinary,
    [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      ...(node
        ? // Every controller a cluster with pods needs, service-account tokens signed with our key.
          [
            '--controllers=*',
            // Each controller acts as its own ServiceAccount, as on a real cluster (admission
            // policies tell the replicaset-controller from an administrator).
            '--use-service-account-credentials=true',
            `--service-account-private-key-file=${join(dir, 'sa.key')}`,
            `--root-ca-file=${join(certDir, 'apiserver.crt')}`,
            '--allocate-node-cidrs=true',
            `--cluster-cidr=${node.clusterCIDR}`,
            '--node-cidr-mask-size=24',
          ]
        : ['--controllers=garbagecollector,namespace']),
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
