// Start-up against a dependency that may not answer yet (a pod's network policy applied a moment
// after it starts, a database restarting): try until it works, backing off, saying why now and
// then. The caller's readiness stays false meanwhile; giving up is the caller's `stopped()`.
import type { Logger } from 'pino';

export async function untilItWorks<T>(
  what: string,
  attempt: () => Promise<T>,
  options: { log?: Logger; stopped?: () => boolean; maxDelayMs?: number } = {},
): Promise<T | undefined> {
  let delay = 200;
  let lastWarn = 0;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (options.stopped?.()) return undefined;
      if (Date.now() - lastWarn >= 10_000) {
        options.log?.warn({ err: (error as Error).message }, `${what} failed; retrying`);
        lastWarn = Date.now();
      }
    }
    await new Promise((r) => setTimeout(r, delay));
    if (options.stopped?.()) return undefined;
    delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
  }
}
