// gluetun's environment as the stand-in reads it (docs/exchange-protocols.md §3.2). Unknown or
// unsupported variables are left alone, as gluetun leaves the ones of other providers.
import { readFileSync } from 'node:fs';

/** "a.b.c.d" → number, or undefined when it is not an IPv4 address. */
export function ipv4ToInt(text) {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}
export const intToIpv4 = (n) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

function cidr(text, name) {
  const [address = '', bits = '32'] = text.trim().split('/');
  const n = ipv4ToInt(address);
  if (n === undefined || !/^\d+$/.test(bits) || Number(bits) > 32) throw new Error(`${name}: "${text}" is not an IPv4 CIDR`);
  return { address, bits: Number(bits), int: n };
}

/** "host:port" / ":port" → { host, port }; an empty host means every address, as in gluetun. */
function listenAddress(text, name) {
  const match = /^(.*):(\d+)$/.exec(text.trim());
  if (!match || Number(match[2]) > 65535) throw new Error(`${name}: "${text}" is not [host]:port`);
  return { host: match[1].replace(/^\[|\]$/g, '') || undefined, port: Number(match[2]) };
}

const list = (value) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function ports(value, name) {
  return list(value).map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new Error(`${name}: "${p}" is not a port`);
    return Number(p);
  });
}

/** gluetun's booleans: on/off (yes/no and true/false also pass). */
const on = (value) => ['on', 'yes', 'true'].includes((value ?? '').trim().toLowerCase());

/**
 * The control server's auth, from HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE (gluetun ≥ 3.41:
 * {"auth":"apikey","apikey":"…"} | {"auth":"basic","username":"…","password":"…"} | {"auth":"none"}).
 * Unset: gluetun 3.41's built-in public role, which leaves the GET routes open and refuses the
 * rest. A roles file (HTTP_CONTROL_SERVER_AUTH_CONFIG_FILEPATH) is not read: everything is refused.
 */
function controlAuth(env) {
  const role = env.HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE?.trim();
  if (role) {
    const parsed = JSON.parse(role);
    if (parsed.auth === 'apikey' && parsed.apikey) return { kind: 'apikey', apikey: String(parsed.apikey) };
    if (parsed.auth === 'basic' && parsed.username)
      return { kind: 'basic', username: String(parsed.username), password: String(parsed.password ?? '') };
    if (parsed.auth === 'none') return { kind: 'none' };
    throw new Error('HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE: auth must be "apikey" (with apikey), "basic" (with username) or "none"');
  }
  if (env.HTTP_CONTROL_SERVER_AUTH_CONFIG_FILEPATH?.trim()) return { kind: 'refuse' };
  return { kind: 'public-get' };
}

/** The pod's resolvers (kubelet writes them before any container starts). */
function nameservers() {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((line) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line)?.[1])
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function readSettings(env) {
  const required = (name, why) => {
    const value = env[name]?.trim();
    if (!value) throw new Error(`${name} is required (${why})`);
    return value;
  };
  const address = cidr(
    required('WIREGUARD_ADDRESSES', 'the address inside the tunnel, e.g. 10.64.0.2/32').split(',')[0],
    'WIREGUARD_ADDRESSES',
  );
  const endpoint = required('WIREGUARD_ENDPOINT_IP', "the VPN server's IP, as for gluetun's custom provider");
  if (ipv4ToInt(endpoint) === undefined)
    throw new Error(`WIREGUARD_ENDPOINT_IP: "${endpoint}" is not an IPv4 address (gluetun takes no hostnames)`);
  // The server's address inside the tunnel (WireGuard has none; VXLAN needs a next hop): the
  // first address of the client address's /24 (e.g. 10.64.0.1, where Mullvad puts it) or of
  // its prefix when that is wider.
  const bits = Math.min(address.bits, 24);
  const gateway = intToIpv4(address.int - (address.int % 2 ** (32 - bits)) + 1);
  if (gateway === address.address) throw new Error(`WIREGUARD_ADDRESSES: ${address.address} is the exit's own tunnel address (${gateway})`);
  const proxy = listenAddress(env.HTTPPROXY_LISTENING_ADDRESS || ':8888', 'HTTPPROXY_LISTENING_ADDRESS');
  return {
    provider: env.VPN_SERVICE_PROVIDER?.trim() || 'private internet access',
    vpnType: env.VPN_TYPE?.trim() || 'openvpn',
    serverCountries: list(env.SERVER_COUNTRIES),
    // Required as gluetun requires it; VXLAN carries no keys, so it is never used.
    privateKeySet: required('WIREGUARD_PRIVATE_KEY', 'the WireGuard private key (the stand-in only checks it is set)').length > 0,
    interface: env.VPN_INTERFACE?.trim() || 'tun0',
    address,
    gateway,
    endpoint: { ip: endpoint, port: Number(env.WIREGUARD_ENDPOINT_PORT?.trim() || 51820) },
    mtu: env.WIREGUARD_MTU?.trim() ? Number(env.WIREGUARD_MTU) : undefined,
    outboundSubnets: list(env.FIREWALL_OUTBOUND_SUBNETS).map((s) => {
      const c = cidr(s, 'FIREWALL_OUTBOUND_SUBNETS');
      return `${c.address}/${c.bits}`;
    }),
    inputPorts: ports(env.FIREWALL_INPUT_PORTS, 'FIREWALL_INPUT_PORTS'),
    vpnInputPorts: ports(env.FIREWALL_VPN_INPUT_PORTS, 'FIREWALL_VPN_INPUT_PORTS'),
    nameservers: nameservers(),
    proxy: on(env.HTTPPROXY) ? { ...proxy, user: env.HTTPPROXY_USER ?? '', password: env.HTTPPROXY_PASSWORD ?? '' } : undefined,
    control: { ...listenAddress(env.HTTP_CONTROL_SERVER_ADDRESS || ':8000', 'HTTP_CONTROL_SERVER_ADDRESS'), auth: controlAuth(env) },
    health: listenAddress(env.HEALTH_SERVER_ADDRESS || '127.0.0.1:9999', 'HEALTH_SERVER_ADDRESS'),
    // gluetun dials cloudflare.com:443; here the exit's own service answers inside the tunnel.
    healthTargets: list(env.HEALTH_TARGET_ADDRESSES || env.HEALTH_TARGET_ADDRESS || `${gateway}:80`).map((t) =>
      listenAddress(t, 'HEALTH_TARGET_ADDRESSES'),
    ),
    // Where the public IP is asked: the exit's ipinfo-shaped answer (gluetun asks ipinfo.io & co).
    publicIpUrl: `http://${gateway}/`,
  };
}
