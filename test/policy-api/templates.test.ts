/**
 * Issue 6, points 1–3 and 8 through the HTTP API: templates (approval, params, stages, A/B
 * variants recorded and counted with their outcome), free text, signature and opt-out
 * suffix (and what they cost in segments), content lint on the rendered text.
 */
import t from 'tap';
import { baseConfigObject, NOTIFY_TOKEN, tempDir, waitFor, type TestApp, type FakeConnector } from '../helpers/fixtures.js';
import { get, launch, metric, policyConfig, post, segText, TOKEN, type Teardown } from './fixtures/policy-app.js';

const TO = '13800138000';

function start(t: Teardown, patch: Record<string, unknown> = {}, level = 'silent'): { ta: TestApp; fc: FakeConnector } {
  const dir = tempDir(t);
  const ta = launch(t, policyConfig(dir, patch), { level });
  const fc = ta.connectors.get('c1')!;
  // Carrier ids derived from the segment id, so a test can send the receipt of a message.
  fc.respond = (seg) => ({ kind: 'accepted', carrierMessageId: String(700000 + seg.segmentId) });
  return { ta, fc };
}

/** Wait until the connector got every segment of `id`; returns the joined text. */
async function sentText(fc: FakeConnector, id: string, parts = 1): Promise<string> {
  await waitFor(() => fc.submits.filter((s) => s.messageId === id).length === parts, 3000, `submit of ${id}`);
  return fc.submits.filter((s) => s.messageId === id).map(segText).join('');
}

t.test('only approved templates send; missing or unknown params name the field', async (t) => {
  const { ta, fc } = start(t, {}, 'warn');
  await ta.app.start();

  const ok = await post(ta, '/v1/sms', { to: TO, category: 'marketing', template: 'promo_rate', params: { rate: '5%' } });
  t.equal(ok.status, 202, JSON.stringify(ok.body));
  t.equal(await sentText(fc, ok.body.id), '【测试】限时优惠：借款利率低至5%，详询客服。拒收请回复R');

  for (const id of ['draft_notice', 'refused_notice']) {
    const r = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: id });
    t.equal(r.status, 422, id);
    t.match(r.body.error, { code: 'template_not_approved', field: 'template' }, id);
  }
  // Approved in config, but it carries a forbidden word: refused at load, never sendable.
  const lint = await post(ta, '/v1/sms', { to: TO, category: 'collection', template: 'threat', params: { name: '张三' } });
  t.equal(lint.status, 422);
  t.match(lint.body.error, { code: 'template_not_approved', field: 'template' });
  t.ok(ta.lines.some((l) => l.includes('template refused at load') && l.includes('threat') && l.includes('上门曝光')), 'load problem logged');

  const unknown = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'no_such' });
  t.equal(unknown.status, 400);
  t.match(unknown.body.error, { code: 'unknown_template', field: 'template' });

  const missing = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'repay_reminder', params: { name: '张三', amount: '100' } });
  t.equal(missing.status, 400);
  t.match(missing.body.error, { code: 'missing_param', field: 'params.due_date' });
  t.match(missing.body.error.message, /due_date/);

  const extra = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'repay_reminder', params: { name: '张三', amount: '1', due_date: '6月1日', iban: 'x' } });
  t.equal(extra.status, 400);
  t.match(extra.body.error, { code: 'unknown_param', field: 'params.iban' });

  const wrongCat = await post(ta, '/v1/sms', { to: TO, category: 'marketing', template: 'draft_notice' });
  t.equal(wrongCat.status, 422, 'not approved is reported before the category');
  const cat = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'promo_rate', params: { rate: '1%' } });
  t.equal(cat.status, 400);
  t.match(cat.body.error, { code: 'invalid_field', field: 'category' });

  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'template_not_approved' }), 4);
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'missing_param' }), 1);
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'unknown_param' }), 1);
  t.equal(fc.submits.length, 1, 'nothing refused reached the connector');
});

