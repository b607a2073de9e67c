// The executor: signals in (Redis consumer group), orders out (paper or live venues), every
// decision and every order in the PostgreSQL ledger first.
//
// Exactly once, end to end:
// - One executor trades a shard at a time: it holds a PostgreSQL advisory lock for the shard on a
//   connection of its own, and stops trading the moment that connection is lost.
// - A signal is decided (control state, pause, pure risk) and the decision written in one
//   statement: a refusal with its risk event, or an acceptance with its plan and the intent of its
//   first order. The signal id is the primary key, so a replayed signal is refused as a duplicate.
// - Every order's intent row is committed before the order is sent, under a client order id
//   derived from the shard, signal id and leg; the venue refuses a second order under that id.
// - On start, and after any failure, every non-final order is reconciled with its venue by client
//   order id (found: record what the venue says, cancelling anything left resting; not found after
//   a grace period: it never left, mark it cancelled) and every signal still in flight is carried
//   to its end (the second leg, then the unwind of a one-legged fill) before new signals are taken.
//   An intent found at start is never sent again; a first leg is only ever sent by the run that
//   decided it.
// - A stream entry is acknowledged only when its signal's outcome is in the ledger.
//
// Arbitrage legs go one after the other: the first leg (the less reliable venue, Polymarket by
// default) as an IOC limit, the second for what the first filled. A shortfall of the second leg is
// unwound in bounded steps (hedge: buy the missing leg up to N ticks worse; close: sell the filled
// excess down to N ticks worse; a failed hedge falls back to closing), counted and measured.
// Orders that only reduce risk (second legs, unwinds) pass even when the breaker is open.
import { hostname } from 'node:os';
import type pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PRICE_ONE } from '../../contracts/decimal.js';
import { signalSchema, type ControlState, type Leg, type Signal, type Venue } from '../../contracts/messages.js';
import type { ShardConfig, ShardMarket } from '../../contracts/shard-config.js';
import { venueModel, FeeTable } from '../../venues/fee-table.js';
import { BookCache, entryJson } from './books.js';
import { exposure, type Holding } from './exposure.js';
import { clientOrderId } from './ids.js';
import { SignalIntake, type IntakeSettings, type StreamEntry } from './intake.js';
import { Ledger, finalStatuses, type FillEffects, type OrderRow, type PlannedLeg, type PositionRow, type SettlementEffects } from './ledger.js';
import type { ExecutorMetrics } from './metrics.js';
import { LocalBreakers, type LocalBreakerRule, type LocalBreakerSettings } from './local-breakers.js';
import { tradingDay, unrealizedPnl } from './pnl.js';
import { evaluateRisk, type RiskRule, type RiskSettings } from './risk.js';
import { VenueAmbiguous, VenueRejected, type OrderRequest, type VenueClient, type VenueOrderReport } from '../../venues/orders.js';

export interface UnwindSettings {
  policy: 'hedge' | 'close';
  /** Price steps tried before giving up (each a new IOC order). */
  steps: number;
  /** Ticks (ten-thousandths of $1) each step moves against us. */
  stepTicks: number;
}

export interface ExecutorSettings {
  risk: RiskSettings;
  /** Which venue's leg of a cross-venue set goes first. */
  firstVenue: Venue;
  unwind: UnwindSettings;
  /** The daily loss limit resets at this zone's midnight. */
  timeZone: string;
  /** The executor's own breakers: venue round trip too slow, or too many venue failures in a row. */
  localBreakers: LocalBreakerSettings;
  /** How long an order we cannot find may still appear at the venue (ambiguous send, start-up). */
  ambiguousGraceMs: number;
  intake: IntakeSettings;
  /** Pending entries idle this long with another consumer are claimed. */
  claimIdleMs: number;
  /** Signals handled at once (their decisions are serialized; venue round trips overlap). */
  concurrency: number;
}

export type RiskTuning = Partial<Pick<RiskSettings, 'marketCooldownMs' | 'maxQuoteAgeMs' | 'minLegSize'>>;

