/** Policy on MMS as on SMS: quiet hours defer, templates render, opt-outs refuse (with an injected clock). */
import t from 'tap';
import { auth } from '../helpers/fixtures.js';
import { startMmsEnv } from './helpers/env.js';

// Monday 2026-12-07 22:00 in Shanghai: collection (09:00-20:00 working days) is closed.
const LATE = Date.UTC(2026, 11, 7, 14, 0, 0);
const NEXT_OPENING = Date.UTC(2026, 11, 8, 1, 0, 0);

t.test('quiet hours defer an MMS to the next opening; templates render its text; opted-out numbers are refused', async (t) => {
  const { env, sim } = await startMmsEnv(t, {
    now: () => LATE,
    edit: (cfg) => {
      (cfg.policy as Record<string, unknown>).quiet_hours = { enabled: true };
      cfg.templates = [{ id: 'stmt', category: 'collection', status: 'approved', text: '{name}您好，您的借款已逾期{overdue_days}天。' }];
    },
  });
  const res = await env.app.http.inject({
    method: 'POST', url: '/v1/mms', headers: auth(),
    payload: { to: '13800138000', category: 'collection', template: 'stmt', params: { name: '张三' }, overdue_days: 3, parts: [{ content_type: 'image/gif', content_base64: 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7' }] },
  });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().status, 'scheduled');
  const rec = env.app.store.mms.get(res.json().id)!;
  t.equal(rec.sendAt, NEXT_OPENING);
  t.equal(rec.templateId, 'stmt');
  const parts = env.app.store.mms.parts(rec.id);
  t.same(parts.map((p) => p.contentType), ['text/plain', 'image/gif'], 'the rendered template is the first text part');
  t.equal(parts[0]!.text, '【测试】张三您好，您的借款已逾期3天。');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(sim.received.length, 0, 'nothing goes out before the opening');

  const notApproved = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { to: '13800138000', category: 'collection', template: 'nope' } });
  t.equal(notApproved.statusCode, 400);
  await env.app.store.commit.run(() => env.app.store.aux.addOptOut('+8613800138000', 'test', LATE));
  const opted = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { to: '13800138000', category: 'collection', parts: [{ content_type: 'text/plain', text: '催收通知' }] } });
  t.equal(opted.statusCode, 422);
  t.equal(opted.json().error.code, 'opted_out');
});
