// Polymarket's official TypeScript client (@polymarket/clob-client-v2, the one the executor signs
// with), unmodified, against the Polymarket simulator: the same calls as polymarket_sdk.py. The
// client types its answers but does not check them at run time, so each answer is checked against
// the type the client declares (shapes.json). Run by harness.ts, which sets POLY_URL,
// POLY_CREDS_FILE, POLY_YES_TOKEN, POLY_NO_TOKEN and REPORT.
import { ApiError, AssetType, Chain, ClobClient, OrderType, Side, SignatureTypeV2, type ApiKeyCreds } from '@polymarket/clob-client-v2';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { polygon } from 'viem/chains';
import type { CallResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT = 'polymarket (typescript)';
const TICKS = ['0.1', '0.01', '0.005', '0.0025', '0.001', '0.0001'];

class CheckFailed extends Error {}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name} (the harness sets it)`);
  return value;
}

const clip = (value: unknown, n = 400) => {
  const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))).replace(/\s+/g, ' ');
  return text.length <= n ? text : text.slice(0, n) + '…';
};

// ------------------------------------------------------------------------------------------------
// Shapes (see shapes.json)

type Shapes = Record<string, Record<string, string>>;
const shapes: Shapes = Object.fromEntries(
  Object.entries(JSON.parse(readFileSync(join(here, 'shapes.json'), 'utf8')) as Shapes).filter(([k]) => !k.startsWith('_')),
);

function typeProblems(value: unknown, kind: string, where: string, problems: string[]): void {
  const alternatives = kind.split('|');
  if (alternatives.length > 1) {
    if (alternatives.some((alt) => !probe(value, alt, where))) return;
    problems.push(`${where}: expected ${kind}, got ${clip(value, 40)}`);
    return;
  }
  if (kind === 'null') {
    if (value !== null) problems.push(`${where}: expected null`);
  } else if (kind.endsWith('[]')) {
    if (!Array.isArray(value)) problems.push(`${where}: expected an array, got ${clip(value, 40)}`);
    else value.slice(0, 3).forEach((item, i) => typeProblems(item, kind.slice(0, -2), `${where}[${i}]`, problems));
  } else if (shapes[kind]) shapeProblems(value, kind, where, problems);
  else if (kind.startsWith('enum:')) {
    if (
      !kind
        .slice(5)
        .split(',')
        .includes(value as string)
    )
      problems.push(`${where}: ${clip(value, 40)} is not one of ${kind.slice(5)}`);
  } else if (kind === 'object' ? typeof value !== 'object' || value === null || Array.isArray(value) : typeof value !== kind) {
    problems.push(`${where}: expected ${kind}, got ${clip(value, 40)}`);
  }
}

/** Whether `value` has problems as `kind` (one alternative of a union). */
function probe(value: unknown, kind: string, where: string): boolean {
  const found: string[] = [];
  typeProblems(value, kind, where, found);
  return found.length > 0;
}

function shapeProblems(value: unknown, shape: string, where = shape, problems: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: expected an object, got ${clip(value, 80)}`);
    return problems;
  }
  const record = value as Record<string, unknown>;
  for (const [field, declared] of Object.entries(shapes[shape]!)) {
    const optional = declared.endsWith('?');
    const kind = optional ? declared.slice(0, -1) : declared;
    if (!(field in record)) {
      if (!optional) problems.push(`${where}.${field}: missing (${kind})`);
    } else typeProblems(record[field], kind, `${where}.${field}`, problems);
  }
  return problems;
}

const expectShape =
  (shape: string) =>
  (value: unknown): string => {
    const items = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && value.length === 0) throw new CheckFailed(`empty list: no ${shape} to check`);
    const problems: string[] = [];
    items.slice(0, 3).forEach((item, i) => shapeProblems(item, shape, Array.isArray(value) ? `${shape}[${i}]` : shape, problems));
    if (problems.length > 0)
      throw new CheckFailed(`answer is not the ${shape} the official clients declare: ${problems.slice(0, 12).join('; ')}`);
    return '';
  };

// ------------------------------------------------------------------------------------------------
// Recorder

