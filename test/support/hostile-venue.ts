// A hostile venue for the monitors' fuzz suite: a WebSocket server that speaks Kalshi's or
// Polymarket's market-data protocol (subscribe, snapshots on request, resubscribes), driven by a
// seeded generator that interleaves valid traffic with mutations of one fault class at a time.
//
// Valid traffic moves a truth book per market (the simulators' LadderBook) and is written with the
// simulators' own wire functions (snapshotMsg, deltaMsg, bookEvent, the price and size formats).
// Every message is either valid and applied to the truth, or a fault the monitor can detect (so
// it must not be applied): that is what lets the auditor (fuzz-audit.ts) require every fresh quote
// to show a book the venue really had, and every book to come back fresh and equal to the truth
// once the fault stops. The truth keeps bids below $0.45 and asks above $0.55, so a crossing level
// planted at $0.95 stays crossed until the monitor resyncs.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { LadderBook, PRICE_ONE, type BookSide, type LevelChange } from '../../workloads/sim/book.js';
import { dollars, fp, polyPrice, polySize } from '../../workloads/sim/format.js';
import type { KMarket } from '../../workloads/sim/kalshi/state.js';
import { deltaMsg, snapshotMsg } from '../../workloads/sim/kalshi/wire.js';
import type { PMarket } from '../../workloads/sim/polymarket/state.js';
import { bookEvent } from '../../workloads/sim/polymarket/wire.js';
import { prng } from './prng.js';

export type FuzzVenue = 'kalshi' | 'polymarket';

export const FAULT_CLASSES = [
  'bad_numbers',
  'truncated_json',
  'unknown_types',
  'seq_gaps',
  'duplicate_acks',
  'zero_one_prices',
  'crossed_books',
  'huge_sizes',
  'huge_timestamps',
  'oversized_frames',
  'nested_bombs',
  'silence',
] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

/** What each class means at each venue (Polymarket has no seq and no acknowledgement). */
export const CLASS_MEANING: Record<FaultClass, Record<FuzzVenue, string>> = {
  bad_numbers: { kalshi: 'unparseable prices/sizes', polymarket: 'unparseable prices/sizes' },
  truncated_json: { kalshi: 'frames cut short', polymarket: 'frames cut short' },
  unknown_types: { kalshi: 'unknown types, non-objects', polymarket: 'unknown event types, non-objects' },
  seq_gaps: { kalshi: 'skipped and repeated seq', polymarket: 'events of other assets (no seq)' },
  duplicate_acks: { kalshi: 'second acks, stray errors', polymarket: 'repeated book dumps' },
  zero_one_prices: { kalshi: 'levels at $0 and $1', polymarket: 'levels at 0 and 1' },
  crossed_books: { kalshi: 'crossed snapshots and deltas', polymarket: 'crossed books and changes' },
  huge_sizes: { kalshi: 'sizes past 10^9, pairs past it', polymarket: 'sizes past 10^9' },
  huge_timestamps: { kalshi: 'ts_ms 2^53, negative, years off', polymarket: 'timestamp 2^53, negative, years off' },
  oversized_frames: { kalshi: '50 MB snapshot, 50/104 MB nesting', polymarket: '50 MB book, 50/104 MB nesting' },
  nested_bombs: { kalshi: 'bombs under maxPayload', polymarket: 'bombs under maxPayload' },
  silence: { kalshi: 'socket open, nothing sent', polymarket: 'socket open, nothing sent' },
};

export interface FuzzMarket {
  marketId: string;
  ticker: string;
  yesToken: string;
  noToken: string;
}

export interface HostileVenueOptions {
  venue: FuzzVenue;
  seed: number;
  markets?: number;
  /** The monitor's maxPayload (frames for nested_bombs stay under it; oversized ones go past). */
  maxPayload: number;
  /** Levels per side the monitor publishes (the truth's views are cut the same). */
  depth: number;
}

export type View = { bids: Array<[number, number]>; asks: Array<[number, number]> };

interface Market extends FuzzMarket {
  book: LadderBook;
  /** The simulators' wire functions read these shapes. */
  k: KMarket;
  p: PMarket;
}

interface Conn {
  ws: WebSocket;
  /** Kalshi: the live subscription. */
  sid: number | undefined;
  seq: number;
  subscribeId: number | undefined;
  /** Polymarket: subscribed to the market channel. */
  subscribed: boolean;
}

