import t from 'tap';
import { otherConnection } from '../helpers/test-store.js';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('an OTP that ends unverified loses its encrypted body at the next sweep, receipt or not', async (t) => {
  const dir = tempDir(t);
  let clock = Date.now();
  const obj = baseConfigObject(dir);
  const ta = startTestApp(makeConfig(obj), { now: () => clock });
  t.teardown(() => ta.close());
  await ta.app.start();
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/otp', headers: auth(), payload: { to: '13800138000', purpose: 'login', ttl_s: 60 } });
  t.equal(res.statusCode, 202, res.body);
  const fc = ta.connectors.get('c1')!;
  await waitFor(() => fc.submits.length === 1, 3000, 'sent');
  const db = otherConnection(obj.store as { path: string });
  t.teardown(() => db.close());
  const body = () => (db.get('SELECT body_enc FROM messages') as { body_enc: Buffer | null }).body_enc;
  await waitFor(() => ta.app.store.messages.getMessage((db.get('SELECT id FROM messages') as { id: string }).id)?.status === 'submitted', 3000, 'submitted');
  t.ok(body() !== null, 'sealed body kept while the code can still be verified');
  ta.app.runMaintenance();
  t.ok(body() !== null, 'not before the TTL');
  clock += 61000;
  ta.app.runMaintenance();
  t.equal(body(), null, 'purged once the OTP expired, with the receipt still outstanding');
  const v = await ta.app.http.inject({ method: 'POST', url: '/v1/otp/verify', headers: auth(), payload: { to: '13800138000', purpose: 'login', code: '000000' } });
  t.match(v.json(), { valid: false, reason: 'expired' });
});
