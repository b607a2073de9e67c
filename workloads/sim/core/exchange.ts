// The simulated exchange both venue simulators are built on: the scenario engine, its clock and
// the driver that feeds the venue its events; faults (outage, rate limiting, slow responses,
// dropped sockets); the market resolution schedule; the HTTP + WebSocket server, its open
// connections and timers; and the handle tests, the CLI and the demo hold. A venue plugs in how its
// markets react to the scenario, its REST and WebSocket handlers and its wire format.
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { PRICE_ONE } from '../book.js';
import { ScenarioDriver, SimClock } from '../clock.js';
import { closeServer, HttpError, JsonReply, listen, refuseUpgrade, sendJson, sleep, splitUrl } from '../http.js';
import { ScenarioEngine, type ArbTruth, type LevelSet, type Scenario, type SimEvent, type Venue } from '../scenario.js';

export interface ExchangeOptions {
  scenario: Scenario;
  seed?: number | string;
  messageRate?: number;
  /** Simulated seconds per real second. */
  speed?: number;
  /** Simulated epoch ms at scenario t = 0 (default: now). */
  startMs?: number;
  host?: string;
  port?: number;
  /** Start the scenario clock immediately (default true). */
  autoStart?: boolean;
  logger?: Logger;
}

export interface ExchangeHandle {
  url: string;
  wsUrl: string;
  host: string;
  port: number;
  engine: ScenarioEngine;
  clock: SimClock;
  groundTruth(): ArbTruth[];
  /** Freezes the scenario (no new events) / resumes it. */
  pause(): void;
  resume(): void;
  /** Applies due events now (also runs on a timer). */
  tick(): number;
  stop(): Promise<void>;
}

/** How a venue's markets react to the scenario's events for that venue. */
export interface MarketHooks {
  /** The scenario's liquidity changed at these levels. */
  book(marketId: string, levels: LevelSet[]): void;
  /** A scenario taker trades `size` up to `limit` (the whole ladder). */
  trade(marketId: string, takerSide: 'buy' | 'sell', limit: number, size: number): void;
  tickSize?(marketId: string, tickSize: '0.01' | '0.001'): void;
  /** The game is over: trading stops, the winner is known. */
  determine(marketId: string, winner: 'yes' | 'no'): void;
  /** The market pays out. */
  settle(marketId: string): void;
  /** A seqGap fault starts: the next sequence number is skipped (venues without them leave it out). */
  seqGap?(): void;
  /** After each batch of events: sends what the batch queued. */
  flush?(): void;
}

/** A REST request as a venue's handlers see it. */
export interface SimRequest {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
}

export interface VenueServer<C> {
  markets: MarketHooks;
  /** Answers a REST request: a 200 with the returned body, a JsonReply, or a thrown HttpError. */
  rest(request: SimRequest): Promise<unknown>;
  /** Vets a WebSocket upgrade: returns how to set up the connection, or throws HttpError to refuse. */
  upgrade(req: IncomingMessage, path: string): (ws: WebSocket) => C;
  /** Set false when the venue answers WebSocket pings itself. */
  autoPong?: boolean;
  /** Where REST and the WebSocket live on the server (the handle's url and wsUrl). */
  restPath: string;
  wsPath: string;
  /** An error the venue answers without a handler expecting it (e.g. a body that is not JSON). */
  expectedError?(error: unknown): HttpError | undefined;
  /** The body of a 500 for anything else (which is also logged). */
  internalError: unknown;
  /** Fields for the log line that says the simulator is listening. */
  describe: Record<string, unknown>;
}

/** One tick of $0.01: a scenario taker sweeps every price from here to $1 minus here. */
const SWEEP = 100;

