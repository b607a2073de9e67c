// Signals signed by the detector and checked by the executor (contracts/signal-auth.ts), and the
// bounds of every field of a signal (contracts/messages.ts signalSchema).
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { ConfigError } from '../../contracts/config-error.js';
import { signalLimits, signalSchema, type Signal } from '../../contracts/messages.js';
import { signalKeyEnv } from '../../contracts/shard-config.js';
import { exampleSignal } from '../support/signals.js';
import { canonicalJson, signalKeyFrom, signatureProblem, signedText, signSignal } from '../../contracts/signal-auth.js';

const key = 'k'.repeat(40);
const shard = 'nba-east';
const signal = (over: Partial<Signal> = {}): Signal => exampleSignal(over);

describe('signal signatures', () => {
  it('signs a canonical text: sorted keys, no white space, the version and the shard first', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 'x"y' }], a: null, é: true })).to.equal('{"a":null,"b":[2,{"c":"x\\"y","d":1}],"é":true}');
    const text = signedText(shard, { z: 1, a: 'v', sig: 'ignored' });
    expect(text).to.equal('arbees-signal-v1\nnba-east\n{"a":"v","z":1}');
    // The signature is exactly HMAC-SHA256(key, that text), as any other implementation would compute it.
    const signed = signSignal(signal(), key, shard);
    expect(signed.sig).to.equal(createHmac('sha256', key).update(signedText(shard, signal())).digest('hex'));
    expect(() => canonicalJson({ a: Number.NaN })).to.throw(TypeError);
  });

  it('verifies what the detector published, whatever the key order on the wire', () => {
    const signed = signSignal(signal(), key, shard);
    const wire = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
    expect(signatureProblem(wire, key, shard)).to.equal(undefined);
    const reordered = Object.fromEntries(Object.entries(wire).reverse());
    expect(signatureProblem(reordered, key, shard)).to.equal(undefined);
    // Re-signing replaces the signature rather than signing it.
    expect(signSignal(signed, key, shard).sig).to.equal(signed.sig);
  });

  it('refuses a missing, malformed or wrong signature, a changed field, another shard or another key', () => {
    const signed = signSignal(signal(), key, shard);
    expect(signatureProblem(signal(), key, shard)).to.equal('unsigned');
    expect(signatureProblem(null, key, shard)).to.equal('unsigned');
    expect(signatureProblem([signed], key, shard)).to.equal('unsigned');
    expect(signatureProblem({ ...signed, sig: 42 }, key, shard)).to.equal('bad_signature');
    expect(signatureProblem({ ...signed, sig: signed.sig.toUpperCase() }, key, shard)).to.equal('bad_signature');
    expect(signatureProblem({ ...signed, sig: signed.sig.slice(2) }, key, shard)).to.equal('bad_signature');
    expect(signatureProblem({ ...signed, sig: '0'.repeat(64) }, key, shard)).to.equal('bad_signature');
    const raised = { ...signed, legs: [{ ...signed.legs[0]!, limitPrice: 9_900 }, signed.legs[1]!] };
    expect(signatureProblem(raised, key, shard)).to.equal('bad_signature');
    expect(signatureProblem({ ...signed, extra: 1 }, key, shard)).to.equal('bad_signature');
    expect(signatureProblem(signed, key, 'nba-west')).to.equal('bad_signature');
    expect(signatureProblem(signed, 'x'.repeat(40), shard)).to.equal('bad_signature');
    // Something canonical JSON cannot encode is a bad signature, not an exception.
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(signatureProblem({ sig: signed.sig, deep }, key, shard)).to.equal('bad_signature');
  });

  it('needs ARBEES_SIGNAL_KEY of at least 32 characters, saying where it comes from', () => {
    for (const env of [{}, { [signalKeyEnv]: '' }]) {
      expect(() => signalKeyFrom(env, 'executor'))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/ARBEES_SIGNAL_KEY is not set: .*connections Secret's signalKey/);
    }
    expect(() => signalKeyFrom({ [signalKeyEnv]: 'short' }, 'detector')).to.throw(ConfigError, /5 characters; at least 32/);
    expect(signalKeyFrom({ [signalKeyEnv]: key }, 'detector')).to.equal(key);
  });
});

describe('signal bounds (signalSchema)', () => {
  const refused = (over: Record<string, unknown>) => !signalSchema.safeParse({ ...signal(), ...over }).success;

  it('accepts what the detector writes, signed or not', () => {
    expect(signalSchema.safeParse(signal()).success).to.equal(true);
    expect(signalSchema.safeParse(signSignal(signal(), key, shard)).success).to.equal(true);
    expect(signalSchema.safeParse(signal({ kind: 'edge', legs: [signal().legs[0]!], quoteAgesMs: [5] })).success).to.equal(true);
  });

  it('refuses limit prices of $0 and $1 and beyond', () => {
    for (const limitPrice of [0, 10_000, -1, 10_001, 4_000.5]) {
      expect(refused({ legs: [{ ...signal().legs[0]!, limitPrice }] }), String(limitPrice)).to.equal(true);
    }
    expect(refused({ legs: [{ ...signal().legs[0]!, limitPrice: 1 }] })).to.equal(false);
    expect(refused({ legs: [{ ...signal().legs[0]!, limitPrice: 9_999 }] })).to.equal(false);
  });

  it('refuses unbounded arrays: no legs or more than two, more quote ages than books', () => {
    const leg = signal().legs[0]!;
    expect(refused({ legs: [] })).to.equal(true);
    expect(refused({ legs: [leg, leg, leg] })).to.equal(true);
    expect(refused({ quoteAgesMs: [] })).to.equal(true);
    expect(refused({ quoteAgesMs: Array.from({ length: 10_000 }, () => 1) })).to.equal(true);
    expect(refused({ quoteAgesMs: [signalLimits.quoteAgeMs + 1] })).to.equal(true);
  });

  it('refuses over-long ids and market ids, absurd sizes, edges and profits', () => {
    expect(refused({ id: 'x'.repeat(signalLimits.idLength + 1) })).to.equal(true);
    expect(refused({ id: 'x'.repeat(signalLimits.idLength) })).to.equal(false);
    expect(refused({ marketId: 'm'.repeat(signalLimits.marketIdLength + 1) })).to.equal(true);
    expect(refused({ id: '' })).to.equal(true);
    const leg = signal().legs[0]!;
    for (const size of [0, -100, 10 ** 11 + 1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      expect(refused({ legs: [{ ...leg, size }] }), `size ${size}`).to.equal(true);
    }
    expect(refused({ edgeBps: 10_001 })).to.equal(true);
    expect(refused({ edgeBps: -1 })).to.equal(true);
    expect(refused({ expectedProfit: -1 })).to.equal(true);
    // At most $1 a contract: 10 contracts (1000 hundredths) pay at most $10 = 100 000.
    expect(refused({ expectedProfit: 100_001 })).to.equal(true);
    expect(refused({ expectedProfit: 100_000 })).to.equal(false);
    expect(refused({ createdTs: -1 })).to.equal(true);
    expect(refused({ sig: 'not hex' })).to.equal(true);
    expect(refused({ surprise: true })).to.equal(true);
  });
});
