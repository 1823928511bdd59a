import t, { type Test } from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import { configSchema, type TemplateConfig } from '../../src/config/schema.js';
import { TemplateBook, stageFor } from '../../src/policy/templates.js';

const tpl = (raw: unknown[]): TemplateConfig[] => configSchema.parse({ templates: raw }).templates;

/** The templates and forbidden words of the shared config.example.yaml, copied verbatim. */
const WORDS = ['爆通讯录', '通知你家人', '上门曝光'];
const EXAMPLE = [
  {
    id: 'repay_reminder',
    category: 'notification',
    status: 'approved',
    text: '尊敬的{name}，您的借款{amount}元将于{due_date}到期，请按时还款。',
    variants: [
      { id: 'a', weight: 50 },
      { id: 'b', weight: 50, text: '{name}您好，本期应还{amount}元，到期日{due_date}，可在APP内还款。' },
    ],
  },
  {
    id: 'collection_notice',
    category: 'collection',
    status: 'approved',
    stages: {
      early: '{name}您好，您的借款已逾期{overdue_days}天，请尽快还款。',
      mid: '{name}您好，您的借款已逾期{overdue_days}天，请立即处理。',
      late: '{name}您好，您的借款已严重逾期，请联系客服协商还款。',
    },
  },
  { id: 'otp_login', category: 'otp', status: 'approved', text: '您的验证码是{code}，{ttl_min}分钟内有效，请勿泄露。' },
  { id: 'promo_rate', category: 'marketing', status: 'approved', text: '限时优惠：借款利率低至{rate}，详询客服。' },
  { id: 'draft_notice', category: 'notification', status: 'pending', text: '草稿模板，不应发送。' },
];
const book = new TemplateBook(tpl(EXAMPLE), WORDS);
const fixed = (x: number) => () => x;
const PARAMS = { name: '张三', amount: '1200.00', due_date: '6月15日' };

const refusal = (t: Test, fn: () => unknown, want: { code: string; status: number; field?: string }, name: string) => {
  const err = t.throws(fn, name) as unknown;
  t.ok(err instanceof ApiError, `${name}: ApiError`);
  t.match(err, want, name);
  return err as ApiError;
};

t.test('the example config loads clean', async (t) => {
  t.same(book.loadProblems, []);
  t.same(book.ids(), ['repay_reminder', 'collection_notice', 'otp_login', 'promo_rate', 'draft_notice']);
  t.equal(book.status('draft_notice'), 'pending');
  t.equal(book.category('promo_rate'), 'marketing');
});

t.test('A/B variants chosen by the injected rng', async (t) => {
  const cases: Array<[number, string, string]> = [
    [0, 'a', '尊敬的张三，您的借款1200.00元将于6月15日到期，请按时还款。'],
    [0.4999, 'a', '尊敬的张三，您的借款1200.00元将于6月15日到期，请按时还款。'],
    [0.5, 'b', '张三您好，本期应还1200.00元，到期日6月15日，可在APP内还款。'],
    [0.9999, 'b', '张三您好，本期应还1200.00元，到期日6月15日，可在APP内还款。'],
    [1, 'b', '张三您好，本期应还1200.00元，到期日6月15日，可在APP内还款。'],
  ];
  for (const [x, variant, text] of cases) {
    t.same(book.render({ templateId: 'repay_reminder', params: PARAMS, rng: fixed(x) }), {
      text,
      templateId: 'repay_reminder',
      variant,
      category: 'notification',
    }, `rng ${x}`);
  }
  // an even sweep of rng values splits by weight
  const counts = { a: 0, b: 0 } as Record<string, number>;
  for (let i = 0; i < 100; i++) counts[book.render({ templateId: 'repay_reminder', params: PARAMS, rng: fixed(i / 100) }).variant!]!++;
  t.same(counts, { a: 50, b: 50 });
});

t.test('weights: zero never wins, all-zero uses the first and is reported', async (t) => {
  const b = new TemplateBook(
    tpl([
      { id: 'w', category: 'notification', status: 'approved', text: 'x', variants: [{ id: 'a', weight: 0 }, { id: 'b', weight: 3 }, { id: 'c', weight: 0 }] },
      { id: 'z', category: 'notification', status: 'approved', text: 'x', variants: [{ id: 'a', weight: 0 }, { id: 'b', weight: 0 }] },
    ]),
    [],
  );
  for (const x of [0, 0.5, 1]) t.equal(b.render({ templateId: 'w', rng: fixed(x) }).variant, 'b');
  t.equal(b.render({ templateId: 'z', rng: fixed(0.9) }).variant, 'a');
  t.match(b.loadProblems, [/template z: templates\[1\]\.variants all have weight 0/]);
});

