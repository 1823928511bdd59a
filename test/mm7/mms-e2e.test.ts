/** POST /v1/mms → MM7 SubmitReq to the MMSC simulator → DeliveryReportReq back → status and webhook (loopback). */
import t from 'tap';
import { auth, NOTIFY_TOKEN, waitFor } from '../helpers/fixtures.js';
import { startMmsEnv } from './helpers/env.js';
import { JPEG_BYTES, PNG_1X1 } from './helpers/media.js';

const mms = (over: Record<string, unknown> = {}) => ({
  to: '13800138000',
  subject: '您的12月账单',
  category: 'notification',
  parts: [
    { content_type: 'text/plain', text: '尊敬的客户，您本期应还1,200.00元。' },
    { content_type: 'image/jpeg', filename: 'bill.jpg', content_base64: JPEG_BYTES.toString('base64') },
    { content_type: 'image/png', content_base64: PNG_1X1.toString('base64') },
  ],
  ...over,
});

t.test('round trip through the simulator ends delivered, with the status webhook and metrics', async (t) => {
  const { env, sim, hooks } = await startMmsEnv(t);
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ reference: 'bill-2026-12' }) });
  t.equal(res.statusCode, 202, res.body);
  const a = res.json();
  t.match(a, { id: /^msg_/, status: 'queued', mmsc: 'mmsc' });
  t.ok(a.size_bytes > JPEG_BYTES.length);
  await waitFor(() => env.app.store.mms.get(a.id)?.status === 'delivered', 30000, 'delivered');
  const view = (await env.app.http.inject({ method: 'GET', url: `/v1/messages/${a.id}`, headers: auth() })).json();
  t.match(view, { id: a.id, channel: 'mms', status: 'delivered', carrier: 'mmsc', subject: '您的12月账单', mm7_message_id: 'sim00000001', mm_status: 'Retrieved', error_code: null, reference: 'bill-2026-12' });
  t.same(view.parts.map((p: { content_type: string }) => p.content_type), ['text/plain', 'image/jpeg', 'image/png']);
  // What the MMSC got: the subject intact, the signature on the text, the JPEG byte for byte.
  const rec = sim.received[0]!;
  t.equal(rec.subject, '您的12月账单');
  t.same(rec.recipients, ['8613800138000']);
  t.equal(rec.sender, '10690001');
  t.match(rec.contentType, /multipart\/related; boundary="[^"]+"; type="text\/xml"; start="<mm7-soap>"/);
  t.ok(rec.parts.find((p) => p.contentType === 'image/jpeg')!.data.equals(JPEG_BYTES));
  t.match(rec.parts.find((p) => p.contentType === 'text/plain')!.data.toString('utf8'), /^【测试】尊敬的客户/);
  t.equal((await waitFor(() => sim.reports[0], 5000, 'report recorded')).httpStatus, 200, 'the receiver answered the report 200');
  const hook = await waitFor(() => hooks.find((h) => h.json.message_id === a.id && h.json.status === 'delivered'), 30000, 'status webhook');
  t.match(hook.json, { type: 'message.status', carrier: 'mmsc', reference: 'bill-2026-12' });
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mm7_submit_total\{mmsc="mmsc",status_code="1000",outcome="success"\} 1/);
  t.match(metrics, /xinge_mm7_delivery_reports_total\{mmsc="mmsc",mm_status="Retrieved"\} 1/);
  t.match(metrics, /xinge_mms_intake_total\{category="notification",result="accepted"\} 1/);
  t.match(metrics, /xinge_mm7_receiver_requests_total\{kind="DeliveryReportReq",result="1000"\} 1/);
});

t.test('over max_size_bytes: 413 before anything is stored or sent', async (t) => {
  const { env, sim } = await startMmsEnv(t, { mmsc: { max_size_bytes: 307200 } });
  const big = Buffer.alloc(310 * 1024, 0x5a);
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ parts: [{ content_type: 'image/jpeg', content_base64: big.toString('base64') }] }) });
  t.equal(res.statusCode, 413);
  t.match(res.json(), { error: { code: 'payload_too_large', field: 'parts' } });
  // Just under the raw size but over once encoded: the limit is on the encoded MIME.
  const near = Buffer.alloc(307200 - 500, 0x5a);
  const res2 = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ parts: [{ content_type: 'image/jpeg', content_base64: near.toString('base64') }] }) });
  t.equal(res2.statusCode, 413, 'SOAP envelope and MIME headers count');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(sim.received.length, 0, 'nothing sent');
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mms_intake_total\{category="notification",result="payload_too_large"\} 2/);
});

