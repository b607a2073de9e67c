// A loop the leader runs while it leads: the work now, then again `intervalMs` after each run ends
// (runs never overlap), until stopped; stopping waits for the run in hand.
export interface Periodic {
  stop(): Promise<void>;
}

export function runPeriodically(work: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  const loop = () => {
    if (stopped) return;
    current = work()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  loop();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
