/**
 * Issue 14 point 4: failing over to a carrier that cuts the text differently re-plans the whole
 * message for it (new parts, new reference); a message with parts already out stays with
 * carriers of the same plan; no part is ever sent in place of another.
 */
import t from 'tap';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor, type TestApp, type FakeConnector } from '../helpers/fixtures.js';
import { parseUdh } from '../../src/encoding/index.js';
import type { OutboundSegment } from '../../src/carriers/connector.js';

const TEXT = 'Your repayment of 1,000 CNY is due on 1 December. '.repeat(4).trim(); // 199 GSM characters

function setup(t: { teardown(fn: () => unknown): void }, c2: Record<string, unknown>): TestApp {
  const obj = baseConfigObject(tempDir(t), [
    { id: 'c1', host: '127.0.0.1', port: 1, tps: 10000, errors: { failover: ['ESME_RSUBMITFAIL'] } },
    { id: 'c2', host: '127.0.0.1', port: 2, tps: 10000, ...c2 },
  ]);
  (obj.policy as Record<string, unknown>).signature = '';
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  return ta;
}

const decode = (s: OutboundSegment) => {
  const { concat, headerLength } = parseUdh(s.part.shortMessage);
  const body = s.part.shortMessage.subarray(headerLength);
  const text = s.part.dataCoding === 8 ? Buffer.from(body).swap16().toString('utf16le') : body.toString('latin1');
  return { concat: concat!, text };
};

const sendText = async (ta: TestApp) => {
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800000001', text: TEXT, category: 'notification' } });
  t.equal(res.statusCode, 202, res.body);
  return res.json() as { id: string; segments: number; encoding: string };
};

t.test('failover to a UCS-2-only carrier: re-planned as 3 UCS-2 parts with a new reference; every part sent once, in order', async (t) => {
  const ta = setup(t, { encodings: ['ucs2'] });
  const c1 = ta.connectors.get('c1')!;
  c1.respond = () => ({ kind: 'rejected', commandStatus: 0x45, statusName: 'ESME_RSUBMITFAIL' });
  await ta.app.start();
  const answer = await sendText(ta);
  t.match(answer, { segments: 2, encoding: 'gsm7' }, 'planned for c1: two GSM parts');
  const c2: FakeConnector = ta.connectors.get('c2')!;
  await waitFor(() => ta.app.store.messages.getMessage(answer.id)?.status === 'submitted', 10000, 'submitted on c2');
  t.equal(c2.submits.length, 3, 'three parts on c2');
  const parts = c2.submits.map(decode);
  t.same(parts.map((p) => p.concat.seq), [1, 2, 3]);
  t.same(parts.map((p) => p.concat.total), [3, 3, 3]);
  t.equal(new Set(parts.map((p) => p.concat.ref)).size, 1, 'one reference for the three');
  t.equal(parts.map((p) => p.text).join(''), TEXT, 'the parts join to the text: none sent in place of another');
  t.ok(c2.submits.every((s) => s.part.dataCoding === 8), 'UCS-2');
  const m = ta.app.store.messages.getMessage(answer.id)!;
  t.match(m, { carrierId: 'c2', segmentsCount: 3, encoding: 'ucs2' }, 'the stored plan is the new one');
  t.same(ta.app.store.messages.getSegments(answer.id).map((s) => [s.seq, s.total, s.status]), [[1, 3, 'submitted'], [2, 3, 'submitted'], [3, 3, 'submitted']]);
});

t.test('a carrier with the same plan takes the message as it is', async (t) => {
  const ta = setup(t, {});
  ta.connectors.get('c1')!.respond = () => ({ kind: 'rejected', commandStatus: 0x45, statusName: 'ESME_RSUBMITFAIL' });
  await ta.app.start();
  const answer = await sendText(ta);
  await waitFor(() => ta.app.store.messages.getMessage(answer.id)?.status === 'submitted', 10000, 'submitted on c2');
  const parts = ta.connectors.get('c2')!.submits.map(decode);
  t.same(parts.map((p) => [p.concat.seq, p.concat.total]), [[1, 2], [2, 2]]);
  t.equal(parts.map((p) => p.text).join(''), TEXT);
});

t.test('part 1 already out on c1: part 2 does not fail over to a carrier with another plan', async (t) => {
  const ta = setup(t, { encodings: ['ucs2'] });
  const c1 = ta.connectors.get('c1')!;
  c1.respond = (seg) => (decode(seg).concat.seq === 1 ? { kind: 'accepted', carrierMessageId: 'p1' } : { kind: 'rejected', commandStatus: 0x45, statusName: 'ESME_RSUBMITFAIL' });
  await ta.app.start();
  const answer = await sendText(ta);
  await waitFor(() => c1.submits.length >= 3, 10000, 'part 2 retried on c1');
  const c2 = ta.connectors.get('c2')!;
  t.equal(c2.submits.length, 0, 'nothing of it goes to c2');
  t.ok(c1.submits.slice(1).every((s) => decode(s).concat.seq === 2 && decode(s).concat.total === 2), 'part 2 retried as part 2 of 2');
});
