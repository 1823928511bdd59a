import t from 'tap';
import { signWebhook, verifyWebhook } from '../../src/webhooks/sign.js';
import { hasOpenssl, opensslSignature } from './fixtures/openssl.js';

t.test('pasted vector, computed with openssl', async (t) => {
  // printf '%s' '1700000000.{"event":"message.status","id":"01HZX","status":"delivered"}' > vec.txt
  // openssl dgst -sha256 -hmac 'whsec_test_2024' vec.txt
  //   HMAC-SHA2-256(vec.txt)= 43b03a8a9f01ecafe48c928594105f901fb1694b342baf0ef9348042d934616f
  const body = '{"event":"message.status","id":"01HZX","status":"delivered"}';
  const want = 'sha256=43b03a8a9f01ecafe48c928594105f901fb1694b342baf0ef9348042d934616f';
  t.equal(signWebhook('whsec_test_2024', 1700000000, body), want);
  t.equal(signWebhook('whsec_test_2024', '1700000000', Buffer.from(body)), want, 'string ts and Buffer body agree');
  t.ok(verifyWebhook('whsec_test_2024', 1700000000, body, want));
  t.notOk(verifyWebhook('whsec_test_2024', 1700000001, body, want), 'timestamp is signed');
  t.notOk(verifyWebhook('other', 1700000000, body, want), 'secret matters');
  t.notOk(verifyWebhook('whsec_test_2024', 1700000000, body + ' ', want), 'every body byte is signed');
  t.notOk(verifyWebhook('whsec_test_2024', 1700000000, body, 'sha256=00'), 'short signature');
});

t.test('matches openssl run now', { skip: hasOpenssl() ? false : 'openssl not installed' }, async (t) => {
  const cases: Array<[string, number, string]> = [
    ['s3cr3t', 1712345678, '{"a":1}'],
    ['密钥-with-unicode', 1, '{"text":"您的还款已到账 ✓","n":[1,2,3]}'],
    ['x', 1999999999, ''],
    ['long-secret-'.repeat(20), 1700000000, JSON.stringify({ nested: { k: 'v:with.dots' }, sp: ' spaced ' }, null, 2)],
  ];
  for (const [secret, ts, body] of cases) {
    t.equal(signWebhook(secret, ts, body), opensslSignature(secret, String(ts), body));
  }
});
