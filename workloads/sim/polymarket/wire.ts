// Polymarket CLOB JSON shapes, built from the simulator's state: the REST /book body (each
// token's view of the one YES ladder; its hash is what the market channel's events carry),
// CLOB markets, orders, trades and the market channel's book and market_resolved events. Prices
// and sizes are decimals without trailing zeros ("0.48", "30").
import { createHash } from 'node:crypto';
import { PRICE_ONE } from '../book.js';
import type { Schedule } from '../core/venue.js';
import { isoTime, polyPrice, polySize } from '../format.js';
import { tokenId, type Outcome, type PMarket, type POrder, type PTrade } from './state.js';

export interface BookSummary {
  market: string;
  asset_id: string;
  timestamp: string;
  hash: string;
  bids: Array<{ price: string; size: string }>;
  asks: Array<{ price: string; size: string }>;
  min_order_size: string;
  tick_size: string;
  neg_risk: boolean;
  last_trade_price: string;
}

/**
 * What the venue's `base_fee`, `taker_base_fee` and `tbf` say: 1000 where takers pay, 0 where the
 * market is fee-free; a flag, not the rate, which is `fd.r` (docs/venue-conformance.md P6).
 */
export const baseFee = (m: PMarket): number => (m.sim.game.polymarket.feeRate > 0 ? 1000 : 0);

/** Liquidity rewards: none in the scenario's markets. */
const rewards = { max_spread: 0, min_size: 0, rates: null };

export const UNAVAILABLE = { error: 'service unavailable' };

/** Cursor pagination: a base64 offset, and "LTE=" (base64 of -1) once there is no next page. */
export const cursorOf = (n: number): string => Buffer.from(String(n)).toString('base64');
export const END_CURSOR = 'LTE=';
export const offsetOf = (cursor: string | null): number => Number(Buffer.from(cursor ?? 'MA==', 'base64').toString()) || 0;

export const otherTeam = (m: PMarket): string => (m.sim.team === m.sim.game.home ? m.sim.game.away : m.sim.game.home);
export const outcomeName = (m: PMarket, outcome: Outcome): string => (outcome === 'yes' ? m.sim.team : otherTeam(m));
export const slugOf = (m: PMarket): string =>
  m.sim.game.polymarket.slug ?? `${m.sim.game.sport}-${m.sim.game.away}-${m.sim.game.home}`.toLowerCase();
export const question = (m: PMarket): string => `${m.sim.game.title ?? `${m.sim.game.away} vs. ${m.sim.game.home}`}`;
export const questionId = (m: PMarket): string => `0x${createHash('sha256').update(`q:${m.sim.id}`).digest('hex')}`;
export const gammaId = (m: PMarket): string => String(500_000 + m.index);
export const gameStart = (m: PMarket, schedule: Schedule): string => isoTime(schedule.startMs + m.sim.game.startsAt);
export const endDate = (schedule: Schedule): string => isoTime(schedule.startMs + schedule.durationMs);

/** A token's levels: bids ascending, asks descending. The NO token's bids are 1 − (YES asks), its asks 1 − (YES bids). */
export function tokenLevels(m: PMarket, outcome: Outcome): { bids: Array<[number, number]>; asks: Array<[number, number]> } {
  const bids = m.book.levels('bid');
  const asks = m.book.levels('ask');
  if (outcome === 'yes') return { bids, asks: [...asks].reverse() };
  return {
    bids: [...asks].reverse().map(([p, s]) => [PRICE_ONE - p, s] as [number, number]),
    asks: bids.map(([p, s]) => [PRICE_ONE - p, s] as [number, number]),
  };
}

