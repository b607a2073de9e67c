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

/** A file path, as opposed to key material: short, one line, absolute or explicitly relative. */
const pathLike = /^(\/|\.{1,2}\/)[^\n\r]{0,1023}$/;
const base64Like = /^[A-Za-z0-9+/=_\-\s]+$/;

/**
 * PEM text from what a Secret may hold: PEM (with real or escaped newlines), a path to a PEM file,
 * or the PEM (or its DER) base64-encoded once or twice — double encoding is a common slip with
 * Kubernetes Secrets. Errors say what was found, never any part of the value.
 */
function pemFrom(value: string, variable: string): string | Buffer {
  let text = value.trim();
  for (let round = 0; round < 3; round++) {
    if (text.includes('-----BEGIN')) return text.replace(/\\n/g, '\n');
    if (round === 0 && pathLike.test(text)) {
      try {
        return readFileSync(text, 'utf8');
      } catch (error) {
        throw new KalshiCredentialError(
          `${variable} names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
    if (!base64Like.test(text)) break;
    const decoded = Buffer.from(text.replace(/\s/g, ''), 'base64');
    // DER: an ASN.1 SEQUENCE; PKCS#8 or PKCS#1, tried by createPrivateKey below.
    if (decoded[0] === 0x30) return decoded;
    const asText = decoded.toString('utf8');
    if (!/^[\t\n\r -~]*$/.test(asText)) break; // not printable text: not a PEM either
    text = asText.trim();
  }
  throw new KalshiCredentialError(`${variable} holds no PEM private key (expected PEM text, a path to a PEM file, or base64 of either)`);
}

/**
 * The RSA private key from the value of ARBEES_KALSHI_PRIVATE_KEY (see pemFrom for the accepted
 * encodings). The one loader for the monitor and the executor; errors name the variable, never the key.
 */
export function loadKalshiPrivateKey(value: string | undefined, variable: string): KeyObject {
  if (!value || value.trim() === '') throw new KalshiCredentialError(`${variable} is not set (the Kalshi API private key, PEM)`);
  const pem = pemFrom(value, variable);
  let key: KeyObject | undefined;
  const attempts =
    typeof pem === 'string'
      ? [{ key: pem }]
      : [
          { key: pem, format: 'der' as const, type: 'pkcs8' as const },
          { key: pem, format: 'der' as const, type: 'pkcs1' as const },
        ];
  for (const attempt of attempts) {
    try {
      key = createPrivateKey(attempt);
      break;
    } catch {
      // the next form, or the error below
    }
  }
  // The crypto error text is not shown: for some inputs it quotes the input.
  if (!key) throw new KalshiCredentialError(`${variable} is not a valid RSA private key (PKCS#1 or PKCS#8, PEM or DER)`);
  if (key.asymmetricKeyType !== 'rsa')
    throw new KalshiCredentialError(`${variable} must be an RSA key (got ${key.asymmetricKeyType ?? 'unknown'})`);
  return key;
}

/** The three KALSHI-ACCESS-* headers for one request. */
export function kalshiSignedHeaders(
  keyId: string,
  key: KeyObject,
  method: string,
  path: string,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(nowMs);
  const message = timestamp + method.toUpperCase() + path.split('?')[0]!;
  const signature = sign('sha256', Buffer.from(message, 'utf8'), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return { 'KALSHI-ACCESS-KEY': keyId, 'KALSHI-ACCESS-TIMESTAMP': timestamp, 'KALSHI-ACCESS-SIGNATURE': signature.toString('base64') };
}
