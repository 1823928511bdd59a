import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ApiError, XingeError } from '../../src/domain/errors.js';
import {
  decryptBody,
  encryptBody,
  generateCode,
  hashCode,
  hashInput,
  otpVerifyOutcome,
  verifyCode,
  type OtpState,
} from '../../src/policy/otp.js';

const SECRET = 'test-otp-secret';
const KEY = Buffer.alloc(32, 7).toString('base64');

t.test('hashCode is HMAC-SHA256 over `${otpId}:${code}`, pinned by openssl', async (t) => {
  // printf '%s' 'otp_01HXYZ:042917' | openssl dgst -sha256 -hmac 'test-otp-secret'
  const OPENSSL = '7ce8f1290063fc8f359341d86a421fd354fdefac94035ae760acab5ead3c37eb';
  t.equal(hashInput('otp_01HXYZ', '042917'), 'otp_01HXYZ:042917');
  t.equal(hashCode(SECRET, 'otp_01HXYZ', '042917'), OPENSSL);
  t.not(hashCode(SECRET, 'otp_01HXYZ', '42917'), OPENSSL, 'leading zero matters');
  t.not(hashCode(SECRET, 'otp_other', '042917'), OPENSSL, 'bound to the OTP id');
  t.throws(() => hashCode('', 'otp_01HXYZ', '042917'), XingeError, 'no empty key');
});

t.test('verifyCode', async (t) => {
  const stored = hashCode(SECRET, 'otp_1', '123456');
  const cases: Array<[string, boolean]> = [
    ['123456', true],
    [' 123456 ', true],
    ['１２３４５６', true], // full-width digits from a pasted code
    ['123457', false],
    ['12345', false],
    ['', false],
  ];
  for (const [code, want] of cases) t.equal(verifyCode(SECRET, 'otp_1', code, stored), want, JSON.stringify(code));
  t.equal(verifyCode('other-secret', 'otp_1', '123456', stored), false, 'other key');
  t.equal(verifyCode(SECRET, 'otp_1', '123456', 'abcd'), false, 'malformed stored hash never matches');
});

t.test('generateCode: length, digits only, leading zeros, rough uniformity', async (t) => {
  for (const len of [4, 6, 8, 10]) {
    const c = generateCode(len);
    t.equal(c.length, len);
    t.match(c, /^\d+$/);
  }
  const counts = new Array<number>(10).fill(0);
  let leadingZero = 0;
  const N = 2000;
  for (let i = 0; i < N; i++) {
    const c = generateCode(6);
    if (!/^\d{6}$/.test(c)) t.fail(`bad code ${c}`);
    if (c.startsWith('0')) leadingZero++;
    for (const ch of c) counts[Number(ch)]!++;
  }
  t.ok(leadingZero > 0, 'leading zeros occur');
  // 12,000 digits, 1,200 expected per digit; sd ≈ 33, so ±300 is a ~9-sigma bound.
  for (const [d, n] of counts.entries()) t.ok(n > 900 && n < 1500, `digit ${d}: ${n}`);
  for (const bad of [3, 11, 6.5, NaN]) {
    const err = t.throws(() => generateCode(bad)) as ApiError;
    t.equal(err.field, 'length');
  }
});

t.test('encryptBody / decryptBody', async (t) => {
  const body = '【信鸽金融】您的验证码是042917，5分钟内有效，请勿泄露。';
  const blob = encryptBody(KEY, body);
  t.equal(decryptBody(KEY, blob), body, 'round trip');
  t.equal(blob.length, 12 + 16 + Buffer.byteLength(body), 'IV | tag | ciphertext');
  t.notOk(blob.includes(Buffer.from('042917')), 'no clear text in the blob');
  t.not(encryptBody(KEY, body).subarray(0, 12).toString('hex'), blob.subarray(0, 12).toString('hex'), 'fresh IV');

  for (const [name, i] of [['iv', 0], ['tag', 12], ['ciphertext', 30]] as const) {
    const bad = Buffer.from(blob);
    bad[i] = bad[i]! ^ 1;
    t.throws(() => decryptBody(KEY, bad), { code: 'otp_body_invalid' }, `tampered ${name}`);
  }
  t.throws(() => decryptBody(KEY, blob.subarray(0, blob.length - 1)), { code: 'otp_body_invalid' }, 'truncated');
  t.throws(() => decryptBody(KEY, blob.subarray(0, 20)), { code: 'otp_body_invalid' }, 'too short');
  t.throws(() => decryptBody(randomBytes(32).toString('base64'), blob), { code: 'otp_body_invalid' }, 'wrong key');

  const bound = encryptBody(KEY, body, 'msg_1');
  t.equal(decryptBody(KEY, bound, 'msg_1'), body, 'aad round trip');
  t.throws(() => decryptBody(KEY, bound, 'msg_2'), { code: 'otp_body_invalid' }, 'moved to another row');
  t.throws(() => decryptBody(KEY, bound), { code: 'otp_body_invalid' }, 'aad missing');

  for (const badKey of ['', Buffer.alloc(16).toString('base64'), 'not base64!']) {
    t.throws(() => encryptBody(badKey, body), { code: 'otp_body_key_invalid' });
  }
});

t.test('otpVerifyOutcome', async (t) => {
  const NOW = Date.UTC(2026, 5, 1, 2, 0, 0);
  const base: OtpState = { id: 'otp_9', codeHash: hashCode(SECRET, 'otp_9', '111111'), expiresAt: NOW + 300_000, used: false, attempts: 0 };
  const opts = { secret: SECRET, maxAttempts: 5 };
  const cases: Array<{ name: string; state?: Partial<OtpState>; now?: number; code: string; want: object }> = [
    { name: 'valid', code: '111111', want: { valid: true, effect: 'consume', ended: true } },
    { name: 'mismatch counts', code: '222222', want: { valid: false, reason: 'mismatch', effect: 'count_attempt', ended: false } },
    { name: 'last allowed mismatch ends it', state: { attempts: 4 }, code: '222222', want: { valid: false, reason: 'mismatch', effect: 'count_attempt', ended: true } },
    { name: 'right code on the 5th attempt', state: { attempts: 4 }, code: '111111', want: { valid: true } },
    { name: 'locked even with the right code', state: { attempts: 5 }, code: '111111', want: { valid: false, reason: 'too_many_attempts', effect: 'none' } },
    { name: 'used', state: { used: true }, code: '111111', want: { valid: false, reason: 'used', effect: 'none' } },
    { name: 'used wins over locked', state: { used: true, attempts: 9 }, code: '111111', want: { reason: 'used' } },
    { name: 'expired at exactly expiresAt', now: NOW + 300_000, code: '111111', want: { valid: false, reason: 'expired', effect: 'none', ended: true } },
    { name: 'one ms before expiry', now: NOW + 299_999, code: '111111', want: { valid: true } },
    { name: 'expired with a wrong code says expired', now: NOW + 400_000, code: '000000', want: { reason: 'expired' } },
  ];
  for (const c of cases) {
    t.match(otpVerifyOutcome({ ...base, ...c.state }, c.now ?? NOW, c.code, opts), c.want, c.name);
  }
});
