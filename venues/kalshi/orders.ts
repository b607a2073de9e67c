// Live Kalshi orders over the Trade API v2 (docs/exchange-protocols.md §1.2, §1.6): every request signed
// with RSA-PSS (SHA-256, MGF1 SHA-256, salt = digest length) over timestamp-ms + METHOD + the full
// path including /trade-api/v2 and without the query. Orders go to V2 POST /portfolio/events/orders
// as immediate-or-cancel limits under our client_order_id (a reuse is refused with 409, which is
// the idempotency we rely on). Reconciliation finds an order by its client_order_id among the
// ticker's orders since just before our intent, paging through GET /portfolio/orders: the venue
// documents no client_order_id filter there, so none is relied on.
//
// Kalshi books everything on the YES leg: buying YES is a `bid` at p, buying NO at q is an `ask`
// at 1 − q (and selling the other way round). Reports here are converted back to the outcome's
// own price.
//
// Every answer is read with a size bound and a redirect is never followed (it would carry the signed
// headers to another host): either makes the request's outcome unknown (VenueAmbiguous), like a
// timeout, so an order whose answer was refused is reconciled, never counted as not sent.
import type { KeyObject } from 'node:crypto';
import { NO_REDIRECT, fetchErrorText, readBounded } from '../../lib/bounded-http.js';
import { kalshiSignedHeaders } from './auth.js';
import {
  PRICE_ONE,
  SIZE_SCALE,
  formatPrice,
  formatSize,
  notionalCeil,
  parseDecimal,
  parsePrice,
  parseSize,
} from '../../contracts/decimal.js';
import { VenueAmbiguous, VenueRejected, type OrderRequest, type VenueClient, type VenueFill, type VenueOrderReport } from '../orders.js';
import { isInsufficientBalance, kalshiErrorText } from './errors.js';
import { kalshiBalanceChanges } from './fees.js';

/** What selling `size` at `price` brings in, rounded down (ten-thousandths of $1). */
const proceedsFloor = (price: number, size: number) => Math.floor((price * size) / 10 ** SIZE_SCALE);

/** How far before our intent the venue's clock may put the order (clock skew between us and it). */
const FIND_SLACK_S = 300;
/** Orders per page (the venue's maximum) and pages read before reconciliation gives up as ambiguous. */
const PAGE = 1000;
const MAX_PAGES = 100;
/** One order, cancel or error answer: about 1 KiB on the wire. */
const ANSWER_BYTES = 256 * 1024;
/** A page of up to PAGE orders or fills at 1–2 KiB each (about 2 MiB at most), with room to spare. */
const PAGE_BYTES = 16 * 1024 * 1024;

export interface KalshiCredentials {
  keyId: string;
  /** From loadKalshiPrivateKey. */
  privateKey: KeyObject;
}

export interface KalshiClientOptions {
  /** REST base including /trade-api/v2, e.g. https://demo-api.kalshi.co/trade-api/v2. */
  restUrl: string;
  credentials: KalshiCredentials;
  timeoutMs?: number;
}

interface KalshiOrder {
  order_id: string;
  client_order_id: string;
  status: 'resting' | 'canceled' | 'executed' | 'pending';
  fill_count_fp: string;
  remaining_count_fp: string;
}

interface KalshiFill {
  fill_id: string;
  trade_id?: string;
  order_id: string;
  yes_price_dollars: string;
  count_fp: string;
  fee_cost: string;
  ts_ms?: number;
  ts?: number;
}

