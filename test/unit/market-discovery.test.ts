// Cross-venue matching: the same game and the same team on both venues, whatever order a venue
// lists the teams in, and nothing matched when anything is unsure.
import { expect } from 'chai';
import { easternDate, matchMarkets, parseEventTicker, type KalshiEvent, type PolymarketEvent } from '../../venues/discovery/match.js';
import { normalizeName, teamDirectory } from '../../venues/discovery/teams.js';

const eaglesAtCommanders: KalshiEvent = {
  eventTicker: 'KXNFLGAME-25DEC20PHIWAS',
  title: 'Philadelphia at Washington',
  markets: [
    { ticker: 'KXNFLGAME-25DEC20PHIWAS-PHI', yesSubTitle: 'Philadelphia', status: 'active' },
    { ticker: 'KXNFLGAME-25DEC20PHIWAS-WAS', yesSubTitle: 'Washington', status: 'active' },
  ],
};

/** Polymarket lists the home team first here: a positional match would swap the sides. */
const polymarketGame = (
  outcomes: string[],
  tokens: string[],
  gameStartTime = '2025-12-21 01:00:00+00',
  slug = 'nfl-phi-was-2025-12-20',
): PolymarketEvent => ({
  slug,
  title: 'Eagles vs. Commanders',
  markets: [{ slug, outcomes, tokenIds: tokens, sportsMarketType: 'moneyline', gameStartTime, active: true, closed: false }],
});

describe('market discovery: matching', () => {
  it('gives each Kalshi team market the Polymarket token of the same team, not the same position', () => {
    const result = matchMarkets('nfl', [eaglesAtCommanders], [polymarketGame(['Commanders', 'Eagles'], ['tok-was', 'tok-phi'])]);
    expect(result.unmatched).to.deep.equal([]);
    const phi = result.markets.find((m) => m.kalshi.ticker.endsWith('-PHI'))!;
    const was = result.markets.find((m) => m.kalshi.ticker.endsWith('-WAS'))!;
    expect(phi.polymarket).to.deep.equal({ yesTokenId: 'tok-phi', noTokenId: 'tok-was' });
    expect(was.polymarket).to.deep.equal({ yesTokenId: 'tok-was', noTokenId: 'tok-phi' });
    expect(phi.game).to.equal(was.game);
    expect(phi.id).to.equal('nfl-phi-was-2025-12-20-phi');
    expect(phi.startsAt).to.equal('2025-12-21T01:00:00.000Z');
  });

  it('gives the same answer whichever order Polymarket lists the teams in', () => {
    const homeFirst = matchMarkets('nfl', [eaglesAtCommanders], [polymarketGame(['Commanders', 'Eagles'], ['tok-was', 'tok-phi'])]);
    const awayFirst = matchMarkets('nfl', [eaglesAtCommanders], [polymarketGame(['Eagles', 'Commanders'], ['tok-phi', 'tok-was'])]);
    expect(awayFirst.markets).to.deep.equal(homeFirst.markets);
  });

  it('does not match the same teams on another date (a series rematch)', () => {
    const nextDay = matchMarkets(
      'nfl',
      [eaglesAtCommanders],
      [polymarketGame(['Eagles', 'Commanders'], ['a', 'b'], '2025-12-22 01:00:00+00')],
    );
    expect(nextDay.markets).to.deep.equal([]);
    expect(nextDay.unmatched.map((u) => u.reason)).to.deep.equal([
      'no Polymarket moneyline for PHI at WAS on 2025-12-20',
      'no Polymarket moneyline for PHI at WAS on 2025-12-20',
    ]);
  });

  it('refuses two candidate games on the same date rather than guess', () => {
    const result = matchMarkets(
      'nfl',
      [eaglesAtCommanders],
      [polymarketGame(['Eagles', 'Commanders'], ['a', 'b']), polymarketGame(['Eagles', 'Commanders'], ['c', 'd'], undefined, 'dup')],
    );
    expect(result.markets).to.deep.equal([]);
    expect(result.unmatched[0]!.reason).to.match(/2 Polymarket markets for PHI at WAS/);
  });

  it('refuses a Kalshi market whose ticker and title name different teams', () => {
    const confused: KalshiEvent = {
      ...eaglesAtCommanders,
      markets: [{ ticker: 'KXNFLGAME-25DEC20PHIWAS-PHI', yesSubTitle: 'Washington', status: 'active' }],
    };
    const result = matchMarkets('nfl', [confused], [polymarketGame(['Eagles', 'Commanders'], ['a', 'b'])]);
    expect(result.markets).to.deep.equal([]);
    expect(result.unmatched[0]!.reason).to.contain('team unclear');
  });

  it('refuses outcomes that name an ambiguous city (two Los Angeles teams)', () => {
    const lakers: KalshiEvent = {
      eventTicker: 'KXNBAGAME-26FEB05PHILAL',
      title: 'Philadelphia at Los Angeles L',
      markets: [{ ticker: 'KXNBAGAME-26FEB05PHILAL-LAL', yesSubTitle: 'Los Angeles L', status: 'active' }],
    };
    const vague: PolymarketEvent = {
      slug: 'nba-phi-lal',
      title: '76ers vs. Los Angeles',
      markets: [
        {
          slug: 'nba-phi-lal',
          outcomes: ['76ers', 'Los Angeles'],
          tokenIds: ['a', 'b'],
          sportsMarketType: 'moneyline',
          gameStartTime: '2026-02-06 03:30:00+00',
          active: true,
          closed: false,
        },
      ],
    };
    const result = matchMarkets('nba', [lakers], [vague]);
    expect(result.markets).to.deep.equal([]);
    expect(result.unmatched.some((u) => u.venue === 'polymarket' && u.reason.includes('not two known, different teams'))).to.equal(true);
    // Named properly, the same game matches (the teams come from the ticker's codes when the title does not resolve).
    const named: PolymarketEvent = {
      ...vague,
      markets: [{ ...vague.markets[0]!, outcomes: ['Lakers', '76ers'], tokenIds: ['tok-lal', 'tok-phi'] }],
    };
    expect(matchMarkets('nba', [lakers], [named]).markets[0]!.polymarket).to.deep.equal({ yesTokenId: 'tok-lal', noTokenId: 'tok-phi' });
  });

  it('ignores spreads, totals and closed markets', () => {
    const spread = polymarketGame(['Eagles', 'Commanders'], ['a', 'b']);
    spread.markets[0]!.sportsMarketType = 'spreads';
    const closed = polymarketGame(['Eagles', 'Commanders'], ['c', 'd'], undefined, 'closed');
    closed.markets[0]!.closed = true;
    expect(matchMarkets('nfl', [eaglesAtCommanders], [spread, closed]).markets).to.deep.equal([]);
  });
});

