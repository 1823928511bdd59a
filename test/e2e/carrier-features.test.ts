import t from 'tap';
import { auth, waitFor } from '../helpers/fixtures.js';
import { startSmppEnv, type SmppTestEnv } from '../helpers/smpp-fixture.js';

const LONG = '您好'.repeat(50); // 100 UCS-2 units + signature: two parts
const send = async (env: SmppTestEnv, to: string, text = LONG, extra: Record<string, unknown> = {}) => {
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text, category: 'notification', ...extra } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json() as { id: string; segments: number };
};
const udhRef = (sm: Buffer) => sm[3]!;

t.test('registered_delivery last: only the last segment asks for a receipt; multipart settles on it', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1', registered_delivery: 'last', sim: { receipts: { segments: 'last', delayMs: 10 } } }]);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const m = await send(env, '13800000001');
  t.equal(m.segments, 2);
  const rec = env.sims.get('c1')!.recorder;
  await waitFor(() => rec.submits.length === 2, 5000, 'two parts');
  t.same(rec.submits.map((s) => s.registeredDelivery), [0, 1]);
  t.same(rec.submits.map((s) => s.esmClass & 0x40), [0x40, 0x40], 'UDHI on both parts');
  await waitFor(() => env.app.store.messages.getMessage(m.id)?.status === 'delivered', 5000, 'delivered');
});

t.test('registered_delivery none: submitted is final', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1', registered_delivery: 'none', sim: { receipts: { segments: 'none' } } }]);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const m = await send(env, '13800000002', 'short');
  await waitFor(() => env.app.store.messages.getMessage(m.id)?.finalAt !== null, 5000, 'final');
  t.equal(env.app.store.messages.getMessage(m.id)!.status, 'submitted');
  t.equal(env.sims.get('c1')!.recorder.submits[0]!.registeredDelivery, 0);
});

t.test('concatenation reference: a counter per carrier that survives restart', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1' }]);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const rec = env.sims.get('c1')!.recorder;
  await send(env, '13800000003');
  await send(env, '13800000004');
  await waitFor(() => rec.submits.length === 4, 5000, 'four parts');
  const refs = rec.submits.map((s) => udhRef(s.shortMessage));
  t.equal(refs[0], refs[1], 'parts of one message share the reference');
  t.equal(refs[2], (refs[0]! + 1) % 256, 'the next message takes the next reference');
  await env.restart();
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound again');
  await send(env, '13800000005');
  await waitFor(() => rec.submits.length === 6, 5000, 'after restart');
  t.equal(udhRef(rec.submits[4]!.shortMessage), (refs[2]! + 1) % 256, 'counter persisted across restart');
});

t.test('a bind that drops mid-window: in-flight segments are resent with their stored reference, nothing lost', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1', binds: 2, window: 5, sim: { dropAfterSubmits: 7, respDelayMs: 30 } }]);
  await waitFor(() => env.app.carriers.get('c1')!.connector.binds().filter((b) => b.state === 'bound').length === 2, 5000, 'bound');
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await send(env, `1380000010${i}`)).id);
  const sim = env.sims.get('c1')!;
  await waitFor(() => ids.every((id) => env.app.store.messages.getMessage(id)?.status === 'delivered'), 30000, 'every message delivered');
  sim.configure({ dropAfterSubmits: 0 });
  // Each message went out whole: for every destination, the accepted parts share one reference.
  const byDest = new Map<string, Set<number>>();
  for (const s of sim.recorder.submits) {
    const set = byDest.get(s.destination) ?? new Set<number>();
    set.add(udhRef(s.shortMessage));
    byDest.set(s.destination, set);
  }
  for (const [dest, set] of byDest) t.equal(set.size, 1, `${dest.slice(-3)}: resent parts reuse the stored reference`);
  t.ok(sim.recorder.submits.length > 20, 'some parts were sent twice (at-least-once)');
});
