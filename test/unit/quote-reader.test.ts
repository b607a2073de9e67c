// readQuote is the fast path of quoteSchema: it must accept exactly what the schema accepts and
// give the same quote. Checked on hand-picked edges and on 20,000 seeded mutations of a valid quote.
import { expect } from 'chai';
import { MAX_SIZE, PRICE_ONE } from '../../contracts/decimal.js';
import { MAX_QUOTE_LEVELS, quoteSchema, readQuote } from '../../contracts/messages.js';
import { prng } from '../support/prng.js';

const valid = () => ({
  venue: 'kalshi',
  marketId: 'KXNBAGAME-26DEC06LALBOS-LAL',
  outcome: 'yes',
  bids: [
    [4_800, 1_000],
    [4_700, 250],
  ],
  asks: [[4_900, 3_000]],
  seq: 42,
  exchangeTs: 1_765_000_000_000,
  receivedTs: 1_765_000_000_003,
  stale: false,
});

const KEYS = Object.keys(valid());

/** Values that sit on or just past a bound of some field, or are of another type. */
const oddValues: unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -1,
  1,
  1.5,
  PRICE_ONE - 1,
  PRICE_ONE,
  MAX_SIZE,
  MAX_SIZE + 1,
  2 ** 53,
  2 ** 53 - 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  '1',
  'kalshi',
  'polymarket',
  'yes',
  'no',
  'YES',
  [],
  [[]],
  [[1, 1]],
  [[1, 1, 1]],
  [[0, 1]],
  [[PRICE_ONE - 1, MAX_SIZE]],
  [[1, 0]],
  [['1', 1]],
  [[1, 1.5]],
  {},
  { 0: 1 },
];

function mutate(random: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const quote: Record<string, unknown> = valid();
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const action = random();
    const key = pick(KEYS);
    if (action < 0.45) quote[key] = pick(oddValues);
    else if (action < 0.55) delete quote[key];
    else if (action < 0.62) quote[pick(['extra', 'Stale', '__proto__', 'bid'])] = pick(oddValues);
    else if (action < 0.8) {
      const side = pick(['bids', 'asks']);
      const levels = Array.isArray(quote[side]) ? [...(quote[side] as unknown[])] : [];
      const n = pick([0, 1, 2, MAX_QUOTE_LEVELS, MAX_QUOTE_LEVELS + 1]);
      while (levels.length < n) levels.push([1 + Math.floor(random() * (PRICE_ONE - 1)), 1 + Math.floor(random() * 1_000)]);
      if (levels.length > 0 && random() < 0.5) levels[Math.floor(random() * levels.length)] = pick(oddValues);
      quote[side] = levels;
    } else if (action < 0.9) quote[key] = pick([-1, 0, 1, 2 ** 53 - 1, 2 ** 53, 0.5, 1e21]);
    // else: left valid
  }
  // Half go through JSON as they do on the stream (undefined keys vanish, NaN becomes null).
  return random() < 0.5 ? (JSON.parse(JSON.stringify(quote)) as unknown) : quote;
}

function sameVerdict(input: unknown): void {
  const schema = quoteSchema.safeParse(input);
  const fast = readQuote(input);
  const shown = JSON.stringify(input, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  if (schema.success) expect(fast, `readQuote refused what quoteSchema accepts: ${shown}`).to.deep.equal(schema.data);
  else expect(fast, `readQuote accepted what quoteSchema refuses: ${shown}`).to.equal(undefined);
}

describe('readQuote: quoteSchema without zod', () => {
  it('accepts a valid quote as the schema gives it, with stale defaulting to false', () => {
    const { stale: _stale, ...withoutStale } = valid();
    expect(readQuote(valid())).to.deep.equal(quoteSchema.parse(valid()));
    expect(readQuote(withoutStale)).to.deep.equal({ ...valid(), stale: false });
    expect(readQuote({ ...valid(), bids: [], asks: [], stale: true })).to.deep.equal({ ...valid(), bids: [], asks: [], stale: true });
  });

  it('refuses what the schema refuses at each bound', () => {
    const cases: Array<Record<string, unknown>> = [
      { bids: [[0, 1]] }, // $0
      { asks: [[PRICE_ONE, 1]] }, // $1
      { bids: [[4_800, 0]] },
      { bids: [[4_800, MAX_SIZE + 1]] },
      { bids: [[4_800.5, 1]] },
      { bids: Array.from({ length: MAX_QUOTE_LEVELS + 1 }, () => [4_800, 1]) },
      { seq: -1 },
      { exchangeTs: 2 ** 53 },
      { receivedTs: Number.NaN },
      { marketId: '' },
      { venue: 'nasdaq' },
      { outcome: 'maybe' },
      { stale: 'false' },
      { extra: 1 },
    ];
    for (const change of cases) {
      const input = { ...valid(), ...change };
      expect(quoteSchema.safeParse(input).success, JSON.stringify(change)).to.equal(false);
      expect(readQuote(input), JSON.stringify(change)).to.equal(undefined);
    }
    for (const input of [null, undefined, 'quote', 7, [], [valid()]]) sameVerdict(input);
  });

  it('agrees with quoteSchema on 20,000 seeded mutations', () => {
    const random = prng(20261206);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(random);
      sameVerdict(input);
      if (quoteSchema.safeParse(input).success) accepted++;
    }
    // Both verdicts must be well represented, or the comparison proves little.
    expect(accepted).to.be.within(2_000, 18_000);
  });
});
