/**
 * Issue 6, points 7 and 8 through the HTTP API (fake connector, injected clock): POST
 * /v1/otp and /v1/otp/verify as in SPEC 3, TTL bounds, single use, attempts, supersede,
 * per-number limits shared with POST /v1/sms category otp, the encrypted body and its purge,
 * never sent after the TTL, the otp lane outside quiet hours, and the OTP metrics.
 */
import t from 'tap';
import { otherConnection } from '../helpers/test-store.js';
import { ADMIN_TOKEN, baseConfigObject, NOTIFY_TOKEN, tempDir, waitFor, type FakeConnector, type TestApp } from '../helpers/fixtures.js';
import { Clock, launch, metric, policyConfig, post, QUIET_ON, segText, sh, type Teardown } from './fixtures/policy-app.js';

const TO = '13800138000';
const E164 = '+8613800138000';

function start(t: Teardown, patch: Record<string, unknown> = {}, at = '2026-12-01T10:00'): { ta: TestApp; fc: FakeConnector; clock: Clock; dbPath: { path: string; driver?: string; url?: string } } {
  const dir = tempDir(t);
  const clock = new Clock(sh(at));
  const ta = launch(t, policyConfig(dir, patch), { now: clock.now });
  const fc = ta.connectors.get('c1')!;
  fc.respond = (seg) => ({ kind: 'accepted', carrierMessageId: String(500000 + seg.segmentId) });
  return { ta, fc, clock, dbPath: { path: ta.app.config().store.path, driver: ta.app.config().store.driver, url: ta.app.config().store.url } };
}

/** The message row's body columns, read with a separate connection. */
function bodyColumns(dbPath: { path: string; driver?: string; url?: string }, messageId: string): { body: string | null; body_enc: Buffer | null; status: string } {
  const db = otherConnection(dbPath);
  try {
    return db.get('SELECT body, body_enc, status FROM messages WHERE id = ?', messageId) as { body: string | null; body_enc: Buffer | null; status: string };
  } finally {
    db.close();
  }
}

const messageOf = (ta: TestApp, otpId: string) => ta.app.store.aux.getOtp(otpId)!.messageId!;

/** The code as the handset sees it: read from what the connector was given. */
async function codeFrom(fc: FakeConnector, messageId: string): Promise<string> {
  const seg = await waitFor(() => fc.submits.find((s) => s.messageId === messageId), 3000, `OTP ${messageId} sent`);
  const m = /验证码(?:是)?(\d+)/.exec(segText(seg));
  if (m === null) throw new Error('no code in the OTP text');
  return m[1]!;
}

const verify = (ta: TestApp, body: Record<string, unknown>, token?: string) => post(ta, '/v1/otp/verify', body, token);

