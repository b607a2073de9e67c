// A real single-node Kubernetes cluster on this machine, for the cluster tests (rig.cluster())
// and `make cluster-up`: its own control plane (etcd, kube-apiserver, every controller),
// containerd + runc with the Debian CNI plugins, kubelet, kube-scheduler, kube-proxy (iptables),
// CoreDNS with no upstream, and kube-router's firewall so NetworkPolicies are enforced.
// The node has its own address on lo; pods are on a bridge and nothing they send leaves the
// machine. Images come from tars (scripts/image.sh), never from a registry.
// Needs root. Everything it changes on the host is undone by stop() (see node-host.ts).
//
// In a test:
//   const cluster = await rig.cluster();                  // up in ~10 s from cached binaries
//   cluster.loadImage(imageTar('arbees'));                // arbees:dev; also pause, redis, postgres
//   cluster.kube.kubeConfig / cluster.kubeconfigPath      // admin client / file for kubectl, helm
//   pods: imagePullPolicy Never (or IfNotPresent); no StorageClass: persistence off (emptyDir)
//   from the host: pod IPs (10.244.0.0/24) and ClusterIPs (10.96.0.0/16) directly; NodePorts
//   at cluster.nodeIP; DNS names through CoreDNS at cluster.nodeIP:53
//   await cluster.kubeletStats()                          // the kubelet's /stats/summary
//   cluster.memory()                                      // RSS of each node process (MiB)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isExecutable, onPath } from '../../cli/local/binaries.js';
import { freePort, LocalServiceError, waitUntilReady } from '../../cli/local/process.js';
import { packageInfo } from '../../lib/package-root.js';
import { builtBinariesDir, httpsGet, startKube, type KubeService } from './kube.js';
import {
  alive,
  claimHost,
  requireRootAndCgroups,
  daemonSpawner,
  guardForwarding,
  guardRejected,
  run,
  saveState,
  setSysctl,
  shimPids,
  teardown,
  type NodeState,
} from './node-host.js';

/** Fixed: one node per machine. */
export const NODE = {
  name: 'arbees-node',
  /** On lo; kubelet, kube-proxy, CoreDNS and the apiserver listen here. */
  ip: '10.200.0.1',
  podCIDR: '10.244.0.0/24',
  serviceCIDR: '10.96.0.0/16',
  bridge: 'arbees0',
  /** kube-apiserver's port on the node's address, the usual one (NetworkPolicies in charts allow it). */
  apiPort: 6443,
  cniNetwork: 'arbees-rig',
} as const;

/**
 * Values for charts/arbees on this node (helm --values): the images the rig builds, loaded with
 * loadImage (never pulled), persistence off (the node has no StorageClass), its address ranges.
 */
export const chartValuesForNode = {
  image: { repository: 'arbees', tag: 'dev', pullPolicy: 'Never' },
  operator: { podCidr: NODE.podCIDR, serviceCidr: NODE.serviceCIDR },
  redis: { image: { repository: 'arbees-rig/redis', tag: '7', pullPolicy: 'Never' }, persistence: { enabled: false } },
  postgresql: { image: { repository: 'arbees-rig/postgres', tag: '15', pullPolicy: 'Never' }, persistence: { enabled: false } },
} as const;

export interface ClusterService {
  /** The cluster's control plane: kubeConfig (admin), kubeconfigPath, server, adminToken. */
  readonly kube: KubeService;
  readonly kubeconfigPath: string;
  readonly nodeName: string;
  /** The node's InternalIP: NodePorts are served here; CoreDNS answers here on port 53. */
  readonly nodeIP: string;
  readonly podCIDR: string;
  readonly serviceCIDR: string;
  readonly version: string;
  /** The node's folder: every component's log (`<name>.log`) and state. */
  readonly dir: string;
  /** Imports a docker-archive tar (scripts/image.sh) into the node; returns the image names. */
  loadImage(tarPath: string): string[];
  /** The kubelet's /stats/summary (node, pods, containers: CPU, memory, ...). */
  kubeletStats(): Promise<KubeletSummary>;
  /** Resident memory of each node process (MiB), the pods' shims summed as `shims`. */
  memory(): Record<string, number>;
  /** Packets from pods to outside the machine that were rejected so far. */
  egressRejected(): number;
  stop(): Promise<void>;
}

