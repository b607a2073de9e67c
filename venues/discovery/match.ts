// Cross-venue market matching, pure. A Kalshi game-winner market ("yes: <team> wins") is matched to
// the Polymarket moneyline market of the same game — same two teams, same game date — and its YES
// token is the outcome token of *that team*, found by name, never by the position a venue lists
// the teams in. Anything unsure (unknown team, two candidate games, inconsistent names) is left
// unmatched with the reason, because a wrong match trades the wrong side with real money.
import type { Sport } from '../../contracts/trading-shard.js';
import type { ShardMarket } from '../../contracts/shard-config.js';
import { teamDirectory, type TeamDirectory } from './teams.js';

export interface KalshiEvent {
  eventTicker: string;
  title: string;
  markets: Array<{ ticker: string; yesSubTitle: string; status: string }>;
}

export interface PolymarketEvent {
  slug: string;
  title: string;
  startTime?: string;
  markets: Array<{
    slug: string;
    outcomes: string[];
    tokenIds: string[];
    sportsMarketType?: string;
    gameStartTime?: string;
    active: boolean;
    closed: boolean;
  }>;
}

export interface Unmatched {
  venue: 'kalshi' | 'polymarket';
  ref: string;
  reason: string;
}

export interface MatchResult {
  markets: ShardMarket[];
  unmatched: Unmatched[];
}

const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** The game date (US Eastern, as Kalshi writes it) and team codes from an event ticker like KXNBAGAME-26NOV24PHILAL. */
export function parseEventTicker(ticker: string): { date: string; codes: string } | undefined {
  const match = /-(\d{2})([A-Z]{3})(\d{2})(?:\d{4})?([A-Z]+)$/.exec(ticker);
  if (!match) return undefined;
  const month = months.indexOf(match[2]!);
  if (month < 0) return undefined;
  return { date: `20${match[1]}-${String(month + 1).padStart(2, '0')}-${match[3]}`, codes: match[4]! };
}

/** The calendar date in US Eastern time of an instant, as YYYY-MM-DD. */
export function easternDate(instant: string): string | undefined {
  // Gamma writes gameStartTime as "2026-11-24 00:30:00+00".
  const ms = Date.parse(instant.replace(' ', 'T').replace(/\+00$/, 'Z'));
  if (Number.isNaN(ms)) return undefined;
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
}

/** Away and home from a title like "Philadelphia at Washington" or "76ers vs. Lakers" (away first). */
function teamsFromTitle(title: string, teams: TeamDirectory): [string, string] | undefined {
  const parts = title.replace(/\s+(winner|game)\??$/i, '').split(/\s+(?:at|@|vs\.?|v\.?)\s+/i);
  if (parts.length !== 2) return undefined;
  const away = teams.resolve(parts[0]!);
  const home = teams.resolve(parts[1]!);
  return away && home && away !== home ? [away, home] : undefined;
}

/** Away and home from the ticker's concatenated codes ("PHILAL"), where exactly one split resolves. */
function teamsFromCodes(codes: string, teams: TeamDirectory): [string, string] | undefined {
  const splits: Array<[string, string]> = [];
  for (let i = 2; i <= codes.length - 2; i++) {
    const away = teams.resolve(codes.slice(0, i));
    const home = teams.resolve(codes.slice(i));
    if (away && home && away !== home) splits.push([away, home]);
  }
  return splits.length === 1 ? splits[0] : undefined;
}

interface PolymarketGame {
  ref: string;
  date: string;
  startsAt?: string;
  /** Canonical team code → its outcome token. */
  tokens: Map<string, string>;
}

