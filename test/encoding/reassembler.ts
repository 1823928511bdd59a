/** Reassembly of concatenated replies with an injected clock (no sleeps). */
import t from 'tap';
import { Reassembler, type ConcatInfo } from '../../src/encoding/index.js';

const c = (ref: number, total: number, seq: number, refBits: 8 | 16 = 8): ConcatInfo => ({ ref, total, seq, refBits });

function setup(max = 100) {
  let clock = 1_000;
  const r = new Reassembler({ timeoutMs: 60_000, max, now: () => clock });
  return { r, tick: (ms: number) => (clock += ms) };
}

t.test('parts out of order join in sequence order', async (t) => {
  const { r } = setup();
  t.same(r.add('A>B', c(7, 3, 3), 'three'), { complete: false });
  t.same(r.add('A>B', c(7, 3, 1), 'one '), { complete: false });
  t.equal(r.size, 1);
  t.same(r.add('A>B', c(7, 3, 2), 'two '), { complete: true, text: 'one two three' });
  t.equal(r.size, 0);
});

t.test('a single part or an impossible sequence is complete at once', async (t) => {
  const { r } = setup();
  t.same(r.add('A>B', c(1, 1, 1), 'solo'), { complete: true, text: 'solo' });
  t.same(r.add('A>B', c(1, 2, 3), 'odd'), { complete: true, text: 'odd' });
  t.equal(r.size, 0);
});

t.test('duplicates are ignored, also after completion (a resent deliver_sm)', async (t) => {
  const { r, tick } = setup();
  r.add('A>B', c(5, 2, 1), 'he');
  t.same(r.add('A>B', c(5, 2, 1), 'he'), { complete: false, duplicate: true });
  t.same(r.add('A>B', c(5, 2, 2), 'llo'), { complete: true, text: 'hello' });
  t.same(r.add('A>B', c(5, 2, 2), 'llo'), { complete: false, duplicate: true }, 'late duplicate');
  t.equal(r.size, 0, 'the late duplicate opened nothing');
  // A new message that reuses the reference (different text) is a new message.
  t.same(r.add('A>B', c(5, 2, 1), 'by'), { complete: false });
  t.same(r.add('A>B', c(5, 2, 2), 'e'), { complete: true, text: 'bye' });
  // After the timeout a repeated text is a new message too.
  tick(60_000);
  t.same(r.add('A>B', c(5, 2, 1), 'by'), { complete: false });
});

t.test('the key is (caller key, ref, total)', async (t) => {
  const { r } = setup();
  r.add('A>B', c(9, 2, 1), 'a1 ');
  r.add('C>B', c(9, 2, 1), 'c1 ');
  r.add('A>B', c(9, 3, 1), 'x1 ');
  r.add('A>B', c(10, 2, 1), 'y1 ');
  t.equal(r.size, 4);
  t.same(r.add('C>B', c(9, 2, 2), 'c2'), { complete: true, text: 'c1 c2' });
  t.same(r.add('A>B', c(9, 2, 2), 'a2'), { complete: true, text: 'a1 a2' });
});

t.test('sweep hands out partial messages after the timeout', async (t) => {
  const { r, tick } = setup();
  r.add('A>B', c(1, 4, 2), 'two ');
  tick(30_000);
  r.add('X>Y', c(2, 2, 1), 'late');
  r.add('A>B', c(1, 4, 4), 'four');
  tick(29_999);
  t.same(r.sweep(), [], 'not yet');
  tick(1);
  t.same(r.sweep(), [{ key: 'A>B', ref: 1, total: 4, text: 'two four', partial: true, missing: [1, 3], reason: 'timeout' }]);
  t.equal(r.size, 1);
  tick(30_000);
  t.same(r.sweep().map((p) => [p.key, p.missing]), [['X>Y', [2]]]);
  t.same(r.sweep(), []);
});

t.test('memory is bounded; a message pushed out comes out of the next sweep', async (t) => {
  const { r } = setup(2);
  r.add('k1', c(1, 2, 1), 'a');
  r.add('k2', c(1, 2, 1), 'b');
  r.add('k3', c(1, 2, 1), 'c');
  t.equal(r.size, 2);
  t.same(r.sweep(), [{ key: 'k1', ref: 1, total: 2, text: 'a', partial: true, missing: [2], reason: 'evicted' }]);
  t.same(r.add('k3', c(1, 2, 2), 'd'), { complete: true, text: 'cd' });
});

t.test('constructor checks the timeout', async (t) => {
  t.throws(() => new Reassembler({ timeoutMs: 0 }), RangeError);
  t.ok(new Reassembler({ timeoutMs: 1 }), 'max and now have defaults');
});
