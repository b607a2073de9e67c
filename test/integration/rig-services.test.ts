// Proves the rig's services are the real thing: each test does what only a real server can.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Counter, Registry } from 'prom-client';
import { startOpsServer, type OpsServer } from '../../lib/ops-server.js';
import { rig } from '../rig/index.js';

// Each test's timeout covers the first start of its service (lazy, inside the test) on a loaded machine.
describe('rig: Redis', function () {
  this.timeout(60_000);

  it('round-trips a stream entry through a consumer group', async () => {
    const redis = await rig.redis();
    const client = new Redis(redis.url);
    try {
      const stream = `rig-test:${Date.now()}`;
      await client.xgroup('CREATE', stream, 'executor', '$', 'MKSTREAM');
      const id = await client.xadd(stream, '*', 'payload', JSON.stringify({ price: '0.4800' }));
      const read = (await client.xreadgroup('GROUP', 'executor', 'c1', 'COUNT', 1, 'STREAMS', stream, '>')) as Array<
        [string, Array<[string, string[]]>]
      >;
      expect(read[0]![1][0]).to.deep.equal([id, ['payload', '{"price":"0.4800"}']]);
      expect(await client.xack(stream, 'executor', id!)).to.equal(1);
      const info = (await client.info('server')).match(/redis_version:(\S+)/)?.[1];
      expect(info).to.equal(redis.version);
    } finally {
      client.disconnect();
    }
  });
});

describe('rig: PostgreSQL', function () {
  this.timeout(120_000);

  it('runs SQL with transactions and constraints on a fresh database', async () => {
    const postgres = await rig.postgres();
    const url = await postgres.createDatabase('rig_test');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('select version()');
      expect(rows[0]!.version).to.match(/^PostgreSQL \d+/);
      await client.query('create table orders (client_order_id text primary key, price numeric(10,4) not null)');
      await client.query('begin');
      await client.query("insert into orders values ('a-1', 0.4800)");
      await client.query('rollback');
      await client.query("insert into orders values ('a-2', 0.5200)");
      const duplicate = await client.query("insert into orders values ('a-2', 0.1)").catch((e: Error & { code?: string }) => e);
      expect((duplicate as { code?: string }).code).to.equal('23505'); // unique_violation
      const count = await client.query<{ n: string; total: string }>('select count(*) as n, sum(price)::text as total from orders');
      expect(count.rows[0]).to.deep.equal({ n: '1', total: '0.5200' });
    } finally {
      await client.end();
    }
  });
});

describe('rig: Prometheus', function () {
  this.timeout(120_000);
  let ops: OpsServer | undefined;
  after(async () => ops?.close());

  it('scrapes a prom-client /metrics endpoint and answers PromQL about it', async () => {
    const prometheus = await rig.prometheus();
    const registry = new Registry();
    const orders = new Counter({ name: 'arbees_rig_orders_total', help: 'test counter', labelNames: ['venue'], registers: [registry] });
    orders.inc({ venue: 'kalshi' }, 7);
    ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry });
    prometheus.setTargets('rig-test', [`127.0.0.1:${ops.port}`], { shard: 'rig' });
    let value: string | undefined;
    const deadline = Date.now() + 60_000; // file discovery, then a scrape every second
    while (value === undefined && Date.now() < deadline) {
      const result = await prometheus.query('arbees_rig_orders_total{venue="kalshi",shard="rig"}');
      value = result[0]?.value[1];
      if (value === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(value).to.equal('7');
    const up = await prometheus.query(`up{instance="127.0.0.1:${ops.port}"}`);
    expect(up[0]?.value[1]).to.equal('1');
  });
});
