// Live Polymarket orders on CLOB V2 (docs/exchange-protocols.md §2.6–§2.7), always through the VPN pod's
// HTTP proxy: the client has no way to reach the venue without it.
//
// Orders are built and EIP-712 signed by Polymarket's official client (@polymarket/clob-client-v2:
// amounts rounded by its tick rules, its V2 struct and domain), never by hand. Polymarket has no
// client order id: an order is the hash of its signed struct, and each signing draws a new salt
// and timestamp. So the signed body is stored under our client order id (polymarket_signed_orders)
// and committed before it is first sent; a retry or a restart resends exactly it (the venue calls
// a repeat "Duplicated") and reconciliation looks the order up by its hash.
//
// Every order is fill-and-kill (FAK), in the terms of the outcome's own token: buying NO is buying
// the NO token, so prices need no conversion.
//
// Every answer is read with a size bound, and a redirect is never followed (undici's request does
// not; a 3xx is refused here): either makes the call's outcome unknown (VenueAmbiguous), like a
// timeout, so an order whose answer was refused is reconciled, never counted as rejected or not sent.
import { OrderBuilder, Side, SignatureTypeV2, createL2Headers, orderToJsonV2, type OrderType } from '@polymarket/clob-client-v2';
import type pg from 'pg';
import { ProxyAgent, request } from 'undici';
import { discard, isRedirect, readBoundedStream } from '../../lib/bounded-http.js';
import { privateKeyToAccount } from 'viem/accounts';
import { feesFromClobMarket, polymarketFee, type PolymarketFeeParams } from './fees.js';
import { isTick, limitOnTick, type PolymarketTick } from './ticks.js';
import { formatPrice, formatSize, parsePrice, parseSize } from '../../contracts/decimal.js';
import { POLYGON_CHAIN_ID, polymarketOrderHash, type PolymarketSignedOrder } from './order.js';
import { VenueAmbiguous, VenueRejected, type OrderRequest, type VenueClient, type VenueFill, type VenueOrderReport } from '../orders.js';

export interface PolymarketCredentials {
  apiKey: string;
  secret: string;
  passphrase: string;
  /** The signing wallet's private key (0x + 64 hex digits). */
  privateKey: string;
}

export interface PolymarketClientOptions {
  /** CLOB REST base, e.g. https://clob.polymarket.com. */
  clobUrl: string;
  credentials: PolymarketCredentials;
  /** gluetun's HTTP proxy in the VPN pod (http://host:8888); every request is tunnelled through it. */
  proxyUrl: string;
  pool: pg.Pool;
  timeoutMs?: number;
  /** How long a `delayed` order (sports matching delay) is followed before it counts as resting. */
  delayedWaitMs?: number;
  /** How long an order's trades are followed to CONFIRMED or FAILED before its outcome counts as unknown (default 30 s). */
  settleWaitMs?: number;
  /** How long a token's tick size, neg-risk flag and fee parameters are reused. */
  marketInfoTtlMs?: number;
}

interface PolyOrder {
  id: string;
  /** LIVE, MATCHED, CANCELED, DELAYED or UNMATCHED. */
  status: string;
  original_size: string;
  size_matched: string;
}

/** One trade as GET /data/trades reports it (the fields we read). */
export interface PolyTrade {
  id: string;
  taker_order_id: string;
  price: string;
  size: string;
  fee_rate_bps: string;
  match_time: string;
  /** MATCHED, MINED, CONFIRMED, RETRYING or FAILED. */
  status?: string;
  err_msg?: string | null;
}

/** A trade's last word: CONFIRMED is settled on chain; FAILED will never be. */
const FINAL_TRADE = new Set(['CONFIRMED', 'FAILED']);

interface Stored {
  hash: string;
  body: string;
}

interface MarketInfo {
  tickSize: PolymarketTick;
  negRisk: boolean;
  /** Undefined: the venue did not say what the market charges. */
  fees: PolymarketFeeParams | undefined;
  until: number;
}

interface Response {
  status: number;
  body: unknown;
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
/** An order, cancel, market or error answer: a few KiB at most. */
const ANSWER_BYTES = 256 * 1024;
/** A page of trades, each with its maker orders (a few hundred trades of a few KiB), with room to spare. */
const TRADES_PAGE_BYTES = 16 * 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error text of a CLOB answer ({error} or {errorMsg}). */
function errorText(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.error === 'string') return b.error;
    if (typeof b.errorMsg === 'string' && b.errorMsg) return b.errorMsg;
  }
  return JSON.stringify(body ?? '').slice(0, 200);
}

