// The demo's report, pure: Markdown for people and an SVG chart of PnL and latency over time.
import type { BreakerState } from '../../contracts/trading-shard.js';
import type { Results } from './results.js';

export interface Transition {
  at: number;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

export interface ReportInput {
  scenario: { name: string; seed: string | number; simulatedMs: number };
  startedAt: number;
  endedAt: number;
  speed: number;
  interrupted: boolean;
  /** PnL over time (epoch ms, USD). */
  pnl: Array<{ at: number; usd: number }>;
  transitions: Transition[];
  finalBreaker: BreakerState;
  peakMemoryMb: Record<string, number>;
  quotes: { kalshi: number; polymarket: number };
  reconnects: { kalshi: number; polymarket: number };
  results: Results;
  chartFile: string;
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(value < 10 ? 2 : 0)} ms`);
const usd = (value: number) => `${value < 0 ? '-' : ''}$${Math.abs(value).toFixed(2)}`;
const clock = (at: number, start: number) => `+${((at - start) / 1000).toFixed(1)}s`;

/** "equal to the cent", or the differences, Kalshi then Polymarket. */
function balanceVerdict(balances: NonNullable<ReportInput['results']['balances']>): string {
  const diff = (b: { ledger: number; venue: number }) => Math.round((b.venue - b.ledger) / 100);
  const k = diff(balances.kalshi);
  const p = diff(balances.polymarket);
  return k === 0 && p === 0 ? '**equal to the cent**' : `**differ**: ${usd(k / 100)} / ${usd(p / 100)}`;
}

export function renderMarkdown(input: ReportInput): string {
  const r = input.results;
  const toOrder = r.signals.flatMap((s) => (s.toOrderMs === undefined ? [] : [s.toOrderMs]));
  const quoteAge = r.signals.map((s) => s.quoteAgeMs);
  const filled = r.orders.filter((o) => o.filledSize > 0);
  const found = r.windows.filter((w) => w.signals > 0).length;
  const pnl = input.pnl.at(-1)?.usd ?? 0;
  const byStatus = new Map<string, number>();
  for (const o of r.orders) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  const lines = [
    `# Arbees demo report — ${input.scenario.name}`,
    '',
    `${new Date(input.startedAt).toISOString()} · ${((input.endedAt - input.startedAt) / 1000).toFixed(0)} s of real time ` +
      `for ${(input.scenario.simulatedMs / 60_000).toFixed(1)} simulated minutes (×${input.speed.toFixed(1)}) · seed ` +
      `${input.scenario.seed} · ${r.balances ? 'live trading on the simulators' : 'paper trading'}` +
      `${input.interrupted ? ' · **stopped early (Ctrl-C)**' : ''}`,
    '',
    '## Summary',
    '',
    '| | |',
    '|---|---|',
    `| PnL (realized + unrealized, fees included) | **${usd(pnl)}** |`,
    `| realized / fees | ${usd(r.realizedUsd)} / ${usd(r.feesUsd)} |`,
    `| fees by venue (Kalshi / Polymarket) | ${usd(r.feesByVenue.kalshi)} / ${usd(r.feesByVenue.polymarket)} |`,
    `| positions settled / still open | ${r.settlements} / ${r.openPositions} |`,
    ...(r.balances ? [`| final balances = ledger (Kalshi / Polymarket) | ${balanceVerdict(r.balances)} |`] : []),
    `| arbitrage windows injected / found | ${r.windows.length} / ${found} |`,
    `| signals published / recorded by the executor / lost | ${r.publishedSignals} / ${r.signals.length} / **${r.lostSignals}** |`,
    `| orders / filled / duplicate orders | ${r.orders.length} / ${filled.length} / **${r.duplicateOrders}** |`,
    `| orders by status | ${[...byStatus].map(([s, n]) => `${s} ${n}`).join(', ') || '—'} |`,
    `| risk rejections | ${
      Object.entries(r.rejections)
        .map(([rule, n]) => `${rule} ${n}`)
        .join(', ') || 'none'
    } |`,
    `| signal created → first order (paper: intent committed) p50 / p99 / max | ` +
      `${ms(percentile(toOrder, 50))} / ${ms(percentile(toOrder, 99))} / ${ms(percentile(toOrder, 100))} |`,
    `| oldest quote behind a signal (p50 / p99) | ${ms(percentile(quoteAge, 50))} / ${ms(percentile(quoteAge, 99))} |`,
    `| quotes published (Kalshi / Polymarket) | ${input.quotes.kalshi} / ${input.quotes.polymarket} |`,
    `| WebSocket reconnects (Kalshi / Polymarket) | ${input.reconnects.kalshi} / ${input.reconnects.polymarket} |`,
    `| circuit breaker | ${input.transitions.length} transitions, ended ${input.finalBreaker} |`,
    `| peak memory (MB) | ${Object.entries(input.peakMemoryMb)
      .map(([p, mb]) => `${p} ${Math.round(mb)}`)
      .join(', ')} |`,
    '',
    `![PnL and latency over time](${input.chartFile})`,
    '',
    "## Arbitrage windows (the scenario's ground truth)",
    '',
    '| window | market | mispriced venue | edge before fees | open (run time) | signals | filled orders |',
    '|---|---|---|---|---|---|---|',
    ...r.windows.map(
      (w) =>
        `| ${w.truth.id} | ${w.truth.marketId} | ${w.truth.mispricedVenue} (${w.truth.direction}) | ${w.truth.edgeBps} bps | ` +
        `${clock(w.from, input.startedAt)} – ${clock(w.to, input.startedAt)} | ${w.signals} | ${w.filledOrders} |`,
    ),
    '',
    '## Circuit breaker',
    '',
    ...(input.transitions.length === 0
      ? ['Closed the whole run.']
      : [
          '| when | from → to | why |',
          '|---|---|---|',
          ...input.transitions.map((t) => `| ${clock(t.at, input.startedAt)} | ${t.from} → ${t.to} | ${t.reason} |`),
        ]),
    '',
    '## Realized PnL by game and venue (settlements included)',
    '',
    ...(r.realizedByGame.length === 0
      ? ['Nothing traded.']
      : [
          '| game | Kalshi | Polymarket | total |',
          '|---|---|---|---|',
          ...r.realizedByGame.map((g) => `| ${g.game} | ${usd(g.kalshi)} | ${usd(g.polymarket)} | ${usd(g.kalshi + g.polymarket)} |`),
        ]),
    '',
    ...(r.balances
      ? [
          '## Final balances: the simulators against the ledger',
          '',
          '| venue | start | ledger says | simulator says | difference |',
          '|---|---|---|---|---|',
          ...(['kalshi', 'polymarket'] as const).map((venue) => {
            const b = r.balances![venue];
            const cells = [b.start, b.ledger, b.venue, b.venue - b.ledger].map((v) => usd(v / 10_000));
            return `| ${venue} | ${cells.join(' | ')} |`;
          }),
          '',
        ]
      : []),
    '## Positions at the end',
    '',
    ...(r.positions.length === 0
      ? ['None.']
      : [
          '| market | venue | outcome | contracts | cost | realized |',
          '|---|---|---|---|---|---|',
          ...r.positions.map(
            (p) =>
              `| ${p.marketId} | ${p.venue} | ${p.outcome} | ${(p.size / 100).toFixed(2)} | ` +
              `${usd(p.cost / 10_000)} | ${usd(p.realizedPnl / 10_000)} |`,
          ),
        ]),
    '',
    '## Signals',
    '',
    ...(r.signals.length === 0
      ? ['None.']
      : [
          '| run time | market | kind | edge | expected profit | decision | signal → order |',
          '|---|---|---|---|---|---|---|',
          ...r.signals
            .slice(0, 200)
            .map(
              (s) =>
                `| ${clock(s.createdTs, input.startedAt)} | ${s.marketId} | ${s.kind} | ${s.edgeBps} bps | ` +
                `${usd(s.expectedProfit / 10_000)} | ${s.outcome ?? s.status} | ${ms(s.toOrderMs)} |`,
            ),
          ...(r.signals.length > 200 ? [`| … ${r.signals.length - 200} more | | | | | | |`] : []),
        ]),
    '',
    'Logs of every process are in `logs/`.',
    '',
  ];
  return lines.join('\n');
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels over run time: PnL with breaker-open spans shaded, and signal → order latency per signal. */
export function renderChart(input: ReportInput): string {
  const width = 900;
  const panel = { left: 70, right: 20, height: 180 };
  const tops = [40, 290];
  const plotWidth = width - panel.left - panel.right;
  const t0 = input.startedAt;
  const span = Math.max(1, input.endedAt - t0);
  const x = (at: number) => panel.left + ((at - t0) / span) * plotWidth;
  const scale = (values: number[], top: number) => {
    let min = Math.min(0, ...values);
    let max = Math.max(0, ...values);
    if (max - min < 1e-9) max = min + 1;
    const pad = (max - min) * 0.08;
    min -= pad;
    max += pad;
    return { y: (v: number) => top + panel.height - ((v - min) / (max - min)) * panel.height, min, max };
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="520" viewBox="0 0 ` +
      `${width} 520" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
  ];
  const frame = (top: number, title: string, low: string, high: string) =>
    out.push(
      `<text x="${panel.left}" y="${top - 10}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
      `<rect x="${panel.left}" y="${top}" width="${plotWidth}" height="${panel.height}" fill="none" stroke="#999"/>`,
      `<text x="${panel.left - 6}" y="${top + 12}" text-anchor="end">${escapeXml(high)}</text>`,
      `<text x="${panel.left - 6}" y="${top + panel.height}" text-anchor="end">${escapeXml(low)}</text>`,
      `<text x="${panel.left}" y="${top + panel.height + 16}">0 s</text>`,
      `<text x="${panel.left + plotWidth}" y="${top + panel.height + 16}" text-anchor="end">${(span / 1000).toFixed(0)} s</text>`,
    );

  // Breaker spans behind both panels.
  let state: BreakerState = 'Closed';
  let since = t0;
  const spans: Array<{ from: number; to: number; state: BreakerState }> = [];
  for (const t of input.transitions) {
    if (state !== 'Closed') spans.push({ from: since, to: t.at, state });
    state = t.to;
    since = t.at;
  }
  if (state !== 'Closed') spans.push({ from: since, to: input.endedAt, state });
  for (const top of tops)
    for (const s of spans)
      out.push(
        `<rect x="${x(s.from).toFixed(1)}" y="${top}" width="${Math.max(1, x(s.to) - x(s.from)).toFixed(1)}" ` +
          `height="${panel.height}" fill="${s.state === 'Open' ? '#f8d0d0' : '#faf0c0'}"/>`,
      );

  const pnl = scale(
    input.pnl.map((p) => p.usd),
    tops[0]!,
  );
  frame(tops[0]!, 'PnL, USD (shaded: breaker open / half-open)', `$${pnl.min.toFixed(2)}`, `$${pnl.max.toFixed(2)}`);
  out.push(
    `<line x1="${panel.left}" x2="${panel.left + plotWidth}" y1="${pnl.y(0).toFixed(1)}" ` +
      `y2="${pnl.y(0).toFixed(1)}" stroke="#ccc" stroke-dasharray="4 3"/>`,
  );
  if (input.pnl.length > 0) {
    const points = input.pnl.map((p) => `${x(p.at).toFixed(1)},${pnl.y(p.usd).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${points}" fill="none" stroke="#1f6fb2" stroke-width="2"/>`);
  }

  const latencies = input.results.signals.flatMap((s) =>
    s.toOrderMs === undefined || s.firstOrderAt === undefined ? [] : [{ at: s.firstOrderAt, ms: s.toOrderMs }],
  );
  const lat = scale(
    latencies.map((l) => l.ms),
    tops[1]!,
  );
  frame(
    tops[1]!,
    'Signal created → first order, ms (one dot per traded signal)',
    `${Math.max(0, lat.min).toFixed(1)}`,
    `${lat.max.toFixed(1)}`,
  );
  for (const l of latencies) out.push(`<circle cx="${x(l.at).toFixed(1)}" cy="${lat.y(l.ms).toFixed(1)}" r="3" fill="#d9622b"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
