// The run's outcome, read once at the end from the ledger and the signals stream: what the report
// states, each figure from its source of record.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ArbTruth } from '../../workloads/sim/engine.js';
import { streamKeys } from '../../contracts/messages.js';
import type { Balances } from './balances.js';

export interface OrderRow {
  signalId: string;
  leg: string;
  venue: string;
  marketId: string;
  outcome: string;
  side: string;
  limitPrice: number;
  size: number;
  filledSize: number;
  avgPrice: number | null;
  fees: number;
  status: string;
}

export interface SignalRow {
  id: string;
  kind: string;
  marketId: string;
  edgeBps: number;
  expectedProfit: number;
  /** Epoch ms the detector created it. */
  createdTs: number;
  /** Oldest quote it was built on, ms. */
  quoteAgeMs: number;
  status: string;
  outcome: string | null;
  /** Epoch ms the executor took it. */
  receivedAt: number;
  /** Created by the detector → its first order sent (live) or its intent committed (paper), ms:
   * the stream hop, the executor's risk checks and the ledger write. */
  toOrderMs?: number;
  /** Epoch ms of that first order. */
  firstOrderAt?: number;
}

export interface WindowResult {
  truth: ArbTruth;
  /** The window in wall-clock epoch ms. */
  from: number;
  to: number;
  signals: number;
  filledOrders: number;
}

export interface Results {
  signals: SignalRow[];
  orders: OrderRow[];
  positions: Array<{ marketId: string; venue: string; outcome: string; size: number; cost: number; realizedPnl: number }>;
  rejections: Record<string, number>;
  /** Signals on the stream that the ledger never recorded (must be 0). */
  lostSignals: number;
  publishedSignals: number;
  /** (signal, leg) pairs with more than one order (must be 0). */
  duplicateOrders: number;
  windows: WindowResult[];
  realizedUsd: number;
  feesUsd: number;
  /** Realized PnL (settlements included) per game and venue, USD. */
  realizedByGame: Array<{ game: string; kalshi: number; polymarket: number }>;
  /** Fees paid per venue, USD. */
  feesByVenue: { kalshi: number; polymarket: number };
  /** Positions paid out at their market's resolution; positions still held. */
  settlements: number;
  openPositions: number;
  /** Each simulator's final cash against the ledger's (when trading live on them). */
  balances?: Balances;
}

const usd = (tenThousandths: number) => tenThousandths / 10_000;

