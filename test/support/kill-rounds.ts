// Real executor processes killed with SIGKILL at random points: each round spawns one and kills it
// after a random delay, counted from when it holds the shard lock (now and then from its start, so
// that start-up, migrations and reconciliation are hit too).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../cli/local/process.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { signalKeyVars } from './signals.js';
import { waitFor } from './wait.js';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * Starts numbered `executor` processes (cli/arbees-executor.ts through tsx) for one shard, each
 * logging to its own file in a fresh folder, with the environment its pod would get plus `env`.
 */
export function executorSpawner(o: {
  shardConfig: ShardConfig;
  redisUrl: string;
  postgresUrl: string;
  env: NodeJS.ProcessEnv;
  args: string[];
}): (round: number) => ManagedProcess {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-executor-kill-'));
  const shardFile = join(dir, 'shard.json');
  writeFileSync(shardFile, JSON.stringify(o.shardConfig));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...signalKeyVars,
    ...o.env,
    ARBEES_SHARD: o.shardConfig.shard,
    ARBEES_REDIS_URL: o.redisUrl,
    ARBEES_POSTGRES_URL: o.postgresUrl,
    ARBEES_HTTP_PORT: '0',
    ARBEES_LOG_LEVEL: 'info',
    ARBEES_SHARD_CONFIG: shardFile,
  };
  return (n) =>
    startProcess(`executor-${n}`, process.execPath, ['--import', 'tsx', join(REPO, 'cli', 'arbees-executor.ts'), ...o.args], {
      logFile: join(dir, `executor-${n}.log`),
      env,
      cwd: REPO,
    });
}

/** Runs the rounds; returns each kill's delay in ms. */
export async function killRounds(rounds: number, spawn: (round: number) => ManagedProcess, random: () => number): Promise<number[]> {
  const kills: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const child = spawn(round);
    if (random() < 0.8) {
      await waitFor(
        'the child to hold the shard lock',
        () => {
          let text = '';
          try {
            text = readFileSync(child.logFile, 'utf8');
          } catch {
            // not created yet
          }
          return text.includes('holding the shard lock') || text.includes('exited');
        },
        60_000,
      );
    }
    const killAt = Math.floor(random() * 2_000);
    kills.push(killAt);
    await new Promise((r) => setTimeout(r, killAt));
    child.child.kill('SIGKILL');
    await child.exited;
  }
  return kills;
}
