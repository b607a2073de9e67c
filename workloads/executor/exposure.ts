// Exposure measured as money at risk: for each game, the worst loss over how the game can end.
// Markets of one game are mutually exclusive outcomes (team A wins, team B wins), plus "none of
// them" (a draw, or the only listed market resolving NO). A YES position pays $1 per contract in
// its market's scenario, a NO position in every other. So both legs of an arbitrage (YES here, NO
// there, on the same market) pay in every scenario and net out to their small locked-in cost.
//
// A reservation (a signal decided, its orders not yet reported) may fill or not: counted in each
// scenario only where it would add to the loss, never where it would hedge. Counted as if it
// filled, an in-flight hedge let other bets past the limit, and the game stayed over it when the
// hedge did not fill.
import { PRICE_ONE, SIZE_SCALE } from '../../contracts/decimal.js';
import type { Outcome, Venue } from '../../contracts/messages.js';

export interface Holding {
  marketId: string;
  game: string;
  sport: string;
  venue: Venue;
  outcome: Outcome;
  /** Hundredths of a contract (positive: held). */
  size: number;
  /** What was paid, fees included, ten-thousandths of $1. */
  cost: number;
  /** Set on a reservation: the signal whose orders are still under way (they may not fill). */
  pendingSignal?: string;
}

/** Payout in ten-thousandths of $1 of `size` hundredths of a contract that pays. */
const payout = (size: number) => Math.floor((size * PRICE_ONE) / 10 ** SIZE_SCALE);

/** What `holdings` lose if the game ends in `scenario` (a market id; null: none of them). */
function lossIn(holdings: Holding[], scenario: string | null): number {
  let loss = 0;
  for (const h of holdings) {
    const wins = h.outcome === 'yes' ? h.marketId === scenario : h.marketId !== scenario;
    loss += h.cost - (wins ? payout(h.size) : 0);
  }
  return loss;
}

/**
 * Worst-case loss of one game's holdings, in ten-thousandths of $1 (0 when every outcome profits):
 * over how the game can end, and over which of the reservations fill (all of a signal's legs or none).
 */
export function gameWorstLoss(holdings: Holding[]): number {
  if (holdings.length === 0) return 0;
  const markets = [...new Set(holdings.map((h) => h.marketId))];
  const held: Holding[] = [];
  const pending = new Map<string, Holding[]>();
  for (const h of holdings) {
    if (h.pendingSignal === undefined) held.push(h);
    else pending.set(h.pendingSignal, [...(pending.get(h.pendingSignal) ?? []), h]);
  }
  let worst = -Infinity;
  for (const scenario of [...markets, null]) {
    let loss = lossIn(held, scenario);
    for (const legs of pending.values()) loss += Math.max(0, lossIn(legs, scenario));
    worst = Math.max(worst, loss);
  }
  return Math.max(0, worst);
}

export interface ExposureView {
  byGame: Map<string, number>;
  bySport: Map<string, number>;
  total: number;
  /** Markets with a position (for the max-open-positions rule). */
  openMarkets: Set<string>;
}

export function exposure(holdings: Holding[]): ExposureView {
  const games = new Map<string, Holding[]>();
  for (const h of holdings) {
    if (h.size <= 0) continue;
    const list = games.get(h.game) ?? [];
    list.push(h);
    games.set(h.game, list);
  }
  const byGame = new Map<string, number>();
  const bySport = new Map<string, number>();
  const openMarkets = new Set<string>();
  let total = 0;
  for (const [game, list] of games) {
    const loss = gameWorstLoss(list);
    byGame.set(game, loss);
    const sport = list[0]!.sport;
    bySport.set(sport, (bySport.get(sport) ?? 0) + loss);
    total += loss;
    for (const h of list) openMarkets.add(h.marketId);
  }
  return { byGame, bySport, total, openMarkets };
}
