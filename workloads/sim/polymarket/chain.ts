// Where a Polymarket trade goes after the match: MATCHED (sent for execution on chain) → MINED
// (with its transaction hash) → CONFIRMED; or RETRYING (the transaction failed or was reorganised
// and is sent again) before MINED; or FAILED for good, with an error and no hash, which undoes the
// trade: shares and pUSD go back to the wallets and the orders' matched size shrinks
// (docs/venue-conformance.md P7). The scenario picks which trades fail or are retried, by their
// order among user trades.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SimClock } from '../clock.js';
import type { Scenario } from '../scenario.js';
import type { PolymarketState, PTrade, TradeStatus } from './state.js';
import type { Wallets } from './wallets.js';

export interface ChainTiming {
  /** From the match to MINED (default 150 ms of real time). */
  minedMs?: number;
  /** From MINED to CONFIRMED (default 250 ms). */
  confirmedMs?: number;
}

const txHash = (trade: PTrade, attempt: number) => `0x${createHash('sha256').update(`tx:${trade.id}:${attempt}`).digest('hex')}`;

export class PolymarketChain {
  private count = 0;
  private readonly faults: Map<number, 'failed' | 'retried'>;
  private readonly minedMs: number;
  private readonly confirmedMs: number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: PolymarketState,
    private readonly wallets: Wallets,
    scenario: Scenario,
    private readonly clock: SimClock,
    private readonly log: Logger | undefined,
    timing: ChainTiming = {},
  ) {
    this.faults = new Map(scenario.polymarketChain.map((f) => [f.trade, f.outcome]));
    this.minedMs = timing.minedMs ?? 150;
    this.confirmedMs = timing.confirmedMs ?? 250;
  }

  /** A user's trade was matched: its path on chain starts. */
  matched(trade: PTrade): void {
    const fault = this.faults.get(++this.count);
    if (fault === 'failed') {
      this.after(this.minedMs, () => this.fail(trade));
      return;
    }
    let attempt = 1;
    if (fault === 'retried') {
      this.after(this.minedMs, () => this.set(trade, 'RETRYING'));
      attempt = 2;
    }
    const minedAt = this.minedMs * attempt;
    this.after(minedAt, () => {
      trade.transactionHash = txHash(trade, attempt);
      this.set(trade, 'MINED');
    });
    this.after(minedAt + this.confirmedMs, () => this.set(trade, 'CONFIRMED'));
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }

  private fail(trade: PTrade): void {
    trade.error = 'transaction failed: execution reverted';
    this.set(trade, 'FAILED');
    this.wallets.trade(trade, -1);
    const taker = this.state.orders.get(trade.takerOrderId);
    if (taker) taker.sizeMatched -= trade.size;
    const maker = this.state.orders.get(trade.maker.orderId);
    if (maker) {
      maker.sizeMatched -= trade.size;
      this.wallets.trade(
        { address: maker.makerAddress, assetId: maker.assetId, side: maker.side, price: maker.price, size: trade.size, fee: 0 },
        -1,
      );
    }
    this.log?.warn({ trade: trade.id, order: trade.takerOrderId }, 'trade failed on chain');
  }

  private set(trade: PTrade, status: TradeStatus): void {
    trade.status = status;
    trade.lastUpdateSec = Math.floor(this.clock.now() / 1000);
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}