t.test('scope and validation: 403 without scope mms, 400 naming the field', async (t) => {
  const { env } = await startMmsEnv(t);
  const r403 = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(NOTIFY_TOKEN), payload: mms() });
  t.equal(r403.statusCode, 403);
  t.match(r403.json(), { error: { code: 'forbidden' } });
  const cases: Array<[Record<string, unknown>, string]> = [
    [mms({ parts: [{ content_type: 'image/jpeg', content_base64: '***' }] }), 'parts[0].content_base64'],
    [mms({ parts: [{ content_type: 'video/mp4', content_base64: 'AAAA' }] }), 'parts[0].content_type'],
    [mms({ parts: [{ content_type: 'text/plain' }] }), 'parts[0].text'],
    [mms({ parts: [] }), 'parts'],
    [mms({ category: 'otp' }), 'category'],
    [mms({ to: '12' }), 'to'],
    [mms({ fallback_sms: { txt: 'x' } }), 'fallback_sms.txt'],
    [mms({ colour: 'red' }), 'colour'],
  ];
  for (const [payload, field] of cases) {
    const r = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload });
    t.equal(r.statusCode, 400, `${field}: ${r.body}`);
    t.equal(r.json().error.field, field);
  }
});

t.test('a SOAP Fault from the MMSC: rejected, error code kept, fallback SMS sent and linked', async (t) => {
  const { env, sim } = await startMmsEnv(t, { sim: { answer: { kind: 'fault', code: 3004, text: 'Invalid recipient' } } });
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ fallback_sms: { text: '您的账单已发送，请登录APP查看。' } }) });
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id;
  await waitFor(() => env.app.store.mms.get(id)?.status === 'rejected', 30000, 'rejected');
  t.equal(sim.received.length, 1, 'a permanent code is not retried');
  const smsId = await waitFor(() => env.app.store.mms.get(id)?.fallbackMessageId ?? undefined, 30000, 'fallback SMS');
  await waitFor(() => env.connectors.get('c1')!.submits.length === 1, 30000, 'fallback on the SMS wire');
  const view = (await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() })).json();
  t.match(view, { status: 'rejected', error_code: '3004', error_text: 'Invalid recipient', fallback_sms: { state: 'sent', message_id: smsId } });
  const sms = (await env.app.http.inject({ method: 'GET', url: `/v1/messages/${smsId}`, headers: auth() })).json();
  t.match(sms, { id: smsId, to: '+8613800138000', fallback_of: { channel: 'mms', id, status: 'rejected' } });
  t.equal(env.connectors.get('c1')!.submits.length, 1);
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mm7_submit_total\{mmsc="mmsc",status_code="3004",outcome="permanent"\} 1/);
  t.match(metrics, /xinge_mms_fallback_sms_total\{result="sent"\} 1/);
});

t.test('4006 is temporary: retried, then delivered; no fallback for a delivered MMS', async (t) => {
  const { env, sim } = await startMmsEnv(t, { sim: { answer: (n) => (n === 1 ? { kind: 'status', code: 4006, text: 'Service unavailable' } : { kind: 'ok' }) } });
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ fallback_sms: { text: '备用短信' } }) });
  const id = res.json().id;
  await waitFor(() => env.app.store.mms.get(id)?.status === 'delivered', 30000, 'delivered');
  t.equal(sim.received.length, 2);
  t.equal(env.app.store.mms.get(id)!.attempts, 2);
  t.equal(env.app.store.mms.get(id)!.fallbackState, null);
});

t.test('a report of Expired ends the MMS expired and sends the fallback; Indeterminate maps to unknown', async (t) => {
  const { env } = await startMmsEnv(t, { sim: { reportStatus: (n) => (n === 1 ? 'Expired' : 'Indeterminate') } });
  const a = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ fallback_sms: { text: '备用短信' } }) })).json();
  await waitFor(() => env.app.store.mms.get(a.id)?.status === 'expired', 30000, 'expired');
  await waitFor(() => env.app.store.mms.get(a.id)?.fallbackState === 'sent', 30000, 'fallback sent');
  const b = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ fallback_sms: { text: '备用短信' } }) })).json();
  await waitFor(() => env.app.store.mms.get(b.id)?.status === 'unknown', 30000, 'unknown');
  t.equal(env.app.store.mms.get(b.id)!.fallbackState, null, 'unknown is not one of rejected/undeliverable/expired');
});

t.test('the fallback SMS goes through SMS policy: a number opted out since is refused, recorded on the MMS', async (t) => {
  const { env, sim } = await startMmsEnv(t, { sim: { answer: { kind: 'status', code: 2002, text: 'Address Error' } } });
  sim.options.answer = () => ({ kind: 'status', code: 2002, text: 'Address Error' });
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ category: 'collection', fallback_sms: { text: '请尽快还款' } }) });
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id;
  await env.app.store.commit.run(() => env.app.store.aux.addOptOut('+8613800138000', 'test', Date.now()));
  await waitFor(() => env.app.store.mms.get(id)?.fallbackState === 'refused', 30000, 'fallback refused');
  const view = (await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() })).json();
  t.match(view, { status: 'rejected', error_code: '2002', fallback_sms: { state: 'refused', message_id: null, error_code: 'opted_out' } });
  t.equal(env.connectors.get('c1')!.submits.length, 0, 'no SMS to an opted-out number');
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mms_fallback_sms_total\{result="opted_out"\} 1/);
  t.match(metrics, /xinge_mms_final_total\{mmsc="mmsc",status="rejected"\} 1/);
});

