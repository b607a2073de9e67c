// Kubernetes Events about a TradingShard, for what a user must see in `kubectl describe`.
// Identical events within a window are not repeated (a retrying failure would flood the list).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from './kube/client.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly identity: string,
    private readonly log: Logger,
    private readonly dedupeWindowMs = 300_000,
  ) {}

  async record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = Date.now();
    const key = `${object.metadata.uid}|${type}|${reason}|${message}`;
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeWindowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.recent.clear();
    const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: object.metadata.namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          namespace: object.metadata.namespace,
          uid: object.metadata.uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        type,
        reason,
        message,
        source: { component: 'arbees-operator' },
        reportingComponent: 'arbees.io/operator',
        reportingInstance: this.identity,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      });
    } catch (error) {
      // An event is information, never a reason to fail a reconcile.
      this.log.warn({ err: error, reason }, 'could not record event');
    }
  }
}
