// A real redis-server on loopback in a temp folder: no persistence by default, or an append-only
// file synced on every write (what a restart test needs: the data outlives the process).
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { requireBinary, versionOf } from './binaries.js';
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from './process.js';

export interface RedisService {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  /** Stops the server (simulates an outage); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(dir: string, options: { persistent?: boolean } = {}): Promise<RedisService> {
  const binary = requireBinary('redis-server', 'run `apt-get install redis-server` (or `make setup`)');
  const version = versionOf(binary).replace(/^.*v=(\S+).*$/, '$1');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let proc: ManagedProcess | undefined;
  const start = async () => {
    const persistence = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    proc = startProcess(
      'redis',
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--protected-mode', 'yes'],
      {
        logFile: join(dir, 'redis.log'),
      },
    );
    await waitUntilReady(
      proc,
      async () => {
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => undefined); // connect() rejects with it; no unhandled-error noise
        try {
          await client.connect();
          return (await client.ping()) === 'PONG';
        } finally {
          client.disconnect();
        }
      },
      15_000,
      `redis-server ${version}`,
    );
  };
  await start();
  return { url, port, version, start, stop: async () => proc?.stop() };
}