export class PolymarketClient implements VenueClient {
  readonly venue = 'polymarket' as const;
  readonly address: string;
  private readonly base: string;
  private readonly proxy: ProxyAgent;
  private readonly signer;
  private readonly builder: OrderBuilder;
  private readonly timeoutMs: number;
  private readonly delayedWaitMs: number;
  private readonly settleWaitMs: number;
  private readonly infoTtlMs: number;
  private readonly marketInfo = new Map<string, MarketInfo>();
  private readonly conditions = new Map<string, string>();

  constructor(private readonly options: PolymarketClientOptions) {
    if (!PRIVATE_KEY.test(options.credentials.privateKey))
      throw new Error('the Polymarket private key must be 0x followed by 64 hex digits');
    const account = privateKeyToAccount(options.credentials.privateKey as `0x${string}`);
    this.address = account.address;
    // The official client signs through anything with an account and signTypedData (a viem wallet).
    this.signer = { account, signTypedData: (args: Parameters<typeof account.signTypedData>[0]) => account.signTypedData(args) };
    this.builder = new OrderBuilder(this.signer as never, POLYGON_CHAIN_ID, SignatureTypeV2.EOA);
    this.base = options.clobUrl.replace(/\/+$/, '');
    this.proxy = new ProxyAgent(options.proxyUrl);
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.delayedWaitMs = options.delayedWaitMs ?? 15_000;
    this.settleWaitMs = options.settleWaitMs ?? 30_000;
    this.infoTtlMs = options.marketInfoTtlMs ?? 60_000;
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }

