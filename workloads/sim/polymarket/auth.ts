// Polymarket CLOB authentication. L2: POLY_ADDRESS, POLY_SIGNATURE, POLY_TIMESTAMP (Unix seconds),
// POLY_API_KEY, POLY_PASSPHRASE. Signature = HMAC-SHA256 keyed with base64-decoded secret (URL-safe
// alphabet accepted) over timestamp + METHOD + path (no query) + body, encoded as base64 with
// + → - and / → _ and the '=' padding kept.
// Written apart from what signs our requests (Polymarket's official client, venues/polymarket/orders.ts) on
// purpose: the simulator is the test oracle, and a verifier sharing the signer's code would accept
// the signer's mistakes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { verifyTypedData, type Hex } from 'viem';

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

/** The named headers' values, in order (a repeated header's first). */
function polyHeaders(headers: IncomingHttpHeaders, ...names: string[]): Array<string | undefined> {
  return names.map((name) => {
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  });
}

export class PolymarketL2Auth {
  private readonly byKey = new Map<string, PolymarketApiCreds>();

  constructor(
    creds: PolymarketApiCreds[],
    private readonly maxSkewSec = 30,
  ) {
    for (const c of creds) this.byKey.set(c.apiKey, c);
  }

  /** A key created through L1 authenticates from now on. */
  add(creds: PolymarketApiCreds): void {
    this.byKey.set(creds.apiKey, creds);
  }

  /** Returns the API key on success. */
  verify(headers: IncomingHttpHeaders, method: string, path: string, body: string): string | undefined {
    const [address, signature, timestamp, apiKey, passphrase] = polyHeaders(
      headers,
      'POLY_ADDRESS',
      'POLY_SIGNATURE',
      'POLY_TIMESTAMP',
      'POLY_API_KEY',
      'POLY_PASSPHRASE',
    );
    if (!address || !signature || !timestamp || !apiKey || !passphrase) return undefined;
    const creds = this.byKey.get(apiKey);
    if (!creds || creds.passphrase !== passphrase || creds.address.toLowerCase() !== address.toLowerCase()) return undefined;
    if (!/^\d{1,11}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > this.maxSkewSec) return undefined;
    const expected = Buffer.from(l2Signature(creds.secret, timestamp, method, path, body));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? apiKey : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// L1: a wallet proves itself with an EIP-712 ClobAuth signature (POLY_ADDRESS, POLY_SIGNATURE,
// POLY_TIMESTAMP, POLY_NONCE) to create or derive its API key for that nonce.

const CLOB_AUTH_MESSAGE = 'This message attests that I control the given wallet';

export type L1Result = { ok: true; address: string; nonce: bigint } | { ok: false };

/** Verifies L1 headers: a ClobAuth signature by POLY_ADDRESS over its timestamp and nonce, the timestamp within the skew. */
export async function verifyL1(headers: IncomingHttpHeaders, maxSkewSec: number, chainId = 137): Promise<L1Result> {
  const [address, signature, timestamp] = polyHeaders(headers, 'POLY_ADDRESS', 'POLY_SIGNATURE', 'POLY_TIMESTAMP');
  const nonceText = polyHeaders(headers, 'POLY_NONCE')[0] ?? '0';
  if (!address || !signature || !timestamp || !/^0x[0-9a-fA-F]{40}$/.test(address) || !/^\d{1,20}$/.test(nonceText)) return { ok: false };
  if (!/^\d{1,11}$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > maxSkewSec) return { ok: false };
  const nonce = BigInt(nonceText);
  try {
    const good = await verifyTypedData({
      address: address as Hex,
      domain: { name: 'ClobAuthDomain', version: '1', chainId },
      types: {
        ClobAuth: [
          { name: 'address', type: 'address' },
          { name: 'timestamp', type: 'string' },
          { name: 'nonce', type: 'uint256' },
          { name: 'message', type: 'string' },
        ],
      },
      primaryType: 'ClobAuth',
      message: { address: address as Hex, timestamp, nonce, message: CLOB_AUTH_MESSAGE },
      signature: signature as Hex,
    });
    return good ? { ok: true, address, nonce } : { ok: false };
  } catch {
    return { ok: false };
  }
}

/**
 * The API key of a wallet and nonce: the same every time (derive returns what create made), its
 * secret URL-safe base64 with the '=' padding the venue issues.
 */
export function derivedCreds(serverSecret: Buffer, address: string, nonce: bigint): PolymarketApiCreds {
  const part = (label: string) => createHmac('sha256', serverSecret).update(`${label}:${address.toLowerCase()}:${nonce}`).digest();
  const id = part('key').toString('hex');
  return {
    apiKey: `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-a${id.slice(17, 20)}-${id.slice(20, 32)}`,
    secret: part('secret').toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
    passphrase: part('passphrase').toString('hex'),
    address,
  };
}
