// The executor: signals in (Redis consumer group), orders out (paper or live venues), every
// decision and every order in the PostgreSQL ledger first. This file keeps the lifecycle (shard
// lock, recovery, the intake loop, stop) and the decision; the portfolio, sending and reconciling
// orders, and carrying out legs and their unwinds live beside it.
//
// Exactly once, end to end:
// - One executor trades a shard at a time (shard-lock.ts), and stops trading the moment its lock's
//   connection is lost.
// - A stream entry is taken as a signal only when the detector signed it with the shard's signal key
//   (signal-vetting.ts); anything else is counted, logged (rate-limited) and acknowledged, and never
//   trades. A signal created in the future, or whose limits our own books (from the quotes stream)
//   do not support, is refused before the decision.
// - A signal is decided (control state, pause, pure risk) and the decision written in one
//   statement: a refusal with its risk event, or an acceptance with its plan and the intent of its
//   first order. The signal id is the primary key, so a replayed signal is refused as a duplicate.
// - Every order's intent row is committed before the order is sent, under a client order id
//   derived from the shard, signal id and leg; the venue refuses a second order under that id.
// - On start, and after any failure, every non-final order is reconciled with its venue by client
//   order id (order-sender.ts) and every signal still in flight is carried to its end (the second
//   leg, then the unwind of a one-legged fill) before new signals are taken. An intent found at
//   start is never sent again; a first leg is only ever sent by the run that decided it.
// - A stream entry is acknowledged only when its signal's outcome is in the ledger.
//
// Orders that only reduce risk (second legs, unwinds) pass even when the breaker is open.
import type pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { signalSchema, type ControlState, type Leg, type Signal, type Venue } from '../../contracts/messages.js';
import type { ShardConfig } from '../../contracts/shard-config.js';
import { FeeTable } from '../../venues/fee-table.js';
import type { VenueClient } from '../../venues/orders.js';
import type { BookCache } from './books.js';
import { SignalIntake, type StreamEntry } from './intake.js';
import { LegExecution, planLegs } from './leg-execution.js';
import { Ledger, type SettlementEffects } from './ledger.js';
import { LocalBreakers } from './local-breakers.js';
import type { ExecutorMetrics } from './metrics.js';
import { OrderSender, type ExecutorHooks } from './order-sender.js';
import { Portfolio, type PortfolioSnapshot } from './portfolio.js';
import { evaluateRisk, type RiskRule } from './risk.js';
import type { ExecutorSettings } from './settings.js';
import { alignLegs, type VenueGrid } from './order-grid.js';
import { ShardLock } from './shard-lock.js';
import { authenticEntry, vetSignal, type RefusalReason, type VettingRule } from './signal-vetting.js';
import { sleep } from './sleep.js';

export interface ControlSource {
  current(): Promise<ControlState | undefined>;
}

export interface ExecutorDeps {
  config: ShardConfig;
  settings: ExecutorSettings;
  pool: pg.Pool;
  /** Redis for the signals stream (a connection of its own: XREADGROUP blocks it). */
  redisUrl: string;
  /** The key the detector signs signals with (contracts/signal-auth.ts): an entry not signed with it never trades. */
  signalKey: string;
  control: ControlSource;
  venues: Partial<Record<Venue, VenueClient>>;
  books: BookCache;
  metrics: ExecutorMetrics;
  /** Fee models per market and venue (default: assumed fees, for tests without venues). */
  fees?: FeeTable;
  /** The venues' grid per market (Polymarket tick, Kalshi fractions); default: assumed, for tests without venues. */
  terms?: MarketTerms;
  log?: Logger;
  hooks?: ExecutorHooks;
  now?: () => number;
}

export type SignalOutcome = 'accepted' | 'rejected' | 'duplicate' | 'in-flight' | 'invalid';

/** What the venues said of a market's grid (market-params.ts); undefined where they have not. */
export interface MarketTerms {
  tick(marketId: string): VenueGrid['polymarketTick'];
  fractional(marketId: string): boolean | undefined;
}

/** Without venues to ask (tests): a cent tick, fractions taken. */
const ASSUMED_GRID: VenueGrid = { polymarketTick: '0.01', kalshiFractional: true };

export class Executor {
  readonly ledger: Ledger;
  private readonly portfolio: Portfolio;
  private readonly orders: OrderSender;
  private readonly legs: LegExecution;
  private readonly lock: ShardLock;
  private readonly localBreakers: LocalBreakers;
  private readonly fees: FeeTable;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly metrics: ExecutorMetrics;
  private config: ShardConfig;
  private settings: ExecutorSettings;