  /** One CLOB call through the proxy; `auth` adds the L2 headers over the exact body sent. */
  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: string; auth?: boolean; maxBytes?: number } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.auth) {
      const { apiKey, secret, passphrase } = this.options.credentials;
      const l2 = await createL2Headers(
        this.signer as never,
        { key: apiKey, secret, passphrase },
        { method, requestPath: path.split('?')[0]!, ...(options.body === undefined ? {} : { body: options.body }) },
      );
      Object.assign(headers, l2);
    }
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await request(`${this.base}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        dispatcher: this.proxy,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (isRedirect(res.statusCode)) {
        discard(res.body);
        throw new Error(`HTTP ${res.statusCode} redirect refused`);
      }
      const text = await readBoundedStream(res, options.maxBytes ?? ANSWER_BYTES);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = { error: text.slice(0, 200) };
      }
      return { status: res.statusCode, body };
    } catch (error) {
      throw new VenueAmbiguous(`polymarket ${method} ${path.split('?')[0]}: ${(error as Error).message}`);
    }
  }

  /**
   * A token's market as the official client reads it: its condition id (`/markets-by-token`, fixed),
   * then `/clob-markets/{condition_id}`: tick, neg risk and the fee block `fd` (reused for a while).
   */
  private async info(tokenId: string): Promise<MarketInfo> {
    const cached = this.marketInfo.get(tokenId);
    if (cached && cached.until > Date.now()) return cached;
    const failed = (what: string, res: Response) => {
      const message = `polymarket ${what} for token ${tokenId}: ${res.status} ${errorText(res.body)}`;
      return res.status === 404 || res.status === 400 ? new VenueRejected(message, res.status) : new VenueAmbiguous(message);
    };
    let conditionId = this.conditions.get(tokenId);
    if (!conditionId) {
      const byToken = await this.call('GET', `/markets-by-token/${tokenId}`);
      if (byToken.status !== 200) throw failed('market', byToken);
      const found = (byToken.body as { condition_id?: unknown } | undefined)?.condition_id;
      conditionId = typeof found === 'string' ? found : '';
      if (!/^0x[0-9a-fA-F]{64}$/.test(conditionId)) throw new VenueAmbiguous(`polymarket token ${tokenId}: no condition id`);
      this.conditions.set(tokenId, conditionId);
    }
    const res = await this.call('GET', `/clob-markets/${conditionId}`);
    if (res.status !== 200) throw failed('market info', res);
    const market = res.body as { mts?: unknown; nr?: unknown };
    const tickSize = String(market.mts);
    if (!isTick(tickSize)) throw new VenueAmbiguous(`polymarket token ${tokenId}: unknown tick size ${tickSize}`);
    const info: MarketInfo = {
      tickSize,
      negRisk: market.nr === true,
      fees: feesFromClobMarket(res.body),
      until: Date.now() + this.infoTtlMs,
    };
    this.marketInfo.set(tokenId, info);
    return info;
  }

  private async stored(clientOrderId: string): Promise<Stored | undefined> {
    const { rows } = await this.options.pool.query<{ order_hash: string; body: unknown }>(
      'select order_hash, body from polymarket_signed_orders where client_order_id = $1',
      [clientOrderId],
    );
    return rows[0] ? { hash: rows[0].order_hash, body: JSON.stringify(rows[0].body) } : undefined;
  }

  /** The order's signed body: the stored one, or a new signing committed before anything is sent. */
  private async signed(order: OrderRequest): Promise<Stored> {
    const existing = await this.stored(order.clientOrderId);
    if (existing) return existing;
    const { tickSize, negRisk } = await this.info(order.venueMarket);
    // On the tick in our favour (a buy never pays more than decided), or not sent at all.
    const limit = limitOnTick(order.limitPrice, tickSize, order.side);
    if (limit === undefined)
      throw new VenueRejected(`polymarket order at ${formatPrice(order.limitPrice)} is outside [${tickSize}, 1 - ${tickSize}]`);
    let signed;
    try {
      signed = await this.builder.buildOrder(
        {
          tokenID: order.venueMarket,
          price: Number(formatPrice(limit)),
          size: Number(formatSize(order.size)),
          side: order.side === 'buy' ? Side.BUY : Side.SELL,
        },
        { tickSize, negRisk },
        2,
      );
    } catch (error) {
      throw new VenueRejected(`polymarket order not signable: ${(error as Error).message}`);
    }
    const body = orderToJsonV2(signed as never, this.options.credentials.apiKey, 'FAK' as OrderType);
    const hash = polymarketOrderHash(body.order as PolymarketSignedOrder, negRisk);
    // Sent as PostgreSQL returns it, so that the first send and any resend are the same bytes.
    const inserted = await this.options.pool.query<{ body: unknown }>(
      'insert into polymarket_signed_orders (client_order_id, order_hash, body) values ($1, $2, $3) on conflict ' +
        '(client_order_id) do nothing returning body',
      [order.clientOrderId, hash, JSON.stringify(body)],
    );
    if (inserted.rows[0]) return { hash, body: JSON.stringify(inserted.rows[0].body) };
    // A concurrent attempt stored one first: that one is the order.
    const stored = await this.stored(order.clientOrderId);
    if (!stored) throw new Error(`signed order for ${order.clientOrderId} was not stored`);
    return stored;
  }

  async place(order: OrderRequest): Promise<VenueOrderReport> {
    const { hash, body } = await this.signed(order);
    const res = await this.call('POST', '/order', { body, auth: true });
    const text = errorText(res.body);
    if (res.status === 400 && /duplicated/i.test(text)) {
      // Our own earlier attempt got there: report what the venue has.
      const existing = await this.find(order);
      if (existing) return existing;
      throw new VenueAmbiguous(`polymarket calls order ${hash} a duplicate but cannot find it`);
    }
    if (res.status === 400 && /FAK orders are partially filled or killed/i.test(text)) {
      return { venueOrderId: hash, status: 'cancelled', filledSize: 0, fills: [], reason: 'nothing to match' };
    }
    if (res.status >= 500) throw new VenueAmbiguous(`polymarket ${res.status}: ${text}`);
    // 425 (matching engine restarting), 429, 401/403 (auth, geoblock), 400: not taken.
    if (res.status !== 200)
      throw new VenueRejected(
        `polymarket ${res.status}: ${text}`,
        res.status,
        res.status === 400 && /not enough balance/i.test(text) ? 'insufficient-balance' : undefined,
      );
    const answer = res.body as { success?: boolean; status?: string; orderID?: string };
    if (answer.success !== true) throw new VenueRejected(`polymarket refused the order: ${text}`, res.status);
    if (answer.orderID && answer.orderID.toLowerCase() !== hash)
      throw new VenueAmbiguous(`polymarket order id ${answer.orderID} is not our hash ${hash}`);
    if (answer.status === 'unmatched') return { venueOrderId: hash, status: 'cancelled', filledSize: 0, fills: [] };
    return (await this.lookup(order, hash)) ?? { venueOrderId: hash, status: 'resting', filledSize: 0, fills: [] };
  }

  async find(order: OrderRequest): Promise<VenueOrderReport | undefined> {
    const stored = await this.stored(order.clientOrderId);
    // Nothing stored: nothing was ever signed, so nothing can have been sent.
    return stored ? this.lookup(order, stored.hash) : undefined;
  }

  /**
   * The venue's view of one order, following a `delayed` one until it matches or not, and its trades
   * until each is settled on chain: only CONFIRMED trades are fills; a FAILED one is reported apart
   * (it never happened), and trades still on their way after `settleWaitMs` leave the outcome unknown.
   */
  private async lookup(order: OrderRequest, hash: string): Promise<VenueOrderReport | undefined> {
    const deadline = Date.now() + this.delayedWaitMs;
    let found: PolyOrder;
    for (;;) {
      const res = await this.call('GET', `/data/order/${hash}`, { auth: true });
      if (res.status === 404 || (res.status === 200 && !res.body)) return undefined;
      if (res.status !== 200) throw new VenueAmbiguous(`polymarket order ${hash}: ${res.status} ${errorText(res.body)}`);
      found = res.body as PolyOrder;
      if (found.status !== 'DELAYED' || Date.now() >= deadline) break;
      await sleep(100);
    }
    const settleBy = Date.now() + this.settleWaitMs;
    let trades: PolyTrade[];
    for (;;) {
      trades = await this.trades(order, hash);
      const pending = trades.filter((t) => !FINAL_TRADE.has(t.status ?? 'CONFIRMED'));
      if (pending.length === 0) break;
      if (Date.now() >= settleBy)
        throw new VenueAmbiguous(`polymarket order ${hash}: ${pending.length} trades not settled on chain (${pending[0]!.status})`);
      await sleep(100);
    }
    const confirmed = trades.filter((t) => t.status !== 'FAILED');
    const { fees } = confirmed.length > 0 ? await this.info(order.venueMarket) : { fees: undefined };
    if (confirmed.length > 0 && !fees) throw new VenueAmbiguous(`polymarket token ${order.venueMarket}: fee parameters unknown`);
    const fills = confirmed.map((t) => this.fill(t, fees!));
    const filled = fills.reduce((sum, f) => sum + f.size, 0);
    const failedTrades = trades
      .filter((t) => t.status === 'FAILED')
      .map((t) => ({ tradeId: t.id, size: parseSize(t.size), reason: t.err_msg || 'FAILED on chain' }));
    // FAK: what did not match right away is cancelled, so matched short of the size is final too.
    const status = found.status === 'LIVE' || found.status === 'DELAYED' ? 'resting' : filled >= order.size ? 'filled' : 'cancelled';
    return { venueOrderId: hash, status, filledSize: filled, fills, ...(failedTrades.length > 0 ? { failedTrades } : {}) };
  }

  /**
   * One settled trade as a fill. Its fee is the taker fee of the documented formula with the
   * market's `fd` (docs/exchange-protocols.md §2.9), not the trade's `fee_rate_bps`, which live
   * fills have reported as "0" while charging (py-clob-client-v2 issue #107).
   */
  private fill(t: PolyTrade, fees: PolymarketFeeParams): VenueFill {
    const price = parsePrice(t.price);
    const size = parseSize(t.size);
    return { fillId: t.id, price, size, fee: polymarketFee(price, size, fees), ts: Number(t.match_time) * 1000 };
  }

  /** Every trade of ours as the taker of this order, whatever its status. */
  private async trades(order: OrderRequest, hash: string): Promise<PolyTrade[]> {
    const after = Math.floor(order.createdTs / 1000) - 60;
    const trades: PolyTrade[] = [];
    let cursor = 'MA==';
    for (let page = 0; page < 100; page++) {
      const res = await this.call(
        'GET',
        `/data/trades?asset_id=${order.venueMarket}&after=${after}&next_cursor=${encodeURIComponent(cursor)}`,
        { auth: true, maxBytes: TRADES_PAGE_BYTES },
      );
      if (res.status !== 200) throw new VenueAmbiguous(`polymarket trades ${res.status}: ${errorText(res.body)}`);
      const answer = res.body as { data?: PolyTrade[]; next_cursor?: string };
      for (const t of answer.data ?? []) if (t.taker_order_id.toLowerCase() === hash) trades.push(t);
      if (!answer.next_cursor || answer.next_cursor === 'LTE=') return trades;
      cursor = answer.next_cursor;
    }
    throw new VenueAmbiguous(`polymarket trades for ${hash}: more than 100 pages`);
  }

  async cancel(_order: OrderRequest, venueOrderId: string): Promise<void> {
    const res = await this.call('DELETE', '/order', { body: JSON.stringify({ orderID: venueOrderId }), auth: true });
    if (res.status !== 200) throw new VenueAmbiguous(`polymarket cancel ${res.status}: ${errorText(res.body)}`);
  }
}
