// Kalshi's JSON shapes, built from the simulator's state: the portfolio's REST bodies (orders,
// fills, positions, settlements), error bodies and WebSocket messages (market data: market-wire.ts).
// Kalshi's fixed-point API writes prices as dollar strings with four decimals (`*_dollars`,
// "0.0800") and counts with two (`*_fp`, "3.00"); the book's asks are NO bids at 1 − p.
import { randomUUID } from 'node:crypto';
import { PRICE_ONE, type BookSide, type LadderBook, type LevelChange } from '../book.js';
import { dollars, fp, isoTime } from '../format.js';
import type { KMarket, KOrder, KTrade, Position } from './state.js';

/**
 * Kalshi's error body for order, auth and exchange errors: nested under `error`, as the venue sends
 * 17 of 19 recorded 4xx (docs/venue-conformance.md, error body). The code catalogue is unpublished;
 * codes not recorded there are ours.
 */
export function errorBody(code: string, message: string, details = ''): { error: Record<string, string> } {
  return { error: { code, message, details, service: 'exchange' } };
}

/** A body that is not JSON: the venue's flat shape for decode errors. */
export const notJsonBody = (details: string) => ({ code: 'bad_request', message: 'bad request', details });

/** A query parameter out of range: the bare shape of the venue's parameter validation. */
export const paramErrorBody = (msg: string) => ({ msg });

export const UNAVAILABLE = errorBody('service_unavailable', 'service unavailable');

/** One side as [price, count] pairs: YES bids as they are, asks as NO bids on the no-leg scale (ascending), or on the yes scale. */
export function levelsFp(book: LadderBook, side: BookSide, useYesPrice: boolean): Array<[string, string]> {
  const levels = book.levels(side);
  if (side === 'bid') return levels.map(([p, s]) => [dollars(p), fp(s)]);
  const out: Array<[string, string]> = levels.map(([p, s]) => [dollars(useYesPrice ? p : PRICE_ONE - p), fp(s)]);
  return useYesPrice ? out : out.reverse();
}

// ---------------------------------------------------------------------------------------------
// WebSocket messages (the `msg` of each)

export function snapshotMsg(m: KMarket, useYesPrice: boolean): Record<string, unknown> {
  const msg: Record<string, unknown> = { market_ticker: m.sim.kalshiTicker, market_id: m.sim.kalshiMarketId };
  const yes = levelsFp(m.book, 'bid', useYesPrice);
  const no = levelsFp(m.book, 'ask', useYesPrice);
  if (yes.length > 0) msg.yes_dollars_fp = yes;
  if (no.length > 0) msg.no_dollars_fp = no;
  return msg;
}

/** `clientOrderId`: set when the change is the receiving key's own order. */
export function deltaMsg(
  m: KMarket,
  change: LevelChange,
  useYesPrice: boolean,
  tsMs: number,
  clientOrderId?: string,
): Record<string, unknown> {
  const yesSide = change.side === 'bid';
  const price = yesSide || useYesPrice ? change.price : PRICE_ONE - change.price;
  return {
    market_ticker: m.sim.kalshiTicker,
    market_id: m.sim.kalshiMarketId,
    price_dollars: dollars(price),
    delta_fp: fp(change.delta),
    side: yesSide ? 'yes' : 'no',
    ts: isoTime(tsMs),
    ts_ms: tsMs,
    ...(clientOrderId ? { client_order_id: clientOrderId } : {}),
  };
}

export function tickerMsg(m: KMarket, tsMs: number) {
  const bid = m.book.best('bid');
  const ask = m.book.best('ask');
  return {
    market_ticker: m.sim.kalshiTicker,
    market_id: m.sim.kalshiMarketId,
    price_dollars: dollars(m.lastPrice ?? 0),
    yes_bid_dollars: dollars(bid?.[0] ?? 0),
    yes_ask_dollars: dollars(ask?.[0] ?? PRICE_ONE),
    volume_fp: fp(m.volume),
    open_interest_fp: fp(m.openInterest),
    dollar_volume: Math.round(m.dollarVolume / 10_000),
    dollar_open_interest: Math.round(m.openInterest / 200),
    yes_bid_size_fp: fp(bid?.[1] ?? 0),
    yes_ask_size_fp: fp(ask?.[1] ?? 0),
    last_trade_size_fp: fp(m.lastTradeSize),
    ts: Math.floor(tsMs / 1000),
    ts_ms: tsMs,
    time: isoTime(tsMs),
  };
}

export function tradeMsg(m: KMarket, t: KTrade) {
  return {
    trade_id: t.id,
    market_ticker: m.sim.kalshiTicker,
    yes_price_dollars: dollars(t.price),
    no_price_dollars: dollars(PRICE_ONE - t.price),
    count_fp: fp(t.size),
    taker_outcome_side: t.takerSide === 'bid' ? 'yes' : 'no',
    taker_book_side: t.takerSide,
    taker_side: t.takerSide === 'bid' ? 'yes' : 'no',
    ts: Math.floor(t.tsMs / 1000),
    ts_ms: t.tsMs,
  };
}

