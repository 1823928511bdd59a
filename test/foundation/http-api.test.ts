/**
 * Issue 2, point 3: the HTTP API of SPEC 3 — sms, batch, messages, cancel; bearer tokens
 * with scopes and categories; Idempotency-Key (also across a restart); every status code
 * of the table with the {"error":{code,message,field}} body; E.164 normalisation and
 * allowed_countries.
 */
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, NOTIFY_TOKEN, TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor, type TestApp } from '../helpers/fixtures.js';

type Res = LightMyRequestResponse;

function isError(t: Test, res: Res, status: number, code: string, field?: string): void {
  t.equal(res.statusCode, status, `${status} ${code}: ${res.body.slice(0, 300)}`);
  const body = res.json() as { error?: { code?: unknown; message?: unknown; field?: unknown } };
  t.equal(body.error?.code, code, `code ${code}`);
  t.type(body.error?.message, 'string', 'message is a string');
  t.ok(String(body.error?.message).length > 0);
  if (field !== undefined) t.equal(body.error?.field, field, `field ${field}`);
  t.same(Object.keys(body), ['error'], 'only {error}');
}

const sms = (ta: TestApp, payload: unknown, token = TOKEN, headers: Record<string, string> = {}) =>
  ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(token), ...headers }, payload: payload as object });

/** An app whose carrier is down until a test says otherwise: accepted messages stay queued. */
function app(t: Test, mutate: (o: Record<string, any>) => void = () => {}): TestApp {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  mutate(obj);
  const ta = startTestApp(makeConfig(obj));
  ta.connectors.get('c1')!.up = false;
  // app.drain() is not idempotent (a second call throws from the webhook sender): once only.
  t.teardown(() => (ta.app.store.isOpen() ? ta.close() : undefined));
  return ta;
}

t.test('POST /v1/sms answers {id,status,segments,encoding}; numbers stored in E.164', async (t) => {
  const ta = app(t);
  const ids: string[] = [];
  for (const to of ['+8613800138000', '8613800138000', '13800138000', '138 0013 8000', '+86 138-0013-8000']) {
    const res = await sms(ta, { to, text: 'hello', category: 'notification' });
    t.equal(res.statusCode, 202, res.body);
    const body = res.json();
    t.match(body, { id: /^msg_/, status: 'queued', segments: 1, encoding: 'ucs2' }); // the signature 【测试】 is not GSM
    t.same(Object.keys(body).sort(), ['encoding', 'id', 'segments', 'status']);
    ids.push(body.id);
  }
  for (const id of ids) {
    t.equal(ta.app.store.messages.getMessage(id)!.to, '+8613800138000', 'stored E.164');
    const get = await ta.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() });
    t.equal(get.statusCode, 200);
    t.match(get.json(), { id, status: 'queued', to: '+8613800138000', carrier: 'c1', parts: [{ seq: 1, status: 'queued' }] });
  }
  t.equal(new Set(ids).size, ids.length, 'distinct ids');
  const slash = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/', headers: auth(), payload: { to: '13800138000', text: 'x', category: 'notification' } });
  t.equal(slash.statusCode, 202, 'a trailing slash is ignored');
  const long = await sms(ta, { to: '13800138000', text: '长'.repeat(100), category: 'notification' });
  t.match(long.json(), { segments: 2, encoding: 'ucs2' });
});

t.test('allowed_countries: a +1 number is refused unless "1" is allowed', async (t) => {
  const us = '+16502530000';
  const ta = app(t);
  isError(t, await sms(ta, { to: us, text: 'hi', category: 'notification' }), 400, 'country_not_allowed', 'to');
  const ta2 = app(t, (o) => (o.policy.allowed_countries = ['86', '1']));
  const ok = await sms(ta2, { to: us, text: 'hi', category: 'notification' });
  t.equal(ok.statusCode, 202, ok.body);
  t.equal(ta2.app.store.messages.getMessage(ok.json().id)!.to, us);
  t.equal((await sms(ta2, { to: '13800138000', text: 'hi', category: 'notification' })).statusCode, 202, 'China still allowed');
});

