// The demo shard: every market of the scenario, the local simulators as venues, trading (paper, or
// live against the simulators) with limits small enough that the risk rules visibly act during a game day.
import type { Scenario } from '../../workloads/sim/scenario.js';
import type { ShardConfig } from '../../contracts/shard-config.js';

export interface SimEndpoints {
  kalshiRestUrl: string;
  kalshiWsUrl: string;
  polymarketClobUrl: string;
  polymarketWsUrl: string;
  polymarketGammaUrl: string;
}

export function demoShardConfig(shard: string, scenario: Scenario, sims: SimEndpoints, mode: 'paper' | 'live' = 'paper'): ShardConfig {
  return {
    shard,
    markets: scenario.games.flatMap((game) =>
      game.markets.map((market) => ({
        id: market.id,
        sport: game.sport,
        game: game.id,
        kalshi: { ticker: market.kalshi.ticker },
        polymarket: { yesTokenId: market.polymarket.yesTokenId, noTokenId: market.polymarket.noTokenId },
      })),
    ),
    venues: {
      kalshi: { environment: 'demo', restUrl: sims.kalshiRestUrl, wsUrl: sims.kalshiWsUrl },
      polymarket: { clobUrl: sims.polymarketClobUrl, wsUrl: sims.polymarketWsUrl, gammaUrl: sims.polymarketGammaUrl },
    },
    detector: { minEdgeBps: 50, maxQuoteAgeMs: 2_000, cooldownMs: 1_000 },
    executor: {
      mode,
      bankrollUsd: 10_000,
      limits: { perGameUsd: 600, perSportUsd: 1_000, dailyLossUsd: 300, maxOpenPositions: 12, maxOrderUsd: 150 },
    },
  };
}
