/**
 * Issue 14 point 3: cancel and the dispatcher's claim are exclusive; requeue is guarded by
 * status; cancel answers canceled | on_wire | final (with its status) | not_found.
 */
import t from 'tap';
import { auth, baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor, type TestApp } from '../helpers/fixtures.js';
import type { SubmitOutcome } from '../../src/carriers/connector.js';

const send = async (ta: TestApp, payload: Record<string, unknown> = {}) => {
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800000001', text: 'hello', category: 'notification', ...payload } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json().id as string;
};
const del = (ta: TestApp, id: string) => ta.app.http.inject({ method: 'DELETE', url: `/v1/messages/${id}`, headers: auth() });

t.test('a cancel queued before the claim commits, with the message sent meanwhile, answers on_wire and the message is not sent twice', async (t) => {
  const obj = baseConfigObject(tempDir(t));
  // A wide group-commit tick: the claim's `submitting` mark and the cancel share one commit.
  (obj as { store: Record<string, unknown> }).store.commit_interval_ms = 300;
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  const outcomes: Array<(o: SubmitOutcome) => void> = [];
  fc.respond = () => new Promise((r) => outcomes.push(r));
  await ta.app.start();
  const rt = ta.app.carriers.get('c1')!;
  rt.paused = true;
  const id = await send(ta);
  // The cancel is queued for the next commit; then the dispatcher reads the still-queued row and sends it.
  const answer = del(ta, id);
  await new Promise((r) => setImmediate(r));
  rt.paused = false;
  ta.app.dispatcher.wake(['notification']);
  await waitFor(() => fc.submits.length === 1, 3000, 'sent');
  const res = await answer;
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().canceled, [], 'not called canceled: it went on the wire');
  t.same(res.json().on_wire, [id]);
  // The send times out: the retry goes out again only because the message was never canceled.
  outcomes.shift()!({ kind: 'timeout' });
  await waitFor(() => ta.app.store.messages.getSegments(id)[0]?.status === 'queued' || fc.submits.length === 2, 3000, 'requeued');
  t.not(ta.app.store.messages.getMessage(id)!.status, 'canceled', 'a message on the wire is not marked canceled');
  while (outcomes.length) outcomes.shift()!({ kind: 'accepted', carrierMessageId: '1' });
});

t.test('answers: canceled, then final (canceled) twice; delivered → final with its status; unknown → not_found', async (t) => {
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  await ta.app.start();
  const tomorrow = new Date(Date.now() + 86400_000).toISOString();
  const sched = await send(ta, { send_at: tomorrow });
  const first = await del(ta, sched);
  t.same(first.json(), { canceled: [sched], on_wire: [], final: [], not_found: [] });
  const second = await del(ta, sched);
  t.equal(second.statusCode, 200);
  t.same(second.json(), { canceled: [], on_wire: [], final: [{ id: sched, status: 'canceled' }], not_found: [] }, 'canceled twice: final, not on_wire');

  const sent = await send(ta);
  await waitFor(() => ta.app.store.messages.getMessage(sent)?.status === 'submitted', 3000, 'submitted');
  await fc.receipt(String(fc.next - 1), 'DELIVRD');
  t.equal(ta.app.store.messages.getMessage(sent)!.status, 'delivered');
  const done = await del(ta, sent);
  t.same(done.json(), { canceled: [], on_wire: [], final: [{ id: sent, status: 'delivered' }], not_found: [] }, 'delivered: final with its status');

  const missing = await del(ta, 'msg_doesnotexist');
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'not_found');

  const byRef = await ta.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(), payload: { reference: 'nothing-here' } });
  // The same answer as DELETE of an unknown id (issue 15.5): 404 not_found naming the field.
  t.equal(byRef.statusCode, 404);
  t.match(byRef.json(), { error: { code: 'not_found', field: 'reference' } });
});

t.test('requeue never revives a final segment, nor a segment of a final message', async (t) => {
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  t.teardown(() => ta.close());
  const m = ta.app.store.messages;
  const now = Date.now();
  m.transaction(() => m.insertMessage(newMessage({ id: 'msg_rq_000001', segments: 2 })));
  const [a, b] = m.getSegments('msg_rq_000001');
  m.transaction(() => m.markClaimed([a!.id, b!.id], ['msg_rq_000001'], now));
  // Part 1 ends for good; part 2 times out afterwards.
  m.transaction(() => m.setSegmentState(a!.id, 'canceled', now));
  m.transaction(() => m.requeue(a!.id, now, { countAttempt: true, errorCode: 'timeout' }));
  t.equal(m.getSegments('msg_rq_000001')[0]!.status, 'canceled', 'a final segment stays final');
  m.transaction(() => m.finalizeMessage('msg_rq_000001', 'rejected', now, 'ESME_RINVDSTADR'));
  m.transaction(() => m.requeue(b!.id, now, { countAttempt: true, errorCode: 'timeout' }));
  t.not(m.getSegments('msg_rq_000001')[1]!.status, 'queued', 'the part of a final message is not queued again');
  t.same(m.peekDue('c1', 'notification', now + 1, 10, new Set()), [], 'nothing of it is due');
});
