// Local child processes (the test rig's services, `arbees demo`'s Redis, PostgreSQL and
// workloads): logged to a file, killed when this process exits, and reported with the tail of
// their log when they fail to start. A child gets only the environment it is given, on top of
// the few variables any program needs (childEnv): never this process's whole environment, which
// may hold credentials meant for it alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const running = new Set<ChildProcess>();

function killAll(signal: NodeJS.Signals): void {
  for (const child of running) {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}
process.once('exit', () => killAll('SIGKILL'));

/** For the test rig: Ctrl-C or SIGTERM kills every child at once and exits. */
export function killChildrenOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll('SIGKILL');
      process.exit(130);
    });
  }
}

export class LocalServiceError extends Error {
  override name = 'LocalServiceError';
}

/** What every child may see of this process's environment: where programs and home are, locale, time zone, temp. */
export const inheritedVariables = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/** The inherited variables (those set here) plus `extra`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of inheritedVariables) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

export interface ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  logTail(lines?: number): string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  /** `env`: the child's whole environment (default: childEnv(), nothing more). */
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number },
): ManagedProcess {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command, args, {
    env: options.env ?? childEnv(),
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      log.write(`\n[arbees] failed to spawn ${command}: ${error.message}\n`);
      running.delete(child);
      resolve(null);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      log.write(`\n[arbees] ${name} exited (code ${code}, signal ${signal})\n`);
      resolve(code);
    });
  });
  const logTail = (lines = 15) => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  return {
    name,
    logFile: options.logFile,
    child,
    exited,
    logTail,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || !running.has(child)) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `probe` until it returns true. Fails fast, with the log tail, if the process exits,
 * and after `timeoutMs` with the last probe error: never hangs.
 */
export async function waitUntilReady(proc: ManagedProcess, probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) {
      throw new LocalServiceError(`${what} exited during start-up; last log lines (${proc.logFile}):\n${proc.logTail()}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop('SIGKILL');
  throw new LocalServiceError(
    `${what} not ready after ` +
      `${timeoutMs / 1000}s${lastError ? ` (last error: ${lastError})` : ''}; last log lines (${proc.logFile}):\n${proc.logTail()}`,
  );
}

/** A TCP port on 127.0.0.1 that is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
