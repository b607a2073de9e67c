// `arbees discover`: finds a sport's games on both venues and matches them team by team.
import { stringify } from 'yaml';
import type { Command } from '../command.js';
import { parseOptions, UsageError } from '../command.js';
import { sports, type Sport } from '../../contracts/trading-shard.js';
import { ConfigError } from '../../contracts/config-error.js';
import { loadShardConfig } from '../../lib/config.js';
import { DiscoveryError, discoverMarkets, kalshiGameSeries } from '../../venues/discovery/fetch.js';

export const discoverCommand: Command = {
  path: ['discover'],
  summary: "Find a sport's games on Kalshi and Polymarket and match their markets team by team",
  help: `Usage: arbees discover (--shard-config FILE | --kalshi-url URL --gamma-url URL --sports LIST) [options]

Lists the open game-winner events of each sport on Kalshi (GET /events with nested
markets, series ${Object.values(kalshiGameSeries).join(', ')}) and the open
events on Polymarket's Gamma API, and matches each Kalshi market ("yes: TEAM wins") to
the Polymarket moneyline of the same game: the same two teams (names, nicknames and
codes resolved per sport) on the same game date (US Eastern). The YES token is the
outcome token of that team, found by name, never by the order the venue lists the
teams in. Anything unsure is left out and reported on stderr with the reason.

Prints the matched markets (the shape of a TradingShard's spec.markets) on stdout.

Options:
  --shard-config FILE     take the venue URLs and discovery (sports, lookaheadHours)
                          from a shard config (the operator's rendered shard.json)
  --kalshi-url URL        Kalshi REST base, e.g. https://api.elections.kalshi.com/trade-api/v2
  --gamma-url URL         Gamma API base, e.g. https://gamma-api.polymarket.com
  --sports LIST           comma-separated: ${sports.join(', ')}
  --lookahead-hours N     only games starting within N hours (default 24)
  --output yaml|json      output format (default yaml)
  -h, --help              show this help`,
  async run(args, io) {
    const { values } = parseOptions(args, {
      'shard-config': { type: 'string' },
      'kalshi-url': { type: 'string' },
      'gamma-url': { type: 'string' },
      sports: { type: 'string' },
      'lookahead-hours': { type: 'string' },
      output: { type: 'string' },
    });
    const output = values.output ?? 'yaml';
    if (output !== 'yaml' && output !== 'json') throw new UsageError('--output must be yaml or json');
    let kalshiRestUrl = values['kalshi-url'];
    let gammaUrl = values['gamma-url'];
    let chosen: string[] | undefined = values.sports?.split(',').map((s) => s.trim());
    let lookaheadHours = values['lookahead-hours'] !== undefined ? Number(values['lookahead-hours']) : undefined;
    if (values['shard-config']) {
      try {
        const shard = loadShardConfig(values['shard-config']);
        kalshiRestUrl ??= shard.venues.kalshi.restUrl;
        gammaUrl ??= shard.venues.polymarket.gammaUrl;
        chosen ??= shard.discovery?.sports;
        lookaheadHours ??= shard.discovery?.lookaheadHours;
      } catch (error) {
        if (error instanceof ConfigError) {
          io.err(error.message);
          return 1;
        }
        throw error;
      }
    }
    if (!kalshiRestUrl || !gammaUrl) throw new UsageError('give --shard-config, or both --kalshi-url and --gamma-url');
    if (!chosen || chosen.length === 0) throw new UsageError('give --sports (or a shard config with discovery.sports)');
    const unknown = chosen.filter((s) => !(sports as readonly string[]).includes(s));
    if (unknown.length > 0) throw new UsageError(`unknown sport(s): ${unknown.join(', ')} (known: ${sports.join(', ')})`);
    lookaheadHours ??= 24;
    if (!Number.isFinite(lookaheadHours) || lookaheadHours <= 0) throw new UsageError('--lookahead-hours must be a positive number');
    try {
      const result = await discoverMarkets({ kalshiRestUrl, gammaUrl, sports: chosen as Sport[], lookaheadHours });
      for (const u of result.unmatched) io.err(`not matched (${u.venue} ${u.ref}): ${u.reason}`);
      io.err(`${result.markets.length} market(s) matched, ${result.unmatched.length} left out`);
      io.out(output === 'json' ? JSON.stringify(result.markets, null, 2) : stringify({ markets: result.markets }).trimEnd());
      return 0;
    } catch (error) {
      if (error instanceof DiscoveryError) {
        io.err(`discovery failed: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
