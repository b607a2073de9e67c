// Polymarket CLOB V2 order identity (docs/exchange-protocols.md §2.7): an order is the EIP-712 hash of its
// signed struct, under the "Polymarket CTF Exchange" version "2" domain whose verifying contract
// depends on whether the market is neg-risk. The executor computes the hash to find its orders
// again; the simulator recovers the signer from the same typed data, so the official client's
// signatures are checked against this independent statement of the spec.
import { hashTypedData, recoverTypedDataAddress, type Hex } from 'viem';

export const POLYGON_CHAIN_ID = 137;

/** CTF Exchange V2 and Neg Risk CTF Exchange V2 on Polygon. */
export const exchangeV2 = {
  standard: '0xE111180000d2663C0091e4f400237545B87B996B',
  negRisk: '0xe2222d279d744050d28e00520010520000310F59',
} as const;

/** An order as it travels in `POST /order` (`order` field). */
export interface PolymarketSignedOrder {
  salt: number | string;
  maker: string;
  signer: string;
  tokenId: string;
  makerAmount: string;
  takerAmount: string;
  side: 'BUY' | 'SELL';
  signatureType: number;
  timestamp: string;
  expiration?: string;
  metadata?: string;
  builder?: string;
  signature: string;
}

const ZERO32: Hex = `0x${'0'.repeat(64)}`;

const orderTypes = {
  Order: [
    { name: 'salt', type: 'uint256' },
    { name: 'maker', type: 'address' },
    { name: 'signer', type: 'address' },
    { name: 'tokenId', type: 'uint256' },
    { name: 'makerAmount', type: 'uint256' },
    { name: 'takerAmount', type: 'uint256' },
    { name: 'side', type: 'uint8' },
    { name: 'signatureType', type: 'uint8' },
    { name: 'timestamp', type: 'uint256' },
    { name: 'metadata', type: 'bytes32' },
    { name: 'builder', type: 'bytes32' },
  ],
} as const;

/** What an order's signature covers (every field of the JSON but expiration and the signature). */
export function polymarketOrderTypedData(order: Omit<PolymarketSignedOrder, 'signature'>, negRisk = false, chainId = POLYGON_CHAIN_ID) {
  return {
    domain: {
      name: 'Polymarket CTF Exchange',
      version: '2',
      chainId,
      verifyingContract: negRisk ? exchangeV2.negRisk : exchangeV2.standard,
    },
    types: orderTypes,
    primaryType: 'Order' as const,
    message: {
      salt: BigInt(order.salt),
      maker: order.maker as Hex,
      signer: order.signer as Hex,
      tokenId: BigInt(order.tokenId),
      makerAmount: BigInt(order.makerAmount),
      takerAmount: BigInt(order.takerAmount),
      side: order.side === 'BUY' ? 0 : 1,
      signatureType: order.signatureType,
      timestamp: BigInt(order.timestamp),
      metadata: (order.metadata ?? ZERO32) as Hex,
      builder: (order.builder ?? ZERO32) as Hex,
    },
  };
}

/** The order id Polymarket gives this order (0x-prefixed, lower case). */
export function polymarketOrderHash(order: PolymarketSignedOrder, negRisk = false, chainId = POLYGON_CHAIN_ID): string {
  return hashTypedData(polymarketOrderTypedData(order, negRisk, chainId)).toLowerCase();
}

/** The address that signed the order (checksummed), or undefined when the signature is malformed. */
export async function polymarketOrderSigner(
  order: PolymarketSignedOrder,
  negRisk = false,
  chainId = POLYGON_CHAIN_ID,
): Promise<string | undefined> {
  try {
    return await recoverTypedDataAddress({ ...polymarketOrderTypedData(order, negRisk, chainId), signature: order.signature as Hex });
  } catch {
    return undefined;
  }
}
