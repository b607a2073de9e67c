// The executor's PostgreSQL plumbing: its connection pool, and one transaction on a client of its own.
import pg from 'pg';

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 3_000, idleTimeoutMillis: 30_000 });
  pool.on('error', () => undefined); // an idle client lost (server restart): the next query reports it
  return pool;
}

/**
 * Runs `work` in one transaction on a checked-out client. A checked-out client has no pool
 * listener: a server gone mid-transaction must surface as this call's error, not as an uncaught
 * 'error' event; and a failed transaction's connection is discarded, not reused.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  const onError = (error: Error) => (failed = error);
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    failed ??= error as Error;
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(failed);
  }
}
