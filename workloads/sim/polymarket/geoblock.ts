// Geoblocking keyed on the connection's source address, as Polymarket does by requesting IP.
// Addresses inside `allowedCidrs` are allowed; any other source gets the venue's 403. An optional
// table maps CIDRs to a country/region for GET /api/geoblock.

export const GEOBLOCK_ERROR = {
  error: 'Trading restricted in your region, please refer to available regions - https://docs.polymarket.com/developers/CLOB/geoblock',
};

export interface GeoblockOptions {
  /** Allowed source CIDRs; default allow all (0.0.0.0/0 and ::/0). */
  allowedCidrs?: string[];
  /**
   * What a blocked source is refused: 'all' (every HTTP request and WS upgrade except
   * /api/geoblock — what our VPN rig wants to prove egress), or 'trading' (only order
   * placement, as on the real venue where market data and Gamma are not geoblocked).
   */
  scope?: 'all' | 'trading';
  /** Country/region reported by /api/geoblock, first matching CIDR wins. */
  locations?: Array<{ cidr: string; country: string; region?: string }>;
  /** Reported for blocked sources without a location entry. */
  blockedLocation?: { country: string; region: string };
  /** Reported for allowed sources without a location entry. */
  allowedLocation?: { country: string; region: string };
}

export class Geoblock {
  private readonly allowed: Array<ReturnType<typeof parseCidr>>;
  private readonly locations: Array<{ cidr: ReturnType<typeof parseCidr>; country: string; region: string }>;
  readonly scope: 'all' | 'trading';

  constructor(private readonly options: GeoblockOptions = {}) {
    this.allowed = (options.allowedCidrs ?? ['0.0.0.0/0', '::/0']).map(parseCidr);
    this.locations = (options.locations ?? []).map((l) => ({ cidr: parseCidr(l.cidr), country: l.country, region: l.region ?? '' }));
    this.scope = options.scope ?? 'all';
  }

  isBlocked(address: string | undefined): boolean {
    if (!address) return true;
    return !this.allowed.some((cidr) => cidrContains(cidr, address));
  }

  /** Body of GET /api/geoblock for a source address. */
  check(address: string | undefined): { blocked: boolean; ip: string; country: string; region: string } {
    const ip = (address ?? '').replace(/^::ffff:/i, '');
    const blocked = this.isBlocked(address);
    const located = this.locations.find((l) => address !== undefined && cidrContains(l.cidr, address));
    const fallback = blocked
      ? (this.options.blockedLocation ?? { country: 'US', region: 'NY' })
      : (this.options.allowedLocation ?? { country: 'IE', region: 'L' });
    return { blocked, ip, country: located?.country ?? fallback.country, region: located?.region ?? fallback.region };
  }
}

/** IPv4/IPv6 CIDR matching for the allow-list. */
function parseCidr(cidr: string): { bytes: Buffer; bits: number } {
  const [addr, bitsText] = cidr.split('/');
  const bytes = ipBytes(addr!);
  if (!bytes) throw new Error(`bad CIDR "${cidr}"`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`bad CIDR "${cidr}"`);
  return { bytes, bits };
}

function ipBytes(address: string): Buffer | undefined {
  let a = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1]!;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(a)) {
    const parts = a.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return Buffer.from(parts);
  }
  if (!a.includes(':')) return undefined;
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = a.includes('::') ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function cidrContains(cidr: { bytes: Buffer; bits: number }, address: string): boolean {
  const ip = ipBytes(address);
  if (!ip || ip.length !== cidr.bytes.length) return false;
  let bits = cidr.bits;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}