t.test('400: malformed JSON, bad field, bad phone number, text over max_segments', async (t) => {
  const ta = app(t, (o) => (o.policy.max_segments = 2));
  const raw = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"to": "13800138000", "text": ' });
  isError(t, raw, 400, 'invalid_json');
  isError(t, await sms(ta, { to: '13800138000', text: 'hi', category: 'spam' }), 400, 'invalid_field', 'category');
  isError(t, await sms(ta, { to: '13800138000', text: 'hi', category: 'notification', colour: 'red' }), 400, 'invalid_field', 'colour');
  isError(t, await sms(ta, { to: '13800138000', text: 'hi', category: 'notification', send_at: 'tomorrow' }), 400, 'invalid_field', 'send_at');
  isError(t, await sms(ta, { to: '13800138000', category: 'notification' }), 400, 'invalid_field', 'text');
  isError(t, await sms(ta, { to: '12345', text: 'hi', category: 'notification' }), 400, 'invalid_phone_number', 'to');
  isError(t, await sms(ta, { to: '1380013800x', text: 'hi', category: 'notification' }), 400, 'invalid_phone_number', 'to');
  isError(t, await sms(ta, { to: { n: 1 }, text: 'hi', category: 'notification' }), 400, 'invalid_phone_number', 'to');
  isError(t, await sms(ta, { to: '13800138000', text: '长'.repeat(3 * 67), category: 'notification' }), 400, 'text_too_long', 'text');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: [] as unknown as object }), 400, 'bad_request');
});

t.test('401 no/bad token, 403 scope or category', async (t) => {
  const ta = app(t);
  const body = { to: '13800138000', text: 'hi', category: 'notification' };
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/sms', payload: body }), 401, 'unauthorized');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { authorization: 'Basic abc' }, payload: body }), 401, 'unauthorized');
  isError(t, await sms(ta, body, 'not-a-real-token'), 401, 'unauthorized');
  isError(t, await ta.app.http.inject({ method: 'GET', url: '/v1/messages/msg_x' }), 401, 'unauthorized');
  // notify: scope sms, category notification only, templates only.
  isError(t, await sms(ta, { ...body, category: 'collection' }, NOTIFY_TOKEN), 403, 'category_not_allowed', 'category');
  isError(t, await sms(ta, body, NOTIFY_TOKEN), 403, 'free_text_not_allowed', 'text');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/optouts', headers: auth(NOTIFY_TOKEN), payload: { number: '13800138000' } }), 403, 'forbidden');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/otp', headers: auth(ADMIN_TOKEN), payload: { to: '13800138000', purpose: 'login' } }), 403, 'forbidden');
  // admin: category otp is not among its categories
  isError(t, await sms(ta, { ...body, category: 'otp' }, ADMIN_TOKEN), 403, 'category_not_allowed', 'category');
});

t.test('404 unknown id; clients see only their own messages', async (t) => {
  const ta = app(t);
  isError(t, await ta.app.http.inject({ method: 'GET', url: '/v1/messages/msg_nope', headers: auth() }), 404, 'not_found', 'id');
  isError(t, await ta.app.http.inject({ method: 'DELETE', url: '/v1/messages/msg_nope', headers: auth() }), 404, 'not_found', 'id');
  const mine = (await sms(ta, { to: '13800138000', text: 'x', category: 'notification' })).json().id;
  t.ok(mine);
  isError(t, await ta.app.http.inject({ method: 'GET', url: `/v1/messages/${mine}`, headers: auth(NOTIFY_TOKEN) }), 404, 'not_found');
  isError(t, await ta.app.http.inject({ method: 'GET', url: '/v1/nothing-here', headers: auth() }), 404, 'not_found');
});

t.test('413 body over 1 MiB', async (t) => {
  const ta = app(t);
  const payload = JSON.stringify({ to: '13800138000', text: 'x'.repeat(1024 * 1024), category: 'notification' });
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload });
  isError(t, res, 413, 'payload_too_large');
  const batch = await ta.app.http.inject({
    method: 'POST',
    url: '/v1/sms/batch',
    headers: { ...auth(), 'content-type': 'application/json' },
    payload: JSON.stringify({ messages: [{ to: '13800138000', text: 'y'.repeat(1100000), category: 'notification' }] }),
  });
  isError(t, batch, 413, 'payload_too_large');
});

