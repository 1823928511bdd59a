import t from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import { configSchema } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/policy-engine.js';
import { hashCode } from '../../src/policy/otp.js';

const sh = (local: string): number => Date.parse(`${local}+08:00`);
const BODY_KEY = Buffer.alloc(32, 3).toString('base64');

const raw = {
  policy: {
    signature: '【信鸽金融】',
    calendar: { holidays: ['2026-10-01', '2026-10-02', '2026-10-03'], workdays: ['2026-10-10'] },
    frequency_caps: { collection: { per_day: 1, per_week: 3 } },
    forbidden_words: ['爆通讯录', '通知你家人', '上门曝光'],
    otp: { secret: 'engine-secret', body_key: BODY_KEY },
  },
  templates: [
    { id: 'repay', category: 'notification', status: 'approved', text: '{name}您好，请于{due_date}前还款。' },
    { id: 'promo', category: 'marketing', status: 'approved', text: '限时优惠，利率低至{rate}。' },
    { id: 'signed', category: 'notification', status: 'approved', text: '您好。', signature: '【信鸽小贷】' },
    { id: 'otp_login', category: 'otp', status: 'approved', text: '验证码{code}，{ttl_min}分钟内有效。' },
  ],
};
const config = (over: (c: typeof raw) => void = () => {}) => {
  const c = structuredClone(raw);
  over(c);
  return configSchema.parse(c);
};

let now = sh('2026-03-10T12:00:00');
const engine = new PolicyEngine(config(), { clock: () => now, rng: () => 0 });
const freeClient = { free_text: true };
const templateOnly = { free_text: false, signature: '【信鸽客服】' };

t.test('loads clean', async (t) => {
  t.same(engine.loadProblems, []);
});

t.test('compose', async (t) => {
  t.same(engine.compose({ template: 'repay', params: { name: '张三', due_date: '6月15日' }, category: 'notification' }, freeClient), {
    text: '【信鸽金融】张三您好，请于6月15日前还款。',
    templateId: 'repay',
  });
  t.equal(engine.compose({ template: 'repay', params: { name: '张三', due_date: 'x' }, category: 'notification' }, templateOnly).text.slice(0, 6), '【信鸽客服】', 'client signature');
  t.equal(engine.compose({ template: 'signed', category: 'notification' }, templateOnly).text, '【信鸽小贷】您好。', 'template signature');
  t.equal(engine.compose({ template: 'promo', params: { rate: '3%' }, category: 'marketing' }, freeClient).text, '【信鸽金融】限时优惠，利率低至3%。拒收请回复R');
  t.equal(engine.compose({ text: '【信鸽金融】您好', category: 'notification' }, freeClient).text, '【信鸽金融】您好');

  const refusals: Array<[string, () => unknown, string, string]> = [
    ['free text without permission', () => engine.compose({ text: '您好', category: 'notification' }, templateOnly), 'free_text_not_allowed', 'text'],
    ['free text lint', () => engine.compose({ text: '再不还就爆 通讯录', category: 'collection' }, freeClient), 'forbidden_content', 'text'],
    ['param lint', () => engine.compose({ template: 'repay', params: { name: '上门曝光', due_date: 'x' }, category: 'notification' }, freeClient), 'forbidden_content', 'params.name'],
    ['category mismatch', () => engine.compose({ template: 'promo', params: { rate: '1' }, category: 'notification' }, freeClient), 'invalid_field', 'category'],
  ];
  for (const [name, fn, code, field] of refusals) {
    const e = t.throws(fn, name) as ApiError;
    t.match(e, { code, field }, name);
  }
});

t.test('composeOtp', async (t) => {
  t.same(engine.composeOtp({ code: '042917', ttlS: 300, template: 'otp_login' }, {}), { text: '【信鸽金融】验证码042917，5分钟内有效。', templateId: 'otp_login' });
  t.same(engine.composeOtp({ code: '042917', ttlS: 300 }, {}), { text: '【信鸽金融】您的验证码是042917，5分钟内有效，请勿泄露。' });
  t.throws(() => engine.composeOtp({ code: '1', ttlS: 60, template: 'repay' }, {}), { code: 'invalid_field' }, 'not an otp template');
});

