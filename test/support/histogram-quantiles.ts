// Percentiles of a Prometheus histogram between two scrapes (parsed exposition text), as load runs
// read the workloads' latency histograms: every observation in the interval, not a sample.
import type { Sample } from '../../cli/demo/metrics-text.js';

export interface HistogramStats {
  n: number;
  /** In ms: the bucket's upper bound less half a millisecond (exact for the whole-ms buckets of lib/latency-buckets.ts). */
  p50?: number;
  p99?: number;
  p999?: number;
}

/** Cumulative counts per upper bound (seconds), summed over the series matching `where`. */
function buckets(samples: readonly Sample[], name: string, where: Record<string, string>): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** Observations of `name` between `before` and `after`, their p50 / p99 / p99.9 in ms. */
export function histogramStats(
  before: readonly Sample[],
  after: readonly Sample[],
  name: string,
  where: Record<string, string> = {},
): HistogramStats {
  const start = buckets(before, name, where);
  const bounds = [...buckets(after, name, where)].map(([le, n]) => [le, n - (start.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const n = bounds.at(-1)?.[1] ?? 0;
  if (n === 0) return { n: 0 };
  const at = (p: number) => {
    const rank = Math.ceil((p / 100) * n);
    const bucket = bounds.find(([, count]) => count >= rank)!;
    return bucket[0] === Infinity ? Infinity : Math.round(bucket[0] * 1000 - 0.5);
  };
  return { n, p50: at(50), p99: at(99), p999: at(99.9) };
}

/** The largest value of a gauge over several scrapes (event-loop delay p99 per scrape interval), ms. */
export function gaugeMaxMs(scrapes: ReadonlyArray<readonly Sample[] | undefined>, name: string): number | undefined {
  let max: number | undefined;
  for (const samples of scrapes)
    for (const s of samples ?? []) if (s.name === name && Number.isFinite(s.value)) max = Math.max(max ?? 0, s.value * 1000);
  return max;
}