/** GET /book for one token (cached on the market until its book changes). */
export function summary(m: PMarket, outcome: Outcome): BookSummary {
  const cached = m.summaries[outcome];
  if (cached) return cached;
  const { bids, asks } = tokenLevels(m, outcome);
  const last = outcome === 'yes' ? m.lastTrade.price : PRICE_ONE - m.lastTrade.price;
  const body: BookSummary = {
    market: m.sim.conditionId,
    asset_id: tokenId(m, outcome),
    timestamp: String(m.changedMs),
    hash: '',
    bids: bids.map(([p, s]) => ({ price: polyPrice(p), size: polySize(s) })),
    asks: asks.map(([p, s]) => ({ price: polyPrice(p), size: polySize(s) })),
    min_order_size: '5',
    tick_size: m.tick,
    neg_risk: false,
    last_trade_price: polyPrice(last),
  };
  body.hash = createHash('sha1').update(JSON.stringify(body)).digest('hex');
  m.summaries[outcome] = body;
  return body;
}

export function bestOf(m: PMarket, outcome: Outcome): { best_bid: string; best_ask: string } {
  // The NO token's best bid is 1 − the YES best ask, and its best ask 1 − the YES best bid.
  const bid = m.book.best(outcome === 'yes' ? 'bid' : 'ask')?.[0];
  const ask = m.book.best(outcome === 'yes' ? 'ask' : 'bid')?.[0];
  const price = (p: number | undefined, none: string) => (p === undefined ? none : polyPrice(outcome === 'yes' ? p : PRICE_ONE - p));
  return { best_bid: price(bid, '0'), best_ask: price(ask, '1') };
}

export function bookEvent(m: PMarket, outcome: Outcome) {
  const s = summary(m, outcome);
  return {
    event_type: 'book',
    asset_id: s.asset_id,
    market: s.market,
    bids: s.bids,
    asks: s.asks,
    timestamp: s.timestamp,
    hash: s.hash,
    last_trade_price: s.last_trade_price,
  };
}

export function resolvedEvent(m: PMarket, winner: Outcome, resolvedMs: number) {
  return {
    event_type: 'market_resolved',
    id: gammaId(m),
    question: question(m),
    market: m.sim.conditionId,
    slug: slugOf(m),
    assets_ids: [m.sim.yesTokenId, m.sim.noTokenId],
    outcomes: [m.sim.team, otherTeam(m)],
    winning_asset_id: tokenId(m, winner),
    winning_outcome: outcomeName(m, winner),
    timestamp: String(resolvedMs),
  };
}

/** The winner once the market has resolved. */
export const resolvedTo = (m: PMarket): Outcome | undefined => (m.resolution?.resolvedMs === undefined ? undefined : m.resolution.winner);

/** The YES token's price: the book's mid while trading, the last trade once closed, 1 or 0 once resolved. */
export function yesPrice(m: PMarket): number {
  const winner = resolvedTo(m);
  if (winner) return winner === 'yes' ? 1 : 0;
  if (m.resolution) return m.lastTrade.price / PRICE_ONE;
  const yes = bestOf(m, 'yes');
  return (Number(yes.best_bid) + Number(yes.best_ask)) / 2;
}

function clobTokens(m: PMarket) {
  const mid = yesPrice(m);
  return [
    { token_id: m.sim.yesTokenId, outcome: m.sim.team, price: mid, winner: resolvedTo(m) === 'yes' },
    { token_id: m.sim.noTokenId, outcome: otherTeam(m), price: 1 - mid, winner: resolvedTo(m) === 'no' },
  ];
}

/** A CLOB market as `GET /simplified-markets` lists it. */
export function simplifiedMarketJson(m: PMarket) {
  return {
    condition_id: m.sim.conditionId,
    tokens: clobTokens(m),
    rewards,
    active: true,
    closed: m.resolution !== undefined,
    archived: false,
    accepting_orders: m.resolution === undefined,
  };
}