  /** Signals being handled in this process, by id, with their handling. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Decisions under way, which a graceful stop waits for. */
  private readonly active = new Set<Promise<unknown>>();
  private lockLost = false;
  private redis: Redis | undefined;
  private reader: Redis | undefined;
  private intake: SignalIntake | undefined;
  /** Stream entries being handled, by entry id: the intake keeps up to `concurrency` of them. */
  private readonly handling = new Map<string, Promise<void>>();
  /** The first failure of an entry handled since the last recovery (that entry stays pending). */
  private handlingFailure: Error | undefined;
  private running = false;
  private killed = false;
  private loop: Promise<void> | undefined;
  private needRecovery = true;
  private lastClaim = 0;
  /** Refused entries logged per reason: when last, and how many since (one line per reason every 10 s). */
  private readonly refusalLog = new Map<RefusalReason, { at: number; unlogged: number }>();
  ready = false;

  constructor(private readonly deps: ExecutorDeps) {
    this.config = deps.config;
    this.settings = deps.settings;
    this.ledger = new Ledger(deps.pool, deps.config.shard);
    this.fees = deps.fees ?? new FeeTable();
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.metrics = deps.metrics;
    const settings = () => this.settings;
    this.portfolio = new Portfolio(deps.config.markets, deps.books, deps.metrics, () => this.settings.timeZone, this.now);
    this.localBreakers = new LocalBreakers(deps.settings.localBreakers);
    deps.metrics.onCollectLocalBreakers(() => this.localBreakers.states(this.now()));
    const shared = { ledger: this.ledger, portfolio: this.portfolio, metrics: deps.metrics, settings, log: deps.log, now: this.now };
    const live = deps.config.executor.mode === 'live';
    this.orders = new OrderSender({
      ...shared,
      venues: deps.venues,
      localBreakers: this.localBreakers,
      live,
      killed: () => this.killed,
      hooks: deps.hooks,
    });
    this.legs = new LegExecution({ ...shared, shard: this.shard, orders: this.orders, books: deps.books, grid: (id) => this.grid(id) });
    this.lock = new ShardLock(deps.pool, this.shard, (error) => this.onLockLost(error), deps.log);
  }

  get shard(): string {
    return this.config.shard;
  }

