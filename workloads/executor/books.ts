// The executor's view of the venues' books: the latest quote per venue/market/outcome, fed from
// the shard's quotes stream (arbees:<shard>:quotes). Paper fills walk these books; unwinds and
// unrealized PnL read them. A quote flagged stale removes the book (nothing fills against a ghost).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PRICE_ONE } from '../../contracts/decimal.js';
import { readQuote, streamKeys, type Outcome, type Quote, type Venue } from '../../contracts/messages.js';

export type Level = [price: number, size: number];

export interface Book {
  bids: Level[];
  asks: Level[];
  receivedTs: number;
  exchangeTs: number;
}

const key = (venue: Venue, marketId: string, outcome: Outcome) => `${venue}\u0000${marketId}\u0000${outcome}`;

export class BookCache {
  private readonly books = new Map<string, Book>();

  update(quote: Quote): void {
    const k = key(quote.venue, quote.marketId, quote.outcome);
    if (quote.stale) {
      this.books.delete(k);
      return;
    }
    this.books.set(k, {
      bids: quote.bids.map(([p, s]) => [p, s] as Level),
      asks: quote.asks.map(([p, s]) => [p, s] as Level),
      receivedTs: quote.receivedTs,
      exchangeTs: quote.exchangeTs,
    });
  }

  get(venue: Venue, marketId: string, outcome: Outcome): Book | undefined {
    return this.books.get(key(venue, marketId, outcome));
  }

  /** Mid of the best bid and ask; the one side alone when the other is empty. */
  mid(venue: Venue, marketId: string, outcome: Outcome): number | undefined {
    const book = this.get(venue, marketId, outcome);
    if (!book) return undefined;
    const bid = book.bids[0]?.[0];
    const ask = book.asks[0]?.[0];
    if (bid !== undefined && ask !== undefined) return Math.floor((bid + ask) / 2);
    return bid ?? (ask === undefined ? undefined : Math.min(ask, PRICE_ONE));
  }

  /** Removes `taken` (price, size) from one side, as a fill against it would. */
  consume(venue: Venue, marketId: string, outcome: Outcome, side: 'bids' | 'asks', taken: Level[]): void {
    const book = this.get(venue, marketId, outcome);
    if (!book) return;
    const levels = book[side];
    for (const [price, size] of taken) {
      const i = levels.findIndex(([p]) => p === price);
      if (i < 0) continue;
      const left = levels[i]![1] - size;
      if (left > 0) levels[i] = [price, left];
      else levels.splice(i, 1);
    }
  }

  get size(): number {
    return this.books.size;
  }
}

/**
 * Decodes a stream entry's fields: the JSON message is in the `data` field (signals, detector
 * MESSAGE_FIELD) or the `quote` field (quotes, market-data QUOTE_FIELD), or the only field.
 */
export function entryJson(fields: string[]): unknown {
  let text: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'data' || fields[i] === 'quote') text = fields[i + 1];
  if (text === undefined && fields.length === 2) text = fields[1];
  if (text === undefined) throw new Error('stream entry has no data field');
  return JSON.parse(text) as unknown;
}

/**
 * Follows the quotes stream into a BookCache: first the latest `bootstrap` entries (so a restart
 * has books at once), then new entries as they arrive. Uses its own (blocking) connection.
 */
export class QuoteFeed {
  private lastId = '$';
  private running = false;
  private loop: Promise<void> | undefined;
  received = 0;

  constructor(
    private readonly redis: Redis,
    private readonly shard: string,
    private readonly books: BookCache,
    private readonly log?: Logger,
    private readonly bootstrap = 2_000,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    await this.catchUp().catch((error: unknown) => this.log?.warn({ err: error }, 'quotes bootstrap failed; following new quotes only'));
    this.loop = this.follow();
  }

  private apply(fields: string[]): void {
    try {
      const quote = readQuote(entryJson(fields));
      if (quote) {
        this.books.update(quote);
        this.received++;
      }
    } catch {
      // an undecodable quote is ignored (the detector counts them)
    }
  }

  private async catchUp(): Promise<void> {
    const entries = await this.redis.xrevrange(streamKeys.quotes(this.shard), '+', '-', 'COUNT', this.bootstrap);
    if (entries.length > 0) this.lastId = entries[0]![0];
    for (const [, fields] of entries.reverse()) this.apply(fields);
  }

  private async follow(): Promise<void> {
    while (this.running) {
      try {
        const result = await this.redis.xread('COUNT', 1000, 'BLOCK', 500, 'STREAMS', streamKeys.quotes(this.shard), this.lastId);
        if (!result) continue;
        for (const [, entries] of result) {
          for (const [id, fields] of entries) {
            this.lastId = id;
            this.apply(fields);
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.log?.warn({ err: error }, 'quotes stream read failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    // A read queued while ioredis was reconnecting may never settle after disconnect(): bounded wait.
    await Promise.race([this.loop?.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }
}
