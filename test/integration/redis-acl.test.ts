// Issue 17, points 4 and 10, on the in-cluster Redis exactly as the chart runs it: the chart is
// rendered (helm template, ci/kind-values.yaml), and a real redis-server is started with the
// command, configuration file and ACL file of that rendering (files/redis-acl.txt is the one source
// of the rules), on a free loopback port and a temporary folder instead of 6379 and /data. Then:
// - no password on its command line (the rendered manifest, and /proc/<pid>/cmdline);
// - a monitor's credentials add quotes and nothing else: a forged signal or control write is NOPERM;
// - every component's real code, each with the URL the chart gives it, runs the whole pipeline
//   (monitor quotes → detector signal → executor paper order, the operator's control key and
//   cleanup) and Redis refused it nothing (its ACL LOG, read by a user the test adds, is empty);
// - with aclUsers false, the one password still works and is still not on the command line.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { requireBinary } from '../../cli/local/binaries.js';
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from '../../cli/local/process.js';
import { streamKeys, type Quote, type Signal } from '../../contracts/messages.js';
import type { TradingShard } from '../../contracts/trading-shard.js';
import { writeControl } from '../../operator/breaker/control.js';
import { redisCleanup } from '../../operator/cleanup.js';
import { DetectorService } from '../../workloads/detector/service.js';
import { startDetector } from '../../workloads/detector/start.js';
import { FeeTable } from '../../venues/fee-table.js';
import { marketParamsKey } from '../../contracts/market-params.js';
import { startExecutorService } from '../../workloads/executor/start.js';
import { QuotePublisher } from '../../workloads/market-data/publisher.js';
import { rig } from '../rig/index.js';
import { tool } from '../rig/tools.js';
import { paperShard, signalKeyVars, signedJson, testSignalKey } from '../support/signals.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const chart = join(import.meta.dirname, '..', '..', 'charts', 'arbees');
interface Container {
  command?: string[];
  args?: string[];
  readinessProbe?: { exec: { command: string[] } };
  env?: Array<{ name: string; value?: string }>;
}
interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: { template: { spec: { containers: Container[] } } };
}

const container = (objects: Obj[], kind: string, name: string): Container => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found?.spec) throw new Error(`no ${kind} ${name}`);
  return found.spec.template.spec.containers[0]!;
};