/** Settings from the shard config's limits (USD → ten-thousandths) plus defaults and overrides. */
export function defaultExecutorSettings(config: ShardConfig, overrides: Partial<ExecutorSettings> = {}, tuning: RiskTuning = {}): ExecutorSettings {
  const usd = (dollars: number) => dollars * 10_000;
  const limits = config.executor.limits;
  return {
    risk: {
      limits: {
        maxOrder: usd(limits.maxOrderUsd),
        perGame: usd(limits.perGameUsd),
        perSport: usd(limits.perSportUsd),
        dailyLoss: usd(limits.dailyLossUsd),
        maxOpenPositions: limits.maxOpenPositions,
        bankroll: usd(config.executor.bankrollUsd),
      },
      maxQuoteAgeMs: Math.max(config.detector.maxQuoteAgeMs, 1) * 2,
      marketCooldownMs: 1_000,
      minLegSize: 100,
      ...tuning,
    },
    firstVenue: 'polymarket',
    unwind: { policy: 'close', steps: 3, stepTicks: 100 },
    timeZone: 'America/New_York',
    localBreakers: { latency: { maxOrderRttMs: 2_000, cooldownMs: 60_000 }, venueErrors: { maxConsecutive: 5, cooldownMs: 60_000 } },
    ambiguousGraceMs: 5_000,
    intake: { group: 'executor', consumer: `${hostname()}-${process.pid}`, batch: 32, blockMs: 1_000 },
    claimIdleMs: 30_000,
    concurrency: 8,
    ...overrides,
  };
}

/** Test seams: run around each send (a hook that never resolves freezes the order path there). */
export interface ExecutorHooks {
  beforeSend?(order: OrderRow): void | Promise<void>;
  afterSend?(order: OrderRow, report: VenueOrderReport): void | Promise<void>;
}

export interface ControlSource {
  current(): Promise<ControlState | undefined>;
}

export interface ExecutorDeps {
  config: ShardConfig;
  settings: ExecutorSettings;
  pool: pg.Pool;
  /** Redis for the signals stream (a connection of its own: XREADGROUP blocks it). */
  redisUrl: string;
  control: ControlSource;
  venues: Partial<Record<Venue, VenueClient>>;
  books: BookCache;
  metrics: ExecutorMetrics;
  fees?: FeeTable;
  log?: Logger;
  hooks?: ExecutorHooks;
  now?: () => number;
}

export type SignalOutcome = 'accepted' | 'rejected' | 'duplicate' | 'in-flight' | 'invalid';

class Crash extends Error {}

interface StepResult {
  filled: number;
  order?: OrderRow;
  report?: VenueOrderReport;
}

const sleep = (ms: number, keepAlive = true) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) timer.unref();
  });
const posKey = (marketId: string, venue: Venue, outcome: string) => `${marketId}\u0000${venue}\u0000${outcome}`;
const toUsd = (v: number) => v / 10_000;

/** Advisory-lock key of a shard (two int4s: a namespace and the shard's hash). */
const SHARD_LOCK_NAMESPACE = 0x41524245; // "ARBE"

export class Executor {
  readonly ledger: Ledger;
  private readonly markets = new Map<string, ShardMarket>();
  private readonly fees: FeeTable;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private config: ShardConfig;

