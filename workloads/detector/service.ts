// The detector service: the I/O shell around the pure core (core.ts). It reads the shard's quote
// stream with a blocking, batched XREAD, validates every entry (readQuote: quoteSchema without
// zod), feeds the core, validates every signal with signalSchema and XADDs it to the shard's signal
// stream (one pipeline per batch), and keeps the Prometheus metrics the breaker and dashboards read.
//
// Where it starts reading. A detector only needs the *current* books: every quote is a complete
// top-N snapshot of one book (not a delta), so the latest quote of each book is all the state there
// is. On start (and restart) the service therefore resumes from the newest entry of the stream, not
// from where a previous process stopped: replaying a backlog would only evaluate books that are
// older than maxQuoteAgeMs by the time they are read (the gating refuses them anyway), spend the
// start-up catching up, and, worse, could emit signals for prices that are gone. No consumer group is
// needed for that (the executor, which must not lose a signal, uses one on the signal stream). To be
// useful at once after a restart, the books are warmed from the stream's tail (entries received
// within maxQuoteAgeMs) without evaluating them: no signal is ever emitted from history, but the
// first fresh quote can pair with a still-fresh book of the other venue.
//
// Wire format: each stream entry carries the message as JSON in one field: `data` (MESSAGE_FIELD,
// what the detector writes and the executor reads; a signal carries its HMAC in `sig`,
// contracts/signal-auth.ts) or `quote` (what workloads/market-data's
// publisher writes); an entry with a single differently named field is read too.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { createLogger, redactUrl } from '../../lib/log.js';
import { untilItWorks } from '../../lib/retry.js';
import { quoteSchema, readQuote, signalSchema, streamKeys, type Quote, type Signal } from '../../contracts/messages.js';
import { signSignal } from '../../contracts/signal-auth.js';
import { DetectorCore, type DetectorConfigInput } from './core.js';
import type { FairValueSource } from './edge.js';
import type { FeeTable } from '../../venues/fee-table.js';
import type { Readiness } from '../../lib/ops-server.js';

/** The stream entry field that holds a message's JSON. */
export const MESSAGE_FIELD = 'data';
const MESSAGE_FIELDS = new Set([MESSAGE_FIELD, 'quote']);

export type InvalidQuoteReason = 'missing_field' | 'json' | 'schema' | 'unknown_market' | 'out_of_order';

export interface DetectorServiceOptions {
  shard: string;
  redisUrl: string;
  /** The shard's signal key (ARBEES_SIGNAL_KEY): every signal is signed with it, the executor trades no other. */
  signalKey: string;
  /** Core settings (gating, arbitrage, model edge, spam control); defaults from core.ts. */
  detector?: DetectorConfigInput;
  fees?: FeeTable;
  /** Fair values for model edge (used only when detector.edge.enabled). */
  fairValues?: FairValueSource;
  /** When given, quotes for other markets are refused (a misrouted quote must not be traded). */
  markets?: Iterable<string>;
  registry?: Registry;
  log?: Logger;
  /**
   * The clock the core sees. `wall` (default): `now()` at evaluation. `quote`: event time, the
   * newest receivedTs seen so far, for replaying a recorded stream as a backtest (results then do
   * not depend on how fast the replay runs).
   */
  timeSource?: 'wall' | 'quote';
  /** Milliseconds since the epoch; default Date.now (tests pass a simulated clock). */
  now?: () => number;
  /** Entries per XREAD (default 500). */
  batchSize?: number;
  /** XREAD BLOCK timeout (default 1000 ms); also bounds how long stop() waits for a read. */
  blockMs?: number;
  /** Approximate cap of the signal stream (XADD MAXLEN ~; default 100 000, 0 = none). */
  signalsMaxLen?: number;
  /** Warm the books from the stream's fresh tail on start (default true). */
  warmStart?: boolean;
}

export interface DetectorStats {
  /** The id of the last quote-stream entry read. */
  lastId: string;
  consumed: number;
  invalid: number;
  signals: number;
  warmed: number;
}

