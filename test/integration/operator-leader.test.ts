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

  function candidate(client: KubeClient, identity: string, name: string, log: string[]) {
    let leading = false;
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
    return { elector, isLeading: () => leading };
  }

  it('elects exactly one leader and hands over at once when the leader releases the lease', async () => {
    const kube = await rig.kube();
    const client = new KubeClient(kube.kubeConfig);
    const log: string[] = [];
    const a = candidate(client, 'replica-a', 'leader-test-release', log);
    const b = candidate(client, 'replica-b', 'leader-test-release', log);
    a.elector.start();
    b.elector.start();
    await until(() => a.isLeading() || b.isLeading(), 10_000, 'a leader');
    // Watch for overlap over several renew periods.
    const watchUntil = Date.now() + 1_500;
    while (Date.now() < watchUntil) {
      expect(a.isLeading() && b.isLeading(), 'two leaders at once').to.equal(false);
      await new Promise((r) => setTimeout(r, 10));
    }
    const [leader, follower] = a.isLeading() ? [a, b] : [b, a];
    await leader.elector.stop();
    const handover = await until(() => follower.isLeading(), 5_000, 'the follower to lead');
    expect(handover).to.be.below(2_000); // no lease expiry wait: the lease was released
    await follower.elector.stop();
    expect(log.filter((l) => l.endsWith('leads'))).to.have.length(2);
  });

  it("takes over a crashed leader's lease only after it expires", async () => {
    const kube = await rig.kube();
    const client = new KubeClient(kube.kubeConfig);
    const log: string[] = [];
    const a = candidate(client, 'replica-a', 'leader-test-crash', log);
    a.elector.start();
    await until(() => a.isLeading(), 10_000, 'a to lead');
    const b = candidate(client, 'replica-b', 'leader-test-crash', log);
    b.elector.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(b.isLeading()).to.equal(false);
    const crashedAt = Date.now();
    await a.elector.stop({ release: false });
    await until(() => b.isLeading(), 10_000, 'b to take over');
    expect(Date.now() - crashedAt).to.be.at.least(1_500); // waited out the 2 s lease (less our last renewal's age)
    await b.elector.stop();
  });
});
