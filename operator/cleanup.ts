// What a deleted shard leaves outside Kubernetes: its Redis keys (streams, control key).
import { Redis } from 'ioredis';
import type { TradingShard } from '../contracts/trading-shard.js';
import type { ShardCleanup } from './reconciler.js';

export function redisCleanup(url: string): ShardCleanup & { close(): void } {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on('error', () => undefined); // failures surface on the commands, which the reconciler retries
  const cleanup = async (shard: TradingShard) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `arbees:${shard.metadata.name}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  };
  return Object.assign(cleanup, { close: () => redis.disconnect() });
}