describe('market discovery: names, tickers, dates', () => {
  it('reads the game date and team codes from Kalshi event tickers, MLB start time included', () => {
    expect(parseEventTicker('KXNFLGAME-25DEC20PHIWAS')).to.deep.equal({ date: '2025-12-20', codes: 'PHIWAS' });
    expect(parseEventTicker('KXMLBGAME-26MAR281915KCATL')).to.deep.equal({ date: '2026-03-28', codes: 'KCATL' });
    expect(parseEventTicker('KXNBAGAME')).to.equal(undefined);
  });

  it('dates a game in US Eastern time, as Kalshi does', () => {
    expect(easternDate('2025-12-21 01:00:00+00')).to.equal('2025-12-20'); // 8 pm the evening before
    expect(easternDate('2025-12-21T18:00:00Z')).to.equal('2025-12-21');
    expect(easternDate('not a date')).to.equal(undefined);
  });

  it('resolves codes, nicknames, cities and full names to one team, accents and punctuation aside', () => {
    expect(normalizeName('Montréal  Canadiens')).to.equal('montreal canadiens');
    const nhl = teamDirectory('nhl');
    for (const name of ['MTL', 'Canadiens', 'Montreal', 'Montréal Canadiens']) expect(nhl.resolve(name), name).to.equal('MTL');
    expect(nhl.resolve('St. Louis Blues')).to.equal('STL');
    expect(nhl.resolve('VEG')).to.equal('VGK');
    expect(nhl.resolve('New York')).to.equal(undefined); // Rangers or Islanders
    expect(teamDirectory('nfl').resolve('LA')).to.equal('LAR');
  });
});
