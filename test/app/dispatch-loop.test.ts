import t from 'tap';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('accept → queue → connector → submitted → receipt → delivered', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)));
  t.teardown(() => ta.close());
  await ta.app.start();
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138000', text: '您的还款已到账', category: 'notification' } });
  t.equal(res.statusCode, 202, res.body);
  const body = res.json();
  t.match(body, { status: 'queued', segments: 1, encoding: 'ucs2' });
  const fc = ta.connectors.get('c1')!;
  await waitFor(() => fc.submits.length === 1, 3000, 'submit');
  const seg = fc.submits[0]!;
  t.equal(seg.to, '8613800138000');
  t.equal(seg.part.dataCoding, 8);
  t.equal(seg.part.shortMessage.toString('utf16le').length > 0, true);
  t.equal(Buffer.from(seg.part.shortMessage).swap16().toString('utf16le'), '【测试】您的还款已到账');
  await waitFor(() => ta.app.store.messages.getMessage(body.id)?.status === 'submitted', 3000, 'submitted');
  const ack = await fc.receipt('1000', 'DELIVRD');
  t.equal(ack, 0, 'deliver_sm_resp OK after commit');
  const m = ta.app.store.messages.getMessage(body.id)!;
  t.equal(m.status, 'delivered');
  t.ok(m.queuedAt && m.submittingAt && m.submittedAt && m.finalAt, 'each transition time recorded');
  const get = await ta.app.http.inject({ method: 'GET', url: `/v1/messages/${body.id}`, headers: auth() });
  t.equal(get.statusCode, 200);
  t.match(get.json(), { status: 'delivered', parts: [{ seq: 1, status: 'delivered', carrier_message_id: '1000', dlr_stat: 'DELIVRD' }] });
});

t.test('OTP lane is claimed before a bulk backlog', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)));
  t.teardown(() => ta.close());
  const fc = () => ta.app.carriers.get('c1')!.connector as unknown as import('../helpers/fixtures.js').FakeConnector;
  // Hold every submit until released, so the backlog stays queued.
  const release: Array<() => void> = [];
  ta.connectors.get('c1')!.respond = () => new Promise((r) => release.push(() => r({ kind: 'accepted', carrierMessageId: String(Math.random()).slice(2) })));
  const batch = { messages: Array.from({ length: 200 }, (_, i) => ({ to: `1380013${String(8000 + i).padStart(4, '0')}`, text: 'promo', category: 'marketing' })) };
  const b = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: batch });
  t.equal(b.statusCode, 202);
  t.equal(b.json().accepted, 200);
  await ta.app.start();
  // Bulk fills the window but for the slot kept for verification codes (window 10: one).
  await waitFor(() => fc().submits.length === 9, 3000, 'window filled by bulk');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fc().submits.length, 9, 'bulk never takes the reserved slot');
  const otp = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13900139000', text: '验证码 123456', category: 'otp' } });
  t.equal(otp.statusCode, 202, otp.body);
  await waitFor(() => fc().submits.length === 10, 3000, 'OTP sent');
  t.equal(fc().submits[9]!.lane, 'otp', 'the OTP goes out at once, with every bulk submit still awaiting its resp');
  // Two resps free two slots; with the OTP still in flight one stays reserved, one goes to bulk.
  release.shift()!();
  release.shift()!();
  await waitFor(() => fc().submits.length === 11, 3000, 'next submit');
  t.equal(fc().submits[10]!.lane, 'marketing', 'a freed slot beyond the reserve goes back to bulk');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fc().submits.length, 11, 'and only one');
  while (release.length) release.shift()!();
});
