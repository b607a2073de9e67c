import { expect } from 'chai';
import { WorkQueue } from '../../operator/kube/queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('operator work queue', () => {
  it('collapses repeated adds of a waiting key into one run', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'blocker') await gate;
      },
      () => undefined,
      { concurrency: 1 },
    );
    queue.add('blocker');
    for (let i = 0; i < 5; i++) queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.depth).to.equal(2);
    release();
    await queue.idle();
    expect(runs).to.deep.equal(['blocker', 'ns/a', 'ns/b']);
  });

  it('never runs one key twice at once, and runs it again if re-added while running', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const queue = new WorkQueue(
      async () => {
        runs += 1;
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick(5);
        concurrent -= 1;
      },
      () => undefined,
      { concurrency: 8 },
    );
    queue.add('ns/a');
    await tick(1);
    for (let i = 0; i < 10; i++) queue.add('ns/a'); // all while the first run is in flight
    await queue.idle();
    expect(maxConcurrent).to.equal(1);
    expect(runs).to.equal(2);
  });

  it('processes different keys in parallel up to the concurrency limit', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue(
      async () => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick(5);
        concurrent -= 1;
      },
      () => undefined,
      { concurrency: 3 },
    );
    for (let i = 0; i < 10; i++) queue.add(`ns/${i}`);
    await queue.idle();
    expect(maxConcurrent).to.equal(3);
  });

  it('retries a failing key with exponential backoff', async () => {
    const times: number[] = [];
    const delays: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const queue = new WorkQueue(
      () => {
        times.push(Date.now());
        if (times.length < 4) return Promise.reject(new Error('conflict'));
        done();
        return Promise.resolve();
      },
      (_key, _error, retryInMs) => delays.push(retryInMs),
      { baseDelayMs: 10 },
    );
    queue.add('ns/a');
    await finished;
    expect(delays).to.deep.equal([10, 20, 40]);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.be.at.least(delays[i - 1]! - 2);
    await queue.shutdown();
  });

  it('honours requeueAfter and stops cleanly on shutdown', async () => {
    let runs = 0;
    const queue = new WorkQueue(
      () => {
        runs += 1;
        return Promise.resolve({ requeueAfterMs: 20 });
      },
      () => undefined,
    );
    queue.add('ns/a');
    const deadline = Date.now() + 5_000;
    while (runs < 3 && Date.now() < deadline) await tick(5);
    expect(runs, 'requeued by itself').to.be.at.least(3);
    await queue.shutdown();
    const after = runs;
    await tick(50);
    expect(runs).to.equal(after);
    queue.add('ns/b');
    await tick(5);
    expect(runs).to.equal(after);
  });
});
