// Leader election on a real Lease: two candidates never lead at once; a released lease passes at
// once, a crashed leader's lease passes after it expires.
import { expect } from 'chai';
import { KubeClient, resources, type KubeObject, type Resource } from '../../operator/kube/client.js';
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

  it('gives the lease up when stopped in the middle of a renewal', async () => {
    const kube = await rig.kube();
    // Holds the leader's next write (a renewal, after its read) until the test lets it go, any
    // later write until that one has landed, and counts the reads made while it is held (only a
    // release can make one then).
    const gate: { arm?: () => Promise<void>; landed?: Promise<void>; releaseReads: number } = { releaseReads: 0 };
    class GatedClient extends KubeClient {
      override async replace<T = KubeObject>(object: KubeObject): Promise<T> {
        const held = gate.arm;
        gate.arm = undefined;
        if (!held) {
          await gate.landed; // any other write goes after the held renewal, the order that conflicted
          return super.replace<T>(object);
        }
        const renewal = held().then(() => super.replace<T>(object));
        gate.landed = renewal.then(
          () => undefined,
          () => undefined,
        );
        return renewal;
      }
      override async get<T = KubeObject>(resource: Resource, namespace: string | undefined, name: string): Promise<T> {
        const got = await super.get<T>(resource, namespace, name);
        gate.releaseReads++;
        return got;
      }
    }
    const client = new GatedClient(kube.kubeConfig);
    let leading = false;
    const elector = new LeaderElector(client, {
      namespace: 'default',
      name: 'leader-test-stop-mid-renewal',
      identity: 'replica-solo',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 200,
      onStartedLeading: () => (leading = true),
      onStoppedLeading: () => (leading = false),
    });
    elector.start();
    await until(() => leading, 30_000, 'the candidate to lead');
    let renewalHeld!: () => void;
    let letRenewalGo!: () => void;
    const held = new Promise<void>((resolve) => (renewalHeld = resolve));
    gate.arm = () => {
      gate.releaseReads = 0; // the renewal's own read is done; what follows is the release's
      renewalHeld();
      return new Promise<void>((resolve) => (letRenewalGo = resolve));
    };
    await held;
    const stopping = elector.stop();
    // A release that does not wait for the renewal reads the lease now, before the renewal lands,
    // and its write then conflicts: the lease stays held for its 15 s. One that waits reads nothing
    // yet, so this can only time out (the second the test then spends is the price of proving it).
    await until(() => gate.releaseReads > 0, 1_000, 'a read by the release').catch(() => undefined);
    letRenewalGo();
    await stopping;
    const lease = await new KubeClient(kube.kubeConfig).get<{ spec?: { holderIdentity?: string } }>(
      resources.leases,
      'default',
      'leader-test-stop-mid-renewal',
    );
    expect(lease.spec?.holderIdentity, 'the lease is free for a successor at once').to.equal('');
    expect(leading).to.equal(false);
  });
});
