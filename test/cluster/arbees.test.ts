// Arbees as users install it, on a real Kubernetes node (test/rig/node.ts): the chart with
// `helm install --wait`, a paper shard trading against both simulators as pods, the breaker on
// real metrics, the NetworkPolicies enforced, the VPN path, money safety when the executor pod
// dies, day-2 changes, and every pod's memory and CPU against its requests and limits.
// Needs root; the first run builds the node's binaries and the images (see test/rig/node.ts).
import { expect } from 'chai';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { packageInfo } from '../../lib/package-root.js';
import { installed, namespaces, releaseNamespace, type Installed } from './support/install.js';
import { shardObjects, type ShardOptions } from './support/shards.js';
import { waitFor } from '../support/wait.js';
import { kalshiOrders, polymarketTrades } from './support/venue-books.js';
import { quantityMiB, startUsageSampler } from './support/usage.js';

interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; restartCount: number; ready: boolean }>;
    initContainerStatuses?: Array<{ name: string; restartCount: number; ready: boolean }>;
  };
  spec: { containers: Array<{ name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }> };
}

/** A TCP client run inside a pod (node -e): prints `ok` once connected, else `error <code>`. */
const connectScript = (host: string, port: number) =>
  `const s = require('net').connect(${port}, '${host}'); s.setTimeout(3000);` +
  ` s.on('connect', () => { console.log('ok'); s.destroy(); });` +
  ` s.on('timeout', () => { console.log('error ETIMEDOUT'); s.destroy(); });` +
  ` s.on('error', (e) => console.log('error ' + e.code));`;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