t.test('POST /v1/otp answers {id, expires_at, resend_after}; the code verifies once', async (t) => {
  const { ta, fc, clock, dbPath } = start(t);
  await ta.app.start();
  const r = await post(ta, '/v1/otp', { to: TO, purpose: 'login' });
  t.equal(r.status, 202);
  t.same(Object.keys(r.body).sort(), ['expires_at', 'id', 'resend_after'], 'exactly the SPEC 3 fields');
  t.equal(r.body.expires_at, new Date(clock.t + 300_000).toISOString(), 'default ttl 300 s');
  t.equal(r.body.resend_after, new Date(clock.t + 60_000).toISOString());

  const mid = messageOf(ta, r.body.id);
  const before = bodyColumns(dbPath, mid);
  t.equal(before.body, null, 'no clear body');
  t.ok(before.body_enc !== null && before.body_enc.length > 28, 'encrypted body stored');

  const code = await codeFrom(fc, mid);
  t.match(code, /^\d{6}$/);
  const seg = fc.submits.find((s) => s.messageId === mid)!;
  t.equal(seg.lane, 'otp', 'the otp lane');
  t.equal(segText(seg), `【测试】您的验证码是${code}，5分钟内有效，请勿泄露。`);

  t.same((await verify(ta, { id: r.body.id, code })).body, { valid: true });
  t.same((await verify(ta, { id: r.body.id, code })).body, { valid: false, reason: 'used' }, 'single use');
  t.same((await verify(ta, { to: TO, purpose: 'login', code })).body, { valid: false, reason: 'used' }, 'by number and purpose too');
  await waitFor(() => bodyColumns(dbPath, mid).body_enc === null, 2000, 'body purged');
  t.equal(bodyColumns(dbPath, mid).status, 'submitted', 'purged although no receipt came yet');

  t.same((await verify(ta, { id: 'otp_nope', code })).body, { valid: false, reason: 'not_found' });
  t.same((await verify(ta, { to: '13900139000', purpose: 'login', code })).body, { valid: false, reason: 'not_found' });
  t.same((await verify(ta, { to: TO, purpose: 'other', code })).body, { valid: false, reason: 'not_found' });
  t.equal((await verify(ta, { id: r.body.id, code: 'abc' })).status, 400);
  t.equal((await verify(ta, { id: r.body.id })).status, 400);

  t.equal(await metric(ta, 'xinge_otp_total', { event: 'sent', result: 'accepted' }), 1);
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'verify', result: 'valid' }), 1);
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'verify', result: 'used' }), 2);
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'verify', result: 'not_found' }), 3);
});

t.test('verify by {to, purpose, code}; full-width digits; another client cannot see it', async (t) => {
  const dir = tempDir(t);
  const clients = [
    ...(baseConfigObject(dir).clients as Array<Record<string, unknown>>),
    { name: 'other', token: 'test-token-other-1', scopes: ['sms', 'otp'], categories: ['otp'] },
  ];
  const clock = new Clock(sh('2026-12-01T10:00'));
  const ta = launch(t, policyConfig(dir, { clients }), { now: clock.now });
  const fc = ta.connectors.get('c1')!;
  await ta.app.start();
  const r = await post(ta, '/v1/otp', { to: TO, purpose: 'pay', length: 8 });
  const code = await codeFrom(fc, messageOf(ta, r.body.id));
  t.equal(code.length, 8);
  t.same((await verify(ta, { to: TO, purpose: 'pay', code }, 'test-token-other-1')).body, { valid: false, reason: 'not_found' }, 'other client');
  t.same((await verify(ta, { id: r.body.id, code }, 'test-token-other-1')).body, { valid: false, reason: 'not_found' });
  const fullWidth = code.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  t.same((await verify(ta, { to: `+86${TO}`, purpose: 'pay', code: fullWidth })).body, { valid: true });
});

