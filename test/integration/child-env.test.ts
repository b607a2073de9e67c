// Issue 17, point 10: a local child process (`arbees demo`'s workloads, Redis and PostgreSQL, the
// rig's services) sees only the environment it needs, never the whole parent environment, which
// may hold credentials meant for the parent alone. Read from /proc/<pid>/environ of the running child.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { components, startWorkloads, type Workload } from '../../cli/demo/stack.js';
import { inheritedVariables, startProcess, type ManagedProcess } from '../../cli/local/process.js';
import { paperShard } from '../support/signals.js';
import { waitFor } from '../support/wait.js';

/** The names of a running process's environment variables. */
function environOf(pid: number): Record<string, string> {
  const text = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    text
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

const shardConfig = paperShard('env-test');

describe('child processes get only what they need of the environment', function () {
  this.timeout(30_000);
  let dir: string;
  const running: ManagedProcess[] = [];
  const planted = { ARBEES_TEST_PARENT_ONLY: 'parent-secret-1', AWS_SECRET_ACCESS_KEY: 'parent-secret-2' };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'arbees-child-env-'));
    Object.assign(process.env, planted);
  });
  afterEach(async () => {
    for (const name of Object.keys(planted)) delete process.env[name];
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  const inherited = () => inheritedVariables.filter((name) => process.env[name] !== undefined);
  const common = ['ARBEES_SHARD', 'ARBEES_REDIS_URL', 'ARBEES_HTTP_PORT', 'ARBEES_LOG_LEVEL', 'ARBEES_SHARD_CONFIG'];

  it("demo workloads: each gets its pod's variables (the signal key to the detector and executor only), none of the parent's", async () => {
    // A stand-in for `arbees <component>` that only waits, so its environment can be read.
    const workloads: Workload[] = await startWorkloads({
      shardConfig,
      workDir: dir,
      redisUrl: 'redis://127.0.0.1:1',
      postgresUrl: 'postgres://arbees:pw@127.0.0.1:1/arbees',
      kalshi: { keyId: 'kid', privateKeyPem: '-----BEGIN PRIVATE KEY-----' },
      logDir: dir,
      arbees: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
      signalKey: 'k'.repeat(64),
    });
    running.push(...workloads.map((w) => w.process));
    const expected: Record<(typeof components)[number], string[]> = {
      'kalshi-monitor': [...common, 'ARBEES_KALSHI_KEY_ID', 'ARBEES_KALSHI_PRIVATE_KEY'],
      'polymarket-monitor': common,
      detector: [...common, 'ARBEES_SIGNAL_KEY'],
      executor: [...common, 'ARBEES_POSTGRES_URL', 'ARBEES_SIGNAL_KEY'],
    };
    for (const w of workloads) {
      await waitFor(`${w.component} running`, () => w.process.child.pid !== undefined || undefined);
      const env = environOf(w.process.child.pid!);
      expect(Object.keys(env).sort(), w.component).to.deep.equal([...inherited(), ...expected[w.component]].sort());
      for (const value of Object.values(planted)) expect(Object.values(env), w.component).not.to.include(value);
    }
  });

  it('a local service started without an environment (Redis, PostgreSQL, the rig) gets PATH, HOME, locale, zone, temp', async () => {
    const proc = startProcess('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { logFile: join(dir, 'sleeper.log') });
    running.push(proc);
    await waitFor('the child running', () => proc.child.pid !== undefined || undefined);
    expect(Object.keys(environOf(proc.child.pid!)).sort()).to.deep.equal(inherited().sort());
  });
});
