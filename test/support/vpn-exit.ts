// The far end of the VPN stand-in's tunnel (scripts/images/vpn-standin/) on the rig's node: what a
// VPN provider's server is to gluetun. Pods of the node send it VXLAN over UDP to the node's own
// address (never forwarded, so the rig's egress guard and the pods' NetworkPolicies see only UDP
// to the node); the exit decapsulates, forwards into the cluster with its own exit address as the
// source, and answers "what is my IP" (ipinfo-shaped) inside the tunnel, which the stand-in also
// dials as its health check.
//
//   const exit = await startVpnExit();            // host side up: device, nft table, ipinfo
//   Secret stringData: exit.secretData            // gluetun's WIREGUARD_* keys for the vpn sidecar
//   exit.watch('pod-direct', [podIP], [simIP])    // count packets from a pod's own address to a target
//   exit.cut() / exit.restore()                   // the provider's server unreachable, and back
//   exit.counters()                               // what crossed the tunnel, what was dropped, watches
//   exit.stop()                                   // removes all it added (also on process exit)
//
// "The internet" on this node: give a venue's Service `externalIPs: [an address outside the
// cluster ranges]` (e.g. 203.0.113.10). kube-proxy turns that address into the venue's pod on
// the node, so the tunnel reaches it through the exit; the pod's own interface does not (its
// firewall drops it, and without the firewall the venue would see the pod's own address, which
// watch() counts). Everything decapsulated must be addressed to a pod (after kube-proxy's DNAT)
// or it is dropped and counted as `leaked`: nothing from the tunnel leaves the machine.
//
// Several exits may run at once (each its own UDP port, tunnel addresses and exit address).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { run } from '../rig/node-host.js';
import { NODE } from '../rig/node.js';

/** The VXLAN network identifier; scripts/images/vpn-standin/network.js uses the same. */
const VNI = 51820;
/** gluetun's custom WireGuard default port; exit k listens on BASE_PORT + k. */
const BASE_PORT = 51820;
const MAX_EXITS = 16;
/** The rig's egress guard (test/rig/node-host.ts guardForwarding): replies into the tunnel need a way past it. */
const GUARD = { table: 'arbees_node', chain: 'forward' };
const PREFIX = 'arbees_vpn_exit_';

/** A tunnel end's MAC from its tunnel address (02:00:a:b:c:d), as the stand-in makes them: no ARP either way. */
const macOf = (ip: string) =>
  `02:00:${ip
    .split('.')
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join(':')}`;

export interface VpnExitOptions {
  /** The node's address, where the tunnel ends (default the rig's node). */
  nodeIP?: string;
  /** The pod range: tunnel packets only from it, decapsulated traffic only to it. */
  podCIDR?: string;
  /** What the exit reports as its location (the stand-in's /v1/publicip/ip). */
  location?: { country: string; region: string; city: string };
}

export interface VpnExitCounters {
  /** Tunnel packets from pods that the exit took in. */
  tunnelIn: number;
  /** Tunnel packets the exit sent to pods. */
  tunnelOut: number;
  /** Tunnel packets dropped while cut, both ways. */
  cutDropped: number;
  /** Decapsulated packets forwarded into the cluster (leaving with the exit address as source). */
  forwarded: number;
  /** Packets forwarded back into the tunnel (the answers). */
  returned: number;
  /** Decapsulated packets addressed outside the pod range: dropped. */
  leaked: number;
  /** Packets of each watch(). */
  watched: Record<string, number>;
}

