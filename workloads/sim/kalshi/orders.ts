// Kalshi order entry and matching: CreateOrderV2's checks (body, market open, the cent grid, price
// range, whole contracts unless fractional trading is on, expiration only with good_till_canceled),
// 409 on a reused client_order_id, the balance, post-only (refused at create when it would cross,
// as recorded on demo) and fill-or-kill, self-trade prevention, cancel (404 once nothing rests);
// the batched forms of both. A taker's run against the book publishes the deltas, then the trades,
// then the ticker. When the game is over, resting orders are cancelled.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseDecimal } from '../../../contracts/decimal.js';
import { PRICE_ONE, type BookSide, type LevelChange, type RestingOrder, type StpMode } from '../book.js';
import type { SimClock } from '../clock.js';
import { dollars, fp } from '../format.js';
import { HttpError, parseJson } from '../http.js';
import type { KalshiFeed } from './feed.js';
import type { KalshiPortfolio, Match } from './portfolio.js';
import { SCENARIO_OWNER, type KalshiState, type KMarket, type KOrder } from './state.js';
import { createdJson, errorBody, notJsonBody } from './wire.js';

const orderBody = z.object({
  ticker: z.string().min(1),
  side: z.enum(['bid', 'ask']),
  count: z.string().regex(/^\d+(\.\d{1,2})?$/, 'count must be a decimal string with at most 2 decimals'),
  price: z.string().regex(/^\d+(\.\d{1,6})?$/, 'price must be a dollar string with at most 6 decimals'),
  time_in_force: z.enum(['fill_or_kill', 'good_till_canceled', 'immediate_or_cancel']),
  self_trade_prevention_type: z.enum(['taker_at_cross', 'maker']),
  client_order_id: z.string().max(64).optional(),
  expiration_time: z.number().int().optional(),
  post_only: z.boolean().optional(),
  reduce_only: z.boolean().optional(),
  cancel_order_on_pause: z.boolean().optional(),
  subaccount: z.number().int().optional(),
  order_group_id: z.string().optional(),
  exchange_index: z.number().int().optional(),
});
type OrderBody = z.output<typeof orderBody>;

const invalid = (message: string, details = '') => new HttpError(400, errorBody('invalid_parameters', message, details));

/** One item of a batch: its answer, or the error it would have had alone (the flat ErrorResponse). */
function batchItem(run: () => Record<string, unknown>): Record<string, unknown> {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    const body = error.body as { error?: unknown };
    return { error: typeof body.error === 'object' ? body.error : body };
  }
}

export class KalshiOrders {
  constructor(
    private readonly state: KalshiState,
    private readonly feed: KalshiFeed,
    private readonly portfolio: KalshiPortfolio,
    private readonly clock: SimClock,
    private readonly log: Logger | undefined,
  ) {}

  /** POST /portfolio/events/orders. */
  create(owner: string, raw: string): Record<string, unknown> {
    return this.createOne(owner, parseJson(raw, new HttpError(400, notJsonBody('invalid JSON body'))));
  }

  /** POST /portfolio/events/orders/batched: each order as if alone, in order. */
  createBatch(owner: string, raw: string): { orders: Array<Record<string, unknown>> } {
    const body = parseJson(raw, new HttpError(400, notJsonBody('invalid JSON body'))) as { orders?: unknown };
    if (!Array.isArray(body?.orders) || body.orders.length === 0) throw invalid('orders must be a non-empty array');
    if (body.orders.length > 20) throw invalid('at most 20 orders per batch');
    return { orders: body.orders.map((item: unknown) => batchItem(() => this.createOne(owner, item))) };
  }

  /** DELETE /portfolio/events/orders/batched. */
  cancelBatch(owner: string, raw: string): { orders: Array<Record<string, unknown>> } {
    const parsed = z
      .object({
        orders: z
          .array(z.object({ order_id: z.string() }))
          .min(1)
          .max(20),
      })
      .safeParse(parseJson(raw, new HttpError(400, notJsonBody('invalid JSON body'))));
    if (!parsed.success) throw invalid('orders must be 1 to 20 {order_id}');
    return {
      orders: parsed.data.orders.map(({ order_id }) => ({
        order_id,
        reduced_by: '0.00',
        ...batchItem(() => this.cancel(owner, order_id)),
      })),
    };
  }

