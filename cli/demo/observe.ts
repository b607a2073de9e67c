// What the demo watches once a second: each workload's /metrics, the latest quotes in Redis, the
// ledger in PostgreSQL and each process's memory. Plain data out, for the screen and the report.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { QUOTE_FIELD } from '../../workloads/market-data/publisher.js';
import { streamKeys, type Quote } from '../../contracts/messages.js';
import { parseMetricsText, sumBy, sumOf, type Sample } from './metrics-text.js';
import type { Component, Workload } from './stack.js';

export interface VenueQuote {
  bid?: number;
  ask?: number;
  stale: boolean;
  /** Seconds since the monitor last saw a book update (its arbees_quote_age_seconds). */
  ageSeconds?: number;
}

export interface MarketView {
  id: string;
  kalshi: VenueQuote;
  polymarket: VenueQuote;
}

export interface Tick {
  /** Epoch ms. */
  at: number;
  scrapes: Partial<Record<Component, Sample[]>>;
  markets: MarketView[];
  venues: Record<'kalshi' | 'polymarket', { connected: boolean; quotes: number; reconnects: number; staleBooks: number }>;
  vpnUp: boolean | undefined;
  signals: Record<string, number>;
  executorSignals: Record<string, number>;
  ordersByStatus: Record<string, number>;
  fills: number;
  openPositions: number;
  pnlUsd: number | undefined;
  dailyLossUsd: number | undefined;
  exposureUsd: number | undefined;
  rejections: Record<string, number>;
  rssMb: Partial<Record<Component, number>>;
}

async function scrape(url: string): Promise<Sample[] | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(800) });
    return response.ok ? parseMetricsText(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** Resident and peak-resident memory of a process, MB (Linux /proc). */
export function memoryOf(pid: number | undefined): { rss: number; peak: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The newest YES quote per venue and market among the last entries of the quotes stream. */
async function latestQuotes(redis: Redis, shard: string): Promise<Map<string, Quote>> {
  const latest = new Map<string, Quote>();
  const entries = await redis.xrevrange(streamKeys.quotes(shard), '+', '-', 'COUNT', 400);
  for (const [, fields] of entries) {
    const at = fields.indexOf(QUOTE_FIELD);
    if (at < 0) continue;
    const quote = JSON.parse(fields[at + 1]!) as Quote;
    if (quote.outcome !== 'yes') continue;
    const key = `${quote.venue}/${quote.marketId}`;
    if (!latest.has(key)) latest.set(key, quote);
  }
  return latest;
}

export async function observe(deps: {
  workloads: Workload[];
  redis: Redis;
  db: pg.Pool;
  shard: string;
  marketIds: string[];
}): Promise<Tick> {
  const scrapes: Partial<Record<Component, Sample[]>> = {};
  const rssMb: Partial<Record<Component, number>> = {};
  await Promise.all(
    deps.workloads.map(async (w) => {
      const samples = await scrape(w.metricsUrl);
      if (samples) scrapes[w.component] = samples;
      const memory = memoryOf(w.process.child.pid);
      if (memory) rssMb[w.component] = memory.rss;
    }),
  );
  const [quotes, ledger] = await Promise.all([
    latestQuotes(deps.redis, deps.shard).catch(() => new Map<string, Quote>()),
    deps.db
      .query<{ status: string; n: string }>(
        `select 'order:' || status as status, count(*)::text as n from orders group by status
         union all select 'fills', count(*)::text from fills
         union all select 'positions', count(*)::text from positions where size <> 0`,
      )
      .then((r): Record<string, number> => Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)])))
      .catch((): Record<string, number> => ({})),
  ]);
  const k = scrapes['kalshi-monitor'] ?? [];
  const p = scrapes['polymarket-monitor'] ?? [];
  const e = scrapes.executor;
  const ages = (samples: Sample[]): Record<string, number> =>
    Object.fromEntries(samples.filter((s) => s.name === 'arbees_quote_age_seconds').map((s) => [s.labels.market ?? '', s.value]));
  const kalshiAges = ages(k);
  const polymarketAges = ages(p);
  const view = (venue: 'kalshi' | 'polymarket', id: string, age: number | undefined): VenueQuote => {
    const quote = quotes.get(`${venue}/${id}`);
    return {
      bid: quote?.bids[0]?.[0],
      ask: quote?.asks[0]?.[0],
      stale: quote?.stale ?? true,
      ageSeconds: age !== undefined && age >= 0 ? age : undefined,
    };
  };
  const venue = (samples: Sample[], name: 'kalshi' | 'polymarket') => ({
    connected: sumOf(samples, 'arbees_ws_connected', { venue: name }) > 0,
    quotes: sumOf(samples, 'arbees_quotes_total', { venue: name }),
    reconnects: sumOf(samples, 'arbees_ws_reconnects_total', { venue: name }),
    staleBooks: sumOf(samples, 'arbees_stale_books', { venue: name }),
  });
  const gauge = (name: string) => (e?.some((s) => s.name === name) ? sumOf(e, name) : undefined);
  const orderStatuses = Object.fromEntries(
    Object.entries(ledger)
      .filter(([key]) => key.startsWith('order:'))
      .map(([key, n]) => [key.slice(6), n]),
  );
  return {
    at: Date.now(),
    scrapes,
    markets: deps.marketIds.map((id) => ({
      id,
      kalshi: view('kalshi', id, kalshiAges[id]),
      polymarket: view('polymarket', id, polymarketAges[id]),
    })),
    venues: { kalshi: venue(k, 'kalshi'), polymarket: venue(p, 'polymarket') },
    vpnUp: p.some((s) => s.name === 'arbees_vpn_up') ? sumOf(p, 'arbees_vpn_up') > 0 : undefined,
    signals: sumBy(scrapes.detector ?? [], 'arbees_signals_total', 'kind'),
    executorSignals: sumBy(e ?? [], 'arbees_executor_signals_total', 'outcome'),
    ordersByStatus: orderStatuses,
    fills: ledger.fills ?? 0,
    openPositions: ledger.positions ?? 0,
    pnlUsd: gauge('arbees_pnl_usd'),
    dailyLossUsd: gauge('arbees_daily_loss_usd'),
    exposureUsd: gauge('arbees_exposure_usd'),
    rejections: sumBy(e ?? [], 'arbees_risk_rejections_total', 'rule'),
    rssMb,
  };
}
