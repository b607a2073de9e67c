// The rig must fail fast with one clear line, never hang or skip, when a service cannot start.
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../cli/local/binaries.js';
import { LocalServiceError, startProcess, waitUntilReady } from '../../cli/local/process.js';

describe('test rig failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-rig-unit-'));

  it('names a missing program and how to get it', () => {
    expect(() => requireBinary('arbees-no-such-server', 'run `apt-get install arbees-no-such-server`')).to.throw(
      LocalServiceError,
      /^missing arbees-no-such-server: run `apt-get install arbees-no-such-server`$/,
    );
  });

  it('reports a service that dies during start-up at once, with its log', async () => {
    const proc = startProcess('dies', 'sh', ['-c', 'echo "FATAL: port in use" >&2; exit 3'], { logFile: join(dir, 'dies.log') });
    const began = Date.now();
    const error = await waitUntilReady(proc, () => Promise.resolve(false), 30_000, 'dying-service').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(LocalServiceError);
    expect((error as Error).message).to.match(/^dying-service exited during start-up; last log lines/);
    expect((error as Error).message).to.contain('FATAL: port in use');
    expect(Date.now() - began).to.be.below(5_000);
  });

  it('gives up on a service that never becomes ready, kills it, and says why', async () => {
    const proc = startProcess('hangs', 'sleep', ['60'], { logFile: join(dir, 'hangs.log') });
    const error = await waitUntilReady(proc, () => Promise.reject(new Error('connection refused')), 500, 'hanging-service').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).to.match(/^hanging-service not ready after 0\.5s \(last error: connection refused\)/);
    expect(await proc.exited).to.equal(null); // killed by signal
  });
});