  private createOne(owner: string, input: unknown): Record<string, unknown> {
    const { body, m, price, count } = this.validate(input);
    const cid = body.client_order_id ?? randomUUID();
    const dedupeKey = `${owner}\u0000${cid}`;
    if (this.state.byClientId.has(dedupeKey))
      throw new HttpError(409, errorBody('order_already_exists', 'an order with this client_order_id already exists', cid));
    if (body.post_only && m.book.crosses(body.side, price))
      throw new HttpError(400, errorBody('invalid_order', 'invalid order', 'post only cross'));
    const needed = this.portfolio.required(owner, m, body.side, price, count);
    const available = this.portfolio.available(owner);
    if (needed > available)
      throw new HttpError(
        400,
        errorBody(
          'insufficient_balance',
          'insufficient balance',
          `order needs ${dollars(needed)}, available ${dollars(Math.max(0, available))}`,
        ),
      );
    const now = this.clock.now();
    const order: KOrder = {
      orderId: randomUUID(),
      owner,
      clientOrderId: cid,
      ticker: body.ticker,
      side: body.side,
      price,
      initial: count,
      filled: 0,
      remaining: count,
      status: 'resting',
      tif: body.time_in_force,
      stp: body.self_trade_prevention_type,
      createdMs: now,
      updatedMs: now,
      takerFees: 0,
      makerFees: 0,
      takerCost: 0,
      makerCost: 0,
      roundingCredit: 0,
    };
    this.state.orders.set(order.orderId, order);
    this.state.byClientId.set(dedupeKey, order.orderId);
    let filledNow = 0;
    let notional = 0;
    if (body.time_in_force === 'fill_or_kill' && m.book.available(body.side === 'bid' ? 'buy' : 'sell', price) < count) {
      order.status = 'canceled';
      order.remaining = 0;
    } else {
      const result = this.execute(m, body.side, price, count, owner, body.self_trade_prevention_type, order);
      filledNow = result.filled;
      notional = result.notional;
      order.remaining = result.remaining;
      if (order.remaining === 0) order.status = 'executed';
      else if (result.stpStopped || body.time_in_force !== 'good_till_canceled') {
        order.status = filledNow > 0 && order.remaining === 0 ? 'executed' : 'canceled';
        order.remaining = 0;
      } else {
        order.resting = { id: order.orderId, owner, side: body.side, price, remaining: order.remaining, clientOrderId: cid };
        this.feed.changes(m, [m.book.rest(order.resting)]);
      }
    }
    return createdJson(order, filledNow, notional, now);
  }

  /** DELETE /portfolio/events/orders/{order_id}: an order already cancelled or executed is not found, as on the venue. */
  cancel(owner: string, orderId: string): Record<string, unknown> {
    const order = this.state.orders.get(orderId);
    if (!order || order.owner !== owner || order.status !== 'resting' || !order.resting)
      throw new HttpError(404, errorBody('not_found', 'order not found', orderId));
    const m = this.state.markets.get(order.ticker)!;
    const change = m.book.cancel(order.resting);
    const reducedBy = order.remaining;
    cancelResting(order, this.clock.now());
    if (change) this.feed.changes(m, [change]);
    return { order_id: order.orderId, client_order_id: order.clientOrderId, reduced_by: fp(reducedBy), ts_ms: this.clock.now() };
  }

  /** A taker of the scenario's own. */
  scenarioTrade(m: KMarket, takerSide: 'buy' | 'sell', limit: number, size: number): void {
    this.execute(m, takerSide === 'buy' ? 'bid' : 'ask', limit, size, SCENARIO_OWNER, 'taker_at_cross');
  }

  /** The game is over: every resting order is cancelled, the book empties, the result is published. */
  determine(m: KMarket, result: 'yes' | 'no'): void {
    const now = this.clock.now();
    m.resolution = { result, determinedMs: now };
    const resting: RestingOrder[] = [];
    for (const order of this.state.orders.values()) {
      if (order.ticker !== m.sim.kalshiTicker || order.status !== 'resting' || !order.resting) continue;
      resting.push(order.resting);
      cancelResting(order, now);
    }
    this.feed.changes(m, m.book.close(resting));
    this.feed.lifecycle(m, {
      event_type: 'determined',
      result,
      determination_ts: Math.floor(now / 1000),
      settlement_value: dollars(result === 'yes' ? PRICE_ONE : 0),
    });
    this.log?.info({ ticker: m.sim.kalshiTicker, result }, 'market determined');
  }

