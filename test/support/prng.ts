// mulberry32: a tiny seeded PRNG for tests and benchmarks, so every run draws the same stream.
// (The simulators have their own, workloads/sim/rng.ts, whose streams scenarios depend on.)
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
