// Reads the venues' listings for discovery: Kalshi's events with nested markets per sport series
// (public REST), and Polymarket's Gamma events, both paginated, then hands them to the matcher.
// Each page is read with a size bound and a redirect is refused (lib/bounded-http.ts); either fails
// the discovery run like a venue that did not answer.
import { NO_REDIRECT, fetchErrorText, readBounded } from '../../lib/bounded-http.js';
import type { Sport } from '../../contracts/trading-shard.js';
import { matchMarkets, type KalshiEvent, type MatchResult, type PolymarketEvent } from './match.js';

/** Kalshi's game-winner series per sport; sports without one are not discoverable on Kalshi. */
export const kalshiGameSeries: Partial<Record<Sport, string>> = {
  nba: 'KXNBAGAME',
  nfl: 'KXNFLGAME',
  nhl: 'KXNHLGAME',
  mlb: 'KXMLBGAME',
  ncaaf: 'KXNCAAFGAME',
};

/**
 * One listing page: Kalshi's 200 events with their nested markets, or Gamma's 100 events with every
 * market of each (a game can have dozens, each a few KiB of text), a few MiB at most today.
 */
export const DISCOVERY_PAGE_BYTES = 32 * 1024 * 1024;
/** An error answer is quoted, never read whole. */
const ERROR_BYTES = 64 * 1024;

export class DiscoveryError extends Error {}

export interface DiscoveryOptions {
  kalshiRestUrl: string;
  gammaUrl: string;
  sports: Sport[];
  lookaheadHours: number;
  now?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

async function getJson(url: string, options: DiscoveryOptions): Promise<unknown> {
  const get = options.fetch ?? fetch;
  let response: Response;
  let text: string;
  try {
    response = await get(url, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      headers: { accept: 'application/json' },
      ...NO_REDIRECT,
    });
    text = await readBounded(response, response.ok ? DISCOVERY_PAGE_BYTES : ERROR_BYTES);
  } catch (error) {
    throw new DiscoveryError(`GET ${url}: ${fetchErrorText(error)}`);
  }
  if (!response.ok) throw new DiscoveryError(`GET ${url}: HTTP ${response.status} ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new DiscoveryError(`GET ${url}: not JSON: ${text.slice(0, 200)}`);
  }
}

interface RawKalshiEvent {
  event_ticker: string;
  title: string;
  markets?: Array<{ ticker: string; yes_sub_title: string; status: string }>;
}

async function kalshiEvents(series: string, options: DiscoveryOptions): Promise<KalshiEvent[]> {
  const events: KalshiEvent[] = [];
  let cursor = '';
  for (let page = 0; page < 50; page++) {
    const page = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const url = `${options.kalshiRestUrl}/events?series_ticker=${series}&status=open&with_nested_markets=true&limit=200${page}`;
    const body = (await getJson(url, options)) as { events?: RawKalshiEvent[]; cursor?: string };
    for (const e of body.events ?? []) {
      events.push({
        eventTicker: e.event_ticker,
        title: e.title,
        markets: (e.markets ?? []).map((m) => ({ ticker: m.ticker, yesSubTitle: m.yes_sub_title, status: m.status })),
      });
    }
    if (!body.cursor) break;
    cursor = body.cursor;
  }
  return events;
}

interface RawGammaEvent {
  slug: string;
  title: string;
  startTime?: string;
  tags?: Array<{ slug: string }>;
  markets?: Array<{
    slug: string;
    outcomes: string;
    clobTokenIds: string;
    sportsMarketType?: string;
    gameStartTime?: string;
    active: boolean;
    closed: boolean;
  }>;
}

function jsonList(text: string | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

async function gammaEvents(options: DiscoveryOptions): Promise<RawGammaEvent[]> {
  const events: RawGammaEvent[] = [];
  const limit = 100;
  // Gamma caps the offset (about 2000); past it the listing is incomplete, which we say.
  for (let offset = 0; offset <= 2_000; offset += limit) {
    const page = (await getJson(
      `${options.gammaUrl}/events?active=true&closed=false&limit=${limit}&offset=${offset}`,
      options,
    )) as RawGammaEvent[];
    events.push(...page);
    if (page.length < limit) return events;
  }
  throw new DiscoveryError('Gamma lists more open events than its offset cap allows; narrow the query');
}

/** Discovers and matches the games of each sport starting within the lookahead window. */
export async function discoverMarkets(options: DiscoveryOptions): Promise<MatchResult> {
  const now = options.now ?? Date.now();
  const horizon = now + options.lookaheadHours * 3_600_000;
  const gamma = await gammaEvents(options);
  const result: MatchResult = { markets: [], unmatched: [] };
  for (const sport of options.sports) {
    const series = kalshiGameSeries[sport];
    if (!series) {
      result.unmatched.push({ venue: 'kalshi', ref: sport, reason: `no Kalshi game-winner series known for ${sport}` });
      continue;
    }
    const polymarket: PolymarketEvent[] = gamma
      .filter((e) => e.tags?.some((t) => t.slug === sport))
      .map((e) => ({
        slug: e.slug,
        title: e.title,
        ...(e.startTime ? { startTime: e.startTime } : {}),
        markets: (e.markets ?? []).map((m) => ({
          slug: m.slug,
          outcomes: jsonList(m.outcomes),
          tokenIds: jsonList(m.clobTokenIds),
          ...(m.sportsMarketType ? { sportsMarketType: m.sportsMarketType } : {}),
          ...(m.gameStartTime ? { gameStartTime: m.gameStartTime } : {}),
          active: m.active,
          closed: m.closed,
        })),
      }));
    const matched = matchMarkets(sport, await kalshiEvents(series, options), polymarket);
    // Only games that have not started long ago and start within the lookahead.
    result.markets.push(
      ...matched.markets.filter(
        (m) => !m.startsAt || (Date.parse(m.startsAt) <= horizon && Date.parse(m.startsAt) >= now - 12 * 3_600_000),
      ),
    );
    result.unmatched.push(...matched.unmatched);
  }
  return result;
}
