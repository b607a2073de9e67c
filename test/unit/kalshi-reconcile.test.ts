// Kalshi reconciliation without the undocumented client_order_id filter: the client asks for the
// ticker's orders since just before its intent and pages through them until it finds its own.
// nock plays a venue that ignores any filter but the ticker and the window. And the venue's error
// bodies, nested or not, read into the text the ledger keeps.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { isInsufficientBalance, kalshiError, kalshiErrorText } from '../../venues/kalshi/errors.js';
import { KalshiClient } from '../../venues/kalshi/orders.js';
import type { OrderRequest } from '../../venues/orders.js';

const BASE = 'http://kalshi.test';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const client = new KalshiClient({ restUrl: `${BASE}/trade-api/v2`, credentials: { keyId: 'k', privateKey } });
const order: OrderRequest = {
  clientOrderId: 'ours',
  venue: 'kalshi',
  marketId: 'm0',
  venueMarket: 'KXNBAGAME-26NOV24PHILAL-LAL',
  outcome: 'yes',
  side: 'buy',
  limitPrice: 5_000,
  size: 300,
  createdTs: 1_800_000_000_000,
};
const other = (i: number) => ({
  order_id: `o${i}`,
  client_order_id: `c${i}`,
  status: 'executed',
  fill_count_fp: '1.00',
  remaining_count_fp: '0.00',
});

describe('Kalshi reconciliation by ticker and time window', () => {
  afterEach(() => nock.cleanAll());

  it('pages through the ticker’s orders since the intent, never sending client_order_id, and finds ours on a later page', async () => {
    const seen: Array<Record<string, string>> = [];
    nock(BASE)
      .get('/trade-api/v2/portfolio/orders')
      .query((q) => {
        seen.push(q as Record<string, string>);
        return true;
      })
      .times(2)
      .reply((uri) =>
        new URL(uri, BASE).searchParams.get('cursor') === '1000'
          ? [200, { orders: [other(1000), { ...other(1001), order_id: 'found', client_order_id: 'ours' }], cursor: '' }]
          : [200, { orders: Array.from({ length: 1000 }, (_, i) => other(i)), cursor: '1000' }],
      );
    nock(BASE)
      .get('/trade-api/v2/portfolio/fills')
      .query(true)
      .reply(200, {
        fills: [{ fill_id: 'f1', order_id: 'found', yes_price_dollars: '0.5000', count_fp: '1.00', fee_cost: '0.017500', ts_ms: 1 }],
        cursor: '',
      });
    const report = await client.find(order);
    expect(report).to.deep.include({ venueOrderId: 'found', status: 'filled', filledSize: 100 });
    expect(seen).to.have.length(2);
    for (const q of seen) {
      expect(q).to.not.have.property('client_order_id');
      expect(q).to.include({ ticker: order.venueMarket, min_ts: String(order.createdTs / 1000 - 300), limit: '1000' });
    }
    expect(seen[1]).to.include({ cursor: '1000' });
  });

  it('answers not found once the last page is read without ours', async () => {
    nock(BASE)
      .get('/trade-api/v2/portfolio/orders')
      .query(true)
      .reply(200, { orders: [other(1)], cursor: '' });
    expect(await client.find(order)).to.equal(undefined);
  });

  it('counts a venue that answers with an error as ambiguous, never as not found', async () => {
    nock(BASE)
      .get('/trade-api/v2/portfolio/orders')
      .query(true)
      .reply(500, { error: { code: 'internal_server_error', message: 'internal server error' } });
    let error: unknown;
    try {
      await client.find(order);
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).to.equal('VenueAmbiguous');
    expect((error as Error).message).to.contain('internal_server_error');
  });
});

describe('Kalshi error bodies, every shape the venue sends', () => {
  it('reads nested order/auth errors, flat decode errors, bare parameter errors and the 429 text', () => {
    const nested = {
      error: { code: 'insufficient_balance', message: 'insufficient balance', details: 'needs $5.00', service: 'exchange' },
    };
    expect(kalshiError(nested)).to.deep.equal({ code: 'insufficient_balance', message: 'insufficient balance', details: 'needs $5.00' });
    expect(kalshiErrorText(nested)).to.equal('insufficient_balance: insufficient balance (needs $5.00)');
    expect(isInsufficientBalance(nested)).to.be.true;
    expect(kalshiError({ code: 'bad_request', message: 'bad request', details: 'json' })).to.include({
      code: 'bad_request',
      details: 'json',
    });
    expect(kalshiErrorText({ msg: 'limit: must be between 1 and 1000' })).to.equal('limit: must be between 1 and 1000');
    expect(kalshiErrorText({ error: 'too many requests' })).to.equal('too many requests');
    expect(kalshiError({ error: { code: 'authentication_error', details: 'INCORRECT_API_KEY_SIGNATURE' } }).details).to.equal(
      'INCORRECT_API_KEY_SIGNATURE',
    );
    expect(isInsufficientBalance({ error: { code: 'order_already_exists' } })).to.be.false;
  });
});
