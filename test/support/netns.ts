// Linux network namespaces for the VPN end-to-end test: a small routed network on one machine, built
// with iproute2 (netns, veth, vxlan) and iptables, torn down again even when a test fails.
//
//   root namespace (the test, Redis) ── host link ── node (router, "the cluster node + internet")
//                                                      ├── kalshi-monitor pod   (default route: node)
//                                                      ├── polymarket-monitor pod: eth0 only reaches the cluster
//                                                      │      and the VPN endpoint; default route: the tunnel
//                                                      ├── vpn (the VPN server: tunnel end, forwarding + SNAT to the exit range)
//                                                      ├── polymarket venue (geoblock: only the exit range)
//                                                      └── kalshi venue
//
// The tunnel between the Polymarket monitor's pod and the VPN namespace is a VXLAN device (UDP
// 4789 over the pod's eth0, standing in for WireGuard's UDP 51820: the kernel here has no
// wireguard module) or, where VXLAN is missing, a second veth pair. The pod's OUTPUT firewall is
// gluetun's kill switch: eth0 may carry only the tunnel's packets and cluster traffic (Redis, the
// test scraping /metrics); everything else is dropped and counted.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Why the topology cannot be built here: a message naming what is needed. */
export class NetnsUnavailable extends Error {
  override name = 'NetnsUnavailable';
}

function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, { cause: error });
  }
}