export interface KubeletSummary {
  node: { nodeName: string; memory?: { workingSetBytes?: number; usageBytes?: number }; cpu?: { usageNanoCores?: number } };
  pods: {
    podRef: { name: string; namespace: string };
    memory?: { workingSetBytes?: number };
    cpu?: { usageNanoCores?: number };
    containers?: { name: string; memory?: { workingSetBytes?: number; rssBytes?: number }; cpu?: { usageNanoCores?: number } }[];
  }[];
}

function script(name: string): string {
  return join(packageInfo().root, 'scripts', name);
}

/**
 * The tar of one of scripts/image.sh's images (arbees, pause, redis, postgres), built or rebuilt
 * when its inputs changed (seconds when nothing did; minutes the first time). With
 * ARBEES_IMAGES_PREBUILT=1 the tars already built are used as they are (CI builds them in its
 * setup phase; a developer may build them from another checkout).
 */
export function imageTar(name: string): string {
  const args = process.env.ARBEES_IMAGES_PREBUILT === '1' ? ['--cached-only', name] : [name];
  try {
    return execFileSync('bash', [script('image.sh'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '')
      .trim()
      .split('\n');
    throw new LocalServiceError(
      `image ${name} could not be built (\`make image\`): ` +
        (stderr.filter((l) => l.startsWith('image.sh:'))[0] ?? stderr.slice(-3).join(' | ')),
    );
  }
}

function requireTools(): void {
  const missing = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'iptables', 'ip6tables', 'ipset', 'nft', 'ip', 'openssl'].filter(
    (b) => !onPath(b),
  );
  if (!isExecutable('/usr/lib/cni/bridge')) missing.push('CNI plugins (/usr/lib/cni)');
  if (missing.length > 0) throw new LocalServiceError(`missing for the cluster node: ${missing.join(', ')}: run \`make setup-system\``);
}

/** A CA the kubelet trusts for client certificates, and the apiserver's certificate from it. */
function kubeletClientPki(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const [ca, caKey, cert, key, csr] = ['ca.crt', 'ca.key', 'client.crt', 'client.key', 'client.csr'].map((f) => join(dir, f)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '30', '-subj', '/CN=arbees-rig-kubelet-client-ca']);
  run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client']);
  run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '30']);
  return { ca, cert, key };
}

function containerdConfig(dir: string, socket: string, pauseImage: string): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"
]
[grpc]
  address = "${socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
${cri}]
  sandbox_image = "${pauseImage}"
  # root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj would fail every sandbox
  restrict_oom_score_adj = true
  enable_selinux = false
