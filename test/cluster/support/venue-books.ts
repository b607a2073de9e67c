// What the simulators' own books say our keys did: every Kalshi order of the trading key, and every
// Polymarket trade of the API key, read from the venues' REST APIs (paged), to compare with the ledger.
import { createPrivateKey } from 'node:crypto';
import { request } from 'node:http';
import { kalshiSignedHeaders } from '../../../venues/kalshi/auth.js';
import { polyL2Headers } from '../../../workloads/sim/polymarket/auth.js';
import type { VenueKeys } from './venues.js';

export interface KalshiVenueOrder {
  order_id: string;
  client_order_id: string;
  status: string;
  fill_count_fp: string;
}

export async function kalshiOrders(base: string, keys: VenueKeys): Promise<KalshiVenueOrder[]> {
  const key = createPrivateKey(keys.trading.privateKey);
  const orders: KalshiVenueOrder[] = [];
  let cursor = '';
  for (let page = 0; page < 1_000; page++) {
    const path = `/trade-api/v2/portfolio/orders?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(`${base}${path}`, { headers: kalshiSignedHeaders(keys.trading.keyId, key, 'GET', path) });
    if (!res.ok) throw new Error(`kalshi orders: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { orders: KalshiVenueOrder[]; cursor?: string };
    orders.push(...body.orders);
    if (!body.cursor) return orders;
    cursor = body.cursor;
  }
  throw new Error('kalshi orders: more than 1000 pages');
}

export interface PolymarketVenueTrade {
  id: string;
  taker_order_id: string;
  status: string;
}

/** GET from a local address of the caller's choice (the venue serves only some sources). */
function getFrom(localAddress: string, url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function polymarketTrades(base: string, keys: VenueKeys, localAddress: string): Promise<PolymarketVenueTrade[]> {
  const p = keys.polymarket;
  const creds = { apiKey: p.apiKey, secret: p.apiSecret, passphrase: p.apiPassphrase, address: p.address };
  const trades: PolymarketVenueTrade[] = [];
  let cursor = 'MA==';
  for (let page = 0; page < 1_000; page++) {
    const path = `/data/trades?next_cursor=${encodeURIComponent(cursor)}`;
    const res = await getFrom(localAddress, `${base}${path}`, polyL2Headers(creds, 'GET', '/data/trades'));
    if (res.status !== 200) throw new Error(`polymarket trades: ${res.status} ${res.body}`);
    const body = JSON.parse(res.body) as { data: PolymarketVenueTrade[]; next_cursor?: string };
    trades.push(...body.data);
    if (!body.next_cursor || body.next_cursor === 'LTE=') return trades;
    cursor = body.next_cursor;
  }
  throw new Error('polymarket trades: more than 1000 pages');
}