class DetectorMetrics {
  readonly signals: Counter<'kind'>;
  readonly evaluation: Histogram;
  readonly suppressed: Counter<'reason'>;
  readonly consumed: Counter;
  readonly invalid: Counter<'reason'>;
  readonly redisErrors: Counter<'operation'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.signals = new Counter({ name: 'arbees_signals_total', help: 'Signals published, by kind', labelNames: ['kind'], registers });
    this.evaluation = new Histogram({
      name: 'arbees_detector_evaluation_seconds',
      help: 'Time the detector core spends on one quote (book update, gating, sizing, spam control)',
      buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2],
      registers,
    });
    this.suppressed = new Counter({
      name: 'arbees_signals_suppressed_total',
      help:
        'Would-be signals not published, by reason (gating: stale, too_old, skew, crossed, ...; spam: unchanged, ' +
        'market_rate, shard_rate)',
      labelNames: ['reason'],
      registers,
    });
    this.consumed = new Counter({ name: 'arbees_quotes_consumed_total', help: 'Quote stream entries read by the detector', registers });
    this.invalid = new Counter({
      name: 'arbees_detector_invalid_quotes_total',
      help: 'Quote stream entries refused, by reason (missing_field, json, schema, unknown_market, out_of_order)',
      labelNames: ['reason'],
      registers,
    });
    this.redisErrors = new Counter({
      name: 'arbees_detector_redis_errors_total',
      help: 'Failed Redis operations, by operation',
      labelNames: ['operation'],
      registers,
    });
    // Labelled series exist from the start, so rate() and absent() behave before the first event.
    for (const kind of ['arbitrage', 'edge']) this.signals.inc({ kind }, 0);
  }
}

/** The message JSON of a stream entry's [field, value, ...] list. */
function messageText(fields: string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (MESSAGE_FIELDS.has(fields[i]!)) return fields[i + 1];
  return fields.length === 2 ? fields[1] : undefined;
}

/** Milliseconds part of a stream id. */
function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

type XReadReply = [key: string, items: [id: string, fields: string[]][]][] | null;

export class DetectorService {
  readonly core: DetectorCore;
  readonly registry: Registry;
  readonly quotesKey: string;
  readonly signalsKey: string;
  private readonly metrics: DetectorMetrics;
  private readonly log: Logger;
  private readonly markets: ReadonlySet<string> | undefined;
  private readonly clock: () => number;
  private readonly quoteTime: boolean;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly maxLen: number;
  private readonly warmStart: boolean;
  private reader: Redis | undefined;
  private writer: Redis | undefined;
  private loopDone: Promise<void> | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private reading = false;
  private lastReadOk = 0;
  private readError: string | undefined;
  /** Ends the back-off pause early (stop()). */
  private wake: (() => void) | undefined;
  private eventTime = 0;
  private readonly stats_: DetectorStats = { lastId: '0-0', consumed: 0, invalid: 0, signals: 0, warmed: 0 };

  constructor(private readonly options: DetectorServiceOptions) {
    this.core = new DetectorCore(options.detector, { fees: options.fees, fairValues: options.fairValues });
    this.registry = options.registry ?? new Registry();
    this.metrics = new DetectorMetrics(this.registry);
    this.log = options.log ?? createLogger({ name: 'arbees-detector', level: 'silent' });
    this.markets = options.markets ? new Set(options.markets) : undefined;
    this.clock = options.now ?? Date.now;
    this.quoteTime = options.timeSource === 'quote';
    this.batchSize = options.batchSize ?? 500;
    this.blockMs = options.blockMs ?? 1000;
    this.maxLen = options.signalsMaxLen ?? 100_000;
    this.warmStart = options.warmStart ?? true;
    this.quotesKey = streamKeys.quotes(options.shard);
    this.signalsKey = streamKeys.signals(options.shard);
  }

