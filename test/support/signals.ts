// The signal key of the tests and benches, and signals signed with it as the detector signs them
// (contracts/signal-auth.ts): the executor trades nothing else.
import type { Redis } from 'ioredis';
import { streamKeys, venues, type Quote, type Signal } from '../../contracts/messages.js';
import { signalKeyEnv, type ShardConfig } from '../../contracts/shard-config.js';
import { signSignal } from '../../contracts/signal-auth.js';

export const testSignalKey = 'arbees-test-signal-key-0123456789abcdef';

/** The environment that gives a detector or an executor the test key. */
export const signalKeyVars: NodeJS.ProcessEnv = { [signalKeyEnv]: testSignalKey };

/** The JSON the detector would publish for `signal` in `shard`'s stream. */
export function signedJson(signal: Signal, shard: string, key = testSignalKey): string {
  return JSON.stringify(signSignal(signal, key, shard));
}

/** XADDs `signal`, signed, to the shard's signals stream, as the detector does. */
export function xaddSignal(redis: Pick<Redis, 'xadd'>, shard: string, signal: Signal): Promise<string | null> {
  return redis.xadd(streamKeys.signals(shard), '*', 'data', signedJson(signal, shard));
}

export type BookSide = Pick<Quote, 'venue' | 'marketId' | 'outcome' | 'asks' | 'bids'>;

/** Every book (both venues, both outcomes) of `marketId` offering `size` at `ask` and nothing bid. */
export function askingBooks(marketId: string, ask: number, size = 100_000_000): BookSide[] {
  return venues.flatMap((venue) =>
    (['yes', 'no'] as const).map((outcome) => ({ venue, marketId, outcome, asks: [[ask, size]], bids: [] })),
  );
}

/**
 * Publishes `books` to the shard's quotes stream now and every `everyMs` with fresh timestamps, as
 * a monitor does, so that an executor's own view of the books supports the tests' signals (it
 * refuses a signal whose limits its books do not support). Errors (Redis down) are ignored.
 */
export function keepBooks(redis: Pick<Redis, 'xadd'>, shard: string, books: BookSide[], everyMs = 500): { stop(): Promise<void> } {
  let seq = 0;
  let running = true;
  const publish = async () => {
    const now = Date.now();
    for (const book of books) {
      const quote: Quote = { ...book, seq: ++seq, exchangeTs: now, receivedTs: now, stale: false };
      await redis.xadd(streamKeys.quotes(shard), 'MAXLEN', '~', 1_000, '*', 'quote', JSON.stringify(quote)).catch(() => undefined);
    }
  };
  const loop = (async () => {
    while (running) {
      await publish();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** A two-legged arbitrage signal on market m0 as the detector writes it (unsigned), with `over` on top. */
export function exampleSignal(over: Partial<Signal> = {}): Signal {
  return {
    id: 'arbitrage:m0:kalshi_yes+polymarket_no:0123456789abcdef',
    kind: 'arbitrage',
    marketId: 'm0',
    legs: [
      { venue: 'kalshi', outcome: 'yes', side: 'buy', limitPrice: 4_000, size: 1_000 },
      { venue: 'polymarket', outcome: 'no', side: 'buy', limitPrice: 5_500, size: 1_000 },
    ],
    edgeBps: 300,
    expectedProfit: 300,
    quoteAgesMs: [10, 20],
    createdTs: 1_700_000_000_000,
    ...over,
  };
}

/** A paper shard of one market (m0) with unreachable venues and roomy limits. */
export function paperShard(shard: string, paused?: boolean): ShardConfig {
  return {
    shard,
    ...(paused === undefined ? {} : { paused }),
    markets: [{ id: 'm0', sport: 'nba', game: 'g0', kalshi: { ticker: 'KXNBAGAME-M0' }, polymarket: { yesTokenId: '1', noTokenId: '2' } }],
    venues: {
      kalshi: { environment: 'demo', restUrl: 'http://127.0.0.1:1/trade-api/v2', wsUrl: 'ws://127.0.0.1:1/trade-api/ws/v2' },
      polymarket: { clobUrl: 'http://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1', gammaUrl: 'http://127.0.0.1:1' },
    },
    detector: { minEdgeBps: 100, maxQuoteAgeMs: 5_000, cooldownMs: 0 },
    executor: {
      mode: 'paper',
      bankrollUsd: 1_000,
      limits: { perGameUsd: 500, perSportUsd: 500, dailyLossUsd: 500, maxOpenPositions: 10, maxOrderUsd: 500 },
    },
  };
}
