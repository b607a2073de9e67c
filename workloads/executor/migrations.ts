// The executor's ledger schema, as ordered migrations applied at start-up under a
// PostgreSQL advisory lock, each in its own transaction and recorded in schema_migrations, so
// running them again (or from several processes at once) changes nothing.
//
// Units: prices and money are bigint ten-thousandths of $1, sizes bigint hundredths of a contract.
// TimescaleDB is optional: migration 2 turns the append-only tables into hypertables when the
// extension can be loaded, and does nothing otherwise.
import type pg from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary constant: the advisory lock key that serializes migrations on one database. */
export const MIGRATION_LOCK_KEY = 4_217_301_771;

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'ledger',
    sql: `
create table signals (
  id text primary key,
  shard text not null,
  market_id text not null,
  kind text not null,
  payload jsonb not null,
  -- processing: accepted, legs in flight; done: every order final; rejected: refused by risk.
  status text not null check (status in ('processing', 'done', 'rejected')),
  -- The legs risk accepted (resized), in send order.
  plan jsonb,
  outcome text,
  received_at timestamptz not null default now(),
  decided_at timestamptz,
  completed_at timestamptz
);
create index signals_open on signals (shard) where status = 'processing';

create table orders (
  id bigserial primary key,
  client_order_id text not null unique,
  shard text not null,
  signal_id text not null references signals (id),
  leg text not null,
  venue text not null check (venue in ('kalshi', 'polymarket')),
  market_id text not null,
  -- The venue's own id of the instrument (Kalshi ticker, Polymarket token id).
  venue_market text not null,
  outcome text not null check (outcome in ('yes', 'no')),
  side text not null check (side in ('buy', 'sell')),
  limit_price bigint not null check (limit_price between 0 and 10000),
  size bigint not null check (size > 0),
  filled_size bigint not null default 0,
  avg_price bigint,
  fees bigint not null default 0,
  status text not null check (status in ('intent', 'sent', 'acked', 'partially_filled', 'filled', 'cancelled', 'rejected', 'unknown')),
  venue_order_id text,
  reason text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  acked_at timestamptz,
  updated_at timestamptz not null default now(),
  final_at timestamptz,
  unique (signal_id, leg)
);
create index orders_open on orders (shard) where status not in ('filled', 'cancelled', 'rejected');

create table fills (
  id bigserial primary key,
  venue text not null,
  venue_fill_id text not null,
  client_order_id text not null references orders (client_order_id),
  shard text not null,
  market_id text not null,
  outcome text not null,
  side text not null,
  price bigint not null,
  size bigint not null,
  fee bigint not null,
  filled_at timestamptz not null,
  recorded_at timestamptz not null default now(),
  unique (venue, venue_fill_id)
);

create table positions (
  shard text not null,
  market_id text not null,
  venue text not null,
  outcome text not null,
  size bigint not null,
  cost bigint not null,
  realized_pnl bigint not null default 0,
  -- Bumped on every change, so that an in-memory copy keeps only the newest.
  version bigint not null default 1,
  last_fill_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (shard, market_id, venue, outcome)
);

create table pnl_daily (
  shard text not null,
  day date not null,
  realized bigint not null default 0,
  fees bigint not null default 0,
  unwind_loss bigint not null default 0,
  primary key (shard, day)
);

-- No primary key, so that TimescaleDB can partition it by time.
create table risk_events (
  id bigserial not null,
  shard text not null,
  signal_id text,
  rule text not null,
  detail text not null,
  created_at timestamptz not null default now()
);
create index risk_events_by_time on risk_events (shard, created_at);

-- The paper venue's own book of orders: what a real venue would remember about our orders, so
-- paper trading goes through the same intent / send / reconcile path as live trading.
create table paper_orders (
  client_order_id text primary key,
  venue text not null,
  report jsonb not null,
  created_at timestamptz not null default now()
);
`,
  },
  {
    version: 2,
    name: 'timescaledb-when-available',
    sql: `
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'timescaledb') then
    begin
      create extension if not exists timescaledb;
      perform create_hypertable('risk_events', 'created_at', if_not_exists => true, migrate_data => true);
    exception when others then
      raise notice 'timescaledb present but not usable (%), keeping plain tables', sqlerrm;
    end;
  end if;
end
$$;
`,
  },
  {
    version: 3,
    name: 'polymarket-signed-orders',
    sql: `
-- Polymarket has no client order id: an order is the hash of its signed struct, and a re-signed
-- order (new salt, new timestamp) would be a second order. The exact signed body is stored here,
-- committed before it is first sent, so a retry or a restart resends those very bytes and
-- reconciliation looks the order up by its hash.
create table polymarket_signed_orders (
  client_order_id text primary key references orders (client_order_id),
  order_hash text not null unique,
  body jsonb not null,
  created_at timestamptz not null default now()
);
`,
  },
  {
    version: 4,
    name: 'settlements',
    sql: `
-- One row per position paid out at a market's resolution. The key names the position and the
-- version it had when settled: a second poller, a retry or a restart finds the row and changes
-- nothing, while a position reopened afterwards (a new version) is still settled once.
create table settlements (
  id bigserial primary key,
  shard text not null,
  market_id text not null,
  venue text not null check (venue in ('kalshi', 'polymarket')),
  outcome text not null check (outcome in ('yes', 'no')),
  position_version bigint not null,
  winner text not null check (winner in ('yes', 'no')),
  size bigint not null check (size > 0),
  cost bigint not null,
  payout bigint not null,
  realized bigint not null,
  day date not null,
  -- What the venue answered, kept to show why the market was settled.
  evidence jsonb not null,
  settled_at timestamptz not null default now(),
  unique (shard, market_id, venue, outcome, position_version)
);
`,
  },
];

export interface MigrationResult {
  applied: number[];
  skipped: number[];
}

/** Applies every migration not yet recorded, in order, holding the migration advisory lock. */
export async function migrate(pool: pg.Pool, list: Migration[] = migrations): Promise<MigrationResult> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => (lost = error); // the server went away: the query in progress fails with it
  client.on('error', onError);
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(
        'create table if not exists schema_migrations (version integer primary key, name text not null, applied_at ' +
          'timestamptz not null default now())',
      );
      const done = new Set((await client.query<{ version: number }>('select version from schema_migrations')).rows.map((r) => r.version));
      for (const migration of [...list].sort((a, b) => a.version - b.version)) {
        if (done.has(migration.version)) {
          result.skipped.push(migration.version);
          continue;
        }
        await client.query('begin');
        try {
          await client.query(migration.sql);
          await client.query('insert into schema_migrations (version, name) values ($1, $2)', [migration.version, migration.name]);
          await client.query('commit');
        } catch (error) {
          await client.query('rollback').catch(() => undefined);
          throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
        }
        result.applied.push(migration.version);
      }
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
  return result;
}
