// Hostile venues against the real monitor processes (issue 22): a WebSocket server impersonating
// Kalshi, then Polymarket, sends valid traffic interleaved with seeded faults, one class at a time
// (bad numbers, truncated JSON, unknown types, seq gaps, duplicate acks, 0/1 prices, crossed books,
// huge sizes, huge timestamps, oversized frames, nested bombs, silence), about 50k messages each;
// a reader on the rig's Redis checks every published quote. The monitor must never exit, never
// publish a fresh quote that is insane or shows a book the venue never had, stay under its pod's
// 256 MiB (its RSS sampled and the kernel's high-water mark), count what it refused, notice the
// silence by itself (/readyz 503), and come back fresh and equal to the venue after each class.
// Also here: the socket and the VPN probe under hostile sizes. bench/monitor-fuzz.bench.ts runs
// the same for 1M+ messages each.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { rig } from '../rig/index.js';
import { createLogger } from '../../lib/log.js';
import { Backoff } from '../../workloads/market-data/backoff.js';
import { ReconnectingSocket } from '../../workloads/market-data/socket.js';
import { VpnProbe } from '../../workloads/polymarket-monitor/vpn.js';
import { FAULT_CLASSES, type FuzzVenue } from '../support/hostile-venue.js';
import { fuzzMonitor, POD_LIMIT_BYTES, report, type FuzzResult } from '../support/monitor-fuzz.js';
import { waitFor } from '../support/wait.js';

/** ~50k messages per monitor: 12 classes of this many, plus the recoveries. */
const PER_CLASS = 4_000;

describe('monitor fuzz: hostile venues against the monitor processes', function () {
  this.timeout(600_000);
  let workDir: string;
  let redisUrl: string;
  const results: FuzzResult[] = [];

  before(async () => {
    redisUrl = (await rig.redis()).url;
    workDir = mkdtempSync(join(tmpdir(), 'arbees-fuzz-'));
  });
  after(() => {
    for (const r of results) console.log(report(r));
    if (!process.env.ARBEES_KEEP_RIG) rmSync(workDir, { recursive: true, force: true });
  });

  for (const [venue, seed] of [
    ['kalshi', 2201],
    ['polymarket', 2202],
  ] as Array<[FuzzVenue, number]>) {
    it(`${venue}: every quote sane, the process alive and under 256 MiB, back after each fault class`, async () => {
      const r = await fuzzMonitor({ venue, redisUrl, perClass: PER_CLASS, seed, workDir });
      results.push(r);
      expect(r.violations, r.violations.join('\n')).to.deep.equal([]);
      expect(r.exitCode, 'the monitor stops cleanly on SIGTERM').to.equal(0);
      expect(r.classes.map((c) => c.cls)).to.deep.equal([...FAULT_CLASSES]);
      for (const c of r.classes) {
        expect(c.peakRss, `${c.cls} peak RSS`).to.be.below(POD_LIMIT_BYTES);
        expect(c.faults, `${c.cls} faults sent`).to.be.greaterThan(0);
      }
      expect(r.peakRssHwm, 'VmHWM').to.be.below(POD_LIMIT_BYTES);
      expect(Object.values(r.sent).reduce((a, b) => a + b, 0)).to.be.at.least(45_000);
      for (const kind of ['snapshot_50MB', 'nested_50MB', 'nested_104MB'])
        expect(r.sent[`oversized:${kind}`] ?? 0, kind).to.be.greaterThan(0);
      expect(r.quotes.fresh).to.be.greaterThan(1_000);
      // What was refused was counted.
      const m = r.metrics;
      expect(m['arbees_book_rejected_total{reason="price_out_of_range"}'], 'refused $0/$1 books').to.be.greaterThan(0);
      expect(m['arbees_book_rejected_total{reason="crossed"}'], 'refused crossed books').to.be.greaterThan(0);
      expect(m['arbees_book_rejected_total{reason="too_deep"}'], 'refused deep books').to.be.greaterThan(0);
      expect(m['arbees_ws_frames_refused_total{reason="too_large"}'], 'frames over maxPayload').to.be.greaterThan(0);
      expect(m['arbees_ws_frames_refused_total{reason="too_deep"}'], 'nested bombs').to.be.greaterThan(0);
      expect(m['arbees_ws_frames_refused_total{reason="too_many_values"}'], 'value floods').to.be.greaterThan(0);
      expect(m.arbees_feed_stalls_total, 'silences noticed').to.be.greaterThan(0);
      expect(m.arbees_exchange_ts_rejected_total, 'clamped timestamps').to.be.greaterThan(0);
      expect(m.arbees_malformed_messages_total, 'malformed messages').to.be.greaterThan(0);
      if (venue === 'kalshi') {
        expect(m.arbees_seq_gaps_total, 'seq gaps').to.be.greaterThan(0);
        expect(m['arbees_book_rejected_total{reason="size_out_of_range"}'], 'sizes summed past the bound').to.be.greaterThan(0);
      }
    });
  }
});

describe('monitor bounds: socket frames and VPN probe bodies', function () {
  this.timeout(60_000);
  const log = createLogger({ name: 'monitor-bounds', level: process.env.ARBEES_TEST_LOG ?? 'silent' });

  it('drops a connection whose frame is over maxPayload (counted), reconnects, and keeps receiving', async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send('small');
      ws.send('['.repeat(connections === 1 ? 2_000_001 : 10)); // the first connection gets one byte too many
      ws.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const received: string[] = [];
    let oversized = 0;
    const socket = new ReconnectingSocket({
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      backoff: new Backoff({ baseMs: 20, maxMs: 50 }),
      silenceMs: 10_000,
      maxPayload: 2_000_000,
      log,
      onOversized: () => oversized++,
      onOpen: () => undefined,
      onMessage: (text) => received.push(text.slice(0, 10)),
      onDown: () => undefined,
    });
    try {
      socket.start();
      await waitFor('a second connection and its small frames', () => connections >= 2 && received.length >= 3);
      expect(oversized).to.equal(1);
      expect(received.slice(0, 3)).to.deep.equal(['small', 'small', '['.repeat(10)]);
    } finally {
      await socket.stop();
      wss.close();
      server.close();
    }
  });

  it('reads a VPN/geoblock answer only up to its bound, refuses redirects, and still reads a normal one', async () => {
    let mode: 'huge' | 'endless' | 'redirect' | 'ok' = 'huge';
    let streamed = 0;
    const server = createServer((req, res) => {
      if (mode === 'redirect') return res.writeHead(302, { location: 'http://elsewhere.example/api/geoblock' }).end();
      if (mode === 'ok')
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"blocked":false,"ip":"1.2.3.4","country":"PT"}');
      if (mode === 'huge') return res.writeHead(200, { 'content-length': String(50_000_000) }).end('{"blocked":false');
      // Endless, without a length: the probe must stop reading by itself.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) streamed += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const probe = new VpnProbe({
      geoblockUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/geoblock`,
      timeoutMs: 10_000,
    });
    try {
      expect((await probe.check()).reason).to.match(/geoblock check failed: answer of 50000000 bytes/);
      mode = 'endless';
      expect((await probe.check()).reason).to.match(/geoblock check failed: answer over 65536 bytes/);
      expect(streamed).to.be.below(50_000_000); // stopped reading long before the endless body ended
      mode = 'redirect';
      expect(await probe.check()).to.include({ up: false, reason: 'geoblock check: HTTP 302' });
      mode = 'ok';
      expect(await probe.check()).to.include({ up: true, ip: '1.2.3.4' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
