// Local books: snapshot, deltas, removal at zero, YES/NO derivation on Kalshi, crossed detection,
// seq gaps, and thousands of random deltas against a rebuild from scratch.
import { expect } from 'chai';
import { KalshiBook, PriceLevels, SeqTracker, TokenBook } from '../../workloads/market-data/book.js';

describe('market-data books', () => {
  describe('PriceLevels', () => {
    it('keeps sizes per price, removes a level at zero, and lists the best levels first', () => {
      const levels = new PriceLevels();
      levels.replace([
        [4800, 30000],
        [4700, 100],
        [4900, 5000],
      ]);
      expect(levels.best(true)).to.deep.equal([4900, 5000]);
      expect(levels.best(false)).to.deep.equal([4700, 100]);
      expect(levels.top(2, true)).to.deep.equal([
        [4900, 5000],
        [4800, 30000],
      ]);
      expect(levels.top(5, false).map(([p]) => p)).to.deep.equal([4700, 4800, 4900]);
      expect(levels.add(4900, -5000)).to.equal(0);
      expect(levels.count).to.equal(2);
      expect(levels.get(4900)).to.equal(0);
      expect(levels.add(4700, -200)).to.equal(-100); // more than rests there: reported, level gone
      expect(levels.count).to.equal(1);
      levels.set(4800, 0);
      expect(levels.best(true)).to.equal(undefined);
    });
  });

  describe('KalshiBook', () => {
    const snapshot = (): KalshiBook => {
      const book = new KalshiBook();
      // YES bids 0.08×300, 0.22×333; NO bids 0.54×20, 0.56×146 (NO-leg scale), as in Kalshi's example.
      book.applySnapshot(
        [
          [800, 30000],
          [2200, 33300],
        ],
        [
          [5400, 2000],
          [5600, 14600],
        ],
      );
      return book;
    };

    it('derives the YES ask from the best NO bid (ask = 1 − no bid) and mirrors the NO outcome', () => {
      const book = snapshot();
      expect(book.view('yes', 10)).to.deep.equal({
        bids: [
          [2200, 33300],
          [800, 30000],
        ],
        asks: [
          [4400, 14600],
          [4600, 2000],
        ],
      });
      expect(book.view('no', 10)).to.deep.equal({
        bids: [
          [5600, 14600],
          [5400, 2000],
        ],
        asks: [
          [7800, 33300],
          [9200, 30000],
        ],
      });
      expect(book.view('yes', 1)).to.deep.equal({ bids: [[2200, 33300]], asks: [[4400, 14600]] });
    });

    it('applies signed deltas, removes a level that reaches zero and reports one that would go negative', () => {
      const book = snapshot();
      expect(book.applyDelta('yes', 2200, -33300)).to.equal('ok');
      expect(book.view('yes', 10).bids).to.deep.equal([[800, 30000]]);
      expect(book.applyDelta('no', 5700, 7477)).to.equal('ok'); // fractional 74.77 contracts
      expect(book.view('yes', 10).asks[0]).to.deep.equal([4300, 7477]);
      expect(book.applyDelta('yes', 900, -100)).to.equal('negative');
      expect(book.yes.get(900)).to.equal(0);
    });

    it('detects a crossed book: best YES bid + best NO bid above $1', () => {
      const book = snapshot();
      expect(book.crossed()).to.equal(false);
      book.applyDelta('yes', 4400, 100); // YES bid at the YES ask: locked, not crossed
      expect(book.crossed()).to.equal(false);
      book.applyDelta('yes', 4500, 100); // YES bid 0.45 + NO bid 0.56 = 1.01
      expect(book.crossed()).to.equal(true);
      book.applyDelta('no', 5600, -14600);
      book.applyDelta('no', 5400, -2000);
      expect(book.crossed()).to.equal(false); // no NO bids at all
    });

    it('matches a rebuild from scratch after thousands of random deltas', () => {
      let seed = 7;
      const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const book = new KalshiBook();
      const truth = { yes: new Map<number, number>(), no: new Map<number, number>() };
      book.applySnapshot([], []);
      for (let i = 0; i < 5_000; i++) {
        const side = rand() < 0.5 ? 'yes' : 'no';
        const price = 100 * (1 + Math.floor(rand() * 99));
        const current = truth[side].get(price) ?? 0;
        const delta = current > 0 && rand() < 0.4 ? -Math.ceil(rand() * current) : 1 + Math.floor(rand() * 50_000);
        truth[side].set(price, current + delta);
        if (current + delta === 0) truth[side].delete(price);
        expect(book.applyDelta(side, price, delta)).to.equal('ok');
      }
      const rebuilt = new KalshiBook();
      rebuilt.applySnapshot([...truth.yes.entries()], [...truth.no.entries()]);
      for (const outcome of ['yes', 'no'] as const) expect(book.view(outcome, 1000)).to.deep.equal(rebuilt.view(outcome, 1000));
    });
  });

  describe('TokenBook (Polymarket)', () => {
    it('replaces on book, sets new totals on price_change, removes at size 0, and detects a crossed book', () => {
      const book = new TokenBook();
      book.replace(
        [
          [4700, 1000],
          [4800, 3000],
        ],
        [
          [5200, 500],
          [5100, 2500],
        ],
      );
      expect(book.view(10)).to.deep.equal({
        bids: [
          [4800, 3000],
          [4700, 1000],
        ],
        asks: [
          [5100, 2500],
          [5200, 500],
        ],
      });
      book.set('bid', 4800, 1200);
      book.set('ask', 5100, 0);
      expect(book.view(1)).to.deep.equal({ bids: [[4800, 1200]], asks: [[5200, 500]] });
      expect(book.crossed()).to.equal(false);
      book.set('bid', 5200, 100);
      expect(book.crossed()).to.equal(true);
    });
  });

  describe('SeqTracker', () => {
    it('accepts contiguous seq per sid, reports a gap, continues after it, and ignores unknown sids', () => {
      const seq = new SeqTracker();
      expect(seq.check(1, 1)).to.equal('unknown_sid');
      seq.open(1);
      seq.open(2);
      expect(seq.check(1, 1)).to.equal('ok');
      expect(seq.check(1, 2)).to.equal('ok');
      expect(seq.check(2, 1)).to.equal('ok'); // per sid, not per market or connection
      expect(seq.check(1, 4)).to.equal('gap');
      expect(seq.check(1, 5)).to.equal('ok');
      expect(seq.check(1, 5)).to.equal('gap'); // a duplicate is a gap too
      seq.close(1);
      expect(seq.check(1, 6)).to.equal('unknown_sid');
    });
  });
});
