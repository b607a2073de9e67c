// Venue simulators: Kalshi Trade API v2 and Polymarket CLOB V2, speaking the real wire protocols,
// driven by a shared seeded scenario. See the README section in cli/commands/sim.ts help.
export { startKalshiSim, basicTier, KALSHI_REST_PREFIX, KALSHI_WS_PATH } from './kalshi/server.js';
export type { KalshiSimHandle, KalshiSimOptions, KalshiRateLimits } from './kalshi/server.js';
export { KalshiAuthenticator, kalshiAuthHeaders } from './kalshi/auth.js';
export type { KalshiApiKey } from './kalshi/auth.js';
export { startPolymarketSim, POLY_WS_MARKET_PATH, POLY_GAMMA_PREFIX } from './polymarket/server.js';
export type { PolymarketSimHandle, PolymarketSimOptions, BookSummary } from './polymarket/server.js';
export { PolymarketL2Auth, polyL2Headers, l2Signature } from './polymarket/auth.js';
export type { PolymarketApiCreds } from './polymarket/auth.js';
export { Geoblock, GEOBLOCK_ERROR } from './polymarket/geoblock.js';
export type { GeoblockOptions } from './polymarket/geoblock.js';
export {
  ScenarioEngine,
  ScenarioError,
  parseScenario,
  loadScenarioFile,
  loadDemoScenario,
  demoScenarioPath,
  parseDuration,
  resolveMarkets,
} from './scenario.js';
export type { Scenario, ScenarioInput, SimEvent, ArbTruth, SimMarket, Venue } from './scenario.js';
export { SimClock, ScenarioDriver } from './clock.js';
export { LadderBook } from './book.js';
