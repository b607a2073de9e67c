// Reading each market's trading terms from the venues' public endpoints (contracts/market-params.ts).
// Kalshi: GET /markets/{ticker} (its event, fractional_trading_enabled), GET /events/{event} (the
// series, and fee_type_override / fee_multiplier_override when the event has them), GET
// /series/{series} (fee_type, fee_multiplier); scheduled changes at GET /series/fee_changes.
// Polymarket, as the official client reads it: GET /markets-by-token/{token} (the condition id),
// GET /clob-markets/{condition_id} (fd and the tick), and GET /fee-rate (base_fee, a flag: 1000 where
// takers pay, 0 where not), which must agree with fd. Anything missing, malformed or contradictory
// is unknown, with the reason: a market with unknown terms is not traded.
import type { KalshiParams, PolymarketParams, UnknownParams } from '../contracts/market-params.js';
import { feesFromClobMarket } from './polymarket/fees.js';
import { isTick } from './polymarket/ticks.js';

/** GET of a venue's JSON: the status and the parsed body (undefined when not JSON). Throws on no answer. */
export type GetJson = (url: string) => Promise<{ status: number; body: unknown }>;

const unknown = (reason: string): UnknownParams => ({ known: false, reason });
const modelled = ['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees'] as const;
type ModelledFeeType = (typeof modelled)[number];

const record = (body: unknown, key: string): Record<string, unknown> | undefined => {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
};

/** A fee multiplier as decimal text (at most 4 decimals, as Kalshi publishes them). */
function multiplierText(value: unknown): string | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
  return text !== undefined && /^\d+(\.\d{1,4})?$/.test(text) ? text : undefined;
}

/** The fees a series charges, the event's overrides first; unknown for types we do not model (`flat`). */
export function kalshiFeesOf(series: Record<string, unknown>, event: Record<string, unknown> | undefined) {
  const feeType = event?.fee_type_override ?? series.fee_type;
  const multiplier = multiplierText(event?.fee_multiplier_override ?? series.fee_multiplier);
  if (!modelled.includes(feeType as ModelledFeeType)) return unknown(`fee_type ${String(feeType)} is not modelled`);
  if (multiplier === undefined) return unknown(`fee_multiplier ${JSON.stringify(series.fee_multiplier)} is not a decimal`);
  return { feeType: feeType as ModelledFeeType, multiplier };
}

export class KalshiTerms {
  private readonly events = new Map<string, Record<string, unknown>>();
  /** Series read in this round of reads (one request per series, however many markets share it). */
  private series = new Map<string, Promise<{ status: number; body: unknown }>>();

  constructor(
    private readonly restUrl: string,
    private readonly get: GetJson,
  ) {}

  /** A new round of reads: series are read again. */
  newRound(): void {
    this.series = new Map();
  }

  /** One market's terms, read now (events are reused: their series does not change; a series once a round). */
  async market(ticker: string): Promise<KalshiParams | UnknownParams> {
    const m = await this.get(`${this.restUrl}/markets/${encodeURIComponent(ticker)}`);
    const market = record(m.body, 'market');
    if (m.status !== 200 || !market) return unknown(`GET /markets/${ticker}: HTTP ${m.status}`);
    const eventTicker = typeof market.event_ticker === 'string' ? market.event_ticker : '';
    let event = this.events.get(eventTicker);
    if (!event) {
      const e = await this.get(`${this.restUrl}/events/${encodeURIComponent(eventTicker)}`);
      event = record(e.body, 'event');
      if (e.status !== 200 || !event) return unknown(`GET /events/${eventTicker}: HTTP ${e.status}`);
      this.events.set(eventTicker, event);
    }
    const seriesTicker = typeof event.series_ticker === 'string' ? event.series_ticker : '';
    let read = this.series.get(seriesTicker);
    if (!read) this.series.set(seriesTicker, (read = this.get(`${this.restUrl}/series/${encodeURIComponent(seriesTicker)}`)));
    const s = await read;
    const series = record(s.body, 'series');
    if (s.status !== 200 || !series) return unknown(`GET /series/${seriesTicker}: HTTP ${s.status}`);
    const fees = kalshiFeesOf(series, event);
    if ('known' in fees) return fees;
    if (typeof market.fractional_trading_enabled !== 'boolean') return unknown(`market ${ticker}: no fractional_trading_enabled`);
    return { known: true, ...fees, fractional: market.fractional_trading_enabled, series: seriesTicker };
  }

  /** Scheduled fee changes of a series (`GET /series/fee_changes`), soonest first. */
  async feeChanges(series: string): Promise<Array<{ atMs: number; feeType: unknown; multiplier: unknown }>> {
    const res = await this.get(`${this.restUrl}/series/fee_changes?series_ticker=${encodeURIComponent(series)}`);
    const list = res.status === 200 ? (res.body as { series_fee_change_arr?: unknown }).series_fee_change_arr : undefined;
    if (!Array.isArray(list)) throw new Error(`GET /series/fee_changes: HTTP ${res.status}`);
    return list
      .map((c: Record<string, unknown>) => ({
        atMs: Date.parse(String(c.scheduled_ts)),
        feeType: c.fee_type,
        multiplier: c.fee_multiplier,
        series: c.series_ticker,
      }))
      .filter((c) => Number.isFinite(c.atMs) && c.series === series)
      .sort((a, b) => a.atMs - b.atMs);
  }
}

/** One Polymarket market's terms (by its YES token), read now. */
export async function polymarketTerms(clobUrl: string, tokenId: string, get: GetJson): Promise<PolymarketParams | UnknownParams> {
  const byToken = await get(`${clobUrl}/markets-by-token/${tokenId}`);
  const condition = (byToken.body as { condition_id?: unknown } | undefined)?.condition_id;
  if (byToken.status !== 200 || typeof condition !== 'string') return unknown(`GET /markets-by-token/${tokenId}: HTTP ${byToken.status}`);
  const [market, feeRate] = await Promise.all([
    get(`${clobUrl}/clob-markets/${condition}`),
    get(`${clobUrl}/fee-rate?token_id=${tokenId}`),
  ]);
  if (market.status !== 200) return unknown(`GET /clob-markets/${condition}: HTTP ${market.status}`);
  if (feeRate.status !== 200) return unknown(`GET /fee-rate: HTTP ${feeRate.status}`);
  const fees = feesFromClobMarket(market.body);
  if (!fees) return unknown(`/clob-markets/${condition} gives no usable fee block (fd)`);
  const baseFee = (feeRate.body as { base_fee?: unknown } | undefined)?.base_fee;
  const charges = fees.feesEnabled !== false;
  if (typeof baseFee !== 'number' || baseFee > 0 !== charges)
    return unknown(`/fee-rate base_fee ${JSON.stringify(baseFee)} disagrees with fd (${charges ? 'charges' : 'fee-free'})`);
  const tick = String((market.body as { mts?: unknown }).mts);
  if (!isTick(tick)) return unknown(`/clob-markets/${condition}: tick ${tick} unknown`);
  return { known: true, rate: charges ? String(fees.rate) : '0', exponent: fees.exponent ?? 1, tick };
}