/** A JSON field as text ('' when absent or not a scalar). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

interface Response {
  status: number;
  body: Record<string, unknown>;
}

export class KalshiClient implements VenueClient {
  readonly venue = 'kalshi' as const;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(private readonly options: KalshiClientOptions) {
    this.base = new URL(options.restUrl.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** `path` is relative to the REST base, e.g. `/portfolio/orders?client_order_id=…`. */
  private async request(method: string, path: string, body?: unknown, maxBytes = ANSWER_BYTES): Promise<Response> {
    const full = `${this.base.pathname}${path}`;
    const headers: Record<string, string> = kalshiSignedHeaders(
      this.options.credentials.keyId,
      this.options.credentials.privateKey,
      method,
      full,
    );
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: globalThis.Response;
    try {
      res = await fetch(`${this.base.origin}${full}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...NO_REDIRECT,
      });
    } catch (error) {
      throw new VenueAmbiguous(`kalshi ${method} ${path.split('?')[0]}: ${fetchErrorText(error)}`);
    }
    let text: string;
    try {
      text = await readBounded(res, maxBytes);
    } catch (error) {
      // Too large, cut short or timed out: what the venue did is not known.
      throw new VenueAmbiguous(`kalshi ${method} ${path.split('?')[0]}: HTTP ${res.status}, answer not read: ${fetchErrorText(error)}`);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { raw: text.slice(0, 200) };
    }
    return { status: res.status, body: parsed };
  }

  /** Kalshi's YES-leg side and price for our outcome order. */
  static wire(order: OrderRequest): { side: 'bid' | 'ask'; price: number } {
    const buysYes = (order.outcome === 'yes') === (order.side === 'buy');
    const price = order.outcome === 'yes' ? order.limitPrice : PRICE_ONE - order.limitPrice;
    return { side: buysYes ? 'bid' : 'ask', price };
  }

  async place(order: OrderRequest): Promise<VenueOrderReport> {
    const { side, price } = KalshiClient.wire(order);
    const res = await this.request('POST', '/portfolio/events/orders', {
      ticker: order.venueMarket,
      side,
      count: formatSize(order.size),
      price: formatPrice(price),
      time_in_force: 'immediate_or_cancel',
      self_trade_prevention_type: 'taker_at_cross',
      client_order_id: order.clientOrderId,
    });
    if (res.status === 409) {
      // Already placed under this id (our own earlier attempt): report what the venue has.
      const existing = await this.find(order);
      if (existing) return existing;
      throw new VenueAmbiguous('kalshi 409 for a client_order_id it cannot find');
    }
    if (res.status >= 500) throw new VenueAmbiguous(`kalshi ${res.status}: ${kalshiErrorText(res.body)}`);
    if (res.status !== 201 && res.status !== 200) {
      throw new VenueRejected(
        `kalshi ${res.status}: ${kalshiErrorText(res.body)}`,
        res.status,
        isInsufficientBalance(res.body) ? 'insufficient-balance' : undefined,
      );
    }
    const orderId = text(res.body.order_id);
    const filled = parseSize(text(res.body.fill_count) || '0');
    const remaining = parseSize(text(res.body.remaining_count) || '0');
    const fills = filled > 0 ? await this.fills(order, orderId) : [];
    return {
      venueOrderId: orderId,
      status: remaining > 0 ? 'resting' : filled >= order.size ? 'filled' : 'cancelled',
      filledSize: filled,
      fills,
    };
  }

  /**
   * The order's fills, each with what it cost us in fees: the balance change Kalshi's rounding rules
   * give it (kalshiBalanceChanges, fills oldest first) less its price, so that what the ledger books
   * is what left or reached the balance.
   */
  private async fills(order: OrderRequest, orderId: string): Promise<VenueFill[]> {
    const res = await this.request('GET', `/portfolio/fills?order_id=${encodeURIComponent(orderId)}&limit=1000`, undefined, PAGE_BYTES);
    if (res.status !== 200) throw new VenueAmbiguous(`kalshi fills ${res.status}: ${kalshiErrorText(res.body)}`);
    // Newest first on the wire; the rounding accumulator runs oldest first.
    const list = ((res.body.fills ?? []) as KalshiFill[]).slice().reverse();
    const fills = list.map((f) => {
      const yes = parsePrice(f.yes_price_dollars);
      const price = order.outcome === 'yes' ? yes : PRICE_ONE - yes;
      const size = parseSize(f.count_fp);
      // Trade fees come with up to six decimals.
      const tradeFee = parseDecimal(f.fee_cost, 6);
      return { fillId: f.fill_id, price, size, tradeFee, ts: f.ts_ms ?? (f.ts ?? Math.floor(Date.now() / 1000)) * 1000 };
    });
    const buy = order.side === 'buy';
    const changes = kalshiBalanceChanges(fills.map((f) => ({ revenue: (buy ? -1 : 1) * f.price * f.size, tradeFee: f.tradeFee })));
    return fills.map(({ fillId, price, size, ts }, i) => {
      const moved = changes[i]! / 100; // millionths → ten-thousandths: the change is on the cent grid
      const fee = buy ? -moved - notionalCeil(price, size) : proceedsFloor(price, size) - moved;
      return { fillId, price, size, fee, ts };
    });
  }

  async find(order: OrderRequest): Promise<VenueOrderReport | undefined> {
    const found = await this.byClientOrderId(order);
    if (!found) return undefined;
    const filled = parseSize(found.fill_count_fp);
    const fills = filled > 0 ? await this.fills(order, found.order_id) : [];
    const status =
      found.status === 'resting' || found.status === 'pending' ? 'resting' : found.status === 'executed' ? 'filled' : 'cancelled';
    return { venueOrderId: found.order_id, status, filledSize: filled, fills };
  }

  /** Our order among the ticker's orders created since just before its intent, every page read. */
  private async byClientOrderId(order: OrderRequest): Promise<KalshiOrder | undefined> {
    const since = Math.floor(order.createdTs / 1000) - FIND_SLACK_S;
    let cursor = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = `ticker=${encodeURIComponent(order.venueMarket)}&min_ts=${since}&limit=${PAGE}`;
      const res = await this.request(
        'GET',
        `/portfolio/orders?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined,
        PAGE_BYTES,
      );
      if (res.status !== 200) throw new VenueAmbiguous(`kalshi orders ${res.status}: ${kalshiErrorText(res.body)}`);
      const found = ((res.body.orders ?? []) as KalshiOrder[]).find((o) => o.client_order_id === order.clientOrderId);
      if (found) return found;
      cursor = text(res.body.cursor);
      if (!cursor) return undefined;
    }
    throw new VenueAmbiguous(`kalshi orders of ${order.venueMarket}: more than ${MAX_PAGES} pages since ${since}`);
  }

  async cancel(_order: OrderRequest, venueOrderId: string): Promise<void> {
    const res = await this.request('DELETE', `/portfolio/events/orders/${encodeURIComponent(venueOrderId)}`);
    if (res.status === 404 || res.status === 200) return;
    throw new VenueAmbiguous(`kalshi cancel ${res.status}`);
  }
}
