// A real PostgreSQL server (Debian's binaries) in a temp data folder on loopback.
// PostgreSQL refuses to run as root, so as root the rig runs it as the `postgres` user.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { postgresBinDir, versionOf } from './binaries.js';
import { freePort, LocalServiceError, startProcess, waitUntilReady, type ManagedProcess } from './process.js';

export interface PostgresService {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** A fresh, empty database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
}

function serviceUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new LocalServiceError(
      'PostgreSQL cannot run as root and there is no `postgres` user: run `apt-get install postgresql` (it creates one) ' +
        'or run the tests as a normal user',
    );
  }
}

export async function startPostgres(dir: string): Promise<PostgresService> {
  const bin = postgresBinDir();
  const version = versionOf(join(bin, 'postgres')).replace(/^postgres \(PostgreSQL\) /, '');
  const user = serviceUser();
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) {
    chownSync(dir, user.uid, user.gid!);
    chownSync(dataDir, user.uid, user.gid!);
  }
  const init = startProcess(
    'initdb',
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    {
      logFile: join(dir, 'initdb.log'),
      ...user,
    },
  );
  if ((await init.exited) !== 0) throw new LocalServiceError(`initdb failed (${bin}); log:\n${init.logTail()}`);

  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ManagedProcess | undefined;
  const start = async () => {
    proc = startProcess(
      'postgres',
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { logFile: join(dir, 'postgres.log'), ...user },
    );
    await waitUntilReady(
      proc,
      async () => {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('select 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
      `PostgreSQL ${version}`,
    );
  };
  await start();
  return {
    url,
    port,
    version,
    start,
    // SIGINT is PostgreSQL's "fast shutdown".
    stop: async () => proc?.stop('SIGINT'),
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name}`);
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
  };
}
