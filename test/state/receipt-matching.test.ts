/**
 * Issue 14 point 2: a receipt matches only segments still awaiting one, newest first; a final
 * segment never changes; intermediate or duplicate receipts after a final one are counted and
 * logged, not applied.
 */
import t from 'tap';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor, type TestApp } from '../helpers/fixtures.js';

const send = async (ta: TestApp, to: string) => {
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text: 'hello', category: 'notification' } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json().id as string;
};

t.test('a carrier id given again weeks later: the receipt goes to the new message, the old one never changes', async (t) => {
  let clock = Date.parse('2026-11-01T08:00:00Z');
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))), { now: () => clock });
  t.teardown(() => ta.close());
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  // 8-digit decimal ids wrap within days at volume: the carrier gives the same id twice.
  fc.respond = () => ({ kind: 'accepted', carrierMessageId: '12345678' });
  const m = ta.app.store.messages;

  // The old message: sent, and never receipted (the carrier lost it).
  const old = await send(ta, '13800000001');
  await waitFor(() => m.getMessage(old)?.status === 'submitted', 5000, 'old submitted');
  clock += 21 * 86400000;
  const fresh = await send(ta, '13800000002');
  await waitFor(() => m.getMessage(fresh)?.status === 'submitted', 5000, 'new submitted');
  t.equal(await fc.receipt('12345678', 'DELIVRD'), 0);
  t.equal(m.getMessage(fresh)!.status, 'delivered', 'the newest segment awaiting a receipt takes it');
  t.equal(m.getMessage(old)!.status, 'submitted', 'the three-week-old message is untouched');

  // A third message with the id again: the first two are final or older; only it matches.
  clock += 21 * 86400000;
  const third = await send(ta, '13800000003');
  await waitFor(() => m.getMessage(third)?.status === 'submitted', 5000, 'third submitted');
  t.equal(await fc.receipt('12345678', 'UNDELIV'), 0);
  t.equal(m.getMessage(third)!.status, 'undeliverable');
  t.equal(m.getMessage(fresh)!.status, 'delivered', 'a final message keeps its state');
  t.equal(m.getSegments(fresh)[0]!.receiptStat, 'DELIVRD', 'and its segment its receipt');
});

t.test('DELIVRD, ENROUTE, DELIVRD: the first settles; the late ENROUTE and the duplicate are counted and logged, not applied', async (t) => {
  let clock = Date.parse('2026-11-01T08:00:00Z');
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))), { now: () => clock, level: 'info' });
  t.teardown(() => ta.close());
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  fc.respond = () => ({ kind: 'accepted', carrierMessageId: 'a1b2' });
  const m = ta.app.store.messages;
  const id = await send(ta, '13800000004');
  await waitFor(() => m.getMessage(id)?.status === 'submitted', 5000, 'submitted');
  clock += 1000;
  t.equal(await fc.receipt('a1b2', 'DELIVRD'), 0);
  const seg = m.getSegments(id)[0]!;
  t.match(seg, { status: 'delivered', receiptStat: 'DELIVRD' });
  const finalAt = seg.finalAt;
  clock += 1000;
  t.equal(await fc.receipt('a1b2', 'ENROUTE'), 0, 'late ENROUTE answered');
  t.match(m.getSegments(id)[0]!, { status: 'delivered', receiptStat: 'DELIVRD', finalAt }, 'ENROUTE after DELIVRD not applied');
  clock += 1000;
  t.equal(await fc.receipt('a1b2', 'DELIVRD'), 0, 'duplicate answered');
  t.match(m.getSegments(id)[0]!, { status: 'delivered', finalAt }, 'the duplicate changes nothing');
  t.equal(m.getMessage(id)!.status, 'delivered');
  const metrics = (await ta.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_dlr_late_total\{carrier="c1"\} 2/, 'two late receipts counted');
  t.match(metrics, /xinge_dlr_unmatched_total\{carrier="c1"\} 0|^(?![\s\S]*xinge_dlr_unmatched_total\{carrier="c1"\} [1-9])/, 'not counted as unmatched');
  await waitFor(() => ta.lines.some((l) => l.includes('receipt after the segment ended')), 2000, 'late receipt logged');
});