${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${dir}/net.d"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: NODE.cniNetwork,
    plugins: [
      {
        type: 'bridge',
        bridge: NODE.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: NODE.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

const json = (value: unknown) => `${JSON.stringify(value, null, 1)}\n`;

async function httpOk(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
}

export interface StartClusterOptions {
  /** `cluster-up`: only `make cluster-down` (or an explicit stop) tears it down. */
  kind?: NodeState['kind'];
  /** Leave everything running on stop() (ARBEES_KEEP_RIG=1 for the rig). */
  keep?: boolean;
}

export async function startCluster(dir: string, options: StartClusterOptions = {}): Promise<ClusterService> {
  requireRootAndCgroups();
  requireTools();
  const binDir = builtBinariesDir('build-node.sh', 'kubelet, kube-scheduler, kube-proxy, CoreDNS and kube-router');
  const pauseTar = imageTar('pause');
  const socket = join(dir, 'containerd.sock');
  const state = await claimHost(options.kind ?? 'rig', dir, { ip: NODE.ip, bridge: NODE.bridge, socket });
  const spawn = daemonSpawner(state);
  const keep = options.keep ?? process.env.ARBEES_KEEP_RIG === '1';
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (keep) {
      state.kept = true;
      saveState(state);
      process.stderr.write(`rig: kept the cluster node up (${dir}); \`make cluster-down\` or the next run removes it\n`);
      return;
    }
    await teardown(state);
  };
  try {
    return await bringUp();
  } catch (error) {
    await stop();
    throw error;
  }

  async function bringUp(): Promise<ClusterService> {
    const log = (name: string) => ({ logFile: join(dir, `${name}.log`) });
    // The host side: the node's address, forwarding for the pods, and the egress guard.
    run('ip', ['addr', 'add', `${NODE.ip}/32`, 'dev', 'lo']);
    setSysctl('net.ipv4.ip_forward', '1');
    setSysctl('net.bridge.bridge-nf-call-iptables', '1'); // policies must see bridged pod traffic
    guardForwarding(NODE.podCIDR);

    const pki = kubeletClientPki(join(dir, 'pki'));
    // containerd (with the pause image) and the control plane come up side by side.
    const containerdDir = join(dir, 'containerd');
    mkdirSync(join(containerdDir, 'net.d'), { recursive: true });
    writeFileSync(join(containerdDir, 'net.d', '10-arbees.conflist'), cniConfig(containerdDir));
    writeFileSync(join(containerdDir, 'config.toml'), containerdConfig(containerdDir, socket, 'docker.io/arbees-rig/pause:1'));
    const containerdUp = (async () => {
      const containerd = spawn(
        'containerd',
        onPath('containerd') ?? 'containerd',
        ['--config', join(containerdDir, 'config.toml')],
        log('containerd'),
      );
      await waitUntilReady(containerd, () => Promise.resolve(run('ctr', ['--address', socket, 'version']) !== ''), 30_000, 'containerd');
      importImage(socket, pauseTar);
    })();
    mkdirSync(join(dir, 'control-plane'), { recursive: true });
    const kube = await startKube(join(dir, 'control-plane'), {
      node: { address: NODE.ip, clusterCIDR: NODE.podCIDR, kubeletClientCert: pki.cert, kubeletClientKey: pki.key, port: NODE.apiPort },
      spawn,
    });
    await containerdUp;
    const kubeconfig = kube.kubeconfigPath;
    const api = async (path: string) => httpsGet(`${kube.server}${path}`, kube.adminToken);

    const [kubeletPort, kubeletHealth, schedulerPort, proxyHealth, proxyMetrics, dnsHealth, dnsReady, routerHealth] = await Promise.all(
      Array.from({ length: 8 }, () => freePort()),
    );
    const resolvConf = join(dir, 'resolv.conf');
    writeFileSync(resolvConf, `nameserver ${NODE.ip}\n`); // pods never get the host's resolvers
    writeFileSync(
      join(dir, 'kubelet.yaml'),
      json({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        address: NODE.ip,
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: kubeletHealth,
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki.ca } },
        authorization: { mode: 'Webhook' },
        cgroupDriver: 'cgroupfs',
        failCgroupV1: false,
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${socket}`,
        clusterDNS: [NODE.ip],
        clusterDomain: 'cluster.local',
        resolvConf,
        podLogsDir: join(dir, 'pod-logs'),
        volumePluginDir: join(dir, 'volume-plugins'),
        syncFrequency: '10s',
        // Imported images cannot be pulled again: never collect them; never evict for disk.
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
        serializeImagePulls: false,
        // cAdvisor asks containerd at its default socket only; the CRI knows our containers.
        featureGates: { PodAndContainerStatsFromCRI: true },
      }),
    );
    const kubelet = spawn(
      'kubelet',
      join(binDir, 'kubelet'),
      [
        `--config=${join(dir, 'kubelet.yaml')}`,
        `--kubeconfig=${kubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--node-ip=${NODE.ip}`,
        `--hostname-override=${NODE.name}`,
        '--v=1',
      ],
      log('kubelet'),
    );
    const scheduler = spawn(
      'kube-scheduler',
      join(binDir, 'kube-scheduler'),
      [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${schedulerPort}`,
        '--v=1',
      ],
      log('kube-scheduler'),
    );
    writeFileSync(
      join(dir, 'kube-proxy.yaml'),
      json({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig },
        hostnameOverride: NODE.name,
        bindAddress: NODE.ip,
        clusterCIDR: NODE.podCIDR,
        healthzBindAddress: `127.0.0.1:${proxyHealth}`,
        metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
        // NodePorts on the node's address only (127.0.0.1 would need route_localnet).
        nodePortAddresses: [`${NODE.ip}/32`],
        // Zero: leave the host's conntrack settings as they are.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
        iptables: { minSyncPeriod: '1s', syncPeriod: '30s' },
      }),
    );
    const proxy = spawn('kube-proxy', join(binDir, 'kube-proxy'), [`--config=${join(dir, 'kube-proxy.yaml')}`, '--v=1'], log('kube-proxy'));
    writeFileSync(
      join(dir, 'Corefile'),
      `.:53 {\n bind ${NODE.ip}\n errors\n health 127.0.0.1:${dnsHealth}\n ready 127.0.0.1:${dnsReady}\n` +
        ` kubernetes cluster.local in-addr.arpa ip6.arpa {\n  kubeconfig ${kubeconfig} rig\n  pods insecure\n` +
        `  fallthrough in-addr.arpa ip6.arpa\n }\n cache 30\n loadbalance\n}\n`,
    );
    const coredns = spawn('coredns', join(binDir, 'coredns'), ['-conf', join(dir, 'Corefile')], log('coredns'));

    await Promise.all([
      waitUntilReady(kubelet, async () => httpOk(`http://127.0.0.1:${kubeletHealth}/healthz`), 60_000, 'kubelet'),
      waitUntilReady(
        scheduler,
        async () => (await httpsGet(`https://127.0.0.1:${schedulerPort}/healthz`, kube.adminToken)).status === 200,
        60_000,
        'kube-scheduler',
      ),
      waitUntilReady(proxy, async () => httpOk(`http://127.0.0.1:${proxyHealth}/healthz`), 60_000, 'kube-proxy'),
      waitUntilReady(coredns, async () => httpOk(`http://127.0.0.1:${dnsReady}/ready`), 60_000, 'CoreDNS'),
    ]);
    // kube-router's firewall needs the Node object (and its pod range) to exist.
    await waitUntilReady(
      kubelet,
      async () => /"podCIDR":/.test((await api(`/api/v1/nodes/${NODE.name}`)).body),
      60_000,
      `Node ${NODE.name} with a pod range`,
    );
    const router = spawn(
      'kube-router',
      join(binDir, 'kube-router'),
      [
        `--kubeconfig=${kubeconfig}`,
        '--run-firewall=true',
        '--run-router=false',
        '--run-service-proxy=false',
        '--enable-cni=false',
        `--hostname-override=${NODE.name}`,
        `--service-cluster-ip-range=${NODE.serviceCIDR}`,
        `--health-port=${routerHealth}`,
        '--metrics-port=0',
        '--v=1',
      ],
      log('kube-router'),
    );
    await waitUntilReady(router, async () => httpOk(`http://127.0.0.1:${routerHealth}/healthz`), 60_000, 'kube-router');
    await waitUntilReady(kubelet, async () => nodeReady((await api(`/api/v1/nodes/${NODE.name}`)).body), 90_000, `Node ${NODE.name} Ready`);
    // Pods applied before the default ServiceAccount exists are refused.
    await waitUntilReady(
      kubelet,
      async () => (await api('/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      60_000,
      'the default ServiceAccount',
    );

    return {
      kube,
      kubeconfigPath: kubeconfig,
      nodeName: NODE.name,
      nodeIP: NODE.ip,
      podCIDR: NODE.podCIDR,
      serviceCIDR: NODE.serviceCIDR,
      version: kube.version,
      dir,
      loadImage: (tar) => importImage(socket, tar),
      async kubeletStats() {
        const res = await api(`/api/v1/nodes/${NODE.name}/proxy/stats/summary`);
        if (res.status !== 200) throw new Error(`kubelet stats: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
        return JSON.parse(res.body) as KubeletSummary;
      },
      memory: () => memoryOf(state),
      egressRejected: guardRejected,
      stop,
    };
  }
}

/** Imports a docker-archive tar into the node's containerd (where kubelet finds images); returns the image names. */
export function importImage(containerdSocket: string, tar: string): string[] {
  const out = run('ctr', ['--address', containerdSocket, '-n', 'k8s.io', 'images', 'import', tar]);
  return [...out.matchAll(/unpacking (\S+)/g)].map((m) => m[1] ?? '');
}

function nodeReady(body: string): boolean {
  const node = JSON.parse(body) as { status?: { conditions?: { type: string; status: string }[] } };
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function memoryOf(state: NodeState): Record<string, number> {
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const result: Record<string, number> = {};
  for (const p of state.processes) if (alive(p.pid)) result[p.name] = Math.round((result[p.name] ?? 0) + rss(p.pid));
  result.shims = Math.round(shimPids(state.containerdSocket).reduce((sum, pid) => sum + rss(pid), 0));
  return result;
}
