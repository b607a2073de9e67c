// Polymarket wallets: pUSD and outcome shares, what an order needs of them, what a match moves and
// what a failed trade gives back. The venue refuses an order its wallet cannot cover, counting what
// the wallet's resting orders already hold (400 "not enough balance / allowance", as recorded in
// py-clob-client issue #247). Only takers pay a fee: C × r × (p(1 − p))^e with the market's `fd`,
// taken in pUSD from the balance (py-clob-client-v2 issue #107), rounded up to $0.0001. A resolved
// market's winning shares are redeemed at once for $1 each (the holder's own on-chain redemption).
import { parseDecimal } from '../../../contracts/decimal.js';
import { PRICE_ONE } from '../book.js';
import { HttpError } from '../http.js';
import type { Outcome, PMarket, POrder, PolymarketState, PTrade, Wallet } from './state.js';
import { tokenId } from './state.js';

export const BALANCE_ERROR = { error: 'not enough balance / allowance' };

/** Every exchange this wallet has approved, as `GET /balance-allowance` lists them (unlimited). */
export const APPROVED_SPENDERS = [
  '0xE111180000d2663C0091e4f400237545B87B996B',
  '0xe2222d279d744050d28e00520010520000310F59',
  '0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296',
];

/** The market's taker fee on `size` shares at token price `price`, in ten-thousandths of $1, rounded up. */
export function takerFee(m: PMarket, price: number, size: number): number {
  const { feeRate, feeExponent } = m.sim.game.polymarket;
  const rate = BigInt(parseDecimal(String(feeRate), 6));
  if (rate === 0n || size === 0) return 0;
  const e = BigInt(feeExponent);
  // size (1e-2) × rate (1e-6) × (p (1 − p))^e (1e-8 each) in $; a fee unit is 1e-4 $.
  const n = BigInt(size) * rate * BigInt(price * (PRICE_ONE - price)) ** e;
  const d = 10n ** (4n + 8n * e);
  return Number((n + d - 1n) / d);
}

const notional = (price: number, size: number) => Math.ceil((price * size) / 100);

export class Wallets {
  constructor(private readonly state: PolymarketState) {}

  /** What the wallet has committed to its resting orders: pUSD for buys, shares by token for sells. */
  private committed(address: string): { collateral: number; shares: Map<string, number> } {
    const out = { collateral: 0, shares: new Map<string, number>() };
    for (const o of this.state.orders.values()) {
      if (!o.resting || o.makerAddress.toLowerCase() !== address.toLowerCase()) continue;
      const left = o.originalSize - o.sizeMatched;
      if (o.side === 'BUY') out.collateral += notional(o.price, left);
      else out.shares.set(o.assetId, (out.shares.get(o.assetId) ?? 0) + left);
    }
    return out;
  }

  /** Refuses an order the wallet cannot cover: a buy's pUSD (its taker fee included), a sell's shares. */
  check(address: string, m: PMarket, asset: string, side: 'BUY' | 'SELL', price: number, size: number): void {
    const wallet = this.state.wallet(address);
    const held = this.committed(address);
    const enough =
      side === 'BUY'
        ? wallet.collateral - held.collateral >= notional(price, size) + takerFee(m, price, size)
        : (wallet.shares.get(asset) ?? 0) - (held.shares.get(asset) ?? 0) >= size;
    if (!enough) throw new HttpError(400, BALANCE_ERROR);
  }

  /** Books a trade to its wallet: shares against pUSD, and the fee when it took. `sign` −1 takes it back. */
  trade(t: Pick<PTrade, 'address' | 'assetId' | 'side' | 'price' | 'size' | 'fee'>, sign: 1 | -1 = 1): void {
    const wallet = this.state.wallet(t.address);
    const shares = (t.side === 'BUY' ? t.size : -t.size) * sign;
    const cash = (t.side === 'BUY' ? -notional(t.price, t.size) : Math.floor((t.price * t.size) / 100)) * sign - t.fee * sign;
    wallet.shares.set(t.assetId, (wallet.shares.get(t.assetId) ?? 0) + shares);
    wallet.collateral += cash;
  }

  /** The resting side of a match that a user's order was: its wallet trades without a fee. */
  makerFill(o: POrder, size: number): void {
    this.trade({ address: o.makerAddress, assetId: o.assetId, side: o.side, price: o.price, size, fee: 0 });
  }

  /** The winning token pays $1 a share; both tokens' shares are gone. */
  redeem(m: PMarket, winner: Outcome): void {
    for (const wallet of this.state.wallets.values()) {
      for (const outcome of ['yes', 'no'] as const) {
        const id = tokenId(m, outcome);
        const held = wallet.shares.get(id) ?? 0;
        if (held <= 0) continue;
        if (outcome === winner) wallet.collateral += held * 100;
        wallet.shares.delete(id);
      }
    }
  }

  /** `GET /balance-allowance`: pUSD, or one token's shares, in 6-decimal units. */
  balanceAllowance(
    address: string,
    assetType: string | null,
    token: string | null,
  ): { balance: string; allowances: Record<string, string> } {
    const wallet: Wallet = this.state.wallet(address);
    const units = assetType === 'CONDITIONAL' ? (token ? (wallet.shares.get(token) ?? 0) : 0) * 10_000 : wallet.collateral * 100;
    const unlimited = (2n ** 256n - 1n).toString();
    return { balance: String(units), allowances: Object.fromEntries(APPROVED_SPENDERS.map((a) => [a, unlimited])) };
  }
}
