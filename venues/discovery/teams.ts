// Team identities per sport: every way the venues write a team (codes, city, nickname, full name)
// resolves to one canonical code. Matching games across venues goes through these identities,
// never through the order a venue lists the teams in (the original system lost money on
// home/away mix-ups).
import type { Sport } from '../../contracts/trading-shard.js';

/** "CODE[/ALT…]:City:Nickname" — the first code is canonical. */
const tables: Partial<Record<Sport, string[]>> = {
  nba: [
    'ATL:Atlanta:Hawks',
    'BOS:Boston:Celtics',
    'BKN/BRK:Brooklyn:Nets',
    'CHA/CHO:Charlotte:Hornets',
    'CHI:Chicago:Bulls',
    'CLE:Cleveland:Cavaliers',
    'DAL:Dallas:Mavericks',
    'DEN:Denver:Nuggets',
    'DET:Detroit:Pistons',
    'GSW/GS:Golden State:Warriors',
    'HOU:Houston:Rockets',
    'IND:Indiana:Pacers',
    'LAC:Los Angeles:Clippers',
    'LAL:Los Angeles:Lakers',
    'MEM:Memphis:Grizzlies',
    'MIA:Miami:Heat',
    'MIL:Milwaukee:Bucks',
    'MIN:Minnesota:Timberwolves',
    'NOP/NO:New Orleans:Pelicans',
    'NYK/NY:New York:Knicks',
    'OKC:Oklahoma City:Thunder',
    'ORL:Orlando:Magic',
    'PHI:Philadelphia:76ers',
    'PHX/PHO:Phoenix:Suns',
    'POR:Portland:Trail Blazers',
    'SAC:Sacramento:Kings',
    'SAS/SA:San Antonio:Spurs',
    'TOR:Toronto:Raptors',
    'UTA/UTAH:Utah:Jazz',
    'WAS/WSH:Washington:Wizards',
  ],
  nfl: [
    'ARI:Arizona:Cardinals',
    'ATL:Atlanta:Falcons',
    'BAL:Baltimore:Ravens',
    'BUF:Buffalo:Bills',
    'CAR:Carolina:Panthers',
    'CHI:Chicago:Bears',
    'CIN:Cincinnati:Bengals',
    'CLE:Cleveland:Browns',
    'DAL:Dallas:Cowboys',
    'DEN:Denver:Broncos',
    'DET:Detroit:Lions',
    'GB:Green Bay:Packers',
    'HOU:Houston:Texans',
    'IND:Indianapolis:Colts',
    'JAX/JAC:Jacksonville:Jaguars',
    'KC:Kansas City:Chiefs',
    'LV:Las Vegas:Raiders',
    'LAC:Los Angeles:Chargers',
    'LAR/LA:Los Angeles:Rams',
    'MIA:Miami:Dolphins',
    'MIN:Minnesota:Vikings',
    'NE:New England:Patriots',
    'NO:New Orleans:Saints',
    'NYG:New York:Giants',
    'NYJ:New York:Jets',
    'PHI:Philadelphia:Eagles',
    'PIT:Pittsburgh:Steelers',
    'SF:San Francisco:49ers',
    'SEA:Seattle:Seahawks',
    'TB:Tampa Bay:Buccaneers',
    'TEN:Tennessee:Titans',
    'WAS/WSH:Washington:Commanders',
  ],
  nhl: [
    'ANA:Anaheim:Ducks',
    'BOS:Boston:Bruins',
    'BUF:Buffalo:Sabres',
    'CGY:Calgary:Flames',
    'CAR:Carolina:Hurricanes',
    'CHI:Chicago:Blackhawks',
    'COL:Colorado:Avalanche',
    'CBJ:Columbus:Blue Jackets',
    'DAL:Dallas:Stars',
    'DET:Detroit:Red Wings',
    'EDM:Edmonton:Oilers',
    'FLA:Florida:Panthers',
    'LA/LAK:Los Angeles:Kings',
    'MIN:Minnesota:Wild',
    'MTL:Montreal:Canadiens',
    'NSH:Nashville:Predators',
    'NJ/NJD:New Jersey:Devils',
    'NYI:New York:Islanders',
    'NYR:New York:Rangers',
    'OTT:Ottawa:Senators',
    'PHI:Philadelphia:Flyers',
    'PIT:Pittsburgh:Penguins',
    'SJ/SJS:San Jose:Sharks',
    'SEA:Seattle:Kraken',
    'STL:St Louis:Blues',
    'TB/TBL:Tampa Bay:Lightning',
    'TOR:Toronto:Maple Leafs',
    'UTA:Utah:Mammoth',
    'VAN:Vancouver:Canucks',
    'VGK/VEG:Vegas:Golden Knights',
    'WSH/WAS:Washington:Capitals',
    'WPG:Winnipeg:Jets',
  ],
};

/** Lower case, no accents or punctuation, single spaces: "Montréal" = "montreal", "St. Louis" = "st louis". */
export function normalizeName(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

export interface TeamDirectory {
  /** The canonical code for a way of writing the team, or undefined (unknown or ambiguous, e.g. "New York"). */
  resolve(name: string): string | undefined;
}

const directories = new Map<Sport, TeamDirectory>();

/** Teams of a sport. Sports without a table resolve a name to its normalized self (exact matching). */
export function teamDirectory(sport: Sport): TeamDirectory {
  const cached = directories.get(sport);
  if (cached) return cached;
  const table = tables[sport];
  let directory: TeamDirectory;
  if (!table) directory = { resolve: (name) => normalizeName(name) || undefined };
  else {
    const byAlias = new Map<string, string | null>(); // null: more than one team answers to it
    const add = (alias: string, code: string) => {
      const key = normalizeName(alias);
      const existing = byAlias.get(key);
      byAlias.set(key, existing === undefined || existing === code ? code : null);
    };
    for (const row of table) {
      const [codes, city, nickname] = row.split(':') as [string, string, string];
      const [canonical] = codes.split('/') as [string];
      for (const code of codes.split('/')) add(code, canonical);
      add(nickname, canonical);
      add(`${city} ${nickname}`, canonical);
      add(city, canonical);
    }
    directory = { resolve: (name) => byAlias.get(normalizeName(name)) ?? undefined };
  }
  directories.set(sport, directory);
  return directory;
}
