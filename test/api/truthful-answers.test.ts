/**
 * Issue 15, point 5: truthful, conventional answers. DELETE of an unknown id and cancel of
 * an unknown reference answer the same not_found shape; send_at without a UTC offset is
 * wall time in policy.timezone; "code": 123456 says it must be a string of digits; a limit's
 * refusal names the limit in plain words with Retry-After. (405 and 415: http-edges.test.ts.)
 */
import t, { type Test } from 'tap';
import { NOTIFY_TOKEN, TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir, type TestApp } from '../helpers/fixtures.js';

function app(t: Test, mutate: (o: Record<string, any>) => void = () => {}): TestApp {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  mutate(obj);
  const ta = startTestApp(makeConfig(obj));
  ta.connectors.get('c1')!.up = false;
  t.teardown(() => ta.close());
  return ta;
}
const inject = (ta: TestApp, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, token = TOKEN) =>
  ta.app.http.inject({ method, url, headers: auth(token), ...(payload === undefined ? {} : { payload: payload as object }) });

t.test('unknown id and unknown reference: the same not_found shape', async (t) => {
  const ta = app(t);
  const del = await inject(ta, 'DELETE', '/v1/messages/msg_nope');
  const ref = await inject(ta, 'POST', '/v1/messages/cancel', { reference: 'no-such-ref' });
  t.equal(del.statusCode, 404);
  t.equal(ref.statusCode, 404);
  t.same(del.json(), { error: { code: 'not_found', message: 'no message with this id', field: 'id' } });
  t.same(ref.json(), { error: { code: 'not_found', message: 'no message with this reference', field: 'reference' } });
});

t.test('send_at without an offset is read in policy.timezone; with one, as given', async (t) => {
  const ta = app(t);
  const year = new Date().getUTCFullYear() + 1;
  const cases: Array<[string, number]> = [
    [`${year}-03-01T09:00:00`, Date.UTC(year, 2, 1, 1, 0, 0)], // Asia/Shanghai is UTC+8
    [`${year}-03-01 09:00`, Date.UTC(year, 2, 1, 1, 0, 0)],
    [`${year}-03-01T09:00:00+08:00`, Date.UTC(year, 2, 1, 1, 0, 0)],
    [`${year}-03-01T09:00:00Z`, Date.UTC(year, 2, 1, 9, 0, 0)],
    [`${year}-03-01T09:00:00.250-0500`, Date.UTC(year, 2, 1, 14, 0, 0, 250)],
  ];
  for (const [sendAt, expected] of cases) {
    const r = await inject(ta, 'POST', '/v1/sms', { to: '13800138000', text: 'x', category: 'notification', send_at: sendAt });
    t.equal(r.statusCode, 202, `${sendAt}: ${r.body}`);
    t.equal(ta.app.store.messages.getMessage(r.json().id)!.sendAt, expected, sendAt);
  }
  const utc = app(t, (o) => (o.policy.timezone = 'UTC'));
  const r = await inject(utc, 'POST', '/v1/sms', { to: '13800138000', text: 'x', category: 'notification', send_at: `${year}-03-01T09:00:00` });
  t.equal(utc.app.store.messages.getMessage(r.json().id)!.sendAt, Date.UTC(year, 2, 1, 9), 'another policy.timezone');
  for (const bad of [`${year}-02-30T09:00:00`, `${year}-03-01T25:00:00`, `${year}-03-01T09:00:00+15:00`, '09:00', `${year}-03-01`]) {
    const b = await inject(ta, 'POST', '/v1/sms', { to: '13800138000', text: 'x', category: 'notification', send_at: bad });
    t.equal(b.statusCode, 400, `${bad}: ${b.body}`);
    t.match(b.json(), { error: { code: 'invalid_field', field: 'send_at' } });
  }
});

t.test('"code": a JSON number is refused with what to send instead', async (t) => {
  const ta = app(t);
  const r = await inject(ta, 'POST', '/v1/otp/verify', { to: '13800138000', purpose: 'login', code: 123456 });
  t.equal(r.statusCode, 400);
  t.match(r.json(), { error: { code: 'invalid_field', field: 'code', message: /must be a string of digits/ } });
  t.match(r.json().error.message, /"012345"/, 'shows the quoted form');
});

t.test('limits say which limit, in plain words, with Retry-After', async (t) => {
  const ta = app(t, (o) => {
    o.clients[2].rate_limit = { per_second: 1, burst: 1 };
    o.clients[2].free_text = true;
    o.policy.frequency_caps = { notification: { per_day: 1 } };
  });
  const msg = { to: '13800138000', text: 'x', category: 'notification' };
  t.equal((await inject(ta, 'POST', '/v1/sms', msg, NOTIFY_TOKEN)).statusCode, 202);
  const rl = await inject(ta, 'POST', '/v1/sms', { ...msg, to: '13900139000' }, NOTIFY_TOKEN);
  t.equal(rl.statusCode, 429);
  t.ok(Number(rl.headers['retry-after']) >= 1, 'Retry-After');
  t.match(rl.json().error.message, /client notify is over its rate limit of 1 requests a second .*clients\[\]\.rate_limit.*retry in \d+ s/);
  const cap = await inject(ta, 'POST', '/v1/sms', msg);
  t.equal(cap.statusCode, 429, cap.body);
  t.ok(Number(cap.headers['retry-after']) > 3600, 'Retry-After until the day window frees');
  t.match(cap.json().error.message, /this number has had its 1 notification messages for 24 hours \(policy\.frequency_caps\.notification\.per_day\): retry in \d+ s/);
  const otp = await inject(ta, 'POST', '/v1/otp', { to: '13700137000', purpose: 'login' });
  t.equal(otp.statusCode, 202, otp.body);
  const again = await inject(ta, 'POST', '/v1/otp', { to: '13700137000', purpose: 'login' });
  t.equal(again.statusCode, 429);
  t.match(again.json().error.message, /policy\.otp\.resend_after_s/);
  t.ok(Number(again.headers['retry-after']) >= 1);
});
