// Publishes quotes to the shard's quotes stream (XADD … MAXLEN ~ N, pipelined). Backpressure: the
// buffer holds at most one entry per book (venue, market, outcome), so when Redis is slower than
// the venue the newest book replaces the unsent one (counted as coalesced) and memory stays bounded
// by the number of books. Entries may be lazy (a function that builds the quote when it is sent),
// so a book that changes 50 times between two pipelines is normalized once, not 50 times. One
// pipeline is in flight at a time; a failed pipeline is retried after a short backoff with
// whatever is newest by then. A quote that fails validation is never dropped silently: a stale
// marker of its book (no levels) goes out instead, so a book that cannot be shown is never left
// fresh in the stream.
import type { Redis } from 'ioredis';
import { quoteSchema, readQuote, type Quote } from '../../contracts/messages.js';
import { Backoff } from './backoff.js';

/** The stream entry's field holding the quote JSON. */
export const QUOTE_FIELD = 'quote';

export interface QuotePublisherOptions {
  redis: Pick<Redis, 'pipeline'>;
  stream: string;
  /** Approximate stream cap (MAXLEN ~). */
  maxLen: number;
  /** Quotes per pipeline (default 512). */
  maxBatch?: number;
  /** Validate each quote against the schema before sending (default true). */
  validate?: boolean;
  /** After a pipeline succeeded: the quotes written and when Redis acknowledged them. */
  onPublished?: (quotes: Quote[], ackMs: number) => void;
  /** A buffered quote was replaced by a newer one of the same book before it was sent. */
  onCoalesced?: () => void;
  onError?: (error: Error) => void;
  /** Quotes refused by validation (never sent: a stale marker of the book goes out instead). */
  onInvalid?: (quote: Quote, problem: string) => void;
}

/** The buffer key of a book. */
export const bookKey = (venue: string, marketId: string, outcome: string) => `${venue}\u0000${marketId}\u0000${outcome}`;
const keyOf = (q: Quote) => bookKey(q.venue, q.marketId, q.outcome);

type Entry = Quote | (() => Quote);

const validMillis = (ms: unknown): ms is number => Number.isSafeInteger(ms) && (ms as number) >= 0;

/** The book of an invalid quote, marked stale with no levels; undefined if even that cannot be said (an unknown book). */
export function staleMarker(quote: Quote): Quote | undefined {
  const now = Date.now();
  const marker: Quote = {
    venue: quote.venue,
    marketId: quote.marketId,
    outcome: quote.outcome,
    bids: [],
    asks: [],
    seq: validMillis(quote.seq) ? quote.seq : 0,
    exchangeTs: validMillis(quote.exchangeTs) ? quote.exchangeTs : now,
    receivedTs: validMillis(quote.receivedTs) ? quote.receivedTs : now,
    stale: true,
  };
  return readQuote(marker) ? marker : undefined;
}

export class QuotePublisher {
  private pending = new Map<string, Entry>();
  private inFlight = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ baseMs: 50, maxMs: 2_000 });
  private readonly idle: Array<() => void> = [];
  private closed = false;
  private readonly maxBatch: number;
  private readonly validate: boolean;
  published = 0;
  coalesced = 0;
  errors = 0;

  constructor(private readonly options: QuotePublisherOptions) {
    this.maxBatch = options.maxBatch ?? 512;
    this.validate = options.validate ?? true;
  }

  /** Quotes waiting to be sent (at most one per book). */
  get backlog(): number {
    return this.pending.size;
  }

  publish(quote: Quote): void {
    this.publishLazy(keyOf(quote), quote);
  }

  /** Buffers the book `key` (see bookKey); `build` runs when the entry is sent, reading the book as it is then. */
  publishLazy(key: string, build: Entry): void {
    if (this.closed) return;
    if (this.pending.has(key)) {
      this.coalesced++;
      this.options.onCoalesced?.();
      this.pending.delete(key); // re-insert at the end: entries go out in publication order
    }
    this.pending.set(key, build);
    this.schedule();
  }

  /** Resolves once everything buffered has been sent (or `timeoutMs` passed). */
  drain(timeoutMs = 5_000): Promise<boolean> {
    if (this.pending.size === 0 && !this.inFlight) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops accepting quotes; pending ones are dropped (call drain first). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pending.clear();
    for (const done of this.idle.splice(0)) done();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.retryTimer || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.closed) return;
    if (this.pending.size === 0) {
      for (const done of this.idle.splice(0)) done();
      return;
    }
    const batch: Quote[] = [];
    for (const [key, entry] of this.pending) {
      this.pending.delete(key);
      const quote = typeof entry === 'function' ? entry() : entry;
      if (this.validate) {
        if (!readQuote(quote)) {
          const issues = quoteSchema.safeParse(quote).error?.issues ?? [];
          this.options.onInvalid?.(quote, issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
          const marker = staleMarker(quote);
          if (marker) batch.push(marker);
          continue;
        }
      }
      batch.push(quote);
      if (batch.length >= this.maxBatch) break;
    }
    if (batch.length === 0) return this.flush();
    this.inFlight = true;
    const pipeline = this.options.redis.pipeline();
    for (const quote of batch)
      pipeline.xadd(this.options.stream, 'MAXLEN', '~', this.options.maxLen, '*', QUOTE_FIELD, JSON.stringify(quote));
    let failed: Error | undefined;
    try {
      const results = await pipeline.exec();
      const firstError = results?.find(([error]) => error)?.[0];
      if (firstError) failed = firstError;
    } catch (error) {
      failed = error as Error;
    }
    this.inFlight = false;
    if (this.closed) return;
    if (failed) {
      this.errors++;
      this.options.onError?.(failed);
      // Put back what has not been superseded meanwhile, and retry after a pause.
      for (const quote of batch) if (!this.pending.has(keyOf(quote))) this.pending.set(keyOf(quote), quote);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, this.backoff.next());
      return;
    }
    this.backoff.reset();
    this.published += batch.length;
    this.options.onPublished?.(batch, Date.now());
    if (this.pending.size > 0) this.schedule();
    else for (const done of this.idle.splice(0)) done();
  }
}
