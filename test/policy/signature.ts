import t from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import {
  applySignature,
  checkSignature,
  hasSignature,
  normalizeSignature,
  resolveSignature,
} from '../../src/policy/signature.js';

const SIG = '【信鸽金融】';

t.test('applySignature', async (t) => {
  const cases: Array<{ name: string; text: string; category: 'otp' | 'notification' | 'collection' | 'marketing'; suffix?: string; want: string }> = [
    { name: 'prefix', text: '请按时还款。', category: 'notification', want: '【信鸽金融】请按时还款。' },
    { name: 'not doubled', text: '【信鸽金融】请按时还款。', category: 'notification', want: '【信鸽金融】请按时还款。' },
    { name: 'not doubled after leading space', text: '  【信鸽金融】请按时还款。', category: 'collection', want: '【信鸽金融】请按时还款。' },
    { name: 'otp has no suffix', text: '验证码123456', category: 'otp', want: '【信鸽金融】验证码123456' },
    { name: 'marketing default suffix', text: '限时优惠。', category: 'marketing', want: '【信鸽金融】限时优惠。拒收请回复R' },
    { name: 'marketing suffix not doubled', text: '限时优惠。拒收请回复R', category: 'marketing', want: '【信鸽金融】限时优惠。拒收请回复R' },
    { name: 'marketing configured suffix', text: '限时优惠。', category: 'marketing', suffix: '退订回T', want: '【信鸽金融】限时优惠。退订回T' },
    { name: 'marketing suffix disabled', text: '限时优惠。', category: 'marketing', suffix: '', want: '【信鸽金融】限时优惠。' },
  ];
  for (const c of cases) {
    const opts = { signature: SIG, category: c.category, ...(c.suffix !== undefined ? { optoutSuffix: c.suffix } : {}) };
    t.equal(applySignature(c.text, opts), c.want, c.name);
  }
});

t.test('bare signatures get brackets; empty stays empty', async (t) => {
  t.equal(normalizeSignature('信鸽金融'), SIG);
  t.equal(normalizeSignature(' 【信鸽金融】 '), SIG);
  t.equal(normalizeSignature(''), '');
  t.equal(applySignature('x', { signature: '信鸽金融', category: 'notification' }), '【信鸽金融】x');
  t.equal(applySignature('x', { signature: '', category: 'notification' }), 'x');
});

t.test('resolveSignature: template over client over policy', async (t) => {
  t.equal(resolveSignature('【甲】', '【乙】', '【丙】'), '【丙】');
  t.equal(resolveSignature('【甲】', '【乙】'), '【乙】');
  t.equal(resolveSignature('【甲】', undefined, ''), '【甲】');
  t.equal(resolveSignature(''), '');
});

t.test('checkSignature for pre-built texts', async (t) => {
  t.ok(hasSignature('【信鸽金融】您好', SIG));
  t.notOk(hasSignature('您好【信鸽金融】', SIG));
  t.doesNotThrow(() => checkSignature('【信鸽金融】您好', SIG));
  const err = t.throws(() => checkSignature('【别家】您好', SIG)) as ApiError;
  t.ok(err instanceof ApiError);
  t.equal(err.field, 'text');
  t.equal(err.status, 400);
});