const BID_PRICES = Array.from({ length: 10 }, (_, i) => 4_400 - 100 * i); // 0.44 … 0.35
const ASK_PRICES = Array.from({ length: 10 }, (_, i) => 5_600 + 100 * i); // 0.56 … 0.65
const PATH = { kalshi: '/trade-api/ws/v2', polymarket: '/ws/market' };

/** A fast 53-bit hash of a string (cyrb53), for the history of views. */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export const viewHash = (v: View): number => hash53(JSON.stringify([v.bids, v.asks]));

/** The last `capacity` views of one book, for "did the venue ever show this?". */
class ViewHistory {
  private readonly ring: number[] = [];
  private readonly counts = new Map<number, number>();
  constructor(private readonly capacity: number) {}
  add(h: number): void {
    this.ring.push(h);
    this.counts.set(h, (this.counts.get(h) ?? 0) + 1);
    if (this.ring.length > this.capacity) {
      const old = this.ring.shift()!;
      const n = this.counts.get(old)! - 1;
      if (n === 0) this.counts.delete(old);
      else this.counts.set(old, n);
    }
  }
  has(h: number): boolean {
    return this.counts.has(h);
  }
}

export class HostileVenue {
  readonly markets: Market[];
  /** Messages sent, by class ('valid' for the traffic between faults); oversized frames by kind too. */
  readonly sent = new Map<string, number>();
  connections = 0;
  private server!: Server;
  private wss!: WebSocketServer;
  private conn: Conn | undefined;
  private nextSid = 1;
  private silent = false;
  private queued: Array<() => void> = [];
  private readonly rand: () => number;
  private readonly history = new Map<string, ViewHistory>();
  private readonly big = new Map<string, string>();
  private oversizedSent = 0;
  url = '';
  wsUrl = '';

  constructor(readonly options: HostileVenueOptions) {
    this.rand = prng(options.seed);
    this.markets = Array.from({ length: options.markets ?? 4 }, (_, i) => this.market(i));
    for (const m of this.markets) {
      for (const p of BID_PRICES) m.book.setMm('bid', p, this.size());
      for (const p of ASK_PRICES) m.book.setMm('ask', p, this.size());
      this.record(m);
    }
  }

  get venue(): FuzzVenue {
    return this.options.venue;
  }

