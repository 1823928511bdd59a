/**
 * Issue 14 point 1: lanes share a carrier by weight with credit carried across passes, so a
 * carrier that grants one slot a pass still serves every lane; OTP stays strictly first.
 */
import t from 'tap';
import { baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';
import type { Category } from '../../src/domain/types.js';

t.test('capacity 1 per pass, weights 4/2/1: 7,000 grants split 4,000/2,000/1,000 within 1 %, no lane waits more than sum(weights) passes', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 1000000, window: 1 }]);
  (obj as { queue?: unknown }).queue = { lane_weights: { notification: 4, collection: 2, marketing: 1 } };
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  fc.window = 1;
  const m = ta.app.store.messages;
  // Every lane holds more than it can get in 7,000 grants: all three stay full throughout.
  m.transaction(() => {
    for (const [lane, n] of [['notification', 4300], ['collection', 2300], ['marketing', 1300]] as const) {
      for (let i = 0; i < n; i++) m.insertMessage(newMessage({ id: `msg_${lane}_${String(i).padStart(5, '0')}`, category: lane }));
    }
  });
  await ta.app.start();
  await waitFor(() => fc.submits.length >= 7000, 60000, '7,000 grants');
  const lanes = fc.submits.slice(0, 7000).map((s) => s.lane as Category);
  const count = (l: Category) => lanes.filter((x) => x === l).length;
  t.ok(Math.abs(count('notification') - 4000) <= 40, `notification ${count('notification')}`);
  t.ok(Math.abs(count('collection') - 2000) <= 20, `collection ${count('collection')}`);
  t.ok(Math.abs(count('marketing') - 1000) <= 10, `marketing ${count('marketing')}`);
  // Capacity is one slot a pass, so grants count passes: the longest run without a lane's grant.
  for (const l of ['notification', 'collection', 'marketing'] as const) {
    let last = -1;
    let worst = 0;
    lanes.forEach((x, i) => {
      if (x !== l) return;
      worst = Math.max(worst, i - last);
      last = i;
    });
    t.ok(worst <= 7, `${l} waits at most 7 passes (worst ${worst})`);
  }
});

t.test('OTP strictly first: with three full bulk lanes and one slot a pass, a queued OTP takes the next slot', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 1000000, window: 1 }]);
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  fc.window = 1;
  const m = ta.app.store.messages;
  m.transaction(() => {
    for (const lane of ['notification', 'collection', 'marketing'] as const) {
      for (let i = 0; i < 300; i++) m.insertMessage(newMessage({ id: `msg_${lane}_${String(i).padStart(5, '0')}`, category: lane }));
    }
  });
  await ta.app.start();
  await waitFor(() => fc.submits.length >= 50, 20000, 'bulk flowing');
  const before = fc.submits.length;
  m.transaction(() => m.insertMessage(newMessage({ id: 'msg_otp_00001', category: 'otp' })));
  ta.app.dispatcher.wake(['otp']);
  const at = await waitFor(() => {
    const i = fc.submits.findIndex((s) => s.lane === 'otp');
    return i >= 0 ? i : undefined;
  }, 20000, 'OTP sent');
  // The slot in flight when the OTP was queued ends; the next grant is the OTP's.
  t.ok(at <= before, `OTP granted the next slot (index ${at}, ${before} submits before it was queued)`);
});
