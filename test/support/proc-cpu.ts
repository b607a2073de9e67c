// CPU time of processes and threads from /proc (Linux), for load runs: what a process spent does
// not depend on what else the machine is doing, unlike its latencies.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime: children waited for, ms. */
  childrenMs: number;
}

function readStat(path: string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (i: number) => Number(fields[i - 3]);
  return {
    ppid: field(4),
    ownMs: ((field(14) + field(15)) * 1000) / TICKS_PER_SECOND,
    childrenMs: ((field(16) + field(17)) * 1000) / TICKS_PER_SECOND,
  };
}

/** utime + stime of a process (all its threads), ms; undefined once it is gone. */
export function processCpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : readStat(`/proc/${pid}/stat`)?.ownMs;
}

/** utime + stime of the calling thread alone, ms (/proc/thread-self: Linux 3.17+). */
export function threadCpuMs(): number {
  return readStat('/proc/thread-self/stat')?.ownMs ?? 0;
}

/**
 * A process and its children together (PostgreSQL: the postmaster and its backends and workers),
 * ms: its own time, its live children's, and what children that have exited left (cutime/cstime).
 */
export function processTreeCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const root = readStat(`/proc/${pid}/stat`);
  if (!root) return undefined;
  let total = root.ownMs + root.childrenMs;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (stat?.ppid === pid) total += stat.ownMs;
  }
  return total;
}
