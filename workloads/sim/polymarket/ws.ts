// Polymarket's market channel at /ws/market: no authentication; the client subscribes by asset id
// (and may ask for custom features), gets each new token's book unless it opts out, answers
// nothing but text PING with PONG; a socket that has not subscribed in time or stops sending PING
// is dropped.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SimExchange } from '../core/exchange.js';
import type { VenueSocket } from '../core/venue.js';
import { HttpError } from '../http.js';
import type { PConn, PolymarketFeed } from './feed.js';
import { GEOBLOCK_ERROR, type Geoblock } from './geoblock.js';
import type { Token } from './state.js';
import { bookEvent, UNAVAILABLE } from './wire.js';

export const POLY_WS_MARKET_PATH = '/ws/market';

export interface MarketChannelTimeouts {
  /** Close a socket that has not sent PING for this long (default 12 s; the venue's is about 10 s). */
  pingTimeoutMs?: number;
  /** Close a socket that has not subscribed within this long (default 10 s). */
  subscribeTimeoutMs?: number;
}

export class MarketChannel implements VenueSocket<PConn> {
  readonly path = POLY_WS_MARKET_PATH;

  constructor(
    private readonly exchange: SimExchange<PConn>,
    private readonly tokens: ReadonlyMap<string, Token>,
    private readonly feed: PolymarketFeed,
    private readonly geo: Geoblock,
    { pingTimeoutMs = 12_000, subscribeTimeoutMs = 10_000 }: MarketChannelTimeouts,
  ) {
    exchange.every(Math.max(25, Math.min(1000, pingTimeoutMs / 4)), () => {
      const now = Date.now();
      for (const conn of exchange.connections) {
        if ((!conn.subscribed && now - conn.connectedAt > subscribeTimeoutMs) || now - conn.lastPing > pingTimeoutMs) conn.ws.terminate();
      }
    });
  }

  /** The handshake: the geoblock (when it covers everything), the path, an outage. */
  upgrade(req: IncomingMessage, path: string): (ws: WebSocket) => PConn {
    if (this.geo.scope === 'all' && this.geo.isBlocked(req.socket.remoteAddress)) throw new HttpError(403, GEOBLOCK_ERROR);
    if (path !== POLY_WS_MARKET_PATH) throw new HttpError(404, { error: 'not found' });
    if (this.exchange.outage) throw new HttpError(503, UNAVAILABLE);
    return (ws) => this.open(ws);
  }

  private open(ws: WebSocket): PConn {
    const now = Date.now();
    const conn: PConn = { ws, assets: new Set(), subscribed: false, custom: false, connectedAt: now, lastPing: now, queue: [] };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString('utf8');
      if (text === 'PING') {
        conn.lastPing = Date.now();
        ws.send('PONG');
        return;
      }
      this.message(conn, text);
    });
    return conn;
  }

  /** subscribe / unsubscribe (with `operation`), or the initial `type: "market"` message. */
  private message(conn: PConn, text: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || !Array.isArray(msg.assets_ids)) return;
    const ids = msg.assets_ids.map(String);
    const operation = typeof msg.operation === 'string' ? msg.operation.toLowerCase() : undefined;
    if (msg.custom_feature_enabled === true) conn.custom = true;
    if (operation === 'unsubscribe') {
      for (const id of ids) conn.assets.delete(id);
      return;
    }
    if (operation !== 'subscribe' && String(msg.type).toLowerCase() !== 'market') return;
    conn.subscribed = true;
    const added = ids.filter((id) => !conn.assets.has(id));
    for (const id of ids) conn.assets.add(id);
    for (const id of msg.initial_dump === false ? [] : added) {
      const token = this.tokens.get(id);
      if (token) conn.queue.push(bookEvent(token.market, token.outcome));
    }
    this.feed.flush();
  }
}
