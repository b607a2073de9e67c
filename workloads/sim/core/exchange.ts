// The simulated exchange both venue simulators are built on: the scenario engine, its clock and
// the driver that feeds the venue its events; faults (outage, rate limiting, slow responses,
// dropped sockets); the market resolution schedule; the HTTP + WebSocket server, its open
// connections and timers; and the handle tests, the CLI and the demo hold. A venue plugs in how its
// markets react to the scenario, its REST and WebSocket handlers and its wire format (venue.ts).
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { PRICE_ONE, type LevelChange } from '../book.js';
import { ScenarioDriver, SimClock } from '../clock.js';
import { listen } from '../../../lib/listen.js';
import { HttpError, JsonReply, refuseUpgrade, sendJson, sleep, splitUrl } from '../http.js';
import { ScenarioEngine, type ArbTruth, type SimEvent } from '../engine.js';
import type { Scenario, Venue } from '../scenario.js';
import type { BookHolder, Schedule, VenueFeed, VenueRest, VenueScenario, VenueServer } from './venue.js';

export interface ExchangeOptions {
  scenario: Scenario;
  seed?: number | string;
  messageRate?: number;
  /** Simulated seconds per real second. */
  speed?: number;
  /** Simulated epoch ms at scenario t = 0 (default: now). */
  startMs?: number;
  /** Stamp messages with the wall clock, pauses included (speed 1): see SimClock. */
  wallStamps?: boolean;
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
  /**
   * Applies every event up to `simMs` of scenario time now (paused, a test sets two venues to the
   * same instant, which their own clocks, started apart, never are).
   */
  runTo(simMs: number): number;
  stop(): Promise<void>;
}

/** One tick of $0.01: a scenario taker sweeps every price from here to $1 minus here. */
const SWEEP = 100;

export class SimExchange<C extends { ws: WebSocket }> {
  readonly engine: ScenarioEngine;
  readonly clock: SimClock;
  readonly log: Logger | undefined;
  readonly schedule: Schedule;
  /** Open WebSocket connections. */
  readonly connections = new Set<C>();
  private readonly faults = { outage: false, rateLimited: false, slowMs: 0 };
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly venue: Venue,
    private readonly options: ExchangeOptions,
  ) {
    this.engine = new ScenarioEngine(options.scenario, { seed: options.seed, messageRate: options.messageRate });
    this.clock = new SimClock({ speed: options.speed ?? 1, startMs: options.startMs, wallStamps: options.wallStamps });
    this.log = options.logger;
    this.schedule = { startMs: this.clock.startMs, durationMs: this.engine.scenario.duration };
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

  async start<M extends BookHolder>(venue: VenueServer<C, M>): Promise<ExchangeHandle> {
    const driver = new ScenarioDriver(this.engine, this.clock, (events) => this.apply(events, venue.scenario));
    const wss = new WebSocketServer({ noServer: true, autoPong: venue.socket.autoPong ?? true });
    const server = createServer((req, res) => {
      this.answer(req, venue.rest)
        .then((out) => (out instanceof JsonReply ? sendJson(res, out.status, out.body) : sendJson(res, 200, out)))
        .catch((error: unknown) => {
          if (res.headersSent) return;
          const known = error instanceof HttpError ? error : venue.rest.expectedError?.(error);
          if (known) return sendJson(res, known.status, known.body);
          this.log?.error({ err: error }, `${this.venue} sim request failed`);
          sendJson(res, 500, venue.rest.internalError);
        });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      let open: (ws: WebSocket) => C;
      try {
        open = venue.socket.upgrade(req, splitUrl(req).path);
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
    const listening = await listen(server, this.options.port ?? 0, host);
    const port = listening.port;
    if (this.options.autoStart !== false) driver.start();
    const urlHost = host.includes(':') ? `[${host}]` : host;
    this.log?.info({ host, port, ...venue.describe }, `${this.venue} simulator listening`);
    return {
      url: `http://${urlHost}:${port}${venue.rest.path}`,
      wsUrl: `ws://${urlHost}:${port}${venue.socket.path}`,
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
      runTo: (simMs) => driver.runTo(simMs),
      stop: async () => {
        driver.stop();
        for (const timer of this.timers) clearInterval(timer);
        for (const conn of this.connections) conn.ws.terminate();
        wss.close();
        await listening.close();
      },
    };
  }

  private async answer(req: IncomingMessage, rest: VenueRest): Promise<unknown> {
    const { path, query } = splitUrl(req);
    return rest.handle({ req, method: req.method ?? 'GET', path, query });
  }

  private apply<M extends BookHolder>(events: SimEvent[], { markets, feed, trading, settlement }: VenueScenario<M>): void {
    // A tick's book events go out as one batch of changes per market, as a venue batches a matching
    // cycle's changes (Polymarket: one price_change with every change, one book hash after them).
    // Any other event first sends what is pending, so trades, faults and resolutions keep their order.
    const pending = new Map<M, LevelChange[]>();
    const sendPending = () => {
      for (const [m, changes] of pending) feed.changes(m, changes);
      pending.clear();
    };
    for (const event of events) {
      if (event.venue !== this.venue) continue;
      if (event.kind !== 'book') sendPending();
      switch (event.kind) {
        case 'book': {
          const m = markets.market(event.marketId);
          const changes = m.book.setLevels(event.levels);
          const batch = pending.get(m);
          if (batch) batch.push(...changes);
          else pending.set(m, changes);
          break;
        }
        case 'trade':
          trading.scenarioTrade(
            markets.market(event.marketId),
            event.takerSide,
            event.takerSide === 'buy' ? PRICE_ONE - SWEEP : SWEEP,
            event.size,
          );
          break;
        case 'tickSize':
          feed.tickChange?.(markets.market(event.marketId), event.tickSize);
          break;
        case 'fault':
          this.fault(event, feed);
          break;
        case 'arbitrage':
          this.log?.info({ window: event.windowId, market: event.marketId, phase: event.phase }, 'arbitrage window');
          break;
        case 'resolution':
          if (event.phase === 'determined') trading.determine(markets.market(event.marketId), event.winner);
          else settlement.settle(markets.market(event.marketId));
          break;
      }
    }
    sendPending();
    feed.flush?.();
  }

  private fault<M>(event: Extract<SimEvent, { kind: 'fault' }>, feed: VenueFeed<M>): void {
    this.log?.warn({ fault: event.fault, phase: event.phase }, `${this.venue} fault`);
    const on = event.phase === 'start';
    switch (event.fault) {
      case 'disconnect':
        if (on) for (const conn of this.connections) conn.ws.terminate();
        this.faults.outage = on && event.durationMs > 0;
        break;
      case 'seqGap':
        if (on) feed.seqGap?.();
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
