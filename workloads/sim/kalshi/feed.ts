// Kalshi's WebSocket feed: each connection's subscriptions (a sid per channel, a seq per
// orderbook_delta sid) and what the simulator publishes to them: book snapshots and deltas, the
// ticker when the top of book moves, trades, the key's own fills, and market lifecycle.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { LevelChange } from '../book.js';
import type { SimClock } from '../clock.js';
import type { KMarket, KTrade } from './state.js';
import { deltaMsg, fillMsg, snapshotMsg, tickerMsg, tradeMsg, type KalshiFill } from './wire.js';

export const CHANNELS = [
  'orderbook_delta',
  'ticker',
  'trade',
  'fill',
  'market_positions',
  'market_lifecycle_v2',
  'multivariate_market_lifecycle',
  'multivariate',
  'communications',
  'order_group_updates',
  'user_orders',
  'cfbenchmarks_value',
] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Sub {
  sid: number;
  channel: Channel;
  /** null: every market. */
  tickers: Set<string> | null;
  seq: number;
  /** A seqGap fault: the next seq skips one. */
  skipPending: boolean;
  useYesPrice: boolean;
}

export interface Conn {
  ws: WebSocket;
  /** The API key that signed the handshake. */
  keyId: string;
  subs: Map<number, Sub>;
  nextSid: number;
  lastPong: number;
}

/**
 * Kalshi sends one message per frame, and a step of the scenario can make hundreds: holding the
 * socket's writes until the step is done sends them in one system call instead of one each (ws
 * exposes no cork of its own, so its socket is reached directly; without one, frames go out as before).
 */
function corkUntilNextTick(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (!socket || socket.writableCorked > 0) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}

export const covers = (sub: Sub, ticker: string): boolean => sub.tickers === null || sub.tickers.has(ticker);

export class KalshiFeed {
  constructor(
    private readonly conns: ReadonlySet<Conn>,
    private readonly clock: SimClock,
  ) {}

  send(conn: Conn, message: unknown): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    corkUntilNextTick(conn.ws);
    conn.ws.send(JSON.stringify(message));
  }

  snapshot(conn: Conn, sub: Sub, m: KMarket): void {
    this.send(conn, { type: 'orderbook_snapshot', sid: sub.sid, seq: nextSeq(sub), msg: snapshotMsg(m, sub.useYesPrice) });
  }

  /** One delta per level change to each orderbook_delta subscriber, then the ticker if the top moved. */
  changes(m: KMarket, changes: LevelChange[]): void {
    if (changes.length === 0) return;
    const tsMs = this.clock.now();
    for (const [conn, sub] of this.subscribers('orderbook_delta', m.sim.kalshiTicker)) {
      for (const change of changes) {
        const own = change.order && change.order.owner === conn.keyId ? change.order.clientOrderId : undefined;
        this.send(conn, { type: 'orderbook_delta', sid: sub.sid, seq: nextSeq(sub), msg: deltaMsg(m, change, sub.useYesPrice, tsMs, own) });
      }
    }
    this.tickerIfMoved(m);
  }

  tickerIfMoved(m: KMarket, force = false): void {
    const key = m.book.topKey();
    if (!force && key === m.lastTop) return;
    m.lastTop = key;
    let msg: ReturnType<typeof tickerMsg> | undefined;
    for (const [conn, sub] of this.subscribers('ticker', m.sim.kalshiTicker))
      this.send(conn, { type: 'ticker', sid: sub.sid, msg: (msg ??= tickerMsg(m, this.clock.now())) });
  }

  /** The ticker as `send_initial_snapshot` gives it. */
  tickerSnapshot(conn: Conn, sub: Sub, m: KMarket): void {
    this.send(conn, { type: 'ticker', sid: sub.sid, msg: tickerMsg(m, this.clock.now()) });
  }

  trade(m: KMarket, trade: KTrade): void {
    const msg = tradeMsg(m, trade);
    for (const [conn, sub] of this.subscribers('trade', m.sim.kalshiTicker)) this.send(conn, { type: 'trade', sid: sub.sid, msg });
  }

  /** To the owner's connections only. */
  fill(owner: string, fill: KalshiFill, postPosition: number): void {
    for (const [conn, sub] of this.subscribers('fill', fill.ticker))
      if (conn.keyId === owner) this.send(conn, { type: 'fill', sid: sub.sid, msg: fillMsg(fill, postPosition) });
  }

  lifecycle(m: KMarket, msg: Record<string, unknown>): void {
    for (const [conn, sub] of this.subscribers('market_lifecycle_v2', m.sim.kalshiTicker)) {
      this.send(conn, { type: 'market_lifecycle_v2', sid: sub.sid, msg: { market_ticker: m.sim.kalshiTicker, ...msg } });
    }
  }

  /** Every orderbook_delta subscription skips its next seq, as after a dropped message. */
  seqGap(): void {
    for (const conn of this.conns) for (const sub of conn.subs.values()) if (sub.channel === 'orderbook_delta') sub.skipPending = true;
  }

  private *subscribers(channel: Channel, ticker: string): Generator<[Conn, Sub]> {
    for (const conn of this.conns)
      for (const sub of conn.subs.values()) if (sub.channel === channel && covers(sub, ticker)) yield [conn, sub];
  }
}

function nextSeq(sub: Sub): number {
  sub.seq += sub.skipPending ? 2 : 1;
  sub.skipPending = false;
  return sub.seq;
}
