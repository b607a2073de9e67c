// One executor trades a shard at a time: it holds a PostgreSQL advisory lock for the shard on a
// connection of its own. The lock lives exactly as long as that session, so a crashed or
// partitioned executor loses it with its connection, and the holder must stop trading the moment
// the connection is gone (it can no longer know whether another executor took over).
import type pg from 'pg';
import type { Logger } from 'pino';
import { sleep } from './sleep.js';

/** Advisory-lock key of a shard (two int4s: a namespace and the shard's hash). */
const SHARD_LOCK_NAMESPACE = 0x41524245; // "ARBE"

export class ShardLock {
  private client: pg.PoolClient | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly shard: string,
    /** Told when the lock's connection fails or ends while held. */
    private readonly onLost: (error: Error) => void,
    private readonly log?: Logger,
  ) {}

  /** Tries every second until the lock is held or `keepTrying` turns false. */
  async acquire(keepTrying: () => boolean): Promise<void> {
    while (keepTrying()) {
      try {
        const client = await this.pool.connect();
        const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [
          SHARD_LOCK_NAMESPACE,
          this.shard,
        ]);
        if (got.rows[0]?.ok) {
          this.client = client;
          client.on('error', (error: Error) => this.onLost(error));
          // pg emits 'end' on the underlying connection when the server goes away.
          (client as unknown as { connection: { on(e: string, f: () => void): void } }).connection.on('end', () =>
            this.onLost(new Error('connection ended')),
          );
          this.log?.info({ shard: this.shard }, 'holding the shard lock: this executor trades the shard');
          return;
        }
        client.release();
        this.log?.info({ shard: this.shard }, 'another executor holds the shard lock; waiting');
      } catch (error) {
        this.log?.warn({ err: error }, 'cannot reach PostgreSQL for the shard lock; retrying');
      }
      await sleep(1_000);
    }
  }

  /** Ends the lock's session, which releases the lock whatever else happens; `destroy` drops the connection as a crash would. */
  release(destroy = false): void {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.release(destroy ? new Error('executor killed') : true);
  }
}
