import t from 'tap';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';
import { startSmppEnv, type SmppTestEnv } from '../helpers/smpp-fixture.js';

const send = async (env: { app: SmppTestEnv['app'] }, to: string, text = 'hello') => {
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text, category: 'notification' } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json().id as string;
};

// Carriers answer hex in the resp and decimal in the receipt (or the reverse), with ids over 2^53.
for (const [mode, idFormat, receiptIdFormat] of [
  ['hex_to_dec', 'hex', 'decimal'],
  ['dec_to_hex', 'decimal', 'hex'],
  ['auto', 'hex', 'decimal'],
  ['auto', 'decimal', 'hex'],
  ['as_is', 'decimal', 'decimal'],
] as const) {
  t.test(`dlr_id ${mode}: resp ${idFormat}, receipt ${receiptIdFormat}, ids above 2^53`, async (t) => {
    const env = await startSmppEnv(t, [{ id: 'c1', dlr_id: mode, sim: { idFormat, receiptIdFormat, idStart: 2n ** 60n + 7n, receipts: { delayMs: 5 } } }]);
    await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
    const id = await send(env, '13800000001');
    await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'delivered', 5000, 'delivered');
    t.equal(env.app.store.messages.getSegments(id)[0]!.receiptStat, 'DELIVRD');
  });
}

t.test('outcome mix maps to final statuses; metrics by stat', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1', sim: { receipts: { delayMs: 5, mix: { UNDELIV: 1 } } } }]);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const id = await send(env, '13800000002');
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'undeliverable', 5000, 'undeliverable');
  const m = await env.app.http.inject({ method: 'GET', url: '/metrics' });
  t.match(m.body, /xinge_dlr_total\{carrier="c1",stat="UNDELIV"\} 1/);
  t.match(m.body, /xinge_dlr_latency_seconds_count\{carrier="c1"\} 1/);
  // Counted on the hot paths, reported at the scrape.
  t.match(m.body, /xinge_submitted_total\{carrier="c1",category="notification"\} 1/);
  t.match(m.body, /xinge_submit_sm_resp_total\{carrier="c1",status="ESME_ROK"\} 1/);
  t.match(m.body, /xinge_messages_final_total\{carrier="c1",category="notification",status="undeliverable"\} 1/);
  t.match(m.body, /xinge_intake_total\{category="notification",result="accepted"\} 1/);
  t.match(m.body, /xinge_window_in_flight\{carrier="c1"\} 0/, 'nothing in flight once the resp came');
  t.match(m.body, /xinge_accept_to_resp_seconds_count\{lane="notification"\} 1/, 'accept to resp observed once');
  t.match(m.body, /xinge_accept_to_resp_seconds_bucket\{le="\+Inf",lane="notification"\} 1/);
});

t.test('receipts that never come end unknown after receipt_timeout_s', async (t) => {
  let clock = Date.now();
  const env = await startSmppEnv(t, [{ id: 'c1', receipt_timeout_s: 60, sim: { receipts: { segments: 'none' } } }], () => {}, { now: () => clock });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const id = await send(env, '13800000003');
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'submitted', 5000, 'submitted');
  env.app.runMaintenance();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(env.app.store.messages.getMessage(id)!.status, 'submitted', 'not before the timeout');
  clock += 61000;
  env.app.runMaintenance();
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'unknown', 5000, 'unknown');
});

t.test('a receipt before its submit_sm_resp is held and applied; an unmatched one is answered and counted', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)), { receiptHoldMs: 300, level: 'warn' });
  t.teardown(() => ta.close());
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  let acks: number[] = [];
  fc.respond = async () => {
    // The SMSC sends the receipt first, then the resp.
    acks.push(await fc.receipt('0777', 'DELIVRD'));
    return { kind: 'accepted', carrierMessageId: '777' };
  };
  const id = await send(ta, '13800000004');
  await waitFor(() => ta.app.store.messages.getMessage(id)?.status === 'delivered', 5000, 'delivered from a held receipt');
  t.same(acks, [0], 'held receipt answered');
  acks = [];
  const ack = await fc.receipt('999999', 'DELIVRD');
  t.equal(ack, 0, 'unmatched receipt answered ESME_ROK');
  await new Promise((r) => setTimeout(r, 20));
  let m = await ta.app.http.inject({ method: 'GET', url: '/metrics' });
  t.notMatch(m.body, /xinge_dlr_unmatched_total\{carrier="c1"\} [1-9]/, 'held for its resp, not yet counted');
  await waitFor(() => ta.lines.some((l) => l.includes('receipt matches no segment')), 3000, 'unmatched logged');
  m = await ta.app.http.inject({ method: 'GET', url: '/metrics' });
  t.match(m.body, /xinge_dlr_unmatched_total\{carrier="c1"\} 1/, 'counted once the hold runs out');
  t.notOk(ta.lines.some((l) => l.includes('999999')), 'the id is not a phone number, but nothing of the receipt text is logged either');
});

t.test('multipart: all waits for every part and takes the worst; a vendor code in the text wins over a DELIVERED TLV', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir);
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800000005', text: '您好'.repeat(50), category: 'notification' } });
  const id = res.json().id;
  await waitFor(() => ta.app.store.messages.getMessage(id)?.status === 'submitted', 5000, 'submitted');
  const [a, b] = ta.app.store.messages.getSegments(id);
  await fc.receipt(a!.carrierMsgId!, 'DELIVRD');
  t.equal(ta.app.store.messages.getMessage(id)!.status, 'submitted', 'one part is not enough under all');
  await fc.receipt(b!.carrierMsgId!, 'MK:0005', { tlvs: { receiptedMessageId: b!.carrierMsgId!, messageState: 2 } });
  const m = ta.app.store.messages.getMessage(id)!;
  t.equal(m.status, 'undeliverable', 'worst state of the parts');
  const get = await ta.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() });
  t.match(get.json().parts, [{ status: 'delivered', dlr_stat: 'DELIVRD' }, { status: 'undeliverable', dlr_stat: 'MK:0005' }]);
});
