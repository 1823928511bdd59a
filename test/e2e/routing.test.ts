import t from 'tap';
import { ADMIN_TOKEN, auth, waitFor } from '../helpers/fixtures.js';
import { startSmppEnv, type SmppTestEnv } from '../helpers/smpp-fixture.js';

const send = async (env: SmppTestEnv, to: string, extra: Record<string, unknown> = {}) => {
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text: 'hello', category: 'notification', ...extra } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json().id as string;
};
const status = (env: SmppTestEnv, id: string) => env.app.store.messages.getMessage(id)?.status;
const bound = (env: SmppTestEnv, ids: string[]) =>
  waitFor(() => ids.every((id) => env.app.carriers.get(id)!.connector.isUp()), 5000, 'binds up');

t.test('routing by prefix, ported number, default carrier; pause fails over', async (t) => {
  const env = await startSmppEnv(
    t,
    [
      { id: 'cmcc', prefixes: ['138', '139'] },
      { id: 'unicom', prefixes: ['130', '131'] },
    ],
    (cfg) => {
      cfg.routing = { default_carrier: 'unicom', ported_numbers: { '+8613900000001': 'unicom' } };
    },
  );
  await bound(env, ['cmcc', 'unicom']);
  const cm = env.sims.get('cmcc')!.recorder;
  const un = env.sims.get('unicom')!.recorder;
  await send(env, '13800000001');
  await send(env, '13000000001');
  await send(env, '13900000001'); // ported to unicom
  await send(env, '19200000001'); // no prefix: default
  await waitFor(() => cm.submits.length + un.submits.length === 4, 5000, 'four submits');
  t.same(cm.submits.map((s) => s.destination), ['8613800000001']);
  t.same(un.submits.map((s) => s.destination).sort(), ['8613000000001', '8613900000001', '8619200000001']);

  const paused = await env.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/cmcc/pause', headers: auth(ADMIN_TOKEN) });
  t.equal(paused.statusCode, 200);
  const forbidden = await env.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/cmcc/pause', headers: auth() });
  t.equal(forbidden.statusCode, 403, 'admin scope needed');
  await send(env, '13800000002');
  await waitFor(() => un.submits.some((s) => s.destination === '8613800000002'), 5000, 'paused carrier skipped');
  const admin = await env.app.http.inject({ method: 'GET', url: '/v1/admin/carriers', headers: auth(ADMIN_TOKEN) });
  const body = admin.json();
  t.match(body.carriers.find((c: { id: string }) => c.id === 'cmcc'), { paused: true, up: true, binds: [{ state: 'bound' }] });
  t.ok('otp' in body.queue, 'queue depth by lane');
  await env.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/cmcc/resume', headers: auth(ADMIN_TOKEN) });
  await send(env, '13800000003');
  await waitFor(() => cm.submits.some((s) => s.destination === '8613800000003'), 5000, 'resumed');
});

t.test('command_status classes: permanent, failover, temporary with retry budget, throttling', async (t) => {
  const env = await startSmppEnv(
    t,
    [
      {
        id: 'cmcc',
        prefixes: ['138'],
        errors: { temporary: ['ESME_RTHROTTLED', 'ESME_RMSGQFUL', 'ESME_RSYSERR'], failover: ['ESME_RSUBMITFAIL'], permanent: ['ESME_RINVDSTADR'] },
        sim: { errorByDest: { '8613800000010': 0x0b, '8613800000011': 0x45, '8613800000012': 0x08 } },
      },
      // unicom also takes 138 (a three-network channel): the failover target.
      { id: 'unicom', prefixes: ['130', '138'] },
    ],
    (cfg) => {
      cfg.routing = { default_carrier: 'cmcc' };
      cfg.queue = { max_attempts: 3, retry_initial_ms: 20, retry_max_ms: 50 };
    },
  );
  await bound(env, ['cmcc', 'unicom']);
  const permanent = await send(env, '13800000010');
  const failover = await send(env, '13800000011');
  const temporary = await send(env, '13800000012');
  await waitFor(() => status(env, permanent) === 'rejected', 5000, 'rejected');
  t.equal(env.app.store.messages.getMessage(permanent)!.errorCode, 'ESME_RINVDSTADR', 'code recorded by name');
  await waitFor(() => ['submitted', 'delivered'].includes(status(env, failover) ?? ''), 5000, 'failed over');
  t.ok(env.sims.get('unicom')!.recorder.submits.some((s) => s.destination === '8613800000011'), 'sent on the next carrier');
  t.equal(env.app.store.messages.getSegments(failover)[0]!.carrierId, 'unicom');
  await waitFor(() => status(env, temporary) === 'failed', 5000, 'failed after the budget');
  const tries = env.sims.get('cmcc')!.recorder.submits.filter((s) => s.destination === '8613800000012').length;
  t.equal(tries, 3, 'retried on the same carrier up to queue.max_attempts');
  const metrics = await env.app.http.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /xinge_submit_sm_resp_total\{carrier="cmcc",status="ESME_RINVDSTADR"\} 1/);
});

t.test('ESME_RTHROTTLED halves the account rate; the message still goes', async (t) => {
  const env = await startSmppEnv(t, [{ id: 'c1', tps: 200, sim: { throttleEvery: 3 } }]);
  await bound(env, ['c1']);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await send(env, `1380000002${i}`));
  await waitFor(() => ids.every((id) => ['submitted', 'delivered'].includes(status(env, id) ?? '')), 10000, 'all sent despite throttling');
  const rate = env.app.carriers.get('c1')!.rate.rate;
  t.ok(rate < 200, `rate lowered to ${rate}`);
  const m = await env.app.http.inject({ method: 'GET', url: '/metrics' });
  t.match(m.body, /xinge_current_tps\{carrier="c1"\}/);
});

t.test('an OTP is never sent after its TTL; a validity that passes while queued ends expired', async (t) => {
  let clock = Date.now();
  const env = await startSmppEnv(t, [{ id: 'c1' }], () => {}, { now: () => clock });
  await bound(env, ['c1']);
  await env.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/c1/pause', headers: auth(ADMIN_TOKEN) });
  const id = await send(env, '13800000030', { category: 'otp', text: 'code 9911', validity_s: 60 });
  clock += 61000;
  await env.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/c1/resume', headers: auth(ADMIN_TOKEN) });
  await waitFor(() => status(env, id) === 'expired', 5000, 'expired');
  t.equal(env.sims.get('c1')!.recorder.submits.length, 0, 'nothing went on the wire');
});
