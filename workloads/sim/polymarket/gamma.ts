// Gamma-style discovery under /gamma (the real service is a separate host, gamma-api.polymarket.com,
// with the same paths minus the prefix): the scenario's games as events with their markets, with
// Gamma's JSON-encoded string fields (outcomes, outcomePrices, clobTokenIds) and its filters.
import type { Routes } from '../core/routes.js';
import type { RoutedRequest, Schedule } from '../core/venue.js';
import { isoTime, polyPrice } from '../format.js';
import { HttpError } from '../http.js';
import type { PMarket } from './state.js';
import { bestOf, endDate, gameStart, gammaId, otherTeam, question, questionId, slugOf, yesPrice } from './wire.js';

export const POLY_GAMMA_PREFIX = '/gamma';

type Handler = (request: RoutedRequest) => unknown;

function gammaMarketJson(m: PMarket, schedule: Schedule) {
  const yes = bestOf(m, 'yes');
  const mid = yesPrice(m);
  return {
    id: gammaId(m),
    question: question(m),
    conditionId: m.sim.conditionId,
    questionID: questionId(m),
    slug: slugOf(m),
    outcomes: JSON.stringify([m.sim.team, otherTeam(m)]),
    outcomePrices: JSON.stringify([String(Number(mid.toFixed(4))), String(Number((1 - mid).toFixed(4)))]),
    clobTokenIds: JSON.stringify([m.sim.yesTokenId, m.sim.noTokenId]),
    active: true,
    closed: m.resolution !== undefined,
    acceptingOrders: m.resolution === undefined,
    enableOrderBook: true,
    negRisk: false,
    orderPriceMinTickSize: Number(m.tick),
    orderMinSize: 5,
    feesEnabled: true,
    bestBid: Number(yes.best_bid),
    bestAsk: Number(yes.best_ask),
    lastTradePrice: Number(polyPrice(m.lastTrade.price)),
    endDate: endDate(schedule),
    gameStartTime: gameStart(m, schedule).replace('T', ' ').replace('Z', '+00'),
    eventStartTime: gameStart(m, schedule),
    sportsMarketType: 'moneyline',
    groupItemTitle: m.sim.team,
  };
}
type GammaMarket = ReturnType<typeof gammaMarketJson>;

/** One event per game. */
function gammaEvents(markets: Iterable<PMarket>, schedule: Schedule) {
  const games = new Map<string, PMarket[]>();
  for (const m of markets) games.set(m.sim.game.id, [...(games.get(m.sim.game.id) ?? []), m]);
  return [...games.entries()].map(([gameId, list], i) => ({
    id: String(90_000 + i),
    ticker: slugOf(list[0]!),
    slug: slugOf(list[0]!),
    title: question(list[0]!),
    startDate: isoTime(schedule.startMs),
    startTime: gameStart(list[0]!, schedule),
    endDate: endDate(schedule),
    active: true,
    closed: list.every((m) => m.resolution !== undefined),
    negRisk: false,
    tags: [
      { id: '1', label: 'Sports', slug: 'sports' },
      { id: String(100 + i), label: list[0]!.sim.game.sport.toUpperCase(), slug: list[0]!.sim.game.sport },
    ],
    gameId,
    markets: list.map((m) => gammaMarketJson(m, schedule)),
  }));
}

/** Gamma's list filters: `closed`, `active` (each only when given), `limit` (≤ 500, default 100) items from `offset`. */
function listing(query: URLSearchParams) {
  const limit = Math.min(Number(query.get('limit') ?? 100) || 100, 500);
  const offset = Number(query.get('offset') ?? 0) || 0;
  const flag = (name: string) => (query.has(name) ? query.get(name) === 'true' : undefined);
  const closed = flag('closed');
  const active = flag('active');
  return {
    keep: (x: { closed: boolean; active: boolean }) =>
      (closed === undefined || x.closed === closed) && (active === undefined || x.active === active),
    page: <T>(list: T[]) => list.slice(offset, offset + limit),
  };
}

/** Adds the Gamma routes to the CLOB's table. */
export function gammaRoutes(routes: Routes<Handler>, markets: ReadonlyMap<string, PMarket>, schedule: Schedule): void {
  const all = () => gammaEvents(markets.values(), schedule);
  const allMarkets = (): GammaMarket[] => all().flatMap((e) => e.markets);
  const found = <T>(x: T | undefined): T => {
    if (x === undefined) throw new HttpError(404, { error: 'not found' });
    return x;
  };
  routes
    .get(`${POLY_GAMMA_PREFIX}/events`, ({ query }) => {
      const { keep, page } = listing(query);
      const slug = query.get('slug');
      return page(all().filter((e) => keep(e) && (!slug || e.slug === slug)));
    })
    .get(`${POLY_GAMMA_PREFIX}/markets`, ({ query }) => {
      const { keep, page } = listing(query);
      const slug = query.get('slug');
      const ids = query.getAll('clob_token_ids');
      return page(
        allMarkets().filter(
          (m) => keep(m) && (!slug || m.slug === slug) && (ids.length === 0 || ids.some((id) => m.clobTokenIds.includes(`"${id}"`))),
        ),
      );
    })
    .get(`${POLY_GAMMA_PREFIX}/events/slug/:slug`, ({ params }) => found(all().find((e) => e.slug === params.slug)))
    .get(`${POLY_GAMMA_PREFIX}/markets/slug/:slug`, ({ params }) => found(allMarkets().find((m) => m.slug === params.slug)));
}
