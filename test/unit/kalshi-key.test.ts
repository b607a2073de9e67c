// The one Kalshi key loader (monitor and executor): every encoding a Secret is likely to hold is
// read, and a wrong one is refused without any part of the value reaching the error or the logs.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../lib/log.js';
import { KalshiCredentialError, kalshiSignedHeaders, loadKalshiPrivateKey } from '../../venues/kalshi/auth.js';

const VAR = 'ARBEES_KALSHI_PRIVATE_KEY';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const der = privateKey.export({ type: 'pkcs8', format: 'der' });
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/** Every run of 8 characters of the value (a leak of any part of it shows). */
function fragments(value: string): string[] {
  const compact = value.replace(/\s/g, '');
  const out: string[] = [];
  for (let i = 0; i + 8 <= compact.length; i += 4) out.push(compact.slice(i, i + 8));
  return out.filter((f) => !/^-+BEGIN|^-+END|PRIVATEK|RIVATEKE|IVATEKEY|-----/.test(f));
}

function refusal(value: string): string {
  try {
    loadKalshiPrivateKey(value, VAR);
  } catch (error) {
    expect(error).to.be.instanceOf(KalshiCredentialError);
    return (error as Error).message;
  }
  throw new Error('the value was accepted');
}

describe('Kalshi key loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-key-'));
  const file = join(dir, 'kalshi.pem');
  writeFileSync(file, pkcs1);

  const accepted: Record<string, string> = {
    'PKCS#8 PEM': pkcs8,
    'PKCS#1 PEM': pkcs1,
    'PEM with escaped newlines': pkcs8.replace(/\n/g, '\\n'),
    'a path to a PEM file': file,
    'base64 of the PEM': b64(pkcs8),
    'base64 of the PEM, twice (a Secret encoded by hand, then by Kubernetes)': b64(b64(pkcs1)),
    'base64 of the DER': b64(der),
  };
  for (const [what, value] of Object.entries(accepted)) {
    it(`reads ${what}, and the key signs`, () => {
      const key = loadKalshiPrivateKey(value, VAR);
      expect(key.asymmetricKeyType).to.equal('rsa');
      expect(kalshiSignedHeaders('kid', key, 'GET', '/trade-api/ws/v2')['KALSHI-ACCESS-SIGNATURE']).to.have.length(344);
    });
  }

  const refused: Record<string, string> = {
    'base64 three times': b64(b64(b64(pkcs8))),
    'a truncated PEM': pkcs8.slice(0, 600),
    'a truncated base64 PEM': b64(pkcs8).slice(0, 900),
    'a public key': generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'an EC key': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'JSON by mistake': JSON.stringify({ privateKey: b64(pkcs8) }),
    'a path that does not exist': '/etc/arbees/kalshi-key-that-is-not-there.pem',
  };
  for (const [what, value] of Object.entries(refused)) {
    it(`refuses ${what} without quoting it, in the error or the log`, () => {
      const message = refusal(value);
      expect(message).to.contain(VAR);
      const lines: string[] = [];
      const log = createLogger(
        { name: 'test' },
        new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }),
      );
      const error = new KalshiCredentialError(message);
      error.stack = `${error.name}: ${message}`; // the test file's own path would match a path value
      log.error({ err: error }, 'kalshi monitor cannot start');
      for (const fragment of fragments(value)) {
        expect(message, `fragment ${fragment}`).not.to.contain(fragment);
        expect(lines.join(''), `fragment ${fragment}`).not.to.contain(fragment);
      }
    });
  }

  it('says what is missing when nothing is set', () => {
    expect(refusal('  ')).to.equal(`${VAR} is not set (the Kalshi API private key, PEM)`);
  });
});
