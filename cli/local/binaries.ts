// Finds the executables the rig runs, or fails with one line saying what is missing and how to get it.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LocalServiceError } from './process.js';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  // Debian puts some daemons in sbin, which a non-login PATH may lack.
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/sbin']) if (isExecutable(join(dir, name))) return join(dir, name);
  return undefined;
}

export function requireBinary(name: string, howToGet: string): string {
  const found = onPath(name);
  if (!found) throw new LocalServiceError(`missing ${name}: ${howToGet}`);
  return found;
}

/** The folder with PostgreSQL's server binaries (initdb, postgres): $PG_BIN, Debian's newest, or PATH. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  }
  const initdb = onPath('initdb');
  if (initdb) candidates.push(join(initdb, '..'));
  const dir = candidates.find((d) => isExecutable(join(d, 'initdb')) && isExecutable(join(d, 'postgres')));
  if (!dir) {
    throw new LocalServiceError(
      'missing PostgreSQL server (initdb, postgres): run `apt-get install postgresql` or set PG_BIN to its bin folder',
    );
  }
  return dir;
}

export function versionOf(binary: string, args: string[] = ['--version']): string {
  try {
    return (
      execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .trim()
        .split('\n')[0] ?? ''
    );
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}
