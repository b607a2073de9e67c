// Durations as the CRD writes them ("500ms", "30s", "5m", "1h", "1m30s"), in milliseconds.
const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text)
    throw new RangeError(`not a duration: "${text}" (use e.g. 30s, 5m, 1h30m)`);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * unitMs[unit!]!, 0);
}
