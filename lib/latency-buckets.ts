// Histogram buckets for latencies measured between whole-millisecond timestamps (Date.now(), a
// venue's stamps, Redis stream ids): bounds half-way between whole milliseconds, so each of the
// first buckets holds exactly one value and a percentile read from them is exact up to 5 ms.
export const WHOLE_MS_BUCKETS: readonly number[] = [
  0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7.5, 10.5, 15.5, 20.5, 30.5, 50.5, 100.5, 250.5, 500.5, 1000.5, 2500.5,
].map((ms) => ms / 1000);
