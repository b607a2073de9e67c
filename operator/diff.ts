// Does the live object already hold everything we want? The apiserver adds defaults and fields
// of its own, so "equal" is the wrong question: every field we set must be present with our value.
// Lists we set are owned whole by us, so they must have the same length, element by element.

export function containsDesired(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (desired === null || typeof desired !== 'object') return false;
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((item, i) => containsDesired(item, live[i]));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const liveRecord = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(
    ([key, value]) => value === undefined || containsDesired(value, liveRecord[key]),
  );
}