function polymarketGames(events: PolymarketEvent[], teams: TeamDirectory, unmatched: Unmatched[]): PolymarketGame[] {
  const games: PolymarketGame[] = [];
  for (const event of events)
    for (const market of event.markets) {
      if (!market.active || market.closed) continue;
      if (market.sportsMarketType !== undefined && market.sportsMarketType !== 'moneyline') continue;
      const ref = market.slug;
      if (market.outcomes.length !== 2 || market.tokenIds.length !== 2) {
        unmatched.push({ venue: 'polymarket', ref, reason: `not a two-team market (${market.outcomes.length} outcomes)` });
        continue;
      }
      const codes = market.outcomes.map((o) => teams.resolve(o));
      if (codes.some((c) => c === undefined) || codes[0] === codes[1]) {
        unmatched.push({
          venue: 'polymarket',
          ref,
          reason: `outcomes ${JSON.stringify(market.outcomes)} are not two known, different teams`,
        });
        continue;
      }
      const startsAt = market.gameStartTime ?? event.startTime;
      const date = startsAt ? easternDate(startsAt) : undefined;
      if (!date) {
        unmatched.push({ venue: 'polymarket', ref, reason: 'no game start time' });
        continue;
      }
      games.push({
        ref,
        date,
        ...(startsAt ? { startsAt: new Date(Date.parse(startsAt.replace(' ', 'T').replace(/\+00$/, 'Z'))).toISOString() } : {}),
        tokens: new Map([
          [codes[0]!, market.tokenIds[0]!],
          [codes[1]!, market.tokenIds[1]!],
        ]),
      });
    }
  return games;
}

/** Ids are DNS labels (the CRD's pattern): lower case, [a-z0-9-], at most 63 characters. */
function dnsLabel(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

export function matchMarkets(sport: Sport, kalshiEvents: KalshiEvent[], polymarketEvents: PolymarketEvent[]): MatchResult {
  const teams = teamDirectory(sport);
  const unmatched: Unmatched[] = [];
  const markets: ShardMarket[] = [];
  const games = polymarketGames(polymarketEvents, teams, unmatched);
  for (const event of kalshiEvents) {
    const parsed = parseEventTicker(event.eventTicker);
    if (!parsed) {
      unmatched.push({ venue: 'kalshi', ref: event.eventTicker, reason: 'event ticker without a game date and teams' });
      continue;
    }
    const pair = teamsFromTitle(event.title, teams) ?? teamsFromCodes(parsed.codes, teams);
    if (!pair) {
      unmatched.push({
        venue: 'kalshi',
        ref: event.eventTicker,
        reason: `cannot tell the two teams from "${event.title}" or ${parsed.codes}`,
      });
      continue;
    }
    const [away, home] = pair;
    const candidates = games.filter((g) => g.date === parsed.date && g.tokens.has(away) && g.tokens.has(home));
    for (const market of event.markets) {
      if (market.status !== 'active' && market.status !== 'open') continue;
      const suffix = market.ticker.startsWith(`${event.eventTicker}-`) ? market.ticker.slice(event.eventTicker.length + 1) : '';
      const bySuffix = teams.resolve(suffix);
      const byTitle = teams.resolve(market.yesSubTitle);
      const team = bySuffix ?? byTitle;
      if (!team || (bySuffix && byTitle && bySuffix !== byTitle)) {
        unmatched.push({
          venue: 'kalshi',
          ref: market.ticker,
          reason: `team unclear: ticker says "${suffix}", yes_sub_title says "${market.yesSubTitle}"`,
        });
        continue;
      }
      if (team !== away && team !== home) {
        unmatched.push({ venue: 'kalshi', ref: market.ticker, reason: `team ${team} is not in the game ${away} at ${home}` });
        continue;
      }
      if (candidates.length !== 1) {
        unmatched.push({
          venue: 'kalshi',
          ref: market.ticker,
          reason:
            candidates.length === 0
              ? `no Polymarket moneyline for ${away} at ${home} on ${parsed.date}`
              : `${candidates.length} Polymarket markets for ${away} at ${home} on ` +
                `${parsed.date}: ${candidates.map((c) => c.ref).join(', ')}`,
        });
        continue;
      }
      const game = candidates[0]!;
      const other = team === away ? home : away;
      const gameId = dnsLabel(`${sport}-${away}-${home}-${parsed.date}`);
      markets.push({
        id: dnsLabel(`${gameId}-${team}`),
        sport,
        game: gameId,
        ...(game.startsAt ? { startsAt: game.startsAt } : {}),
        kalshi: { ticker: market.ticker },
        polymarket: { yesTokenId: game.tokens.get(team)!, noTokenId: game.tokens.get(other)! },
      });
    }
  }
  return { markets, unmatched };
}