/** A CLOB market as `GET /markets` and `GET /markets/{condition_id}` give it. */
export function clobMarketJson(m: PMarket, schedule: Schedule) {
  return {
    ...simplifiedMarketJson(m),
    question_id: questionId(m),
    enable_order_book: true,
    accepting_order_timestamp: isoTime(schedule.startMs),
    minimum_order_size: 5,
    minimum_tick_size: Number(m.tick),
    neg_risk: false,
    neg_risk_market_id: '',
    neg_risk_request_id: '',
    market_slug: slugOf(m),
    question: question(m),
    description: `${question(m)}: resolves to the winner of the game.`,
    end_date_iso: endDate(schedule),
    game_start_time: gameStart(m, schedule),
    seconds_delay: Math.round(m.sim.game.polymarket.matchingDelayMs / 1000),
    fpmm: '',
    icon: '',
    image: '',
    is_50_50_outcome: false,
    notifications_enabled: true,
    tags: ['Sports', m.sim.game.sport.toUpperCase()],
    maker_base_fee: 0,
    taker_base_fee: baseFee(m),
  };
}

/**
 * `GET /clob-markets/{condition_id}` in its compact form, as the official clients read it: tokens,
 * tick, minimum size, neg risk, and the fee block `fd {r, e, to}` they price fees with.
 */
export function compactMarketJson(m: PMarket, schedule: Schedule) {
  const { feeRate, feeExponent, matchingDelayMs } = m.sim.game.polymarket;
  return {
    c: m.sim.conditionId,
    t: [
      { t: m.sim.yesTokenId, o: m.sim.team },
      { t: m.sim.noTokenId, o: otherTeam(m) },
    ],
    mts: Number(m.tick),
    mos: 5,
    nr: false,
    fd: { r: feeRate, e: feeExponent, to: true },
    mbf: 0,
    tbf: baseFee(m),
    gst: gameStart(m, schedule),
    r: null,
    ao: m.resolution === undefined,
    aot: isoTime(schedule.startMs),
    sd: Math.round(matchingDelayMs / 1000),
    cbos: false,
    rfqe: false,
    itode: false,
    ibce: false,
    oas: 0,
  };
}

export function orderJson(o: POrder) {
  return {
    id: o.id,
    status: o.status,
    owner: o.owner,
    maker_address: o.makerAddress,
    market: o.market.sim.conditionId,
    asset_id: o.assetId,
    side: o.side,
    original_size: polySize(o.originalSize),
    size_matched: polySize(o.sizeMatched),
    price: polyPrice(o.price),
    outcome: outcomeName(o.market, o.outcome),
    created_at: o.createdSec,
    expiration: o.expiration,
    order_type: o.orderType,
    associate_trades: [],
  };
}

/**
 * A trade as `GET /data/trades` reports it. `fee_rate_bps` is "0" as live fills have shown it while
 * a fee was charged (py-clob-client-v2 issue #107): clients price fees from the market's `fd`.
 */
export function tradeJson(t: PTrade) {
  return {
    id: t.id,
    taker_order_id: t.takerOrderId,
    market: t.market.sim.conditionId,
    asset_id: t.assetId,
    side: t.side,
    size: polySize(t.size),
    fee_rate_bps: '0',
    price: polyPrice(t.price),
    status: t.status,
    match_time: String(t.matchSec),
    last_update: String(t.lastUpdateSec),
    outcome: outcomeName(t.market, t.outcome),
    bucket_index: t.bucket,
    owner: t.owner,
    maker_address: t.address,
    maker_orders: [
      {
        order_id: t.maker.orderId,
        owner: t.maker.owner,
        maker_address: t.maker.makerAddress,
        matched_amount: polySize(t.maker.size),
        price: polyPrice(t.maker.price),
        fee_rate_bps: '0',
        asset_id: t.assetId,
        outcome: outcomeName(t.market, t.outcome),
        side: t.side === 'BUY' ? 'SELL' : 'BUY',
      },
    ],
    ...(t.transactionHash ? { transaction_hash: t.transactionHash } : {}),
    err_msg: t.error ?? null,
    trader_side: 'TAKER',
  };
}
