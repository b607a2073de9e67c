// Kalshi's JSON shapes, built from the simulator's state: REST bodies (markets, events, orders,
// fills, positions, settlements, errors) and WebSocket messages. Kalshi's fixed-point API writes
// prices as dollar strings with four decimals (`*_dollars`, "0.0800") and counts with two
// (`*_fp`, "3.00"); the book's asks are NO bids at 1 − p.
import { randomUUID } from 'node:crypto';
import { PRICE_ONE, type BookSide, type LadderBook, type LevelChange } from '../book.js';
import type { Schedule } from '../core/venue.js';
import { dollars, fp, isoTime } from '../format.js';
import type { GameSpec } from '../scenario.js';
import type { KMarket, KOrder, Position } from './state.js';

/** Kalshi's ErrorResponse body (the code catalogue is unpublished; codes here are ours). */
export function errorBody(code: string, message: string, details = ''): Record<string, string> {
  return { code, message, details, service: 'exchange' };
}

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

export function tradeMsg(m: KMarket, price: number, size: number, takerSide: BookSide, tsMs: number) {
  return {
    trade_id: randomUUID(),
    market_ticker: m.sim.kalshiTicker,
    yes_price_dollars: dollars(price),
    no_price_dollars: dollars(PRICE_ONE - price),
    count_fp: fp(size),
    taker_outcome_side: takerSide === 'bid' ? 'yes' : 'no',
    taker_book_side: takerSide,
    taker_side: takerSide === 'bid' ? 'yes' : 'no',
    ts: Math.floor(tsMs / 1000),
    ts_ms: tsMs,
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
// REST bodies

/** REST answers in one vocabulary (active, determined, finalized) and filters in another (open, closed, settled). */
export function marketStatus(m: KMarket): 'active' | 'determined' | 'finalized' {
  return !m.resolution ? 'active' : m.resolution.settledMs === undefined ? 'determined' : 'finalized';
}

const statusFilters: Record<string, string[]> = { open: ['active'], closed: ['closed', 'determined'], settled: ['finalized'] };
export const statusFilter = (status: string): string[] => statusFilters[status] ?? [];

export const seriesOf = (game: GameSpec): string => game.kalshi.seriesTicker ?? game.kalshi.eventTicker.split('-')[0]!;

export function marketJson(m: KMarket, schedule: Schedule) {
  const bid = m.book.best('bid');
  const ask = m.book.best('ask');
  const game = m.sim.game;
  const open = schedule.startMs + game.startsAt;
  return {
    ticker: m.sim.kalshiTicker,
    event_ticker: game.kalshi.eventTicker,
    market_type: 'binary',
    title: `${game.title ?? `${game.away} at ${game.home}`} Winner?`,
    subtitle: '',
    yes_sub_title: m.sim.team,
    no_sub_title: m.sim.team,
    open_time: isoTime(schedule.startMs),
    close_time: isoTime(open + schedule.durationMs),
    expected_expiration_time: isoTime(open + schedule.durationMs),
    status: marketStatus(m),
    yes_bid_dollars: dollars(bid?.[0] ?? 0),
    yes_ask_dollars: dollars(ask?.[0] ?? PRICE_ONE),
    no_bid_dollars: dollars(ask ? PRICE_ONE - ask[0] : 0),
    no_ask_dollars: dollars(bid ? PRICE_ONE - bid[0] : PRICE_ONE),
    yes_bid_size_fp: fp(bid?.[1] ?? 0),
    yes_ask_size_fp: fp(ask?.[1] ?? 0),
    last_price_dollars: dollars(m.lastPrice ?? 0),
    volume_fp: fp(m.volume),
    volume_24h_fp: fp(m.volume),
    open_interest_fp: fp(m.openInterest),
    result: m.resolution?.result ?? '',
    ...(m.resolution ? { settlement_value_dollars: dollars(m.resolution.result === 'yes' ? PRICE_ONE : 0) } : {}),
    ...(m.resolution?.settledMs !== undefined ? { settlement_ts: isoTime(m.resolution.settledMs) } : {}),
    can_close_early: true,
    price_level_structure: 'linear_cent',
    price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
  };
}

export function eventJson(ticker: string, game: GameSpec, markets: KMarket[], schedule: Schedule, nested: boolean) {
  return {
    event_ticker: ticker,
    series_ticker: seriesOf(game),
    title: game.title ?? `${game.away} at ${game.home}`,
    sub_title: '',
    category: 'Sports',
    mutually_exclusive: true,
    ...(nested ? { markets: markets.map((m) => marketJson(m, schedule)) } : {}),
  };
}

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
    fee_cost: dollars(fee),
    created_time: new Date(tsMs).toISOString(),
    ts: Math.floor(tsMs / 1000),
    ts_ms: tsMs,
  };
}
export type KalshiFill = ReturnType<typeof fillJson>;

export function positionJson(ticker: string, p: Position, restingOrders: number) {
  return {
    ticker,
    position_fp: fp(p.position),
    market_exposure_dollars: dollars(p.traded),
    total_traded_dollars: dollars(p.traded),
    fees_paid_dollars: dollars(p.fees),
    realized_pnl_dollars: '0.0000',
    resting_orders_count: restingOrders,
    last_updated_ts: new Date(p.updatedMs).toISOString(),
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
