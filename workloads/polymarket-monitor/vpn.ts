// Is Polymarket reachable the way we mean to reach it (through the VPN sidecar, from a permitted
// location)? Two checks, run on start and then periodically:
// - Polymarket's geoblock endpoint (GET …/api/geoblock → {blocked, ip, country, region}) over our
//   own egress: blocked:true (or a 403) means this source address may not be used.
// - optionally gluetun's control server (GET /v1/vpn/status → {"status":"running"}, X-API-Key
//   when configured): the tunnel is up.
// arbees_vpn_up is 1 only while the last probe passed and is recent.
// Both answers are small JSON: a body is read up to MAX_BODY_BYTES and no further (a hostile or
// broken endpoint cannot fill our memory), and redirects are not followed (a probe that lands
// somewhere else has not checked what it was asked to). lib/bounded-http.ts does the bounded read.
import { isRedirect, readBounded } from '../../lib/bounded-http.js';

export interface VpnProbeOptions {
  geoblockUrl: string;
  /** gluetun control server base, e.g. http://127.0.0.1:8000 (optional). */
  controlUrl?: string;
  controlApiKey?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface VpnStatus {
  up: boolean;
  reason: string;
  checkedMs: number;
  country?: string;
  ip?: string;
}

/** The real geoblock endpoint lives on polymarket.com, not on the CLOB host; a simulator serves it beside the CLOB. */
export function defaultGeoblockUrl(clobUrl: string): string {
  const url = new URL(clobUrl);
  if (url.hostname.endsWith('polymarket.com')) return 'https://polymarket.com/api/geoblock';
  return new URL('/api/geoblock', url.origin).toString();
}

/** Far more than {blocked, ip, country, region} or {status} take. */
export const MAX_BODY_BYTES = 64 * 1024;

async function getJson(
  fetcher: typeof fetch,
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  const res = await fetcher(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  if (isRedirect(res.status)) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, body: `redirect to ${res.headers.get('location') ?? '?'} not followed` };
  }
  const text = await readBounded(res, MAX_BODY_BYTES);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // HTML (e.g. a Cloudflare block page) stays text
  }
  return { status: res.status, body };
}

export class VpnProbe {
  status: VpnStatus = { up: false, reason: 'not checked yet', checkedMs: 0 };

  constructor(private readonly options: VpnProbeOptions) {}

  async check(nowMs = Date.now()): Promise<VpnStatus> {
    this.status = await this.run(nowMs);
    return this.status;
  }

  private async run(nowMs: number): Promise<VpnStatus> {
    const fetcher = this.options.fetch ?? fetch;
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    if (this.options.controlUrl) {
      try {
        const headers: Record<string, string> = this.options.controlApiKey ? { 'X-API-Key': this.options.controlApiKey } : {};
        const { status, body } = await getJson(fetcher, new URL('/v1/vpn/status', this.options.controlUrl).toString(), headers, timeoutMs);
        const state = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
        if (status !== 200 || state !== 'running') {
          return {
            up: false,
            reason: `VPN control server: HTTP ${status}${state !== undefined ? `, status ${JSON.stringify(state)}` : ''}`,
            checkedMs: nowMs,
          };
        }
      } catch (error) {
        return { up: false, reason: `VPN control server unreachable: ${(error as Error).message}`, checkedMs: nowMs };
      }
    }
    try {
      const { status, body } = await getJson(fetcher, this.options.geoblockUrl, {}, timeoutMs);
      if (status === 403) return { up: false, reason: 'geoblock: HTTP 403 from Polymarket (source address refused)', checkedMs: nowMs };
      if (status !== 200 || typeof body !== 'object' || body === null)
        return { up: false, reason: `geoblock check: HTTP ${status}`, checkedMs: nowMs };
      const b = body as { blocked?: unknown; ip?: unknown; country?: unknown; region?: unknown };
      const where = { country: typeof b.country === 'string' ? b.country : undefined, ip: typeof b.ip === 'string' ? b.ip : undefined };
      if (b.blocked !== false) {
        return {
          up: false,
          reason:
            `geoblocked: Polymarket sees ${where.ip ?? '?'} in ` +
            `${where.country ?? '?'}${typeof b.region === 'string' && b.region ? `/${b.region}` : ''}`,
          checkedMs: nowMs,
          ...where,
        };
      }
      return { up: true, reason: 'ok', checkedMs: nowMs, ...where };
    } catch (error) {
      return { up: false, reason: `geoblock check failed: ${(error as Error).message}`, checkedMs: nowMs };
    }
  }
}