export class SimExchange<C extends { ws: WebSocket }> {
  readonly engine: ScenarioEngine;
  readonly clock: SimClock;
  readonly log: Logger | undefined;
  /** Open WebSocket connections. */
  readonly connections = new Set<C>();
  private readonly faults = { outage: false, rateLimited: false, slowMs: 0 };
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly venue: Venue,
    private readonly options: ExchangeOptions,
  ) {
    this.engine = new ScenarioEngine(options.scenario, { seed: options.seed, messageRate: options.messageRate });
    this.clock = new SimClock({ speed: options.speed ?? 1, startMs: options.startMs });
    this.log = options.logger;
  }

  /** A disconnect fault with a duration is on: REST answers 503 and upgrades are refused. */
  get outage(): boolean {
    return this.faults.outage;
  }

  get rateLimited(): boolean {
    return this.faults.rateLimited;
  }

  /** The latency a slow fault adds to each REST response. */
  async slowdown(): Promise<void> {
    if (this.faults.slowMs > 0) await sleep(this.faults.slowMs);
  }

  /** Runs `fn` every `intervalMs` of real time until the exchange stops. */
  every(intervalMs: number, fn: () => void): void {
    const timer = setInterval(fn, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  async start(venue: VenueServer<C>): Promise<ExchangeHandle> {
    const driver = new ScenarioDriver(this.engine, this.clock, (events) => this.apply(events, venue.markets));
    const wss = new WebSocketServer({ noServer: true, ...(venue.autoPong === undefined ? {} : { autoPong: venue.autoPong }) });
    const server = createServer((req, res) => {
      this.answer(req, venue)
        .then((out) => (out instanceof JsonReply ? sendJson(res, out.status, out.body) : sendJson(res, 200, out)))
        .catch((error: unknown) => {
          if (res.headersSent) return;
          const known = error instanceof HttpError ? error : venue.expectedError?.(error);
          if (known) return sendJson(res, known.status, known.body);
          this.log?.error({ err: error }, `${this.venue} sim request failed`);
          sendJson(res, 500, venue.internalError);
        });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      let open: (ws: WebSocket) => C;
      try {
        open = venue.upgrade(req, splitUrl(req).path);
      } catch (error) {
        if (error instanceof HttpError) return refuseUpgrade(socket, error.status, STATUS_CODES[error.status] ?? '', error.body);
        this.log?.error({ err: error }, `${this.venue} sim upgrade failed`);
        return socket.destroy();
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = open(ws);
        this.connections.add(conn);
        ws.on('close', () => this.connections.delete(conn));
        ws.on('error', () => this.connections.delete(conn));
      });
    });

    const host = this.options.host ?? '127.0.0.1';
    const port = await listen(server, host, this.options.port ?? 0);
    if (this.options.autoStart !== false) driver.start();
    const urlHost = host.includes(':') ? `[${host}]` : host;
    this.log?.info({ host, port, ...venue.describe }, `${this.venue} simulator listening`);
    return {
      url: `http://${urlHost}:${port}${venue.restPath}`,
      wsUrl: `ws://${urlHost}:${port}${venue.wsPath}`,
      host,
      port,
      engine: this.engine,
      clock: this.clock,
      groundTruth: () => this.engine.groundTruth(),
      pause: () => this.clock.pause(),
      resume: () => {
        this.clock.resume();
        driver.start();
      },
      tick: () => driver.tick(),
      stop: async () => {
        driver.stop();
        for (const timer of this.timers) clearInterval(timer);
        for (const conn of this.connections) conn.ws.terminate();
        wss.close();
        await closeServer(server);
      },
    };
  }

  private async answer(req: IncomingMessage, venue: VenueServer<C>): Promise<unknown> {
    const { path, query } = splitUrl(req);
    return venue.rest({ req, method: req.method ?? 'GET', path, query });
  }

  private apply(events: SimEvent[], markets: MarketHooks): void {
    for (const event of events) {
      if (event.venue !== this.venue) continue;
      switch (event.kind) {
        case 'book':
          markets.book(event.marketId, event.levels);
          break;
        case 'trade':
          markets.trade(event.marketId, event.takerSide, event.takerSide === 'buy' ? PRICE_ONE - SWEEP : SWEEP, event.size);
          break;
        case 'tickSize':
          markets.tickSize?.(event.marketId, event.tickSize);
          break;
        case 'fault':
          this.fault(event, markets);
          break;
        case 'arbitrage':
          this.log?.info({ window: event.windowId, market: event.marketId, phase: event.phase }, 'arbitrage window');
          break;
        case 'resolution':
          if (event.phase === 'determined') markets.determine(event.marketId, event.winner);
          else markets.settle(event.marketId);
          break;
      }
    }
    markets.flush?.();
  }

  private fault(event: Extract<SimEvent, { kind: 'fault' }>, markets: MarketHooks): void {
    this.log?.warn({ fault: event.fault, phase: event.phase }, `${this.venue} fault`);
    const on = event.phase === 'start';
    switch (event.fault) {
      case 'disconnect':
        if (on) for (const conn of this.connections) conn.ws.terminate();
        this.faults.outage = on && event.durationMs > 0;
        break;
      case 'seqGap':
        if (on) markets.seqGap?.();
        break;
      case 'rateLimit':
        this.faults.rateLimited = on;
        break;
      case 'slow':
        this.faults.slowMs = on ? event.delayMs : 0;
        break;
      case 'staleBook':
        break; // the engine emits nothing for this venue during the window
    }
  }
}