export function fillMsg(fill: KalshiFill, postPosition: number) {
  return {
    trade_id: fill.trade_id,
    order_id: fill.order_id,
    market_ticker: fill.ticker,
    is_taker: fill.is_taker,
    side: fill.side,
    action: fill.action,
    outcome_side: fill.outcome_side,
    book_side: fill.book_side,
    yes_price_dollars: fill.yes_price_dollars,
    count_fp: fill.count_fp,
    ts: fill.ts,
    ts_ms: fill.ts_ms,
    post_position_fp: fp(postPosition),
    ...(fill.client_order_id ? { client_order_id: fill.client_order_id } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// REST bodies (market data: market-wire.ts)

export function orderJson(o: KOrder) {
  return {
    order_id: o.orderId,
    user_id: o.owner,
    client_order_id: o.clientOrderId,
    ticker: o.ticker,
    side: 'yes',
    action: o.side === 'bid' ? 'buy' : 'sell',
    outcome_side: o.side === 'bid' ? 'yes' : 'no',
    book_side: o.side,
    type: 'limit',
    status: o.status,
    yes_price_dollars: dollars(o.price),
    no_price_dollars: dollars(PRICE_ONE - o.price),
    fill_count_fp: fp(o.filled),
    remaining_count_fp: fp(o.remaining),
    initial_count_fp: fp(o.initial),
    taker_fees_dollars: dollars(o.takerFees),
    maker_fees_dollars: dollars(o.makerFees),
    taker_fill_cost_dollars: dollars(o.takerCost),
    maker_fill_cost_dollars: dollars(o.makerCost),
    time_in_force: o.tif,
    self_trade_prevention_type: o.stp,
    expiration_time: null,
    created_time: new Date(o.createdMs).toISOString(),
    last_update_time: new Date(o.updatedMs).toISOString(),
  };
}

/** CreateOrderV2's answer: what filled at once and what is left. */
export function createdJson(o: KOrder, filledNow: number, notional: number, tsMs: number): Record<string, unknown> {
  const response: Record<string, unknown> = {
    order_id: o.orderId,
    client_order_id: o.clientOrderId,
    fill_count: fp(filledNow),
    remaining_count: fp(o.remaining),
    ts_ms: tsMs,
  };
  if (filledNow > 0) {
    response.average_fill_price = dollars(Math.round(notional / filledNow));
    response.average_fee_paid = dollars(Math.ceil(o.takerFees / (filledNow / 100)));
  }
  return response;
}

export interface FillFacts {
  order: KOrder | undefined;
  m: KMarket;
  side: BookSide;
  price: number;
  size: number;
  isTaker: boolean;
  fee: number;
  tradeId: string;
  tsMs: number;
}

export function fillJson({ order, m, side, price, size, isTaker, fee, tradeId, tsMs }: FillFacts) {
  return {
    fill_id: randomUUID(),
    trade_id: tradeId,
    order_id: order?.orderId ?? '',
    ...(order?.clientOrderId ? { client_order_id: order.clientOrderId } : {}),
    ticker: m.sim.kalshiTicker,
    market_ticker: m.sim.kalshiTicker,
    side: 'yes',
    action: side === 'bid' ? 'buy' : 'sell',
    outcome_side: side === 'bid' ? 'yes' : 'no',
    book_side: side,
    count_fp: fp(size),
    yes_price_dollars: dollars(price),
    no_price_dollars: dollars(PRICE_ONE - price),
    is_taker: isTaker,
    // The trade fee (rounded up to $0.0001), six decimals as recorded on the venue (docs/venue-conformance.md K12);
    // rounding fees and rebates move the balance but not fee_cost.
    fee_cost: `${dollars(fee)}00`,
    exchange_index: 0,
    created_time: new Date(tsMs).toISOString(),
    ts: Math.floor(tsMs / 1000),
    ts_ms: tsMs,
  };
}
export type KalshiFill = ReturnType<typeof fillJson>;

export function positionJson(ticker: string, p: Position, restingOrders: number) {
  return {
    ticker,
    exchange_index: 0,
    position_fp: fp(p.position),
    market_exposure_dollars: dollars(p.exposure),
    total_traded_dollars: dollars(p.traded),
    fees_paid_dollars: dollars(p.fees),
    realized_pnl_dollars: dollars(p.realized),
    resting_orders_count: restingOrders,
    last_updated_ts: new Date(p.updatedMs).toISOString(),
  };
}

/** One event's positions summed (a game's markets together). */
export function eventPositionJson(eventTicker: string, positions: Position[]) {
  const sum = (f: (p: Position) => number) => positions.reduce((s, p) => s + f(p), 0);
  return {
    event_ticker: eventTicker,
    total_cost_dollars: dollars(sum((p) => p.traded)),
    total_cost_shares_fp: fp(sum((p) => Math.abs(p.position))),
    event_exposure_dollars: dollars(sum((p) => p.exposure)),
    realized_pnl_dollars: dollars(sum((p) => p.realized)),
    fees_paid_dollars: dollars(sum((p) => p.fees)),
  };
}

/** One holding paid out: `yes`/`no` contracts held, revenue in cents (one hundredth of a contract pays a cent). */
export function settlementJson(m: KMarket, result: 'yes' | 'no', yes: number, no: number, revenueCents: number, tsMs: number) {
  return {
    ticker: m.sim.kalshiTicker,
    event_ticker: m.sim.game.kalshi.eventTicker,
    market_result: result,
    yes_count_fp: fp(yes),
    no_count_fp: fp(no),
    revenue: revenueCents,
    fee_cost: dollars(0),
    value: result === 'yes' ? 100 : 0,
    settled_time: new Date(tsMs).toISOString(),
  };
}
export type KalshiSettlement = ReturnType<typeof settlementJson>;
