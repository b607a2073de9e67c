// Quotes from the simulators' scenario engine, produced the way a monitor would: each venue's book
// is rebuilt exactly as its simulator keeps it (LadderBook: scenario liquidity set by `book`
// events, consumed by `trade` events), and every change is published as one full top-N quote per
// outcome (YES: the YES ladder; NO: its mirror at 1 − p, as Kalshi's NO bids and Polymarket's NO
// token show it). Connection faults are handled like a monitor: on a disconnect the venue's books
// are flagged stale and nothing is published until the venue is back, then a fresh snapshot with
// a restarted seq; a seq gap forces a resync snapshot; a book that has not changed for
// `staleAfterMs` is flagged stale (what a monitor does when its feed goes quiet).
import { LadderBook } from '../../workloads/sim/book.js';
import { ScenarioEngine, type SimEvent } from '../../workloads/sim/engine.js';
import type { Outcome, Quote, Venue } from '../../contracts/messages.js';

const PRICE_ONE = 10_000;
const SCENARIO_OWNER = '__scenario__';
const VENUES: readonly Venue[] = ['kalshi', 'polymarket'];
const OUTCOMES: readonly Outcome[] = ['yes', 'no'];

export interface TimedQuote {
  /** Simulated ms since the scenario started. */
  t: number;
  quote: Quote;
}

export interface ScenarioQuotesOptions {
  /** Epoch ms of the scenario's t = 0. */
  startMs: number;
  /** Levels per side in a quote (default 10). */
  levels?: number;
  /** Flag a book stale after this long without a change (default 5000 ms). */
  staleAfterMs?: number;
  /** Called after every change of a venue's true book, published or not (e.g. during an outage). */
  onChange?: (t: number, venue: Venue, marketId: string) => void;
}

interface BookState {
  venue: Venue;
  marketId: string;
  book: LadderBook;
  /** Last published content per outcome (JSON of bids+asks+stale) to publish changes only. */
  last: Record<Outcome, string | undefined>;
  lastChangeT: number;
  stale: boolean;
}

export class ScenarioQuotes {
  readonly engine: ScenarioEngine;
  private readonly startMs: number;
  private readonly levels: number;
  private readonly staleAfterMs: number;
  private readonly onChange: ScenarioQuotesOptions['onChange'];
  private readonly books = new Map<string, BookState>();
  private readonly seq: Record<Venue, number> = { kalshi: 0, polymarket: 0 };
  private readonly down: Record<Venue, boolean> = { kalshi: false, polymarket: false };
  private started = false;
  /** Every quote produced so far, in order. */
  readonly produced: TimedQuote[] = [];

  constructor(engine: ScenarioEngine, options: ScenarioQuotesOptions) {
    this.engine = engine;
    this.startMs = options.startMs;
    this.levels = options.levels ?? 10;
    this.staleAfterMs = options.staleAfterMs ?? 5_000;
    this.onChange = options.onChange;
    for (const market of engine.markets) {
      for (const venue of VENUES) {
        const book = new LadderBook();
        for (const level of engine.initialLevels(venue, market.id)) book.setMm(level.side, level.price, level.size);
        this.books.set(key(venue, market.id), {
          venue,
          marketId: market.id,
          book,
          last: { yes: undefined, no: undefined },
          lastChangeT: 0,
          stale: false,
        });
      }
    }
  }

  /** Quotes for every event with t ≤ `t` (the first call also yields the initial snapshots). */
  advanceTo(t: number): TimedQuote[] {
    const out: TimedQuote[] = [];
    if (!this.started) {
      this.started = true;
      for (const state of this.books.values()) this.publish(state, 0, out, true);
    }
    for (const event of this.engine.advanceTo(t)) this.apply(event, out);
    // A monitor's quiet-feed check runs on its own timer, not on events.
    for (const state of this.books.values()) {
      if (!state.stale && !this.down[state.venue] && t - state.lastChangeT > this.staleAfterMs) {
        state.stale = true;
        this.publish(state, t, out, true);
      }
    }
    this.produced.push(...out);
    return out;
  }

  /** Every remaining quote until the scenario ends. */
  drain(stepMs = 250): TimedQuote[] {
    const out: TimedQuote[] = [];
    for (let t = 0; ; t += stepMs) {
      out.push(...this.advanceTo(t));
      if (this.engine.peekTime() === undefined) break;
    }
    return out;
  }

