// Kalshi's WebSocket endpoint: the signed handshake, the commands (subscribe, unsubscribe,
// update_subscription, list_subscriptions) answered with Kalshi's numbered errors, and the
// heartbeat: a ping every interval, and a socket that stops answering them is dropped.
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { SimExchange } from '../core/exchange.js';
import type { VenueSocket } from '../core/venue.js';
import { HttpError } from '../http.js';
import type { KalshiAuthenticator } from './auth.js';
import { CHANNELS, covers, type Channel, type Conn, type KalshiFeed, type Sub } from './feed.js';
import type { KalshiState } from './state.js';
import { errorBody, UNAVAILABLE } from './wire.js';

export const KALSHI_WS_PATH = '/trade-api/ws/v2';

const ERR = {
  1: 'Unable to process message',
  2: 'Params required',
  3: 'Channels required',
  4: 'Subscription IDs required',
  5: 'Unknown command',
  7: 'Unknown subscription ID',
  8: 'Unknown channel name',
  11: 'Invalid parameter',
  12: 'Exactly one subscription ID is required',
  13: 'Unsupported action',
  14: 'Market Ticker required',
  15: 'Action required',
  16: 'Market not found',
} as const;
type ErrorCode = keyof typeof ERR;

type Params = Record<string, unknown>;

export interface Heartbeat {
  /** Default 10 s. */
  pingIntervalMs?: number;
  /** Close a socket that has not answered pings for this long (default 30 s). */
  pongTimeoutMs?: number;
}

export class KalshiSocket implements VenueSocket<Conn> {
  readonly path = KALSHI_WS_PATH;
  /** Pings are answered in `open`. */
  readonly autoPong = false;

  constructor(
    private readonly exchange: SimExchange<Conn>,
    private readonly state: KalshiState,
    private readonly feed: KalshiFeed,
    private readonly auth: KalshiAuthenticator,
    { pingIntervalMs = 10_000, pongTimeoutMs = 30_000 }: Heartbeat,
  ) {
    exchange.every(pingIntervalMs, () => {
      for (const conn of exchange.connections) {
        if (Date.now() - conn.lastPong > pongTimeoutMs) {
          conn.ws.terminate();
          continue;
        }
        if (conn.ws.readyState === WebSocket.OPEN) conn.ws.ping('heartbeat');
      }
    });
  }

  /** The handshake: the path, an outage, then the signature over GET and the path. */
  upgrade(req: IncomingMessage, path: string): (ws: WebSocket) => Conn {
    if (path !== KALSHI_WS_PATH) throw new HttpError(404, errorBody('not_found', 'not found', path));
    if (this.exchange.outage) throw new HttpError(503, UNAVAILABLE);
    const result = this.auth.verify(req.headers, 'GET', path);
    if (!result.ok) throw new HttpError(401, errorBody('authentication_error', 'authentication error', result.details));
    return (ws) => this.open(ws, result.keyId);
  }

