// Polls until a probe gives a value (anything but undefined or false), or fails naming what it waited for.
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Polls until `probe` says done, failing only when its progress count has not moved for `stallMs`:
 * for draining a backlog whose size a test cannot know in advance. `state` goes into the error.
 */
export async function waitWhileProgressing(
  what: string,
  probe: () => Promise<{ done: boolean; progress: number; state?: string }>,
  stallMs = 60_000,
): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const { done, progress, state } = await probe();
    if (done) return;
    if (progress !== last) {
      last = progress;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs)
      throw new Error(`timed out waiting for ${what}: no progress for ${stallMs / 1000} s (${state ?? `at ${progress}`})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
