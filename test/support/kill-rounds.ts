// Real executor processes killed with SIGKILL at random points: each round spawns one and kills it
// after a random delay, counted from when it holds the shard lock (now and then from its start, so
// that start-up, migrations and reconciliation are hit too).
import { readFileSync } from 'node:fs';
import type { ManagedProcess } from '../../cli/local/process.js';
import { waitFor } from './wait.js';

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
