// The executor's portfolio: positions, the holdings reserved by signals being carried out, the last
// fill per market, and realized PnL today and in all. The executor is the shard's only writer, so
// this in-memory copy is authoritative once loaded from the ledger; every change after that comes
// from a ledger write (a fill, a settlement) and is applied here after it commits.
import { notionalCeil } from '../../contracts/decimal.js';
import type { Leg, Outcome, Venue } from '../../contracts/messages.js';
import type { ShardMarket } from '../../contracts/shard-config.js';
import type { BookCache } from './books.js';
import { exposure, type Holding } from './exposure.js';
import type { FillEffects, Ledger, PlannedLeg, PositionRow } from './ledger.js';
import type { ExecutorMetrics } from './metrics.js';
import { tradingDay, unrealizedPnl } from './pnl.js';

const positionKey = (marketId: string, venue: Venue, outcome: Outcome) => `${marketId}\u0000${venue}\u0000${outcome}`;
const toUsd = (v: number) => v / 10_000;

export interface PortfolioSnapshot {
  positions: PositionRow[];
  realizedToday: number;
  realizedTotal: number;
  exposure: number;
}

export class Portfolio {
  private readonly markets = new Map<string, ShardMarket>();
  private readonly positions = new Map<string, PositionRow>();
  /** Holdings of signals being carried out, by signal id, until their orders report. */
  private readonly reservations = new Map<string, Holding[]>();
  private readonly lastFill = new Map<string, number>();
  private todayRealized = 0;
  private totalRealized = 0;
  private day = '';

  constructor(
    markets: ShardMarket[],
    private readonly books: BookCache,
    private readonly metrics: ExecutorMetrics,
    /** The zone whose midnight starts a new trading day (it may change with the shard config). */
    private readonly timeZone: () => string,
    private readonly now: () => number,
  ) {
    this.setMarkets(markets);
  }

  setMarkets(markets: ShardMarket[]): void {
    this.markets.clear();
    for (const m of markets) this.markets.set(m.id, m);
  }

  market(marketId: string): ShardMarket | undefined {
    return this.markets.get(marketId);
  }

  /** Replaces the state with the ledger's: positions, last fills, and realized PnL of today and all time. */
  async load(ledger: Ledger): Promise<void> {
    this.positions.clear();
    this.lastFill.clear();
    for (const p of await ledger.positions()) {
      this.positions.set(positionKey(p.marketId, p.venue, p.outcome), p);
      this.noteFill(p);
    }
    this.day = tradingDay(this.now(), this.timeZone());
    const realized = await ledger.realized(this.day);
    this.todayRealized = realized.today;
    this.totalRealized = realized.total;
    this.updateGauges();
  }

  /** Starts a new trading day (today's realized PnL back to 0) when midnight has passed. */
  rollDay(): void {
    const day = tradingDay(this.now(), this.timeZone());
    if (day !== this.day) {
      this.day = day;
      this.todayRealized = 0;
    }
  }

  /** The trading day fills count in (before the state is loaded: today's). */
  tradingDay(): string {
    return this.day || tradingDay(this.now(), this.timeZone());
  }

  get realizedToday(): number {
    return this.todayRealized;
  }

  get realizedTotal(): number {
    return this.totalRealized;
  }

  lastFillAt(marketId: string): number | undefined {
    return this.lastFill.get(marketId);
  }

  /** Positions held and reservations, each with its game and sport, as risk and exposure see them. */
  holdings(): Holding[] {
    const out: Holding[] = [];
    for (const p of this.positions.values()) {
      if (p.size <= 0) continue;
      const m = this.markets.get(p.marketId);
      out.push({
        marketId: p.marketId,
        game: m?.game ?? p.marketId,
        sport: m?.sport ?? 'unknown',
        venue: p.venue,
        outcome: p.outcome,
        size: p.size,
        cost: p.cost,
      });
    }
    for (const list of this.reservations.values()) out.push(...list);
    return out;
  }

  /** Unrealized PnL of the positions at the books' mids. */
  unrealized(): number {
    const books = this.books;
    return unrealizedPnl([...this.positions.values()], (venue, marketId, outcome) => books.mid(venue, marketId, outcome));
  }

  /** Counts an accepted signal's legs as held, at their limit price plus fee, until they report: concurrent decisions see them. */
  reserve(signalId: string, marketId: string, market: Pick<ShardMarket, 'game' | 'sport'>, legs: Leg[], fee: (leg: Leg) => number): void {
    this.reservations.set(
      signalId,
      legs.map((leg) => ({
        marketId,
        game: market.game,
        sport: market.sport,
        venue: leg.venue,
        outcome: leg.outcome,
        size: leg.size,
        cost: notionalCeil(leg.limitPrice, leg.size) + fee(leg),
        pendingSignal: signalId,
      })),
    );
  }

  /** A leg has reported: its fills are positions now, no longer a reservation. */
  releaseLeg(signalId: string, leg: PlannedLeg): void {
    const list = this.reservations.get(signalId);
    if (!list) return;
    const i = list.findIndex((h) => h.venue === leg.venue && h.outcome === leg.outcome);
    if (i >= 0) list.splice(i, 1);
  }

  releaseSignal(signalId: string): void {
    this.reservations.delete(signalId);
  }

  /** Applies what a committed ledger write did: positions moved, PnL realized. */
  apply(effects: Pick<FillEffects, 'positions' | 'realized'>): void {
    for (const p of effects.positions) {
      const key = positionKey(p.marketId, p.venue, p.outcome);
      // Two orders' transactions may finish in one order and report in the other: keep the newest.
      if ((this.positions.get(key)?.version ?? 0) < p.version) this.positions.set(key, p);
      this.noteFill(p);
    }
    this.todayRealized += effects.realized;
    this.totalRealized += effects.realized;
    this.updateGauges();
  }

  updateGauges(): void {
    const unrealized = this.unrealized();
    this.metrics.pnl.set(toUsd(this.totalRealized + unrealized));
    this.metrics.dailyLoss.set(toUsd(Math.max(0, -(this.todayRealized + unrealized))));
    this.metrics.exposure.set(toUsd(exposure(this.holdings()).total));
  }

  snapshot(): PortfolioSnapshot {
    return {
      positions: [...this.positions.values()],
      realizedToday: this.todayRealized,
      realizedTotal: this.totalRealized,
      exposure: exposure(this.holdings()).total,
    };
  }

  private noteFill(p: PositionRow): void {
    if (p.lastFillAt !== undefined) this.lastFill.set(p.marketId, Math.max(this.lastFill.get(p.marketId) ?? 0, p.lastFillAt));
  }
}
