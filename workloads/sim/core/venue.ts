// What a venue plugs into the simulated exchange (exchange.ts), by role: how its markets play
// the scenario (feed, trading, settlement), its REST API and its WebSocket. `M` is the venue's
// market: the exchange applies the scenario's liquidity to its book, the venue publishes it.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { LadderBook, LevelChange } from '../book.js';
import type { HttpError } from '../http.js';
import type { Params } from './routes.js';
import type { TickSize } from '../scenario.js';

/** A venue's market: whatever else it holds, it has the book the scenario moves. */
export interface BookHolder {
  book: LadderBook;
}

export interface VenueMarkets<M extends BookHolder> {
  /** The venue's market for a scenario market id. */
  market(marketId: string): M;
}

/** What the venue's subscribers hear of the scenario. */
export interface VenueFeed<M> {
  /** Levels of the market's book changed. */
  changes(m: M, changes: LevelChange[]): void;
  tickChange?(m: M, tickSize: TickSize): void;
  /** A seqGap fault starts: the next sequence number is skipped (venues without them leave it out). */
  seqGap?(): void;
  /** After each batch of events: sends what the batch queued. */
  flush?(): void;
}

export interface VenueTrading<M> {
  /** A scenario taker trades `size` up to `limit` (the whole ladder). */
  scenarioTrade(m: M, takerSide: 'buy' | 'sell', limit: number, size: number): void;
  /** The game is over: trading stops, the winner is known. */
  determine(m: M, winner: 'yes' | 'no'): void;
}

export interface VenueSettlement<M> {
  /** The market pays out (Kalshi settles; Polymarket's oracle resolves it). */
  settle(m: M): void;
}

/** A REST request as a venue's handlers see it. */
export interface SimRequest {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
}

/** A request matched in a route table, with the pattern's parameters. */
export type RoutedRequest = SimRequest & { params: Params };

/** Who plays the scenario's events on the venue. */
export interface VenueScenario<M extends BookHolder> {
  markets: VenueMarkets<M>;
  feed: VenueFeed<M>;
  trading: VenueTrading<M>;
  settlement: VenueSettlement<M>;
}

export interface VenueRest {
  /** Where the API lives on the server ('' for the root): the handle's url. */
  readonly path: string;
  /** Answers a REST request: a 200 with the returned body, a JsonReply, or a thrown HttpError. */
  handle(request: SimRequest): Promise<unknown>;
  /** An error the venue answers although no handler threw it as an HttpError (e.g. a body that is not JSON). */
  expectedError?(error: unknown): HttpError | undefined;
  /** The body of a 500 for anything else (which is also logged). */
  readonly internalError: unknown;
}

export interface VenueSocket<C> {
  /** The WebSocket's path: the handle's wsUrl. */
  readonly path: string;
  /** false when the venue answers WebSocket pings itself. */
  readonly autoPong?: boolean;
  /** Vets a WebSocket upgrade: returns how to set up the connection, or throws HttpError to refuse. */
  upgrade(req: IncomingMessage, path: string): (ws: WebSocket) => C;
}

export interface VenueServer<C, M extends BookHolder> {
  scenario: VenueScenario<M>;
  rest: VenueRest;
  socket: VenueSocket<C>;
  /** Fields for the log line that says the simulator is listening. */
  describe: Record<string, unknown>;
}

/** When the scenario runs: its start (simulated epoch ms) and length; market times derive from them. */
export interface Schedule {
  startMs: number;
  durationMs: number;
}
