// What a stream entry must be before the executor decides it (workloads/executor/signal-vetting.ts):
// signed by the detector, bounded, not from the future, and priced within the executor's own books.
import { expect } from 'chai';
import type { Signal } from '../../contracts/messages.js';
import { signSignal } from '../../contracts/signal-auth.js';
import { BookCache } from '../../workloads/executor/books.js';
import { exampleSignal } from '../support/signals.js';
import { authenticEntry, MAX_SIGNAL_BYTES, vetSignal } from '../../workloads/executor/signal-vetting.js';

const key = 'executor-vetting-test-key-0123456789abcdef';
const shard = 'vet';
const now = 1_800_000_000_000;
const signal = (over: Partial<Signal> = {}): Signal => exampleSignal({ id: 'arbitrage:m0:x:0000000000000001', createdTs: now, ...over });

function books(kalshiAsk: number | undefined, polyAsk = 5_500, receivedTs = now - 100): BookCache {
  const cache = new BookCache();
  const quote = (venue: 'kalshi' | 'polymarket', outcome: 'yes' | 'no', ask: number) => ({
    venue,
    marketId: 'm0',
    outcome,
    bids: [[ask - 200, 500] as [number, number]],
    asks: [[ask, 500] as [number, number]],
    seq: 1,
    exchangeTs: receivedTs,
    receivedTs,
    stale: false,
  });
  if (kalshiAsk !== undefined) cache.update(quote('kalshi', 'yes', kalshiAsk));
  cache.update(quote('polymarket', 'no', polyAsk));
  return cache;
}

const settings = { maxClockSkewMs: 1_000, maxBookAgeMs: 10_000 };

describe('executor signal vetting', () => {
  it('takes only an entry signed with the shard key; refuses unsigned, wrongly signed, malformed and oversized ones', () => {
    const good = JSON.stringify(signSignal(signal(), key, shard));
    expect(authenticEntry(['data', good], key, shard)).to.deep.include({ ok: true });
    const reason = (fields: string[]) => {
      const decoded = authenticEntry(fields, key, shard);
      return decoded.ok ? 'ok' : decoded.reason;
    };
    expect(reason(['data', JSON.stringify(signal())])).to.equal('unsigned');
    expect(reason(['data', JSON.stringify(signSignal(signal(), 'another-key-of-enough-length-0123456789', shard))])).to.equal(
      'bad_signature',
    );
    expect(reason(['data', JSON.stringify(signSignal(signal(), key, 'other-shard'))])).to.equal('bad_signature');
    const tampered = JSON.parse(good) as Signal;
    tampered.legs[0]!.size = 100_000;
    expect(reason(['data', JSON.stringify(tampered)])).to.equal('bad_signature');
    expect(reason(['data', '{not json'])).to.equal('malformed');
    expect(reason(['quote', good])).to.equal('malformed');
    expect(reason(['data', `${' '.repeat(MAX_SIGNAL_BYTES)}${good}`])).to.equal('oversized');
  });

  it('refuses a signal created in the future beyond the clock skew, not before', () => {
    const cache = books(4_000);
    expect(vetSignal(signal({ createdTs: now + 1_000 }), cache, now, settings)).to.equal(undefined);
    const refusal = vetSignal(signal({ createdTs: now + 1_001 }), cache, now, settings);
    expect(refusal).to.deep.equal({ rule: 'invalid-signal', reason: 'created 1001 ms in the future (clock skew allowed: 1000 ms)' });
    expect(vetSignal(signal({ createdTs: now + 86_400_000 * 365 }), cache, now, settings)?.rule).to.equal('invalid-signal');
  });

  it('refuses a leg whose limit our books do not support: no book, a stale book, no ask at or below the limit', () => {
    expect(vetSignal(signal(), books(4_000), now, settings)).to.equal(undefined);
    expect(vetSignal(signal(), books(3_900), now, settings)).to.equal(undefined);
    expect(vetSignal(signal(), books(4_100), now, settings)).to.deep.equal({
      rule: 'book-mismatch',
      reason: 'our book of the kalshi yes of m0 has no ask at or below the buy limit $0.4000 (best ask $0.4100)',
    });
    expect(vetSignal(signal(), books(undefined), now, settings)?.reason).to.match(/^no book of the kalshi yes of m0/);
    expect(vetSignal(signal(), books(4_000, 5_501), now, settings)?.reason).to.match(/polymarket no of m0 has no ask/);
    expect(vetSignal(signal(), books(4_000, 5_500, now - 10_001), now, settings)?.reason).to.match(/is 10001 ms old \(max 10000 ms\)/);
    // A book the monitor marked stale is gone from the cache: refused as missing.
    const cache = books(4_000);
    cache.update({
      venue: 'kalshi',
      marketId: 'm0',
      outcome: 'yes',
      bids: [],
      asks: [],
      seq: 2,
      exchangeTs: now,
      receivedTs: now,
      stale: true,
    });
    expect(vetSignal(signal(), cache, now, settings)?.reason).to.match(/^no book of the kalshi yes/);
    // A book with bids only has no ask to buy from.
    const bidsOnly = books(4_000);
    bidsOnly.update({
      venue: 'kalshi',
      marketId: 'm0',
      outcome: 'yes',
      bids: [[3_000, 10]],
      asks: [],
      seq: 3,
      exchangeTs: now,
      receivedTs: now,
      stale: false,
    });
    expect(vetSignal(signal(), bidsOnly, now, settings)?.reason).to.match(/best ask none/);
  });
});