const results: CallResult[] = [];
const report = env('REPORT');
const save = () => {
  writeFileSync(
    `${report}.partial`,
    JSON.stringify({ client: CLIENT, sdk: `@polymarket/clob-client-v2 ${clientVersion()}`, results }, null, 2),
  );
  renameSync(`${report}.partial`, report);
};

function clientVersion(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@polymarket/clob-client-v2');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return `HTTP ${error.status ?? '?'}: ${clip(error.data ?? error.message)}`;
  return error instanceof Error ? `${error.name}: ${clip(error.message)}` : clip(error);
}

interface CallOptions<T> {
  check?: (value: T) => string | void;
  /** Only an error this accepts passes. */
  expectError?: (error: unknown) => boolean;
  /** Falsy: a prerequisite failed; the call is recorded as not run (so, failed). */
  needs?: unknown;
}

async function call<T>(name: string, endpoint: string, fn: () => Promise<T>, options: CallOptions<T> = {}): Promise<T | undefined> {
  const record = (ok: boolean, reason: string, ms: number, note = '') => {
    results.push({ client: CLIENT, call: name, endpoint, ok, reason, ms: Math.round(ms), note });
    save();
  };
  if ('needs' in options && !options.needs) {
    record(false, 'not run: a call it depends on failed', 0);
    return undefined;
  }
  const started = performance.now();
  let value: T;
  try {
    value = await fn();
  } catch (error) {
    const ms = performance.now() - started;
    if (options.expectError?.(error)) record(true, '', ms, `refused as expected: ${describe(error)}`);
    else record(false, error instanceof CheckFailed ? error.message : describe(error), ms);
    return undefined;
  }
  const ms = performance.now() - started;
  if (options.expectError) {
    record(false, `accepted; the venue refuses it: ${clip(value)}`, ms);
    return undefined;
  }
  try {
    record(true, '', ms, options.check?.(value) || '');
  } catch (error) {
    // Failed, but what it answered (an order id, trade ids) still lets later calls be tried.
    record(false, error instanceof CheckFailed ? error.message : describe(error), ms);
  }
  return value;
}

// ------------------------------------------------------------------------------------------------
// Checks

const decimalText = (v: unknown) => typeof v === 'string' && v !== '' && Number.isFinite(Number(v));
/** {key: "0.45"}; where the docs disagree on the key, any of those named. */
const keyedDecimal =
  (...keys: string[]) =>
  (value: unknown) => {
    const key = keys.find((k) => decimalText((value as Record<string, unknown> | null)?.[k]));
    if (!key) throw new CheckFailed(`expected {${keys.join(' or ')}: decimal string}, got ${clip(value, 200)}`);
    return `${key}=${String((value as Record<string, unknown>)[key])}`;
  };
const perToken =
  (...tokens: string[]) =>
  (value: unknown) => {
    if (typeof value !== 'object' || value === null || tokens.some((t) => !(t in value)))
      throw new CheckFailed(`expected an object keyed by each token id, got ${clip(value, 200)}`);
  };
const pageOf = (shape: string) => (value: unknown) => {
  const problems = shapeProblems(value, 'PaginationPayload');
  ((value as { data?: unknown[] })?.data ?? []).slice(0, 3).forEach((item, i) => shapeProblems(item, shape, `data[${i}]`, problems));
  if (problems.length > 0) throw new CheckFailed(`answer is not a page of ${shape}: ${problems.slice(0, 12).join('; ')}`);
  return `${(value as { count: number }).count} on the first page`;
};
const orderStatus = (expected: string) => (value: { success?: boolean; status?: string }) => {
  expectShape('OrderResponse')(value);
  if (!value.success || value.status !== expected)
    throw new CheckFailed(`expected a successful '${expected}' order, got ${clip(value, 200)}`);
  return `status=${value.status}`;
};
const cancelled =
  (...ids: Array<string | undefined>) =>
  (value: unknown) => {
    const done = (value as { canceled?: string[] } | null)?.canceled ?? [];
    if (!ids.every((id) => id && done.includes(id)))
      throw new CheckFailed(`expected {canceled: [the resting orders], not_canceled: {}}, got ${clip(value, 200)}`);
  };
