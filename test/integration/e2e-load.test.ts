// The whole pipeline under load, short: both simulators (a thread each), both monitors, detector
// and executor (paper) as `arbees` processes, Redis and PostgreSQL, at 1 000 venue messages/s for
// 12 s with injected arbitrage windows and venue faults (dropped sockets). Every window must be
// found, no signal lost, no order duplicated, and the monitors must really have received the load.
// Latency and throughput figures are printed, not asserted: bench/e2e.bench.ts runs 1k/10k/50k.
import { expect } from 'chai';
import { formatTable, runLoad } from '../support/load.js';

const RATE = 1_000;

describe('end to end under load: the whole pipeline at 1k venue messages/s', function () {
  this.timeout(150_000);

  it('finds every injected window through faults, loses no signal, duplicates no order, and receives >= 80 % of the rate', async () => {
    const r = await runLoad({ rate: RATE, durationMs: 12_000, keepLogs: process.env.ARBEES_KEEP_RIG === '1' });
    process.stderr.write(`${formatTable([r])}\n`);
    // The load was really there: what the monitors counted (arbees_ws_messages_total), both venues.
    expect(r.received.total, 'venue messages/s received by the monitors').to.be.at.least(0.8 * RATE);
    expect(r.received.kalshi).to.be.greaterThan(0);
    expect(r.received.polymarket).to.be.greaterThan(0);
    expect(r.quotesPerSecond.kalshi + r.quotesPerSecond.polymarket).to.be.greaterThan(0);
    // The faults happened and were recovered from (a dropped socket on each venue).
    expect(r.faults.some((f) => f.startsWith('kalshi disconnect')) && r.faults.some((f) => f.startsWith('polymarket disconnect'))).to.equal(
      true,
    );
    expect(r.reconnects.kalshi, 'kalshi reconnects').to.be.at.least(1);
    expect(r.reconnects.polymarket, 'polymarket reconnects').to.be.at.least(1);
    // Every injected arbitrage window found, traded, and the ledger consistent.
    expect(r.windows.injected).to.be.at.least(2);
    expect(r.windows.missed, 'windows without a signal').to.deep.equal([]);
    expect(r.signals.published).to.be.at.least(r.windows.injected);
    expect(r.lostSignals, 'signals published but never recorded by the executor').to.equal(0);
    expect(r.signals.recorded).to.be.at.least(r.signals.published);
    expect(r.orders.total, 'orders').to.be.greaterThan(0);
    expect(r.duplicateOrders, '(signal, leg) pairs with more than one order').to.equal(0);
  });
});
