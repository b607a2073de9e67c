// The shard's control key in Redis, which the executor reads before every order and
// subscribes to. Written on every evaluation with a TTL: if the operator stops refreshing it, the
// key expires and the executor, finding no key, stops trading (fail safe).
import { Redis } from 'ioredis';
import type { BreakerState } from '../../contracts/trading-shard.js';
import type { BreakerSnapshot } from './machine.js';
import { streamKeys, type ControlState } from '../../contracts/messages.js';

const controlStates: Record<BreakerState, ControlState['state']> = { Closed: 'closed', Open: 'open', HalfOpen: 'half_open' };

/** In half-open probation, orders are capped at this fraction of spec.executor.limits.maxOrderUsd. */
export const probationSizeFraction = 0.25;

/** What the executor is told: the breaker's state, or open while the shard is paused. */
export function controlState(
  snapshot: Pick<BreakerSnapshot, 'state' | 'reason' | 'since'>,
  maxOrderUsd: number,
  paused = false,
): ControlState {
  return {
    state: paused ? 'open' : controlStates[snapshot.state],
    reason: paused ? 'paused by spec.paused' : snapshot.reason,
    since: snapshot.since,
    ...(snapshot.state === 'HalfOpen' && !paused ? { maxOrder: Math.floor(maxOrderUsd * probationSizeFraction * 10_000) } : {}),
  };
}

/** Writes the control key with its TTL, and publishes it on the channel when it changed. */
export async function writeControl(
  redis: Redis,
  ttlSeconds: number,
  shard: string,
  control: ControlState,
  changed: boolean,
): Promise<void> {
  const key = streamKeys.control(shard);
  const value = JSON.stringify(control);
  const pipeline = redis.multi().set(key, value, 'EX', ttlSeconds);
  if (changed) pipeline.publish(key, value);
  await pipeline.exec();
}

export interface ControlPublisher {
  publish(shard: string, control: ControlState, changed: boolean): Promise<void>;
  close(): void;
}

export function redisControlPublisher(url: string, ttlSeconds: number): ControlPublisher {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis.on('error', () => undefined); // surfaced by the commands below, which the caller logs
  return {
    publish: (shard, control, changed) => writeControl(redis, ttlSeconds, shard, control, changed),
    close: () => redis.disconnect(),
  };
}
