// The shard's control key in Redis (DESIGN §4), which the executor reads before every order and
// subscribes to. Written on every evaluation with a TTL: if the operator stops refreshing it, the
// key expires and the executor, finding no key, stops trading (fail safe).
import { Redis } from 'ioredis';
import type { BreakerState } from '../api/types.js';
import { streamKeys, type ControlState } from '../../workloads/lib/messages.js';

export const controlStates: Record<BreakerState, ControlState['state']> = { Closed: 'closed', Open: 'open', HalfOpen: 'half_open' };

export interface ControlPublisher {
  publish(shard: string, control: ControlState, changed: boolean): Promise<void>;
  close(): void;
}

export function redisControlPublisher(url: string, ttlSeconds: number): ControlPublisher {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on('error', () => undefined); // surfaced by the commands below, which the caller logs
  return {
    async publish(shard, control, changed) {
      const key = streamKeys.control(shard);
      const value = JSON.stringify(control);
      const pipeline = redis.multi().set(key, value, 'EX', ttlSeconds);
      if (changed) pipeline.publish(key, value);
      await pipeline.exec();
    },
    close: () => redis.disconnect(),
  };
}