/** The chart rendered without a cluster, as `helm template` does for a user. */
async function render(values: string[]): Promise<Obj[]> {
  const home = mkdtempSync(join(tmpdir(), 'arbees-acl-helm-'));
  try {
    const env = { PATH: process.env.PATH, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
    const args = ['template', 'arbees', chart, '--namespace', 'arbees-system', '-f', join(chart, 'ci', 'kind-values.yaml'), ...values];
    const { stdout } = await run(tool('helm'), args, { env, maxBuffer: 32 * 1024 * 1024 });
    return parseAllDocuments(stdout)
      .map((d) => d.toJSON() as Obj | null)
      .filter((d): d is Obj => d !== null);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const secret = (objects: Obj[], name: string, namespace = 'arbees-system') => {
  const found = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name && o.metadata.namespace === namespace);
  if (!found) throw new Error(`no Secret ${namespace}/${name}`);
  return Object.fromEntries(Object.entries(found.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
};

interface ChartRedis {
  proc: ManagedProcess;
  argv: string[];
  port: number;
  /** A URL of the rendering pointed at this server. */
  local(url: string): string;
  passwords: string[];
  /** A user the test adds to read ACL LOG (the chart has none that may). */
  admin: Redis;
  stop(): Promise<void>;
}

/**
 * Starts redis-server as the rendered StatefulSet does: its command (kubelet would expand
 * $(VARS) there; there are none), its redis.conf and users.acl from the Secret, mounted here in a
 * folder instead of /etc/redis, with the port and data folder changed and bound to loopback.
 */
async function startAsChart(objects: Obj[]): Promise<ChartRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-acl-redis-'));
  const files = secret(objects, 'arbees-redis');
  const port = await freePort();
  const adminPassword = 'test-admin-only';
  writeFileSync(join(dir, 'users.acl'), `${files['users.acl']}user test-admin on >${adminPassword} ~* &* +@all\n`);
  const conf = files['redis.conf']!.replace(/^port 6379$/m, `port ${port}\nbind 127.0.0.1`)
    .replace(/^dir \/data$/m, `dir ${dir}`)
    .replace(/^aclfile \/etc\/redis\/users\.acl$/m, `aclfile ${join(dir, 'users.acl')}`);
  expect(conf).to.include(`port ${port}`).and.include(`dir ${dir}`).and.include(`aclfile ${dir}`);
  writeFileSync(join(dir, 'redis.conf'), conf);
  const redis = container(objects, 'StatefulSet', 'arbees-redis');
  expect([...(redis.command ?? []), ...(redis.args ?? [])]).to.deep.equal(['redis-server', '/etc/redis/redis.conf']);
  const argv = [requireBinary('redis-server', 'apt-get install redis-server'), join(dir, 'redis.conf')];
  const proc = startProcess('redis-acl', argv[0]!, argv.slice(1), { logFile: join(dir, 'redis.log') });
  const adminOptions = {
    port,
    host: '127.0.0.1',
    username: 'test-admin',
    password: adminPassword,
    lazyConnect: true,
    retryStrategy: () => null,
  };
  await waitUntilReady(
    proc,
    async () => {
      const probe = new Redis(adminOptions);
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    },
    15_000,
    'redis-server (chart)',
  );
  const admin = new Redis({ ...adminOptions, lazyConnect: false, retryStrategy: undefined });
  admin.on('error', () => undefined);
  const passwords = Object.entries(files)
    .filter(([k]) => k.startsWith('password'))
    .map(([, v]) => v);
  return {
    proc,
    argv,
    port,
    passwords,
    admin,
    local: (url) => Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(port) }).toString(),
    async stop() {
      admin.disconnect();
      await proc.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends commands on a fresh unauthenticated connection; resolves with each reply's first line. */
function rawCommands(port: number, commands: string[][]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\r\n').filter((line) => /^[-+:$*]/.test(line));
      if (lines.length >= commands.length) {
        socket.end();
        resolve(lines.slice(0, commands.length));
      }
    });
    socket.on('error', reject);
    socket.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
  });
}

/** Every entry of ACL LOG as {reason, object, username}. */
async function aclLog(admin: Redis): Promise<Array<Record<string, string>>> {
  const entries = (await admin.call('ACL', 'LOG', '100')) as unknown[][];
  return entries.map((entry) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < entry.length; i += 2) record[String(entry[i])] = String(entry[i + 1]);
    return { reason: record.reason!, object: record.object!, username: record.username! };
  });
}

function quote(venue: Quote['venue'], outcome: Quote['outcome'], ask: number): Quote {
  const now = Date.now();
  return {
    venue,
    marketId: 'm0',
    outcome,
    bids: [[ask - 300, 10_000]],
    asks: [[ask, 10_000]],
    seq: now,
    exchangeTs: now,
    receivedTs: now,
    stale: false,
  };
}

/** HGETALLs Redis has seen, run or refused: only the detector's terms follower sends one. */
async function hgetalls(admin: Redis): Promise<number> {
  const stats = /cmdstat_hgetall:calls=(\d+),.*?rejected_calls=(\d+)/.exec(await admin.info('commandstats'));
  return stats ? Number(stats[1]) + Number(stats[2]) : 0;
}

