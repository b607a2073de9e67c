// Settlement's pure parts: reading a venue's market answer as resolved (and who won) or not, and
// the PnL a settlement realizes, to the cent against hand-computed cases.
import { expect } from 'chai';
import { applyFill, settle, type PositionState } from '../../workloads/executor/pnl.js';
import { polymarketResolution, gammaResolution, clobResolution } from '../../venues/polymarket/resolution.js';
import { kalshiResolution } from '../../venues/kalshi/resolution.js';

const TICKER = 'KXNBAGAME-26NOV26PHILAL-LAL';
const kalshi = (market: Record<string, unknown>) => ({ market: { ticker: TICKER, status: 'active', result: '', ...market } });

const YES = '1111';
const NO = '2222';
const CID = `0x${'ab'.repeat(32)}`;
const gamma = (market: Record<string, unknown> = {}) => [
  { conditionId: CID, closed: true, clobTokenIds: JSON.stringify([YES, NO]), outcomePrices: JSON.stringify(['1', '0']), ...market },
];
const clob = (yesWinner: boolean, noWinner: boolean, market: Record<string, unknown> = {}) => ({
  condition_id: CID,
  closed: true,
  tokens: [
    { token_id: YES, outcome: 'LAL', price: 1, winner: yesWinner },
    { token_id: NO, outcome: 'PHI', price: 0, winner: noWinner },
  ],
  ...market,
});
const tokens = { yesTokenId: YES, noTokenId: NO };

describe('settlement: is the market resolved?', () => {
  it('Kalshi: settled or finalized with result yes/no, and a settlement value that agrees', () => {
    expect(kalshiResolution(kalshi({ status: 'finalized', result: 'yes', settlement_value_dollars: '1.0000' }), TICKER)).to.deep.equal({
      resolved: true,
      winner: 'yes',
    });
    expect(kalshiResolution(kalshi({ status: 'finalized', result: 'no', settlement_value_dollars: '0.0000' }), TICKER)).to.deep.equal({
      resolved: true,
      winner: 'no',
    });
    expect(kalshiResolution(kalshi({ status: 'settled', result: 'no' }), TICKER)).to.deep.equal({ resolved: true, winner: 'no' });
  });

  it('Kalshi: anything else is not resolved', () => {
    const cases: Array<[string, unknown]> = [
      ['trading', kalshi({})],
      ['closed, no result yet', kalshi({ status: 'closed' })],
      ['disputed', kalshi({ status: 'disputed', result: 'yes' })],
      ['result without a final status', kalshi({ status: 'active', result: 'yes' })],
      ['determined, still open to dispute', kalshi({ status: 'determined', result: 'yes', settlement_value_dollars: '1.0000' })],
      ['finalized with no result', kalshi({ status: 'finalized', result: '' })],
      ['a void market', kalshi({ status: 'finalized', result: 'void' })],
      ['result and settlement value disagree', kalshi({ status: 'finalized', result: 'yes', settlement_value_dollars: '0.0000' })],
      ['a scalar settlement value', kalshi({ status: 'finalized', result: 'yes', settlement_value_dollars: '0.4500' })],
      ['unreadable settlement value', kalshi({ status: 'finalized', result: 'yes', settlement_value_dollars: 'one' })],
      ['another market', { market: { ticker: 'KX-OTHER', status: 'finalized', result: 'yes' } }],
      ['garbage', { error: 'internal' }],
      ['no body', undefined],
    ];
    for (const [what, body] of cases) expect(kalshiResolution(body, TICKER).resolved, what).to.equal(false);
  });

  it('Polymarket: Gamma closed with prices exactly 1 and 0, matched by token id, not by listing order', () => {
    expect(gammaResolution(gamma(), tokens)).to.deep.equal({ resolved: true, winner: 'yes', conditionId: CID });
    expect(gammaResolution(gamma({ outcomePrices: '["0", "1"]' }), tokens)).to.deep.equal({
      resolved: true,
      winner: 'no',
      conditionId: CID,
    });
    // The venue lists the NO token first: its price comes first too.
    expect(
      gammaResolution(gamma({ clobTokenIds: JSON.stringify([NO, YES]), outcomePrices: JSON.stringify(['1', '0']) }), tokens),
    ).to.deep.equal({ resolved: true, winner: 'no', conditionId: CID });
    expect(gammaResolution(gamma({ outcomePrices: JSON.stringify(['1.0', '0.000']) }), tokens)).to.deep.include({
      resolved: true,
      winner: 'yes',
    });
  });

  it('Polymarket: Gamma anything else is not resolved', () => {
    const cases: Array<[string, unknown]> = [
      ['no market', []],
      ['open', gamma({ closed: false })],
      ['closed but not yet resolved', gamma({ outcomePrices: JSON.stringify(['0.9995', '0.0005']) })],
      ['both 1', gamma({ outcomePrices: JSON.stringify(['1', '1']) })],
      ['both 0', gamma({ outcomePrices: JSON.stringify(['0', '0']) })],
      ['prices not JSON', gamma({ outcomePrices: '1,0' })],
      ['one price', gamma({ outcomePrices: JSON.stringify(['1']) })],
      ['not our NO token', gamma({ clobTokenIds: JSON.stringify([YES, '3333']) })],
      ['three outcomes', gamma({ clobTokenIds: JSON.stringify([YES, NO, '3333']), outcomePrices: JSON.stringify(['1', '0', '0']) })],
      ['two markets hold the token', [...gamma(), ...gamma()]],
      ['bad condition id', gamma({ conditionId: '../admin' })],
      ['closed as a string', gamma({ closed: 'true' })],
      ['not a list', { error: 'rate limited' }],
    ];
    for (const [what, body] of cases) expect(gammaResolution(body, tokens).resolved, what).to.equal(false);
  });

  it('Polymarket: the CLOB needs closed and exactly one of our two tokens the winner', () => {
    expect(clobResolution(clob(true, false), tokens)).to.deep.equal({ resolved: true, winner: 'yes' });
    expect(clobResolution(clob(false, true), tokens)).to.deep.equal({ resolved: true, winner: 'no' });
    expect(clobResolution(clob(false, false), tokens).resolved, 'no winner yet').to.equal(false);
    expect(clobResolution(clob(true, true), tokens).resolved, 'two winners').to.equal(false);
    expect(clobResolution(clob(true, false, { closed: false }), tokens).resolved, 'open').to.equal(false);
    expect(clobResolution(clob(true, false), { yesTokenId: YES, noTokenId: '9' }).resolved, 'other tokens').to.equal(false);
    expect(clobResolution({ error: 'market not found' }, tokens).resolved, 'garbage').to.equal(false);
  });

  it('Polymarket: resolved only when Gamma and the CLOB agree', () => {
    const yes = { resolved: true as const, winner: 'yes' as const };
    const no = { resolved: true as const, winner: 'no' as const };
    expect(polymarketResolution(yes, yes)).to.deep.equal(yes);
    expect(polymarketResolution(no, no)).to.deep.equal(no);
    expect(polymarketResolution(yes, no).resolved).to.equal(false);
    expect(polymarketResolution(yes, { resolved: false, reason: 'no single winner token' }).resolved).to.equal(false);
    expect(polymarketResolution({ resolved: false, reason: 'market not closed' }, yes).resolved).to.equal(false);
  });
});

