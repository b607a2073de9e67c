// Taker fee models per market, as the detector and the executor price a signal: a default and
// per-market overrides from the venues' fee parameters.
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

/**
 * Taker fee models per market: a default (Kalshi multiplier 1, Polymarket sports rate) and
 * per-market overrides from `Series.fee_multiplier` and the market's `fd`.
 */
export class FeeTable {
  private readonly defaults: MarketFees;
  private readonly overrides = new Map<string, MarketFees>();

  constructor(defaults: MarketFeeParams = {}) {
    this.defaults = { kalshi: kalshiModel(defaults.kalshi), polymarket: polymarketModel(defaults.polymarket) };
  }

  set(marketId: string, params: MarketFeeParams): void {
    const current = this.forMarket(marketId);
    this.overrides.set(marketId, {
      kalshi: params.kalshi ? kalshiModel(params.kalshi) : current.kalshi,
      polymarket: params.polymarket ? polymarketModel(params.polymarket) : current.polymarket,
    });
  }

  delete(marketId: string): void {
    this.overrides.delete(marketId);
  }

  forMarket(marketId: string): MarketFees {
    return this.overrides.get(marketId) ?? this.defaults;
  }
}

export function venueModel(fees: MarketFees, venue: Venue): FeeModel {
  return venue === 'kalshi' ? fees.kalshi : fees.polymarket;
}