t.test('collection stages are chosen by overdue_days (early 1–7, mid 8–30, late 31+)', async (t) => {
  const { ta, fc } = start(t);
  await ta.app.start();
  const cases: Array<[number, string, string]> = [
    [1, 'early', '【测试】李四您好，您的借款已逾期1天，请尽快还款。'],
    [7, 'early', '【测试】李四您好，您的借款已逾期7天，请尽快还款。'],
    [8, 'mid', '【测试】李四您好，您的借款已逾期8天，请立即处理。'],
    [30, 'mid', '【测试】李四您好，您的借款已逾期30天，请立即处理。'],
    [31, 'late', '【测试】李四您好，您的借款已严重逾期，请联系客服协商还款。'],
    [400, 'late', '【测试】李四您好，您的借款已严重逾期，请联系客服协商还款。'],
  ];
  for (const [i, [days, stage, text]] of cases.entries()) {
    // A different number each time: collection has no cap here, but keep the cases independent.
    const r = await post(ta, '/v1/sms', { to: `1380013${String(8100 + i)}`, category: 'collection', template: 'collection_notice', params: { name: '李四' }, overdue_days: days });
    t.equal(r.status, 202, JSON.stringify(r.body));
    t.equal(await sentText(fc, r.body.id), text, `${days} days → ${stage}`);
    const m = await get(ta, `/v1/messages/${r.body.id}`);
    t.equal(m.body.stage, stage);
    t.equal(m.body.template, 'collection_notice');
  }
  const none = await post(ta, '/v1/sms', { to: TO, category: 'collection', template: 'collection_notice', params: { name: '李四' } });
  t.equal(none.status, 400);
  t.match(none.body.error, { code: 'missing_param', field: 'overdue_days' });
  const zero = await post(ta, '/v1/sms', { to: TO, category: 'collection', template: 'collection_notice', params: { name: '李四' }, overdue_days: 0 });
  t.equal(zero.status, 400);
  t.match(zero.body.error, { field: 'overdue_days' });
});