describe('settlement: PnL to the cent', () => {
  const bought = (price: number, size: number, fee: number): PositionState =>
    applyFill({ size: 0, cost: 0 }, 'buy', price, size, fee).position;

  it('a winner pays $1 a contract, a loser nothing; the position closes at size 0, cost 0', () => {
    // 10 contracts at $0.45 plus a $0.18 fee cost $4.68.
    const position = bought(4_500, 1_000, 1_800);
    expect(position).to.deep.equal({ size: 1_000, cost: 46_800 });
    expect(settle(position, true)).to.deep.equal({ position: { size: 0, cost: 0 }, realized: 53_200 }); // $10.00 − $4.68 = $5.32
    expect(settle(position, false)).to.deep.equal({ position: { size: 0, cost: 0 }, realized: -46_800 });
  });

  it('fractional contracts: 12.34 at $0.555 pay $12.34 when they win', () => {
    const position = bought(5_550, 1_234, 0); // 5550 × 12.34 = $6.8487
    expect(position.cost).to.equal(68_487);
    expect(settle(position, true).realized).to.equal(54_913); // $12.34 − $6.8487
  });

  it('a cost rounded up on the buy is not given back on settlement', () => {
    const position = bought(3_333, 3, 0); // 0.03 × $0.3333 = $0.009999, paid as $0.0100
    expect(position.cost).to.equal(100);
    expect(settle(position, true).realized).to.equal(200); // $0.03 − $0.01
  });

  it('what was realized before (a partial sale) is kept apart from the settlement', () => {
    const afterSale = applyFill(bought(4_500, 1_000, 1_800), 'sell', 5_000, 200, 0);
    expect(afterSale.realized).to.equal(640); // $1.00 − 2/10 of $4.68
    expect(settle(afterSale.position, true).realized).to.equal(42_560); // $8.00 − $3.744
  });

  it('an arbitrage pair (YES on one venue, NO on the other) settles to $1 a pair minus its cost, whoever wins', () => {
    const yes = bought(4_500, 1_000, 1_800); // Kalshi YES, $4.68
    const no = bought(5_200, 1_000, 0); // Polymarket NO, $5.20
    for (const yesWins of [true, false]) {
      const realized = settle(yes, yesWins).realized + settle(no, !yesWins).realized;
      expect(realized, `yes wins: ${yesWins}`).to.equal(100_000 - 46_800 - 52_000); // $0.12
    }
  });

  it('an empty position settles to nothing', () => {
    expect(settle({ size: 0, cost: 0 }, true)).to.deep.equal({ position: { size: 0, cost: 0 }, realized: 0 });
  });
});
