/**
 * Issue 6, points 5 and 6 through the HTTP API: frequency caps per number and category over
 * sliding windows, persisted across a restart (429 with Retry-After), and the opt-out list
 * (GET/POST/DELETE /v1/optouts, scope admin) with the categories it applies to.
 */
import t from 'tap';
import { ADMIN_TOKEN, NOTIFY_TOKEN, tempDir } from '../helpers/fixtures.js';
import { Clock, del, get, launch, metric, policyConfig, post, sh, TOKEN } from './fixtures/policy-app.js';

const CAPS = { policy: { frequency_caps: { collection: { per_day: 1, per_week: 3 } } } };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

t.test('collection 1/day and 3/week per number, sliding, kept across a restart', async (t) => {
  const dir = tempDir(t);
  const cfg = policyConfig(dir, CAPS);
  const clock = new Clock(sh('2026-12-01T10:00'));
  let ta = launch(t, cfg, { now: clock.now });
  await ta.app.start();
  const send = (to = '13800138000', category = 'collection') => post(ta, '/v1/sms', { to, category, text: '请按时还款' });

  t.equal((await send()).status, 202, 'day 1 10:00');
  clock.set('2026-12-01T11:00');
  let r = await send();
  t.equal(r.status, 429, 'second within 24 h');
  t.match(r.body.error, { code: 'frequency_cap', field: 'to' });
  t.match(r.body.error.message, /per_day/);
  t.equal(r.headers['retry-after'], String(23 * 3600), 'Retry-After: until the first leaves the 24 h window');
  t.equal((await send('13800138001')).status, 202, 'another number is not capped');
  t.equal((await send('13800138000', 'notification')).status, 202, 'another category is not capped');
  t.equal((await send('+86 138 0013 8000')).status, 429, 'the number is normalised before counting');

  // Sliding: 23:59:59 later still inside, exactly 24 h later out.
  clock.t = sh('2026-12-01T10:00') + DAY - 1000;
  r = await send();
  t.equal(r.status, 429);
  t.equal(r.headers['retry-after'], '1');
  clock.t = sh('2026-12-01T10:00') + DAY;
  t.equal((await send()).status, 202, 'day 2 10:00');

  // Restart on the same database file: the counts survive.
  await ta.close();
  ta = launch(t, cfg, { now: clock.now });
  await ta.app.start();
  clock.set('2026-12-02T18:00');
  r = await send();
  t.equal(r.status, 429, 'after restart, still capped for the day');
  t.equal(r.headers['retry-after'], String(16 * 3600));

  clock.set('2026-12-03T10:00');
  t.equal((await send()).status, 202, 'day 3: third this week');
  clock.set('2026-12-04T10:30');
  r = await send();
  t.equal(r.status, 429, 'day 4: over 3 per week although the day is free');
  t.match(r.body.error.message, /per_week/);
  // The oldest of the three (12-01 10:00) leaves the week at 12-08 10:00.
  t.equal(r.headers['retry-after'], String((sh('2026-12-08T10:00') - sh('2026-12-04T10:30')) / 1000));

  await ta.close();
  ta = launch(t, cfg, { now: clock.now });
  await ta.app.start();
  t.equal((await send()).status, 429, 'weekly cap survives a restart too');
  clock.set('2026-12-08T10:00');
  t.equal((await send()).status, 202, 'the week has slid');
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'frequency_cap' }), 1, 'counted (this process)');
});

