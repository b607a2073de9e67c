// Polymarket's word on a market's result: Gamma's closed market with its outcome prices and the
// CLOB's winner token, which must agree (docs/exchange-protocols.md §2.2, §2.3).
import { z } from 'zod';
import { PRICE_ONE } from '../../contracts/decimal.js';
import { decimalOrNaN, notResolved, type Resolution } from '../resolution.js';

export interface PolymarketTokens {
  yesTokenId: string;
  noTokenId: string;
}

const gammaMarket = z.object({
  conditionId: z.string(),
  closed: z.boolean(),
  clobTokenIds: z.string(),
  outcomePrices: z.string(),
});

/**
 * Reads Gamma's `GET /markets?clob_token_ids=…&closed=true` answer: exactly one closed market
 * holding both our tokens, priced exactly 1 and 0 (index i of `outcomePrices` is the price of
 * index i of `clobTokenIds`). Returns the condition id, which names the market on the CLOB.
 */
export function gammaResolution(body: unknown, tokens: PolymarketTokens): Resolution & { conditionId?: string } {
  if (!Array.isArray(body)) return notResolved('not a Gamma market list');
  const ours = body.filter((m) => {
    const parsed = gammaMarket.safeParse(m);
    return parsed.success && jsonStrings(parsed.data.clobTokenIds)?.includes(tokens.yesTokenId);
  });
  if (ours.length === 0) return notResolved('no closed market holds the token');
  if (ours.length > 1) return notResolved('several markets hold the token');
  const market = gammaMarket.parse(ours[0]);
  if (!/^0x[0-9a-fA-F]{64}$/.test(market.conditionId)) return notResolved(`condition id ${market.conditionId}`);
  if (!market.closed) return notResolved('market not closed');
  const ids = jsonStrings(market.clobTokenIds);
  const prices = jsonStrings(market.outcomePrices);
  if (!ids || !prices || ids.length !== 2 || prices.length !== 2 || !ids.includes(tokens.noTokenId))
    return notResolved('market is not our two tokens');
  const yes = decimalOrNaN(prices[ids.indexOf(tokens.yesTokenId)]!);
  const no = decimalOrNaN(prices[ids.indexOf(tokens.noTokenId)]!);
  if (yes === PRICE_ONE && no === 0) return { resolved: true, winner: 'yes', conditionId: market.conditionId };
  if (yes === 0 && no === PRICE_ONE) return { resolved: true, winner: 'no', conditionId: market.conditionId };
  return notResolved(`outcome prices ${market.outcomePrices}`);
}

const clobMarket = z.object({
  closed: z.boolean(),
  tokens: z.array(z.object({ token_id: z.string(), winner: z.boolean() })),
});

/** Reads the CLOB's `GET /markets/{condition_id}`: closed, our two tokens, exactly one of them the winner. */
export function clobResolution(body: unknown, tokens: PolymarketTokens): Resolution {
  const parsed = clobMarket.safeParse(body);
  if (!parsed.success) return notResolved('not a CLOB market body');
  if (!parsed.data.closed) return notResolved('market not closed');
  const list = parsed.data.tokens;
  const yes = list.find((t) => t.token_id === tokens.yesTokenId);
  const no = list.find((t) => t.token_id === tokens.noTokenId);
  if (list.length !== 2 || !yes || !no) return notResolved('market is not our two tokens');
  if (yes.winner && !no.winner) return { resolved: true, winner: 'yes' };
  if (no.winner && !yes.winner) return { resolved: true, winner: 'no' };
  return notResolved('no single winner token');
}

/** Polymarket is resolved only when Gamma and the CLOB both say so, with the same winner. */
export function polymarketResolution(gamma: Resolution, clob: Resolution): Resolution {
  if (!gamma.resolved) return notResolved(`gamma: ${gamma.reason}`);
  if (!clob.resolved) return notResolved(`clob: ${clob.reason}`);
  if (gamma.winner !== clob.winner) return notResolved(`gamma says ${gamma.winner} won, the clob ${clob.winner}`);
  return { resolved: true, winner: gamma.winner };
}

function jsonStrings(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
