// A query's history from Prometheus range queries (/api/v1/query_range), on a fixed grid of
// evaluation times: read in chunks of at most 11,000 points per series (Prometheus refuses more),
// each with its own timeout and response-size bound; a chunk too large to read is split in two.
import { sampleValue, type PrometheusClient } from './prometheus.js';

/** Evaluation times start, start + stepMs, … (count of them), epoch ms. */
export interface Grid {
  start: number;
  stepMs: number;
  count: number;
}

/** One series of a query's result, aligned to the grid: NaN where it had no sample. */
export interface Series {
  labels: Record<string, string>;
  values: Float64Array;
}

/** Prometheus's cap on points per series in one range query. */
export const maxPointsPerQuery = 11_000;

export class HistoryError extends Error {}

export interface RangeReadOptions {
  /** Points per series per request (default and maximum 11,000). */
  chunkPoints?: number;
  timeoutMs?: number;
  maxBytes?: number;
  /** Called after each chunk: points read so far, of the grid's count. */
  onProgress?: (pointsRead: number, total: number) => void;
}

/** The grid from `start` to `end` every `stepMs`, its first time aligned to a multiple of the step (reproducible reads). */
export function gridOf(start: number, end: number, stepMs: number): Grid {
  const first = Math.ceil(start / stepMs) * stepMs;
  if (end < first) {
    const [from, to] = [start, end].map((ms) => new Date(ms).toISOString());
    throw new HistoryError(`the window from ${from} to ${to} holds no step of ${stepMs} ms`);
  }
  return { start: first, stepMs, count: Math.floor((end - first) / stepMs) + 1 };
}

export const gridTime = (grid: Grid, index: number) => grid.start + index * grid.stepMs;

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Reads `query` over the grid. Throws HistoryError with Prometheus's reason if a chunk cannot be read. */
export async function readRange(client: PrometheusClient, query: string, grid: Grid, options: RangeReadOptions = {}): Promise<Series[]> {
  const bySeries = new Map<string, Series>();
  let chunk = Math.min(options.chunkPoints ?? maxPointsPerQuery, maxPointsPerQuery);
  let from = 0;
  while (from < grid.count) {
    const points = Math.min(chunk, grid.count - from);
    const answer = await client.api(
      'api/v1/query_range',
      { query, start: seconds(gridTime(grid, from)), end: seconds(gridTime(grid, from + points - 1)), step: seconds(grid.stepMs) },
      { timeoutMs: options.timeoutMs, maxBytes: options.maxBytes },
    );
    if ('error' in answer) {
      // Many series make a big answer: fewer points per request, down to one.
      if (answer.tooLarge && points > 1) {
        chunk = Math.ceil(points / 2);
        continue;
      }
      throw new HistoryError(`${answer.error} (reading ${new Date(gridTime(grid, from)).toISOString()} onwards)`);
    }
    if (answer.data.resultType !== 'matrix') throw new HistoryError(`a range query must return a matrix, got ${answer.data.resultType}`);
    for (const { metric, values } of answer.data.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>) {
      const key = JSON.stringify(Object.entries(metric).sort(([a], [b]) => a.localeCompare(b)));
      let series = bySeries.get(key);
      if (!series) bySeries.set(key, (series = { labels: metric, values: new Float64Array(grid.count).fill(NaN) }));
      for (const [at, text] of values) {
        const index = Math.round((at * 1000 - grid.start) / grid.stepMs);
        if (index >= 0 && index < grid.count) series.values[index] = sampleValue(text);
      }
    }
    from += points;
    options.onProgress?.(from, grid.count);
  }
  return [...bySeries.values()];
}