t.test('no delivery report within report_timeout_s: the MMS ends unknown (injected clock)', async (t) => {
  let clock = Date.UTC(2026, 11, 7, 3, 0, 0);
  const { env, sim } = await startMmsEnv(t, { now: () => clock, mmsc: { report_timeout_s: 3600 } });
  sim.options.reportUrl = undefined;
  const id = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms() })).json().id;
  await waitFor(() => env.app.store.mms.get(id)?.status === 'submitted', 30000, 'submitted');
  clock += 3599_000;
  t.equal(await env.app.mms.sweepReportTimeouts(), 0, 'not yet');
  clock += 2000;
  t.equal(await env.app.mms.sweepReportTimeouts(), 1);
  t.match(env.app.store.mms.get(id), { status: 'unknown', statusText: 'no delivery report within 3600 s' });
});

t.test('cancel: a scheduled MMS by id or by reference never goes out; one already delivered answers final with its status', async (t) => {
  const { env, sim } = await startMmsEnv(t);
  const later = new Date(Date.now() + 86400_000).toISOString();
  const a = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ send_at: later }) })).json();
  const b = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms({ send_at: later, reference: 'loan-42' }) })).json();
  const c = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms() })).json();
  t.equal(a.status, 'scheduled');
  await waitFor(() => env.app.store.mms.get(c.id)?.status === 'delivered', 30000, 'c delivered');
  const del = await env.app.http.inject({ method: 'DELETE', url: `/v1/messages/${a.id}`, headers: auth() });
  t.same(del.json(), { canceled: [a.id], on_wire: [], final: [], not_found: [] });
  const byRef = await env.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(), payload: { reference: 'loan-42' } });
  t.match(byRef.json(), { reference: 'loan-42', canceled: [b.id] });
  const sent = await env.app.http.inject({ method: 'DELETE', url: `/v1/messages/${c.id}`, headers: auth() });
  t.same(sent.json(), { canceled: [], on_wire: [], final: [{ id: c.id, status: 'delivered' }], not_found: [] });
  t.equal((await env.app.http.inject({ method: 'GET', url: `/v1/messages/${a.id}`, headers: auth() })).json().status, 'canceled');
  t.equal(sim.received.length, 1);
});

t.test('temporary errors until max_attempts: failed (no fallback); Idempotency-Key answers a repeat once', async (t) => {
  const { env, sim } = await startMmsEnv(t, { sim: { answer: { kind: 'http', status: 503 } }, mmsc: { max_attempts: 2 } });
  const headers = { ...auth(), 'idempotency-key': 'stmt-1' };
  const first = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers, payload: mms({ fallback_sms: { text: '备用' } }) });
  const again = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers, payload: mms({ fallback_sms: { text: '备用' } }) });
  t.equal(again.statusCode, 202);
  t.same(again.json(), first.json(), 'the first answer, not a second MMS');
  const other = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers, payload: mms({ subject: 'x' }) });
  t.equal(other.statusCode, 409);
  const id = first.json().id;
  await waitFor(() => env.app.store.mms.get(id)?.status === 'failed', 30000, 'failed');
  t.equal(sim.received.length, 2, 'one try per attempt (retries: 0)');
  t.match(env.app.store.mms.get(id), { attempts: 2, statusText: 'HTTP 503', fallbackState: null });
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mm7_submit_total\{mmsc="mmsc",status_code="http_503",outcome="temporary"\} 2/);
});

t.test('a client with scope mms only reads and cancels its MMS through /v1/messages (scope sms or mms)', async (t) => {
  const { env } = await startMmsEnv(t, {
    edit: (cfg) => {
      const clients = cfg.clients as Array<Record<string, unknown>>;
      clients.push({ name: 'statements', token: 'test-token-statements-1', scopes: ['mms'], categories: ['notification'], free_text: true });
    },
  });
  const h = { authorization: 'Bearer test-token-statements-1' };
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: h, payload: mms({ send_at: new Date(Date.now() + 3600000).toISOString() }) });
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  const view = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: h });
  t.equal(view.statusCode, 200, view.body);
  t.match(view.json(), { id, channel: 'mms', status: 'scheduled' });
  const other = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: { authorization: `Bearer ${NOTIFY_TOKEN}` } });
  t.equal(other.statusCode, 404, 'another client does not see it');
  const del = await env.app.http.inject({ method: 'DELETE', url: `/v1/messages/${id}`, headers: h });
  t.equal(del.statusCode, 200, del.body);
  t.same(del.json().canceled, [id]);
  const none = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: { authorization: 'Bearer nope' } });
  t.equal(none.statusCode, 401);
  const sms = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: h, payload: { to: '13800138000', text: 'x', category: 'notification' } });
  t.equal(sms.statusCode, 403, 'scope mms does not send SMS');
});
