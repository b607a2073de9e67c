// Proves the rig's Kubernetes node (test/rig/node.ts): the Arbees image runs as a pod, a
// NetworkPolicy is enforced (one connection refused under it, one allowed), and nothing a pod
// sends leaves the machine. Needs root; the first run builds the node's binaries and the image.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { CoreV1Api, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { packageInfo } from '../../lib/package-root.js';
import { rig } from '../rig/index.js';
import { imageTar, type ClusterService } from '../rig/node.js';
import { tool } from '../rig/tools.js';
import { waitFor } from '../support/wait.js';

const namespace = 'node-test';
const image = 'arbees:dev';
/** A TCP client run inside a pod: prints `ok <reply>` or `error <code>`. */
const connect = (host: string, port: number) =>
  `const s = require('net').connect(${port}, '${host}'); s.setTimeout(3000); let d = '';` +
  ` s.on('data', (c) => (d += c)); s.on('end', () => console.log('ok ' + d));` +
  ` s.on('timeout', () => { console.log('error ETIMEDOUT'); s.destroy(); });` +
  ` s.on('error', (e) => console.log('error ' + e.code));`;

function pod(name: string, labels: Record<string, string>, args: string[], command?: string[]): V1Pod {
  return {
    metadata: { name, namespace, labels },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image,
          imagePullPolicy: 'Never',
          ...(command ? { command } : {}),
          args,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}
/** A pod that idles, to run clients in with `kubectl exec`. */
const idler = (name: string, labels: Record<string, string>) =>
  pod(name, labels, ['-e', 'setInterval(() => {}, 1 << 30)'], ['/usr/local/bin/node']);

describe('cluster: a real Kubernetes node', function () {
  this.timeout(1_800_000); // a first run builds the node's binaries and the image (about 10 min cold)
  let cluster: ClusterService;
  let core: CoreV1Api;
  const phases: [string, number][] = [];
  async function phase<T>(name: string, action: () => T | Promise<T>): Promise<T> {
    const began = Date.now();
    const result = await action();
    phases.push([name, (Date.now() - began) / 1000]);
    process.stderr.write(`    ${name}: ${((Date.now() - began) / 1000).toFixed(1)}s\n`);
    return result;
  }
  const kubectl = (...args: string[]) =>
    execFileSync(tool('kubectl'), ['--kubeconfig', cluster.kubeconfigPath, '-n', namespace, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  /** Runs the client in a pod; `ok <reply>` or `error <code>`. */
  const connectFrom = (podName: string, host: string, port: number) =>
    kubectl('exec', podName, '--', '/usr/local/bin/node', '-e', connect(host, port));
  const running = (name: string) =>
    waitFor(`pod ${name} running`, async () => (await core.readNamespacedPod({ name, namespace })).status?.phase === 'Running', 60_000);

  before(async function () {
    cluster = await phase('node up', () => rig.cluster());
    const tar = await phase('image (scripts/image.sh arbees)', () => imageTar('arbees'));
    await phase('image import', () => cluster.loadImage(tar));
    core = cluster.kube.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async function () {
    if (!cluster) return;
    const stats = await cluster.kubeletStats().catch((error: Error) => error);
    if (!(stats instanceof Error)) {
      for (const p of stats.pods.filter((p) => p.podRef.namespace === namespace)) {
        process.stderr.write(
          `    pod ${p.podRef.name}: ${((p.memory?.workingSetBytes ?? 0) / 2 ** 20).toFixed(1)} MiB working set (kubelet stats)\n`,
        );
      }
    }
    const memory = cluster.memory();
    const total = Object.values(memory).reduce((a, b) => a + b, 0);
    process.stderr.write(
      `    node processes: ${total} MiB RSS (${Object.entries(memory)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})\n`,
    );
    process.stderr.write(`    phases: ${phases.map(([n, s]) => `${n} ${s.toFixed(1)}s`).join(', ')}\n`);
  });

  it('runs the Arbees image: a pod `arbees version` logs the version on Node.js 24', async () => {
    await phase('pod arbees version', async () => {
      await core.createNamespacedPod({ namespace, body: pod('version', { app: 'version' }, ['version']) });
      const phaseOf = async () => (await core.readNamespacedPod({ name: 'version', namespace })).status?.phase;
      const done = await waitFor(
        'pod version to finish',
        async () => {
          const p = await phaseOf();
          return p === 'Succeeded' || p === 'Failed' ? p : undefined;
        },
        60_000,
      );
      const log = await core.readNamespacedPodLog({ name: 'version', namespace });
      expect(done, log).to.equal('Succeeded');
      expect(log.trim()).to.match(new RegExp(`^arbees ${packageInfo().version.replaceAll('.', '\\.')} \\(node v24\\.\\d+\\.\\d+\\)$`));
    });
  });

  it('enforces a NetworkPolicy: a pod it does not allow is refused, an allowed one connects', async () => {
    const net = cluster.kube.kubeConfig.makeApiClient(NetworkingV1Api);
    await phase('network policy', async () => {
      const server = pod(
        'server',
        { app: 'server' },
        ['-e', "require('net').createServer((s) => s.end('hello')).listen(8080)"],
        ['/usr/local/bin/node'],
      );
      await Promise.all([
        core.createNamespacedPod({ namespace, body: server }),
        core.createNamespacedPod({ namespace, body: idler('allowed', { role: 'allowed' }) }),
        core.createNamespacedPod({ namespace, body: idler('other', { role: 'other' }) }),
      ]);
      await Promise.all(['server', 'allowed', 'other'].map(running));
      const serverIP = (await core.readNamespacedPod({ name: 'server', namespace })).status?.podIP ?? '';
      expect(serverIP).to.match(/^10\.244\.0\.\d+$/);
      // Without a policy both reach the server: what fails later fails because of the policy.
      for (const client of ['allowed', 'other'])
        await waitFor(`${client} to reach the server`, () => connectFrom(client, serverIP, 8080) === 'ok hello', 30_000);

      await net.createNamespacedNetworkPolicy({
        namespace,
        body: {
          metadata: { name: 'server-ingress', namespace },
          spec: {
            podSelector: { matchLabels: { app: 'server' } },
            policyTypes: ['Ingress'],
            ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'allowed' } } }] }],
          },
        },
      });
      const refused = await waitFor(
        'the policy to refuse the other pod',
        () => {
          const result = connectFrom('other', serverIP, 8080);
          return result.startsWith('error') ? result : undefined;
        },
        30_000,
      );
      expect(refused).to.match(/^error (ECONNREFUSED|ETIMEDOUT)$/);
      expect(connectFrom('allowed', serverIP, 8080)).to.equal('ok hello');
      expect(connectFrom('other', serverIP, 8080)).to.match(/^error /);
      // Through the Service's ClusterIP (kube-proxy) the policy holds too, and DNS names it.
      await core.createNamespacedService({
        namespace,
        body: { metadata: { name: 'server' }, spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: 8080 }] } },
      });
      await waitFor(
        'the Service to reach the allowed pod',
        () => connectFrom('allowed', `server.${namespace}.svc.cluster.local`, 80) === 'ok hello',
        30_000,
      );
      expect(connectFrom('other', `server.${namespace}.svc.cluster.local`, 80)).to.match(/^error /);
    });
  });

  describe('nothing a pod sends leaves the machine', () => {
    // A stand-in for "outside": a namespace of our own behind a veth, routed from the host, with a
    // TCP server. The host reaches it; a pod, forwarded through the host, must be refused.
    const outside = { netns: 'arbees-outside', host: '198.51.100.1', peer: '198.51.100.2', port: 8080 };
    let listener: ChildProcess | undefined;
    const sh = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

    before(() => {
      sh('netns', 'add', outside.netns);
      sh('link', 'add', 'arbees-out0', 'type', 'veth', 'peer', 'name', 'arbees-out1', 'netns', outside.netns);
      sh('addr', 'add', `${outside.host}/24`, 'dev', 'arbees-out0');
      sh('link', 'set', 'arbees-out0', 'up');
      sh('-n', outside.netns, 'addr', 'add', `${outside.peer}/24`, 'dev', 'arbees-out1');
      sh('-n', outside.netns, 'link', 'set', 'arbees-out1', 'up');
      sh('-n', outside.netns, 'route', 'add', 'default', 'via', outside.host);
      listener = spawn(
        'ip',
        [
          'netns',
          'exec',
          outside.netns,
          process.execPath,
          '-e',
          `require('net').createServer((s) => s.end('outside')).listen(${outside.port})`,
        ],
        { stdio: 'ignore' },
      );
    });
    after(() => {
      listener?.kill('SIGKILL');
      try {
        sh('netns', 'delete', outside.netns); // takes the veth pair with it
      } catch {
        /* not created */
      }
    });

    it('refuses a pod a connection to an address outside the pod range that the host reaches, and DNS has no upstream', async () => {
      await phase('egress', async () => {
        await waitFor(
          'the host to reach the outside server',
          () => hostConnect(outside.peer, outside.port).then((r) => r === 'outside'),
          10_000,
        );
        await core.createNamespacedPod({ namespace, body: idler('egress', { role: 'egress' }) });
        await running('egress');
        const rejectedBefore = cluster.egressRejected();
        expect(connectFrom('egress', outside.peer, outside.port)).to.equal('error ECONNREFUSED');
        expect(cluster.egressRejected()).to.be.greaterThan(rejectedBefore);
        // A name outside the cluster does not resolve (no forwarder); a cluster name does.
        const lookup = (name: string) =>
          kubectl(
            'exec',
            'egress',
            '--',
            '/usr/local/bin/node',
            '-e',
            `require('dns').lookup('${name}', (e, a) => console.log(e ? 'error ' + e.code : 'ok ' + a))`,
          );
        expect(lookup('registry.npmjs.org')).to.match(/^error (EAI_AGAIN|ENOTFOUND)$/);
        expect(lookup('kubernetes.default.svc.cluster.local')).to.match(/^ok 10\.96\.0\.1$/);
      });
    });
  });
});

async function hostConnect(host: string, port: number): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let data = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(''));
  });
}