t.test('422: opted out (POST /v1/optouts, admin token) and a forbidden word', async (t) => {
  const ta = app(t, (o) => (o.policy.forbidden_words = ['上门曝光']));
  const opt = await ta.app.http.inject({ method: 'POST', url: '/v1/optouts', headers: auth(ADMIN_TOKEN), payload: { number: '13800138000' } });
  t.equal(opt.statusCode, 201, opt.body);
  t.same(opt.json(), { number: '+8613800138000', opted_out: true });
  for (const to of ['13800138000', '+8613800138000', '8613800138000']) {
    isError(t, await sms(ta, { to, text: '请还款', category: 'collection' }), 422, 'opted_out', 'to');
  }
  t.equal((await sms(ta, { to: '13800138000', text: '账单', category: 'notification' })).statusCode, 202, 'opt-out covers marketing/collection only');
  isError(t, await sms(ta, { to: '13900139000', text: '再不还款就上门曝光', category: 'collection' }), 422, 'forbidden_content');
  const del = await ta.app.http.inject({ method: 'DELETE', url: '/v1/optouts/13800138000', headers: auth(ADMIN_TOKEN) });
  t.equal(del.statusCode, 200);
  t.equal((await sms(ta, { to: '13800138000', text: '请还款', category: 'collection' })).statusCode, 202, 'opted back in');
});

t.test('429: client rate limit, with Retry-After', async (t) => {
  const ta = app(t, (o) => o.clients.push({ name: 'slow', token: 'slow-token-123', scopes: ['sms'], categories: ['notification'], free_text: true, rate_limit: { per_second: 0.5, burst: 2 } }));
  const body = { to: '13800138000', text: 'hi', category: 'notification' };
  t.equal((await sms(ta, body, 'slow-token-123')).statusCode, 202);
  t.equal((await sms(ta, body, 'slow-token-123')).statusCode, 202);
  const third = await sms(ta, body, 'slow-token-123');
  isError(t, third, 429, 'rate_limited');
  t.ok(Number(third.headers['retry-after']) >= 1, `Retry-After ${third.headers['retry-after']}`);
  t.equal((await sms(ta, body)).statusCode, 202, 'other clients unaffected');
  const batch = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth('slow-token-123'), payload: { messages: [body, body, body] } });
  isError(t, batch, 429, 'rate_limited');

  // A retry answered from its Idempotency-Key is not charged: the client gets its answer back.
  const ta2 = app(t, (o) => o.clients.push({ name: 'slow', token: 'slow-token-123', scopes: ['sms'], categories: ['notification'], free_text: true, rate_limit: { per_second: 0.01, burst: 2 } }));
  const first = await sms(ta2, body, 'slow-token-123', { 'idempotency-key': 'retry-me' });
  t.equal(first.statusCode, 202);
  t.equal((await sms(ta2, { ...body, text: 'second' }, 'slow-token-123')).statusCode, 202, 'bucket now empty');
  const replay = await sms(ta2, body, 'slow-token-123', { 'idempotency-key': 'retry-me' });
  t.equal(replay.statusCode, 202, `replay not rate limited: ${replay.body}`);
  t.equal(replay.json().id, first.json().id);
  isError(t, await sms(ta2, { ...body, text: 'third' }, 'slow-token-123'), 429, 'rate_limited');
  const metrics = (await ta2.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^xinge_intake_total\{category="notification",result="accepted"\} 2$/m, 'the replay is not counted as a new accept');
});