t.test('scopes and validation', async (t) => {
  const dir = tempDir(t);
  const clients = [
    ...(baseConfigObject(dir).clients as Array<Record<string, unknown>>),
    { name: 'nootp', token: 'test-token-nootp-1', scopes: ['sms'], categories: ['otp', 'notification'], free_text: true },
  ];
  const ta = launch(t, policyConfig(dir, { clients }));
  await ta.app.start();
  for (const token of [ADMIN_TOKEN, NOTIFY_TOKEN, 'test-token-nootp-1']) {
    t.equal((await post(ta, '/v1/otp', { to: TO, purpose: 'login' }, token)).status, 403, 'POST /v1/otp needs scope otp');
    t.equal((await post(ta, '/v1/otp/verify', { to: TO, purpose: 'login', code: '123456' }, token)).status, 403, 'verify too');
  }
  const sms = await post(ta, '/v1/sms', { to: TO, category: 'otp', text: '验证码 123456' }, 'test-token-nootp-1');
  t.equal(sms.status, 403, 'POST /v1/sms category otp needs scope otp');
  t.match(sms.body.error, { code: 'forbidden', field: 'category' });

  const bad: Array<[Record<string, unknown>, string]> = [
    [{ to: TO, purpose: 'login', ttl_s: 59 }, 'ttl_s'],
    [{ to: TO, purpose: 'login', ttl_s: 601 }, 'ttl_s'],
    [{ to: TO, purpose: 'login', ttl_s: 120.5 }, 'ttl_s'],
    [{ to: TO, purpose: 'login', length: 3 }, 'length'],
    [{ to: TO, purpose: 'login', length: 11 }, 'length'],
    [{ to: TO }, 'purpose'],
    [{ purpose: 'login' }, 'to'],
    [{ to: '12345', purpose: 'login' }, 'to'],
    [{ to: TO, purpose: 'login', template: 'no_such' }, 'template'],
    [{ to: TO, purpose: 'login', template: 'promo_rate' }, 'template'],
  ];
  for (const [body, field] of bad) {
    const r = await post(ta, '/v1/otp', body);
    t.equal(r.status, 400, JSON.stringify(body));
    t.equal(r.body.error.field, field, JSON.stringify(body));
  }
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'sent', result: 'invalid_field' }), 7, 'ttl_s ×3, length ×2, purpose, template category');
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'sent', result: 'unknown_template' }), 1);
  for (const ttl of [60, 600]) {
    const r = await post(ta, '/v1/otp', { to: `1390013900${ttl === 60 ? 1 : 2}`, purpose: 'login', ttl_s: ttl });
    t.equal(r.status, 202, `ttl_s ${ttl}`);
  }
});

t.test('templates for /v1/otp: signature per template, {ttl_min} optional', async (t) => {
  const { ta, fc } = start(t, { policy: { otp: { template: 'otp_login' } } });
  await ta.app.start();
  const a = await post(ta, '/v1/otp', { to: TO, purpose: 'login', ttl_s: 120 });
  const ma = messageOf(ta, a.body.id);
  const ca = await codeFrom(fc, ma);
  t.equal(segText(fc.submits.find((s) => s.messageId === ma)!), `【测试】您的验证码是${ca}，2分钟内有效，请勿泄露。`);
  const b = await post(ta, '/v1/otp', { to: '13900139000', purpose: 'login', template: 'otp_short' });
  t.equal(b.status, 202, JSON.stringify(b.body));
  const mb = messageOf(ta, b.body.id);
  const cb = await codeFrom(fc, mb);
  t.equal(segText(fc.submits.find((s) => s.messageId === mb)!), `【信鸽安全】验证码${cb}，请勿泄露。`);
  t.equal(ta.app.store.messages.getMessage(mb)!.templateId, 'otp_short');
});

t.test('mismatches count; the fifth locks it, even against the right code; lock purges and cancels', async (t) => {
  const { ta, fc, dbPath } = start(t);
  await ta.app.start();
  const r = await post(ta, '/v1/otp', { to: TO, purpose: 'login', length: 8 });
  const mid = messageOf(ta, r.body.id);
  const code = await codeFrom(fc, mid);
  const wrong = code === '00000000' ? '11111111' : '00000000';
  for (let i = 1; i <= 5; i++) t.same((await verify(ta, { id: r.body.id, code: wrong })).body, { valid: false, reason: 'mismatch' }, `attempt ${i}`);
  t.same((await verify(ta, { id: r.body.id, code })).body, { valid: false, reason: 'too_many_attempts' });
  t.equal(ta.app.store.aux.getOtp(r.body.id)!.status, 'locked');
  t.equal(bodyColumns(dbPath, mid).body_enc, null, 'locked: body purged');
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'verify', result: 'mismatch' }), 5);
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'verify', result: 'too_many_attempts' }), 1);

  // Locked before it went out: the message is canceled, never sent.
  ta.connectors.get('c1')!.up = false;
  const q = await post(ta, '/v1/otp', { to: '13900139000', purpose: 'login' });
  const qm = messageOf(ta, q.body.id);
  for (let i = 0; i < 5; i++) await verify(ta, { id: q.body.id, code: '000000' });
  const row = bodyColumns(dbPath, qm);
  t.equal(row.status, 'canceled');
  t.equal(row.body_enc, null);
  fc.up = true;
  await new Promise((res) => setTimeout(res, 200));
  t.notOk(fc.submits.some((s) => s.messageId === qm), 'never handed to the connector');
});

