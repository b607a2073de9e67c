// The pod's network as gluetun leaves it: the firewall first (the kill switch), routes that keep
// the tunnel's own packets and the cluster ranges on the pod's interface, then the tunnel with
// the default route through it. Everything here is netlink (iproute2, nft): NET_ADMIN suffices.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { ipv4ToInt } from './settings.js';

/** The VXLAN network identifier; test/support/vpn-exit.ts uses the same. */
export const VNI = 51820;
/**
 * A tunnel end's MAC, made from its tunnel address (02:00:a:b:c:d), so that each end knows the
 * other's without ARP: the exit cannot flood an ARP request to a peer it has not heard from yet.
 * test/support/vpn-exit.ts makes them the same way.
 */
export const macOf = (ip) =>
  `02:00:${ip
    .split('.')
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join(':')}`;

function run(command, args, input) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')}: ${String(error.stderr ?? '').trim() || error.message}`, { cause: error });
  }
}
const ip = (...args) => run('ip', args);
const ipJson = (...args) => JSON.parse(run('ip', ['-j', ...args]).trim() || '[]');

/** gluetun opens the TUN device at start and stops when it cannot (a missing mount or device rule). */
export function checkTun() {
  closeSync(openSync('/dev/net/tun', 'r+'));
}

function covered(address, cidrs) {
  const n = ipv4ToInt(address);
  return cidrs.some((c) => {
    const [base, bits = '32'] = c.split('/');
    const size = 2 ** (32 - Number(bits));
    return Math.floor(n / size) === Math.floor(ipv4ToInt(base) / size);
  });
}

/**
 * The pod's own interface: the one of its default route (never changed: the tunnel's two /1
 * routes beat it, and a restart finds it again), its gateway, the pod's address, and the "local
 * networks" gluetun's firewall allows (routes without a gateway on that link).
 */
export function underlay() {
  const route = ipJson('-4', 'route', 'show', 'default').find((r) => r.gateway && r.dev);
  if (!route) throw new Error('the pod has no default route with a gateway');
  const address = ipJson('-4', 'addr', 'show', 'dev', route.dev)[0]?.addr_info?.find((a) => a.family === 'inet')?.local;
  if (!address) throw new Error(`no IPv4 address on ${route.dev}`);
  const localNetworks = ipJson('-4', 'route', 'show', 'dev', route.dev)
    .filter((r) => !r.gateway && r.dst !== 'default')
    .map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`));
  return {
    dev: route.dev,
    gateway: route.gateway,
    ip: address,
    mtu: Number(readFileSync(`/sys/class/net/${route.dev}/mtu`, 'utf8')),
    localNetworks,
  };
}

/**
 * gluetun's firewall (docs/exchange-protocols.md §3.3): drop by default in and out; let through
 * loopback, replies, the tunnel, the tunnel's own packets to and from the endpoint, the outbound
 * subnets and local networks, FIREWALL_INPUT_PORTS on the pod's interface. Beyond gluetun: DNS
 * to the pod's resolvers (gluetun forwards cluster names to them from its own DNS server).
 * One atomic nft transaction replaces what an earlier run left; nothing ever removes it, so the
 * pod stays closed while this container restarts or after it dies.
 */
export function firewall(s, under) {
  const set = (items) => `{ ${items.join(', ')} }`;
  const eth = `"${under.dev}"`;
  const tun = `"${s.interface}"`;
  const tunnelPackets = `ip saddr ${s.endpoint.ip} udp dport ${s.endpoint.port}`;
  const allowedOut = [...new Set([...s.outboundSubnets, ...under.localNetworks])];
  const resolvers = s.nameservers.filter((n) => !covered(n, allowedOut));
  const input = [
    'iifname "lo" accept',
    'ct state established,related accept',
    // VXLAN's packets from the endpoint are not replies to ours (other ports): let them in.
    `iifname ${eth} ${tunnelPackets} accept`,
    under.localNetworks.length > 0 && `iifname ${eth} ip saddr ${set(under.localNetworks)} accept`,
    s.inputPorts.length > 0 && `iifname ${eth} tcp dport ${set(s.inputPorts)} accept`,
    s.inputPorts.length > 0 && `iifname ${eth} udp dport ${set(s.inputPorts)} accept`,
    s.vpnInputPorts.length > 0 && `iifname ${tun} tcp dport ${set(s.vpnInputPorts)} accept`,
    'counter name in_dropped drop',
  ];
  const output = [
    'oifname "lo" accept',
    'ct state established,related accept',
    `oifname ${tun} accept`,
    `oifname ${eth} ip daddr ${s.endpoint.ip} udp dport ${s.endpoint.port} accept`,
    allowedOut.length > 0 && `oifname ${eth} ip daddr ${set(allowedOut)} accept`,
    resolvers.length > 0 && `oifname ${eth} ip daddr ${set(resolvers)} meta l4proto { tcp, udp } th dport 53 accept`,
    'counter name out_dropped drop',
  ];
  const chain = (name, hook, rules) => [
    `  chain ${name} {`,
    `    type filter hook ${hook} priority filter; policy drop;`,
    ...rules.filter(Boolean).map((r) => `    ${r}`),
    '  }',
  ];
  const ruleset = [
    'table inet gluetun',
    'delete table inet gluetun',
    'table inet gluetun {',
    '  counter in_dropped {}',
    '  counter out_dropped {}',
    ...chain('input', 'input', input),
    ...chain('output', 'output', output),
    ...chain('forward', 'forward', []),
    '}',
    '',
  ].join('\n');
  run('nft', ['-f', '-'], ruleset);
  return ruleset;
}

/** Routes that keep traffic off the tunnel: the endpoint itself, the outbound subnets, the resolvers. */
export function underlayRoutes(s, under) {
  const onPodInterface = [`${s.endpoint.ip}/32`, ...s.outboundSubnets];
  for (const n of s.nameservers) if (!covered(n, [...s.outboundSubnets, ...under.localNetworks])) onPodInterface.push(`${n}/32`);
  for (const dst of onPodInterface) {
    // Leave a route that exists (the pod range's own, or this one from an earlier run).
    if (ip('-4', 'route', 'show', 'exact', dst).trim() === '') ip('route', 'add', dst, 'via', under.gateway, 'dev', under.dev);
  }
}

export function tunnelDown(name) {
  try {
    ip('link', 'del', name);
  } catch {
    // not there
  }
}

/** VXLAN to the endpoint, the pod's tunnel address, and the default route through the tunnel. */
export function tunnelUp(s, under) {
  tunnelDown(s.interface);
  const dev = s.interface;
  ip(
    'link',
    'add',
    dev,
    'type',
    'vxlan',
    'id',
    String(VNI),
    'local',
    under.ip,
    'remote',
    s.endpoint.ip,
    'dstport',
    String(s.endpoint.port),
    'dev',
    under.dev,
  );
  ip('link', 'set', dev, 'address', macOf(s.address.address), 'mtu', String(s.mtu ?? under.mtu - 50));
  ip('addr', 'add', `${s.address.address}/${s.address.bits}`, 'dev', dev);
  ip('link', 'set', dev, 'up');
  ip('neigh', 'replace', s.gateway, 'lladdr', macOf(s.gateway), 'dev', dev, 'nud', 'permanent');
  ip('route', 'replace', `${s.gateway}/32`, 'dev', dev, 'scope', 'link');
  // Two halves rather than the default route: the pod's own default route stays for a restart to find.
  for (const half of ['0.0.0.0/1', '128.0.0.0/1']) ip('route', 'replace', half, 'via', s.gateway, 'dev', dev, 'onlink');
}
