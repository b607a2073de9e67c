// Leader election on a real Lease: two candidates never lead at once; a released lease passes at
// once, a crashed leader's lease passes after it expires.
import { expect } from 'chai';
import { KubeClient } from '../../operator/kube/client.js';
import { LeaderElector } from '../../operator/kube/leader.js';
import { rig } from '../rig/index.js';

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const began = Date.now();
  while (!check()) {
    if (Date.now() - began > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - began;
}

describe('operator leader election (real apiserver)', function () {
  this.timeout(60_000);

  function candidate(kubeConfig: ConstructorParameters<typeof KubeClient>[0], identity: string, name: string, log: string[]) {
    let leading = false;
    // What this candidate has done on the Lease: its reads (one per retry period) and its writes (acquire or renew).
    // The last verb tells whether it is between the read and the write of a renewal.
    const done = { reads: 0, writes: 0, last: '' };
    const client = new KubeClient(kubeConfig, (verb, _resource, status) => {
      done.last = verb;
      if (verb === 'GET' && status === 200) done.reads++;
      if ((verb === 'PUT' || verb === 'POST') && status < 300) done.writes++;
    });
    const elector = new LeaderElector(client, {
      namespace: 'default',
      name,
      identity,
      leaseDurationMs: 2_000,
      renewDeadlineMs: 1_500,
      retryPeriodMs: 200,
      onStartedLeading: () => {
        leading = true;
        log.push(`${identity} leads`);
      },
      onStoppedLeading: () => {
        leading = false;
        log.push(`${identity} stops`);
      },
    });
    return { elector, isLeading: () => leading, done };
  }

  it('elects exactly one leader and hands over at once when the leader releases the lease', async () => {
    const kube = await rig.kube();
    const log: string[] = [];
    const a = candidate(kube.kubeConfig, 'replica-a', 'leader-test-release', log);
    const b = candidate(kube.kubeConfig, 'replica-b', 'leader-test-release', log);
    a.elector.start();
    b.elector.start();
    await until(() => a.isLeading() || b.isLeading(), 30_000, 'a leader');
    // Watch for overlap over several renew periods: counted in what the two did on the Lease (each
    // reads it once a retry period, and the leader renews it), not in time, which a loaded machine
    // stretches. It ends after a renewal, not between its read and its write: a release racing a
    // renewal conflicts with it, and the lease would then pass only on expiry.
    const [readA, readB] = [a.done.reads, b.done.reads];
    await until(
      () => {
        expect(a.isLeading() && b.isLeading(), 'two leaders at once').to.equal(false);
        const leading = a.isLeading() ? a : b.isLeading() ? b : undefined;
        return a.done.reads >= readA + 7 && b.done.reads >= readB + 7 && leading !== undefined && leading.done.last === 'PUT';
      },
      30_000,
      'seven retry periods of both candidates',
    );
    const [leader, follower] = a.isLeading() ? [a, b] : [b, a];
    await leader.elector.stop();
    const handover = await until(() => follower.isLeading(), 30_000, 'the follower to lead');
    expect(handover).to.be.below(2_000); // no lease expiry wait: the lease was released
    await follower.elector.stop();
    expect(log.filter((l) => l.endsWith('leads'))).to.have.length(2);
  });

  it("takes over a crashed leader's lease only after it expires", async () => {
    const kube = await rig.kube();
    const log: string[] = [];
    const a = candidate(kube.kubeConfig, 'replica-a', 'leader-test-crash', log);
    a.elector.start();
    await until(() => a.isLeading(), 30_000, 'a to lead');
    const b = candidate(kube.kubeConfig, 'replica-b', 'leader-test-crash', log);
    b.elector.start();
    // b has read the live lease three times (three retry periods) and tried no write.
    await until(() => b.done.reads >= 3, 30_000, 'b to read the lease three times');
    expect(b.isLeading()).to.equal(false);
    expect(b.done.writes).to.equal(0);
    const crashedAt = Date.now();
    await a.elector.stop({ release: false });
    await until(() => b.isLeading(), 30_000, 'b to take over');
    expect(Date.now() - crashedAt).to.be.at.least(1_500); // waited out the 2 s lease (less our last renewal's age)
    await b.elector.stop();
  });
});