t.test('503: lane over depth refuses bulk, OTP still accepted; draining refuses everything', async (t) => {
  const ta = app(t, (o) => (o.queue = { max_depth: 3, otp_max_depth: 2 }));
  // Not started: nothing leaves the queue.
  for (let i = 0; i < 3; i++) t.equal((await sms(ta, { to: '13800138000', text: `b${i}`, category: i === 0 ? 'marketing' : 'notification' })).statusCode, 202);
  const full = await sms(ta, { to: '13800138000', text: 'one too many', category: 'collection' });
  isError(t, full, 503, 'queue_full');
  t.ok(Number(full.headers['retry-after']) >= 1, 'Retry-After set');
  const otp = await sms(ta, { to: '13800138000', text: '验证码 123456', category: 'otp' });
  t.equal(otp.statusCode, 202, `OTP has its own depth: ${otp.body}`);
  t.equal((await sms(ta, { to: '13900139000', text: '验证码 654321', category: 'otp' })).statusCode, 202);
  const otpFull = await sms(ta, { to: '13700137000', text: '验证码 111111', category: 'otp' });
  isError(t, otpFull, 503, 'queue_full');
  const batch = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { messages: [{ to: '13800138000', text: 'x', category: 'marketing' }] } });
  t.equal(batch.statusCode, 202);
  t.match(batch.json(), { accepted: 0, refused: 1, results: [{ status: 503, error: { code: 'queue_full' } }] });

  const ta2 = app(t, (o) => (o.shutdown_grace_s = 5));
  const fc = ta2.connectors.get('c1')!;
  fc.up = true;
  const release: Array<() => void> = [];
  fc.respond = () => new Promise((r) => release.push(() => r({ kind: 'accepted', carrierMessageId: '77' })));
  await ta2.app.start();
  t.equal((await sms(ta2, { to: '13800138000', text: 'in flight', category: 'notification' })).statusCode, 202);
  await waitFor(() => release.length === 1, 3000, 'held submit');
  const drained = ta2.app.drain();
  const during = await sms(ta2, { to: '13800138000', text: 'too late', category: 'notification' });
  isError(t, during, 503, 'draining');
  t.ok(Number(during.headers['retry-after']) >= 1);
  const duringOtp = await ta2.app.http.inject({ method: 'POST', url: '/v1/otp', headers: auth(), payload: { to: '13800138000', purpose: 'login' } });
  isError(t, duringOtp, 503, 'draining');
  const ready = await ta2.app.http.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503, 'not ready while draining');
  release.shift()!();
  await drained;
  t.equal(ta2.app.store.isOpen(), false, 'store closed after the drain');
});

t.test('POST /v1/sms/batch: up to 1,000, one result per item in order; 1,001 → 400', async (t) => {
  const ta = app(t);
  const messages = Array.from({ length: 1000 }, (_, i) => ({ to: `139${String(i).padStart(8, '0')}`, text: `batch ${i}`, category: 'notification' }));
  messages[3] = { to: '123', text: 'bad number', category: 'notification' };
  messages[500] = { to: '13800138000', text: 'bad category', category: 'spam' };
  (messages[999] as Record<string, unknown>).colour = 'red';
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { messages } });
  t.equal(res.statusCode, 202, res.body.slice(0, 300));
  const body = res.json() as { accepted: number; refused: number; results: Array<Record<string, any>> };
  t.equal(body.results.length, 1000);
  t.equal(body.accepted, 997);
  t.equal(body.refused, 3);
  t.match(body.results[3], { status: 400, error: { code: 'invalid_phone_number', field: 'messages[3].to' } });
  t.match(body.results[500], { status: 400, error: { code: 'invalid_field', field: 'messages[500].category' } });
  t.match(body.results[999], { status: 400, error: { code: 'invalid_field', field: 'messages[999].colour' } });
  let inOrder = true;
  body.results.forEach((r, i) => {
    if (i === 3 || i === 500 || i === 999) return;
    const m = ta.app.store.messages.getMessage(r.id);
    if (m === undefined || m.to !== `+86139${String(i).padStart(8, '0')}` || r.status !== 'queued') inOrder = false;
  });
  t.ok(inOrder, 'each accepted result is the message at its index');
  const tooMany = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { messages: [...messages, messages[0]] } });
  isError(t, tooMany, 400, 'batch_too_large', 'messages');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { messages: [] } }), 400, 'bad_request', 'messages');
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { msgs: [] } }), 400, 'bad_request', 'messages');
});

