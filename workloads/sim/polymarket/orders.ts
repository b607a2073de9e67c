// Polymarket order entry and matching on the YES ladder (buying NO at q is selling YES at 1 − q):
// the order's id is its EIP-712 struct hash (a resend of the same bytes is a duplicate), the
// signature must recover to the API key's address, a limit price must sit on the market's tick (a
// market order's implied price is taken to the tick in the taker's favour), size ≥ 5 shares, and
// the wallet must cover it; post-only, FOK and FAK; self-trade prevention cancels the resting
// order; sports markets may delay marketable orders. Each match of a user's order is a trade that
// moves the wallets and goes on chain (chain.ts). Cancels (one, some, all, a market's), and the
// market's end: closed (resting orders cancelled, book emptied), then resolved (winner declared,
// winning shares redeemed).
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { polymarketOrderHash, polymarketOrderSigner } from '../../../venues/polymarket/order.js';
import { PRICE_ONE, type RestingOrder } from '../book.js';
import type { SimClock } from '../clock.js';
import { polyPrice, polySize } from '../format.js';
import { HttpError, parseJson } from '../http.js';
import type { PolymarketChain } from './chain.js';
import type { PolymarketFeed } from './feed.js';
import { SCENARIO_OWNER, type MakerFill, type Outcome, type PMarket, type POrder, type PolymarketState, type Token } from './state.js';
import { takerFee, type Wallets } from './wallets.js';

const MIN_ORDER_SIZE = 500; // 5 shares, in hundredths
/** Who rests the scenario's liquidity, as trades name the maker. */
const MM_ADDRESS = '0x00000000000000000000000000000000000000aa';

const orderSchema = z.object({
  order: z.object({
    salt: z.union([z.number(), z.string()]),
    maker: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    signer: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    tokenId: z.string().regex(/^\d+$/),
    makerAmount: z.string().regex(/^\d+$/),
    takerAmount: z.string().regex(/^\d+$/),
    side: z.enum(['BUY', 'SELL']),
    signatureType: z.number().int().min(0).max(3),
    timestamp: z.string().regex(/^\d+$/),
    expiration: z.string().regex(/^\d+$/).optional(),
    metadata: z.string().optional(),
    builder: z.string().optional(),
    signature: z.string().regex(/^0x[0-9a-fA-F]+$/),
  }),
  owner: z.string(),
  orderType: z.enum(['GTC', 'GTD', 'FOK', 'FAK']).default('GTC'),
  postOnly: z.boolean().optional(),
  deferExec: z.boolean().optional(),
});
type OrderBody = z.output<typeof orderSchema>;

const bad = (error: string) => new HttpError(400, { error });

/** A checked order: its hash, token, token price and size, and where it sits on the YES ladder. */
interface Checked {
  id: string;
  body: OrderBody;
  token: Token;
  price: number;
  size: number;
  takerBuysYes: boolean;
  yesPrice: number;
}

export class PolymarketOrders {
  constructor(
    private readonly state: PolymarketState,
    private readonly feed: PolymarketFeed,
    private readonly wallets: Wallets,
    private readonly chain: PolymarketChain,
    private readonly clock: SimClock,
    private readonly log: Logger | undefined,
  ) {}