describe('the in-cluster Redis as the chart runs it: per-component ACL users, no password on the command line', function () {
  this.timeout(120_000);
  let objects: Obj[];
  let redis: ChartRedis;
  let urls: Record<string, string>;
  const clients: Redis[] = [];
  const connect = (url: string) => {
    const client = new Redis(redis.local(url), { lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  /** A paper executor with the executor's URL of the rendering. */
  const startExecutor = (shard: string, databaseUrl: string, terms: 'assumed' | 'venues') =>
    startExecutorService({
      runtime: {
        shard,
        redis: { url: redis.local(urls['redisUrl.executor']!) },
        postgres: { url: databaseUrl },
        http: { port: 0 },
        log: { level: 'silent' },
      },
      shardConfig: paperShard(shard),
      env: signalKeyVars,
      log: pino({ level: 'silent' }),
      terms,
      risk: { marketCooldownMs: 0 },
      ops: false,
    });

  before(async () => {
    objects = await render([]);
    redis = await startAsChart(objects);
    urls = secret(objects, 'arbees-connections', 'ci-kind-shards');
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  it('takes no password as an argument: the manifest runs redis-server on its config file, ps shows that and nothing more', () => {
    const spec = container(objects, 'StatefulSet', 'arbees-redis');
    expect(JSON.stringify([spec.command, spec.args ?? []])).not.to.match(/requirepass|PASSWORD|\$\(/i);
    // The password environment variable left is redis-cli's (the probe), never an argument.
    expect((spec.env ?? []).map((e) => e.name)).to.deep.equal(['REDISCLI_AUTH']);
    const cmdline = readFileSync(`/proc/${redis.proc.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline).to.deep.equal(redis.argv);
    expect(redis.passwords).to.have.length(5);
    for (const password of redis.passwords) expect(cmdline.join(' ')).not.to.include(password);
    // Nor in the ACL file Redis reads: only their SHA-256.
    const acl = secret(objects, 'arbees-redis')['users.acl']!;
    for (const password of redis.passwords) expect(acl).not.to.include(password);
    expect(acl).to.match(/^user default off$/m);
  });

  it('gives the shard namespaces one URL per component and no operator URL; the operator its own, in its namespace', () => {
    expect(Object.keys(urls).sort()).to.deep.equal([
      'postgresUrl',
      'redisUrl.detector',
      'redisUrl.executor',
      'redisUrl.kalshi-monitor',
      'redisUrl.polymarket-monitor',
      'signalKey',
    ]);
    const user = (url: string) => new URL(url).username;
    expect(['kalshi-monitor', 'polymarket-monitor', 'detector', 'executor'].map((c) => user(urls[`redisUrl.${c}`]!))).to.deep.equal([
      'monitor',
      'monitor',
      'detector',
      'executor',
    ]);
    expect(user(secret(objects, 'arbees-connections').redisUrl!)).to.equal('operator');
    expect(container(objects, 'Deployment', 'arbees-operator').env).to.deep.include({ name: 'ARBEES_REDIS_ACL_USERS', value: 'true' });
  });

  it('refuses the default user and wrong passwords; the probe may only PING', async () => {
    // Plain RESP over a socket: ioredis itself refuses to go on once its HELLO is refused.
    const monitorPassword = decodeURIComponent(new URL(urls['redisUrl.kalshi-monitor']!).password);
    const replies = await rawCommands(redis.port, [
      ['GET', 'arbees:x:control'],
      ['AUTH', 'monitor', 'guess'],
      ['AUTH', 'default', monitorPassword],
      ['AUTH', monitorPassword],
      ['SET', 'arbees:x:control', '{}'],
    ]);
    expect(replies).to.have.length(5);
    expect(replies[0]).to.match(/^-NOAUTH/);
    for (const reply of replies.slice(1, 4)) expect(reply).to.match(/^-WRONGPASS/);
    expect(replies[4]).to.match(/^-NOAUTH/);
    const probePassword = secret(objects, 'arbees-redis')['password-probe']!;
    // As redis-cli in the readiness probe: no ready check (INFO is not the probe's).
    const probe = new Redis({ port: redis.port, host: '127.0.0.1', username: 'probe', password: probePassword, enableReadyCheck: false });
    probe.on('error', () => undefined);
    clients.push(probe);
    expect(await probe.ping()).to.equal('PONG');
    expect(await probe.get('arbees:x:control').catch((e: Error) => e.message)).to.match(/^NOPERM/);
    // The pod's readiness probe as rendered (pointed at this port), with REDISCLI_AUTH as the pod sets it.
    const probeCommand = container(objects, 'StatefulSet', 'arbees-redis').readinessProbe!.exec.command;
    expect(probeCommand.slice(0, 2)).to.deep.equal(['sh', '-c']);
    const script = probeCommand[2]!.replace('-h 127.0.0.1', `-h 127.0.0.1 -p ${redis.port}`);
    await run('sh', ['-c', script], { env: { PATH: process.env.PATH, REDISCLI_AUTH: probePassword } });
    expect(
      await run('sh', ['-c', script], { env: { PATH: process.env.PATH, REDISCLI_AUTH: 'wrong' } }).then(
        () => 'ready',
        () => 'not ready',
      ),
    ).to.equal('not ready');
    expect((await aclLog(redis.admin)).map((e) => `${e.username}:${e.reason}`)).to.include.members([
      'default:auth',
      'monitor:auth',
      'probe:command',
    ]);
    await redis.admin.call('ACL', 'LOG', 'RESET');
  });

  it("with a monitor's credentials: quotes yes; a signal, a control write or publish, acking, reading or deleting: NOPERM", async () => {
    const shard = 'acl-forge';
    const monitor = connect(urls['redisUrl.kalshi-monitor']!);
    const publisher = new QuotePublisher({ redis: monitor, stream: streamKeys.quotes(shard), maxLen: 1_000 });
    publisher.publish(quote('kalshi', 'yes', 4_000));
    expect(await publisher.drain()).to.equal(true);
    expect(publisher.errors).to.equal(0);
    expect(await redis.admin.xlen(streamKeys.quotes(shard))).to.equal(1);

    const forged: Signal = {
      id: 'edge:m0:forged:1',
      kind: 'edge',
      marketId: 'm0',
      legs: [{ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 9_900, size: 100_000 }],
      edgeBps: 9_000,
      expectedProfit: 1,
      quoteAgesMs: [1],
      createdTs: Date.now(),
    };
    const refused = async (what: string, attempt: () => Promise<unknown>) =>
      expect(
        await attempt().then(
          () => 'done',
          (e: Error) => e.message,
        ),
        what,
      ).to.match(/^NOPERM/);
    await refused('XADD a signal', () => monitor.xadd(streamKeys.signals(shard), '*', 'data', signedJson(forged, shard)));
    const closed = JSON.stringify({ state: 'closed', reason: 'forged', since: Date.now() });
    await refused('SET the control key', () => monitor.set(streamKeys.control(shard), closed));
    await refused('PUBLISH on the control channel', () => monitor.publish(streamKeys.control(shard), closed));
    await refused('DEL the control key', () => monitor.del(streamKeys.control(shard)));
    await refused('XACK a signal', () => monitor.xack(streamKeys.signals(shard), 'executor', '0-1'));
    await refused('XGROUP on signals', () => monitor.xgroup('CREATE', streamKeys.signals(shard), 'evil', '$', 'MKSTREAM'));
    await refused('read the quotes', () => monitor.xrange(streamKeys.quotes(shard), '-', '+'));
    await refused('another key', () => monitor.xadd('other:key', '*', 'a', 'b'));
    await refused('FLUSHALL', () => monitor.flushall());
    await refused('CONFIG SET', () => monitor.config('SET', 'maxmemory', '1'));
    await refused('ACL', () => monitor.call('ACL', 'SETUSER', 'monitor', '+@all'));
    expect(await redis.admin.exists(streamKeys.signals(shard), streamKeys.control(shard))).to.equal(0);
    // Every refusal is in Redis' ACL LOG, under the monitor.
    const log = await aclLog(redis.admin);
    expect(log.filter((e) => e.username !== 'monitor')).to.deep.equal([]);
    expect(log.length).to.be.at.least(11);
    await redis.admin.call('ACL', 'LOG', 'RESET');
  });

  it('runs the pipeline, each component as its own user, and Redis refuses none of them anything', async () => {
    const shard = 'acl-pipeline';
    const operator = connect(secret(objects, 'arbees-connections').redisUrl!);
    await writeControl(operator, 60, shard, { state: 'closed', reason: 'ok', since: Date.now() }, true);
    const detector = new DetectorService({
      shard,
      redisUrl: redis.local(urls['redisUrl.detector']!),
      signalKey: testSignalKey,
      markets: ['m0'],
      blockMs: 200,
    });
    await detector.start();
    const databaseUrl = await (await rig.postgres()).createDatabase(`redis_acl_${process.pid}`);
    // No venues here to read fees from: the assumed ones (the next test reads and publishes them).
    const executor = await startExecutor(shard, databaseUrl, 'assumed');
    try {
      // Monitors publish a cross-venue set under $1: the detector signs a signal, the executor trades it.
      const publisher = new QuotePublisher({
        redis: connect(urls['redisUrl.polymarket-monitor']!),
        stream: streamKeys.quotes(shard),
        maxLen: 1_000,
      });
      publisher.publish(quote('kalshi', 'yes', 4_000));
      publisher.publish(quote('polymarket', 'no', 5_000));
      expect(await publisher.drain()).to.equal(true);
      await waitFor('a signal', () => detector.stats().signals > 0 || undefined, 30_000);
      const order = await waitFor(
        'the paper orders',
        async () =>
          (await executor.pool.query<{ n: number }>(`select count(*)::int as n from orders where status = 'filled'`)).rows[0]!.n >= 2 ||
          undefined,
        30_000,
      );
      expect(order).to.equal(true);
      // The executor can neither add a signal nor write the control key; the detector neither.
      const executorClient = connect(urls['redisUrl.executor']!);
      const detectorClient = connect(urls['redisUrl.detector']!);
      const forbidden = [
        () => executorClient.xadd(streamKeys.signals(shard), '*', 'data', '{}'),
        () => executorClient.set(streamKeys.control(shard), '{}'),
        () => detectorClient.set(streamKeys.control(shard), '{}'),
        () => detectorClient.xreadgroup('GROUP', 'executor', 'x', 'STREAMS', streamKeys.signals(shard), '>'),
      ];
      for (const attempt of forbidden)
        expect(
          await attempt().then(
            () => 'done',
            (e: Error) => e.message,
          ),
        ).to.match(/^NOPERM/);
      await redis.admin.call('ACL', 'LOG', 'RESET');
      // The operator deletes the shard's keys (the finalizer's cleanup).
      const cleanup = redisCleanup(redis.local(secret(objects, 'arbees-connections').redisUrl!));
      await cleanup({ metadata: { name: shard } } as TradingShard);
      cleanup.close();
    } finally {
      await executor.stop();
      await detector.stop();
    }
    expect(await redis.admin.keys(`arbees:${shard}:*`)).to.deep.equal([]);
    expect(await aclLog(redis.admin), 'commands Redis refused a component').to.deep.equal([]);
  });

  it("publishes the markets' terms as the executor (HSET) and reads them as the detector (HGETALL), refused nothing", async () => {
    const shard = 'acl-terms';
    const databaseUrl = await (await rig.postgres()).createDatabase(`redis_acl_terms_${process.pid}`);
    // The executor asks the (unreachable) venues and publishes what it found: terms unknown, with the reason.
    const executor = await startExecutor(shard, databaseUrl, 'venues');
    // The detector as `arbees detector` starts it: following the terms the executor publishes.
    const detector = await startDetector({
      shard,
      redisUrl: redis.local(urls['redisUrl.detector']!),
      signalKey: testSignalKey,
      markets: ['m0'],
      fees: new FeeTable('strict'),
      followMarketParams: true,
      httpPort: 0,
      httpHost: '127.0.0.1',
      blockMs: 200,
    });
    try {
      await waitFor('the terms published', async () => (await redis.admin.hlen(marketParamsKey(shard))) === 1 || undefined, 30_000);
      // The detector's next read of them (every 2 s), counted by Redis.
      const before = await hgetalls(redis.admin);
      await waitFor('the detector to read the terms', async () => (await hgetalls(redis.admin)) > before || undefined, 30_000);
    } finally {
      await detector.stop();
      await executor.stop();
    }
    expect(await aclLog(redis.admin), 'commands Redis refused a component').to.deep.equal([]);
  });
});

describe('the in-cluster Redis with aclUsers false: one password, still not on the command line', function () {
  this.timeout(60_000);

  it('starts from its files, takes the connections URL, and refuses without the password', async () => {
    const objects = await render(['--set', 'redis.aclUsers=false']);
    const redis = await startAsChart(objects);
    try {
      const urls = secret(objects, 'arbees-connections', 'ci-kind-shards');
      expect(Object.keys(urls).sort()).to.deep.equal(['postgresUrl', 'redisUrl', 'signalKey']);
      const client = new Redis(redis.local(urls.redisUrl!));
      try {
        await client.set('arbees:x:control', 'v');
        expect(await client.get('arbees:x:control')).to.equal('v');
      } finally {
        client.disconnect();
      }
      const cmdline = readFileSync(`/proc/${redis.proc.child.pid}/cmdline`, 'utf8');
      expect(redis.passwords).to.have.length(1);
      expect(cmdline).not.to.include(redis.passwords[0]!);
      const env = container(objects, 'Deployment', 'arbees-operator').env ?? [];
      expect(env.map((e) => e.name)).not.to.include('ARBEES_REDIS_ACL_USERS');
    } finally {
      await redis.stop();
    }
  });
});
