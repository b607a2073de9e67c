/** Waits `ms`. With `keepAlive` false the timer does not hold the process open (a bound on a stop). */
export const sleep = (ms: number, keepAlive = true) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) timer.unref();
  });
