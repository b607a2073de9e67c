// Issue 17, point 4 with ACLs off: whoever shares the executor's Redis credentials (every pod, a
// monitor included) writes a signal or the control key. A running executor (real Redis and
// PostgreSQL, paper venues) must trade none of it: an unsigned, wrongly signed or tampered signal
// is counted and acknowledged and never reaches the ledger; a forged "closed" control key does not
// un-pause a shard whose config says paused; a genuine signal whose prices its own books do not
// support, or that claims to come from the future, is refused with its reason.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { rig } from '../rig/index.js';
import { ConfigError } from '../../contracts/config-error.js';
import { streamKeys, type Leg, type Quote, type Signal } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { signSignal } from '../../contracts/signal-auth.js';
import { detectorOptions } from '../../workloads/detector/start.js';
import { executorOptions, startExecutorService, type ExecutorService } from '../../workloads/executor/start.js';
import { paperShard, signalKeyVars, signedJson, testSignalKey, xaddSignal } from '../support/signals.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: 'silent' });
let counter = 0;

const config = (shard: string, paused: boolean): ShardConfig => paperShard(shard, paused);

const leg = (limitPrice: number): Leg => ({ venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice, size: 1_000 });
function signal(limitPrice = 4_000, createdTs = Date.now()): Signal {
  return {
    id: `edge:m0:forgery:${process.pid}-${++counter}`,
    kind: 'edge',
    marketId: 'm0',
    legs: [leg(limitPrice)],
    edgeBps: 500,
    expectedProfit: 500,
    quoteAgesMs: [5],
    createdTs,
  };
}

