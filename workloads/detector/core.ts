// The detector's pure core: quotes in, signals and suppression reasons out. No I/O, no clock (time is
// passed in), no randomness, so a replayed quote stream at the same times yields the same output.
//
// Per quote: keep it as the latest book of its venue/market/outcome; for each complete set that uses
// that book, a cheap top-of-book test first (most quotes stop there), then gating, then the depth-aware
// sizing, then spam control; the same for model edge when enabled and a fair value is known. A
// suppression is reported only for a would-be signal (its top of book clears the threshold), so the
// reasons count real opportunities lost, not every quote.
import { PRICE_ONE } from '../../contracts/decimal.js';
import type { Quote, Signal } from '../../contracts/messages.js';
import { COMBOS_BY_SLOT, planSet, setLegs, type ArbDirection, type ArbSettings } from './arbitrage.js';
import { BookStore, SLOT_OUTCOME, SLOT_VENUE, slotOf, type UpdateResult } from './book.js';
import { planBuy, type EdgeSettings, type FairValueSource } from './edge.js';
import { FeeTable } from '../../venues/fee-table.js';
import { bookProblem, gateLegs, quoteAge, type GateReason, type GatingSettings } from './gating.js';
import { signalId } from './signal-id.js';
import { SpamControl, type SpamReason, type SpamSettings } from './spam.js';

export interface DetectorConfig {
  gating: GatingSettings;
  arbitrage: ArbSettings;
  edge: EdgeSettings & { enabled: boolean };
  spam: SpamSettings;
}

export type DetectorConfigInput = { [K in keyof DetectorConfig]?: Partial<DetectorConfig[K]> };

/** Defaults, each with where it comes from (the original system's measured behaviour, or the venues'). */
export const defaultDetectorConfig: DetectorConfig = {
  // Entries want 4–5 s freshness (older quotes lost money in the original system); legs priced within 2 s of each other.
  gating: { maxQuoteAgeMs: 5_000, maxLegSkewMs: 2_000 },
  // Arbs ≥ 1¢ per contract after fees; at least 1 contract and 1¢ of profit.
  arbitrage: { minEdgeBps: 100, minProfit: 100, minSize: 100, maxSize: Infinity },
  // Model edge off by default (no team-strength input); 15 % threshold (5–10 % edges won only 36 % of
  // the time in the original system's data, 15 %+ won 87 %); never buy outside 0.05–0.95.
  edge: { enabled: false, minEdgeBps: 1_500, minProfit: 100, minSize: 100, maxSize: 10_000, minPrice: 500, maxPrice: 9_500 },
  // Debounce 30 s per (market, direction); a 20 orders/min live cap bounds the shard.
  spam: { cooldownMs: 30_000, edgeStepBps: 100, perMarket: { capacity: 2, perMinute: 6 }, perShard: { capacity: 20, perMinute: 20 } },
};

export function detectorConfig(input: DetectorConfigInput = {}): DetectorConfig {
  const d = defaultDetectorConfig;
  return {
    gating: { ...d.gating, ...input.gating },
    arbitrage: { ...d.arbitrage, ...input.arbitrage },
    edge: { ...d.edge, ...input.edge },
    spam: { ...d.spam, ...input.spam },
  };
}

export type EdgeDirection = 'kalshi_yes' | 'kalshi_no' | 'polymarket_yes' | 'polymarket_no';

export interface Suppression {
  kind: 'arbitrage' | 'edge';
  marketId: string;
  direction: ArbDirection | EdgeDirection;
  /** `fees_unknown`: a venue's fee terms for the market could not be read, so it is not priced (fail safe). */
  reason: GateReason | SpamReason | 'fees_unknown';
  /** The edge of the suppressed signal, when it got as far as being sized. */
  edgeBps?: number;
}

export interface DetectorOutput {
  /** Whether the quote replaced the stored book (`out_of_order`: older than it, ignored). */
  quote: UpdateResult;
  signals: readonly Signal[];
  suppressed: readonly Suppression[];
}

export interface DetectorDeps {
  fees?: FeeTable;
  fairValues?: FairValueSource;
}

const NONE: readonly never[] = Object.freeze([]);
const ACCEPTED: DetectorOutput = Object.freeze({ quote: 'accepted', signals: NONE, suppressed: NONE });
const OUT_OF_ORDER: DetectorOutput = Object.freeze({ quote: 'out_of_order', signals: NONE, suppressed: NONE });
const EDGE_DIRECTIONS: readonly EdgeDirection[] = [0, 1, 2, 3].map(
  (slot) => `${SLOT_VENUE[slot]!}_${SLOT_OUTCOME[slot]!}` as EdgeDirection,
);

export class DetectorCore {
  readonly config: DetectorConfig;
  readonly books = new BookStore();
  readonly fees: FeeTable;
  private readonly fairValues: FairValueSource | undefined;
  private readonly spam: SpamControl;
  /** Top-of-book floors in 1e-8 $ per contract (see arbitrage.ts). */
  private readonly arbFloor: number;
  private readonly edgeFloor: number;