t.test('collection stages by overdue_days', async (t) => {
  const cases: Array<[number, string, string]> = [
    [1, 'early', '张三您好，您的借款已逾期1天，请尽快还款。'],
    [7, 'early', '张三您好，您的借款已逾期7天，请尽快还款。'],
    [8, 'mid', '张三您好，您的借款已逾期8天，请立即处理。'],
    [30, 'mid', '张三您好，您的借款已逾期30天，请立即处理。'],
    [31, 'late', '张三您好，您的借款已严重逾期，请联系客服协商还款。'],
    [400, 'late', '张三您好，您的借款已严重逾期，请联系客服协商还款。'],
  ];
  for (const [days, stage, text] of cases) {
    t.same(book.render({ templateId: 'collection_notice', params: { name: '张三' }, overdueDays: days, rng: fixed(0) }), {
      text,
      templateId: 'collection_notice',
      stage,
      category: 'collection',
    }, `${days} days`);
  }
  t.equal(stageFor(0), 'early');
});

t.test('refusals', async (t) => {
  const cases: Array<{ name: string; req: Parameters<TemplateBook['render']>[0]; want: { code: string; status: number; field?: string } }> = [
    { name: 'unknown template', req: { templateId: 'nope', rng: fixed(0) }, want: { code: 'unknown_template', status: 400, field: 'template' } },
    { name: 'pending template', req: { templateId: 'draft_notice', rng: fixed(0) }, want: { code: 'template_not_approved', status: 422, field: 'template' } },
    { name: 'missing param', req: { templateId: 'repay_reminder', params: { name: 'x', due_date: 'y' }, rng: fixed(0) }, want: { code: 'missing_param', status: 400, field: 'params.amount' } },
    { name: 'missing param used only by the other variant', req: { templateId: 'repay_reminder', params: { name: 'x', amount: '1' }, rng: fixed(0) }, want: { code: 'missing_param', status: 400, field: 'params.due_date' } },
    { name: 'unknown param', req: { templateId: 'repay_reminder', params: { ...PARAMS, foo: '1' }, rng: fixed(0) }, want: { code: 'unknown_param', status: 400, field: 'params.foo' } },
    { name: 'overdue_days as a param', req: { templateId: 'collection_notice', params: { name: 'x', overdue_days: '3' }, overdueDays: 3, rng: fixed(0) }, want: { code: 'unknown_param', status: 400, field: 'params.overdue_days' } },
    { name: 'null param', req: { templateId: 'promo_rate', params: { rate: null }, rng: fixed(0) }, want: { code: 'missing_param', status: 400, field: 'params.rate' } },
    { name: 'object param', req: { templateId: 'promo_rate', params: { rate: { a: 1 } }, rng: fixed(0) }, want: { code: 'invalid_field', status: 400, field: 'params.rate' } },
    { name: 'stages need overdue_days', req: { templateId: 'collection_notice', params: { name: 'x' }, rng: fixed(0) }, want: { code: 'missing_param', status: 400, field: 'overdue_days' } },
    { name: 'overdue_days 0', req: { templateId: 'collection_notice', params: { name: 'x' }, overdueDays: 0, rng: fixed(0) }, want: { code: 'invalid_field', status: 400, field: 'overdue_days' } },
    { name: 'overdue_days 2.5', req: { templateId: 'collection_notice', params: { name: 'x' }, overdueDays: 2.5, rng: fixed(0) }, want: { code: 'invalid_field', status: 400, field: 'overdue_days' } },
    { name: 'overdue_days -1', req: { templateId: 'collection_notice', params: { name: 'x' }, overdueDays: -1, rng: fixed(0) }, want: { code: 'invalid_field', status: 400, field: 'overdue_days' } },
    { name: 'forbidden word in a param', req: { templateId: 'collection_notice', params: { name: '上门曝光' }, overdueDays: 3, rng: fixed(0) }, want: { code: 'forbidden_content', status: 422, field: 'params.name' } },
    { name: 'spaced forbidden word in a param', req: { templateId: 'promo_rate', params: { rate: '1%，否则通知 你家人' }, rng: fixed(0) }, want: { code: 'forbidden_content', status: 422, field: 'params.rate' } },
    { name: 'full-width/zero-width in a param', req: { templateId: 'promo_rate', params: { rate: '爆\u200b通讯录' }, rng: fixed(0) }, want: { code: 'forbidden_content', status: 422, field: 'params.rate' } },
  ];
  for (const c of cases) refusal(t, () => book.render(c.req), c.want, c.name);
  const e = refusal(t, () => book.render(cases[12]!.req), { code: 'forbidden_content', status: 422 }, 'message');
  t.match(e.message, '上门曝光', 'names the word');
});