  private market(i: number): Market {
    const book = new LadderBook();
    const base = {
      marketId: `fuzz-${i}`,
      ticker: `KXFUZZ-26DEC06-T${i}`,
      yesToken: `${7_000 + i}1${'3'.repeat(60)}`,
      noToken: `${7_000 + i}2${'4'.repeat(60)}`,
    };
    const k = { sim: { kalshiTicker: base.ticker, kalshiMarketId: `kid-${i}` }, book } as unknown as KMarket;
    const p = {
      sim: { conditionId: `0x${'c'.repeat(63)}${i}`, yesTokenId: base.yesToken, noTokenId: base.noToken },
      book,
      tick: '0.01',
      lastTrade: { price: 5_000, size: 100, takerBuysYes: true },
      changedMs: Date.now(),
      summaries: {},
    } as unknown as PMarket;
    return { ...base, book, k, p };
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url?.startsWith('/api/geoblock')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ blocked: false, ip: '127.0.0.1', country: 'PT', region: '' }));
      } else res.writeHead(404).end();
    });
    this.wss = new WebSocketServer({ server: this.server, path: PATH[this.venue], maxPayload: 1 << 20 });
    this.wss.on('connection', (ws: WebSocket, _req: IncomingMessage) => this.onConnection(ws));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}${PATH[this.venue]}`;
  }

  async stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // Truth

  /** The monitor's views of a market's book, cut to its depth. */
  views(m: Market): Record<'yes' | 'no', View> {
    const bids = m.book.levels('bid').reverse();
    const asks = m.book.levels('ask');
    const mirror = (levels: Array<[number, number]>) => levels.map(([p, s]) => [PRICE_ONE - p, s] as [number, number]);
    const cut = (v: View): View => ({ bids: v.bids.slice(0, this.options.depth), asks: v.asks.slice(0, this.options.depth) });
    return { yes: cut({ bids, asks }), no: cut({ bids: mirror(asks), asks: mirror(bids) }) };
  }

  /** Was this view of the book (venue/market/outcome) one the venue showed recently? */
  showed(key: string, v: View): boolean {
    return this.history.get(key)?.has(viewHash(v)) ?? false;
  }

  bookKey(m: FuzzMarket, outcome: 'yes' | 'no'): string {
    return `${this.venue}/${m.marketId}/${outcome}`;
  }

  private record(m: Market): void {
    m.p.changedMs = Date.now();
    m.p.summaries = {};
    const views = this.views(m);
    for (const outcome of ['yes', 'no'] as const) {
      const key = this.bookKey(m, outcome);
      let h = this.history.get(key);
      if (!h) this.history.set(key, (h = new ViewHistory(50_000)));
      h.add(viewHash(views[outcome]));
    }
  }

  private size(): number {
    return (1 + Math.floor(this.rand() * 500)) * 100;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }

  /** A change of a level inside the bands (set, moved or removed), not applied. */
  private proposal(m: Market): LevelChange {
    for (;;) {
      const side: BookSide = this.rand() < 0.5 ? 'bid' : 'ask';
      const price = this.pick(side === 'bid' ? BID_PRICES : ASK_PRICES);
      const size = this.rand() < 0.25 ? 0 : this.size();
      const before = m.book.size(side, price);
      if (size !== before) return { side, price, size, delta: size - before };
    }
  }

  /** One change of the truth. */
  private change(m: Market): LevelChange {
    const change = this.proposal(m);
    m.book.setMm(change.side, change.price, change.size);
    this.record(m);
    return change;
  }

  // ------------------------------------------------------------------------------------------
  // Connections and the monitor's commands

  /** Subscribed, so book traffic can flow. */
  get live(): boolean {
    return this.venue === 'kalshi' ? this.conn?.sid !== undefined : this.conn?.subscribed === true;
  }

  private onConnection(ws: WebSocket): void {
    this.connections++;
    this.conn?.ws.terminate();
    const conn: Conn = { ws, sid: undefined, seq: 0, subscribeId: undefined, subscribed: false };
    this.conn = conn;
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      const handle = () => this.onCommand(conn, data.toString('utf8'));
      if (this.silent) this.queued.push(handle);
      else handle();
    });
    ws.on('close', () => {
      if (this.conn === conn) this.conn = undefined;
    });
  }

  private onCommand(conn: Conn, text: string): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (text === 'PING') return conn.ws.send('PONG');
    let command: Record<string, unknown>;
    try {
      command = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (this.venue === 'kalshi') this.onKalshiCommand(conn, command);
    else this.onPolymarketCommand(conn, command);
  }

  private onKalshiCommand(conn: Conn, c: Record<string, unknown>): void {
    const params = (c.params ?? {}) as { market_tickers?: string[]; sids?: number[]; action?: string };
    const tickers = (params.market_tickers ?? []).filter((t) => this.markets.some((m) => m.ticker === t));
    switch (c.cmd) {
      case 'subscribe':
        conn.sid = this.nextSid++;
        conn.seq = 0;
        conn.subscribeId = c.id as number;
        this.send(conn, { id: c.id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: conn.sid } });
        for (const t of tickers)
          this.kalshiSnapshot(
            conn,
            this.markets.find((m) => m.ticker === t)!,
          );
        return;
      case 'unsubscribe':
        if (params.sids?.includes(conn.sid!)) conn.sid = undefined;
        this.send(conn, { id: c.id, sid: params.sids?.[0], type: 'unsubscribed' });
        return;
      case 'update_subscription':
        if (params.action !== 'get_snapshot' || params.sids?.[0] !== conn.sid || conn.sid === undefined) {
          this.send(conn, { id: c.id, type: 'error', msg: { code: 6, msg: 'Already subscribed' } });
          return;
        }
        this.send(conn, { id: c.id, sid: conn.sid, seq: conn.seq, type: 'ok', msg: { market_tickers: tickers } });
        for (const t of tickers)
          this.kalshiSnapshot(
            conn,
            this.markets.find((m) => m.ticker === t)!,
          );
        return;
    }
  }

  private kalshiSnapshot(conn: Conn, m: Market): void {
    this.send(conn, { type: 'orderbook_snapshot', sid: conn.sid, seq: ++conn.seq, msg: snapshotMsg(m.k, true) });
  }

  private onPolymarketCommand(conn: Conn, c: Record<string, unknown>): void {
    const assets = Array.isArray(c.assets_ids) ? (c.assets_ids as string[]) : [];
    if (c.operation === 'unsubscribe') return;
    if (c.type === 'market') conn.subscribed = true;
    else if (c.operation !== 'subscribe') return;
    const books = assets.flatMap((a) => {
      const m = this.markets.find((x) => x.yesToken === a || x.noToken === a);
      return m ? [bookEvent(m.p, m.yesToken === a ? 'yes' : 'no')] : [];
    });
    if (books.length > 0) this.send(conn, books.length === 1 ? books[0] : books);
  }

  private send(conn: Conn | undefined, message: unknown, cls = 'valid'): void {
    this.sendText(conn, typeof message === 'string' ? message : JSON.stringify(message), cls);
  }

  private sendText(conn: Conn | undefined, text: string, cls: string): void {
    if (!conn || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(text);
    this.sent.set(cls, (this.sent.get(cls) ?? 0) + 1);
  }

  // ------------------------------------------------------------------------------------------
  // Traffic

  /** Waits until the monitor is subscribed and the socket has room (TCP pushes back on a slow monitor). */
  private async room(deadlineMs: number): Promise<void> {
    for (;;) {
      if (this.live && this.conn!.ws.bufferedAmount < 256 * 1024) return;
      if (Date.now() > deadlineMs) throw new Error(`the ${this.venue} monitor did not (re)subscribe or read its socket in time`);
      await new Promise((r) => setTimeout(r, this.live ? 1 : 20));
    }
  }

  /**
   * Sends `count` messages: with `cls`, faults of that class (about a third) between valid ones;
   * with 'valid', valid traffic only. Oversized frames and silences are few and counted by kind.
   */
  async run(cls: FaultClass | 'valid', count: number, hooks: { silenced?: () => Promise<void> } = {}): Promise<void> {
    const deadline = () => Date.now() + 120_000;
    let until = deadline();
    // Oversized frames and silences cost a reconnect or a quiet period each: a few per run.
    const rare = cls === 'oversized_frames' || cls === 'silence';
    const every = Math.max(1, Math.floor(count / (cls === 'silence' ? 2 : 8)));
    for (let i = 0; i < count; i++) {
      if (i % 50 === 0) {
        await this.room(until);
        await new Promise((r) => setImmediate(r));
        until = deadline();
      }
      if (rare && i % every === Math.floor(every / 2)) {
        if (cls === 'silence') await this.silence(hooks.silenced);
        else await this.oversized(until);
        until = deadline();
      } else if (cls === 'valid' || rare || this.rand() >= 0.35) this.valid();
      else this.fault(cls);
    }
  }

  private valid(): void {
    const conn = this.conn;
    const m = this.pick(this.markets);
    if (this.rand() < 0.01) return this.fullBook(conn, m);
    const change = this.change(m);
    if (this.venue === 'kalshi') {
      this.send(conn, {
        type: 'orderbook_delta',
        sid: conn?.sid,
        seq: conn ? ++conn.seq : 0,
        msg: deltaMsg(m.k, change, true, Date.now()),
      });
    } else this.send(conn, this.priceChange(m, [change]));
  }

  private fullBook(conn: Conn | undefined, m: Market): void {
    if (this.venue === 'kalshi') return conn?.sid !== undefined ? this.kalshiSnapshot(conn, m) : undefined;
    this.send(conn, [bookEvent(m.p, 'yes'), bookEvent(m.p, 'no')]);
  }

  /** The current price_change schema for both tokens of a market. */
  private priceChange(m: Market, changes: LevelChange[], entry: (e: Record<string, unknown>) => Record<string, unknown> = (e) => e) {
    const price_changes = changes.flatMap((c) => [
      entry({ asset_id: m.yesToken, price: polyPrice(c.price), size: polySize(c.size), side: c.side === 'bid' ? 'BUY' : 'SELL' }),
      entry({
        asset_id: m.noToken,
        price: polyPrice(PRICE_ONE - c.price),
        size: polySize(c.size),
        side: c.side === 'bid' ? 'SELL' : 'BUY',
      }),
    ]);
    return { event_type: 'price_change', market: m.p.sim.conditionId, price_changes, timestamp: String(Date.now()) };
  }

  /** A Kalshi book message that is not applied to the truth, on the live sid (its seq is spent). */
  private kalshiFault(conn: Conn | undefined, msg: Record<string, unknown>, type = 'orderbook_delta'): string {
    return JSON.stringify({ type, sid: conn?.sid, seq: conn ? ++conn.seq : 0, msg });
  }

  private fault(cls: FaultClass): void {
    const conn = this.conn;
    const m = this.pick(this.markets);
    const k = this.venue === 'kalshi';
    const r = this.rand();
    const text = (t: string) => this.sendText(conn, t, cls);
    const kalshiDelta = (fields: Record<string, unknown>) =>
      text(this.kalshiFault(conn, { ...deltaMsg(m.k, { side: 'bid', price: 4_000, size: 100, delta: 100 }, true, Date.now()), ...fields }));
    const polyChange = (fields: Record<string, unknown>, side = 'BUY') =>
      text(
        JSON.stringify({
          event_type: 'price_change',
          market: 'x',
          price_changes: [{ asset_id: m.yesToken, price: '0.4', size: '1', side, ...fields }],
          timestamp: String(Date.now()),
        }),
      );
    switch (cls) {
      case 'bad_numbers': {
        // Each unreadable as a price and as a size (a size may carry extra decimals, rounded down: "0.12345" is legal).
        const bad = this.pick(['abc', '1.2.3', 'NaN', '1e5', '', '+-1', '0x10', '٣', '9'.repeat(60), '-', '1,5', null, [], {}, true]);
        if (k)
          return r < 0.5
            ? kalshiDelta({ price_dollars: this.pick([bad, '-0.5', '0.12345', '1.5', 42.5]) })
            : kalshiDelta({ delta_fp: bad });
        return r < 0.5 ? polyChange({ price: this.pick([bad, '-0.5', '0.12345', '1.5', 42.5]) }) : polyChange({ size: bad });
      }
      case 'truncated_json': {
        // A change the monitor cannot read, so the truth does not take it (Kalshi's seq is spent).
        const change = this.proposal(m);
        const whole = k ? this.kalshiFault(conn, deltaMsg(m.k, change, true, Date.now())) : JSON.stringify(this.priceChange(m, [change]));
        return text(whole.slice(0, 1 + Math.floor(this.rand() * (whole.length - 2))));
      }
      case 'unknown_types': {
        const odd = this.pick(['null', '[]', '42', '"orderbook_delta"', 'true', '{}', '[1,2,3]', '[null]', '[[]]']);
        if (r < 0.4) return text(odd);
        if (k)
          return text(
            JSON.stringify({
              type: this.pick(['ticker', 'trade', 'fill', 'mystery', 'orderbook_deltas', 7]),
              sid: 999,
              msg: { market_ticker: m.ticker },
            }),
          );
        return text(
          JSON.stringify([
            { event_type: this.pick(['mystery', 'last_trade_price', 'best_bid_ask', 'new_market']), asset_id: m.yesToken },
            'x',
            5,
          ]),
        );
      }
      case 'seq_gaps': {
        if (!k) {
          const other: PMarket = { ...m.p, sim: { ...m.p.sim, yesTokenId: `9${m.yesToken}`, noTokenId: `9${m.noToken}` } };
          return text(
            JSON.stringify(
              r < 0.5
                ? bookEvent(other, 'yes')
                : { event_type: 'price_change', market: 'y', price_changes: [{ asset_id: '42', price: '0.5', size: '1', side: 'BUY' }] },
            ),
          );
        }
        // A real change whose seq skips ahead, or repeats the last one.
        const change = this.change(m);
        if (conn) conn.seq += r < 0.7 ? 1 + Math.floor(this.rand() * 4) : -1;
        return text(
          JSON.stringify({
            type: 'orderbook_delta',
            sid: conn?.sid,
            seq: conn ? ++conn.seq : 0,
            msg: deltaMsg(m.k, change, true, Date.now()),
          }),
        );
      }
      case 'duplicate_acks': {
        if (!k) return this.sendText(conn, JSON.stringify(this.markets.flatMap((x) => [bookEvent(x.p, 'yes'), bookEvent(x.p, 'no')])), cls);
        if (r < 0.4)
          return text(
            JSON.stringify({
              id: conn?.subscribeId,
              type: 'subscribed',
              msg: { channel: 'orderbook_delta', sid: 1_000 + Math.floor(this.rand() * 1e6) },
            }),
          );
        if (r < 0.7)
          return text(
            JSON.stringify({
              id: 1e9 + Math.floor(this.rand() * 1e6),
              type: 'error',
              msg: { code: this.pick([6, 8, 12, 16, 17]), msg: 'unrelated' },
            }),
          );
        return text(JSON.stringify({ id: 9_000_000, sid: conn?.sid, seq: conn?.seq, type: 'ok', msg: {} }));
      }
      case 'zero_one_prices': {
        const edge = this.pick(['0', '1']);
        if (k) {
          if (r < 0.5) return kalshiDelta({ price_dollars: edge === '0' ? '0.0000' : '1.0000', side: this.pick(['yes', 'no']) });
          const snap = snapshotMsg(m.k, true);
          return text(
            this.kalshiFault(
              conn,
              { ...snap, no_dollars_fp: [[edge === '0' ? '0.0000' : '1.0000', '10.00'], ...((snap.no_dollars_fp as unknown[]) ?? [])] },
              'orderbook_snapshot',
            ),
          );
        }
        if (r < 0.5) return polyChange({ price: edge }, edge === '0' ? 'SELL' : 'BUY');
        const ev = bookEvent(m.p, 'yes');
        return text(JSON.stringify({ ...ev, asks: [...ev.asks, { price: edge, size: '10' }] }));
      }
      case 'crossed_books': {
        if (k) {
          if (r < 0.5) return kalshiDelta({ price_dollars: dollars(9_500 + 100 * Math.floor(this.rand() * 5)), side: 'yes' });
          const snap = snapshotMsg(m.k, true);
          return text(
            this.kalshiFault(
              conn,
              { ...snap, yes_dollars_fp: [...((snap.yes_dollars_fp as unknown[]) ?? []), [dollars(9_000), fp(500)]] },
              'orderbook_snapshot',
            ),
          );
        }
        if (r < 0.5) return polyChange({ price: '0.95', size: '5' }, 'BUY');
        const ev = bookEvent(m.p, 'yes');
        return text(JSON.stringify({ ...ev, bids: [...ev.bids, { price: '0.9', size: '5' }] }));
      }
      case 'huge_sizes': {
        const huge = this.pick(['90071992547409.91', '1000000000.01', '1' + '0'.repeat(20) + '.00', '18446744073709551616']);
        if (!k) return polyChange({ size: huge });
        if (r < 0.6) return kalshiDelta({ delta_fp: huge });
        // Two legal deltas whose sum passes the bound (the truth takes them and is put right at once).
        const price = this.pick(BID_PRICES);
        const before = m.book.size('bid', price);
        for (const size of [before + 60_000_000_000, before + 120_000_000_000, before]) {
          const change = m.book.setMm('bid', price, size)!;
          this.record(m);
          text(
            JSON.stringify({
              type: 'orderbook_delta',
              sid: conn?.sid,
              seq: conn ? ++conn.seq : 0,
              msg: deltaMsg(m.k, change, true, Date.now()),
            }),
          );
        }
        return;
      }
      case 'huge_timestamps': {
        // Valid changes, applied, with a timestamp far from the monitor's clock.
        const ts = this.pick([
          2 ** 53,
          2 ** 53 + 2,
          -1,
          0,
          Date.now() - 3 * 365 * 86_400_000,
          Date.now() + 365 * 86_400_000,
          '99999999999999999999',
          'yesterday',
        ]);
        const change = this.change(m);
        if (k)
          return text(
            JSON.stringify({
              type: 'orderbook_delta',
              sid: conn?.sid,
              seq: conn ? ++conn.seq : 0,
              msg: { ...deltaMsg(m.k, change, true, Date.now()), ts_ms: ts },
            }),
          );
        return text(JSON.stringify({ ...this.priceChange(m, [change]), timestamp: typeof ts === 'number' ? String(ts) : ts }));
      }
      case 'nested_bombs':
        return this.sendText(conn, this.bomb(m), cls);
      default:
        throw new Error(`no generator for ${cls}`);
    }
  }

  /** A frame under maxPayload that a parser without limits would pay dearly for, or one that parses into a book too deep. */
  private bomb(m: Market): string {
    const limit = this.options.maxPayload - 1_024;
    const kind = this.pick(['nested', 'objects', 'numbers', 'deep_object', 'long_side', 'deep_side', 'most_values']);
    const book = (levels: number) => {
      const prices = Array.from({ length: levels }, (_, i) => (4_000 - (i % 3_000)) / 10_000);
      return this.venue === 'kalshi'
        ? JSON.stringify({
            type: 'orderbook_snapshot',
            sid: -1,
            seq: -1,
            msg: { market_ticker: m.ticker, yes_dollars_fp: prices.map((p) => [p.toFixed(4), '1.00']) },
          })
        : JSON.stringify({
            event_type: 'book',
            asset_id: m.yesToken,
            bids: prices.map((p) => ({ price: String(p), size: '1' })),
            asks: [],
          });
    };
    const text = this.cached(`bomb:${kind}:${kind.endsWith('side') ? m.marketId : ''}`, () => {
      switch (kind) {
        case 'nested':
          return '['.repeat(limit);
        case 'objects':
          return `[${'{},'.repeat(Math.floor(limit / 3) - 1)}{}]`;
        case 'numbers':
          return `[${'1,'.repeat(Math.floor(limit / 2) - 1)}1]`;
        case 'deep_object':
          return `${'{"a":'.repeat(Math.floor(limit / 10))}1${'}'.repeat(Math.floor(limit / 10))}`;
        case 'long_side': // one side far longer than any book: refused by its shape
          return book(Math.floor(limit / (this.venue === 'kalshi' ? 40 : 60)));
        case 'deep_side': // parses, but holds more levels than a book may
          return book(5_000);
        default: // as many values as a frame may hold, in arrays as long as they may be
          return JSON.stringify(Array.from({ length: 16 }, () => Array.from({ length: 7_900 }, (_, i) => i % 10)));
      }
    });
    // A Kalshi book message spends a seq of the live sid.
    if (!kind.endsWith('side') || this.venue !== 'kalshi') return text;
    return text.replace('"sid":-1,"seq":-1', `"sid":${this.conn?.sid ?? 0},"seq":${this.conn ? ++this.conn.seq : 0}`);
  }

  private cached(key: string, make: () => string): string {
    let text = this.big.get(key);
    if (text === undefined) this.big.set(key, (text = make()));
    return text;
  }

  /** The hostile frames: a 50 MB snapshot, 50 MB and 104 MB nested arrays, and one byte over maxPayload. */
  private async oversized(deadlineMs: number): Promise<void> {
    const m = this.pick(this.markets);
    const kinds = ['snapshot_50MB', 'nested_50MB', 'nested_104MB', 'just_over'] as const;
    const kind = kinds[this.oversizedSent++ % kinds.length]!;
    const text = this.cached(kind, () => {
      switch (kind) {
        case 'nested_50MB':
          return '['.repeat(50_000_000);
        case 'nested_104MB':
          return '['.repeat(104_000_000);
        case 'just_over':
          return '['.repeat(this.options.maxPayload + 1);
        default: {
          const level = this.venue === 'kalshi' ? '["0.4000","1.00"],' : '{"price":"0.4","size":"1"},';
          const n = Math.ceil(50_000_000 / level.length);
          const body = level.repeat(n).slice(0, -1);
          return this.venue === 'kalshi'
            ? `{"type":"orderbook_snapshot","sid":0,"seq":0,"msg":{"market_ticker":"${m.ticker}","yes_dollars_fp":[${body}]}}`
            : `{"event_type":"book","asset_id":"${m.yesToken}","bids":[${body}],"asks":[]}`;
        }
      }
    });
    const before = this.connections;
    this.sendText(this.conn, text, 'oversized_frames');
    this.sent.set(`oversized:${kind}`, (this.sent.get(`oversized:${kind}`) ?? 0) + 1);
    // The monitor drops the connection and comes back: wait for its new subscription.
    while (!(this.connections > before && this.live)) {
      if (Date.now() > deadlineMs) throw new Error(`the ${this.venue} monitor did not reconnect after an oversized frame`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Nothing at all, commands held back, until `silenced` (the caller's check that the monitor noticed) resolves. */
  private async silence(silenced: (() => Promise<void>) | undefined): Promise<void> {
    this.silent = true;
    this.sent.set('silence:periods', (this.sent.get('silence:periods') ?? 0) + 1);
    try {
      await silenced?.();
    } finally {
      this.silent = false;
      for (const handle of this.queued.splice(0)) handle();
    }
  }

  /** Drops the big frames kept for reuse. */
  forgetBigFrames(): void {
    this.big.clear();
  }
}