  /** The venue's true asks for an outcome now (NO asks mirror the YES bids), whatever was published. */
  trueAsks(venue: Venue, marketId: string, outcome: Outcome): Array<[number, number]> {
    const book = this.books.get(key(venue, marketId))!.book;
    return outcome === 'yes'
      ? book.levels('ask')
      : book
          .levels('bid')
          .reverse()
          .map(([p, s]) => [PRICE_ONE - p, s]);
  }

  /** Epoch ms of simulated time t. */
  at(t: number): number {
    return Math.floor(this.startMs + t);
  }

  private apply(event: SimEvent, out: TimedQuote[]): void {
    switch (event.kind) {
      case 'book': {
        const state = this.books.get(key(event.venue, event.marketId))!;
        for (const level of event.levels) state.book.setMm(level.side, level.price, level.size);
        this.changed(state, event.t, out);
        break;
      }
      case 'trade': {
        // As the simulators do: a marketable taker order against the scenario's liquidity.
        const state = this.books.get(key(event.venue, event.marketId))!;
        const buy = event.takerSide === 'buy';
        state.book.match(
          buy ? 'buy' : 'sell',
          buy ? PRICE_ONE - 100 : 100,
          event.size,
          SCENARIO_OWNER,
          event.venue === 'kalshi' ? 'taker_at_cross' : 'maker',
        );
        this.changed(state, event.t, out);
        break;
      }
      case 'fault': {
        const venue = event.venue;
        if (event.fault === 'disconnect') {
          if (event.phase === 'start') {
            // The socket drops: every book of the venue is unknown from now on.
            for (const state of this.venueBooks(venue)) {
              state.stale = true;
              this.publish(state, event.t, out, true);
            }
            this.down[venue] = event.durationMs > 0;
            if (event.durationMs === 0) this.resync(venue, event.t, out);
          } else {
            this.down[venue] = false;
            this.resync(venue, event.t, out);
          }
        } else if (event.fault === 'seqGap' && event.phase === 'start') {
          this.resync(venue, event.t, out);
        }
        // staleBook: the engine emits nothing, the quiet-feed check flags it; rateLimit/slow: REST only.
        break;
      }
      default:
        break;
    }
  }

  /** A new connection: seq restarts, and every book is published from a fresh snapshot. */
  private resync(venue: Venue, t: number, out: TimedQuote[]): void {
    if (this.down[venue]) return;
    this.seq[venue] = 0;
    for (const state of this.venueBooks(venue)) {
      state.stale = false;
      state.lastChangeT = t;
      this.publish(state, t, out, true);
    }
  }

  private changed(state: BookState, t: number, out: TimedQuote[]): void {
    this.onChange?.(t, state.venue, state.marketId);
    if (this.down[state.venue]) return;
    state.lastChangeT = t;
    state.stale = false;
    this.publish(state, t, out, false);
  }

  private venueBooks(venue: Venue): BookState[] {
    return [...this.books.values()].filter((s) => s.venue === venue);
  }

  private publish(state: BookState, t: number, out: TimedQuote[], always: boolean): void {
    const bids = state.book.levels('bid').reverse(); // YES bids, best (highest) first
    const asks = state.book.levels('ask'); // YES asks, best (lowest) first
    const sides: Record<Outcome, { bids: Array<[number, number]>; asks: Array<[number, number]> }> = {
      yes: { bids: bids.slice(0, this.levels), asks: asks.slice(0, this.levels) },
      no: {
        bids: asks.slice(0, this.levels).map(([p, s]) => [PRICE_ONE - p, s]),
        asks: bids.slice(0, this.levels).map(([p, s]) => [PRICE_ONE - p, s]),
      },
    };
    const ts = this.at(t);
    for (const outcome of OUTCOMES) {
      const content = JSON.stringify([sides[outcome], state.stale]);
      if (!always && content === state.last[outcome]) continue;
      state.last[outcome] = content;
      const quote: Quote = {
        venue: state.venue,
        marketId: state.marketId,
        outcome,
        bids: sides[outcome].bids,
        asks: sides[outcome].asks,
        seq: ++this.seq[state.venue],
        exchangeTs: ts,
        receivedTs: ts,
        stale: state.stale,
      };
      out.push({ t, quote });
    }
  }
}

function key(venue: Venue, marketId: string): string {
  return `${venue}\u0000${marketId}`;
}
