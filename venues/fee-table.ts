// Taker fee models per market and venue, as the detector and the executor price a signal. Fed from
// the venues' own terms (contracts/market-params.ts), a table is strict: a venue's fees for a market
// it has not described, or whose terms could not be read, are unknown, and nothing is traded on
// them. A table with defaults (Kalshi multiplier 1, Polymarket's sports rate) serves tests and runs
// that have no venue to ask.
import type { MarketParams } from '../contracts/market-params.js';
import type { Venue } from '../contracts/messages.js';
import type { FeeModel } from './fee-math.js';
import { kalshiModel, type KalshiFeeParams } from './kalshi/fees.js';
import { polymarketModel, type PolymarketFeeParams } from './polymarket/fees.js';

export interface MarketFeeParams {
  kalshi?: KalshiFeeParams;
  polymarket?: PolymarketFeeParams;
}

export interface MarketFees {
  kalshi: FeeModel;
  polymarket: FeeModel;
}

const VENUES = ['kalshi', 'polymarket'] as const;
const NOT_READ = 'no fee terms read from the venue yet';

export class FeeTable {
  private readonly defaults: MarketFees | undefined;
  private readonly models = new Map<string, Partial<MarketFees>>();
  /** Why a venue's fees for a market are unknown (set only where known fees were taken away). */
  private readonly reasons = new Map<string, Partial<Record<Venue, string>>>();

  /** `defaults`: the fees of any market not set; `'strict'`: none, such a market's fees are unknown. */
  constructor(defaults: MarketFeeParams | 'strict' = {}) {
    this.defaults =
      defaults === 'strict' ? undefined : { kalshi: kalshiModel(defaults.kalshi), polymarket: polymarketModel(defaults.polymarket) };
  }

  set(marketId: string, params: MarketFeeParams): void {
    if (params.kalshi) this.setModel(marketId, 'kalshi', kalshiModel(params.kalshi));
    if (params.polymarket) this.setModel(marketId, 'polymarket', polymarketModel(params.polymarket));
  }

  /** The venues' terms as fetched: each venue's fees, or unknown with the reason. */
  apply(params: MarketParams): void {
    const { marketId, kalshi, polymarket } = params;
    if (kalshi.known) this.setModel(marketId, 'kalshi', kalshiModel({ feeType: kalshi.feeType, multiplier: kalshi.multiplier }));
    else this.forget(marketId, kalshi.reason, 'kalshi');
    if (polymarket.known)
      this.setModel(
        marketId,
        'polymarket',
        polymarketModel(polymarket.rate === '0' ? { feesEnabled: false } : { rate: polymarket.rate, exponent: polymarket.exponent }),
      );
    else this.forget(marketId, polymarket.reason, 'polymarket');
  }

  /** A venue's fees for the market (both venues' when none is named) are not known any more. */
  forget(marketId: string, reason: string, venue?: Venue): void {
    for (const v of venue ? [venue] : VENUES) {
      const models = this.models.get(marketId) ?? {};
      delete models[v];
      this.models.set(marketId, models);
      this.reasons.set(marketId, { ...this.reasons.get(marketId), [v]: reason });
    }
  }

  delete(marketId: string): void {
    this.models.delete(marketId);
    this.reasons.delete(marketId);
  }

  /** One venue's fee model for the market, or undefined when unknown (`reason` says why). */
  model(marketId: string, venue: Venue): FeeModel | undefined {
    const models = this.models.get(marketId);
    if (models?.[venue]) return models[venue];
    if (this.reasons.get(marketId)?.[venue] !== undefined) return undefined;
    return this.defaults?.[venue];
  }

  /** Both venues' fee models, or undefined when either is unknown. */
  forMarket(marketId: string): MarketFees | undefined {
    const kalshi = this.model(marketId, 'kalshi');
    const polymarket = this.model(marketId, 'polymarket');
    return kalshi && polymarket ? { kalshi, polymarket } : undefined;
  }

  /** Why the venue's fees for the market (or either venue's) are unknown. */
  reason(marketId: string, venue?: Venue): string {
    const reasons = this.reasons.get(marketId) ?? {};
    const venues = venue ? [venue] : VENUES.filter((v) => !this.model(marketId, v));
    return venues.map((v) => `${v}: ${reasons[v] ?? NOT_READ}`).join('; ') || 'known';
  }

  private setModel(marketId: string, venue: Venue, model: FeeModel): void {
    this.models.set(marketId, { ...this.models.get(marketId), [venue]: model });
    const reasons = this.reasons.get(marketId);
    if (reasons) delete reasons[venue];
  }
}

export function venueModel(fees: MarketFees, venue: Venue): FeeModel {
  return venue === 'kalshi' ? fees.kalshi : fees.polymarket;
}