const settledMatch = (value: {
  success?: boolean;
  status?: string;
  transactionsHashes?: string[];
  tradeIDs?: string[];
  takingAmount?: string;
}) => {
  expectShape('OrderResponse')(value);
  if (!value.success || value.status !== 'matched') throw new CheckFailed(`expected a matched order, got ${clip(value, 200)}`);
  if (!value.transactionsHashes?.length) {
    throw new CheckFailed(
      `matched, but no transactionsHashes after the client's 30 s wait: trades ` +
        `${clip(value.tradeIDs)} never reached a transaction_hash (MINED/CONFIRMED) or FAILED`,
    );
  }
  return `takingAmount=${value.takingAmount}`;
};
const sameCreds = (expected: ApiKeyCreds | undefined) => (value: ApiKeyCreds) => {
  if (!expected || value.key !== expected.key || value.secret !== expected.secret || value.passphrase !== expected.passphrase) {
    throw new CheckFailed('the same wallet and nonce gave other credentials than createApiKey');
  }
};
const balanceRefusal = (error: unknown) =>
  error instanceof ApiError && error.status === 400 && /not enough balance/i.test(JSON.stringify(error.data ?? error.message));

// ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const host = env('POLY_URL');
  const secrets = JSON.parse(readFileSync(env('POLY_CREDS_FILE'), 'utf8')) as {
    apiKey: string;
    secret: string;
    passphrase: string;
    privateKey: `0x${string}`;
  };
  const signer = createWalletClient({
    account: privateKeyToAccount(secrets.privateKey),
    chain: polygon,
    transport: http('http://127.0.0.1:9'),
  });
  const options = { host, chain: Chain.POLYGON, signer, signatureType: SignatureTypeV2.EOA, throwOnError: true };
  const client = new ClobClient({ ...options, creds: { key: secrets.apiKey, secret: secrets.secret, passphrase: secrets.passphrase } });
  const yes = env('POLY_YES_TOKEN');
  const no = env('POLY_NO_TOKEN');

  // L1: API keys from the wallet's signature.
  const fresh = new ClobClient(options);
  const created = await call('createApiKey (L1)', 'POST /auth/api-key', () => fresh.createApiKey(1), {
    check: (creds) => {
      if (!creds.key || !creds.secret || !creds.passphrase) throw new CheckFailed(`empty credentials: ${clip(Object.keys(creds))}`);
    },
  });
  await call('deriveApiKey (L1)', 'GET /auth/derive-api-key', () => fresh.deriveApiKey(1), { check: sameCreds(created), needs: created });
  await call('createOrDeriveApiKey (L1)', 'POST /auth/api-key, GET /auth/derive-api-key', () => fresh.createOrDeriveApiKey(1), {
    check: sameCreds(created),
    needs: created,
  });

  // Public market data.
  await call('getOk', 'GET /ok', () => client.getOk());
  await call('getServerTime', 'GET /time', () => client.getServerTime(), {
    check: (t) => {
      if (!Number.isInteger(t)) throw new CheckFailed(`expected integer seconds, got ${clip(t)}`);
    },
  });
  const book = await call('getOrderBook', 'GET /book', () => client.getOrderBook(yes), { check: expectShape('OrderBookSummary') });
  const condition = book?.market;
  const pair = [
    { token_id: yes, side: Side.BUY },
    { token_id: no, side: Side.SELL },
  ];
  await call('getOrderBooks', 'POST /books', () => client.getOrderBooks(pair), { check: expectShape('OrderBookSummary') });
  await call('getMarkets', 'GET /markets', () => client.getMarkets(), { check: pageOf('ClobMarket') });
  await call('getSamplingMarkets', 'GET /sampling-markets', () => client.getSamplingMarkets(), { check: pageOf('ClobMarket') });
  await call('getSimplifiedMarkets', 'GET /simplified-markets', () => client.getSimplifiedMarkets(), { check: pageOf('SimplifiedMarket') });
  await call('getSamplingSimplifiedMarkets', 'GET /sampling-simplified-markets', () => client.getSamplingSimplifiedMarkets(), {
    check: pageOf('SimplifiedMarket'),
  });
  await call('getMarket', 'GET /markets/{condition_id}', () => client.getMarket(condition!), {
    check: expectShape('ClobMarket'),
    needs: condition,
  });
  await call('getClobMarketInfo', 'GET /clob-markets/{condition_id}', () => client.getClobMarketInfo(condition!), {
    check: expectShape('MarketDetails'),
    needs: condition,
  });
  await call('getMidpoint', 'GET /midpoint', () => client.getMidpoint(yes), { check: keyedDecimal('mid', 'mid_price') });
  await call('getMidpoints', 'POST /midpoints', () => client.getMidpoints(pair), { check: perToken(yes, no) });
  await call('getPrice', 'GET /price', () => client.getPrice(yes, 'BUY'), { check: keyedDecimal('price') });
  await call('getPrices', 'POST /prices', () => client.getPrices(pair), { check: perToken(yes, no) });
  await call('getSpread', 'GET /spread', () => client.getSpread(yes), { check: keyedDecimal('spread') });
  await call('getSpreads', 'POST /spreads', () => client.getSpreads(pair), { check: perToken(yes, no) });
  await call('getLastTradePrice', 'GET /last-trade-price', () => client.getLastTradePrice(yes), { check: keyedDecimal('price') });
  await call('getLastTradesPrices', 'POST /last-trades-prices', () => client.getLastTradesPrices(pair), {
    check: (v: Array<{ token_id?: string }>) => {
      if (!Array.isArray(v) || [...v.map((i) => String(i.token_id))].sort().join() !== [yes, no].sort().join())
        throw new CheckFailed(`expected [{token_id, price, side}] per token, got ${clip(v, 200)}`);
    },
  });
  await call('getTickSize', 'GET /tick-size', () => client.getTickSize(yes), {
    check: (t) => {
      if (!TICKS.includes(t)) throw new CheckFailed(`tick size ${clip(t)} is not one of ${TICKS.join(', ')}`);
      return t;
    },
  });
  await call('getNegRisk', 'GET /neg-risk', () => client.getNegRisk(yes), {
    check: (v) => {
      if (typeof v !== 'boolean') throw new CheckFailed(`expected a boolean, got ${clip(v)}`);
    },
  });
  await call('getFeeRateBps', 'GET /fee-rate', () => client.getFeeRateBps(yes), {
    check: (v) => {
      if (!Number.isInteger(v)) throw new CheckFailed(`expected integer bps, got ${clip(v)}`);
      return String(v);
    },
  });

  // Account.
  await call(
    'getBalanceAllowance (COLLATERAL)',
    'GET /balance-allowance',
    () => client.getBalanceAllowance({ asset_type: AssetType.COLLATERAL }),
    { check: expectShape('BalanceAllowanceResponse') },
  );
  await call(
    'getBalanceAllowance (CONDITIONAL)',
    'GET /balance-allowance',
    () => client.getBalanceAllowance({ asset_type: AssetType.CONDITIONAL, token_id: yes }),
    {
      check: expectShape('BalanceAllowanceResponse'),
    },
  );
  await call('updateBalanceAllowance (COLLATERAL)', 'GET /balance-allowance/update', () =>
    client.updateBalanceAllowance({ asset_type: AssetType.COLLATERAL }),
  );

  // Orders.
  const best = async () => {
    const raw = await client.getOrderBook(yes);
    return { bid: Math.max(...raw.bids.map((l) => Number(l.price))), ask: Math.min(...raw.asks.map((l) => Number(l.price))) };
  };
  const low = Math.max(0.01, Math.round(((await best()).bid - 0.1) * 100) / 100);
  const rest = (size: number) => client.createAndPostOrder({ tokenID: yes, price: low, size, side: Side.BUY }, undefined, OrderType.GTC);
  const restId = async () => (await rest(5).catch(() => undefined))?.orderID;

  const placed = await call('createAndPostOrder (limit GTC, resting)', 'POST /order', () => rest(10), { check: orderStatus('live') });
  const orderId = placed?.orderID;
  await call('getOrder', 'GET /data/order/{id}', () => client.getOrder(orderId!), { check: expectShape('OpenOrder'), needs: orderId });
  await call('getOpenOrders', 'GET /data/orders', () => client.getOpenOrders({ asset_id: yes }), {
    check: (orders) => {
      expectShape('OpenOrder')(orders);
      if (!orders.some((o) => o.id === orderId)) throw new CheckFailed('the resting order is not listed');
    },
    needs: orderId,
  });
  await call('cancelOrder', 'DELETE /order', () => client.cancelOrder({ orderID: orderId! }), {
    check: cancelled(orderId),
    needs: orderId,
  });
  await call('cancelOrder again (already cancelled)', 'DELETE /order', () => client.cancelOrder({ orderID: orderId! }), {
    check: (v: { not_canceled?: Record<string, string> }) => {
      if (!v?.not_canceled?.[orderId!]) throw new CheckFailed(`expected the order under not_canceled with a reason, got ${clip(v, 200)}`);
      return `not_canceled: ${v.not_canceled[orderId!]}`;
    },
    needs: orderId,
  });
  const two = [await restId(), await restId()];
  await call('cancelOrders', 'DELETE /orders', () => client.cancelOrders(two as string[]), {
    check: cancelled(...two),
    needs: two.every(Boolean),
  });
  let one = await restId();
  await call('cancelAll', 'DELETE /cancel-all', () => client.cancelAll(), { check: cancelled(one), needs: one });
  one = await restId();
  await call('cancelMarketOrders', 'DELETE /cancel-market-orders', () => client.cancelMarketOrders({ market: condition }), {
    check: cancelled(one),
    needs: condition && one,
  });

  // The executor's order: a marketable limit (two ticks of room: the book moves), fill-and-kill.
  // The client then waits up to 30 s for its trades to reach a transaction hash or FAILED.
  const limit = Math.min(0.99, Math.round(((await best()).ask + 0.02) * 100) / 100);
  const taken = await call(
    'createAndPostOrder (limit FAK, marketable)',
    'POST /order',
    async () => client.postOrder(await client.createOrder({ tokenID: yes, price: limit, size: 5, side: Side.BUY }), OrderType.FAK),
    {
      check: settledMatch,
    },
  );
  const tradeId = taken?.tradeIDs?.[0];
  await call('getTrades', 'GET /data/trades', () => client.getTrades(), { check: expectShape('Trade'), needs: tradeId });
  await call(
    'getTrades (id): MATCHED → MINED → CONFIRMED with transaction_hash',
    'GET /data/trades?id',
    // Read again, as a client waiting for finality does, until the trade is final (a mined trade is
    // confirmed some blocks later) or 60 s have passed (a loaded machine mines no faster).
    async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const trades = await client.getTrades({ id: tradeId });
        if (['CONFIRMED', 'FAILED'].includes(trades[0]?.status ?? '') || Date.now() > deadline) return trades;
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    {
      check: (trades) => {
        const t = trades[0];
        if (t?.status !== 'CONFIRMED' || !t.transaction_hash)
          throw new CheckFailed(`trade status ${t?.status}, transaction_hash ${clip(t?.transaction_hash)}: it never left MATCHED`);
        expectShape('Trade')(trades);
        return 'CONFIRMED';
      },
      needs: tradeId,
    },
  );
  const marketBuy = (orderType: OrderType.FAK | OrderType.FOK) => () =>
    client.createAndPostMarketOrder({ tokenID: yes, amount: 5, side: Side.BUY, orderType }, undefined, orderType);
  await call('createAndPostMarketOrder (BUY FAK)', 'GET /markets-by-token, POST /order', marketBuy(OrderType.FAK), { check: settledMatch });
  await call('createAndPostMarketOrder (BUY FOK)', 'GET /markets-by-token, POST /order', marketBuy(OrderType.FOK), { check: settledMatch });
  await call(
    'createAndPostMarketOrder (SELL FOK, shares held)',
    'POST /order',
    () => client.createAndPostMarketOrder({ tokenID: yes, amount: 5, side: Side.SELL, orderType: OrderType.FOK }, undefined, OrderType.FOK),
    { check: settledMatch, needs: tradeId },
  );

  // Balances and allowances: the venue refuses what the account cannot pay for or does not hold.
  await call('unfunded BUY (10M shares) is refused: not enough balance / allowance', 'POST /order', () => rest(10_000_000), {
    expectError: balanceRefusal,
  });
  await call(
    'SELL of shares not held is refused: not enough balance / allowance',
    'POST /order',
    () => client.createAndPostOrder({ tokenID: no, price: 0.99, size: 1_000, side: Side.SELL }),
    {
      expectError: balanceRefusal,
    },
  );
}

main().catch((error: unknown) => {
  console.error(`polymarket (typescript) harness stopped: ${describe(error)}`);
  process.exitCode = 1;
});