t.test('quiet hours, caps, opt-out, intents with config bound', async (t) => {
  now = sh('2026-09-30T20:30:00');
  t.notOk(engine.isOpen('collection'));
  t.equal(engine.nextOpening('collection'), sh('2026-10-05T09:00:00'), 'holiday 10-01..03, then the weekend');
  t.same(engine.admitQuietHours('collection'), { sendAt: sh('2026-10-05T09:00:00'), deferred: true });
  t.same(engine.admitQuietHours('notification', sh('2026-10-01T10:00:00')), { sendAt: sh('2026-10-01T10:00:00'), deferred: false }, 'future send_at inside the window');
  t.same(engine.calendarCoverage(), { year: 2026, currentYear: true, nextYear: false });

  t.match(engine.checkCaps('collection', [now - 3_600_000]), { ok: false, window: 'per_day', retryAfterS: 23 * 3600 });
  t.same(engine.checkCaps('notification', [now, now]), { ok: true });
  t.equal(engine.capLookbackMs('collection'), 7 * 86_400_000);
  t.match(engine.checkOtpLimits([now - 10_000]), { ok: false, window: 'resend_after', retryAfterS: 50 });
  t.equal(engine.otpLookbackMs(), 86_400_000);

  t.ok(engine.optOutApplies('marketing'));
  t.notOk(engine.optOutApplies('otp'));
  t.ok(engine.isOptOut('ＴＤ'));
  t.equal(engine.detectIntent('我已经还了'), 'paid');
});

t.test('OTP with config bound', async (t) => {
  now = sh('2026-03-10T12:00:00');
  const code = engine.generateCode();
  t.match(code, /^\d{6}$/);
  const h = engine.hashCode('otp_1', code);
  t.equal(h, hashCode('engine-secret', 'otp_1', code));
  const state = { id: 'otp_1', codeHash: h, expiresAt: now + 300_000, used: false, attempts: 0 };
  t.match(engine.otpVerifyOutcome(state, code), { valid: true });
  now += 300_000;
  t.match(engine.otpVerifyOutcome(state, code), { valid: false, reason: 'expired' });
  t.equal(engine.openBody(engine.sealBody('验证码123456', 'm1'), 'm1'), '验证码123456');
});

t.test('reload swaps atomically; a broken config keeps the old one', async (t) => {
  const e = new PolicyEngine(config(), { clock: () => sh('2026-10-01T10:00:00'), rng: () => 0 });
  t.notOk(e.isOpen('collection'));
  const problems = e.reload(
    config((c) => {
      c.policy.calendar.holidays = [];
      c.policy.forbidden_words.push('还款');
      c.templates.push({ id: 'new', category: 'notification', status: 'approved', text: '新模板' });
    }),
  );
  t.match(problems, [/template repay: templates\[0\]\.text contains the forbidden word "还款"/]);
  t.ok(e.isOpen('collection'), 'new calendar');
  t.equal(e.compose({ template: 'new', category: 'notification' }, freeClient).text, '【信鸽金融】新模板', 'new template');
  t.throws(() => e.compose({ template: 'repay', params: { name: 'a', due_date: 'b' }, category: 'notification' }, freeClient), { code: 'template_not_approved' }, 'rejected by the new word list');

  t.throws(() => e.reload(config((c) => { c.policy.calendar.holidays = ['2026-02-30']; })), { code: 'config_invalid' });
  t.ok(e.isOpen('collection'), 'still the previous snapshot');
  t.ok(e.templates.ids().includes('new'));
});

t.test('load problems for OTP secrets and template', async (t) => {
  const e = new PolicyEngine(
    config((c) => {
      c.policy.otp = { secret: '', body_key: 'short', template: 'repay' } as typeof c.policy.otp;
    }),
    { clock: () => 0 },
  );
  t.same(e.loadProblems, [
    'policy.otp.secret is empty: OTP codes cannot be issued',
    'policy.otp.body_key must be base64 of exactly 32 bytes',
    'policy.otp.template: repay is not an otp template',
  ]);
});
