// Settles positions when their market resolves. Every `intervalMs` it asks the venues' public
// market endpoints about each market where the ledger holds contracts (Kalshi `GET
// /markets/{ticker}`; Polymarket Gamma `GET /markets?clob_token_ids=…&closed=true`, confirmed by
// the CLOB's `GET /markets/{condition_id}`), reads the answers with resolution.ts, and pays the
// resolved ones out through Ledger.settleMarket. A venue that errs, times out or answers anything
// unexpected leaves the positions as they are until a later poll. Polymarket is asked through the
// VPN pod's proxy when one is given (always, in a cluster), like every other Polymarket request.
import type { Logger } from 'pino';
import type pg from 'pg';
import { ProxyAgent, fetch as fetchThrough } from 'undici';
import { NO_REDIRECT, fetchErrorText, readBounded } from '../../lib/bounded-http.js';
import type { Outcome, Venue } from '../../contracts/messages.js';
import type { ShardConfig, ShardMarket } from '../../contracts/shard-config.js';
import { defaultExecutorSettings } from './settings.js';
import { Ledger, type SettlementEffects } from './ledger.js';
import type { ExecutorMetrics } from './metrics.js';
import { tradingDay } from './pnl.js';
import { polymarketResolution, gammaResolution, clobResolution } from '../../venues/polymarket/resolution.js';
import { kalshiResolution } from '../../venues/kalshi/resolution.js';
import type { Resolution } from '../../venues/resolution.js';

export interface SettlementOptions {
  pool: pg.Pool;
  shard: string;
  shardConfig: ShardConfig;
  log: Logger;
  metrics?: ExecutorMetrics;
  /** Between polls (default 30 s). */
  intervalMs?: number;
  /** Per venue request (default 5 s). */
  requestTimeoutMs?: number;
  /** The zone of the trading day the settlement's PnL counts in (default: the executor's). */
  timeZone?: string;
  fetchImpl?: typeof fetch;
  /** gluetun's HTTP proxy (ARBEES_POLYMARKET_PROXY_URL): Polymarket's endpoints are read through it. */
  polymarketProxyUrl?: string;
  now?: () => number;
  /** Told of each market settled (the running executor's in-memory positions and PnL follow it). */
  onSettled?(settlement: MarketSettlement): void;
}

export interface MarketSettlement {
  marketId: string;
  venue: Venue;
  winner: Outcome;
  effects: SettlementEffects;
}

export interface SettlementPoll {
  /** Markets (per venue) with open positions that were looked at. */
  checked: number;
  settled: MarketSettlement[];
  unresolved: number;
  /** Venue errors, unreadable answers, markets missing from the shard config. */
  failed: number;
}

export interface SettlementPoller {
  pollOnce(): Promise<SettlementPoll>;
  stop(): Promise<void>;
}

class VenueError extends Error {}

/** One market's status (Kalshi's market, Gamma's or the CLOB's market object): tens of KiB at most. */
const MARKET_ANSWER_BYTES = 4 * 1024 * 1024;

export function startSettlement(options: SettlementOptions): SettlementPoller {
  const { log, shardConfig } = options;
  const ledger = new Ledger(options.pool, options.shard);
  const intervalMs = options.intervalMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const timeZone = options.timeZone ?? defaultExecutorSettings(shardConfig).timeZone;
  const get = options.fetchImpl ?? fetch;
  const now = options.now ?? Date.now;
  const markets = new Map(shardConfig.markets.map((m) => [m.id, m]));
  const proxy = options.polymarketProxyUrl ? new ProxyAgent(options.polymarketProxyUrl) : undefined;

  const getJson = async (url: string, polymarket = false): Promise<unknown> => {
    let response: { ok: boolean; status: number };
    let text: string;
    try {
      // A redirect is refused and the answer read with a bound: either is a venue that did not answer.
      const init = { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), ...NO_REDIRECT };
      const res = polymarket && proxy ? await fetchThrough(url, { ...init, dispatcher: proxy }) : await get(url, init);
      response = res;
      text = await readBounded(res, MARKET_ANSWER_BYTES);
    } catch (error) {
      throw new VenueError(`GET ${url}: ${fetchErrorText(error)}`);
    }
    if (!response.ok) throw new VenueError(`GET ${url}: HTTP ${response.status} ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new VenueError(`GET ${url}: not JSON: ${text.slice(0, 200)}`);
    }
  };

  const resolution = async (market: ShardMarket, venue: Venue): Promise<{ resolution: Resolution; evidence: unknown }> => {
    if (venue === 'kalshi') {
      const body = await getJson(`${shardConfig.venues.kalshi.restUrl}/markets/${encodeURIComponent(market.kalshi.ticker)}`);
      return { resolution: kalshiResolution(body, market.kalshi.ticker), evidence: { kalshi: body } };
    }
    const { gammaUrl, clobUrl } = shardConfig.venues.polymarket;
    const gammaBody = await getJson(
      `${gammaUrl}/markets?clob_token_ids=${encodeURIComponent(market.polymarket.yesTokenId)}&closed=true`,
      true,
    );
    const gamma = gammaResolution(gammaBody, market.polymarket);
    if (!gamma.resolved || !gamma.conditionId) return { resolution: gamma, evidence: { gamma: gammaBody } };
    const clobBody = await getJson(`${clobUrl}/markets/${gamma.conditionId}`, true);
    return {
      resolution: polymarketResolution(gamma, clobResolution(clobBody, market.polymarket)),
      evidence: { gamma: gammaBody, clob: clobBody },
    };
  };

  const poll = async (): Promise<SettlementPoll> => {
    const result: SettlementPoll = { checked: 0, settled: [], unresolved: 0, failed: 0 };
    for (const { marketId, venue } of await ledger.openMarkets()) {
      result.checked++;
      const market = markets.get(marketId);
      if (!market) {
        result.failed++;
        log.warn({ marketId, venue }, 'open position on a market missing from the shard config: cannot check whether it resolved');
        continue;
      }
      try {
        const { resolution: r, evidence } = await resolution(market, venue);
        if (!r.resolved) {
          result.unresolved++;
          log.debug({ marketId, venue, reason: r.reason }, 'market not resolved');
          continue;
        }
        const effects = await ledger.settleMarket(marketId, venue, r.winner, tradingDay(now(), timeZone), evidence);
        if (effects.settled.length === 0) continue; // settled meanwhile by another poller
        const settlement: MarketSettlement = { marketId, venue, winner: r.winner, effects };
        result.settled.push(settlement);
        options.metrics?.settlements.inc({ venue }, effects.settled.length);
        log.info(
          { marketId, venue, winner: r.winner, realized: effects.realized, positions: effects.settled },
          'market resolved: positions settled',
        );
        options.onSettled?.(settlement);
      } catch (error) {
        result.failed++;
        log.warn(
          { err: error, marketId, venue },
          error instanceof VenueError
            ? 'cannot read the market from the venue; positions left open'
            : 'settlement failed; positions left open',
        );
      }
    }
    return result;
  };

  // Polls run one at a time, whether from the timer or from pollOnce.
  let chain: Promise<unknown> = Promise.resolve();
  const serialized = (): Promise<SettlementPoll> => {
    const next = chain.then(poll);
    chain = next.catch(() => undefined);
    return next;
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      serialized()
        .catch((error: unknown) => log.warn({ err: error }, 'settlement poll failed'))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    pollOnce: serialized,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await chain;
      await proxy?.close();
    },
  };
}
