// The VPN topology for real, on one machine with network namespaces: the Polymarket
// simulator on a venue host that accepts only a VPN exit range, the Polymarket monitor in a pod
// whose only way out is a tunnel to a VPN namespace (forwarding + SNAT to the exit range), the
// Kalshi monitor with a direct route, Redis in the root namespace reachable from both pods. All
// four are real `arbees` processes started with `ip netns exec`.
// Proves: quotes flow through the tunnel and arbees_vpn_up is 1; a direct source is geoblocked;
// with the tunnel's route removed the pod has no path out (no route, and the kill-switch firewall
// behind it), arbees_vpn_up drops to 0, no packet from the pod reaches the venue directly, while
// Kalshi carries on and Redis stays reachable; with the route back, Polymarket recovers.
// Needs root (CI runs as root); anywhere else it fails saying so.
import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseMetricsText, sumOf } from '../../cli/demo/metrics-text.js';
import { demoShardConfig } from '../../cli/demo/shard.js';
import { requireBinary } from '../../cli/local/binaries.js';
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from '../../cli/local/process.js';
import { credentialEnv, shardConfigPathEnv } from '../../contracts/shard-config.js';
import { quoteSchema, streamKeys, type Quote } from '../../contracts/messages.js';
import { QUOTE_FIELD } from '../../workloads/market-data/publisher.js';
import { parseScenario, type ScenarioInput } from '../../workloads/sim/scenario.js';
import { counterNames as C, createVpnTopology, type Role, type VpnTopology } from '../support/netns.js';

const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'cli', 'arbees.ts');
const POLY_PORT = 8702;
const KALSHI_PORT = 8701;
const OPS_PORT = 9464;