t.test('numbers are accepted as params', async (t) => {
  t.equal(book.render({ templateId: 'promo_rate', params: { rate: 3.65 }, rng: fixed(0) }).text, '限时优惠：借款利率低至3.65，详询客服。');
});

t.test('a word split across a param and the template text is caught on the rendered text', async (t) => {
  const b = new TemplateBook(tpl([{ id: 's', category: 'collection', status: 'approved', text: '我们将{how}曝光您的信息' }]), WORDS);
  t.same(b.loadProblems, []);
  refusal(t, () => b.render({ templateId: 's', params: { how: '上门' }, rng: fixed(0) }), { code: 'forbidden_content', status: 422, field: 'text' }, 'split');
  t.equal(b.render({ templateId: 's', params: { how: '不会' }, rng: fixed(0) }).text, '我们将不会曝光您的信息');
});

t.test('lint at load: an approved template with a forbidden word is rejected and reported', async (t) => {
  const b = new TemplateBook(
    tpl([
      { id: 'ok', category: 'notification', status: 'approved', text: '请还款' },
      { id: 'bad_variant', category: 'notification', status: 'approved', text: '请还款', variants: [{ id: 'a', weight: 1 }, { id: 'b', weight: 1, text: '不还就通知你家人' }] },
      { id: 'bad_stage', category: 'collection', status: 'approved', stages: { early: '请还款', late: '再不还款将上 门曝光' } },
      { id: 'bad_pending', category: 'notification', status: 'pending', text: '爆通讯录' },
    ]),
    WORDS,
  );
  t.same(b.loadProblems, [
    'template bad_variant: templates[1].variants[1].text contains the forbidden word "通知你家人"; it cannot be approved',
    'template bad_stage: templates[2].stages.late contains the forbidden word "上门曝光"; it cannot be approved',
    'template bad_pending: templates[3].text contains the forbidden word "爆通讯录"; it cannot be approved',
  ]);
  for (const id of ['bad_variant', 'bad_stage', 'bad_pending']) {
    t.equal(b.status(id), 'rejected_by_lint', id);
    // even the clean variant / stage of a rejected template does not send
    const e = refusal(t, () => b.render({ templateId: id, params: {}, overdueDays: 1, rng: fixed(0) }), { code: 'template_not_approved', status: 422, field: 'template' }, id);
    t.match(e.message, 'rejected by lint');
  }
  t.equal(b.render({ templateId: 'ok', rng: fixed(0) }).text, '请还款');
});

t.test('other load problems', async (t) => {
  const b = new TemplateBook(
    tpl([
      { id: 'dup', category: 'notification', status: 'approved', text: 'first' },
      { id: 'dup', category: 'marketing', status: 'approved', text: 'second' },
      { id: 'empty', category: 'notification', status: 'approved' },
      { id: 'early_only', category: 'collection', status: 'approved', stages: { early: '早期{name}' } },
      { id: 'days', category: 'notification', status: 'approved', text: '已逾期{overdue_days}天', signature: '【别名】' },
    ]),
    [],
  );
  t.same(b.loadProblems, [
    'template dup: templates[1] duplicates an earlier id and is ignored',
    'template empty: templates[2] has neither text nor stages',
  ]);
  t.equal(b.render({ templateId: 'dup', rng: fixed(0) }).text, 'first');
  t.equal(b.status('empty'), 'rejected');
  refusal(t, () => b.render({ templateId: 'early_only', params: { name: 'x' }, overdueDays: 40, rng: fixed(0) }), { code: 'invalid_field', status: 400, field: 'overdue_days' }, 'no late text');
  t.same(b.render({ templateId: 'days', overdueDays: 12, rng: fixed(0) }), {
    text: '已逾期12天',
    templateId: 'days',
    category: 'notification',
    signature: '【别名】',
  });
  refusal(t, () => b.render({ templateId: 'days', rng: fixed(0) }), { code: 'missing_param', status: 400, field: 'overdue_days' }, 'placeholder needs overdue_days');
});

t.test('params are substituted once: a value that looks like a placeholder stays literal', async (t) => {
  const r = book.render({ templateId: 'repay_reminder', params: { name: '{amount}', amount: '1', due_date: '{name}' }, rng: fixed(0) });
  t.equal(r.text, '尊敬的{amount}，您的借款1元将于{name}到期，请按时还款。');
});
