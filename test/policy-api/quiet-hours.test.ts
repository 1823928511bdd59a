/**
 * Issue 6, point 4 through the HTTP API on an injected clock: quiet hours in Asia/Shanghai
 * (collection 09:00–20:00 on working days, notification and marketing 09:00–21:00, OTP
 * always), holidays and make-up working days, `scheduled` with send_at at the next opening
 * or 422 when `outside: refuse`, the window checked again at dispatch, and the calendar
 * coverage metric and warning.
 */
import t from 'tap';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { tempDir, waitFor, type FakeConnector } from '../helpers/fixtures.js';
import { createPolicy } from '../../src/intake/intake-policy.js';
import { openStore } from '../../src/store/index.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { Clock, get, launch, metric, policyConfig, post, QUIET_ON, segText, sh } from './fixtures/policy-app.js';

const iso = (local: string) => new Date(sh(local)).toISOString();

t.test('outside the window: scheduled for the next opening (midnight, weekend, holiday, make-up Saturday)', async (t) => {
  const clock = new Clock(sh('2026-12-01T12:00'));
  const ta = launch(t, policyConfig(tempDir(t), QUIET_ON), { now: clock.now });
  await ta.app.start();
  ta.connectors.get('c1')!.up = false; // keep everything queued: this test is about intake

  // [now (Shanghai), category, expected status, expected send_at (Shanghai)]
  const cases: Array<[string, string, 'queued' | 'scheduled', string]> = [
    // 2026-12-01 is a Tuesday.
    ['2026-12-01T22:30', 'notification', 'scheduled', '2026-12-02T09:00'], // crosses midnight
    ['2026-12-02T00:30', 'notification', 'scheduled', '2026-12-02T09:00'],
    ['2026-12-02T08:59', 'marketing', 'scheduled', '2026-12-02T09:00'],
    ['2026-12-02T09:00', 'marketing', 'queued', '2026-12-02T09:00'],
    ['2026-12-02T20:59', 'notification', 'queued', '2026-12-02T20:59'],
    ['2026-12-02T21:00', 'notification', 'scheduled', '2026-12-03T09:00'],
    ['2026-12-02T19:59', 'collection', 'queued', '2026-12-02T19:59'],
    ['2026-12-02T20:00', 'collection', 'scheduled', '2026-12-03T09:00'],
    // Weekend: Friday evening collection waits for Monday; notification does not care.
    ['2026-12-04T20:30', 'collection', 'scheduled', '2026-12-07T09:00'],
    ['2026-12-05T10:00', 'collection', 'scheduled', '2026-12-07T09:00'],
    ['2026-12-05T10:00', 'notification', 'queued', '2026-12-05T10:00'],
    ['2026-12-06T23:00', 'marketing', 'scheduled', '2026-12-07T09:00'],
    // Holidays 10-01 (Thu), 10-02 (Fri), weekend 10-03/04, holiday 10-05 (Mon): next working day Tue 10-06.
    ['2026-09-30T20:30', 'collection', 'scheduled', '2026-10-06T09:00'],
    ['2026-10-01T10:00', 'collection', 'scheduled', '2026-10-06T09:00'],
    ['2026-10-01T10:00', 'notification', 'queued', '2026-10-01T10:00'], // holidays bind collection only
    // Make-up working day Saturday 10-10.
    ['2026-10-09T20:30', 'collection', 'scheduled', '2026-10-10T09:00'],
    ['2026-10-10T10:00', 'collection', 'queued', '2026-10-10T10:00'],
    ['2026-10-10T20:00', 'collection', 'scheduled', '2026-10-12T09:00'], // Sunday 10-11 is not one
    // OTP: always.
    ['2026-12-02T03:00', 'otp', 'queued', '2026-12-02T03:00'],
    ['2026-10-01T23:59', 'otp', 'queued', '2026-10-01T23:59'],
  ];
  for (const [i, [at, category, status, sendAt]] of cases.entries()) {
    clock.set(at);
    const to = `1380000${String(1000 + i)}`;
    const r = await post(ta, '/v1/sms', { to, category, text: category === 'otp' ? '验证码 12345678' : '提醒一下' });
    t.equal(r.status, 202, `${at} ${category}: ${JSON.stringify(r.body)}`);
    t.equal(r.body.status, status, `${at} ${category} → ${status}`);
    const m = await get(ta, `/v1/messages/${r.body.id}`);
    t.equal(m.body.status, status);
    t.equal(m.body.send_at, iso(sendAt), `${at} ${category} → send_at ${sendAt}`);
  }

  // A requested send_at inside the quiet hours moves to the opening after it.
  clock.set('2026-12-01T10:00');
  const later = await post(ta, '/v1/sms', { to: '13800009999', category: 'notification', text: '稍后', send_at: iso('2026-12-01T23:00') });
  t.equal(later.body.status, 'scheduled');
  t.equal((await get(ta, `/v1/messages/${later.body.id}`)).body.send_at, iso('2026-12-02T09:00'));
});