t.test('A/B variants: chosen by weight, recorded on the message, counted with their outcome', async (t) => {
  const { ta, fc } = start(t);
  await ta.app.start();

  // Weight 0 never wins.
  const onlyB = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'only_b', params: { name: '王五' } });
  t.equal(onlyB.status, 202);
  t.equal(await sentText(fc, onlyB.body.id), '【测试】B文本王五');
  t.equal((await get(ta, `/v1/messages/${onlyB.body.id}`)).body.variant, 'b');

  const params = { name: '张三', amount: '1200', due_date: '12月5日' };
  const want = {
    a: '【测试】尊敬的张三，您的借款1200元将于12月5日到期，请按时还款。',
    b: '【测试】张三您好，本期应还1200元，到期日12月5日，可在APP内还款。',
  };
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await post(ta, '/v1/sms', { to: `1390013${String(9000 + i)}`, category: 'notification', template: 'repay_reminder', params });
    t.equal(r.status, 202);
    ids.push(r.body.id);
  }
  const seen = { a: 0, b: 0 };
  const byVariant = new Map<string, string[]>();
  for (const id of ids) {
    const variant = (await get(ta, `/v1/messages/${id}`)).body.variant as 'a' | 'b';
    t.ok(variant === 'a' || variant === 'b', 'variant recorded');
    seen[variant]++;
    t.equal(await sentText(fc, id), want[variant], 'the text of the recorded variant was sent');
    byVariant.set(variant, [...(byVariant.get(variant) ?? []), id]);
  }
  // 40 draws at 50/50: all on one side has probability 2^-39.
  t.ok(seen.a > 0 && seen.b > 0, `both variants chosen (${seen.a}/${seen.b})`);

  // Outcomes: the first message of each variant undeliverable, the rest delivered.
  const carrierId = (id: string) => String(700000 + fc.submits.find((s) => s.messageId === id)!.segmentId);
  await waitFor(() => ids.every((id) => ta.app.store.messages.getMessage(id)?.status === 'submitted'), 3000, 'all submitted');
  const expected = { a: { delivered: 0, undeliverable: 0 }, b: { delivered: 0, undeliverable: 0 } };
  for (const [variant, list] of byVariant) {
    for (const [k, id] of list.entries()) {
      const stat = k === 0 ? 'UNDELIV' : 'DELIVRD';
      t.equal(await fc.receipt(carrierId(id), stat), 0);
      expected[variant as 'a' | 'b'][k === 0 ? 'undeliverable' : 'delivered']++;
    }
  }
  for (const variant of ['a', 'b'] as const) {
    for (const outcome of ['delivered', 'undeliverable'] as const) {
      t.equal(
        (await metric(ta, 'xinge_template_messages_total', { template: 'repay_reminder', variant, outcome })) ?? 0,
        expected[variant][outcome],
        `${variant} ${outcome}`,
      );
    }
  }
  const m = await get(ta, `/v1/messages/${ids[0]}`);
  t.match(m.body, { template: 'repay_reminder', variant: /^[ab]$/ });

  // A template without variants is counted with variant "" once final; free text is not counted.
  const plain = await post(ta, '/v1/sms', { to: TO, category: 'marketing', template: 'promo_rate', params: { rate: '3%' } });
  const free = await post(ta, '/v1/sms', { to: '13800138001', category: 'notification', text: '自由文本' });
  await sentText(fc, plain.body.id);
  await sentText(fc, free.body.id);
  await waitFor(() => ta.app.store.messages.getMessage(free.body.id)?.status === 'submitted', 3000, 'free submitted');
  await fc.receipt(carrierId(plain.body.id), 'DELIVRD');
  await fc.receipt(carrierId(free.body.id), 'DELIVRD');
  t.equal(await metric(ta, 'xinge_template_messages_total', { template: 'promo_rate', variant: '', outcome: 'delivered' }), 1);
  const text = await ta.app.metrics.registry.metrics();
  t.equal(text.split('\n').filter((l) => l.startsWith('xinge_template_messages_total{')).length, 5, 'a+b × 2 outcomes, promo_rate; nothing for free text');
});

t.test('free text only for tokens with free_text: true', async (t) => {
  const { ta, fc } = start(t);
  await ta.app.start();
  const refused = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: '您好' }, NOTIFY_TOKEN);
  t.equal(refused.status, 403);
  t.match(refused.body.error, { code: 'free_text_not_allowed', field: 'text' });
  const tpl = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'only_b', params: { name: '赵六' } }, NOTIFY_TOKEN);
  t.equal(tpl.status, 202, 'templates are fine for that token');
  const free = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: '您好' }, TOKEN);
  t.equal(free.status, 202);
  t.equal(await sentText(fc, free.body.id), '【测试】您好');
  const batch = await post(ta, '/v1/sms/batch', { messages: [{ to: TO, category: 'notification', text: 'x' }, { to: TO, category: 'notification', template: 'only_b', params: { name: 'y' } }] }, NOTIFY_TOKEN);
  t.equal(batch.status, 202);
  t.match(batch.body.results, [{ status: 403, error: { code: 'free_text_not_allowed' } }, { status: 'queued' }]);
  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'free_text_not_allowed' }), 2);
});