  private open(ws: WebSocket, keyId: string): Conn {
    const conn: Conn = { ws, keyId, subs: new Map(), nextSid: 1, lastPong: Date.now() };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.command(conn, data.toString('utf8'));
    });
    ws.on('pong', () => (conn.lastPong = Date.now()));
    ws.on('ping', () => ws.pong());
    return conn;
  }

  private command(conn: Conn, text: string): void {
    let command: Params;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      command = parsed as Params;
    } catch {
      return this.error(conn, undefined, 1);
    }
    const id = command.id;
    const params = (typeof command.params === 'object' && command.params !== null ? command.params : undefined) as Params | undefined;
    switch (command.cmd) {
      case 'subscribe':
        return this.subscribe(conn, id, params);
      case 'unsubscribe':
        return this.unsubscribe(conn, id, params);
      case 'update_subscription':
        return this.update(conn, id, params);
      case 'list_subscriptions':
        return this.feed.send(conn, { id, type: 'ok', msg: [...conn.subs.values()].map((s) => ({ channel: s.channel, sid: s.sid })) });
      default:
        return this.error(conn, id, 5);
    }
  }

  private subscribe(conn: Conn, id: unknown, params: Params | undefined): void {
    if (!params) return this.error(conn, id, 2);
    const channels = params.channels;
    if (!Array.isArray(channels) || channels.length === 0) return this.error(conn, id, 3);
    const unknown: unknown = (channels as unknown[]).find((c) => !CHANNELS.includes(c as Channel));
    if (unknown !== undefined) return this.error(conn, id, 8);
    const tickers = tickersOf(params);
    if (tickers && !this.known(conn, id, tickers)) return;
    if (channels.includes('orderbook_delta') && !tickers?.length) return this.error(conn, id, 14);
    for (const channel of channels as Channel[]) {
      const sub: Sub = {
        sid: conn.nextSid++,
        channel,
        tickers: tickers ? new Set(tickers) : null,
        seq: 0,
        skipPending: false,
        useYesPrice: params.use_yes_price === true,
      };
      conn.subs.set(sub.sid, sub);
      this.feed.send(conn, { id, type: 'subscribed', msg: { channel, sid: sub.sid } });
      if (channel === 'orderbook_delta') for (const t of tickers!) this.feed.snapshot(conn, sub, this.state.markets.get(t)!);
      if (channel === 'ticker' && params.send_initial_snapshot === true) {
        for (const m of this.state.markets.values()) if (covers(sub, m.sim.kalshiTicker)) this.feed.tickerSnapshot(conn, sub, m);
      }
    }
  }

  private unsubscribe(conn: Conn, id: unknown, params: Params | undefined): void {
    const sids = params?.sids;
    if (!Array.isArray(sids) || sids.length === 0) return this.error(conn, id, 4);
    for (const sid of sids) {
      const sub = conn.subs.get(Number(sid));
      if (!sub) {
        this.error(conn, id, 7);
        continue;
      }
      conn.subs.delete(sub.sid);
      this.feed.send(conn, { id, sid: sub.sid, ...(sub.channel === 'orderbook_delta' ? { seq: sub.seq } : {}), type: 'unsubscribed' });
    }
  }

  /** add_markets / delete_markets change one subscription's markets; get_snapshot resends its books. */
  private update(conn: Conn, id: unknown, params: Params | undefined): void {
    if (!params) return this.error(conn, id, 2);
    const sids = Array.isArray(params.sids) ? params.sids : typeof params.sid === 'number' ? [params.sid] : [];
    if (sids.length !== 1) return this.error(conn, id, 12);
    const sub = conn.subs.get(Number(sids[0]));
    if (!sub) return this.error(conn, id, 7);
    const action = params.action;
    if (action === undefined) return this.error(conn, id, 15);
    if (action !== 'add_markets' && action !== 'delete_markets' && action !== 'get_snapshot') return this.error(conn, id, 13);
    const tickers = tickersOf(params);
    if (action === 'get_snapshot') {
      if (sub.channel !== 'orderbook_delta') return this.error(conn, id, 13);
      const wanted = tickers ?? [...(sub.tickers ?? [])];
      if (!this.known(conn, id, wanted)) return;
      for (const t of wanted) this.feed.snapshot(conn, sub, this.state.markets.get(t)!);
      return;
    }
    if (!tickers?.length) return this.error(conn, id, 14);
    if (!this.known(conn, id, tickers)) return;
    sub.tickers ??= new Set();
    for (const t of tickers) {
      if (action === 'add_markets') {
        const added = !sub.tickers.has(t);
        sub.tickers.add(t);
        if (added && sub.channel === 'orderbook_delta') this.feed.snapshot(conn, sub, this.state.markets.get(t)!);
      } else sub.tickers.delete(t);
    }
    this.feed.send(conn, { id, sid: sub.sid, seq: sub.seq, type: 'ok', msg: { market_tickers: [...sub.tickers] } });
  }

  /** Every ticker names a market; otherwise answers error 16 with the first unknown one. */
  private known(conn: Conn, id: unknown, tickers: string[]): boolean {
    const missing = tickers.find((t) => !this.state.markets.has(t));
    if (missing !== undefined) this.error(conn, id, 16, { market_ticker: missing });
    return missing === undefined;
  }

  private error(conn: Conn, id: unknown, code: ErrorCode, extra: Params = {}): void {
    this.feed.send(conn, { ...(typeof id === 'number' ? { id } : {}), type: 'error', msg: { code, msg: ERR[code], ...extra } });
  }
}

function tickersOf(params: Params): string[] | undefined {
  if (Array.isArray(params.market_tickers)) return params.market_tickers.map(String);
  if (typeof params.market_ticker === 'string') return [params.market_ticker];
  return undefined;
}