t.test('DELETE /v1/messages/{id} and POST /v1/messages/cancel by reference: queued/scheduled canceled, on-the-wire reported', async (t) => {
  const ta = app(t);
  const fc = ta.connectors.get('c1')!;
  fc.up = true;
  const release: Array<() => void> = [];
  fc.respond = () => new Promise((r) => release.push(() => r({ kind: 'accepted', carrierMessageId: '91' })));
  await ta.app.start();
  const wire = (await sms(ta, { to: '13800138000', text: 'now', category: 'notification', reference: 'loan-42' })).json().id as string;
  await waitFor(() => release.length === 1, 3000, 'on the wire');
  const tomorrow = new Date(Date.now() + 86400_000).toISOString();
  const sched = await sms(ta, { to: '13800138000', text: 'tomorrow', category: 'notification', reference: 'loan-42', send_at: tomorrow });
  t.equal(sched.json().status, 'scheduled');
  const schedId = sched.json().id as string;
  const otherRef = (await sms(ta, { to: '13800138000', text: 'other', category: 'notification', reference: 'loan-43', send_at: tomorrow })).json().id as string;

  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(), payload: { reference: 'loan-42' } });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json(), { reference: 'loan-42', canceled: [schedId], on_wire: [wire], final: [], not_found: [] });
  t.equal(ta.app.store.messages.getMessage(schedId)!.status, 'canceled');
  t.equal(ta.app.store.messages.getMessage(otherRef)!.status, 'scheduled', 'another reference untouched');
  const again = await ta.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(), payload: { reference: 'loan-42' } });
  t.same(again.json().canceled, [], 'canceling twice cancels nothing more');
  const otherClient = await ta.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(NOTIFY_TOKEN), payload: { reference: 'loan-43' } });
  isError(t, otherClient, 404, 'not_found', 'reference'); // a client cannot cancel (or see) another client's messages
  isError(t, await ta.app.http.inject({ method: 'POST', url: '/v1/messages/cancel', headers: auth(), payload: {} }), 400, 'invalid_field', 'reference');

  const del = await ta.app.http.inject({ method: 'DELETE', url: `/v1/messages/${otherRef}`, headers: auth() });
  t.equal(del.statusCode, 200);
  t.same(del.json(), { canceled: [otherRef], on_wire: [], final: [], not_found: [] });
  const delWire = await ta.app.http.inject({ method: 'DELETE', url: `/v1/messages/${wire}`, headers: auth() });
  t.same(delWire.json(), { canceled: [], on_wire: [wire], final: [], not_found: [] });
  release.shift()!();
  await waitFor(() => ta.app.store.messages.getMessage(wire)?.status === 'submitted', 3000, 'submitted');
  t.equal(fc.submits.length, 1, 'the canceled ones never went out');
});

t.test('Idempotency-Key: same body → first answer; different body → 409; keys survive a restart', async (t) => {
  const dir = tempDir(t);
  const cfg = makeConfig(baseConfigObject(dir));
  const body = { to: '13800138000', text: 'pay', category: 'notification' };
  let ta = startTestApp(cfg);
  const first = await sms(ta, body, TOKEN, { 'idempotency-key': 'k-1' });
  t.equal(first.statusCode, 202);
  const id = first.json().id as string;
  const repeat = await sms(ta, body, TOKEN, { 'idempotency-key': 'k-1' });
  t.equal(repeat.statusCode, 202);
  t.same(repeat.json(), first.json(), 'the first answer, again');
  const concurrent = await Promise.all([1, 2, 3].map(() => sms(ta, { ...body, text: 'race' }, TOKEN, { 'idempotency-key': 'k-race' })));
  t.equal(new Set(concurrent.map((r) => r.json().id)).size, 1, 'concurrent repeats get one id');
  isError(t, await sms(ta, { ...body, text: 'different' }, TOKEN, { 'idempotency-key': 'k-1' }), 409, 'idempotency_conflict', 'Idempotency-Key');
  const otherClient = await sms(ta, body, ADMIN_TOKEN, { 'idempotency-key': 'k-1' });
  t.equal(otherClient.statusCode, 202);
  t.not(otherClient.json().id, id, 'keys are per client');
  const batchBody = { messages: [body, { ...body, to: 'bad' }] };
  const b1 = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: { ...auth(), 'idempotency-key': 'kb' }, payload: batchBody });
  const b2 = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: { ...auth(), 'idempotency-key': 'kb' }, payload: batchBody });
  t.same(b2.json(), b1.json(), 'batch repeat returns the first answer');
  await ta.close();

  ta = startTestApp(cfg);
  t.teardown(() => ta.close());
  const afterRestart = await sms(ta, body, TOKEN, { 'idempotency-key': 'k-1' });
  t.equal(afterRestart.statusCode, 202);
  t.equal(afterRestart.json().id, id, 'same id after a restart');
  isError(t, await sms(ta, { ...body, text: 'changed' }, TOKEN, { 'idempotency-key': 'k-1' }), 409, 'idempotency_conflict');
  const b3 = await ta.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: { ...auth(), 'idempotency-key': 'kb' }, payload: batchBody });
  t.same(b3.json(), b1.json());
});
