// Proves the VPN stand-in (scripts/images/vpn-standin/, gluetun's contract) on the rig's node, on
// its own: a pod shaped like the operator's Polymarket pod (the operator's own vpn sidecar spec as
// a native sidecar, and an app container of the Arbees image) tunnels to the exit on the node
// (test/support/vpn-exit.ts); the Polymarket simulator runs as a pod "on the internet" (a Service
// external IP, allowing only the exit's address) and reports the source it sees at /api/geoblock.
// Through the tunnel the venue sees the exit's address, for the app and for another pod through
// the proxy; the pod's own address never reaches the venue, not even with a route around the
// tunnel; cut at the exit, connections fail (no fallback), the health check fails, the control
// server says stopped and the monitor's probe is down; restored, all recovers; a restart of the
// sidecar keeps the pod closed. Needs root; the first run builds the node and the images.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { CoreV1Api, NetworkingV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { packageInfo } from '../../lib/package-root.js';
import { restrictedContainerSecurity } from '../../operator/builders/deployments.js';
import type { OperatorSettings } from '../../operator/builders/settings.js';
import { vpnProxyPort, vpnSidecar, vpnVolumes } from '../../operator/builders/vpn.js';
import { rig } from '../rig/index.js';
import { imageTar, type ClusterService } from '../rig/node.js';
import { tool } from '../rig/tools.js';
import { startVpnExit, type VpnExit } from '../support/vpn-exit.js';
import { waitFor } from '../support/wait.js';

const namespace = 'vpn-standin';
const image = 'arbees:dev';
const vpnImage = 'arbees-rig/vpn-standin:1';
/** The venue's address "on the internet": a Service external IP, outside every cluster range. */
const venueIP = '203.0.113.10';
const venueUrl = `http://${venueIP}/api/geoblock`;
const apiKey = randomBytes(16).toString('hex');
/** The simulator's built-in scenario, which the image does not carry (only dist/). */
const scenarioYaml = readFileSync(join(packageInfo().root, 'workloads', 'sim', 'scenarios', 'demo.yaml'), 'utf8');

/**
 * A request from inside a pod, printing {status, body} or {error}: `fetch` (through undici's
 * ProxyAgent when a proxy is given, as the executor sends) or, with `plain`, an absolute-form GET
 * to the proxy (gluetun's plain HTTP proxying).
 */
const client = `const o = JSON.parse(process.argv[1]);
const print = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
const failed = (e) => print({ error: String(e.cause?.code ?? e.code ?? e.name), message: String(e.cause?.message ?? e.message) });
setTimeout(() => print({ error: 'TIMEOUT' }), o.timeoutMs);
if (o.plain) {
  const p = new URL(o.proxy);
  require('http').get({ host: p.hostname, port: p.port, path: o.url, headers: { host: new URL(o.url).host } }, (res) => {
    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => print({ status: res.statusCode, body }));
  }).on('error', failed);
} else {
  const { fetch, ProxyAgent } = require('undici');
  const dispatcher = o.proxy ? new ProxyAgent(o.proxy) : undefined;
  fetch(o.url, { method: o.method, headers: o.headers, body: o.body, dispatcher })
    .then(async (r) => print({ status: r.status, body: await r.text() }), failed);
}`;
interface Request {
  url: string;
  proxy?: string;
  plain?: boolean;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}
/** The monitor's own probe (workloads/polymarket-monitor/vpn.ts) from the image, against the stand-in. */
const probe = `const { VpnProbe } = await import('/app/dist/workloads/polymarket-monitor/vpn.js');
const [geoblockUrl, controlUrl, controlApiKey] = process.argv.slice(1);
console.log(JSON.stringify(await new VpnProbe({ geoblockUrl, controlUrl, controlApiKey, timeoutMs: 3000 }).check()));`;

type Outcome = { status?: number; body?: string; error?: string; message?: string };
interface Geoblock {
  blocked: boolean;
  ip: string;
  country: string;
}