export async function collectResults(deps: {
  db: pg.Pool;
  redis: Redis;
  shard: string;
  truths: ArbTruth[];
  /** Wall-clock epoch ms of a scenario offset. */
  wallOf: (offsetMs: number) => number;
  /** The game of each market. */
  games?: ReadonlyMap<string, string>;
  /** The simulators' balances against the ledger's, when trading live on them. */
  balances?: () => Promise<Balances>;
}): Promise<Results> {
  const { db, shard } = deps;
  const signals = await db.query<{
    id: string;
    kind: string;
    market_id: string;
    payload: { edgeBps: number; expectedProfit: number; createdTs: number; quoteAgesMs: number[] };
    status: string;
    outcome: string | null;
    received: number;
    first_order: number | null;
  }>(
    `select s.id, s.kind, s.market_id, s.payload, s.status, s.outcome,
            extract(epoch from s.received_at) * 1000 as received,
            -- Paper orders skip the 'sent' write; their intent commit is the moment before the send.
            (select extract(epoch from coalesce(min(o.sent_at), min(o.created_at))) * 1000
               from orders o where o.signal_id = s.id) as first_order
       from signals s where s.shard = $1 order by s.received_at`,
    [shard],
  );
  const orders = await db.query<{
    signal_id: string;
    leg: string;
    venue: string;
    market_id: string;
    outcome: string;
    side: string;
    limit_price: string;
    size: string;
    filled_size: string;
    avg_price: string | null;
    fees: string;
    status: string;
  }>(
    'select signal_id, leg, venue, market_id, outcome, side, limit_price, size, filled_size, avg_price, fees, status ' +
      'from orders where shard = $1 order by id',
    [shard],
  );
  const positions = await db.query<{ market_id: string; venue: string; outcome: string; size: string; cost: string; realized_pnl: string }>(
    'select market_id, venue, outcome, size, cost, realized_pnl from positions where shard = $1 order by market_id, venue, outcome',
    [shard],
  );
  const rejections = await db.query<{ rule: string; n: string }>(
    'select rule, count(*) as n from risk_events where shard = $1 group by rule order by 2 desc',
    [shard],
  );
  const duplicates = await db.query<{ n: string }>(
    'select count(*) as n from (select signal_id, leg from orders where shard = $1 group by 1, 2 having count(*) > 1) d',
    [shard],
  );
  const pnl = await db.query<{ realized: string | null; fees: string | null }>(
    'select sum(realized) as realized, sum(fees) as fees from pnl_daily where shard = $1',
    [shard],
  );
  const fees = await db.query<{ venue: 'kalshi' | 'polymarket'; fees: string }>(
    'select venue, sum(fee) as fees from fills where shard = $1 group by venue',
    [shard],
  );
  const settled = await db.query<{ n: string }>('select count(*) as n from settlements where shard = $1', [shard]);

  const signalRows: SignalRow[] = signals.rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    marketId: r.market_id,
    edgeBps: r.payload.edgeBps,
    expectedProfit: r.payload.expectedProfit,
    createdTs: r.payload.createdTs,
    quoteAgeMs: Math.max(0, ...r.payload.quoteAgesMs),
    status: r.status,
    outcome: r.outcome,
    receivedAt: Number(r.received),
    ...(r.first_order !== null ? { firstOrderAt: Number(r.first_order), toOrderMs: Number(r.first_order) - r.payload.createdTs } : {}),
  }));
  const orderRows: OrderRow[] = orders.rows.map((r) => ({
    signalId: r.signal_id,
    leg: r.leg,
    venue: r.venue,
    marketId: r.market_id,
    outcome: r.outcome,
    side: r.side,
    limitPrice: Number(r.limit_price),
    size: Number(r.size),
    filledSize: Number(r.filled_size),
    avgPrice: r.avg_price === null ? null : Number(r.avg_price),
    fees: Number(r.fees),
    status: r.status,
  }));

  // Every signal the detector published must be in the ledger.
  const recorded = new Set(signalRows.map((s) => s.id));
  const published = new Set<string>();
  for (const [, fields] of await deps.redis.xrange(streamKeys.signals(shard), '-', '+')) {
    const json = fields[fields.length - 1];
    try {
      published.add((JSON.parse(json!) as { id: string }).id);
    } catch {
      /* not a signal entry */
    }
  }
  const lostSignals = [...published].filter((id) => !recorded.has(id)).length;

  // A window counts as found when a signal on its market was created while it was open (plus the
  // time the books take to show it and to fade).
  const windows = deps.truths.map((truth) => {
    const from = deps.wallOf(truth.startMs);
    const to = deps.wallOf(truth.endMs) + 2_000;
    const inWindow = signalRows.filter(
      (s) => s.marketId === truth.marketId && s.kind === 'arbitrage' && s.createdTs >= from && s.createdTs <= to,
    );
    const ids = new Set(inWindow.map((s) => s.id));
    return {
      truth,
      from,
      to,
      signals: inWindow.length,
      filledOrders: orderRows.filter((o) => ids.has(o.signalId) && o.filledSize > 0).length,
    };
  });

  const byGame = new Map<string, { game: string; kalshi: number; polymarket: number }>();
  for (const p of positions.rows) {
    const game = deps.games?.get(p.market_id) ?? p.market_id;
    const row = byGame.get(game) ?? { game, kalshi: 0, polymarket: 0 };
    row[p.venue as 'kalshi' | 'polymarket'] += usd(Number(p.realized_pnl));
    byGame.set(game, row);
  }
  const feesOf = (venue: string) => usd(Number(fees.rows.find((r) => r.venue === venue)?.fees ?? 0));

  return {
    signals: signalRows,
    orders: orderRows,
    positions: positions.rows.map((r) => ({
      marketId: r.market_id,
      venue: r.venue,
      outcome: r.outcome,
      size: Number(r.size),
      cost: Number(r.cost),
      realizedPnl: Number(r.realized_pnl),
    })),
    rejections: Object.fromEntries(rejections.rows.map((r) => [r.rule, Number(r.n)])),
    lostSignals,
    publishedSignals: published.size,
    duplicateOrders: Number(duplicates.rows[0]?.n ?? 0),
    windows,
    realizedUsd: usd(Number(pnl.rows[0]?.realized ?? 0)),
    feesUsd: usd(Number(pnl.rows[0]?.fees ?? 0)),
    realizedByGame: [...byGame.values()].sort((a, b) => a.game.localeCompare(b.game)),
    feesByVenue: { kalshi: feesOf('kalshi'), polymarket: feesOf('polymarket') },
    settlements: Number(settled.rows[0]?.n ?? 0),
    openPositions: positions.rows.filter((p) => Number(p.size) > 0).length,
    ...(deps.balances ? { balances: await deps.balances() } : {}),
  };
}
