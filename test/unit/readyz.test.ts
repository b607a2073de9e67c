// /readyz says only `ready` or `not ready: <code>` with a code from a closed set (security issue,
// point 10): any pod that can reach the port reads it, so no VPN exit address, URL, venue message or
// exception text may appear there. The detail behind a code goes to the log, once per change.
// For each kind of process, a not-ready state whose cause carries such text answers exactly its code.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { notReadyCodes, readyzBody, startOpsServer, type NotReadyCode, type OpsServer, type Readiness } from '../../lib/ops-server.js';
import { Operator } from '../../operator/manager.js';
import { DetectorService } from '../../workloads/detector/service.js';
import { executorReadiness } from '../../workloads/executor/start.js';
import { KalshiMonitor } from '../../workloads/kalshi-monitor/service.js';
import { PolymarketMonitor } from '../../workloads/polymarket-monitor/service.js';

const IP = /\b\d{1,3}(\.\d{1,3}){3}\b/;
const URL_TEXT = /[a-z]+:\/\//i;
const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

async function get(ops: OpsServer, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${ops.port}${path}`);
  return { status: res.status, body: await res.text() };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('/readyz answers a fixed code, never the detail', function () {
  this.timeout(20_000);
  const stops: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  const serve = async (readiness: () => Readiness | Promise<Readiness>, log = logCapture()) => {
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry: new Registry(), readiness, log: log.log });
    stops.push(() => ops.close());
    return { ops, lines: log.lines };
  };

  /** Asserts the wire answer is exactly the code, and nothing that looks like an address. */
  const expectCode = async (ops: OpsServer, code: NotReadyCode) => {
    const { status, body } = await get(ops, '/readyz');
    expect(status).to.equal(503);
    expect(body).to.equal(`not ready: ${code}\n`);
    expect(body).to.not.match(IP);
    expect(body).to.not.match(URL_TEXT);
  };

  describe('the ops server', () => {
    it('answers the code only, and logs the detail once per change, not once per probe', async () => {
      let state: Readiness = { ready: false, reason: 'vpn_down', detail: 'geoblocked: Polymarket sees 203.0.113.7 in US/NY' };
      const { ops, lines } = await serve(() => state);
      for (let i = 0; i < 5; i++) await expectCode(ops, 'vpn_down');
      state = { ready: false, reason: 'venue_disconnected', detail: 'cannot connect to Kalshi: connect ECONNREFUSED 10.0.0.9:443' };
      for (let i = 0; i < 3; i++) await expectCode(ops, 'venue_disconnected');
      state = { ready: true };
      for (let i = 0; i < 3; i++) expect(await get(ops, '/readyz')).to.deep.equal({ status: 200, body: 'ready\n' });
      expect(lines.map((l) => l.msg)).to.deep.equal(['not ready: vpn_down', 'not ready: venue_disconnected', 'ready']);
      expect(lines[0]).to.include({ reason: 'vpn_down', detail: 'geoblocked: Polymarket sees 203.0.113.7 in US/NY' });
    });

    it('never echoes a thrown or rejected check: not ready: error, the error in the log only', async () => {
      const secret = 'connect ECONNREFUSED 10.1.2.3:6379 (redis://:hunter2@10.1.2.3:6379)';
      for (const check of [
        () => {
          throw new Error(secret);
        },
        () => Promise.reject(new Error(secret)),
      ]) {
        const { ops, lines } = await serve(check);
        await expectCode(ops, 'error');
        await expectCode(ops, 'error');
        expect(lines).to.have.length(1);
        expect(JSON.stringify(lines[0])).to.include('10.1.2.3');
      }
    });

    it('a code outside the closed set (a free string from untyped code) answers error', async () => {
      const { ops } = await serve(() => ({ ready: false, reason: 'VPN exit 203.0.113.7' as NotReadyCode }));
      await expectCode(ops, 'error');
      expect(readyzBody({ ready: false, reason: 'quotes_stale' })).to.equal('not ready: quotes_stale\n');
      for (const code of notReadyCodes) expect(code).to.match(/^[a-z_]+$/);
    });

    it('/metrics and /healthz: a failing collection is not echoed; healthz says ok', async () => {
      const registry = new Registry();
      new Counter({
        name: 'arbees_broken_total',
        help: 'broken',
        registers: [registry],
        collect() {
          throw new Error('cannot read http://10.9.8.7:9000/secret');
        },
      });
      const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry, log: pino({ level: 'silent' }) });
      stops.push(() => ops.close());
      expect(await get(ops, '/metrics')).to.deep.equal({ status: 500, body: 'metrics failed\n' });
      expect(await get(ops, '/healthz')).to.deep.equal({ status: 200, body: 'ok\n' });
    });
  });

  describe('each process', () => {
    it('Polymarket monitor: the VPN control server or the geoblock naming the exit address → vpn_down', async () => {
      let answer: { path: string; status: number; body: unknown } = { path: '', status: 200, body: {} };
      const server = createServer((req, res) => {
        const body = req.url === answer.path ? answer.body : req.url === '/v1/vpn/status' ? { status: 'running' } : undefined;
        res.writeHead(req.url === answer.path ? answer.status : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      const base = await listen(server);
      stops.push(() => new Promise((resolve) => server.close(resolve)));
      const cases = [
        { path: '/v1/vpn/status', status: 200, body: { status: 'stopped: exit 198.51.100.23 https://vpn.example/x' } },
        { path: '/api/geoblock', status: 200, body: { blocked: true, ip: '203.0.113.7', country: 'US', region: 'NY' } },
      ];
      for (const c of cases) {
        answer = c;
        const { log, lines } = logCapture();
        const pm = new PolymarketMonitor({
          shard: 's',
          markets: [],
          wsUrl: 'ws://127.0.0.1:1/ws/market',
          redisUrl: UNREACHABLE_REDIS,
          maxQuoteAgeMs: 10_000,
          vpn: { required: true, geoblockUrl: `${base}/api/geoblock`, controlUrl: base },
          log,
        });
        await pm.runProbe();
        const r = pm.readiness();
        expect(r).to.deep.include({ ready: false, reason: 'vpn_down' });
        expect(r.ready === false && r.detail).to.match(IP); // the detail has the address: it must stay in the log
        const { ops } = await serve(() => pm.readiness(), { log, lines });
        await expectCode(ops, 'vpn_down');
        await expectCode(ops, 'vpn_down');
        expect(lines.filter((l) => l.msg === 'not ready: vpn_down')).to.have.length(1);
      }
    });

    it('Kalshi monitor: a refused WebSocket handshake with venue text and addresses → venue_disconnected', async () => {
      const text = 'upstream 10.20.30.40 failed, see https://status.internal.example/incident';
      const server = createServer((_req, res) => res.writeHead(503).end(text));
      server.on('upgrade', (_req, socket) => {
        socket.on('error', () => socket.destroy()); // the monitor may reset it as it stops
        socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
      });
      const base = await listen(server);
      stops.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const km = new KalshiMonitor({
        shard: 's',
        markets: [{ ticker: 'KX-A', marketId: 'm0' }],
        wsUrl: `${base.replace('http', 'ws')}/trade-api/ws/v2`,
        keyId: 'k',
        privateKey,
        redisUrl: UNREACHABLE_REDIS,
        maxQuoteAgeMs: 10_000,
        backoff: { baseMs: 50, maxMs: 200 },
        log: pino({ level: 'silent' }),
      });
      stops.push(() => Promise.race([km.stop(), new Promise((resolve) => setTimeout(resolve, 2_000))]));
      void km.start();
      const deadline = Date.now() + 10_000;
      while (!km.lastError && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(km.lastError).to.include('10.20.30.40');
      const r = km.readiness();
      expect(r).to.deep.include({ ready: false, reason: 'venue_disconnected' });
      expect(r.ready === false && r.detail).to.include('https://status.internal.example/incident');
      const { ops } = await serve(() => km.readiness());
      await expectCode(ops, 'venue_disconnected');
    });

    it('detector: starting, and Redis failing with its address in the error → redis_unavailable', async () => {
      const service = new DetectorService({
        shard: 's',
        redisUrl: UNREACHABLE_REDIS,
        signalKey: 'k'.repeat(64),
        log: pino({ level: 'silent' }),
      });
      const { ops } = await serve(() => service.readiness());
      await expectCode(ops, 'starting');
      // As the read loop leaves it when XREADGROUP fails.
      Object.assign(service as unknown as Record<string, unknown>, { state: 'running', readError: 'connect ECONNREFUSED 10.3.3.3:6379' });
      await expectCode(ops, 'redis_unavailable');
    });

    it('executor: recovering, lost_shard_lock, control_unsubscribed', async () => {
      let state = { executor: { ready: false, lostLock: false }, control: { listening: false } };
      const { ops } = await serve(() => executorReadiness(state.executor, state.control));
      await expectCode(ops, 'recovering');
      state = { executor: { ready: false, lostLock: true }, control: { listening: true } };
      await expectCode(ops, 'lost_shard_lock');
      state = { executor: { ready: true, lostLock: false }, control: { listening: false } };
      await expectCode(ops, 'control_unsubscribed');
      state = { executor: { ready: true, lostLock: false }, control: { listening: true } };
      expect((await get(ops, '/readyz')).body).to.equal('ready\n');
    });

    it('operator: leading with caches not synced → caches_not_synced; standing by is ready', async () => {
      const leading = { leading: true, shards: { hasSynced: false }, children: new Map() };
      const check = () => Operator.prototype.readiness.call(leading);
      const { ops } = await serve(check);
      await expectCode(ops, 'caches_not_synced');
      leading.leading = false;
      expect((await get(ops, '/readyz')).body).to.equal('ready\n');
    });
  });
});
