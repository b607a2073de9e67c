// Geoblocking keyed on the connection's source address, as Polymarket does by requesting IP.
// Addresses inside `allowedCidrs` are allowed; any other source gets the venue's 403. An optional
// table maps CIDRs to a country/region for GET /api/geoblock.
import { cidrContains, parseCidr } from '../http.js';

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
    const fallback = blocked ? (this.options.blockedLocation ?? { country: 'US', region: 'NY' }) : (this.options.allowedLocation ?? { country: 'IE', region: 'L' });
    return { blocked, ip, country: located?.country ?? fallback.country, region: located?.region ?? fallback.region };
  }
}
