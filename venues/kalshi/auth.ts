// Kalshi request signing (our own client side): KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP (Unix
// ms) and KALSHI-ACCESS-SIGNATURE = base64(RSA-PSS-SHA256(timestamp + METHOD + path)), MGF1
// SHA-256, salt = digest length; the path includes /trade-api/… and excludes the query string.
// The WebSocket handshake is signed over "GET" + the WS path, anew on every connection.
import { constants, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class KalshiCredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KalshiCredentialError';
  }
}

/**
 * The RSA private key from the value of ARBEES_KALSHI_PRIVATE_KEY: PEM text (PKCS#1 or PKCS#8),
 * or a path to a PEM file. Errors name the variable, never the key.
 */
export function loadKalshiPrivateKey(value: string | undefined, variable: string): KeyObject {
  if (!value || value.trim() === '') throw new KalshiCredentialError(`${variable} is not set (the Kalshi API private key, PEM)`);
  let pem = value;
  if (!value.includes('-----BEGIN')) {
    try {
      pem = readFileSync(value.trim(), 'utf8');
    } catch (error) {
      throw new KalshiCredentialError(`${variable} is neither a PEM key nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.replace(/\\n/g, '\n'));
  } catch (error) {
    throw new KalshiCredentialError(`${variable} is not a valid PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KalshiCredentialError(`${variable} must be an RSA key (got ${key.asymmetricKeyType ?? 'unknown'})`);
  return key;
}

/** The three KALSHI-ACCESS-* headers for one request. */
export function kalshiSignedHeaders(keyId: string, key: KeyObject, method: string, path: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(nowMs);
  const message = timestamp + method.toUpperCase() + path.split('?')[0]!;
  const signature = sign('sha256', Buffer.from(message, 'utf8'), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return { 'KALSHI-ACCESS-KEY': keyId, 'KALSHI-ACCESS-TIMESTAMP': timestamp, 'KALSHI-ACCESS-SIGNATURE': signature.toString('base64') };
}