  /** Connects, finds the newest quote, warms the books, and starts consuming. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`detector already ${this.state}`);
    this.state = 'starting';
    // Two connections: XREAD BLOCK holds its connection for up to blockMs.
    const connect = () => {
      const client = new Redis(this.options.redisUrl, {
        maxRetriesPerRequest: 1,
        lazyConnect: true,
        connectionName: `arbees-detector-${this.options.shard}`,
      });
      client.on('error', (error: Error) => this.log.debug({ err: error.message }, 'redis connection error'));
      return client;
    };
    // Redis may not answer yet (the pod's network policy lands a moment after it starts): keep
    // trying, not ready meanwhile, rather than exit and be restarted.
    const started = await untilItWorks(
      'connecting to Redis',
      async () => {
        this.reader?.disconnect();
        this.writer?.disconnect();
        this.reader = connect();
        this.writer = connect();
        await Promise.all([this.reader.connect(), this.writer.connect()]);
        this.stats_.lastId = await this.resumePoint();
        return true;
      },
      { log: this.log, stopped: () => this.state !== 'starting' },
    );
    if (!started) {
      this.reader?.disconnect();
      this.writer?.disconnect();
      return;
    }
    if (this.state !== 'starting') return; // stop() was called meanwhile and has disconnected
    this.lastReadOk = Date.now();
    this.state = 'running';
    this.log.info(
      {
        shard: this.options.shard,
        redis: redactUrl(this.options.redisUrl),
        from: this.stats_.lastId,
        warmed: this.stats_.warmed,
        config: this.core.config,
      },
      'detector consuming quotes',
    );
    this.loopDone = this.loop();
  }

  /** Stops reading, finishes the batch in hand (its signals are published), and disconnects. */
  async stop(): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    if (this.state === 'stopping') return this.loopDone;
    this.state = 'stopping';
    // A pending XREAD BLOCK would hold us up to blockMs: closing its connection rejects it.
    if (this.reading) this.reader?.disconnect();
    this.wake?.();
    await this.loopDone;
    // Every publish of the loop has been awaited: nothing is in flight on either connection.
    this.reader?.disconnect();
    this.writer?.disconnect();
    this.state = 'stopped';
    this.log.info({ ...this.stats_ }, 'detector stopped');
  }

  /** Ready while consuming: the last read from Redis succeeded, within the last few read cycles. */
  readiness(): Readiness {
    if (this.state !== 'running')
      return { ready: false, reason: this.state === 'new' ? 'starting' : this.state, detail: `detector ${this.state}` };
    if (this.readError !== undefined)
      return { ready: false, reason: 'redis_unavailable', detail: `reading quotes from Redis failed: ${this.readError}` };
    const silent = Date.now() - this.lastReadOk;
    if (silent > this.blockMs + 5_000)
      return { ready: false, reason: 'redis_unavailable', detail: `no answer from Redis for ${silent} ms` };
    return { ready: true };
  }

  stats(): Readonly<DetectorStats> {
    return { ...this.stats_ };
  }

  /** The newest entry id (reading resumes after it), warming the books from the fresh tail. */
  private async resumePoint(): Promise<string> {
    const redis = this.writer!;
    const newest = (await redis.xrevrange(this.quotesKey, '+', '-', 'COUNT', 1)) as [string, string[]][];
    if (newest.length === 0) return '0-0';
    const lastId = newest[0]![0];
    if (this.warmStart) {
      // Stream ids carry Redis' clock; receivedTs (what gating checks) is the monitor's. The window
      // is measured back from the newest entry, so clock offsets between hosts do not matter here.
      const since = Math.max(0, idTime(lastId) - this.core.config.gating.maxQuoteAgeMs);
      const tail = (await redis.xrevrange(this.quotesKey, lastId, `${since}-0`, 'COUNT', 10_000)) as [string, string[]][];
      for (let i = tail.length - 1; i >= 0; i--) {
        const quote = this.parse(tail[i]![1], false);
        if (quote && this.core.books.update(quote) === 'accepted') {
          this.stats_.warmed++;
          if (quote.receivedTs > this.eventTime) this.eventTime = quote.receivedTs;
        }
      }
    }
    return lastId;
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    while (this.state === 'running') {
      let reply: XReadReply;
      try {
        this.reading = true;
        reply = await this.reader!.xread('COUNT', this.batchSize, 'BLOCK', this.blockMs, 'STREAMS', this.quotesKey, this.stats_.lastId);
        this.lastReadOk = Date.now();
        this.readError = undefined;
        backoff = 100;
      } catch (error) {
        if (this.state !== 'running') break;
        this.metrics.redisErrors.inc({ operation: 'xread' });
        this.readError = (error as Error).message;
        this.log.warn({ err: (error as Error).message, retryInMs: backoff }, 'reading quotes failed');
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      } finally {
        this.reading = false;
      }
      const entries = reply?.[0]?.[1];
      if (!entries || entries.length === 0) continue;
      const signals: Signal[] = [];
      for (const [id, fields] of entries) {
        this.stats_.lastId = id;
        this.onEntry(fields, signals);
      }
      if (signals.length > 0) await this.publish(signals);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = undefined));
  }

  private parse(fields: string[], count: boolean): Quote | undefined {
    const text = messageText(fields);
    if (text === undefined) return this.refuse('missing_field', count);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.refuse('json', count);
    }
    const quote = readQuote(json);
    if (!quote) {
      if (count) this.log.debug({ issues: quoteSchema.safeParse(json).error?.issues.slice(0, 3) }, 'invalid quote');
      return this.refuse('schema', count);
    }
    if (this.markets && !this.markets.has(quote.marketId)) return this.refuse('unknown_market', count);
    return quote;
  }

  private refuse(reason: InvalidQuoteReason, count: boolean): undefined {
    if (count) {
      this.metrics.invalid.inc({ reason });
      this.stats_.invalid++;
    }
    return undefined;
  }

  private onEntry(fields: string[], signals: Signal[]): void {
    this.metrics.consumed.inc();
    this.stats_.consumed++;
    const quote = this.parse(fields, true);
    if (!quote) return;
    let now: number;
    if (this.quoteTime) {
      if (quote.receivedTs > this.eventTime) this.eventTime = quote.receivedTs;
      now = this.eventTime;
    } else {
      now = this.clock();
    }
    const began = process.hrtime.bigint();
    const out = this.core.onQuote(quote, now);
    this.metrics.evaluation.observe(Number(process.hrtime.bigint() - began) / 1e9);
    if (out.quote === 'out_of_order') {
      this.refuse('out_of_order', true);
      return;
    }
    for (const s of out.suppressed) this.metrics.suppressed.inc({ reason: s.reason });
    for (const signal of out.signals) {
      const checked = signalSchema.safeParse(signal);
      if (checked.success) signals.push(signSignal(checked.data, this.options.signalKey, this.options.shard));
      else {
        // A bug in the core, never a market condition: do not publish, and make it loud.
        this.metrics.suppressed.inc({ reason: 'invalid' });
        this.log.error({ signal, issues: checked.error.issues }, 'core produced a signal that fails signalSchema');
      }
    }
  }

  private async publish(signals: Signal[]): Promise<void> {
    const pipeline = this.writer!.pipeline();
    for (const signal of signals) {
      const data = JSON.stringify(signal);
      if (this.maxLen > 0) pipeline.xadd(this.signalsKey, 'MAXLEN', '~', this.maxLen, '*', MESSAGE_FIELD, data);
      else pipeline.xadd(this.signalsKey, '*', MESSAGE_FIELD, data);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      results = signals.map(() => [error as Error, null]);
    }
    for (let i = 0; i < signals.length; i++) {
      const error = results?.[i]?.[0] ?? (results ? null : new Error('pipeline discarded'));
      const signal = signals[i]!;
      if (error) {
        // Lost, not retried: the books that made it are moving on, and spam control lets the
        // next evaluation re-emit it after cooldownMs (or sooner if the edge moves).
        this.metrics.redisErrors.inc({ operation: 'xadd' });
        this.log.warn({ err: error.message, id: signal.id }, 'publishing a signal failed');
        continue;
      }
      this.metrics.signals.inc({ kind: signal.kind });
      this.stats_.signals++;
      this.log.info(
        {
          id: signal.id,
          kind: signal.kind,
          market: signal.marketId,
          edgeBps: signal.edgeBps,
          profit: signal.expectedProfit,
          legs: signal.legs,
        },
        'signal',
      );
    }
  }
}
