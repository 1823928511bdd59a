/**
 * Issue 15, point 10: no input gives a 5xx. fast-check throws random bodies, path
 * parameters and query strings (repeated names included) at every route the app
 * registered, with every token, and asserts the answer is below 500 and in the API's error
 * shape when it is an error. Then every message the run got accepted is read back (a
 * send_at past the JavaScript date range used to make every later GET answer 500).
 * The known fuzz findings are pinned as examples.
 */
import t from 'tap';
import fc from 'fast-check';
import { registeredRoutes } from '../../src/intake/http-server.js';
import { ADMIN_TOKEN, NOTIFY_TOKEN, TOKEN, baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

const FIELDS = ['to', 'text', 'template', 'params', 'category', 'from', 'send_at', 'validity_s', 'reference', 'callback_url', 'overdue_days',
  'messages', 'purpose', 'length', 'ttl_s', 'id', 'code', 'number'];
const NASTY = [1e21, 2 ** 53, -1, 0, 1.5, -0, Number.MAX_VALUE, '+275760-09-13T00:00:00.000Z', '275760-09-13T00:00:00Z', '9999-12-31T23:59:59',
  '1969-12-31T23:59:59Z', '13800138000', '+8613800138000', 'otp', 'notification', 'collection', 'marketing', 'repay_reminder', '01', '', ' ',
  '\u0000', '{name}', '%', 'http://127.0.0.1:9/x', 'msg_0000000000000000000000', null, true, [], {}];

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...NASTY),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string()), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A valid SMS with one or two fields replaced: gets past the first checks into policy and the store. */
const nearlyValid = fc
  .record({
    base: fc.record({ to: fc.constantFrom('13800138000', '+8613900139000', '8613700137000'), text: fc.constantFrom('您好', 'hello'), category: fc.constantFrom('notification', 'collection', 'marketing', 'otp') }),
    changes: fc.dictionary(fc.constantFrom('send_at', 'validity_s', 'from', 'reference', 'callback_url', 'overdue_days', 'template', 'params', 'text'), fc.oneof(fc.constantFrom(...NASTY), value), { maxKeys: 1 }),
  })
  .map(({ base, changes }) => ({ ...base, ...changes }));

const body = fc.oneof(
  nearlyValid.map((o) => JSON.stringify(o)),
  fc.array(nearlyValid, { minLength: 1, maxLength: 3 }).map((messages) => JSON.stringify({ messages })),
  fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), value, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
  fc.record({ messages: fc.array(fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }), { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
  value.map((v) => JSON.stringify(v) ?? 'null'),
  fc.string(),
  fc.constant(''),
);
const segment = fc.oneof(fc.constantFrom('13800138000', '%2B8613800138000', 'c1', 'msg_x', '%E0%A4%A', '..', '%00'), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent));
const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('after', 'limit', 'number', 'since', 'until', 'intent', 'cursor', 'client', 'to'), fc.string({ maxLength: 6 })), fc.oneof(fc.constantFrom('1', '2', '1e21', '-1', '13800138000', 'paid', '2026-01-01T00:00:00'), fc.string({ maxLength: 10 }))), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`));
const contentType = fc.oneof({ arbitrary: fc.constant('application/json'), weight: 6 }, { arbitrary: fc.constantFrom('text/plain', undefined), weight: 1 });
const token = fc.oneof({ arbitrary: fc.constant(TOKEN), weight: 4 }, { arbitrary: fc.constantFrom(ADMIN_TOKEN, NOTIFY_TOKEN, undefined, 'nope'), weight: 2 });

t.test('random requests at every route: never a 5xx', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.clients[0].source_extension = '01';
  obj.clients[0].callback_origins = ['http://127.0.0.1:9'];
  obj.policy.quiet_hours = { enabled: true, outside: 'defer' };
  obj.policy.frequency_caps = { collection: { per_day: 100 } };
  obj.templates = [{ id: 'repay_reminder', category: 'notification', status: 'approved', text: '您好{name}' }];
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  await ta.app.start();
  const routes = registeredRoutes(ta.app.http).filter((r) => !r.methods.includes('HEAD') || r.methods.length > 1);
  t.ok(routes.some((r) => r.url === '/v1/replies'), `${routes.length} routes registered`);
  const allRoutes = fc.constantFrom(...routes.flatMap((r) => r.methods.filter((m) => m !== 'HEAD').map((m) => ({ url: r.url, method: m }))));
  // Half the requests go to the submitting routes, the rest anywhere.
  const route = fc.oneof(fc.constantFrom({ url: '/v1/sms', method: 'POST' }, { url: '/v1/sms/batch', method: 'POST' }), allRoutes);
  const accepted: string[] = [];
  const failures: string[] = [];

  const send = async (method: string, url: string, payload: string | undefined, ct: string | undefined, tok: string | undefined) => {
    const headers: Record<string, string> = {};
    if (tok !== undefined) headers.authorization = `Bearer ${tok}`;
    if (ct !== undefined && payload !== undefined) headers['content-type'] = ct;
    const res = await ta.app.http.inject({ method: method as 'GET', url, headers, ...(payload !== undefined && method !== 'GET' ? { payload } : {}) });
    if (res.statusCode >= 500 && res.json()?.error?.code !== 'draining' && res.json()?.error?.code !== 'queue_full') {
      failures.push(`${method} ${url} ${payload?.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    if (res.statusCode >= 400) {
      const b = res.json() as { error?: { code?: unknown; message?: unknown } };
      if (typeof b.error?.code !== 'string' || typeof b.error?.message !== 'string') failures.push(`${method} ${url}: ${res.statusCode} not in the API shape: ${res.body.slice(0, 200)}`);
    }
    if (res.statusCode === 202) {
      const j = res.json() as { id?: string; results?: Array<{ id?: string }> };
      if (typeof j.id === 'string' && j.id.startsWith('msg_')) accepted.push(j.id);
      for (const r of j.results ?? []) if (typeof r.id === 'string') accepted.push(r.id);
    }
    return res.statusCode;
  };

  // The findings of issue 15, pinned.
  for (const sendAt of [1e21, 2 ** 53, '+275760-09-13T00:00:00.000Z']) {
    t.equal(await send('POST', '/v1/sms', JSON.stringify({ to: '13800138000', text: 'x', category: 'notification', send_at: sendAt }), 'application/json', TOKEN), 400, `send_at ${sendAt}`);
    t.equal(await send('POST', '/v1/sms', JSON.stringify({ to: '13800138000', text: 'x', category: 'collection', send_at: sendAt }), 'application/json', TOKEN), 400, `send_at ${sendAt} with quiet hours`);
  }
  t.equal(await send('GET', '/v1/optouts?after=1&after=2', undefined, undefined, ADMIN_TOKEN), 400, 'repeated after');

  await fc.assert(
    fc.asyncProperty(route, fc.array(segment, { minLength: 3, maxLength: 3 }), query, body, contentType, token, async (r, segs, q, b, ct, tok) => {
      let i = 0;
      const path = r.url.replace(/:[A-Za-z_]+|\*/g, () => segs[i++ % segs.length]!);
      await send(r.method, path + q, r.method === 'GET' ? undefined : b, ct, tok);
      return failures.length === 0;
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 400), endOnFailure: true },
  );
  for (const id of accepted) await send('GET', `/v1/messages/${id}`, undefined, undefined, ADMIN_TOKEN);
  t.same(failures, [], `no 5xx over the run (${accepted.length} messages accepted and read back)`);
});