  // Authoritative in-memory state of the single writer, loaded from the ledger at start.
  private readonly positions = new Map<string, PositionRow>();
  private readonly reservations = new Map<string, Holding[]>();
  private readonly lastFill = new Map<string, number>();
  /** Signals being handled in this process, by id, with their handling. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private realizedToday = 0;
  private realizedTotal = 0;
  private day = '';
  private readonly localBreakers: LocalBreakers;

  private lockClient: pg.PoolClient | undefined;
  private lockLost = false;
  private redis: Redis | undefined;
  private intake: SignalIntake | undefined;
  private running = false;
  private killed = false;
  private loop: Promise<void> | undefined;
  private needRecovery = true;
  private lastClaim = 0;
  private readonly active = new Set<Promise<unknown>>();
  private readonly seenInRecovery = new Set<string>();
  ready = false;

  constructor(private readonly deps: ExecutorDeps) {
    this.config = deps.config;
    this.ledger = new Ledger(deps.pool, deps.config.shard);
    this.fees = deps.fees ?? new FeeTable();
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    for (const m of deps.config.markets) this.markets.set(m.id, m);
    this.localBreakers = new LocalBreakers(deps.settings.localBreakers);
    deps.metrics.onCollectLocalBreakers(() => this.localBreakers.states(this.now()));
  }

  private localBreakerContext(): { localBreaker?: { rule: LocalBreakerRule; until: number } } {
    const open = this.localBreakers.open(this.now());
    return open ? { localBreaker: open } : {};
  }

  get shard(): string {
    return this.config.shard;
  }

  /** Applies a new shard config (pause switch, limits, markets) without a restart. */
  updateConfig(config: ShardConfig, settings?: ExecutorSettings): void {
    if (config.shard !== this.config.shard) throw new Error(`shard config is for ${config.shard}, not ${this.config.shard}`);
    this.config = config;
    if (settings) this.deps.settings = settings;
    this.markets.clear();
    for (const m of config.markets) this.markets.set(m.id, m);
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** Takes the shard lock, loads state, reconciles, then starts consuming signals. */
  async start(): Promise<void> {
    this.running = true;
    await this.acquireShardLock();
    if (!this.running) return;
    await this.loadState();
    this.redis = new Redis(this.deps.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.redis.on('error', () => undefined);
    await this.redis.connect().catch(() => undefined);
    this.intake = new SignalIntake(this.redis, this.shard, this.deps.settings.intake);
    await this.recover();
    this.loop = this.run();
  }

  private async acquireShardLock(): Promise<void> {
    while (this.running) {
      try {
        const client = await this.deps.pool.connect();
        const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [SHARD_LOCK_NAMESPACE, this.shard]);
        if (got.rows[0]?.ok) {
          this.lockClient = client;
          client.on('error', (error: Error) => this.onLockLost(error));
          // pg emits 'end' on the underlying connection when the server goes away.
          (client as unknown as { connection: { on(e: string, f: () => void): void } }).connection.on('end', () => this.onLockLost(new Error('connection ended')));
          this.log?.info({ shard: this.shard }, 'holding the shard lock: this executor trades the shard');
          return;
        }
        client.release();
        this.log?.info({ shard: this.shard }, 'another executor holds the shard lock; waiting');
      } catch (error) {
        this.log?.warn({ err: error }, 'cannot reach PostgreSQL for the shard lock; retrying');
      }
      await sleep(1_000);
    }
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

  private async loadState(): Promise<void> {
    this.positions.clear();
    this.lastFill.clear();
    for (const p of await this.ledger.positions()) {
      this.positions.set(posKey(p.marketId, p.venue, p.outcome), p);
      if (p.lastFillAt !== undefined) this.lastFill.set(p.marketId, Math.max(this.lastFill.get(p.marketId) ?? 0, p.lastFillAt));
    }
    this.day = tradingDay(this.now(), this.deps.settings.timeZone);
    const realized = await this.ledger.realized(this.day);
    this.realizedToday = realized.today;
    this.realizedTotal = realized.total;
    this.updateGauges();
  }

  /** Resolves every non-final order and every signal in flight; then handles own pending entries. */
  private async recover(): Promise<void> {
    const open = await this.ledger.openOrders();
    for (const order of open) await this.reconcile(order);
    if (open.length > 0) this.log?.info({ orders: open.length }, 'reconciled non-final orders with the venues');
    for (const { signal } of await this.ledger.processingSignals()) {
      if (this.inFlight.has(signal.id)) continue;
      const carry = this.carryOut(signal);
      this.inFlight.set(signal.id, carry);
      try {
        await carry;
      } finally {
        this.inFlight.delete(signal.id);
      }
    }
    if (this.intake) {
      await this.intake.ensureGroup();
      // Entries this consumer took before a failure, then (we hold the shard lock, so no other
      // executor is alive for this shard) every entry pending with any consumer.
      for (let round = 0; round < 1_000; round++) {
        const own = await this.intake.ownPending();
        const fresh = own.filter((e) => !this.seenInRecovery.has(e.id));
        if (fresh.length === 0) break;
        for (const e of fresh) this.seenInRecovery.add(e.id);
        await this.handleEntries(fresh);
      }
      for (let round = 0; round < 1_000; round++) {
        const claimed = await this.intake.claim(0);
        if (claimed.length === 0) break;
        await this.handleEntries(claimed);
        if (claimed.every((e) => this.seenInRecovery.has(e.id))) break;
        for (const e of claimed) this.seenInRecovery.add(e.id);
      }
      this.seenInRecovery.clear();
      this.lastClaim = this.now();
    }
    this.needRecovery = false;
    this.ready = true;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.needRecovery) await this.recover();
        const intake = this.intake!;
        let entries: StreamEntry[];
        if (this.now() - this.lastClaim >= this.deps.settings.claimIdleMs / 2) {
          this.lastClaim = this.now();
          entries = await intake.claim(this.deps.settings.claimIdleMs);
          if (entries.length === 0) entries = await intake.next();
        } else entries = await intake.next();
        if (!this.running) break;
        await this.handleEntries(entries);
      } catch (error) {
        if (!this.running) break;
        this.ready = false;
        this.needRecovery = true;
        this.log?.warn({ err: error }, 'executor loop failed; pausing, then reconciling before taking new signals');
        await sleep(500);
      }
    }
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
    await Promise.all(Array.from({ length: Math.min(this.deps.settings.concurrency, entries.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  private async handleEntry(entry: StreamEntry): Promise<void> {
    const received = performance.now();
    if (entry.fields === null) {
      await this.intake!.ack(entry.id);
      return;
    }
    let signal: Signal;
    try {
      const parsed = signalSchema.safeParse(entryJson(entry.fields));
      if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      signal = parsed.data;
    } catch (error) {
      await this.ledger.riskEvent(undefined, 'invalid-signal', `stream entry ${entry.id}: ${(error as Error).message}`.slice(0, 1000));
      this.deps.metrics.riskRejections.inc({ rule: 'invalid-signal' });
      this.deps.metrics.signals.inc({ outcome: 'invalid' });
      await this.intake!.ack(entry.id);
      return;
    }
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

  /** Graceful stop: no new signals; waits for signals in flight; releases the shard lock. */
  async stop(): Promise<void> {
    this.running = false;
    this.ready = false;
    // The blocking read is abandoned (its entries stay pending and are read again on the next start);
    // a read queued while ioredis was reconnecting may never settle, hence the bounded wait.
    // Unref'd bounds: a bound that is not needed must not keep the process alive after stop.
    await Promise.race([this.loop?.catch(() => undefined), sleep(1_500, false)]);
    await Promise.race([Promise.allSettled([...this.active]), sleep(30_000, false)]);
    this.redis?.disconnect();
    this.releaseLock();
  }

  /** Simulated crash (tests): drops everything at once, waits for nothing. */
  kill(): void {
    this.killed = true;
    this.running = false;
    this.ready = false;
    this.redis?.disconnect();
    this.releaseLock(true);
  }

  private releaseLock(destroy = false): void {
    const client = this.lockClient;
    this.lockClient = undefined;
    if (!client) return;
    // Ending the session releases the advisory lock, whatever else happens.
    client.release(destroy ? new Error('executor killed') : true);
  }

  // ------------------------------------------------------------------------------------------
  // Signals

  private market(signal: Signal): ShardMarket | undefined {
    return this.markets.get(signal.marketId);
  }

  private holdings(): Holding[] {
    const out: Holding[] = [];
    for (const p of this.positions.values()) {
      if (p.size <= 0) continue;
      const m = this.markets.get(p.marketId);
      out.push({ marketId: p.marketId, game: m?.game ?? p.marketId, sport: m?.sport ?? 'unknown', venue: p.venue, outcome: p.outcome, size: p.size, cost: p.cost });
    }
    for (const list of this.reservations.values()) out.push(...list);
    return out;
  }

  private legFee = (marketId: string) => (leg: Leg) => venueModel(this.fees.forMarket(marketId), leg.venue).fee(leg.limitPrice, leg.size);

  private rollDay(): void {
    const day = tradingDay(this.now(), this.deps.settings.timeZone);
    if (day !== this.day) {
      this.day = day;
      this.realizedToday = 0;
    }
  }

  private unrealized(): number {
    const books = this.deps.books;
    return unrealizedPnl([...this.positions.values()], (venue, marketId, outcome) => books.mid(venue, marketId, outcome));
  }

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

  private async reject(signal: Signal, rule: RiskRule, reason: string): Promise<SignalOutcome> {
    const stored = await this.ledger.insertRejected(signal, rule, reason);
    if (!stored.inserted) return this.duplicate(signal, stored.status);
    this.deps.metrics.riskRejections.inc({ rule });
    this.deps.metrics.signals.inc({ outcome: 'rejected' });
    this.log?.debug({ signal: signal.id, rule, reason }, 'signal refused');
    return 'rejected';
  }

  private async duplicate(signal: Signal, status: 'processing' | 'done' | 'rejected'): Promise<SignalOutcome> {
    if (status === 'processing') {
      // Left in flight by a run that died (ours is tracked in inFlight): finish it now.
      await this.carryOut(signal);
    }
    await this.noteDuplicate(signal, status === 'processing' ? 'in flight' : status);
    return 'duplicate';
  }

  private async noteDuplicate(signal: Signal, state: string): Promise<void> {
    await this.ledger.riskEvent(signal.id, 'duplicate-signal', `signal ${signal.id} already ${state}`);
    this.deps.metrics.riskRejections.inc({ rule: 'duplicate-signal' });
    this.deps.metrics.signals.inc({ outcome: 'duplicate' });
  }

  private async decideAndExecute(signal: Signal, receivedAt: number): Promise<SignalOutcome> {
    const market = this.market(signal);
    if (!market) return this.reject(signal, 'unknown-market', `market ${signal.marketId} is not in shard ${this.shard}`);
    const missing = signal.legs.find((leg) => !this.deps.venues[leg.venue]);
    if (missing) return this.reject(signal, 'venue-unavailable', `no ${this.config.executor.mode} client for ${missing.venue}`);
    if (signal.legs.some((leg) => leg.side !== 'buy')) return this.reject(signal, 'invalid-signal', 'signals may only buy (sells are the executor’s own unwinds)');

    const control = this.lockLost || !this.running ? undefined : await this.deps.control.current();
    // spec.paused reaches us in the shard config (when rendered there) and through the control key,
    // which the operator holds open with reason "paused by spec.paused".
    const paused = (this.config as { paused?: unknown }).paused === true || (control?.state === 'open' && control.reason.startsWith('paused'));
    if (paused) return this.reject(signal, 'paused', control?.reason.startsWith('paused') ? control.reason : 'shard paused by spec.paused');
    this.rollDay();
    // Everything from here to the reservation is synchronous: concurrent decisions see each other.
    const decision = evaluateRisk(
      {
        now: this.now(),
        control,
        paused,
        signal,
        market: { game: market.game, sport: market.sport },
        holdings: this.holdings(),
        realizedPnlToday: this.realizedToday,
        unrealizedPnl: this.unrealized(),
        realizedPnlTotal: this.realizedTotal,
        ...(this.lastFill.has(signal.marketId) ? { lastFillAt: this.lastFill.get(signal.marketId)! } : {}),
        alreadySeen: false,
        ...this.localBreakerContext(),
        fee: this.legFee(signal.marketId),
      },
      this.deps.settings.risk,
    );
    if (!decision.accept) return this.reject(signal, decision.rule, decision.reason);

    const ordered = [...decision.legs].sort((a, b) => (a.venue === b.venue ? 0 : a.venue === this.deps.settings.firstVenue ? -1 : 1));
    const plan: PlannedLeg[] = ordered.map((leg, i) => ({ leg: i === 0 ? 'a' : 'b', venue: leg.venue, outcome: leg.outcome, side: leg.side, limitPrice: leg.limitPrice, size: leg.size }));
    const fee = this.legFee(signal.marketId);
    this.reservations.set(
      signal.id,
      decision.legs.map((leg) => ({
        marketId: signal.marketId,
        game: market.game,
        sport: market.sport,
        venue: leg.venue,
        outcome: leg.outcome,
        size: leg.size,
        cost: Math.ceil((leg.limitPrice * leg.size) / 100) + fee(leg),
      })),
    );
    try {
      const first = this.request(signal, plan[0]!, plan[0]!.leg, plan[0]!.size, plan[0]!.limitPrice, plan[0]!.side);
      const stored = await this.ledger.insertAccepted(signal, plan, first);
      if (!stored.inserted) {
        this.reservations.delete(signal.id);
        return this.duplicate(signal, stored.status);
      }
      this.deps.metrics.signals.inc({ outcome: 'accepted' });
      this.deps.metrics.signalToOrder.observe((performance.now() - receivedAt) / 1000);
      await this.carryOut(signal, { plan, first: { ...first, signalId: signal.id, leg: 'a', status: 'intent', filledSize: 0, fees: 0 } });
      return 'accepted';
    } finally {
      this.reservations.delete(signal.id);
      this.updateGauges();
    }
  }

  private request(signal: Signal, planned: Pick<PlannedLeg, 'venue' | 'outcome'>, leg: string, size: number, limitPrice: number, side: 'buy' | 'sell'): OrderRequest & { leg: string } {
    const market = this.market(signal);
    const venueMarket =
      planned.venue === 'kalshi'
        ? (market?.kalshi.ticker ?? signal.marketId)
        : planned.outcome === 'yes'
          ? (market?.polymarket.yesTokenId ?? signal.marketId)
          : (market?.polymarket.noTokenId ?? signal.marketId);
    return {
      clientOrderId: clientOrderId(this.shard, signal.id, leg),
      leg,
      venue: planned.venue,
      marketId: signal.marketId,
      venueMarket,
      outcome: planned.outcome,
      side,
      limitPrice: Math.max(0, Math.min(PRICE_ONE, limitPrice)),
      size,
      createdTs: this.now(),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Carrying out a plan (fresh, or resumed after a crash)

  /**
   * Runs (or resumes) an accepted signal to its end: first leg, second leg for what the first
   * filled, unwind of any shortfall; then marks the signal done. `fresh` carries the plan and the
   * first leg's intent written by this run: the only case in which a first leg is sent. Resumed
   * (after a crash), every order already in the ledger is reconciled, never resent.
   */
  private async carryOut(signal: Signal, fresh?: { plan: PlannedLeg[]; first: OrderRow }): Promise<void> {
    let plan: PlannedLeg[];
    let existing: Map<string, OrderRow>;
    if (fresh) {
      plan = fresh.plan;
      existing = new Map();
    } else {
      const stored = await this.ledger.signalPlan(signal.id);
      if (!stored || stored.status !== 'processing') return;
      plan = stored.plan ?? [];
      existing = new Map((await this.ledger.ordersOf(signal.id)).map((o) => [o.leg, o]));
    }
    const step = async (leg: string, make: (() => OrderRequest & { leg: string }) | undefined): Promise<StepResult> => {
      const known = existing.get(leg);
      if (known) {
        if (finalStatuses.includes(known.status)) return { filled: known.filledSize, order: known };
        const report = await this.reconcile(known);
        return { filled: report?.filledSize ?? 0, order: known, ...(report ? { report } : {}) };
      }
      if (leg === 'a' && fresh) return this.send(fresh.first);
      if (!make) return { filled: 0 };
      const { row, created } = await this.ledger.createIntent({ ...make(), signalId: signal.id });
      if (!created) {
        const report = await this.reconcile(row);
        return { filled: report?.filledSize ?? 0, order: row, ...(report ? { report } : {}) };
      }
      return this.send(row);
    };

    const legA = plan[0];
    if (!legA) {
      await this.ledger.completeSignal(signal.id, 'no plan');
      return;
    }
    const a = await step('a', undefined);
    this.releaseReserved(signal.id, legA);
    const legB = plan[1];
    if (!legB || a.filled === 0) {
      await this.ledger.completeSignal(signal.id, a.filled === 0 ? 'first leg unfilled' : a.filled === legA.size ? 'filled' : 'partially filled');
      return;
    }
    const b = await step('b', () => this.request(signal, legB, 'b', a.filled, legB.limitPrice, 'buy'));
    this.releaseReserved(signal.id, legB);
    if (b.filled >= a.filled) {
      await this.ledger.completeSignal(signal.id, 'both legs filled');
      return;
    }
    const outcome = await this.unwind(signal, legA, legB, a, a.filled - b.filled, step);
    await this.ledger.completeSignal(signal.id, outcome);
  }

  private releaseReserved(signalId: string, leg: PlannedLeg): void {
    const list = this.reservations.get(signalId);
    if (!list) return;
    const i = list.findIndex((h) => h.venue === leg.venue && h.outcome === leg.outcome);
    if (i >= 0) list.splice(i, 1);
  }

  /**
   * Unwinds a one-legged excess in bounded steps; returns the signal's outcome text. The cost of
   * the unwind against the plan (hedge: paid over the planned price; close: sold under what the
   * first leg paid, plus fees) is counted in arbees_legging_loss_usd_total and pnl_daily.
   */
  private async unwind(signal: Signal, legA: PlannedLeg, legB: PlannedLeg, a: StepResult, excess: number, step: (leg: string, make: () => OrderRequest & { leg: string }) => Promise<StepResult>): Promise<string> {
    const { policy, steps, stepTicks } = this.deps.settings.unwind;
    let left = excess;
    let loss = 0;
    const fillsOf = (r: StepResult) => r.report?.fills ?? [];
    if (policy === 'hedge') {
      for (let k = 1; k <= steps && left > 0; k++) {
        const price = Math.min(PRICE_ONE - 100, legB.limitPrice + k * stepTicks);
        const size = left;
        const result = await step(`h${k}`, () => this.request(signal, legB, `h${k}`, size, price, 'buy'));
        left -= Math.min(left, result.filled);
        for (const f of fillsOf(result)) loss += Math.max(0, Math.ceil(((f.price - legB.limitPrice) * f.size) / 100)) + f.fee;
      }
      if (left === 0) {
        this.deps.metrics.leggingUnwinds.inc({ policy: 'hedge', result: 'hedged' });
        await this.recordLeggingLoss(loss);
        return `legged: hedged ${excess} by buying ${legB.venue} ${legB.outcome}`;
      }
      this.deps.metrics.leggingUnwinds.inc({ policy: 'hedge', result: 'fell_back_to_close' });
    }
    // Close: sell the excess of the first leg, from its best bid (or its own price) downwards.
    const aFills = fillsOf(a);
    const aSize = aFills.reduce((s, f) => s + f.size, 0);
    const paidA = aSize > 0 ? Math.round(aFills.reduce((s, f) => s + f.price * f.size, 0) / aSize) : legA.limitPrice;
    const reference = this.deps.books.get(legA.venue, signal.marketId, legA.outcome)?.bids[0]?.[0] ?? paidA;
    for (let k = 1; k <= steps && left > 0; k++) {
      const price = Math.max(100, reference - (k - 1) * stepTicks);
      const size = left;
      const result = await step(`c${k}`, () => this.request(signal, legA, `c${k}`, size, price, 'sell'));
      left -= Math.min(left, result.filled);
      for (const f of fillsOf(result)) loss += Math.max(0, Math.ceil(((paidA - f.price) * f.size) / 100)) + f.fee;
    }
    await this.recordLeggingLoss(loss);
    if (left === 0) {
      this.deps.metrics.leggingUnwinds.inc({ policy: 'close', result: 'closed' });
      return `legged: closed ${excess} of ${legA.venue} ${legA.outcome}`;
    }
    this.deps.metrics.leggingUnwinds.inc({ policy: 'close', result: 'unresolved' });
    await this.ledger.riskEvent(signal.id, 'legging-unresolved', `${left} of ${excess} one-legged on ${legA.venue} ${legA.outcome} after ${steps} steps; held as a position`);
    this.log?.error({ signal: signal.id, left, excess }, 'one-legged position left after every unwind step');
    return `legged: ${left} of ${excess} unresolved`;
  }

  private async recordLeggingLoss(loss: number): Promise<void> {
    if (loss <= 0) return;
    this.deps.metrics.leggingLoss.inc(toUsd(loss));
    await this.ledger.addUnwindLoss(this.day, loss);
  }

  // ------------------------------------------------------------------------------------------
  // Orders

  private venue(order: OrderRequest): VenueClient {
    const client = this.deps.venues[order.venue];
    if (!client) throw new Error(`no client for ${order.venue}`);
    return client;
  }

  /** Sends an intent written by this run, then records the outcome. */
  private async send(order: OrderRow): Promise<StepResult> {
    if (this.killed) throw new Crash('killed');
    await this.deps.hooks?.beforeSend?.(order);
    if (this.killed) throw new Crash('killed');
    const client = this.venue(order);
    if (this.deps.config.executor.mode === 'live') await this.ledger.markStatus(order.clientOrderId, 'sent');
    this.deps.metrics.orders.inc({ venue: order.venue, status: 'sent' });
    const began = performance.now();
    let report: VenueOrderReport | undefined;
    try {
      report = await client.place(order);
    } catch (error) {
      if (error instanceof VenueRejected) {
        this.localBreakers.venueAnswered();
        await this.ledger.markStatus(order.clientOrderId, 'rejected', error.message.slice(0, 500));
        this.deps.metrics.orders.inc({ venue: order.venue, status: 'rejected' });
        this.log?.warn({ order: order.clientOrderId, venue: order.venue, err: error.message }, 'order rejected by the venue');
        return { filled: 0, order };
      }
      if (!(error instanceof VenueAmbiguous)) throw error;
      this.log?.warn({ order: order.clientOrderId, venue: order.venue, err: error.message }, 'order outcome unknown; reconciling');
      await this.ledger.markStatus(order.clientOrderId, 'unknown', error.message.slice(0, 500));
    }
    const rtt = performance.now() - began;
    this.deps.metrics.orderLatency.observe({ venue: order.venue }, rtt / 1000);
    if (this.localBreakers.roundTrip(rtt, this.now())) {
      this.log?.warn({ venue: order.venue, rttMs: Math.round(rtt) }, 'venue round trip over the limit: latency breaker open');
    }
    if (report) this.localBreakers.venueAnswered();
    else if (this.localBreakers.venueError(this.now())) {
      this.log?.warn({ venue: order.venue, limit: this.deps.settings.localBreakers.venueErrors.maxConsecutive }, 'venue failures in a row: venue-error breaker open');
    }
    if (!report) {
      const resolved = await this.reconcile({ ...order, status: 'unknown' });
      return { filled: resolved?.filledSize ?? 0, order, ...(resolved ? { report: resolved } : {}) };
    }
    if (this.killed) throw new Crash('killed');
    await this.deps.hooks?.afterSend?.(order, report);
    if (this.killed) throw new Crash('killed');
    if (report.status === 'resting') {
      // IOC orders never rest; if one does, it must not outlive the decision.
      await client.cancel(order, report.venueOrderId);
      report = (await client.find(order)) ?? report;
    }
    await this.record(order, report);
    return { filled: report.filledSize, order, report };
  }

  private async record(order: OrderRow, report: VenueOrderReport): Promise<void> {
    const effects = await this.ledger.recordReport(order, report, this.day || tradingDay(this.now(), this.deps.settings.timeZone));
    this.apply(effects);
    if (report.status !== 'resting') this.deps.metrics.orders.inc({ venue: order.venue, status: report.filledSize > 0 && report.status === 'cancelled' ? 'partially_filled' : report.status });
  }

  /** A settlement the poller wrote to the ledger: positions closed, their PnL realized. */
  applySettlement(effects: SettlementEffects): void {
    this.apply({ ...effects, fees: 0, newFills: 0 });
  }

  private apply(effects: FillEffects): void {
    for (const p of effects.positions) {
      const key = posKey(p.marketId, p.venue, p.outcome);
      // Two orders' transactions may finish in one order and report in the other: keep the newest.
      if ((this.positions.get(key)?.version ?? 0) < p.version) this.positions.set(key, p);
      if (p.lastFillAt !== undefined) this.lastFill.set(p.marketId, Math.max(this.lastFill.get(p.marketId) ?? 0, p.lastFillAt));
    }
    this.realizedToday += effects.realized;
    this.realizedTotal += effects.realized;
    this.updateGauges();
  }

  /**
   * Brings a non-final order in line with its venue. Found: record it (cancel first if it rests).
   * Not found: wait out the grace period from its creation, then mark it never sent. Returns the
   * venue's report, or undefined when the order never reached the venue.
   */
  private async reconcile(order: OrderRow): Promise<VenueOrderReport | undefined> {
    const client = this.venue(order);
    const graceEnd = order.createdTs + this.deps.settings.ambiguousGraceMs;
    for (;;) {
      let report = await client.find(order);
      if (report) {
        if (report.status === 'resting') {
          await client.cancel(order, report.venueOrderId);
          report = (await client.find(order)) ?? report;
        }
        await this.record(order, report);
        this.deps.metrics.reconciled.inc({ result: 'found' });
        return report;
      }
      if (this.now() >= graceEnd) break;
      await sleep(Math.min(250, Math.max(10, graceEnd - this.now())));
    }
    await this.ledger.markStatus(order.clientOrderId, 'cancelled', 'not found at the venue: never sent');
    this.deps.metrics.orders.inc({ venue: order.venue, status: 'cancelled' });
    this.deps.metrics.reconciled.inc({ result: 'never_sent' });
    return undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Views

  private updateGauges(): void {
    const unrealized = this.unrealized();
    this.deps.metrics.pnl.set(toUsd(this.realizedTotal + unrealized));
    this.deps.metrics.dailyLoss.set(toUsd(Math.max(0, -(this.realizedToday + unrealized))));
    this.deps.metrics.exposure.set(toUsd(exposure(this.holdings()).total));
  }

  /** A snapshot for tests, the CLI and readiness. */
  state(): { positions: PositionRow[]; realizedToday: number; realizedTotal: number; exposure: number; ready: boolean } {
    return {
      positions: [...this.positions.values()],
      realizedToday: this.realizedToday,
      realizedTotal: this.realizedTotal,
      exposure: exposure(this.holdings()).total,
      ready: this.ready,
    };
  }
}