t.test('a new send for the same number and purpose invalidates the previous code', async (t) => {
  const { ta, fc, clock, dbPath } = start(t);
  await ta.app.start();
  const first = await post(ta, '/v1/otp', { to: TO, purpose: 'login', length: 8 });
  const m1 = messageOf(ta, first.body.id);
  const c1 = await codeFrom(fc, m1);
  // On the wire means its submit_sm_resp is recorded: while the segment is still
  // `submitting` it may be sent again, so its body is kept until then.
  await waitFor(() => ta.app.store.messages.getSegments(m1)[0]?.status === 'submitted', 3000, 'first OTP submitted');
  clock.advance(61_000);
  const second = await post(ta, '/v1/otp', { to: TO, purpose: 'login', length: 8 });
  t.equal(second.status, 202);
  const c2 = await codeFrom(fc, messageOf(ta, second.body.id));
  t.equal(ta.app.store.aux.getOtp(first.body.id)!.status, 'superseded');
  t.equal(bodyColumns(dbPath, m1).body_enc, null, 'superseded: body purged (it was on the wire)');
  t.same((await verify(ta, { id: first.body.id, code: c1 })).body, { valid: false, reason: 'expired' }, 'old id: superseded');
  if (c1 !== c2) t.same((await verify(ta, { to: TO, purpose: 'login', code: c1 })).body, { valid: false, reason: 'mismatch' }, 'old code against the new OTP');
  t.same((await verify(ta, { to: TO, purpose: 'login', code: c2 })).body, { valid: true });

  // Superseded before it went out: canceled.
  fc.up = false;
  clock.advance(61_000);
  const third = await post(ta, '/v1/otp', { to: TO, purpose: 'reset' });
  clock.advance(61_000);
  const fourth = await post(ta, '/v1/otp', { to: TO, purpose: 'reset' });
  t.equal(fourth.status, 202);
  t.equal(bodyColumns(dbPath, messageOf(ta, third.body.id)).status, 'canceled');
  t.equal(bodyColumns(dbPath, messageOf(ta, third.body.id)).body_enc, null);
});

t.test('expired at verify; never sent after its TTL', async (t) => {
  const { ta, fc, clock, dbPath } = start(t);
  await ta.app.start();
  const r = await post(ta, '/v1/otp', { to: TO, purpose: 'login', ttl_s: 60 });
  const code = await codeFrom(fc, messageOf(ta, r.body.id));
  clock.advance(60_000);
  t.same((await verify(ta, { id: r.body.id, code })).body, { valid: false, reason: 'expired' }, 'at exactly the TTL');
  t.equal(bodyColumns(dbPath, messageOf(ta, r.body.id)).body_enc, null);

  fc.up = false;
  clock.advance(60_000);
  const late = await post(ta, '/v1/otp', { to: '13900139000', purpose: 'login', ttl_s: 60 });
  const lm = messageOf(ta, late.body.id);
  clock.advance(60_000);
  fc.up = true;
  await waitFor(() => bodyColumns(dbPath, lm).status === 'expired', 3000, 'expired at dispatch');
  t.notOk(fc.submits.some((s) => s.messageId === lm), 'not handed to the connector after its TTL');
  t.equal(bodyColumns(dbPath, lm).body_enc, null, 'final state: body purged');
});