t.test('outside: refuse answers 422 quiet_hours (OTP still goes)', async (t) => {
  const clock = new Clock(sh('2026-12-01T20:30'));
  const ta = launch(t, policyConfig(tempDir(t), { ...QUIET_ON, policy: { ...QUIET_ON.policy, quiet_hours: { enabled: true, outside: 'refuse' } } }), { now: clock.now });
  await ta.app.start();
  const r = await post(ta, '/v1/sms', { to: '13800138000', category: 'collection', text: '请还款' });
  t.equal(r.status, 422);
  t.match(r.body.error, { code: 'quiet_hours', field: 'category' });
  t.match(r.body.error.message, new RegExp(new Date(sh('2026-12-02T09:00')).toISOString()), 'names the opening');
  const n = await post(ta, '/v1/sms', { to: '13800138000', category: 'notification', text: '通知' });
  t.equal(n.status, 202, 'notification open until 21:00');
  const o = await post(ta, '/v1/otp', { to: '13800138000', purpose: 'login' });
  t.equal(o.status, 202);
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'quiet_hours' }), 1);
});

t.test('the window is checked again at dispatch: a queued collection message waits from 20:05 to the next opening', async (t) => {
  const clock = new Clock(sh('2026-12-01T19:59'));
  const ta = launch(t, policyConfig(tempDir(t), QUIET_ON), { now: clock.now });
  const fc = ta.connectors.get('c1')!;
  // Accepted at 19:59 (inside the window) before the dispatcher runs.
  const c = await post(ta, '/v1/sms', { to: '13800138000', category: 'collection', text: '您的借款已逾期' });
  t.equal(c.body.status, 'queued');
  clock.set('2026-12-01T20:05');
  await ta.app.start();
  const n = await post(ta, '/v1/sms', { to: '13800138001', category: 'notification', text: '通知' });
  await waitFor(() => fc.submits.some((s) => s.messageId === n.body.id), 3000, 'notification sent (dispatcher running)');
  // Let the dispatcher run many passes (tick 10 ms) while the clock says 20:05.
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(fc.submits.some((s) => s.messageId === c.body.id), 'collection not handed to the connector at 20:05');
  t.equal(ta.app.store.messages.getMessage(c.body.id)!.status, 'queued');

  clock.set('2026-12-02T08:59');
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(fc.submits.some((s) => s.messageId === c.body.id), 'still held at 08:59');

  clock.set('2026-12-02T09:00');
  await waitFor(() => fc.submits.some((s) => s.messageId === c.body.id), 3000, 'collection sent at the opening');
  t.equal(segText(fc.submits.find((s) => s.messageId === c.body.id)!), '【测试】您的借款已逾期');
});