describe('forged signals and control writes against a running executor (shared Redis credentials)', function () {
  this.timeout(60_000);
  let dir: string;
  let shard: string;
  let redis: Redis;
  let db: pg.Pool;
  let service: ExecutorService | undefined;
  let configPath: string;

  const quote = (ask: number): Quote => {
    const now = Date.now();
    return {
      venue: 'kalshi',
      marketId: 'm0',
      outcome: 'yes',
      bids: [],
      asks: [[ask, 100_000]],
      seq: ++counter,
      exchangeTs: now,
      receivedTs: now,
      stale: false,
    };
  };
  const control = async (state: 'closed' | 'open', reason: string) => {
    const value = JSON.stringify({ state, reason, since: Date.now() });
    await redis.set(streamKeys.control(shard), value);
    await redis.publish(streamKeys.control(shard), value);
  };
  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows;
  const decided = (id: string) =>
    waitFor(`signal ${id} decided`, async () =>
      (await rows<{ status: string }>('select status from signals where id = $1', [id])).find((r) => r.status !== 'processing'),
    );
  const refusedMetric = async (reason: string) => {
    const text = await service!.metrics.registry.getSingleMetricAsString('arbees_signals_refused_total');
    return Number(new RegExp(`reason="${reason}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 'NaN');
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'arbees-forgery-'));
    shard = `forgery-${process.pid}-${++counter}`;
    const redisUrl = (await rig.redis()).url;
    const databaseUrl = await (await rig.postgres()).createDatabase(`forgery_${process.pid}_${counter}`);
    redis = new Redis(redisUrl);
    db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    configPath = join(dir, 'shard.json');
    writeFileSync(configPath, JSON.stringify(config(shard, false)));
    await control('closed', 'ok');
    await redis.xadd(streamKeys.quotes(shard), '*', 'quote', JSON.stringify(quote(4_000)));
    service = await startExecutorService({
      runtime: { shard, redis: { url: redisUrl }, postgres: { url: databaseUrl }, http: { port: 0 }, log: { level: 'silent' } },
      shardConfig: config(shard, false),
      shardConfigPath: configPath,
      env: signalKeyVars,
      log,
      // No venues to read fees and ticks from: the assumed ones.
      terms: 'assumed',
      settings: { claimIdleMs: 60_000 },
      risk: { marketCooldownMs: 0 },
      ops: false,
    });
    await waitFor('the books', () => service!.books.size === 1 || undefined);
  });

  afterEach(async () => {
    await service?.stop();
    service = undefined;
    redis.disconnect();
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ignores unsigned, wrongly signed and tampered signals: no ledger row, no order, each counted and acknowledged', async () => {
    const key = streamKeys.signals(shard);
    const unsigned = signal();
    const otherKey = signSignal(signal(), 'a-key-the-attacker-made-up-0123456789abcdef', shard);
    const otherShard = JSON.parse(signedJson(signal(), 'another-shard')) as Signal;
    const tampered = JSON.parse(signedJson(signal(), shard)) as Signal;
    tampered.legs[0]!.size = 50_000; // a genuine signature, a bigger order
    await redis.xadd(key, '*', 'data', JSON.stringify(unsigned));
    for (const forged of [otherKey, otherShard, tampered]) await redis.xadd(key, '*', 'data', JSON.stringify(forged));
    await redis.xadd(key, '*', 'data', 'x'.repeat(100_000));
    // A genuine signal after them: once it is decided, the forged ones before it have been read.
    const genuine = signal();
    await xaddSignal(redis, shard, genuine);
    expect((await decided(genuine.id)).status).to.equal('done');

    const ids = [unsigned, otherKey, otherShard, tampered].map((s) => s.id);
    expect(await rows('select id from signals where id = any($1)', [ids])).to.deep.equal([]);
    const orders = await rows<{ signal_id: string; size: string }>('select signal_id, size from orders');
    expect(orders.map((o) => o.signal_id)).to.deep.equal([genuine.id]);
    expect(await rows('select * from risk_events')).to.deep.equal([]);
    expect(await refusedMetric('unsigned')).to.equal(1);
    expect(await refusedMetric('bad_signature')).to.equal(3);
    expect(await refusedMetric('oversized')).to.equal(1);
    const pending = (await redis.xpending(key, 'executor')) as [number, ...unknown[]];
    expect(pending[0], 'every entry acknowledged').to.equal(0);
  });

  it('stays paused when its config says paused, whatever a forged control write says', async () => {
    // The operator pauses: the control key says so at once, the mounted config within seconds.
    await control('open', 'paused by spec.paused');
    writeFileSync(configPath, JSON.stringify(config(shard, true)));
    await waitFor('the config reloaded', () => service!.executor['config'].paused === true || undefined, 10_000);
    // Someone with the shared password writes "closed" on the key and the channel.
    await control('closed', 'ok');
    const s = signal();
    await xaddSignal(redis, shard, s);
    expect((await decided(s.id)).status).to.equal('rejected');
    const [event] = await rows<{ rule: string }>('select rule from risk_events where signal_id = $1', [s.id]);
    expect(event!.rule).to.equal('paused');
    expect(await rows('select * from orders')).to.deep.equal([]);
    // Unpaused in the config (the operator's doing), the same control key lets it trade again.
    writeFileSync(configPath, JSON.stringify(config(shard, false)));
    await waitFor('the config reloaded', () => service!.executor['config'].paused === false || undefined, 10_000);
    const after = signal();
    await xaddSignal(redis, shard, after);
    expect((await decided(after.id)).status).to.equal('done');
  });

  it('refuses a genuine signal its own books do not support, and one from the future', async () => {
    const cheap = signal(3_900); // our book's best ask is 0.40
    await xaddSignal(redis, shard, cheap);
    expect((await decided(cheap.id)).status).to.equal('rejected');
    const future = signal(4_000, Date.now() + 60_000);
    await xaddSignal(redis, shard, future);
    expect((await decided(future.id)).status).to.equal('rejected');
    const events = await rows<{ signal_id: string; rule: string; detail: string }>('select signal_id, rule, detail from risk_events');
    expect(events.find((e) => e.signal_id === cheap.id)).to.deep.include({ rule: 'book-mismatch' });
    expect(events.find((e) => e.signal_id === cheap.id)!.detail).to.match(
      /no ask at or below the buy limit \$0\.3900 \(best ask \$0\.4000\)/,
    );
    expect(events.find((e) => e.signal_id === future.id)).to.deep.include({ rule: 'invalid-signal' });
    expect(events.find((e) => e.signal_id === future.id)!.detail).to.match(/ms in the future/);
    expect(await rows('select * from orders')).to.deep.equal([]);
  });
});

describe('the detector and the executor refuse to start without the signal key', () => {
  it('says which variable is missing, and where it comes from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arbees-nokey-'));
    try {
      const path = join(dir, 'shard.json');
      writeFileSync(path, JSON.stringify(config('nokey', false)));
      const env = { ARBEES_SHARD: 'nokey', ARBEES_REDIS_URL: 'redis://127.0.0.1:1' };
      expect(() => detectorOptions({ shardConfigPath: path, env })).to.throw(ConfigError, /ARBEES_SIGNAL_KEY is not set/);
      expect(detectorOptions({ shardConfigPath: path, env: { ...env, ...signalKeyVars } }).signalKey).to.equal(testSignalKey);
      const executorEnv = { ...env, ARBEES_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x' };
      expect(() => executorOptions({ shardConfigPath: path, env: executorEnv })).to.throw(ConfigError, /ARBEES_SIGNAL_KEY is not set/);
      expect(() => executorOptions({ shardConfigPath: path, env: { ...executorEnv, ARBEES_SIGNAL_KEY: 'short' } })).to.throw(
        ConfigError,
        /at least 32/,
      );
      const refused = await startExecutorService({
        runtime: {
          shard: 'nokey',
          redis: { url: 'redis://127.0.0.1:1' },
          postgres: { url: 'postgres://x@127.0.0.1:1/x' },
          http: { port: 0 },
          log: { level: 'silent' },
        },
        shardConfig: config('nokey', false),
        env: {},
        log,
        ops: false,
      }).then(
        () => 'started',
        (error: Error) => error,
      );
      expect(refused).to.be.instanceOf(ConfigError);
      expect(String(refused)).to.match(/the executor needs ARBEES_SIGNAL_KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