export interface VpnExit {
  /** The provider's server as gluetun's custom provider names it: WIREGUARD_ENDPOINT_IP/PORT. */
  readonly endpoint: { ip: string; port: number };
  /** The exit's address inside the tunnel (where the stand-in's health check and public-IP query go). */
  readonly gateway: string;
  /** The pod's address inside the tunnel (WIREGUARD_ADDRESSES). */
  readonly peer: string;
  /** The source address everything from the tunnel has in the cluster. */
  readonly exitIP: string;
  /** The VPN Secret's data for the operator's sidecar (gluetun's key names). */
  readonly secretData: Record<string, string>;
  readonly isCut: boolean;
  /** Drops the tunnel's packets at the exit, both ways, as if the provider's server had gone. */
  cut(): void;
  restore(): void;
  /** Counts forwarded packets from any of `from` to any of `to` (e.g. a pod's own address to a venue pod). */
  watch(name: string, from: string[], to: string[]): void;
  counters(): VpnExitCounters;
  /** Removes the device, the nft table and the guard's exception, and closes the ipinfo server. Idempotent. */
  stop(): void;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const quietly = (command: string, args: string[]) => {
  try {
    run(command, args);
  } catch {
    /* already gone */
  }
};
const deviceName = (index: number) => `arbees-exit${index}`;
const guardComment = (table: string) => `${table}: answers into its tunnel stay on this machine`;

/** The guard rule handles carrying `table`'s comment. */
function guardExceptions(table: string): number[] {
  let text: string;
  try {
    text = run('nft', ['-a', 'list', 'chain', 'ip', GUARD.table, GUARD.chain]);
  } catch {
    return []; // no node (or already torn down): no guard
  }
  return text
    .split('\n')
    .filter((line) => line.includes(`"${guardComment(table)}"`))
    .map((line) => Number(/# handle (\d+)/.exec(line)?.[1]))
    .filter((h) => h > 0);
}

function remove(table: string, index: number): void {
  for (const handle of guardExceptions(table)) quietly('nft', ['delete', 'rule', 'ip', GUARD.table, GUARD.chain, 'handle', String(handle)]);
  quietly('nft', ['delete', 'table', 'ip', table]);
  quietly('ip', ['link', 'delete', deviceName(index)]);
}

/** Exits of processes that died without stopping them; returns the indexes in use by live ones. */
function sweep(): Set<number> {
  const live = new Set<number>();
  for (const line of run('nft', ['list', 'tables']).split('\n')) {
    const match = new RegExp(`^table ip (${PREFIX}(\\d+)_(\\d+))$`).exec(line.trim());
    if (!match) continue;
    const [table, pid, index] = [match[1]!, Number(match[2]), Number(match[3])];
    if (alive(pid)) live.add(index);
    else remove(table, index);
  }
  return live;
}

export async function startVpnExit(options: VpnExitOptions = {}): Promise<VpnExit> {
  if (process.getuid?.() !== 0) throw new Error('the VPN exit needs root (a VXLAN device, nft rules)');
  const nodeIP = options.nodeIP ?? NODE.ip;
  const podCIDR = options.podCIDR ?? NODE.podCIDR;
  const location = options.location ?? { country: 'IE', region: 'L', city: 'Dublin' };
  const inUse = sweep();
  const routed = run('ip', ['-4', 'route', 'show', 'table', 'all']) + run('ip', ['-4', 'addr', 'show']);
  const index = Array.from({ length: MAX_EXITS }, (_, i) => i).find((i) => !inUse.has(i) && !routed.includes(`10.201.${i}.`));
  if (index === undefined) throw new Error(`no free VPN exit: ${MAX_EXITS} in use, or 10.201.0-${MAX_EXITS - 1}.0/24 routed here`);
  const dev = deviceName(index);
  const table = `${PREFIX}${process.pid}_${index}`;
  const port = BASE_PORT + index;
  const gateway = `10.201.${index}.1`;
  const peer = `10.201.${index}.2`;
  // TEST-NET-1: no real host has it, and it is outside every cluster range.
  const exitIP = `192.0.2.${index + 1}`;
  const nft = (script: string) => run('nft', ['-f', '-'], script);

  let ipinfo: Server | undefined;
  let stopped = false;
  let cut = false;
  const watched = new Set<string>();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    ipinfo?.close();
    ipinfo?.closeAllConnections();
    remove(table, index);
  };
  process.once('exit', stop);

  try {
    // The tunnel end: learns each pod's underlay address from its packets (as WireGuard learns a
    // peer's endpoint), with static neighbours so that neither end ever needs ARP.
    run('ip', ['link', 'add', dev, 'type', 'vxlan', 'id', String(VNI), 'local', nodeIP, 'dstport', String(port)]);
    run('ip', ['link', 'set', dev, 'address', macOf(gateway), 'mtu', '1450']);
    run('ip', ['addr', 'add', `${gateway}/32`, 'dev', dev]);
    run('ip', ['link', 'set', dev, 'up']);
    run('ip', ['route', 'add', `${peer}/32`, 'dev', dev]);
    run('ip', ['neigh', 'replace', peer, 'lladdr', macOf(peer), 'dev', dev, 'nud', 'permanent']);
    // Beside the node's own iptables (kube-proxy, kube-router) and its guard: priorities just
    // ahead of theirs; `snat` at srcnat - 1 wins over kube-proxy's masquerade of external IPs.
    nft(`table ip ${table} {
  counter tunnel_in {}
  counter tunnel_out {}
  counter cut_dropped {}
  counter forwarded {}
  counter returned {}
  counter leaked {}
  set cut { type inet_service; }
  chain input {
    type filter hook input priority filter - 5; policy accept;
    udp dport ${port} ip saddr != ${podCIDR} drop
    udp dport @cut counter name cut_dropped drop
    udp dport ${port} counter name tunnel_in
    iifname "${dev}" ip daddr ${gateway} tcp dport 80 accept
    iifname "${dev}" drop
  }
  chain output {
    type filter hook output priority filter - 5; policy accept;
    ip daddr ${podCIDR} udp dport @cut counter name cut_dropped drop
    ip daddr ${podCIDR} udp dport ${port} counter name tunnel_out
  }
  chain forward {
    type filter hook forward priority filter - 5; policy accept;
    iifname "${dev}" ip daddr != ${podCIDR} counter name leaked drop
    iifname "${dev}" counter name forwarded
    oifname "${dev}" counter name returned
  }
  chain postrouting {
    type nat hook postrouting priority srcnat - 1; policy accept;
    ip saddr ${peer} oifname != "${dev}" snat to ${exitIP}
  }
}
`);
    // The guard rejects what the pod range sends outside it, and an answer to the tunnel's
    // address is that: let it into this device only (it is encapsulated to a pod, locally).
    if (guardExceptions(table).length === 0 && run('nft', ['list', 'tables']).includes(`table ip ${GUARD.table}`)) {
      run('nft', ['insert', 'rule', 'ip', GUARD.table, GUARD.chain, 'oifname', dev, 'accept', 'comment', `"${guardComment(table)}"`]);
    }
    const server = createServer((req, res) => {
      const info = {
        ip: exitIP,
        hostname: `exit${index}.vpn.arbees.test`,
        ...location,
        loc: '',
        org: 'Arbees rig VPN exit',
        postal: '',
        timezone: '',
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(info)}\n`);
    });
    ipinfo = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(80, gateway, resolve);
    });
  } catch (error) {
    stop();
    throw error;
  }

  const counter = (name: string) => Number(/packets (\d+)/.exec(run('nft', ['list', 'counter', 'ip', table, name]))?.[1] ?? 0);
  return {
    endpoint: { ip: nodeIP, port },
    gateway,
    peer,
    exitIP,
    secretData: {
      // Keys only in shape: VXLAN carries none.
      WIREGUARD_PRIVATE_KEY: randomBytes(32).toString('base64'),
      WIREGUARD_PUBLIC_KEY: randomBytes(32).toString('base64'),
      WIREGUARD_ADDRESSES: `${peer}/32`,
      WIREGUARD_ENDPOINT_IP: nodeIP,
      WIREGUARD_ENDPOINT_PORT: String(port),
    },
    get isCut() {
      return cut;
    },
    cut() {
      if (!cut) run('nft', ['add', 'element', 'ip', table, 'cut', `{ ${port} }`]);
      cut = true;
    },
    restore() {
      if (cut) run('nft', ['delete', 'element', 'ip', table, 'cut', `{ ${port} }`]);
      cut = false;
    },
    watch(name, from, to) {
      if (!/^[a-z][a-z0-9_-]*$/i.test(name) || watched.has(name)) throw new Error(`watch: bad or repeated name "${name}"`);
      const id = `w_${name.replaceAll('-', '_')}`;
      const match = `ip saddr { ${from.join(', ')} } ip daddr { ${to.join(', ')} }`;
      nft(`add counter ip ${table} ${id}\nadd rule ip ${table} forward ${match} counter name ${id}\n`);
      watched.add(name);
    },
    counters() {
      return {
        tunnelIn: counter('tunnel_in'),
        tunnelOut: counter('tunnel_out'),
        cutDropped: counter('cut_dropped'),
        forwarded: counter('forwarded'),
        returned: counter('returned'),
        leaked: counter('leaked'),
        watched: Object.fromEntries([...watched].map((name) => [name, counter(`w_${name.replaceAll('-', '_')}`)])),
      };
    },
    stop,
  };
}