/** The app container of the operator's pods, idle: the tests run their clients in it. */
function appContainer(name: string): V1Container {
  return {
    name,
    image,
    imagePullPolicy: 'Never',
    command: ['/usr/local/bin/node'],
    args: ['-e', 'setInterval(() => {}, 1 << 30)'],
    securityContext: restrictedContainerSecurity,
  };
}
/** As the operator's pods: non-root, RuntimeDefault seccomp, no token, no service links. */
function pod(name: string, spec: Partial<NonNullable<V1Pod['spec']>> & { containers: V1Container[] }): V1Pod {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 2,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      ...spec,
    },
  };
}

describe('cluster: the VPN stand-in sidecar and its exit', function () {
  this.timeout(1_800_000); // a first run builds the node's binaries and the images
  let cluster: ClusterService;
  let core: CoreV1Api;
  let exit: VpnExit;
  const ip = { poly: '', venue: '', client: '' };
  const timings: [string, number][] = [];
  async function timed<T>(name: string, action: () => T | Promise<T>): Promise<T> {
    const began = Date.now();
    const result = await action();
    timings.push([name, (Date.now() - began) / 1000]);
    process.stderr.write(`    ${name}: ${((Date.now() - began) / 1000).toFixed(1)}s\n`);
    return result;
  }
  const kubectl = (args: string[]) => {
    const result = spawnSync(tool('kubectl'), ['--kubeconfig', cluster.kubeconfigPath, '-n', namespace, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    // kubectl's own diagnostics (klog lines such as a stream's close error) go to stderr, apart
    // from what the command printed.
    return { code: result.status ?? -1, out: (result.stdout ?? '').trim(), err: (result.stderr ?? '').trim() };
  };
  const inPod = (podName: string, container: string, ...command: string[]) => kubectl(['exec', podName, '-c', container, '--', ...command]);
  /** Runs node with `args` in a pod's container; its last line of output, as JSON. */
  const node = (podName: string, container: string, ...args: string[]) => {
    const { code, out, err } = inPod(podName, container, '/usr/local/bin/node', ...args);
    if (code !== 0) throw new Error(`node in ${podName}/${container} exited ${code}: ${out}\n${err}`);
    return JSON.parse(out.split('\n').pop() ?? '') as unknown;
  };
  const request = (from: string, container: string, r: Request) =>
    node(from, container, '-e', client, JSON.stringify({ timeoutMs: 5000, ...r })) as Outcome;
  const geoblock = (outcome: Outcome): Geoblock => {
    expect(outcome.status, JSON.stringify(outcome)).to.equal(200);
    return JSON.parse(outcome.body ?? '') as Geoblock;
  };
  /** The stand-in's control server, from the app container (it listens on the pod's loopback). */
  const control = (path: string, key?: string, put?: object) => {
    const headers: Record<string, string> = key === undefined ? {} : { 'X-API-Key': key };
    const outcome = request('poly', 'app', {
      url: `http://127.0.0.1:8000${path}`,
      headers,
      ...(put ? { method: 'PUT', body: JSON.stringify(put) } : {}),
    });
    return { status: outcome.status, json: outcome.status === 200 ? (JSON.parse(outcome.body ?? '') as unknown) : outcome };
  };
  const fromApp = (timeoutMs = 5000) => request('poly', 'app', { url: venueUrl, timeoutMs });
  const healthcheck = () => inPod('poly', 'vpn', '/gluetun-entrypoint', 'healthcheck').code;
  /** Packets the stand-in's firewall dropped on their way out. */
  const dropped = () =>
    Number(/packets (\d+)/.exec(inPod('poly', 'vpn', 'nft', 'list', 'counter', 'inet', 'gluetun', 'out_dropped').out)?.[1]);
  const monitorProbe = () =>
    node('poly', 'app', '--input-type=module', '-e', probe, venueUrl, 'http://127.0.0.1:8000', apiKey) as {
      up: boolean;
      reason: string;
      ip?: string;
    };
  const vpnStatus = async () =>
    (await core.readNamespacedPod({ name: 'poly', namespace })).status?.initContainerStatuses?.find((c) => c.name === 'vpn');
  const proxyUrl = `http://poly-proxy.${namespace}.svc.cluster.local:${vpnProxyPort}`;

  before(async function () {
    cluster = await timed('node up', () => rig.cluster());
    const tars = await timed('images (scripts/image.sh arbees vpn-standin)', () => [imageTar('arbees'), imageTar('vpn-standin')]);
    await timed('images import', () => tars.forEach((tar) => cluster.loadImage(tar)));
    core = cluster.kube.kubeConfig.makeApiClient(CoreV1Api);
    exit = await timed('exit up', () => startVpnExit({ nodeIP: cluster.nodeIP, podCIDR: cluster.podCIDR }));
    await core.createNamespace({ body: { metadata: { name: namespace } } });

    // The VPN Secret under gluetun's names, as a user would fill it for the custom provider.
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'vpn' }, stringData: exit.secretData } });
    // The venue: the Polymarket simulator, allowing only the exit's address.
    const creds = { apiKey: 'vpn', secret: randomBytes(32).toString('base64'), passphrase: 'vpn', address: `0x${'0'.repeat(39)}1` };
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'venue' }, data: { 'creds.json': JSON.stringify(creds), 'scenario.yaml': scenarioYaml } },
    });
    const venueArgs = [
      'sim',
      'polymarket',
      '--creds',
      '/etc/venue/creds.json',
      '--scenario',
      '/etc/venue/scenario.yaml',
      '--host',
      '0.0.0.0',
    ];
    const venue = pod('venue', {
      containers: [
        {
          name: 'sim',
          image,
          imagePullPolicy: 'Never',
          args: [...venueArgs, '--port', '8080', '--allow-cidr', `${exit.exitIP}/32`, '--log-level', 'warn'],
          securityContext: restrictedContainerSecurity,
          volumeMounts: [{ name: 'venue', mountPath: '/etc/venue', readOnly: true }],
        },
      ],
      volumes: [{ name: 'venue', configMap: { name: 'venue' } }],
    });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'venue' },
        spec: { selector: { app: 'venue' }, externalIPs: [venueIP], ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    // The Polymarket pod: the operator's sidecar spec with the stand-in image, and an app container.
    const shard = {
      metadata: { name: 'vpn-test', namespace },
      spec: {
        venues: {
          polymarket: { vpn: { provider: 'custom', type: 'wireguard', serverCountries: ['Ireland'], secretRef: { name: 'vpn' } } },
        },
      },
    } as unknown as TradingShard;
    const settings = { podCidr: cluster.podCIDR, serviceCidr: cluster.serviceCIDR, metricsPort: 9464 } as OperatorSettings;
    const sidecar = vpnSidecar(shard, settings, vpnImage) as V1Container;
    sidecar.imagePullPolicy = 'Never';
    // The control server's API key (gluetun ≥ 3.41's default role); the operator sets none yet.
    sidecar.env = [
      ...(sidecar.env ?? []),
      { name: 'HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE', value: JSON.stringify({ auth: 'apikey', apikey: apiKey }) },
    ];
    const poly = pod('poly', { initContainers: [sidecar], containers: [appContainer('app')], volumes: vpnVolumes });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'poly-proxy' },
        spec: { selector: { app: 'poly' }, ports: [{ name: 'vpn-proxy', port: vpnProxyPort, targetPort: 'vpn-proxy' }] },
      },
    });
    // Enforced around the pod, as the operator's NetworkPolicy does: out, only the tunnel's UDP to
    // the endpoint and DNS; in, only the proxy from the client. (The exit's packets back come from
    // the node, which NetworkPolicies always admit.)
    await cluster.kube.kubeConfig.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'poly' },
        spec: {
          podSelector: { matchLabels: { app: 'poly' } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: vpnProxyPort }] }],
          egress: [
            { to: [{ ipBlock: { cidr: `${exit.endpoint.ip}/32` } }], ports: [{ protocol: 'UDP', port: exit.endpoint.port }] },
            { ports: ['UDP', 'TCP'].map((protocol) => ({ protocol, port: 53 })) },
          ],
        },
      },
    });
    await timed('pods ready (venue, poly with its sidecar, client)', async () => {
      await Promise.all(
        [venue, poly, pod('client', { containers: [appContainer('app')] })].map((body) => core.createNamespacedPod({ namespace, body })),
      );
      for (const name of Object.keys(ip) as (keyof typeof ip)[]) {
        ip[name] = await waitFor(
          `pod ${name} ready`,
          async () => {
            const status = (await core.readNamespacedPod({ name, namespace })).status;
            return status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && status.podIP;
          },
          180_000,
        );
      }
    });
    await waitFor('the venue to listen', () => !request('client', 'app', { url: `http://${ip.venue}:8080/api/geoblock` }).error, 60_000);
    exit.watch('pod-direct', [ip.poly], [ip.venue]);
    exit.watch('client-direct', [ip.client], [ip.venue]);
  });

  after(async function () {
    if (!cluster) return;
    const logs = kubectl(['logs', 'poly', '-c', 'vpn', '--tail', '40']).out;
    if (this.currentTest?.state === 'failed' || process.env.ARBEES_KEEP_RIG === '1')
      process.stderr.write(`    vpn sidecar log:\n${logs}\n`);
    if (exit) process.stderr.write(`    exit counters: ${JSON.stringify(exit.counters())}\n`);
    exit?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
    process.stderr.write(`    timings: ${timings.map(([n, s]) => `${n} ${s.toFixed(1)}s`).join(', ')}\n`);
  });

  it('comes up as gluetun does: healthy, running, the exit as public IP, the control server behind its API key', async () => {
    const vpn = await vpnStatus();
    expect(vpn?.started, 'the native sidecar runs').to.equal(true);
    expect(vpn?.ready, 'its readiness probe (/gluetun-entrypoint healthcheck) passes').to.equal(true);
    expect(healthcheck()).to.equal(0);
    expect(control('/v1/vpn/status', apiKey).json).to.deep.equal({ status: 'running' });
    expect(control('/v1/vpn/status').status, 'without X-API-Key').to.equal(401);
    expect(control('/v1/vpn/status', 'wrong').status).to.equal(401);
    expect(control('/v1/publicip/ip', apiKey).json).to.include({ public_ip: exit.exitIP, country: 'IE' });
  });

  it('carries the app through the tunnel: the venue sees the exit address, the monitor probe passes', () => {
    const before = exit.counters();
    expect(geoblock(fromApp())).to.deep.include({ blocked: false, ip: exit.exitIP });
    expect(monitorProbe()).to.include({ up: true, ip: exit.exitIP });
    const after = exit.counters();
    expect(after.forwarded, 'packets forwarded from the tunnel').to.be.greaterThan(before.forwarded);
    expect(after.returned, 'answers sent back into the tunnel').to.be.greaterThan(before.returned);
    expect(after.leaked).to.equal(0);
    expect(after.watched['pod-direct']).to.equal(0);
  });

  it("carries another pod's requests through its proxy, CONNECT and plain HTTP", () => {
    const viaProxy = (plain: boolean) => geoblock(request('client', 'app', { url: venueUrl, proxy: proxyUrl, plain }));
    expect(viaProxy(false), 'CONNECT').to.deep.include({ blocked: false, ip: exit.exitIP });
    expect(viaProxy(true), 'plain').to.deep.include({ blocked: false, ip: exit.exitIP });
    // The counters do see a pod's own traffic to the venue: the client's, direct, which the venue refuses.
    const direct = geoblock(request('client', 'app', { url: `http://${ip.venue}:8080/api/geoblock` }));
    expect(direct).to.deep.include({ blocked: true, ip: ip.client });
    expect(exit.counters().watched['client-direct']).to.be.greaterThan(0);
    expect(exit.counters().watched['pod-direct']).to.equal(0);
  });

  it("drops the pod's own traffic beyond the cluster even with a route around the tunnel (the firewall is the kill switch)", () => {
    const routes = JSON.parse(inPod('poly', 'vpn', 'ip', '-j', 'route', 'show', 'default').out) as { gateway: string }[];
    const before = dropped();
    expect(inPod('poly', 'vpn', 'ip', 'route', 'add', `${venueIP}/32`, 'via', routes[0]!.gateway, 'dev', 'eth0').code).to.equal(0);
    try {
      expect(fromApp(3000).error).to.be.a('string');
      expect(dropped(), "the firewall's drop counter").to.be.greaterThan(before);
    } finally {
      inPod('poly', 'vpn', 'ip', 'route', 'del', `${venueIP}/32`);
    }
    expect(exit.counters().watched['pod-direct']).to.equal(0);
    expect(geoblock(fromApp())).to.deep.include({ ip: exit.exitIP });
  });

  it('cut at the exit: no fallback, the health check fails, status stopped, the monitor probe down; restored, it recovers', async () => {
    exit.cut();
    const cutAt = Date.now();
    await timed('cut → healthcheck fails', () => waitFor('the health check to fail', () => healthcheck() !== 0, 30_000));
    expect(control('/v1/vpn/status', apiKey).json).to.deep.equal({ status: 'stopped' });
    const direct = fromApp(4000);
    expect(direct.error, JSON.stringify(direct)).to.be.a('string');
    const viaProxy = request('client', 'app', { url: venueUrl, proxy: proxyUrl, timeoutMs: 12_000 });
    expect(viaProxy.status ?? viaProxy.error, JSON.stringify(viaProxy)).to.not.equal(200);
    const probed = monitorProbe();
    expect(probed.up, probed.reason).to.equal(false);
    expect(probed.reason).to.match(/VPN control server: HTTP 200, status "stopped"/);
    await timed('cut → sidecar not ready', () =>
      waitFor('the readiness probe to fail', async () => (await vpnStatus())?.ready === false, 40_000),
    );
    expect(exit.counters().cutDropped).to.be.greaterThan(0);
    expect(exit.counters().watched['pod-direct'], "packets from the pod's own address to the venue").to.equal(0);
    expect(Date.now() - cutAt, 'cut shorter than the liveness budget (4 × 15 s)').to.be.lessThan(55_000);

    exit.restore();
    await timed('restore → healthcheck passes', () => waitFor('the health check to pass', () => healthcheck() === 0, 30_000));
    expect(control('/v1/vpn/status', apiKey).json).to.deep.equal({ status: 'running' });
    expect(geoblock(fromApp())).to.deep.include({ blocked: false, ip: exit.exitIP });
    expect(monitorProbe()).to.include({ up: true });
    await timed('restore → sidecar ready', () =>
      waitFor('the sidecar ready again', async () => (await vpnStatus())?.ready === true, 40_000),
    );
    expect((await vpnStatus())?.restartCount, 'no restart of the sidecar').to.equal(0);
  });

  it("without the tunnel the pod's route falls back to eth0 and the firewall drops it; a restarted sidecar comes back", async () => {
    // Stopped through the control server: the tunnel device (and its routes) go, the firewall stays.
    expect(control('/v1/vpn/status', apiKey, { status: 'stopped' }).json).to.deep.equal({ outcome: 'stopped' });
    expect(inPod('poly', 'vpn', 'ip', 'route', 'get', venueIP).out).to.match(/ dev eth0 /);
    const before = dropped();
    expect(fromApp(3000).error).to.be.a('string');
    expect(dropped()).to.be.greaterThan(before);
    expect(control('/v1/vpn/status', apiKey, { status: 'running' }).json).to.deep.equal({ outcome: 'running' });
    await waitFor('running again', () => healthcheck() === 0, 30_000);
    expect(geoblock(fromApp())).to.deep.include({ blocked: false, ip: exit.exitIP });

    // SIGTERM to the stand-in (PID 1): kubelet starts the native sidecar again; the firewall was
    // never lifted, and the new process finds the pod's route and rebuilds the tunnel.
    expect(inPod('poly', 'vpn', 'bash', '-c', 'kill 1').code).to.equal(0);
    await timed('sidecar restart → healthy', () =>
      waitFor('the sidecar to run again', async () => (await vpnStatus())?.restartCount === 1 && healthcheck() === 0, 90_000),
    );
    expect(kubectl(['logs', 'poly', '-c', 'vpn', '--previous']).out).to.match(/the firewall stays/);
    expect(geoblock(fromApp())).to.deep.include({ blocked: false, ip: exit.exitIP });
    expect(exit.counters().watched['pod-direct']).to.equal(0);
  });
});