  constructor(config: DetectorConfigInput = {}, deps: DetectorDeps = {}) {
    this.config = detectorConfig(config);
    this.fees = deps.fees ?? new FeeTable();
    this.fairValues = deps.fairValues;
    this.spam = new SpamControl(this.config.spam);
    this.arbFloor = Math.max(1, this.config.arbitrage.minEdgeBps * 10_000);
    this.edgeFloor = Math.max(1, this.config.edge.minEdgeBps * 10_000);
  }

  /**
   * Called with each quote once it has been evaluated, whether or not it signalled (not for one
   * refused as out of order): where the service's latency metrics take their reading.
   */
  onEvaluated: ((quote: Quote) => void) | undefined;

  onQuote(quote: Quote, now: number): DetectorOutput {
    const out = this.evaluate(quote, now);
    if (this.onEvaluated !== undefined && out !== OUT_OF_ORDER) this.onEvaluated(quote);
    return out;
  }

  private evaluate(quote: Quote, now: number): DetectorOutput {
    if (this.books.update(quote) === 'out_of_order') return OUT_OF_ORDER;
    const marketId = quote.marketId;
    const market = this.books.market(marketId)!;
    const slot = slotOf(quote.venue, quote.outcome);
    let signals: Signal[] | undefined;
    let suppressed: Suppression[] | undefined;

    const combos = COMBOS_BY_SLOT[slot]!;
    for (let c = 0; c < combos.length; c++) {
      const combo = combos[c]!;
      const qa = market.books[combo.a];
      const qb = market.books[combo.b];
      if (!qa || !qb || qa.asks.length === 0 || qb.asks.length === 0) continue;
      const feeA = this.fees.model(marketId, SLOT_VENUE[combo.a]!);
      const feeB = this.fees.model(marketId, SLOT_VENUE[combo.b]!);
      const a = qa.asks[0]![0];
      const b = qb.asks[0]![0];
      if (!feeA || !feeB) {
        // Not priced without the venues' fees; reported where the set would clear the threshold before any fee.
        if ((PRICE_ONE - a - b) * 10_000 >= this.arbFloor)
          (suppressed ??= []).push({ kind: 'arbitrage', marketId, direction: combo.direction, reason: 'fees_unknown' });
        continue;
      }
      if ((PRICE_ONE - a - b) * 10_000 - feeA.marginal(a) - feeB.marginal(b) < this.arbFloor) continue;

      const gate = gateLegs(qa, qb, now, this.config.gating);
      if (gate) {
        (suppressed ??= []).push({ kind: 'arbitrage', marketId, direction: combo.direction, reason: gate });
        continue;
      }
      const plan = planSet(qa.asks, feeA, qb.asks, feeB, this.config.arbitrage);
      if (!plan) continue;
      const decision = this.spam.consider(marketId, combo.direction, plan.edgeBps, now);
      if (!decision.emit) {
        (suppressed ??= []).push({
          kind: 'arbitrage',
          marketId,
          direction: combo.direction,
          reason: decision.reason,
          edgeBps: plan.edgeBps,
        });
        continue;
      }
      (signals ??= []).push({
        id: signalId('arbitrage', marketId, combo.direction, [qa, qb]),
        kind: 'arbitrage',
        marketId,
        legs: setLegs(combo, plan),
        edgeBps: plan.edgeBps,
        expectedProfit: plan.profit,
        quoteAgesMs: [quoteAge(qa, now), quoteAge(qb, now)],
        createdTs: now,
      });
    }

    if (this.config.edge.enabled && this.fairValues) {
      const fair = this.fairValues.fairValue(marketId, quote.outcome, now);
      const asks = quote.asks;
      const fee = this.fees.model(marketId, quote.venue);
      if (fair !== undefined && asks.length > 0 && fee) {
        const a = asks[0]![0];
        if ((fair - a) * 10_000 - fee.marginal(a) >= this.edgeFloor) {
          const direction = EDGE_DIRECTIONS[slot]!;
          const gate = bookProblem(quote, now, this.config.gating);
          const plan = gate ? undefined : planBuy(fair, asks, fee, this.config.edge);
          if (gate) {
            (suppressed ??= []).push({ kind: 'edge', marketId, direction, reason: gate });
          } else if (plan) {
            const decision = this.spam.consider(marketId, direction, plan.edgeBps, now);
            if (!decision.emit) {
              (suppressed ??= []).push({ kind: 'edge', marketId, direction, reason: decision.reason, edgeBps: plan.edgeBps });
            } else {
              (signals ??= []).push({
                id: signalId('edge', marketId, direction, [quote]),
                kind: 'edge',
                marketId,
                legs: [{ venue: quote.venue, outcome: quote.outcome, side: 'buy', limitPrice: plan.limitPrice, size: plan.size }],
                edgeBps: plan.edgeBps,
                expectedProfit: plan.profit,
                quoteAgesMs: [quoteAge(quote, now)],
                createdTs: now,
              });
            }
          }
        }
      }
    }

    if (!signals && !suppressed) return ACCEPTED;
    return { quote: 'accepted', signals: signals ?? NONE, suppressed: suppressed ?? NONE };
  }

  /** Forgets a market that left the shard: its books and spam state. */
  removeMarket(marketId: string): void {
    this.books.remove(marketId);
    this.spam.forget(marketId);
  }
}
