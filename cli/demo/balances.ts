// What each simulator says our account holds at the end of the demo, asked as a client asks the
// venue (Kalshi's signed GET /portfolio/balance, Polymarket's L2 GET /balance-allowance), and what
// the ledger says it should hold: start + realized PnL − the cost of what is still held, plus
// Kalshi's $1 for each YES and NO of one market it has netted (the ledger pays those at settlement).
import { createPrivateKey } from 'node:crypto';
import type pg from 'pg';
import { parseDecimal } from '../../contracts/decimal.js';
import { kalshiSignedHeaders } from '../../venues/kalshi/auth.js';
import { polyL2Headers } from '../../workloads/sim/polymarket/auth.js';
import type { LiveAccess } from './stack.js';

export interface VenueBalance {
  /** Ten-thousandths of $1. */
  start: number;
  ledger: number;
  venue: number;
}

export type Balances = Record<'kalshi' | 'polymarket', VenueBalance>;

/** The account's cash on each simulator, in ten-thousandths of $1. */
export async function venueCash(urls: { kalshi: string; polymarket: string }, access: LiveAccess): Promise<Record<keyof Balances, number>> {
  const kalshiPath = `${new URL(urls.kalshi).pathname}/portfolio/balance`;
  const kalshi = await fetch(`${new URL(urls.kalshi).origin}${kalshiPath}`, {
    headers: kalshiSignedHeaders(access.kalshi.keyId, createPrivateKey(access.kalshi.privateKeyPem), 'GET', kalshiPath),
  });
  const polymarket = await fetch(`${urls.polymarket}/balance-allowance?asset_type=COLLATERAL`, {
    headers: polyL2Headers(access.polymarket, 'GET', '/balance-allowance'),
  });
  if (!kalshi.ok || !polymarket.ok) throw new Error(`balances: Kalshi HTTP ${kalshi.status}, Polymarket HTTP ${polymarket.status}`);
  const k = (await kalshi.json()) as { balance_dollars: string };
  const p = (await polymarket.json()) as { balance: string };
  // pUSD in millionths; the ledger's unit is a hundred of them.
  return { kalshi: parseDecimal(k.balance_dollars, 4), polymarket: Math.floor(Number(p.balance) / 100) };
}

/** The cash each venue should show by the ledger, from the same start. */
export async function ledgerCash(
  db: pg.Pool,
  shard: string,
  start: Record<keyof Balances, number>,
): Promise<Record<keyof Balances, number>> {
  const rows = await db.query<{
    venue: keyof Balances;
    market_id: string;
    outcome: string;
    size: string;
    cost: string;
    realized_pnl: string;
  }>('select venue, market_id, outcome, size, cost, realized_pnl from positions where shard = $1', [shard]);
  const out = { ...start };
  const held = new Map<string, { yes: number; no: number }>();
  for (const r of rows.rows) {
    out[r.venue] += Number(r.realized_pnl) - (Number(r.size) > 0 ? Number(r.cost) : 0);
    if (r.venue !== 'kalshi' || Number(r.size) === 0) continue;
    const pair = held.get(r.market_id) ?? { yes: 0, no: 0 };
    pair[r.outcome as 'yes' | 'no'] += Number(r.size);
    held.set(r.market_id, pair);
  }
  // One hundredth of a contract pays a cent when netted.
  for (const { yes, no } of held.values()) out.kalshi += Math.min(yes, no) * 100;
  return out;
}