t.test('signature first (policy, client, template), opt-out suffix on marketing, both counted in segments', async (t) => {
  const dir = tempDir(t);
  const clients = [
    ...(baseConfigObject(dir).clients as Array<Record<string, unknown>>),
    { name: 'branded', token: 'test-token-branded-1', scopes: ['sms'], categories: ['notification', 'marketing'], free_text: true, signature: '信鸽金融' },
  ];
  const ta = launch(t, policyConfig(dir, { clients }));
  const fc = ta.connectors.get('c1')!;
  await ta.app.start();

  const a = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: '您的账单已出。' });
  t.equal(await sentText(fc, a.body.id), '【测试】您的账单已出。', 'policy signature');
  const b = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: '您的账单已出。' }, 'test-token-branded-1');
  t.equal(await sentText(fc, b.body.id), '【信鸽金融】您的账单已出。', 'client signature, bracketed');
  const c = await post(ta, '/v1/sms', { to: TO, category: 'notification', template: 'signed', params: { name: '甲' } }, 'test-token-branded-1');
  t.equal(await sentText(fc, c.body.id), '【模板签名】模板签名测试甲', 'template signature wins');
  const d = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: '【测试】已带签名' });
  t.equal(await sentText(fc, d.body.id), '【测试】已带签名', 'not doubled');
  const e = await post(ta, '/v1/sms', { to: TO, category: 'marketing', text: '新品上线' }, 'test-token-branded-1');
  t.equal(await sentText(fc, e.body.id), '【信鸽金融】新品上线拒收请回复R', 'marketing ends with the suffix');

  // 66 UCS-2 characters: one part alone (70), one with the signature (70), two with signature + suffix (76).
  const body66 = '还'.repeat(66);
  const n = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: body66 });
  t.match(n.body, { segments: 1, encoding: 'ucs2' }, 'signature fits: 70 units');
  const m = await post(ta, '/v1/sms', { to: TO, category: 'marketing', text: body66 });
  t.match(m.body, { segments: 2, encoding: 'ucs2' }, 'signature + suffix: 76 units, two parts');
  t.equal(await sentText(fc, m.body.id, 2), `【测试】${body66}拒收请回复R`);
  const body70 = '还'.repeat(70);
  const o = await post(ta, '/v1/sms', { to: TO, category: 'notification', text: body70 });
  t.match(o.body, { segments: 2 }, '70 units alone fit one part; the signature makes it two');

  // A configured suffix replaces the default.
  await ta.close();
  const dir2 = tempDir(t);
  const ta2 = launch(t, policyConfig(dir2, { policy: { optout_suffix: '退订回T' } }));
  await ta2.app.start();
  const p = await post(ta2, '/v1/sms', { to: TO, category: 'marketing', text: '活动' });
  t.equal(await sentText(ta2.connectors.get('c1')!, p.body.id), '【测试】活动退订回T');
});

t.test('content lint on the rendered text, parameters included: 422 naming the word', async (t) => {
  const { ta, fc } = start(t);
  await ta.app.start();
  const free = await post(ta, '/v1/sms', { to: TO, category: 'collection', text: '再不还款就通知你家人' });
  t.equal(free.status, 422);
  t.match(free.body.error, { code: 'forbidden_content', field: 'text' });
  t.match(free.body.error.message, /通知你家人/);

  const param = await post(ta, '/v1/sms', { to: TO, category: 'collection', template: 'collection_notice', params: { name: '上门曝光' }, overdue_days: 3 });
  t.equal(param.status, 422);
  t.match(param.body.error, { code: 'forbidden_content', field: 'params.name' });
  t.match(param.body.error.message, /上门曝光/);

  // Spacing and full-width forms do not dodge the list.
  const spaced = await post(ta, '/v1/sms', { to: TO, category: 'collection', template: 'collection_notice', params: { name: '爆 通\u200b讯录' }, overdue_days: 3 });
  t.equal(spaced.status, 422);
  t.match(spaced.body.error.message, /爆通讯录/);

  // A word split between a parameter and the template text is caught on the rendered text.
  const dir = tempDir(t);
  const ta2 = launch(t, policyConfig(dir, { templates: [{ id: 'split', category: 'collection', status: 'approved', text: '{who}曝光' }] }));
  await ta2.app.start();
  const split = await post(ta2, '/v1/sms', { to: TO, category: 'collection', template: 'split', params: { who: '上门' } });
  t.equal(split.status, 422);
  t.match(split.body.error, { code: 'forbidden_content' });
  t.match(split.body.error.message, /上门曝光/);

  t.equal(await metric(ta, 'xinge_refused_total', { reason: 'forbidden_content' }), 3);
  t.equal(fc.submits.length, 0);
});