t.test('limits per number: 1/min, 5/hour, 10/day, shared with POST /v1/sms category otp', async (t) => {
  const { ta, clock } = start(t);
  await ta.app.start();
  const t0 = clock.t;
  const at = (s: number) => (clock.t = t0 + s * 1000);
  const otp = (purpose = 'login') => post(ta, '/v1/otp', { to: TO, purpose });
  const sms = () => post(ta, '/v1/sms', { to: TO, category: 'otp', text: '您的验证码是 55512345' });

  t.equal((await otp()).status, 202);
  at(30);
  let r = await otp();
  t.equal(r.status, 429);
  t.match(r.body.error, { code: 'otp_rate_limited', field: 'to' });
  t.equal(r.headers['retry-after'], '30');
  r = await sms();
  t.equal(r.status, 429, '/v1/sms otp counts the /v1/otp send');
  t.equal(r.headers['retry-after'], '30');
  t.equal((await otp('pay')).status, 429, 'the limits are per number, across purposes');
  at(60);
  t.equal((await sms()).status, 202, 'a minute later: /v1/sms otp');
  at(90);
  r = await otp();
  t.equal(r.status, 429, '/v1/otp counts the /v1/sms otp send');
  t.equal(r.headers['retry-after'], '30');
  for (const s of [120, 180, 240]) {
    at(s);
    t.equal((await otp()).status, 202, `t+${s}s`);
  }
  at(300);
  r = await otp();
  t.equal(r.status, 429, 'sixth within the hour');
  t.match(r.body.error.message, /per_hour/);
  t.equal(r.headers['retry-after'], String(3600 - 300));
  for (const s of [3600, 3660, 3720, 3780, 3840]) {
    at(s);
    t.equal((await (s === 3720 ? sms() : otp())).status, 202, `t+${s}s`);
  }
  at(7200);
  r = await otp();
  t.equal(r.status, 429, 'eleventh within the day');
  t.match(r.body.error.message, /per_day/);
  t.equal(r.headers['retry-after'], String(86400 - 7200));
  t.equal((await post(ta, '/v1/otp', { to: '13900139000', purpose: 'login' })).status, 202, 'another number is free');
  at(86400);
  t.equal((await otp()).status, 202, 'the day has slid');
  t.equal(await metric(ta, 'xinge_otp_total', { event: 'sent', result: 'otp_rate_limited' }), 5, '/v1/otp refusals');
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'otp_rate_limited' }), 6, '/v1/otp and /v1/sms refusals');
});

t.test('POST /v1/sms category otp: body sealed, purged at the final state', async (t) => {
  const { ta, fc, dbPath } = start(t);
  await ta.app.start();
  const r = await post(ta, '/v1/sms', { to: TO, category: 'otp', text: '您的验证码是 90817263' });
  t.equal(r.status, 202);
  const row = bodyColumns(dbPath, r.body.id);
  t.equal(row.body, null);
  t.ok(row.body_enc);
  const seg = await waitFor(() => fc.submits.find((s) => s.messageId === r.body.id), 3000, 'sent');
  t.equal(segText(seg), '【测试】您的验证码是 90817263');
  t.equal(seg.lane, 'otp');
  await waitFor(() => ta.app.store.messages.getMessage(r.body.id)?.status === 'submitted', 3000, 'submitted');
  t.equal(await fc.receipt(String(500000 + seg.segmentId), 'DELIVRD'), 0);
  t.equal(bodyColumns(dbPath, r.body.id).body_enc, null, 'final: purged');
});

t.test('OTP is never deferred by quiet hours', async (t) => {
  const { ta, fc } = start(t, QUIET_ON, '2026-10-01T03:00'); // a holiday, 03:00
  await ta.app.start();
  const r = await post(ta, '/v1/otp', { to: TO, purpose: 'login' });
  t.equal(r.status, 202);
  const mid = messageOf(ta, r.body.id);
  t.equal(ta.app.store.messages.getMessage(mid)!.sendAt, sh('2026-10-01T03:00'));
  const seg = await waitFor(() => fc.submits.find((s) => s.messageId === mid), 3000, 'sent at 03:00');
  t.equal(seg.lane, 'otp');
  const c = await post(ta, '/v1/sms', { to: '13900139000', category: 'collection', text: '请还款' });
  t.equal(c.body.status, 'scheduled', 'while collection waits');
});