function shQuiet(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const needs =
  'root with iproute2 (ip netns, veth) and iptables; CI runs it as root via `bash .ci/run`, which installs both (scripts/setup-system.sh)';

/** Fails with a clear message unless this process can create namespaces, veth pairs and iptables rules. */
export function requireNetns(): void {
  if (process.platform !== 'linux')
    throw new NetnsUnavailable(`the VPN topology test needs Linux network namespaces (this is ${process.platform}); it needs ${needs}`);
  if (process.getuid?.() !== 0)
    throw new NetnsUnavailable(`the VPN topology test must run as root (uid ${process.getuid?.()}): it needs ${needs}`);
  for (const [binary, args] of [
    ['ip', ['-V']],
    ['iptables', ['-V']],
  ] as const) {
    if (!shQuiet(binary, [...args]))
      throw new NetnsUnavailable(`\`${binary}\` is missing or does not run: the VPN topology test needs ${needs}`);
  }
  const probe = `arbees-probe-${randomBytes(3).toString('hex')}`;
  try {
    sh('ip', ['netns', 'add', probe]);
    sh('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    sh('ip', ['netns', 'exec', probe, 'iptables', '-w', '-L', 'OUTPUT', '-n']);
  } catch (error) {
    throw new NetnsUnavailable(
      `cannot create a network namespace with a veth pair and iptables (${(error as Error).message}); the VPN topology test needs ${needs}`,
      { cause: error },
    );
  } finally {
    shQuiet('ip', ['netns', 'del', probe]);
  }
}

/** Can this kernel make VXLAN devices inside a namespace? */
function vxlanAvailable(): boolean {
  const probe = `arbees-probe-${randomBytes(3).toString('hex')}`;
  try {
    sh('ip', ['netns', 'add', probe]);
    return shQuiet('ip', [
      '-n',
      probe,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      '7',
      'local',
      '127.0.0.1',
      'remote',
      '127.0.0.2',
      'dstport',
      '4789',
    ]);
  } catch {
    return false;
  } finally {
    shQuiet('ip', ['netns', 'del', probe]);
  }
}

/** A free 10.x.y.0/24 for this run: random, and not already routed or addressed in the root namespace. */
function pickBase(): string {
  const used = sh('ip', ['-4', 'route', 'show', 'table', 'all']) + sh('ip', ['-4', 'addr', 'show']);
  for (let i = 0; i < 50; i++) {
    const base = `10.${randomInt(64, 255)}.${randomInt(0, 256)}`;
    if (!used.includes(`${base}.`)) return base;
  }
  throw new Error('no free 10.x.y.0/24 found for the test network');
}

export const VXLAN_PORT = 4789;

export type Role = 'node' | 'vpn' | 'polyMonitor' | 'kalshiMonitor' | 'polyVenue' | 'kalshiVenue';

export interface Counter {
  /** Where the rule lives: namespace/table/chain. */
  where: string;
  packets: number;
  bytes: number;
}

export type FetchOutcome = { status: number; body: string } | { error: string; message: string };

export interface VpnTopology {
  readonly id: string;
  readonly tunnel: 'vxlan' | 'veth';
  readonly ns: Record<Role, string>;
  readonly addr: {
    /** Root namespace end of the host link: Redis listens here, the test connects from here. */
    host: string;
    kalshiMonitor: string;
    /** The Polymarket monitor pod's own (direct) address, on its eth0. */
    polyMonitor: string;
    /** The VPN server's public address: the tunnel's far end. */
    vpnEndpoint: string;
    polyVenue: string;
    kalshiVenue: string;
    /** The pod's address inside the tunnel, and the VPN server's. */
    tunnelPod: string;
    tunnelVpn: string;
    /** The VPN's exit address and the range the Polymarket venue accepts. */
    exit: string;
    exitCidr: string;
    /** The cluster range the pod's firewall lets through eth0 (the host link: Redis and the test). */
    clusterCidr: string;
  };
  /** Port the Polymarket venue listens on (the iptables counters watch it). */
  readonly polyVenuePort: number;
  /** `ip netns exec <ns> command args…` as a command and its arguments (for startProcess). */
  exec(role: Role, command: string, args: string[]): { command: string; args: string[] };
  /** The pod's route through the tunnel: remove (the tunnel is gone) and put back. */
  removeTunnelRoute(): void;
  restoreTunnelRoute(): void;
  /** A default route through the pod's eth0, as a misconfiguration would add: only the firewall stands in the way. */
  addLeakRoute(): void;
  removeLeakRoute(): void;
  /** The pod's routing table, for messages. */
  routes(role: Role): string;
  /** Every labelled iptables counter of the topology. */
  counters(): Record<string, Counter>;
  /** GET `url` from inside a namespace (a short-lived node process there). */
  fetchFrom(role: Role, url: string, timeoutMs: number): Promise<FetchOutcome>;
  /** Kills what still runs in the namespaces, deletes them and the host link. Idempotent. */
  destroy(): void;
}

// Labelled counting rules, read back by their comment.
const COUNTERS = {
  podDirectToVenue: 'pod-direct-to-polymarket-venue',
  podDirectEgress: 'pod-direct-egress-beyond-cluster',
  exitToVenue: 'exit-range-to-polymarket-venue',
  tunnelPackets: 'tunnel-packets-pod-to-vpn',
  killSwitchDrops: 'kill-switch-drops',
  venueFromExit: 'venue-from-exit-range',
  venueFromOthers: 'venue-from-non-exit-sources',
  venueFromPodDirect: 'venue-from-pod-direct-address',
  kalshiDirect: 'kalshi-monitor-to-kalshi-venue',
} as const;
export const counterNames = COUNTERS;

export function createVpnTopology(options: { polyVenuePort: number }): VpnTopology {
  requireNetns();
  const id = randomBytes(3).toString('hex');
  const tunnel: 'vxlan' | 'veth' = vxlanAvailable() ? 'vxlan' : 'veth';
  const b = pickBase();
  const ns: Record<Role, string> = {
    node: `arbees-${id}-node`,
    vpn: `arbees-${id}-vpn`,
    polyMonitor: `arbees-${id}-pm`,
    kalshiMonitor: `arbees-${id}-km`,
    polyVenue: `arbees-${id}-poly`,
    kalshiVenue: `arbees-${id}-kalshi`,
  };
  const hostLink = `arb${id}`;
  const addr = {
    host: `${b}.1`,
    kalshiMonitor: `${b}.6`,
    polyMonitor: `${b}.10`,
    vpnEndpoint: `${b}.14`,
    polyVenue: `${b}.18`,
    kalshiVenue: `${b}.22`,
    tunnelPod: `${b}.34`,
    tunnelVpn: `${b}.33`,
    exit: `${b}.129`,
    exitCidr: `${b}.128/25`,
    clusterCidr: `${b}.0/30`,
  };
  const port = String(options.polyVenuePort);
  const ip = (...args: string[]) => sh('ip', args);
  const inNs = (role: Role, command: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns[role], command, ...args]);
  const iptables = (role: Role, ...args: string[]) => inNs(role, 'iptables', '-w', ...args);
  const count = (role: Role, chain: string, label: string, ...match: string[]) =>
    iptables(role, '-A', chain, ...match, '-m', 'comment', '--comment', label);
  let destroyed = false;
  let created = false;

  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', destroy);
    for (const name of Object.values(ns)) {
      // Only what runs inside our own namespaces: processes this test started there.
      const pids = (() => {
        try {
          return sh('ip', ['netns', 'pids', name])
            .split('\n')
            .map(Number)
            .filter((p) => p > 0);
        } catch {
          return [];
        }
      })();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    shQuiet('ip', ['link', 'del', hostLink]);
    for (const name of Object.values(ns)) shQuiet('ip', ['netns', 'del', name]);
  };
  // Even a crash of the test process leaves nothing behind.
  process.once('exit', destroy);

  try {
    for (const name of Object.values(ns)) {
      ip('netns', 'add', name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
    }
    created = true;
    // Root ↔ node: the host link. Its route covers the whole test /24 and goes away with the link.
    ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', ns.node);
    ip('addr', 'add', `${addr.host}/30`, 'dev', hostLink);
    ip('link', 'set', hostLink, 'up');
    ip('-n', ns.node, 'addr', 'add', `${b}.2/30`, 'dev', 'uplink');
    ip('-n', ns.node, 'link', 'set', 'uplink', 'up');
    ip('route', 'add', `${b}.0/24`, 'via', `${b}.2`, 'dev', hostLink);
    inNs('node', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');

    // node ↔ each leaf: a /30 each; the leaf's side is eth0.
    const leaf = (role: Exclude<Role, 'node'>, nodeAddr: string, leafAddr: string, defaultRoute: boolean) => {
      const nodeIf = `to-${role}`.slice(0, 15);
      ip('-n', ns.node, 'link', 'add', nodeIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[role]);
      ip('-n', ns.node, 'addr', 'add', `${nodeAddr}/30`, 'dev', nodeIf);
      ip('-n', ns.node, 'link', 'set', nodeIf, 'up');
      ip('-n', ns[role], 'addr', 'add', `${leafAddr}/30`, 'dev', 'eth0');
      ip('-n', ns[role], 'link', 'set', 'eth0', 'up');
      if (defaultRoute) ip('-n', ns[role], 'route', 'add', 'default', 'via', nodeAddr, 'dev', 'eth0');
      return nodeIf;
    };
    const toKalshiMonitor = leaf('kalshiMonitor', `${b}.5`, addr.kalshiMonitor, true);
    const toPod = leaf('polyMonitor', `${b}.9`, addr.polyMonitor, false);
    leaf('vpn', `${b}.13`, addr.vpnEndpoint, true);
    leaf('polyVenue', `${b}.17`, addr.polyVenue, true);
    leaf('kalshiVenue', `${b}.21`, addr.kalshiVenue, true);
    void toKalshiMonitor;
    // The exit range lives behind the VPN server.
    ip('-n', ns.node, 'route', 'add', addr.exitCidr, 'via', addr.vpnEndpoint);

    // The pod: eth0 reaches only the cluster (Redis, the test) and the VPN endpoint; no default route.
    ip('-n', ns.polyMonitor, 'route', 'add', addr.clusterCidr, 'via', `${b}.9`, 'dev', 'eth0');
    ip('-n', ns.polyMonitor, 'route', 'add', `${addr.vpnEndpoint}/32`, 'via', `${b}.9`, 'dev', 'eth0');

    // The tunnel, and the pod's default route through it.
    if (tunnel === 'vxlan') {
      ip(
        '-n',
        ns.polyMonitor,
        'link',
        'add',
        'vpn0',
        'type',
        'vxlan',
        'id',
        '51820',
        'local',
        addr.polyMonitor,
        'remote',
        addr.vpnEndpoint,
        'dstport',
        String(VXLAN_PORT),
        'dev',
        'eth0',
      );
      ip(
        '-n',
        ns.vpn,
        'link',
        'add',
        'vpn0',
        'type',
        'vxlan',
        'id',
        '51820',
        'local',
        addr.vpnEndpoint,
        'remote',
        addr.polyMonitor,
        'dstport',
        String(VXLAN_PORT),
        'dev',
        'eth0',
      );
    } else {
      ip('-n', ns.polyMonitor, 'link', 'add', 'vpn0', 'type', 'veth', 'peer', 'name', 'vpn0', 'netns', ns.vpn);
    }
    ip('-n', ns.polyMonitor, 'addr', 'add', `${addr.tunnelPod}/30`, 'dev', 'vpn0');
    ip('-n', ns.polyMonitor, 'link', 'set', 'vpn0', 'up');
    ip('-n', ns.vpn, 'addr', 'add', `${addr.tunnelVpn}/30`, 'dev', 'vpn0');
    ip('-n', ns.vpn, 'link', 'set', 'vpn0', 'up');
    ip('-n', ns.polyMonitor, 'route', 'add', 'default', 'via', addr.tunnelVpn, 'dev', 'vpn0');

    // The VPN server: forwards the tunnel's traffic and rewrites its source to the exit address.
    ip('-n', ns.vpn, 'addr', 'add', `${addr.exit}/32`, 'dev', 'lo');
    inNs('vpn', 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    iptables('vpn', '-t', 'nat', '-A', 'POSTROUTING', '-s', `${b}.32/30`, '-o', 'eth0', '-j', 'SNAT', '--to-source', addr.exit);
    // WireGuard's cryptokey routing: a peer may send only from its AllowedIPs (its tunnel address).
    // A socket the pod opened on another route (its eth0 address) never gets out through the VPN.
    iptables('vpn', '-A', 'FORWARD', '-i', 'vpn0', '!', '-s', `${addr.tunnelPod}/32`, '-j', 'DROP');

    // The pod's kill switch (gluetun's firewall): eth0 carries the tunnel and cluster traffic only.
    iptables('polyMonitor', '-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT');
    iptables('polyMonitor', '-A', 'OUTPUT', '-o', 'vpn0', '-j', 'ACCEPT');
    if (tunnel === 'vxlan')
      iptables(
        'polyMonitor',
        '-A',
        'OUTPUT',
        '-o',
        'eth0',
        '-p',
        'udp',
        '-d',
        addr.vpnEndpoint,
        '--dport',
        String(VXLAN_PORT),
        '-j',
        'ACCEPT',
      );
    iptables('polyMonitor', '-A', 'OUTPUT', '-o', 'eth0', '-d', addr.clusterCidr, '-j', 'ACCEPT');
    count('polyMonitor', 'OUTPUT', COUNTERS.killSwitchDrops, '-j', 'DROP');
    iptables('polyMonitor', '-P', 'OUTPUT', 'DROP');

    // Counters on the node (what actually crossed the network) …
    count('node', 'FORWARD', COUNTERS.podDirectToVenue, '-s', addr.polyMonitor, '-d', addr.polyVenue);
    count('node', 'FORWARD', COUNTERS.exitToVenue, '-s', addr.exitCidr, '-d', addr.polyVenue);
    count('node', 'FORWARD', COUNTERS.kalshiDirect, '-s', addr.kalshiMonitor, '-d', addr.kalshiVenue);
    if (tunnel === 'vxlan')
      count(
        'node',
        'FORWARD',
        COUNTERS.tunnelPackets,
        '-s',
        addr.polyMonitor,
        '-d',
        addr.vpnEndpoint,
        '-p',
        'udp',
        '--dport',
        String(VXLAN_PORT),
      );
    // … every packet the pod's eth0 sent beyond the cluster and the VPN endpoint …
    iptables('node', '-N', 'POD_EGRESS');
    iptables('node', '-A', 'FORWARD', '-i', toPod, '-j', 'POD_EGRESS');
    iptables('node', '-A', 'POD_EGRESS', '-d', addr.vpnEndpoint, '-j', 'RETURN');
    iptables('node', '-A', 'POD_EGRESS', '-d', addr.clusterCidr, '-j', 'RETURN');
    count('node', 'POD_EGRESS', COUNTERS.podDirectEgress);
    // … and on the venue host, by source.
    count('polyVenue', 'INPUT', COUNTERS.venueFromExit, '-p', 'tcp', '--dport', port, '-s', addr.exitCidr);
    count('polyVenue', 'INPUT', COUNTERS.venueFromOthers, '-p', 'tcp', '--dport', port, '!', '-s', addr.exitCidr);
    count('polyVenue', 'INPUT', COUNTERS.venueFromPodDirect, '-p', 'tcp', '--dport', port, '-s', addr.polyMonitor);
  } catch (error) {
    if (created) destroy();
    else process.off('exit', destroy);
    throw error;
  }

  const counters = (): Record<string, Counter> => {
    const out: Record<string, Counter> = {};
    const read = (role: Role, table: string) => {
      const text = sh('ip', ['netns', 'exec', ns[role], 'iptables', '-w', '-t', table, '-L', '-v', '-n', '-x']);
      let chain = '';
      for (const line of text.split('\n')) {
        const header = /^Chain (\S+)/.exec(line);
        if (header) {
          chain = header[1]!;
          continue;
        }
        const labelled = /^\s*(\d+)\s+(\d+)\s.*\/\* (\S+) \*\//.exec(line);
        if (labelled) out[labelled[3]!] = { where: `${role}/${table}/${chain}`, packets: Number(labelled[1]), bytes: Number(labelled[2]) };
      }
    };
    read('node', 'filter');
    read('polyMonitor', 'filter');
    read('polyVenue', 'filter');
    return out;
  };

  return {
    id,
    tunnel,
    ns,
    addr,
    polyVenuePort: options.polyVenuePort,
    exec: (role, command, args) => ({ command: 'ip', args: ['netns', 'exec', ns[role], command, ...args] }),
    removeTunnelRoute: () => void ip('-n', ns.polyMonitor, 'route', 'del', 'default', 'via', addr.tunnelVpn, 'dev', 'vpn0'),
    restoreTunnelRoute: () => void ip('-n', ns.polyMonitor, 'route', 'add', 'default', 'via', addr.tunnelVpn, 'dev', 'vpn0'),
    addLeakRoute: () => void ip('-n', ns.polyMonitor, 'route', 'add', 'default', 'via', `${b}.9`, 'dev', 'eth0'),
    removeLeakRoute: () => void ip('-n', ns.polyMonitor, 'route', 'del', 'default', 'via', `${b}.9`, 'dev', 'eth0'),
    routes: (role) => ip('-n', ns[role], 'route', 'show').trim(),
    counters,
    async fetchFrom(role, url, timeoutMs) {
      const script = `fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) })
        .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
        .catch((e) => {
          const error = { error: String(e.cause?.code ?? e.name), message: String(e.cause?.message ?? e.message) };
          console.log(JSON.stringify(error));
        })
        .finally(() => process.exit(0)); // a connect still pending (a dropped SYN) must not hold the process`;
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns[role], process.execPath, '-e', script, url, String(timeoutMs)], {
        env,
        timeout: timeoutMs + 10_000,
      });
      return JSON.parse(stdout.trim()) as FetchOutcome;
    },
    destroy,
  };
}
