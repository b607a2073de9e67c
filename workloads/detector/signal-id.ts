// Deterministic signal ids: a 64-bit hash (two independent 32-bit lanes) of the kind, market,
// direction and the triggering books' identity and content (venue, outcome, seq, every level). The
// same quote stream replayed gives the same ids, so the executor's dedupe catches a replay; any change
// to a triggering book gives a new id. Our clock (receivedTs, now) is left out on purpose: a replay runs at another time.
import type { Quote } from '../../contracts/messages.js';

class Hash64 {
  private h1 = 0x811c9dc5;
  private h2 = 0x9e3779b9;

  int(value: number): this {
    // Numbers here are safe integers; mix the low and high 32 bits.
    this.word(value >>> 0);
    this.word(Math.floor(value / 0x1_0000_0000) >>> 0);
    return this;
  }

  text(value: string): this {
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.word(value.charCodeAt(i));
    return this;
  }

  hex(): string {
    const a = fmix(this.h1 ^ this.h2);
    const b = fmix(this.h2 ^ Math.imul(this.h1, 0x85ebca6b));
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
  }

  private word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    this.h1 ^= this.h1 >>> 15;
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    this.h2 ^= Math.imul(k, 0x1b873593);
    this.h2 = (this.h2 << 13) | (this.h2 >>> 19);
    this.h2 = (Math.imul(this.h2, 5) + 0xe6546b64) | 0;
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** `<kind>:<marketId>:<direction>:<16 hex digits>`, a function of its arguments only. */
export function signalId(kind: 'arbitrage' | 'edge', marketId: string, direction: string, books: readonly Quote[]): string {
  const hash = new Hash64().text(kind).text(marketId).text(direction).int(books.length);
  for (const book of books) {
    hash.text(book.venue).text(book.outcome).int(book.seq).int(book.exchangeTs);
    hash.int(book.asks.length);
    for (const [price, size] of book.asks) hash.int(price).int(size);
    hash.int(book.bids.length);
    for (const [price, size] of book.bids) hash.int(price).int(size);
  }
  return `${kind}:${marketId}:${direction}:${hash.hex()}`;
}
