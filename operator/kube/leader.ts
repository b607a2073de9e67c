// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: take the lease when
// it is free or its holder has not renewed it for leaseDuration (measured on our own clock, from
// when we last saw it change, so clock skew between replicas does not matter); renew every
// retryPeriod; give leadership up if a renewal has not succeeded within renewDeadline. Writes carry
// the resourceVersion they read, so two candidates can never both win.
import { KubeApiError, resources, type KubeClient, type KubeObject } from './client.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (error: unknown) => void;
}

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** The acquire-or-renew under way, if any: a release waits for it (else the two race on the lease). */
  private attempt: Promise<boolean> | undefined;
  private lastRenewal = 0;
  private observed: { record: string; at: number } | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  /**
   * Stops competing; a leader releases the lease so a successor takes over at once
   * (`release: false` behaves like a crash: successors wait for the lease to expire).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading && options.release === false) {
      this.leading = false;
      this.options.onStoppedLeading();
      return;
    }
    if (this.leading) {
      this.leading = false;
      // A renewal between its read and its write would make the release lose with a conflict (the
      // successor then waits out the lease), or, landing after it, take the lease back.
      await this.attempt?.catch(() => undefined);
      try {
        await this.release();
      } catch (error) {
        this.options.onError?.(error);
      }
      this.options.onStoppedLeading();
    }
  }

  /** Gives the lease up if we hold it; a conflicting write (a lease changed since read) is read again. */
  private async release(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const lease = await this.client.get<Lease>(resources.leases, this.options.namespace, this.options.name);
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      try {
        await this.client.replace({
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) },
        });
        return;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 409) || attempt >= 3) throw error;
      }
    }
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    let acquired = false;
    try {
      this.attempt = this.tryAcquireOrRenew();
      acquired = await this.attempt;
      if (acquired) this.lastRenewal = Date.now();
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.attempt = undefined;
    }
    if (!this.running) return;
    if (this.leading && Date.now() - this.lastRenewal > this.renewDeadlineMs) {
      this.leading = false;
      this.options.onStoppedLeading();
    } else if (!this.leading && acquired) {
      this.leading = true;
      this.options.onStartedLeading();
    }
    this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = Date.now();
    const lease = await this.client.find<Lease>(resources.leases, namespace, name);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    if (!lease) {
      try {
        await this.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409) return false; // another candidate won
        throw error;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = `${holder}|${lease.spec?.renewTime ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const expired = now - this.observed.at >= (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder !== identity && holder !== '' && !expired) return false;
    const takingOver = holder !== identity;
    try {
      await this.client.replace({
        ...lease,
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        spec: {
          ...lease.spec,
          ...spec,
          acquireTime: takingOver ? microTime(now) : lease.spec?.acquireTime,
          leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
        },
      });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return false; // lost the race; read again next time
      throw error;
    }
  }
}