describe('cluster: Arbees installed with the chart on a real node', function () {
  this.timeout(3_600_000);
  let env: Installed;
  const timeline: Array<[string, string]> = [];
  const kubectl = (...args: string[]) => env.kubectl(...args);
  const json = async <T>(...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json')) as T;
  const pods = async (namespace: string, selector: string) =>
    (await json<{ items: Pod[] }>('-n', namespace, 'get', 'pods', '-l', selector)).items;
  const ready = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  async function applyShard(name: string, namespace: string, options: ShardOptions = {}) {
    const file = join(tmpdir(), `shard-${name}-${Date.now()}.yaml`);
    writeFileSync(
      file,
      shardObjects(env, name, namespace, options)
        .map((o) => stringify(o))
        .join('---\n'),
    );
    await kubectl('apply', '--server-side', '--field-manager=cluster-suite', '-f', file);
  }

  let usage: ReturnType<typeof startUsageSampler>;

  before(async function () {
    env = await installed();
    usage = startUsageSampler(
      env.cluster,
      async () => json<{ items: never[] }>('get', 'pods', '-A', '-l', 'app.kubernetes.io/part-of=arbees'),
      (namespace, pod, container) => kubectl('-n', namespace, 'logs', pod, '-c', container, '--previous', '--tail=20'),
    );
  });

  after(function () {
    if (!env) return;
    process.stderr.write(`    install phases: ${env.phases.map(([n, s]) => `${n} ${s.toFixed(1)}s`).join('; ')}\n`);
    for (const [what, value] of timeline) process.stderr.write(`    ${what}: ${value}\n`);
  });

  it('installs with helm --wait: the operator, Redis and PostgreSQL run Ready from the rig images', async () => {
    const all = await pods(releaseNamespace, 'app.kubernetes.io/part-of=arbees');
    const components = all.map((p) => p.metadata.labels?.['app.kubernetes.io/component']).sort();
    expect(components).to.deep.equal(['operator', 'operator', 'postgresql', 'redis']);
    expect(all.every(ready), 'every pod Ready').to.equal(true);
    expect(await kubectl('get', 'crd', 'tradingshards.arbees.io', '-o', 'name')).to.equal(
      'customresourcedefinition.apiextensions.k8s.io/tradingshards.arbees.io',
    );
  });

  describe('a paper shard', () => {
    const shard = 'paper';
    const namespace = namespaces.paper;
    let applied = 0;

    it('runs its four pods Ready, the VPN sidecar among them', async () => {
      applied = Date.now();
      await applyShard(shard, namespace);
      const running = await waitFor(
        "the shard's four pods Ready",
        async () => {
          const list = await pods(namespace, `arbees.io/shard=${shard}`);
          return list.length === 4 && list.every(ready) ? list : undefined;
        },
        300_000,
      );
      timeline.push(['paper shard: apply → four pods Ready', seconds(Date.now() - applied)]);
      const vpnPod = running.find((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'polymarket-monitor')!;
      expect(vpnPod.status?.initContainerStatuses?.map((c) => [c.name, c.ready])).to.deep.equal([['vpn', true]]);
    });

    it('streams quotes from both simulators into Redis, finds the windows and records paper orders and fills in PostgreSQL', async () => {
      const redis = await env.redis();
      const venues = await waitFor(
        'quotes of both venues in Redis',
        async () => {
          const entries = (await redis.xrevrange(`arbees:${shard}:quotes`, '+', '-', 'COUNT', 200)) as Array<[string, string[]]>;
          const seen = new Set(entries.map(([, fields]) => (JSON.parse(fields[1]!) as { venue: string }).venue));
          return seen.size === 2 ? seen : undefined;
        },
        180_000,
      );
      timeline.push(['paper shard: apply → quotes of both venues', seconds(Date.now() - applied)]);
      expect([...venues].sort()).to.deep.equal(['kalshi', 'polymarket']);
      const db = await env.postgres();
      // Every signal the executor takes is recorded, accepted or refused, before anything else.
      await waitFor(
        'a signal in the ledger',
        async () => Number((await db.query<{ n: string }>('select count(*) as n from signals where shard = $1', [shard])).rows[0]!.n) > 0,
        180_000,
      );
      timeline.push(['paper shard: apply → first signal', seconds(Date.now() - applied)]);
      const fills = await waitFor(
        'paper orders with fills in the ledger',
        async () => {
          const { rows } = await db.query<{ orders: string; fills: string }>(
            `select (select count(*) from orders where shard = $1) as orders,
                    (select count(*) from fills f join orders o on o.client_order_id = f.client_order_id where o.shard = $1) as fills`,
            [shard],
          );
          return Number(rows[0]!.fills) > 0 ? rows[0]! : undefined;
        },
        240_000,
      );
      timeline.push(['paper shard: apply → first filled order', seconds(Date.now() - applied)]);
      expect(Number(fills.orders)).to.be.greaterThan(0);
    });

    it('shows its phase, breaker and markets in `kubectl get ts`', async () => {
      const table = await waitFor(
        'the shard Running with a closed breaker',
        async () => {
          const out = await kubectl('-n', namespace, 'get', 'ts', shard);
          return /\bRunning\b/.test(out) && /\bClosed\b/.test(out) ? out : undefined;
        },
        120_000,
      );
      const [header, row] = table.split('\n');
      expect(header).to.match(/^NAME\s+PHASE\s+BREAKER\s+MARKETS\s+MODE\s+PAUSED\s+AGE/);
      expect(row).to.match(/^paper\s+Running\s+Closed\s+2\s+paper\s+false\s/);
    });
  });

  /** The pod of a shard component. */
  const podOf = async (namespace: string, shard: string, component: string) =>
    (await pods(namespace, `arbees.io/shard=${shard},app.kubernetes.io/component=${component}`))[0]!;
  /** `ok` or `error <code>`: a TCP connection from a pod's container to host:port. */
  const connectFrom = (namespace: string, pod: string, container: string, host: string, port: number) =>
    kubectl('-n', namespace, 'exec', pod, '-c', container, '--', '/usr/local/bin/node', '-e', connectScript(host, port));
  const serviceIP = (namespace: string, name: string) =>
    kubectl('-n', namespace, 'get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}');
  const metric = async (promql: string) => (await env.prometheus.query(promql)).map((r) => Number(r.value[1]));

  describe('NetworkPolicies, enforced: each by a connection that must fail and one that must succeed', () => {
    const shard = 'paper';
    const namespace = namespaces.paper;
    const intruderNamespace = 'intruder';

    before(async function () {
      await kubectl('create', 'namespace', intruderNamespace).catch(() => '');
      const idler = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'idler',
          namespace: intruderNamespace,
          labels: { 'app.kubernetes.io/part-of': 'arbees', 'app.kubernetes.io/component': 'executor' },
        },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'main',
              image: 'arbees:dev',
              imagePullPolicy: 'Never',
              command: ['/usr/local/bin/node', '-e', 'setInterval(() => {}, 1 << 30)'],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      };
      const file = join(tmpdir(), `intruder-${Date.now()}.yaml`);
      writeFileSync(file, stringify(idler));
      await kubectl('apply', '-f', file);
      await kubectl('-n', intruderNamespace, 'wait', 'pod/idler', '--for=condition=Ready', '--timeout=120s');
    });

    it('PostgreSQL: the executor reaches it, the monitors and the detector do not', async () => {
      const pg = await serviceIP(releaseNamespace, 'arbees-postgresql');
      expect(await connectFrom(namespace, (await podOf(namespace, shard, 'executor')).metadata.name, 'executor', pg, 5432)).to.equal('ok');
      for (const component of ['kalshi-monitor', 'detector', 'polymarket-monitor']) {
        const pod = (await podOf(namespace, shard, component)).metadata.name;
        expect(await connectFrom(namespace, pod, component, pg, 5432), component).to.match(/^error /);
      }
    });

    it('the Polymarket proxy: only the executor reaches it', async () => {
      const proxy = await serviceIP(namespace, `${shard}-polymarket-proxy`);
      expect(await connectFrom(namespace, (await podOf(namespace, shard, 'executor')).metadata.name, 'executor', proxy, 8888)).to.equal(
        'ok',
      );
      for (const component of ['kalshi-monitor', 'detector']) {
        const pod = (await podOf(namespace, shard, component)).metadata.name;
        expect(await connectFrom(namespace, pod, component, proxy, 8888), component).to.match(/^error /);
      }
    });

    it('Kalshi: the monitor and the executor reach its port, nothing else outside; the detector reaches neither', async () => {
      const kalshi = '203.0.113.11';
      const monitor = (await podOf(namespace, shard, 'kalshi-monitor')).metadata.name;
      expect(await connectFrom(namespace, monitor, 'kalshi-monitor', kalshi, 8701)).to.equal('ok');
      // The Polymarket venue is not Kalshi: no direct way there for the Kalshi monitor.
      expect(await connectFrom(namespace, monitor, 'kalshi-monitor', '203.0.113.10', 8702)).to.match(/^error /);
      const detector = (await podOf(namespace, shard, 'detector')).metadata.name;
      expect(await connectFrom(namespace, detector, 'detector', kalshi, 8701)).to.match(/^error /);
    });

    it("a pod of another namespace, even labelled like an executor, reaches neither the shard's pods nor the stores", async () => {
      const executor = await podOf(namespace, shard, 'executor');
      const target = executor.status!.podIP!;
      const redis = await serviceIP(releaseNamespace, 'arbees-redis');
      const pg = await serviceIP(releaseNamespace, 'arbees-postgresql');
      for (const [host, port] of [
        [target, 9464],
        [redis, 6379],
        [pg, 5432],
      ] as const) {
        expect(await connectFrom(intruderNamespace, 'idler', 'main', host, port), `${host}:${port}`).to.match(/^error /);
      }
      // And the same pod does connect where no policy stands: the refusals above are the policies.
      expect(await connectFrom(intruderNamespace, 'idler', 'main', '203.0.113.11', 8701)).to.equal('ok');
    });
  });

  describe('the VPN path in the Polymarket pod', () => {
    const shard = 'paper';
    const namespace = namespaces.paper;

    it("carries Polymarket through the tunnel; cut, nothing leaves the pod's address, the breaker opens, Kalshi streams on", async () => {
      const monitor = await podOf(namespace, shard, 'polymarket-monitor');
      const simPod = (await pods('arbees-venues', 'app=polymarket-sim'))[0]!;
      env.exit.watch('polymarket-pod-direct', [monitor.status!.podIP!], [simPod.status!.podIP!]);
      const before = env.exit.counters();
      expect(before.forwarded, "the monitor's traffic went through the exit").to.be.greaterThan(0);
      await waitFor('arbees_vpn_up 1', async () => (await metric(`arbees_vpn_up{namespace="${namespace}"}`))[0] === 1, 60_000);

      const redis = await env.redis();
      const kalshiQuotes = async () =>
        ((await redis.xrevrange(`arbees:${shard}:quotes`, '+', '-', 'COUNT', 50)) as Array<[string, string[]]>).filter(
          ([, f]) => (JSON.parse(f[1]!) as { venue: string }).venue === 'kalshi',
        )[0]?.[0];
      env.exit.cut();
      const cutAt = Date.now();
      try {
        await waitFor('arbees_vpn_up 0', async () => (await metric(`arbees_vpn_up{namespace="${namespace}"}`))[0] === 0, 90_000);
        timeline.push(['VPN cut → arbees_vpn_up 0', seconds(Date.now() - cutAt)]);
        const open = await waitFor(
          'the breaker Open for vpn-down',
          async () => {
            const ts = await json<{ status?: { circuitBreaker?: { state: string; trippedBy?: string } } }>(
              '-n',
              namespace,
              'get',
              'ts',
              shard,
            );
            return ts.status?.circuitBreaker?.state === 'Open' ? ts.status.circuitBreaker : undefined;
          },
          90_000,
        );
        timeline.push(['VPN cut → breaker Open', seconds(Date.now() - cutAt)]);
        // Whichever notices first: the probe of the tunnel, or the Polymarket books going stale.
        expect(open.trippedBy).to.be.oneOf(['vpn-down', 'stale-quotes']);
        const lastKalshi = await kalshiQuotes();
        await waitFor(
          'a newer Kalshi quote while the tunnel is cut',
          async () => ((await kalshiQuotes()) ?? '') > (lastKalshi ?? ''),
          30_000,
        );
        expect(env.exit.counters().watched['polymarket-pod-direct'], "packets from the pod's own address to the venue").to.equal(0);
      } finally {
        env.exit.restore();
      }
      const closed = await waitFor(
        'the breaker Closed again, through HalfOpen',
        async () => {
          const out = await kubectl('-n', namespace, 'get', 'events', '--field-selector', `involvedObject.name=${shard}`, '-o', 'json');
          const reasons = (JSON.parse(out) as { items: Array<{ reason: string }> }).items.map((e) => e.reason);
          return reasons.includes('CircuitBreakerHalfOpen') && reasons.includes('CircuitBreakerClosed') ? reasons : undefined;
        },
        180_000,
      );
      expect(closed).to.include('CircuitBreakerOpen');
      expect(env.exit.counters().watched['polymarket-pod-direct']).to.equal(0);
    });
  });

  describe('the breaker on real metrics', () => {
    const shard = 'paper';
    const namespace = namespaces.paper;

    it('opens when the Kalshi simulator pod stops, with an Event, and tells the executor; recovered, closes through HalfOpen', async () => {
      const state = async () =>
        (await json<{ status?: { circuitBreaker?: { state: string; trippedBy?: string } } }>('-n', namespace, 'get', 'ts', shard)).status
          ?.circuitBreaker;
      await waitFor('the breaker Closed', async () => (await state())?.state === 'Closed', 180_000);
      await kubectl('-n', 'arbees-venues', 'scale', 'deployment/kalshi-sim', '--replicas=0');
      const stoppedAt = Date.now();
      try {
        const open = await waitFor(
          'the breaker Open',
          async () => ((await state())?.state === 'Open' ? await state() : undefined),
          120_000,
        );
        timeline.push(['Kalshi simulator stopped → breaker Open', seconds(Date.now() - stoppedAt)]);
        expect(open.trippedBy).to.equal('stale-quotes');
        const redis = await env.redis();
        const control = JSON.parse((await redis.get(`arbees:${shard}:control`)) ?? '{}') as { state?: string };
        expect(control.state, 'the control key the executor reads before every order').to.equal('open');
      } finally {
        await kubectl('-n', 'arbees-venues', 'scale', 'deployment/kalshi-sim', '--replicas=1');
      }
      await waitFor('the breaker Closed again', async () => (await state())?.state === 'Closed', 300_000);
      const events = JSON.parse(
        await kubectl('-n', namespace, 'get', 'events', '--field-selector', `involvedObject.name=${shard}`, '-o', 'json'),
      ) as {
        items: Array<{ reason: string; lastTimestamp?: string }>;
      };
      expect(events.items.map((e) => e.reason)).to.include.members([
        'CircuitBreakerOpen',
        'CircuitBreakerHalfOpen',
        'CircuitBreakerClosed',
      ]);
    });
  });

  describe('what the cluster owner allows, and nothing else', () => {
    const namespace = namespaces.paper;
    const eventsOf = async (name: string) =>
      (
        JSON.parse(await kubectl('-n', namespace, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json')) as {
          items: Array<{ reason: string; message: string }>;
        }
      ).items;
    const degraded = (name: string, reason: string) =>
      waitFor(
        `${name} Degraded with ${reason}`,
        async () => {
          const ts = await json<{ status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason: string }> } }>(
            '-n',
            namespace,
            'get',
            'ts',
            name,
          );
          const condition = ts.status?.conditions?.find((c) => c.type === 'Degraded');
          return ts.status?.phase === 'Degraded' && condition?.reason === reason ? ts : undefined;
        },
        60_000,
      );

    it('refuses an image reference at apply, and an image name the owner did not allow: no pod of it runs', async () => {
      const file = join(tmpdir(), `evil-${Date.now()}.yaml`);
      const objects = shardObjects(env, 'evil', namespace) as Array<{ kind: string; spec?: Record<string, unknown> }>;
      objects.at(-1)!.spec!.image = 'evil.example/arbees:latest';
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      const refused = await kubectl('apply', '--server-side', '-f', file).then(
        () => 'applied',
        (e: Error) => e.message,
      );
      expect(refused).to.match(/spec\.image in body should match/);

      // A name the owner did not allow: the operator's admission webhook refuses it at apply.
      objects.at(-1)!.spec!.image = 'nightly';
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      const notAllowed = await kubectl('apply', '--server-side', '-f', file).then(
        () => 'applied',
        (e: Error) => e.message,
      );
      expect(notAllowed).to.match(/admission webhook "tradingshards\.arbees\.io" denied the request: image "nightly" of \S+ is not one/);
      // So is a breaker rule that is not PromQL, or reads more than an hour of history.
      delete objects.at(-1)!.spec!.image;
      const rules = (objects.at(-1)!.spec!.circuitBreaker as { rules: Array<{ query: string }> }).rules;
      rules[0]!.query = 'sum(rate(arbees_orders_total[1d]))';
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      const tooLong = await kubectl('apply', '--server-side', '-f', file).then(
        () => 'applied',
        (e: Error) => e.message,
      );
      expect(tooLong).to.match(/denied the request: spec\.circuitBreaker\.rules\[0\] \(\S+\): query reads 1440 minutes of history/);
      const stored = await kubectl('-n', namespace, 'get', 'ts', 'evil').then(
        () => 'stored',
        (e: Error) => e.message,
      );
      expect(stored).to.match(/NotFound/);
      expect(await pods(namespace, 'arbees.io/shard=evil')).to.deep.equal([]);
    });

    it('uses no Secret without the Arbees label: the component that would mount it is not built', async () => {
      await applyShard('unlabelled', namespace);
      await kubectl('-n', namespace, 'label', 'secret', 'unlabelled-vpn', 'arbees.io/credentials-');
      // Any reconcile now sees the label gone: the Polymarket pod is removed and stays away.
      await kubectl('-n', namespace, 'annotate', 'ts', 'unlabelled', `touch=${Date.now()}`, '--overwrite');
      await degraded('unlabelled', 'SecretNotLabelled');
      await waitFor(
        'no Polymarket pod',
        async () => (await pods(namespace, 'arbees.io/shard=unlabelled,app.kubernetes.io/component=polymarket-monitor')).length === 0,
        60_000,
      );
      expect((await eventsOf('unlabelled')).find((e) => e.reason === 'SecretNotLabelled')?.message).to.contain('unlabelled-vpn');
      await kubectl('-n', namespace, 'delete', 'ts', 'unlabelled', '--wait=true');
    });

    it('starts no executor for a live shard outside the namespaces the owner authorized, and says why', async () => {
      await applyShard('unauthorized', namespaces.elsewhere, { mode: 'live' });
      const ts = await waitFor(
        'LiveTradingAuthorized False',
        async () => {
          const got = await json<{ status?: { conditions?: Array<{ type: string; status: string; reason: string }> } }>(
            '-n',
            namespaces.elsewhere,
            'get',
            'ts',
            'unauthorized',
          );
          return got.status?.conditions?.find((c) => c.type === 'LiveTradingAuthorized' && c.status === 'False');
        },
        60_000,
      );
      expect(ts.reason).to.equal('NamespaceNotAuthorized');
      const events = JSON.parse(
        await kubectl('-n', namespaces.elsewhere, 'get', 'events', '--field-selector', 'involvedObject.name=unauthorized', '-o', 'json'),
      ) as { items: Array<{ reason: string }> };
      expect(events.items.map((e) => e.reason)).to.include('LiveTradingNotAuthorized');
      expect(
        await kubectl('-n', namespaces.elsewhere, 'get', 'deployments', '-l', 'arbees.io/shard=unauthorized', '-o', 'name'),
      ).not.to.contain('executor');
      await kubectl('-n', namespaces.elsewhere, 'delete', 'ts', 'unauthorized', '--wait=true');
    });

    it('refuses NET_ADMIN to any container but the VPN sidecar, and the managed-by label to anyone but the operator', async () => {
      const pod = (name: string, labels: Record<string, string>, add: string[]) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels },
        spec: {
          containers: [{ name: 'app', image: 'arbees:dev', imagePullPolicy: 'Never', securityContext: { capabilities: { add } } }],
        },
      });
      const create = async (object: object, as?: string) => {
        const file = join(tmpdir(), `pod-${Date.now()}.yaml`);
        writeFileSync(file, stringify(object));
        return kubectl(...(as ? [`--as=${as}`] : []), 'create', '--dry-run=server', '-f', file).then(
          () => 'admitted',
          (e: Error) => e.message,
        );
      };
      expect(await create(pod('net-admin', {}, ['NET_ADMIN']))).to.contain('only the VPN sidecar');
      expect(await create(pod('net-raw', {}, ['NET_RAW']))).to.contain('only the VPN sidecar');
      expect(await create(pod('plain', {}, []))).to.equal('admitted');
      // A user allowed to create pods here still cannot make one the stores would take for Arbees'.
      await kubectl('-n', namespace, 'create', 'role', 'pod-maker', '--verb=create', '--resource=pods').catch(() => '');
      await kubectl('-n', namespace, 'create', 'rolebinding', 'pod-maker', '--role=pod-maker', '--user=mallory').catch(() => '');
      const labels = { 'app.kubernetes.io/managed-by': 'arbees-operator', 'app.kubernetes.io/component': 'executor' };
      expect(await create(pod('forged', labels, []), 'mallory')).to.contain('labelled app.kubernetes.io/managed-by: arbees-operator');
      expect(await create(pod('honest', {}, []), 'mallory')).to.equal('admitted');
    });

    it("never takes over an object of a child's name that it did not make", async () => {
      await kubectl('-n', namespace, 'create', 'configmap', 'squatted-config', '--from-literal=owner=someone-else');
      await applyShard('squatted', namespace);
      await degraded('squatted', 'ObjectNotOwned');
      const configMap = await json<{ data: Record<string, string>; metadata: { ownerReferences?: unknown[] } }>(
        '-n',
        namespace,
        'get',
        'configmap',
        'squatted-config',
      );
      expect(configMap.data).to.deep.equal({ owner: 'someone-else' });
      expect(configMap.metadata.ownerReferences).to.equal(undefined);
      await kubectl('-n', namespace, 'delete', 'ts', 'squatted', '--wait=true');
      await kubectl('-n', namespace, 'delete', 'configmap', 'squatted-config');
    });
  });

  describe('money safety in pods: a live shard against the simulators', () => {
    const shard = 'live';
    const namespace = namespaces.live;
    const orderCount = async () =>
      Number(
        (
          await (
            await env.postgres()
          ).query<{ n: string }>("select count(*) as n from orders where shard = $1 and status <> 'intent'", [shard])
        ).rows[0]!.n,
      );
    const newExecutor = async (previous: string) =>
      waitFor(
        'a new executor pod Ready',
        async () => {
          const list = await pods(namespace, `arbees.io/shard=${shard},app.kubernetes.io/component=executor`);
          return list.length === 1 && list[0]!.metadata.uid !== previous && ready(list[0]!) ? list[0]! : undefined;
        },
        180_000,
      );

    it('trades live in the authorized namespace: Kalshi directly, Polymarket through the VPN pod', async () => {
      await applyShard(shard, namespace, { mode: 'live' });
      await waitFor(
        "the live shard's four pods Ready",
        async () => {
          const list = await pods(namespace, `arbees.io/shard=${shard}`);
          return list.length === 4 && list.every(ready);
        },
        300_000,
      );
      const db = await env.postgres();
      let venues: string[] = [];
      await waitFor(
        'live orders on both venues',
        async () => {
          const { rows } = await db.query<{ venue: string }>(
            "select distinct venue from orders where shard = $1 and venue_order_id is not null and status <> 'intent'",
            [shard],
          );
          venues = rows.map((r) => r.venue);
          return rows.length === 2;
        },
        300_000,
      ).catch(async (error: Error) => {
        // Say which venue is missing, and what the executor said about it.
        const logs = await kubectl('-n', namespace, 'logs', `deployment/${shard}-executor`, '--tail=40').catch((e: Error) => e.message);
        throw new Error(`${error.message}; orders on [${venues.join(', ')}]; the executor's last lines:\n${logs}`);
      });
      const executor = await json<{ spec: { strategy: { type: string } } }>('-n', namespace, 'get', 'deployment', `${shard}-executor`);
      expect(executor.spec.strategy.type, 'never two executors at once').to.equal('Recreate');
    });

    it('survives its executor pod deleted mid-stream, gently and forced: ledger = venues, no signal lost, no order twice', async () => {
      for (const force of [false, true]) {
        const before = await orderCount();
        await waitFor('more orders since the last restart', async () => (await orderCount()) > before, 300_000);
        const victim = (await pods(namespace, `arbees.io/shard=${shard},app.kubernetes.io/component=executor`))[0]!;
        await kubectl(
          '-n',
          namespace,
          'delete',
          'pod',
          victim.metadata.name,
          ...(force ? ['--grace-period=0', '--force'] : ['--wait=false']),
        );
        const deletedAt = Date.now();
        await newExecutor(victim.metadata.uid);
        timeline.push([`executor pod deleted${force ? ' (forced)' : ''} → new one Ready`, seconds(Date.now() - deletedAt)]);
      }
      const after = await orderCount();
      await waitFor('orders after the second restart', async () => (await orderCount()) > after, 300_000);

      // Stop new orders (pause), let every order in flight end, then compare.
      await kubectl('-n', namespace, 'patch', 'ts', shard, '--type=merge', '-p', '{"spec":{"paused":true}}');
      const db = await env.postgres();
      await waitFor(
        'every order final',
        async () =>
          Number(
            (
              await db.query<{ n: string }>(
                "select count(*) as n from orders where shard = $1 and status not in ('filled', 'cancelled', 'rejected')",
                [shard],
              )
            ).rows[0]!.n,
          ) === 0,
        120_000,
      );
      const ledger = (
        await db.query<{ client_order_id: string; venue: string; venue_order_id: string | null; filled_size: string; status: string }>(
          'select client_order_id, venue, venue_order_id, filled_size, status from orders where shard = $1',
          [shard],
        )
      ).rows;

      const simIP = async (app: string) => (await pods('arbees-venues', `app=${app}`))[0]!.status!.podIP!;
      const kalshi = await kalshiOrders(`http://${await simIP('kalshi-sim')}:8701`, env.keys);
      const ids = kalshi.map((o) => o.client_order_id);
      expect(new Set(ids).size, 'one Kalshi order per client order id').to.equal(ids.length);
      const kalshiLedger = ledger.filter((o) => o.venue === 'kalshi' && o.venue_order_id);
      expect(
        kalshiLedger.map((o) => o.client_order_id).sort(),
        'every Kalshi order of the venue is in the ledger, and only those',
      ).to.deep.equal(ids.sort());
      for (const order of kalshi) {
        const row = kalshiLedger.find((o) => o.client_order_id === order.client_order_id)!;
        expect(row.venue_order_id).to.equal(order.order_id);
        expect(Number(row.filled_size)).to.equal(Math.round(Number(order.fill_count_fp) * 100));
      }
      const trades = await polymarketTrades(`http://${await simIP('polymarket-sim')}:8702`, env.keys, env.cluster.nodeIP);
      const hashes = new Set(ledger.filter((o) => o.venue === 'polymarket').map((o) => o.venue_order_id));
      expect(trades.length, 'Polymarket trades to compare').to.be.greaterThan(0);
      for (const trade of trades) expect(hashes.has(trade.taker_order_id), `trade ${trade.id}'s order is in the ledger`).to.equal(true);

      // No signal lost: every signal the detector published has its decision in the ledger.
      const published = (await metric(`sum(arbees_signals_total{namespace="${namespace}",component="detector"})`))[0] ?? 0;
      expect(published).to.be.greaterThan(0);
      await waitFor(
        'a ledger decision for every published signal',
        async () =>
          Number((await db.query<{ n: string }>('select count(*) as n from signals where shard = $1', [shard])).rows[0]!.n) >= published,
        60_000,
      );
    });
  });

  describe('day 2', () => {
    const shard = 'paper';
    const namespace = namespaces.paper;
    const uids = async () =>
      Object.fromEntries(
        (await pods(namespace, `arbees.io/shard=${shard}`)).map((p) => [
          p.metadata.labels!['app.kubernetes.io/component']!,
          p.metadata.uid,
        ]),
      );
    const allReady = (count = 4) =>
      waitFor(
        `the shard's ${count} pods Ready`,
        async () => {
          const list = await pods(namespace, `arbees.io/shard=${shard}`);
          return list.length === count && list.every(ready) ? list : undefined;
        },
        300_000,
      );
    const patch = (spec: object) => kubectl('-n', namespace, 'patch', 'ts', shard, '--type=merge', '-p', JSON.stringify({ spec }));

    it('a spec change rolls exactly the pods whose spec changed', async () => {
      await allReady();
      const before = await uids();
      await patch({ overrides: { detector: { resources: { requests: { cpu: '120m', memory: '96Mi' }, limits: { memory: '256Mi' } } } } });
      await waitFor(
        'a new detector pod Ready, alone',
        async () => {
          const now = await uids();
          const list = await pods(namespace, `arbees.io/shard=${shard}`);
          return now.detector !== before.detector && list.length === 4 && list.every(ready) ? now : undefined;
        },
        300_000,
      );
      const after = await uids();
      for (const component of ['kalshi-monitor', 'polymarket-monitor', 'executor'])
        expect(after[component], component).to.equal(before[component]);
    });

    it('spec.paused stops orders without restarting any pod', async () => {
      const db = await env.postgres();
      const count = async (sql: string) => Number((await db.query<{ n: string }>(sql, [shard])).rows[0]!.n);
      const before = await uids();
      await patch({ paused: true });
      await waitFor('the shard Halted', async () => (await kubectl('-n', namespace, 'get', 'ts', shard)).includes('Halted'), 60_000);
      // Give orders already decided a moment, then none may follow while signals still come in.
      await new Promise((r) => setTimeout(r, 5_000));
      const orders = await count('select count(*) as n from orders where shard = $1');
      const refused = await count("select count(*) as n from signals where shard = $1 and status = 'rejected'");
      await waitFor(
        'signals refused while paused',
        async () => (await count("select count(*) as n from signals where shard = $1 and status = 'rejected'")) > refused,
        180_000,
      );
      expect(await count('select count(*) as n from orders where shard = $1'), 'no order while paused').to.equal(orders);
      expect(await uids(), 'no pod restarted').to.deep.equal(before);
      await patch({ paused: false });
    });

    it('helm upgrade with a rotated Redis password reaches the pods, and they work with it', async () => {
      const before = await uids();
      // The executor's Redis user gets a new password: forget the stored one, and upgrade.
      await kubectl(
        '-n',
        releaseNamespace,
        'patch',
        'secret',
        'arbees-redis',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/data/password-executor"}]',
      );
      const oldUrl = await kubectl('-n', namespace, 'get', 'secret', 'arbees-connections', '-o', 'jsonpath={.data.redisUrl\\.executor}');
      await env.helm(
        'upgrade',
        'arbees',
        join(packageInfo().root, 'charts', 'arbees'),
        '-n',
        releaseNamespace,
        '-f',
        env.valuesFile,
        '--wait',
        '--timeout',
        '5m',
      );
      const newUrl = await kubectl('-n', namespace, 'get', 'secret', 'arbees-connections', '-o', 'jsonpath={.data.redisUrl\\.executor}');
      expect(newUrl, "the executor's URL carries a new password").not.to.equal(oldUrl);
      const rolled = await waitFor(
        "the shard's pods rolled onto the new Secret, Ready",
        async () => {
          const now = await uids();
          const list = await pods(namespace, `arbees.io/shard=${shard}`);
          return now.executor !== before.executor && list.length === 4 && list.every(ready) ? now : undefined;
        },
        300_000,
      );
      expect(rolled.executor).not.to.equal(before.executor);
      env.resetClients();
      // The executor reads signals again with the new password: new decisions reach the ledger.
      const db = await env.postgres();
      const count = async () =>
        Number((await db.query<{ n: string }>('select count(*) as n from signals where shard = $1', [shard])).rows[0]!.n);
      const now = await count();
      await waitFor('new signal decisions after the rotation', async () => (await count()) > now, 240_000);
    });

    it('deleting a shard removes its pods and its Redis keys', async () => {
      const redis = await env.redis();
      await kubectl('-n', namespace, 'delete', 'ts', shard, '--wait=true', '--timeout=120s');
      await waitFor('no pod of the shard', async () => (await pods(namespace, `arbees.io/shard=${shard}`)).length === 0, 120_000);
      // Read as an executor of the shard may: its streams empty, its control key gone.
      expect(await redis.xrevrange(`arbees:${shard}:quotes`, '+', '-', 'COUNT', 1)).to.deep.equal([]);
      expect(await redis.xrevrange(`arbees:${shard}:signals`, '+', '-', 'COUNT', 1)).to.deep.equal([]);
      expect(await redis.get(`arbees:${shard}:control`)).to.equal(null);
    });
  });

  describe('resources', () => {
    it('kept every pod within its memory limit, with no container restarted over the run', async () => {
      await usage.stop();
      const rows = usage.rows();
      process.stderr.write('    peak memory and CPU per container (kubelet stats) against its spec:\n');
      for (const r of rows) {
        process.stderr.write(
          `      ${`${r.pod} ${r.container}`.padEnd(64)} ${String(r.peakMiB).padStart(5)} MiB of ${r.limitMemory ?? '-'} ` +
            `(request ${r.requestMemory ?? '-'}), CPU peak ${r.peakCpuMillicores}m (request ${r.requestCpu ?? '-'})\n`,
        );
      }
      expect(rows.length).to.be.greaterThan(8);
      for (const r of rows) if (r.limitMemory) expect(r.peakMiB, `${r.pod} ${r.container}`).to.be.below(quantityMiB(r.limitMemory));
      expect(usage.restarts(), 'container restarts (OOM kills, failing probes)').to.deep.equal([]);
    });
  });
});