  /** POST /order. */
  async place(apiKey: string, raw: string): Promise<Record<string, unknown>> {
    const checked = await this.check(apiKey, raw);
    const { id, body, token, size, takerBuysYes, yesPrice } = checked;
    const m = token.market;
    const crosses = m.book.crosses(takerBuysYes ? 'bid' : 'ask', yesPrice);
    if (body.postOnly && crosses) throw bad('invalid post-only order: order crosses book');
    if (body.orderType === 'FOK' && m.book.available(takerBuysYes ? 'buy' : 'sell', yesPrice) < size)
      throw bad("order couldn't be fully filled, FOK orders are fully filled/killed");
    this.wallets.check(body.order.maker, m, body.order.tokenId, body.order.side, checked.price, size);
    const order: POrder = {
      id,
      owner: apiKey,
      makerAddress: body.order.maker,
      market: m,
      assetId: body.order.tokenId,
      outcome: token.outcome,
      side: body.order.side,
      price: checked.price,
      originalSize: size,
      sizeMatched: 0,
      status: 'LIVE',
      orderType: body.orderType,
      createdSec: Math.floor(this.clock.now() / 1000),
      expiration: body.order.expiration ?? '0',
    };
    this.state.orders.set(id, order);
    const delayMs = m.sim.game.polymarket.matchingDelayMs;
    if (crosses && delayMs > 0) {
      order.status = 'DELAYED';
      setTimeout(() => this.run(order, checked, crosses), delayMs).unref();
      return {
        success: true,
        errorMsg: '',
        orderID: id,
        status: 'delayed',
        takingAmount: '',
        makingAmount: '',
        transactionsHashes: [],
        tradeIDs: [],
      };
    }
    const result = this.run(order, checked, crosses);
    if (body.orderType === 'FAK' && result.filled === 0)
      throw bad('no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.');
    // Amounts in token terms: shares and pUSD, each as a decimal string.
    const buy = body.order.side === 'BUY';
    const sharesText = polySize(result.filled);
    const usd = token.outcome === 'yes' ? result.notional : result.filled * PRICE_ONE - result.notional;
    const usdText = polyPrice(Math.round(usd / 100));
    return {
      success: true,
      errorMsg: '',
      orderID: id,
      status: result.filled > 0 ? 'matched' : order.status === 'LIVE' ? 'live' : 'unmatched',
      takingAmount: result.filled > 0 ? (buy ? sharesText : usdText) : '',
      makingAmount: result.filled > 0 ? (buy ? usdText : sharesText) : '',
      transactionsHashes: [],
      tradeIDs: this.state.trades.filter((t) => t.takerOrderId === id).map((t) => t.id),
    };
  }