const scenarioInput: ScenarioInput = {
  name: 'e2e-vpn',
  seed: 99,
  duration: '30m',
  messageRate: 40,
  games: [
    {
      id: 'nba-phi-lal',
      sport: 'nba',
      home: 'LAL',
      away: 'PHI',
      kalshi: { eventTicker: 'KXNBAGAME-26NOV26PHILAL' },
      markets: [
        {
          id: 'nba-phi-lal-lal',
          team: 'LAL',
          initialPrice: 0.6,
          kalshi: { ticker: 'KXNBAGAME-26NOV26PHILAL-LAL' },
          polymarket: { yesTokenId: '111', noTokenId: '112' },
        },
      ],
    },
    {
      id: 'nhl-tor-mtl',
      sport: 'nhl',
      home: 'MTL',
      away: 'TOR',
      kalshi: { eventTicker: 'KXNHLGAME-26NOV26TORMTL' },
      markets: [
        {
          id: 'nhl-tor-mtl-tor',
          team: 'TOR',
          initialPrice: 0.45,
          kalshi: { ticker: 'KXNHLGAME-26NOV26TORMTL-TOR' },
          polymarket: { yesTokenId: '221', noTokenId: '222' },
        },
      ],
    },
  ],
};

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ` +
          `${what}${lastError ? ` (last error: ${lastError})` : ''}${detail() ? `\n${detail()}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function metrics(url: string): Promise<ReturnType<typeof parseMetricsText>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return parseMetricsText(await response.text());
}

async function readyStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).status;
  } catch {
    return 0;
  }
}

describe('end to end: the Polymarket monitor behind a VPN (network namespaces)', function () {
  this.timeout(120_000);
  let topo: VpnTopology | undefined;
  let dir: string;
  let redis: Redis | undefined;
  const procs: ManagedProcess[] = [];
  const shard = `vpn-${randomBytes(3).toString('hex')}`;
  let polyOps: string;
  let kalshiOps: string;
  let polyVenueUrl: string;

  const logTails = () => procs.map((p) => `--- ${p.name} (${p.logFile})\n${p.logTail(8)}`).join('\n');

  /** Quotes added to the stream after `fromId` (exclusive), schema-checked. */
  async function quotesAfter(fromId: string): Promise<Array<{ id: string; quote: Quote }>> {
    const entries = await redis!.xrange(streamKeys.quotes(shard), `(${fromId}`, '+');
    return entries.map(([id, fields]) => {
      expect(fields[0]).to.equal(QUOTE_FIELD);
      return { id, quote: quoteSchema.parse(JSON.parse(fields[1]!)) };
    });
  }
  async function lastId(): Promise<string> {
    const [last] = await redis!.xrevrange(streamKeys.quotes(shard), '+', '-', 'COUNT', 1);
    return last?.[0] ?? '0-0';
  }

  before(async function () {
    this.timeout(150_000);
    // Fails (never skips) with what is needed when not root or without ip netns.
    topo = createVpnTopology({ polyVenuePort: POLY_PORT });
    const t = topo;
    dir = mkdtempSync(join(tmpdir(), 'arbees-e2e-vpn-'));
    process.stderr.write(`e2e-vpn: namespaces arbees-${t.id}-*, tunnel ${t.tunnel}, exit range ${t.addr.exitCidr}, logs in ${dir}\n`);

    // Redis in the root namespace, on the host link's address: both pods reach it through the node.
    const redisBinary = requireBinary('redis-server', 'run `apt-get install redis-server` (or `make setup`)');
    const redisPort = await freePort(); // free on loopback, hence also on the host link (no wildcard listener holds it)
    const redisUrl = `redis://${t.addr.host}:${redisPort}`;
    const redisProc = startProcess(
      'redis',
      redisBinary,
      ['--port', String(redisPort), '--bind', t.addr.host, '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'],
      {
        logFile: join(dir, 'redis.log'),
      },
    );
    procs.push(redisProc);
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => undefined);
    await waitUntilReady(redisProc, async () => (await redis!.ping()) === 'PONG', 30_000, 'redis-server on the host link');

    // Files the processes read: scenario, credentials, the shard config with the venues' addresses.
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(scenarioInput));
    const scenario = parseScenario(scenarioInput);
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = `vpn-${t.id}`;
    writeFileSync(join(dir, 'kalshi.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(
      join(dir, 'poly-creds.json'),
      JSON.stringify({
        apiKey: 'vpn',
        secret: randomBytes(32).toString('base64'),
        passphrase: 'vpn',
        address: '0x0000000000000000000000000000000000000001',
      }),
    );
    polyVenueUrl = `http://${t.addr.polyVenue}:${POLY_PORT}`;
    const kalshiVenue = `${t.addr.kalshiVenue}:${KALSHI_PORT}`;
    const shardConfig = demoShardConfig(shard, scenario, {
      kalshiRestUrl: `http://${kalshiVenue}/trade-api/v2`,
      kalshiWsUrl: `ws://${kalshiVenue}/trade-api/ws/v2`,
      polymarketClobUrl: polyVenueUrl,
      polymarketWsUrl: `ws://${t.addr.polyVenue}:${POLY_PORT}/ws/market`,
      polymarketGammaUrl: `${polyVenueUrl}/gamma`,
    });
    const shardFile = join(dir, 'shard.json');
    writeFileSync(shardFile, JSON.stringify(shardConfig));

    const arbees = (role: Role, name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
      const { command, args: argv } = t.exec(role, process.execPath, ['--import', 'tsx', CLI, ...args]);
      const proc = startProcess(name, command, argv, { logFile: join(dir, `${name}.log`), env: { ...process.env, ...env }, cwd: REPO });
      procs.push(proc);
      return proc;
    };
    // The venues: Polymarket accepts only the VPN's exit range (every request and WS upgrade).
    const polySim = arbees('polyVenue', 'sim-polymarket', [
      'sim',
      'polymarket',
      '--creds',
      join(dir, 'poly-creds.json'),
      '--scenario',
      scenarioFile,
      '--host',
      t.addr.polyVenue,
      '--port',
      String(POLY_PORT),
      '--allow-cidr',
      t.addr.exitCidr,
    ]);
    const kalshiSim = arbees('kalshiVenue', 'sim-kalshi', [
      'sim',
      'kalshi',
      '--key-id',
      keyId,
      '--public-key',
      join(dir, 'kalshi.pub'),
      '--scenario',
      scenarioFile,
      '--host',
      t.addr.kalshiVenue,
      '--port',
      String(KALSHI_PORT),
    ]);
    const workloadEnv = {
      ARBEES_SHARD: shard,
      ARBEES_REDIS_URL: redisUrl,
      ARBEES_HTTP_PORT: String(OPS_PORT),
      ARBEES_LOG_LEVEL: 'info',
      [shardConfigPathEnv]: shardFile,
    };
    const polyMonitor = arbees('polyMonitor', 'polymarket-monitor', ['polymarket-monitor', '--vpn-probe-interval-ms', '500'], workloadEnv);
    const kalshiMonitor = arbees('kalshiMonitor', 'kalshi-monitor', ['kalshi-monitor'], {
      ...workloadEnv,
      [credentialEnv.kalshi.keyId]: keyId,
      [credentialEnv.kalshi.privateKey]: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    polyOps = `http://${t.addr.polyMonitor}:${OPS_PORT}`;
    kalshiOps = `http://${t.addr.kalshiMonitor}:${OPS_PORT}`;
    // Reached from the root namespace (a blocked source: the geoblock endpoint still answers).
    await Promise.all([
      waitUntilReady(
        polySim,
        async () => (await fetch(`${polyVenueUrl}/api/geoblock`, { signal: AbortSignal.timeout(1_000) })).ok,
        45_000,
        'the Polymarket simulator in the venue namespace',
      ),
      waitUntilReady(
        kalshiSim,
        async () => (await fetch(`http://${kalshiVenue}/trade-api/v2/exchange/status`, { signal: AbortSignal.timeout(1_000) })).ok,
        45_000,
        'the Kalshi simulator in its namespace',
      ),
      waitUntilReady(
        polyMonitor,
        async () => (await readyStatus(`${polyOps}/readyz`)) === 200,
        60_000,
        'polymarket-monitor (through the tunnel)',
      ),
      waitUntilReady(kalshiMonitor, async () => (await readyStatus(`${kalshiOps}/readyz`)) === 200, 60_000, 'kalshi-monitor (direct)'),
    ]).catch((error: Error) => {
      throw new Error(`${error.message}\nroutes of the Polymarket pod:\n${t.routes('polyMonitor')}\n${logTails()}`);
    });
  });

  after(async function () {
    this.timeout(30_000);
    redis?.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 5_000)));
    topo?.destroy();
    if (dir && process.env.ARBEES_KEEP_RIG !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('streams Polymarket quotes through the tunnel from the exit range (arbees_vpn_up 1), Kalshi directly, both into Redis', async () => {
    const t = topo!;
    // Fresh quotes of both venues arrive in the one Redis both pods reach.
    const seen = await until(
      'fresh quotes from both venues',
      async () => {
        const quotes = await quotesAfter('0-0');
        const fresh = (venue: string) => quotes.filter((q) => q.quote.venue === venue && !q.quote.stale).length;
        return fresh('polymarket') >= 20 && fresh('kalshi') >= 20
          ? { polymarket: fresh('polymarket'), kalshi: fresh('kalshi') }
          : undefined;
      },
      60_000,
    );
    const poly = await metrics(`${polyOps}/metrics`);
    expect(sumOf(poly, 'arbees_vpn_up'), 'arbees_vpn_up').to.equal(1);
    expect(sumOf(poly, 'arbees_ws_connected', { venue: 'polymarket' })).to.equal(1);
    expect(sumOf(poly, 'arbees_ws_connect_errors_total', { reason: 'geoblock' })).to.equal(0);

    // From inside the pod, the venue sees the VPN's exit address, not the pod's own.
    const geo = await t.fetchFrom('polyMonitor', `${polyVenueUrl}/api/geoblock`, 15_000);
    expect(geo, JSON.stringify(geo)).to.have.property('status', 200);
    const where = JSON.parse((geo as { body: string }).body) as { blocked: boolean; ip: string };
    expect(where).to.include({ blocked: false, ip: t.addr.exit });

    // What crossed the network: the venue got traffic from the exit range only; the pod's eth0
    // carried tunnel packets, never a packet of its own to the venue or anywhere else.
    const c = t.counters();
    expect(c[C.exitToVenue]!.packets, 'exit range → venue (node)').to.be.greaterThan(0);
    expect(c[C.venueFromExit]!.packets, 'venue INPUT from the exit range').to.be.greaterThan(0);
    expect(c[C.podDirectToVenue]!.packets, 'pod address → venue (node)').to.equal(0);
    expect(c[C.venueFromPodDirect]!.packets, 'venue INPUT from the pod address').to.equal(0);
    expect(c[C.podDirectEgress]!.packets, 'pod eth0 → beyond the cluster and the VPN endpoint').to.equal(0);
    if (t.tunnel === 'vxlan') expect(c[C.tunnelPackets]!.packets, 'VXLAN packets pod → VPN endpoint').to.be.greaterThan(0);
    expect(c[C.kalshiDirect]!.packets, 'kalshi monitor → kalshi venue, direct').to.be.greaterThan(0);
    process.stderr.write(
      `e2e-vpn: through the tunnel: ${seen.polymarket} polymarket + ${seen.kalshi} kalshi fresh quotes; venue sees ${where.ip}; ` +
        `exit→venue ${c[C.exitToVenue]!.packets} pkts, tunnel ` +
        `${c[C.tunnelPackets]?.packets ?? 'n/a'} pkts, pod→venue direct ${c[C.podDirectToVenue]!.packets}\n`,
    );
  });

  it('geoblocks a direct source: the Kalshi pod (direct route) is refused by the Polymarket venue', async () => {
    const t = topo!;
    const geo = await t.fetchFrom('kalshiMonitor', `${polyVenueUrl}/api/geoblock`, 15_000);
    expect(geo, JSON.stringify(geo)).to.have.property('status', 200);
    expect(JSON.parse((geo as { body: string }).body)).to.include({ blocked: true, ip: t.addr.kalshiMonitor });
    const book = await t.fetchFrom('kalshiMonitor', `${polyVenueUrl}/book?token_id=111`, 15_000);
    expect(book, JSON.stringify(book)).to.have.property('status', 403);
    expect((book as { body: string }).body).to.contain('Trading restricted in your region');
    // The same request through the tunnel is served.
    const viaTunnel = await t.fetchFrom('polyMonitor', `${polyVenueUrl}/book?token_id=111`, 15_000);
    expect(viaTunnel, JSON.stringify(viaTunnel)).to.have.property('status', 200);
  });

  it(
    'kill switch: without the tunnel route the pod has no path out, reports arbees_vpn_up 0, and nothing leaves ' +
      'directly; Kalshi carries on',
    async () => {
      const t = topo!;
      const kalshiBefore = await metrics(`${kalshiOps}/metrics`);
      const before = t.counters();
      t.removeTunnelRoute();
      try {
        await until(
          'arbees_vpn_up 0 and the Polymarket socket closed',
          async () => {
            const m = await metrics(`${polyOps}/metrics`);
            return sumOf(m, 'arbees_vpn_up') === 0 && sumOf(m, 'arbees_ws_connected', { venue: 'polymarket' }) === 0;
          },
          30_000,
          logTails,
        );
        expect(await readyStatus(`${polyOps}/readyz`), 'polymarket-monitor /readyz').to.equal(503);

        // No route: a direct attempt from the pod fails at once, before any packet is sent.
        expect(t.routes('polyMonitor')).not.to.match(/^default/m);
        const direct = await t.fetchFrom('polyMonitor', `${polyVenueUrl}/api/geoblock`, 2_000);
        expect(direct, JSON.stringify(direct)).to.have.property('error', 'ENETUNREACH');

        // Even with a (mis)configured direct default route, the kill-switch firewall drops it.
        const dropsBefore = t.counters()[C.killSwitchDrops]!.packets;
        t.addLeakRoute();
        try {
          const leak = await t.fetchFrom('polyMonitor', `${polyVenueUrl}/api/geoblock`, 1_500);
          expect(leak, JSON.stringify(leak)).to.have.property('error');
        } finally {
          t.removeLeakRoute();
        }
        expect(t.counters()[C.killSwitchDrops]!.packets, 'kill-switch drops').to.be.greaterThan(dropsBefore);

        // Polymarket stays dark while Kalshi keeps streaming, and both pods still reach Redis (the
        // Polymarket monitor has published its books stale).
        // The window stays: the monitor's own probe and connection gate run on a 500 ms clock, so only
        // time gives it its chances to reconnect (none may succeed); Kalshi's quotes meanwhile are
        // waited for as a condition, not counted on from the window.
        const cursor = await lastId();
        await new Promise((r) => setTimeout(r, 2_000));
        const kalshiFresh = async () => (await quotesAfter(cursor)).filter((q) => q.quote.venue === 'kalshi' && !q.quote.stale).length;
        await until('fresh Kalshi quotes meanwhile', async () => (await kalshiFresh()) > 5, 30_000, logTails);
        const later = await quotesAfter(cursor);
        const freshPoly = later.filter((q) => q.quote.venue === 'polymarket' && !q.quote.stale);
        expect(freshPoly, 'fresh Polymarket quotes without the tunnel').to.have.length(0);
        expect(later.filter((q) => q.quote.venue === 'kalshi' && !q.quote.stale).length, 'fresh Kalshi quotes meanwhile').to.be.greaterThan(
          5,
        );
        const latestPoly = (await quotesAfter('0-0')).filter((q) => q.quote.venue === 'polymarket').slice(-4);
        expect(
          latestPoly.every((q) => q.quote.stale),
          'the last Polymarket quotes are stale',
        ).to.equal(true);
        const kalshiAfter = await metrics(`${kalshiOps}/metrics`);
        expect(sumOf(kalshiAfter, 'arbees_ws_connected', { venue: 'kalshi' })).to.equal(1);
        expect(sumOf(kalshiAfter, 'arbees_ws_reconnects_total')).to.equal(sumOf(kalshiBefore, 'arbees_ws_reconnects_total'));
        expect(await readyStatus(`${kalshiOps}/readyz`)).to.equal(200);

        // Not one packet from the pod's own address reached the venue, or went anywhere but the
        // cluster and the VPN endpoint, during the whole test.
        const c = t.counters();
        expect(c[C.podDirectToVenue]!.packets, 'pod address → venue (node FORWARD)').to.equal(0);
        expect(c[C.venueFromPodDirect]!.packets, 'venue INPUT from the pod address').to.equal(0);
        expect(c[C.podDirectEgress]!.packets, 'pod eth0 beyond the cluster (node FORWARD)').to.equal(0);
        expect(c[C.kalshiDirect]!.packets).to.be.greaterThan(before[C.kalshiDirect]!.packets);
        process.stderr.write(
          `e2e-vpn: kill switch: ${direct && 'error' in direct ? direct.error : '?'} without the route; ` +
            `firewall drops ${dropsBefore} → ${c[C.killSwitchDrops]!.packets}; ` +
            `pod→venue direct ${c[C.podDirectToVenue]!.packets} pkts, pod eth0 beyond cluster ${c[C.podDirectEgress]!.packets} pkts; ` +
            `exit→venue ${before[C.exitToVenue]!.packets} → ${c[C.exitToVenue]!.packets} pkts; ` +
            `${later.filter((q) => q.quote.venue === 'kalshi').length} kalshi quotes meanwhile\n`,
        );
      } finally {
        if (!/^default/m.test(t.routes('polyMonitor'))) t.restoreTunnelRoute();
      }
    },
  );

  it('recovers when the tunnel route is back: arbees_vpn_up 1 and fresh Polymarket quotes again', async () => {
    const cursor = await lastId();
    await until(
      'arbees_vpn_up 1, ready and fresh Polymarket quotes',
      async () => {
        const m = await metrics(`${polyOps}/metrics`);
        if (sumOf(m, 'arbees_vpn_up') !== 1 || (await readyStatus(`${polyOps}/readyz`)) !== 200) return false;
        return (await quotesAfter(cursor)).some((q) => q.quote.venue === 'polymarket' && !q.quote.stale);
      },
      60_000,
      logTails,
    );
    const c = topo!.counters();
    expect(c[C.podDirectToVenue]!.packets).to.equal(0);
    expect(c[C.podDirectEgress]!.packets).to.equal(0);
  });
});