  private validate(input: unknown): { body: OrderBody; m: KMarket; price: number; count: number } {
    const parsed = orderBody.safeParse(input);
    if (!parsed.success) throw invalid('invalid order', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const body = parsed.data;
    const m = this.state.markets.get(body.ticker);
    if (!m) throw new HttpError(404, errorBody('market_not_found', 'market not found', body.ticker));
    if (m.resolution) throw new HttpError(400, errorBody('market_closed', 'market is closed', body.ticker));
    let price: number;
    let count: number;
    try {
      price = parseDecimal(body.price, 6);
      count = parseDecimal(body.count, 2);
    } catch (error) {
      throw invalid('invalid price or count', (error as Error).message);
    }
    if (price % 10_000 !== 0)
      throw new HttpError(
        400,
        errorBody('invalid_price', 'price is not on the market tick grid', 'price_level_structure linear_cent: $0.01'),
      );
    price /= 100; // to ten-thousandths
    if (price < 100 || price > PRICE_ONE - 100)
      throw new HttpError(400, errorBody('invalid_price', 'price out of range', 'price must be between 0.01 and 0.99'));
    if (count <= 0) throw invalid('count must be positive');
    if (count % 100 !== 0 && !m.sim.game.kalshi.fractionalTrading)
      throw new HttpError(400, errorBody('invalid_order', 'invalid order', 'fractional trading is not enabled on this market'));
    if (body.expiration_time !== undefined && body.time_in_force !== 'good_till_canceled')
      throw invalid('expiration_time is only allowed with good_till_canceled');
    return { body, m, price, count };
  }

  /** Runs a taker against the book and books every match to both sides. */
  private execute(m: KMarket, takerSide: BookSide, limit: number, size: number, owner: string, stp: StpMode, order?: KOrder) {
    const result = m.book.match(takerSide === 'bid' ? 'buy' : 'sell', limit, size, owner, stp);
    for (const canceled of result.stpCanceled) {
      const makerOrder = this.state.orders.get(canceled.id);
      if (makerOrder) cancelResting(makerOrder, this.clock.now());
    }
    let filled = 0;
    let notional = 0;
    const now = this.clock.now();
    for (const fill of result.fills) {
      const tradeId = randomUUID();
      m.trades.push({ id: tradeId, price: fill.price, size: fill.size, takerSide, tsMs: now });
      filled += fill.size;
      notional += fill.price * fill.size;
      m.volume += fill.size;
      m.dollarVolume += fill.price * fill.size;
      m.lastPrice = fill.price;
      m.lastTradeSize = fill.size;
      m.openInterest += fill.size;
      const match = { m, price: fill.price, size: fill.size, tradeId };
      this.portfolio.record(owner, order, { ...match, side: takerSide, isTaker: true });
      if (fill.maker) this.fillMaker(fill.maker, match);
    }
    this.publish(m, result.changes, result.fills.length);
    return { ...result, filled, notional };
  }

  /** The resting side of a match: what is left of the user's order, and the match booked to its owner. */
  private fillMaker(resting: RestingOrder, match: Omit<Match, 'side' | 'isTaker'>): void {
    const order = this.state.orders.get(resting.id);
    if (!order) return;
    order.remaining = resting.remaining;
    if (order.remaining === 0) {
      order.status = 'executed';
      order.resting = undefined;
    }
    this.portfolio.record(order.owner, order, { ...match, side: order.side, isTaker: false });
  }

  /** The book's changes first (deltas), then the prints (the market's last `prints` trades). */
  private publish(m: KMarket, changes: LevelChange[], prints: number): void {
    this.feed.changes(m, changes);
    for (const trade of m.trades.slice(m.trades.length - prints)) this.feed.trade(m, trade);
    if (prints > 0) this.feed.tickerIfMoved(m, true);
  }
}

/** Marks an order cancelled with nothing left (its place in the book is the caller's to remove). */
function cancelResting(order: KOrder, nowMs: number): void {
  order.status = 'canceled';
  order.remaining = 0;
  order.resting = undefined;
  order.updatedMs = nowMs;
}
