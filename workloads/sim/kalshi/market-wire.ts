// Kalshi's public market data as JSON: Market, EventData, Series, the series' fee changes and the
// public trades, with every field the venue always sends (the official SDK's models refuse an
// answer without them). Prices are four-decimal dollar strings, counts two-decimal `_fp` strings,
// times RFC 3339.
import { PRICE_ONE } from '../book.js';
import type { Schedule } from '../core/venue.js';
import { dollars, fp, isoTime } from '../format.js';
import type { GameSpec } from '../scenario.js';
import type { KalshiState, KMarket, KSeries, KTrade } from './state.js';

const DAY_MS = 86_400_000;
/** How long after determination a market settles when the scenario does not say (the venue's usual timer). */
const DEFAULT_SETTLEMENT_TIMER_S = 300;

/** REST answers in one vocabulary (active, determined, finalized) and filters in another (open, closed, settled). */
export function marketStatus(m: KMarket): 'active' | 'determined' | 'finalized' {
  return !m.resolution ? 'active' : m.resolution.settledMs === undefined ? 'determined' : 'finalized';
}

const statusFilters: Record<string, string[]> = { open: ['active'], closed: ['closed', 'determined'], settled: ['finalized'] };
export const statusFilter = (status: string): string[] => statusFilters[status] ?? [];

const gameTitle = (game: GameSpec): string => game.title ?? `${game.away} at ${game.home}`;

/** The market's book at the scenario's start: the "previous" (day-before) quotes the venue reports. */
export interface Previous {
  bid: number;
  ask: number;
  price: number;
}

export function marketJson(m: KMarket, schedule: Schedule, previous: Previous, settleAfterMs: number | undefined) {
  const bid = m.book.best('bid');
  const ask = m.book.best('ask');
  const game = m.sim.game;
  const open = schedule.startMs + game.startsAt;
  const close = open + schedule.durationMs;
  const winner = m.resolution && (m.resolution.result === 'yes' ? m.sim.team : otherTeam(m));
  return {
    ticker: m.sim.kalshiTicker,
    event_ticker: game.kalshi.eventTicker,
    market_type: 'binary',
    title: `${gameTitle(game)} Winner?`,
    subtitle: '',
    yes_sub_title: m.sim.team,
    no_sub_title: m.sim.team,
    created_time: isoTime(schedule.startMs - DAY_MS),
    updated_time: isoTime(schedule.startMs),
    open_time: isoTime(schedule.startMs),
    close_time: isoTime(close),
    expected_expiration_time: isoTime(close),
    latest_expiration_time: isoTime(close + 14 * DAY_MS),
    settlement_timer_seconds: settleAfterMs === undefined ? DEFAULT_SETTLEMENT_TIMER_S : Math.round(settleAfterMs / 1000),
    status: marketStatus(m),
    yes_bid_dollars: dollars(bid?.[0] ?? 0),
    yes_ask_dollars: dollars(ask?.[0] ?? PRICE_ONE),
    no_bid_dollars: dollars(ask ? PRICE_ONE - ask[0] : 0),
    no_ask_dollars: dollars(bid ? PRICE_ONE - bid[0] : PRICE_ONE),
    yes_bid_size_fp: fp(bid?.[1] ?? 0),
    yes_ask_size_fp: fp(ask?.[1] ?? 0),
    last_price_dollars: dollars(m.lastPrice ?? 0),
    previous_yes_bid_dollars: dollars(previous.bid),
    previous_yes_ask_dollars: dollars(previous.ask),
    previous_price_dollars: dollars(previous.price),
    volume_fp: fp(m.volume),
    volume_24h_fp: fp(m.volume),
    open_interest_fp: fp(m.openInterest),
    notional_value_dollars: dollars(PRICE_ONE),
    result: m.resolution?.result ?? '',
    expiration_value: winner ?? '',
    ...(m.resolution ? { settlement_value_dollars: dollars(m.resolution.result === 'yes' ? PRICE_ONE : 0) } : {}),
    ...(m.resolution?.settledMs !== undefined ? { settlement_ts: isoTime(m.resolution.settledMs) } : {}),
    can_close_early: true,
    early_close_condition: 'This market will close and expire early after the game ends.',
    settlement_bounds_type: 'default',
    rules_primary: `If ${m.sim.team} wins the ${gameTitle(game)} game, then the market resolves to Yes.`,
    rules_secondary: 'If the game is postponed, the market resolves when it is played or cancelled.',
    price_level_structure: 'linear_cent',
    price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
    fractional_trading_enabled: game.kalshi.fractionalTrading,
    exchange_index: 0,
  };
}

function otherTeam(m: KMarket): string {
  return m.sim.team === m.sim.game.home ? m.sim.game.away : m.sim.game.home;
}

/** A game-winner event: one market per team, exactly one of which pays (mutually exclusive, netted). */
export function eventJson(ticker: string, game: GameSpec, series: string, markets: unknown[] | undefined) {
  return {
    event_ticker: ticker,
    series_ticker: series,
    title: gameTitle(game),
    sub_title: '',
    category: 'Sports',
    mutually_exclusive: true,
    collateral_return_type: 'MECNET',
    settlement_sources: [],
    exchange_index: 0,
    ...(markets ? { markets } : {}),
  };
}

export function seriesJson(state: KalshiState, s: KSeries, nowMs: number) {
  const fees = state.feesAt(s.ticker, nowMs);
  const sport = s.game.sport.toUpperCase();
  return {
    ticker: s.ticker,
    frequency: 'custom',
    title: `${sport} game winners`,
    category: 'Sports',
    categories: ['Sports'],
    tags: [sport],
    settlement_sources: [],
    contract_url: `https://kalshi.sim.invalid/contracts/${s.ticker}.pdf`,
    contract_terms_url: `https://kalshi.sim.invalid/contract-terms/${s.ticker}.pdf`,
    fee_type: fees.feeType,
    fee_multiplier: Number(fees.multiplier),
    additional_prohibitions: [],
    exchange_index: 0,
  };
}

/** `GET /series/fee_changes`: the changes still to come (or all of them, with `show_historical`). */
export function feeChangesJson(series: KSeries[], nowMs: number, historical: boolean) {
  return {
    series_fee_change_arr: series.flatMap((s) =>
      s.changes
        .filter((c) => historical || c.atMs > nowMs)
        .map((c) => ({
          id: c.id,
          series_ticker: s.ticker,
          fee_type: c.feeType,
          fee_multiplier: Number(c.multiplier),
          scheduled_ts: isoTime(c.atMs),
        })),
    ),
  };
}

/** A public trade as `GET /markets/trades` lists it. */
export function tradeJson(m: KMarket, t: KTrade) {
  return {
    trade_id: t.id,
    ticker: m.sim.kalshiTicker,
    count_fp: fp(t.size),
    yes_price_dollars: dollars(t.price),
    no_price_dollars: dollars(PRICE_ONE - t.price),
    taker_outcome_side: t.takerSide === 'bid' ? 'yes' : 'no',
    taker_book_side: t.takerSide,
    taker_side: t.takerSide === 'bid' ? 'yes' : 'no',
    created_time: isoTime(t.tsMs),
    is_block_trade: false,
  };
}
