// Kalshi request authentication: KALSHI-ACCESS-KEY / -TIMESTAMP (ms) / -SIGNATURE, an RSA-PSS
// SHA-256 signature (MGF1 SHA-256, salt = digest length) over timestamp + METHOD + path without
// the query string. PSS is randomised, so we verify with the public key; never compare strings.
// Written apart from our own signer (venues/kalshi/auth.ts) on purpose: the simulator is the test
// oracle, and a verifier sharing the signer's code would accept the signer's mistakes.
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface KalshiApiKey {
  /** KALSHI-ACCESS-KEY value (a UUID on the real venue). */
  id: string;
  /** RSA public key, PEM (SPKI or PKCS#1). */
  publicKeyPem: string;
}

export type AuthResult = { ok: true; keyId: string } | { ok: false; details: string };

export class KalshiAuthenticator {
  private readonly keys = new Map<string, KeyObject>();

  /** `maxSkewMs`: accepted distance between the signed timestamp and our clock (undocumented on the real venue). */
  constructor(
    keys: KalshiApiKey[],
    private readonly maxSkewMs = 60_000,
  ) {
    for (const key of keys) this.keys.set(key.id, createPublicKey(key.publicKeyPem));
  }

  verify(headers: IncomingHttpHeaders, method: string, path: string): AuthResult {
    const keyId = header(headers, 'kalshi-access-key');
    const timestamp = header(headers, 'kalshi-access-timestamp');
    const signature = header(headers, 'kalshi-access-signature');
    if (!keyId || !timestamp || !signature) return { ok: false, details: 'missing authentication headers' };
    const key = this.keys.get(keyId);
    if (!key) return { ok: false, details: 'INVALID_API_KEY' };
    if (!/^\d{13}$/.test(timestamp)) return { ok: false, details: 'INVALID_TIMESTAMP (expected Unix milliseconds)' };
    if (Math.abs(Date.now() - Number(timestamp)) > this.maxSkewMs) return { ok: false, details: 'TIMESTAMP_OUT_OF_RANGE' };
    const message = Buffer.from(timestamp + method.toUpperCase() + path, 'utf8');
    let good: boolean;
    try {
      good = verify(
        'sha256',
        message,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        Buffer.from(signature, 'base64'),
      );
    } catch {
      good = false;
    }
    return good ? { ok: true, keyId } : { ok: false, details: 'INCORRECT_API_KEY_SIGNATURE' };
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
