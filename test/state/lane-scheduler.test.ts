import t from 'tap';
import { LaneScheduler, type WeightedLane } from '../../src/scheduler/lane-plan.js';
import type { Category } from '../../src/domain/types.js';

const w = { notification: 4, collection: 2, marketing: 1 };
const all = new Set<Category>(['notification', 'collection', 'marketing']);

/** One pass of `cap` slots where `has(lane)` says whether the lane has work. */
function pass(s: LaneScheduler, cap: number, has: (l: WeightedLane) => boolean, open = all): WeightedLane[] {
  const out: WeightedLane[] = [];
  for (const [lane, n] of s.allocate(cap, w, open)) {
    const got = has(lane) ? n : 0;
    for (let i = 0; i < got; i++) out.push(lane);
    s.charge(lane, got, w, has(lane));
  }
  return out;
}

t.test('one slot a pass: 4/2/1 over every seven passes', async (t) => {
  const s = new LaneScheduler();
  const seq: WeightedLane[] = [];
  for (let i = 0; i < 700; i++) seq.push(...pass(s, 1, () => true));
  t.equal(seq.filter((l) => l === 'notification').length, 400);
  t.equal(seq.filter((l) => l === 'collection').length, 200);
  t.equal(seq.filter((l) => l === 'marketing').length, 100);
});

t.test('a lane empty for a long time does not bank credit: it rejoins at its share', async (t) => {
  const s = new LaneScheduler();
  for (let i = 0; i < 1000; i++) pass(s, 1, (l) => l !== 'marketing');
  const seq: WeightedLane[] = [];
  for (let i = 0; i < 70; i++) seq.push(...pass(s, 1, () => true));
  const mk = seq.filter((l) => l === 'marketing').length;
  t.ok(mk >= 9 && mk <= 11, `marketing gets its share (${mk} of 70), not a burst`);
  t.ok(seq.slice(0, 14).filter((l) => l === 'marketing').length <= 3, 'no run of marketing after it comes back');
});

t.test('a lane closed by quiet hours rejoins without banked credit', async (t) => {
  const s = new LaneScheduler();
  const noCollection = new Set<Category>(['notification', 'marketing']);
  for (let i = 0; i < 500; i++) pass(s, 1, () => true, noCollection);
  const seq: WeightedLane[] = [];
  for (let i = 0; i < 14; i++) seq.push(...pass(s, 1, () => true));
  t.ok(seq.filter((l) => l === 'collection').length <= 5, 'collection takes about its share after it reopens');
});

t.test('a big pass is split by weight', async (t) => {
  const s = new LaneScheduler();
  const got = pass(s, 70, () => true);
  t.equal(got.filter((l) => l === 'notification').length, 40);
  t.equal(got.filter((l) => l === 'collection').length, 20);
  t.equal(got.filter((l) => l === 'marketing').length, 10);
});