  /** Applies a new shard config (pause switch, limits, markets) without a restart. */
  updateConfig(config: ShardConfig, settings?: ExecutorSettings): void {
    if (config.shard !== this.config.shard) throw new Error(`shard config is for ${config.shard}, not ${this.config.shard}`);
    this.config = config;
    if (settings) this.settings = settings;
    this.portfolio.setMarkets(config.markets);
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Takes the shard lock, loads state, reconciles, then starts consuming signals. */
  async start(): Promise<void> {
    this.running = true;
    await this.lock.acquire(() => this.running);
    if (!this.running) return;
    await this.portfolio.load(this.ledger);
    this.redis = new Redis(this.deps.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.reader = this.redis.duplicate();
    for (const connection of [this.redis, this.reader]) {
      connection.on('error', () => undefined);
      await connection.connect().catch(() => undefined);
    }
    this.intake = new SignalIntake(this.redis, this.reader, this.shard, this.settings.intake);
    await this.recover();
    this.loop = this.run();
  }

  private onLockLost(error: Error): void {
    if (this.lockLost || this.killed || !this.running) return;
    this.lockLost = true;
    this.ready = false;
    this.log?.error({ err: error }, 'lost the shard lock (PostgreSQL connection gone): stopping');
    this.running = false;
  }

  /** True once stopped because the shard lock was lost (the process should exit and restart). */
  get lostLock(): boolean {
    return this.lockLost;
  }

  /** Resolves every non-final order and every signal in flight; then handles own pending entries. */
  private async recover(): Promise<void> {
    const open = await this.ledger.openOrders();
    for (const order of open) await this.orders.reconcile(order);
    if (open.length > 0) this.log?.info({ orders: open.length }, 'reconciled non-final orders with the venues');
    for (const { signal } of await this.ledger.processingSignals()) {
      if (this.inFlight.has(signal.id)) continue;
      const carry = this.legs.carryOut(signal);
      this.inFlight.set(signal.id, carry);
      try {
        await carry;
      } finally {
        this.inFlight.delete(signal.id);
      }
    }
    if (this.intake) {
      await this.intake.recoverPending((entries) => this.handleEntries(entries));
      this.lastClaim = this.now();
    }
    this.needRecovery = false;
    this.ready = true;
  }

  /**
   * The intake loop. Entries are handed over as they are read, up to `concurrency` at once, so a
   * signal whose orders take long (a slow venue, a second leg, an unwind) never holds up the ones
   * read after it. A failed entry stays pending; the loop then waits until nothing of ours is under
   * way and recovers (reconciles, carries out what is in flight) before it reads again.
   */
  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.handlingFailure) throw this.handlingFailure;
        if (this.needRecovery) await this.recover();
        while (this.handling.size >= this.settings.concurrency) await Promise.race(this.handling.values());
        if (!this.running || this.handlingFailure) continue;
        const intake = this.intake!;
        let entries: StreamEntry[];
        if (this.now() - this.lastClaim >= this.settings.claimIdleMs / 2) {
          this.lastClaim = this.now();
          entries = await intake.claim(this.settings.claimIdleMs);
          if (entries.length === 0) entries = await intake.next(this.settings.concurrency - this.handling.size);
        } else entries = await intake.next(this.settings.concurrency - this.handling.size);
        if (!this.running) break;
        for (const entry of entries) this.dispatch(entry);
      } catch (error) {
        if (!this.running) break;
        this.ready = false;
        this.needRecovery = true;
        this.log?.warn({ err: error }, 'executor loop failed; pausing, then reconciling before taking new signals');
        // Recovery needs nothing of ours under way; it covers every failure until then.
        await Promise.allSettled(this.handling.values());
        this.handlingFailure = undefined;
        await sleep(500);
      }
    }
  }

  /** Starts handling one entry; its failure is kept for the loop, which then recovers. */
  private dispatch(entry: StreamEntry): void {
    // Our own entry, claimed back because its handling has outlasted the idle time: under way already.
    if (this.handling.has(entry.id)) return;
    const task = this.handleEntry(entry)
      .catch((error: unknown) => {
        this.handlingFailure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.handling.delete(entry.id));
    this.handling.set(entry.id, task);
  }

  /** Handles entries with bounded concurrency; throws if any failed (they stay pending). */
  private async handleEntries(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let failure: Error | undefined;
    let next = 0;
    const worker = async () => {
      while (next < entries.length && this.running) {
        const entry = entries[next++]!;
        try {
          await this.handleEntry(entry);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, entries.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  private async handleEntry(entry: StreamEntry): Promise<void> {
    const received = performance.now();
    if (entry.fields === null) {
      await this.intake!.ack(entry.id);
      return;
    }
    const decoded = authenticEntry(entry.fields, this.deps.signalKey, this.shard);
    if (!decoded.ok) {
      this.refuseEntry(entry.id, decoded.reason, decoded.detail);
      await this.intake!.ack(entry.id);
      return;
    }
    const parsed = signalSchema.safeParse(decoded.value);
    if (!parsed.success) {
      // Signed, so the detector wrote it: a bug there, recorded.
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await this.ledger.riskEvent(undefined, 'invalid-signal', `stream entry ${entry.id}: ${issues}`.slice(0, 1000));
      this.metrics.riskRejections.inc({ rule: 'invalid-signal' });
      this.metrics.signals.inc({ outcome: 'invalid' });
      await this.intake!.ack(entry.id);
      return;
    }
    const signal = parsed.data;
    const outcome = await this.handleSignal(signal, received);
    // A replay (another stream entry) of a signal this process is handling: acknowledge it once
    // that handling is over. Left pending instead, replays waited for the idle-claim sweep, a
    // batch every 15 s. If the handling failed, its own entry stays pending and is retried.
    if (outcome === 'in-flight') {
      await this.inFlight.get(signal.id)?.catch(() => undefined);
      await this.noteDuplicate(signal, 'in flight');
    }
    await this.intake!.ack(entry.id);
  }

  /** An entry that is not an authentic signal: counted, logged at most once per reason every 10 s, never stored. */
  private refuseEntry(id: string, reason: RefusalReason, detail: string): void {
    this.metrics.signalsRefused.inc({ reason });
    const now = this.now();
    const last = this.refusalLog.get(reason);
    if (last && now - last.at < 10_000) {
      last.unlogged++;
      return;
    }
    this.refusalLog.set(reason, { at: now, unlogged: 0 });
    this.log?.warn(
      { entry: id, reason, detail, refusedUnlogged: last?.unlogged ?? 0 },
      'refused a stream entry that is not a signal signed by the detector: not traded',
    );
  }

  /** Graceful stop: no new signals; waits for signals in flight; releases the shard lock. */
  async stop(): Promise<void> {
    this.running = false;
    this.ready = false;
    // The blocking read is abandoned (its entries stay pending and are read again on the next start);
    // a read queued while ioredis was reconnecting may never settle, hence the bounded wait.
    // Unref'd bounds: a bound that is not needed must not keep the process alive after stop.
    await Promise.race([this.loop?.catch(() => undefined), sleep(1_500, false)]);
    await Promise.race([Promise.allSettled([...this.active, ...this.handling.values()]), sleep(30_000, false)]);
    this.redis?.disconnect();
    this.reader?.disconnect();
    this.lock.release();
  }

  /** Simulated crash (tests): drops everything at once, waits for nothing. */
  kill(): void {
    this.killed = true;
    this.running = false;
    this.ready = false;
    this.redis?.disconnect();
    this.reader?.disconnect();
    this.lock.release(true);
  }

  // ------------------------------------------------------------------------------------------
  // The decision

  /**
   * Decides a signal and, if accepted, carries it out. Resolves once its outcome is durable (the
   * caller may then acknowledge it). Throws when the ledger cannot be written (nothing was sent).
   */
  async handleSignal(signal: Signal, receivedAt = performance.now()): Promise<SignalOutcome> {
    if (this.inFlight.has(signal.id)) return 'in-flight';
    const task = this.decideAndExecute(signal, receivedAt);
    this.inFlight.set(signal.id, task);
    this.active.add(task);
    try {
      return await task;
    } finally {
      this.active.delete(task);
      this.inFlight.delete(signal.id);
    }
  }

  private async decideAndExecute(signal: Signal, receivedAt: number): Promise<SignalOutcome> {
    const market = this.portfolio.market(signal.marketId);
    if (!market) return this.reject(signal, 'unknown-market', `market ${signal.marketId} is not in shard ${this.shard}`);
    const missing = signal.legs.find((leg) => !this.deps.venues[leg.venue]);
    if (missing) return this.reject(signal, 'venue-unavailable', `no ${this.config.executor.mode} client for ${missing.venue}`);
    if (signal.legs.some((leg) => leg.side !== 'buy'))
      return this.reject(signal, 'invalid-signal', 'signals may only buy (sells are the executor’s own unwinds)');
    const implausible = vetSignal(signal, this.deps.books, this.now(), {
      maxClockSkewMs: this.settings.maxClockSkewMs,
      maxBookAgeMs: this.settings.risk.maxQuoteAgeMs,
    });
    if (implausible) return this.reject(signal, implausible.rule, implausible.reason);

    const control = this.lockLost || !this.running ? undefined : await this.deps.control.current();
    // spec.paused reaches us in the shard config (re-read when the mounted file changes) and through
    // the control key, which the operator holds open with reason "paused by spec.paused". Either is
    // enough: a control key forged "closed" cannot un-pause a shard whose config says paused.
    const paused = this.config.paused === true || (control?.state === 'open' && control.reason.startsWith('paused'));
    if (paused) return this.reject(signal, 'paused', control?.reason.startsWith('paused') ? control.reason : 'shard paused by spec.paused');
    // The legs as the venues take them (Polymarket limits on the tick in our favour, Kalshi sizes in
    // whole contracts where fractions are not taken), priced with the venues' own fees: risk costs
    // exactly the orders that will be sent. Unknown terms refuse the signal.
    const grid = this.grid(signal.marketId);
    const aligned = alignLegs(signal.legs, grid);
    if (!aligned.ok) return this.reject(signal, aligned.rule, `${aligned.reason} (market ${signal.marketId})`);
    const unpriced = aligned.legs.find((leg) => !this.fees.model(signal.marketId, leg.venue));
    if (unpriced) return this.reject(signal, 'market-terms-unknown', `fees unknown: ${this.fees.reason(signal.marketId, unpriced.venue)}`);
    const fee = (leg: Leg) => this.fees.model(signal.marketId, leg.venue)!.fee(leg.limitPrice, leg.size);
    this.portfolio.rollDay();
    // Everything from here to the reservation is synchronous: concurrent decisions see each other.
    const lastFillAt = this.portfolio.lastFillAt(signal.marketId);
    const openBreaker = this.localBreakers.open(this.now());
    const decision = evaluateRisk(
      {
        now: this.now(),
        control,
        paused,
        signal: { ...signal, legs: aligned.legs },
        market: { game: market.game, sport: market.sport },
        holdings: this.portfolio.holdings(),
        realizedPnlToday: this.portfolio.realizedToday,
        unrealizedPnl: this.portfolio.unrealized(),
        realizedPnlTotal: this.portfolio.realizedTotal,
        ...(lastFillAt !== undefined ? { lastFillAt } : {}),
        alreadySeen: false,
        ...(openBreaker ? { localBreaker: openBreaker } : {}),
        fee,
      },
      this.settings.risk,
    );
    if (!decision.accept) return this.reject(signal, decision.rule, decision.reason);
    // Risk may have sized the set down to any hundredth: back on the venues' grid (whole Kalshi
    // contracts where fractions are not taken), which only ever makes it smaller.
    const sized = alignLegs(decision.legs, grid);
    if (!sized.ok) return this.reject(signal, sized.rule, `${sized.reason} (market ${signal.marketId}, sized by risk)`);
    if (sized.legs[0]!.size < this.settings.risk.minLegSize)
      return this.reject(signal, 'max-order', `sized to ${sized.legs[0]!.size}, below the minimum leg ${this.settings.risk.minLegSize}`);

    const plan = planLegs(sized.legs, this.settings.firstVenue);
    this.portfolio.reserve(signal.id, signal.marketId, market, sized.legs, fee);
    try {
      const firstLeg = plan[0]!;
      const first = this.legs.orderRequest(signal, firstLeg, firstLeg.leg, firstLeg.size, firstLeg.limitPrice, firstLeg.side);
      const stored = await this.ledger.insertAccepted(signal, plan, first);
      if (!stored.inserted) {
        this.portfolio.releaseSignal(signal.id);
        return this.duplicate(signal, stored.status);
      }
      this.metrics.signals.inc({ outcome: 'accepted' });
      this.metrics.signalToOrder.observe((performance.now() - receivedAt) / 1000);
      await this.legs.carryOut(signal, {
        plan,
        first: { ...first, signalId: signal.id, leg: 'a', status: 'intent', filledSize: 0, fees: 0 },
      });
      return 'accepted';
    } finally {
      this.portfolio.releaseSignal(signal.id);
      this.portfolio.updateGauges();
    }
  }

  /** What the venues said of the market's grid, or the assumed one without venues to ask (tests). */
  private grid(marketId: string): VenueGrid {
    const terms = this.deps.terms;
    return terms ? { polymarketTick: terms.tick(marketId), kalshiFractional: terms.fractional(marketId) } : ASSUMED_GRID;
  }

  private async reject(signal: Signal, rule: RiskRule | VettingRule, reason: string): Promise<SignalOutcome> {
    const stored = await this.ledger.insertRejected(signal, rule, reason);
    if (!stored.inserted) return this.duplicate(signal, stored.status);
    this.metrics.riskRejections.inc({ rule });
    this.metrics.signals.inc({ outcome: 'rejected' });
    this.log?.debug({ signal: signal.id, rule, reason }, 'signal refused');
    return 'rejected';
  }

  private async duplicate(signal: Signal, status: 'processing' | 'done' | 'rejected'): Promise<SignalOutcome> {
    if (status === 'processing') {
      // Left in flight by a run that died (ours is tracked in inFlight): finish it now.
      await this.legs.carryOut(signal);
    }
    await this.noteDuplicate(signal, status === 'processing' ? 'in flight' : status);
    return 'duplicate';
  }

  private async noteDuplicate(signal: Signal, state: string): Promise<void> {
    await this.ledger.riskEvent(signal.id, 'duplicate-signal', `signal ${signal.id} already ${state}`);
    this.metrics.riskRejections.inc({ rule: 'duplicate-signal' });
    this.metrics.signals.inc({ outcome: 'duplicate' });
  }

  // ------------------------------------------------------------------------------------------
  // Views

  /** A settlement the poller wrote to the ledger: positions closed, their PnL realized. */
  applySettlement(effects: SettlementEffects): void {
    this.portfolio.apply(effects);
  }

  /** A snapshot for tests, the CLI and readiness. */
  state(): PortfolioSnapshot & { ready: boolean } {
    return { ...this.portfolio.snapshot(), ready: this.ready };
  }
}
