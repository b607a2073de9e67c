// The live terminal summary, pure: one observation in, the lines to draw out.
import type { BreakerSnapshot } from '../../operator/breaker/machine.js';
import type { MarketView, Tick, VenueQuote } from './observe.js';

const color = { green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' };
export type Paint = (text: string, tone: keyof typeof color) => string;
export const withColor: Paint = (text, tone) => `${color[tone]}${text}${color.reset}`;
export const noColor: Paint = (text) => text;

const cents = (price: number | undefined) => (price === undefined ? '  — ' : `${(price / 100).toFixed(1).padStart(4)}`);
const money = (value: number | undefined) => (value === undefined ? '—' : `${value < 0 ? '-' : ''}$${Math.abs(value).toFixed(2)}`);
const seconds = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

function quoteCell(q: VenueQuote, paint: Paint): string {
  const text = `${cents(q.bid)}/${cents(q.ask)}¢`;
  const age = q.ageSeconds === undefined ? '   —' : `${q.ageSeconds.toFixed(1).padStart(4)}s`;
  return q.stale ? paint(`${text} ${age} stale`, 'red') : `${text} ${paint(age, 'dim')}      `;
}

function marketLine(m: MarketView, paint: Paint): string {
  // A cross-venue window shows as one venue's YES bid above the other's YES ask.
  const cross =
    !m.kalshi.stale &&
    !m.polymarket.stale &&
    m.kalshi.bid !== undefined &&
    m.polymarket.ask !== undefined &&
    m.polymarket.bid !== undefined &&
    m.kalshi.ask !== undefined
      ? m.kalshi.bid > m.polymarket.ask || m.polymarket.bid > m.kalshi.ask
      : false;
  return (
    `  ${m.id.padEnd(18)} ${quoteCell(m.kalshi, paint)}  ` +
    `${quoteCell(m.polymarket, paint)}${cross ? paint('  ◆ crossed', 'yellow') : ''}`
  );
}

const breakerTone = { Closed: 'green', HalfOpen: 'yellow', Open: 'red' } as const;

export function renderSummary(input: {
  tick: Tick;
  breaker: BreakerSnapshot;
  elapsedMs: number;
  durationMs: number;
  scenario: string;
  paint: Paint;
}): string[] {
  const { tick, breaker, paint } = input;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const venue = (name: 'kalshi' | 'polymarket') => {
    const v = tick.venues[name];
    const state = v.connected ? paint('connected', 'green') : paint('disconnected', 'red');
    return (
      `${name.padEnd(10)} ${state}  quotes ${String(v.quotes).padStart(7)}  reconnects ${v.reconnects}  stale ` +
      `books ${v.staleBooks > 0 ? paint(String(v.staleBooks), 'red') : '0'}`
    );
  };
  const orders = Object.entries(tick.ordersByStatus)
    .sort()
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  const rejections = Object.entries(tick.rejections)
    .filter(([, n]) => n > 0)
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  const rss = Object.entries(tick.rssMb)
    .map(([name, mb]) => `${name} ${Math.round(mb)}`)
    .join('  ');
  return [
    paint(
      `Arbees demo — ${input.scenario} — ${seconds(input.elapsedMs)} of ` +
        `${seconds(input.durationMs)} (paper trading; Ctrl-C stops and writes the report)`,
      'bold',
    ),
    '',
    `  ${venue('kalshi')}`,
    `  ${venue('polymarket')}  VPN check ${tick.vpnUp === undefined ? '—' : tick.vpnUp ? paint('up', 'green') : paint('down', 'red')}`,
    '',
    paint(`  ${'market'.padEnd(18)} ${'Kalshi YES bid/ask  age'.padEnd(26)}  Polymarket YES bid/ask  age`, 'dim'),
    ...tick.markets.map((m) => marketLine(m, paint)),
    '',
    `  signals     ${sum(tick.signals)} (${
      Object.entries(tick.signals)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none yet'
    })   taken by the executor: ${
      Object.entries(tick.executorSignals)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '—'
    }`,
    `  orders      ${sum(tick.ordersByStatus)} (${orders || 'none yet'})   fills ${tick.fills}   open positions ${tick.openPositions}`,
    `  PnL         ${money(tick.pnlUsd)}   daily loss ${money(tick.dailyLossUsd)}   exposure ${money(tick.exposureUsd)}`,
    `  risk        ${rejections || 'no rejections'}`,
    `  breaker     ${paint(breaker.state, breakerTone[breaker.state])} — ` +
      `${breaker.reason}${breaker.trips > 0 ? ` (trips: ${breaker.trips})` : ''}`,
    paint(`  memory MB   ${rss}`, 'dim'),
  ];
}

/** One line for a log or CI (stdout not a terminal). */
export function renderStatusLine(tick: Tick, breaker: BreakerSnapshot, elapsedMs: number): string {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return (
    `[${seconds(elapsedMs)}] quotes k=${tick.venues.kalshi.quotes} p=${tick.venues.polymarket.quotes}  signals ` +
    `${sum(tick.signals)}  orders ${sum(tick.ordersByStatus)}  fills ${tick.fills}  PnL ${money(tick.pnlUsd)}  breaker ${breaker.state}`
  );
}