t.test('a retry that falls due after 20:00 waits for the next working morning', async (t) => {
  const clock = new Clock(sh('2026-12-04T19:59') + 50_000); // Friday 19:59:50
  // Three days of validity, so the message can still go on Monday morning.
  const ta = launch(t, policyConfig(tempDir(t), { ...QUIET_ON, queue: { max_age_s: 3 * 86400 } }), { now: clock.now });
  const fc: FakeConnector = ta.connectors.get('c1')!;
  let calls = 0;
  fc.respond = () => (++calls === 1 ? { kind: 'rejected', commandStatus: 0x14, statusName: 'ESME_RMSGQFUL' } : { kind: 'accepted', carrierMessageId: String(900 + calls) });
  await ta.app.start();
  const c = await post(ta, '/v1/sms', { to: '13800138000', category: 'collection', text: '请处理' });
  t.equal(c.body.status, 'queued');
  await waitFor(() => calls === 1, 3000, 'first attempt');
  await waitFor(() => ta.app.store.messages.getSegments(c.body.id)[0]?.status === 'queued', 3000, 'requeued');
  clock.set('2026-12-04T20:05');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(calls, 1, 'the retry is not sent at 20:05');
  clock.set('2026-12-05T10:00'); // Saturday
  await new Promise((r) => setTimeout(r, 200));
  t.equal(calls, 1, 'nor on Saturday');
  clock.set('2026-12-07T08:59'); // Monday
  await new Promise((r) => setTimeout(r, 200));
  t.equal(calls, 1, 'nor before 09:00 on Monday');
  clock.set('2026-12-07T09:00');
  await waitFor(() => calls === 2, 3000, 'retried at the opening');
  await waitFor(() => ta.app.store.messages.getMessage(c.body.id)?.status === 'submitted', 3000, 'submitted');
});

t.test('calendar coverage: metric and warning on the injected clock', async (t) => {
  // Direct: createPolicy with the clock as the app passes it.
  const cases: Array<[string, Record<string, number>, boolean]> = [
    ['2026-12-01T12:00', { 2026: 0, 2027: 0 }, false],
    ['2027-03-01T12:00', { 2027: 0, 2028: 1 }, true],
    ['2031-06-01T12:00', { 2031: 1, 2032: 1 }, true],
  ];
  for (const [at, want, warns] of cases) {
    const dir = tempDir(t);
    const cfg = policyConfig(dir, QUIET_ON);
    const store = openStore({ path: join(dir, 'p.db') });
    t.teardown(() => store.close());
    const metrics = createMetrics();
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    createPolicy(cfg, store, logger, metrics, Math.random, () => sh(at));
    const text = await metrics.registry.metrics();
    for (const [year, v] of Object.entries(want)) {
      t.ok(text.includes(`xinge_calendar_missing_year{year="${year}"} ${v}`), `${at}: year ${year} → ${v}`);
    }
    t.equal(lines.some((l) => l.includes('holiday calendar has no entries')), warns, `${at}: warning ${warns}`);
  }

  // Through the app: the dispatcher's passes check again on the app's clock.
  const clock = new Clock(sh('2031-06-01T12:00'));
  const ta = launch(t, policyConfig(tempDir(t), QUIET_ON), { now: clock.now, level: 'warn' });
  await ta.app.start();
  const seen = await waitFor(() => ta.lines.find((l) => l.includes('holiday calendar has no entries') && l.includes('2031')), 3000, 'warning for 2031');
  t.ok(seen);
  t.equal(await metric(ta, 'xinge_calendar_missing_year', { year: '2031' }), 1);
  t.equal(await metric(ta, 'xinge_calendar_missing_year', { year: '2032' }), 1);
  const before = ta.lines.filter((l) => l.includes('holiday calendar has no entries')).length;
  clock.advance(2 * 3_600_000);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(ta.lines.filter((l) => l.includes('holiday calendar has no entries')).length, before, 'warned once per year, not hourly');
});
