// Polymarket CLOB L2 authentication: POLY_ADDRESS, POLY_SIGNATURE, POLY_TIMESTAMP (Unix seconds),
// POLY_API_KEY, POLY_PASSPHRASE. Signature = HMAC-SHA256 keyed with base64-decoded secret (URL-safe
// alphabet accepted) over timestamp + METHOD + path (no query) + body, encoded as base64 with
// + → - and / → _ and the '=' padding kept.
// Written apart from what signs our requests (Polymarket's official client, venues/polymarket/orders.ts) on
// purpose: the simulator is the test oracle, and a verifier sharing the signer's code would accept
// the signer's mistakes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface PolymarketApiCreds {
  apiKey: string;
  /** base64 / base64url secret. */
  secret: string;
  passphrase: string;
  /** The signer address the key belongs to (0x…, compared case-insensitively). */
  address: string;
}

export function decodeSecret(secret: string): Buffer {
  const standard = secret.replace(/-/g, '+').replace(/_/g, '/');
  return Buffer.from(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='), 'base64');
}

export function l2Signature(secret: string, timestamp: string, method: string, path: string, body = ''): string {
  const digest = createHmac('sha256', decodeSecret(secret))
    .update(timestamp + method.toUpperCase() + path + body)
    .digest('base64');
  return digest.replace(/\+/g, '-').replace(/\//g, '_');
}

/** The five L2 headers a client sends (for tests and tools). */
export function polyL2Headers(
  creds: PolymarketApiCreds,
  method: string,
  path: string,
  body = '',
  timestampSec = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const ts = String(timestampSec);
  return {
    POLY_ADDRESS: creds.address,
    POLY_SIGNATURE: l2Signature(creds.secret, ts, method, path, body),
    POLY_TIMESTAMP: ts,
    POLY_API_KEY: creds.apiKey,
    POLY_PASSPHRASE: creds.passphrase,
  };
}

export class PolymarketL2Auth {
  private readonly byKey = new Map<string, PolymarketApiCreds>();

  constructor(
    creds: PolymarketApiCreds[],
    private readonly maxSkewSec = 30,
  ) {
    for (const c of creds) this.byKey.set(c.apiKey, c);
  }

  /** Returns the API key on success. */
  verify(headers: IncomingHttpHeaders, method: string, path: string, body: string): string | undefined {
    const get = (name: string) => {
      const v = headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const address = get('POLY_ADDRESS');
    const signature = get('POLY_SIGNATURE');
    const timestamp = get('POLY_TIMESTAMP');
    const apiKey = get('POLY_API_KEY');
    const passphrase = get('POLY_PASSPHRASE');
    if (!address || !signature || !timestamp || !apiKey || !passphrase) return undefined;
    const creds = this.byKey.get(apiKey);
    if (!creds || creds.passphrase !== passphrase || creds.address.toLowerCase() !== address.toLowerCase()) return undefined;
    if (!/^\d{1,11}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > this.maxSkewSec) return undefined;
    const expected = Buffer.from(l2Signature(creds.secret, timestamp, method, path, body));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? apiKey : undefined;
  }
}