t.test('opt-out list: admin scope, add, list, look up, remove', async (t) => {
  const ta = launch(t, policyConfig(tempDir(t)));
  await ta.app.start();

  for (const token of [TOKEN, NOTIFY_TOKEN]) {
    t.equal((await get(ta, '/v1/optouts', token)).status, 403, 'GET needs admin');
    const p = await post(ta, '/v1/optouts', { number: '13800138000' }, token);
    t.equal(p.status, 403, 'POST needs admin');
    t.match(p.body.error, { code: 'forbidden' });
    t.equal((await del(ta, '/v1/optouts/13800138000', token)).status, 403, 'DELETE needs admin');
  }
  const anon = await ta.app.http.inject({ method: 'GET', url: '/v1/optouts' });
  t.equal(anon.statusCode, 401);

  t.same((await get(ta, '/v1/optouts', ADMIN_TOKEN)).body, { optouts: [] });
  const added = await post(ta, '/v1/optouts', { number: '138 0013 8000' }, ADMIN_TOKEN);
  t.equal(added.status, 201);
  t.same(added.body, { number: '+8613800138000', opted_out: true });
  const again = await post(ta, '/v1/optouts', { number: '+8613800138000' }, ADMIN_TOKEN);
  t.equal(again.status, 200, 'adding twice is not an error');
  t.equal((await post(ta, '/v1/optouts', { number: '12345' }, ADMIN_TOKEN)).status, 400, 'bad number');
  t.equal((await post(ta, '/v1/optouts', {}, ADMIN_TOKEN)).status, 400, 'missing number');
  await post(ta, '/v1/optouts', { number: '13900139000' }, ADMIN_TOKEN);

  const list = await get(ta, '/v1/optouts', ADMIN_TOKEN);
  t.match(list.body.optouts, [
    { number: '+8613800138000', source: 'api', created_at: /^\d{4}-/ },
    { number: '+8613900139000', source: 'api' },
  ]);
  t.equal((await get(ta, '/v1/optouts?limit=1', ADMIN_TOKEN)).body.optouts.length, 1);
  t.same((await get(ta, '/v1/optouts?after=%2B8613800138000', ADMIN_TOKEN)).body.optouts.map((o: { number: string }) => o.number), ['+8613900139000']);
  t.same((await get(ta, '/v1/optouts/13800138000', ADMIN_TOKEN)).body, { number: '+8613800138000', opted_out: true });
  t.equal((await get(ta, '/v1/optouts/13700137000', ADMIN_TOKEN)).status, 404);

  const removed = await del(ta, '/v1/optouts/%2B8613800138000', ADMIN_TOKEN);
  t.equal(removed.status, 200);
  t.same(removed.body, { number: '+8613800138000', opted_out: false });
  t.equal((await del(ta, '/v1/optouts/13800138000', ADMIN_TOKEN)).status, 404, 'already removed');
  t.equal((await get(ta, '/v1/optouts/13800138000', ADMIN_TOKEN)).status, 404);
});

t.test('an opted-out number: refused for marketing and collection, not for notification and otp', async (t) => {
  const ta = launch(t, policyConfig(tempDir(t)));
  await ta.app.start();
  const to = '13800138000';
  await post(ta, '/v1/optouts', { number: to }, ADMIN_TOKEN);

  for (const category of ['marketing', 'collection']) {
    const r = await post(ta, '/v1/sms', { to, category, text: '活动' });
    t.equal(r.status, 422, category);
    t.match(r.body.error, { code: 'opted_out', field: 'to' }, category);
  }
  const tpl = await post(ta, '/v1/sms', { to, category: 'marketing', template: 'promo_rate', params: { rate: '1%' } });
  t.equal(tpl.status, 422, 'templates too');
  const batch = await post(ta, '/v1/sms/batch', { messages: [{ to, category: 'marketing', text: 'a' }, { to: '13800138001', category: 'marketing', text: 'b' }] });
  t.match(batch.body, { accepted: 1, refused: 1, results: [{ status: 422, error: { code: 'opted_out' } }, { status: 'queued' }] });
  t.equal((await post(ta, '/v1/sms', { to, category: 'notification', text: '账单' })).status, 202, 'notification goes');
  t.equal((await post(ta, '/v1/sms', { to, category: 'otp', text: '验证码 48213579' })).status, 202, 'otp goes');
  // Another opted-out number for /v1/otp: the OTP limits count /v1/sms otp and /v1/otp together.
  await post(ta, '/v1/optouts', { number: '13900139000' }, ADMIN_TOKEN);
  t.equal((await post(ta, '/v1/otp', { to: '13900139000', purpose: 'login' })).status, 202, '/v1/otp goes');
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'opted_out' }), 4);

  await del(ta, `/v1/optouts/${to}`, ADMIN_TOKEN);
  t.equal((await post(ta, '/v1/sms', { to, category: 'marketing', text: '活动' })).status, 202, 'removed: marketing goes again');
});

t.test('policy.optout.categories decides which categories the list applies to', async (t) => {
  const to = '13800138000';
  const wide = launch(t, policyConfig(tempDir(t), { policy: { optout: { categories: ['marketing', 'collection', 'notification'] } } }));
  await wide.app.start();
  await post(wide, '/v1/optouts', { number: to }, ADMIN_TOKEN);
  t.equal((await post(wide, '/v1/sms', { to, category: 'notification', text: '账单' })).status, 422, 'notification included');
  t.equal((await post(wide, '/v1/sms', { to, category: 'otp', text: '验证码 1234' })).status, 202);

  const narrow = launch(t, policyConfig(tempDir(t), { policy: { optout: { categories: ['marketing'] } } }));
  await narrow.app.start();
  await post(narrow, '/v1/optouts', { number: to }, ADMIN_TOKEN);
  t.equal((await post(narrow, '/v1/sms', { to, category: 'collection', text: '请还款' })).status, 202, 'collection excluded');
  t.equal((await post(narrow, '/v1/sms', { to, category: 'marketing', text: '活动' })).status, 422);
});