  /** Refuses an order for a closed market ahead of the order checks (the venue's exact message for it is not known). */
  refuseClosedMarket(raw: string): void {
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      return; // the order checks report a bad body
    }
    const parsed = z.object({ order: z.object({ tokenId: z.string() }) }).safeParse(input);
    const m = parsed.success ? this.state.tokens.get(parsed.data.order.tokenId)?.market : undefined;
    if (m?.resolution) throw bad(`market ${m.sim.conditionId} is closed: not accepting orders`);
  }

  /** DELETE /cancel-all, DELETE /cancel-market-orders: the key's resting orders, or those of one market and/or token. */
  cancelWhere(apiKey: string, where: { market?: string; asset_id?: string } = {}): ReturnType<PolymarketOrders['cancel']> {
    const ids = [...this.state.orders.values()]
      .filter(
        (o) =>
          o.owner === apiKey &&
          o.resting &&
          (!where.market || o.market.sim.conditionId.toLowerCase() === where.market.toLowerCase()) &&
          (!where.asset_id || o.assetId === where.asset_id),
      )
      .map((o) => o.id);
    return this.cancel(apiKey, ids);
  }

  /** DELETE /order and /orders. */
  cancel(apiKey: string, ids: string[]): { canceled: string[]; not_canceled: Record<string, string> } {
    const canceled: string[] = [];
    const notCanceled: Record<string, string> = {};
    for (const id of ids) {
      const o = this.state.orders.get(id);
      if (!o || o.owner !== apiKey || !o.resting) {
        notCanceled[id] = 'already canceled or matched';
        continue;
      }
      const change = o.market.book.cancel(o.resting);
      o.resting = undefined;
      o.status = 'CANCELED';
      if (change) this.feed.changes(o.market, [change]);
      canceled.push(id);
    }
    this.feed.flush();
    return { canceled, not_canceled: notCanceled };
  }

  /** A taker of the scenario's own. */
  scenarioTrade(m: PMarket, takerSide: 'buy' | 'sell', limit: number, size: number): void {
    this.execute(m, takerSide === 'buy', limit, size, SCENARIO_OWNER);
  }

  /** The game is over: the market stops accepting orders, resting ones are cancelled, the book empties. */
  determine(m: PMarket, winner: Outcome): void {
    m.resolution = { winner, closedMs: this.clock.now() };
    const resting: RestingOrder[] = [];
    for (const o of this.state.orders.values()) {
      if (o.market !== m || !o.resting) continue;
      resting.push(o.resting);
      o.resting = undefined;
      o.status = 'CANCELED';
    }
    this.feed.changes(m, m.book.close(resting));
    this.log?.info({ market: m.sim.conditionId, winner }, 'market closed');
  }

  /** The oracle has resolved it: the winner token is declared (custom-feature subscribers get `market_resolved`). */
  settle(m: PMarket): void {
    const resolution = m.resolution!;
    resolution.resolvedMs = this.clock.now();
    this.wallets.redeem(m, resolution.winner);
    this.feed.resolved(m, resolution.winner, resolution.resolvedMs);
    this.log?.info({ market: m.sim.conditionId, winner: resolution.winner }, 'market resolved');
  }

  /** The order checks, in the venue's order: body, owner, token, duplicate, signature, amounts, tick, size, post-only. */
  private async check(apiKey: string, raw: string): Promise<Checked> {
    const parsed = orderSchema.safeParse(parseJson(raw, bad('Invalid order payload')));
    if (!parsed.success) throw bad('Invalid order payload');
    const body = parsed.data;
    if (body.owner !== apiKey) throw bad('the order owner has to be the owner of the API KEY');
    const token = this.state.tokens.get(body.order.tokenId);
    if (!token) throw bad('Invalid order payload');
    // The order id is the EIP-712 struct hash; the signature must recover to the signer, which
    // must be the API key's address (and, for an EOA order, the maker too).
    const id = polymarketOrderHash(body.order);
    if (this.state.orders.has(id)) throw bad(`order ${id} is invalid. Duplicated.`);
    const signer = (await polymarketOrderSigner(body.order))?.toLowerCase();
    const keyAddress = this.state.addressOf.get(apiKey)?.toLowerCase();
    if (
      !signer ||
      signer !== body.order.signer.toLowerCase() ||
      signer !== keyAddress ||
      (body.order.signatureType === 0 && body.order.maker.toLowerCase() !== signer)
    ) {
      throw bad(`order ${id} is invalid. Invalid signature`);
    }
    const m = token.market;
    const maker = BigInt(body.order.makerAmount);
    const taker = BigInt(body.order.takerAmount);
    if (maker === 0n || taker === 0n) throw bad('Invalid order payload');
    const buy = body.order.side === 'BUY';
    const [num, den] = buy ? [maker, taker] : [taker, maker];
    const shares6 = buy ? taker : maker;
    const priceText = (Number(num) / Number(den)).toString();
    const tickUnits = BigInt(m.tick === '0.01' ? 100 : 10);
    // A limit order's price is exact; a market order's (FOK/FAK sized in dollars or shares) is
    // what its amounts imply, taken to the tick in the taker's favour: down for a buy, up for a sell.
    const market = body.orderType === 'FOK' || body.orderType === 'FAK';
    const exact = (num * 10_000n) % den === 0n && ((num * 10_000n) / den) % tickUnits === 0n;
    const implied = buy ? (num * 10_000n) / den : (num * 10_000n + den - 1n) / den;
    const price = Number(buy ? (implied / tickUnits) * tickUnits : ((implied + tickUnits - 1n) / tickUnits) * tickUnits);
    if ((!exact && !market) || price < tickUnits || price > PRICE_ONE - Number(tickUnits)) {
      throw bad(`order ${id} is invalid. Price (${priceText}) breaks minimum tick size rule: ${m.tick}`);
    }
    const size = Number(shares6 / 10_000n); // hundredths of a share
    if (size < MIN_ORDER_SIZE) throw bad(`order ${id} is invalid. Size (${Number(shares6) / 1e6}) lower than the minimum: 5`);
    if (body.postOnly && (body.orderType === 'FOK' || body.orderType === 'FAK'))
      throw bad('invalid post-only order: post-only is only allowed with GTC and GTD orders');
    const takerBuysYes = token.outcome === 'yes' ? buy : !buy;
    return { id, body, token, price, size, takerBuysYes, yesPrice: token.outcome === 'yes' ? price : PRICE_ONE - price };
  }

  /** Matches a crossing order now; GTC and GTD rest what is left. */
  private run(order: POrder, { id, body, size, takerBuysYes, yesPrice }: Checked, crosses: boolean) {
    const m = order.market;
    const result = crosses
      ? this.execute(m, takerBuysYes, yesPrice, size, order.owner, order)
      : { remaining: size, filled: 0, notional: 0 };
    if (result.remaining > 0 && (body.orderType === 'GTC' || body.orderType === 'GTD')) {
      order.resting = { id, owner: order.owner, side: takerBuysYes ? 'bid' : 'ask', price: yesPrice, remaining: result.remaining };
      this.feed.changes(m, [m.book.rest(order.resting)]);
      order.status = result.filled > 0 ? 'MATCHED' : 'LIVE';
    } else order.status = result.filled > 0 ? 'MATCHED' : 'UNMATCHED';
    this.feed.flush();
    return result;
  }

  private execute(m: PMarket, takerBuysYes: boolean, limit: number, size: number, owner: string, order?: POrder) {
    const result = m.book.match(takerBuysYes ? 'buy' : 'sell', limit, size, owner, 'maker');
    for (const canceled of result.stpCanceled) {
      const o = this.state.orders.get(canceled.id);
      if (o) {
        o.status = 'CANCELED';
        o.resting = undefined;
      }
    }
    let filled = 0;
    let notional = 0;
    const makers: MakerFill[] = [];
    for (const fill of result.fills) {
      filled += fill.size;
      notional += fill.price * fill.size;
      const maker = fill.maker;
      const makerOrder = maker && this.state.orders.get(maker.id);
      makers.push(this.makerFill(m, fill.price, fill.size, makerOrder));
      if (!maker || !makerOrder) continue;
      makerOrder.sizeMatched += fill.size;
      this.wallets.makerFill(makerOrder, fill.size);
      if (maker.remaining === 0) {
        makerOrder.status = 'MATCHED';
        makerOrder.resting = undefined;
      }
    }
    if (order) {
      order.sizeMatched += filled;
      const matchSec = Math.floor(this.clock.now() / 1000);
      result.fills.forEach((fill, bucket) => {
        const price = order.outcome === 'yes' ? fill.price : PRICE_ONE - fill.price;
        const trade = {
          id: randomUUID(),
          owner: order.owner,
          address: order.makerAddress,
          takerOrderId: order.id,
          market: m,
          assetId: order.assetId,
          outcome: order.outcome,
          side: order.side,
          price,
          size: fill.size,
          fee: takerFee(m, price, fill.size),
          // The scenario's liquidity is quoted at the trade's own price; a user's order at its own.
          maker: makers[bucket]!.owner === '' ? { ...makers[bucket]!, price } : makers[bucket]!,
          matchSec,
          bucket,
          status: 'MATCHED' as const,
          lastUpdateSec: matchSec,
        };
        this.state.trades.push(trade);
        this.wallets.trade(trade);
        this.chain.matched(trade);
      });
    }
    if (result.fills.length > 0) this.feed.trade(m, result.fills[result.fills.length - 1]!.price, filled, takerBuysYes);
    else if (result.changes.length > 0) this.feed.changes(m, result.changes);
    return { ...result, filled, notional };
  }

  /** The resting side of a match: a user's order, or the scenario's liquidity (an order of no one's, named by the match). */
  private makerFill(m: PMarket, yesPrice: number, size: number, o: POrder | undefined): MakerFill {
    if (o) return { orderId: o.id, owner: o.owner, makerAddress: o.makerAddress, price: o.price, size };
    const id = `0x${createHash('sha256').update(`mm:${m.sim.conditionId}:${yesPrice}:${randomUUID()}`).digest('hex')}`;
    return { orderId: id, owner: '', makerAddress: MM_ADDRESS, price: yesPrice, size };
  }
}
