// Signals are authenticated by the detector and checked by the executor, so that a process without
// the shard's signal key (a monitor, or anything else that can write to Redis) cannot make the
// executor trade: HMAC-SHA256 with the key from ARBEES_SIGNAL_KEY (signalKeyEnv), in the signal's
// `sig` field as 64 lower-case hex digits.
//
// What is signed, byte for byte: the UTF-8 bytes of
//   "arbees-signal-v1\n" + <shard> + "\n" + canonical(<the signal's JSON object without "sig">)
// where canonical() is JSON with the keys of every object sorted (by UTF-16 code units, as
// Array.prototype.sort does), no white space, strings as JSON.stringify writes them and numbers as
// JSON.stringify writes them (the schema allows only safe integers, so every number has one form).
// The shard is in the signed text, so a signal of one shard replayed into another's stream fails;
// a replay within the shard is refused by its id (the ledger's primary key) and its age.
//
// The check runs on the decoded JSON before anything else looks at it (the schema comes after), so
// an entry that is not ours costs a parse and one HMAC, and is never written anywhere.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './config-error.js';
import { signalKeyEnv } from './shard-config.js';

/** Shortest key accepted: 32 characters (the chart generates 48 alphanumerics; `openssl rand -hex 32` gives 64). */
export const MIN_SIGNAL_KEY_LENGTH = 32;
const VERSION = 'arbees-signal-v1';
const SIG = /^[0-9a-f]{64}$/;

/** JSON with sorted keys and no white space; throws on what JSON cannot say exactly (NaN, Infinity, undefined, functions). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('a number that JSON cannot carry');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
  }
  throw new TypeError(`a ${typeof value} cannot be signed`);
}

/** The exact text whose HMAC is the signature: the version, the shard, the signal without `sig`. */
export function signedText(shard: string, signal: object): string {
  const { sig: _sig, ...unsigned } = signal as Record<string, unknown>;
  return `${VERSION}\n${shard}\n${canonicalJson(unsigned)}`;
}

function mac(key: string, shard: string, signal: object): Buffer {
  return createHmac('sha256', key).update(signedText(shard, signal), 'utf8').digest();
}

/** The signal with its `sig` (any `sig` it had is replaced). */
export function signSignal<T extends object>(signal: T, key: string, shard: string): T & { sig: string } {
  const { sig: _sig, ...unsigned } = signal as T & { sig?: unknown };
  return { ...(unsigned as T), sig: mac(key, shard, unsigned).toString('hex') };
}

export type SignatureProblem = 'unsigned' | 'bad_signature';

/**
 * Checks a decoded signal's signature (constant-time compare); undefined when it is good. Anything
 * that is not an object with a well-formed `sig` is 'unsigned' or 'bad_signature', never an exception.
 */
export function signatureProblem(decoded: unknown, key: string, shard: string): SignatureProblem | undefined {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return 'unsigned';
  const sig = (decoded as { sig?: unknown }).sig;
  if (sig === undefined) return 'unsigned';
  if (typeof sig !== 'string' || !SIG.test(sig)) return 'bad_signature';
  let expected: Buffer;
  try {
    expected = mac(key, shard, decoded);
  } catch {
    return 'bad_signature';
  }
  return timingSafeEqual(expected, Buffer.from(sig, 'hex')) ? undefined : 'bad_signature';
}

/** The signal key from the environment; a ConfigError naming the variable when it is missing or too short. */
export function signalKeyFrom(env: NodeJS.ProcessEnv, who: 'detector' | 'executor'): string {
  const key = env[signalKeyEnv];
  const what =
    who === 'detector'
      ? 'the key the detector signs its signals with'
      : 'the key the executor checks signals by (it trades no unsigned signal)';
  if (key === undefined || key === '')
    throw new ConfigError(`the ${who} needs ${signalKeyEnv}:`, [
      `${signalKeyEnv} is not set: ${what}, from the connections Secret's signalKey (the same value in the detector and the executor)`,
    ]);
  if (key.length < MIN_SIGNAL_KEY_LENGTH)
    throw new ConfigError(`the ${who} needs ${signalKeyEnv}:`, [
      `${signalKeyEnv} has ${key.length} characters; at least ${MIN_SIGNAL_KEY_LENGTH} are needed (e.g. openssl rand -hex 32)`,
    ]);
  return key;
}
