/**
 * Issue 2, point 5: /healthz, /readyz (store open, a carrier bound once carriers exist,
 * every `required` carrier bound), /metrics with process metrics, intake counters by
 * category and result, queue depth by lane.
 */
import t, { type Test } from 'tap';
import { ADMIN_TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

function twoCarriers(t: Test, requiredC2: boolean) {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [
    { id: 'c1', host: '127.0.0.1', port: 1, prefixes: ['138'] },
    { id: 'c2', host: '127.0.0.1', port: 2, prefixes: ['139'], required: requiredC2 },
  ]);
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  return ta;
}

t.test('/healthz: process alive, no token needed', async (t) => {
  const ta = twoCarriers(t, false);
  const res = await ta.app.http.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
});

t.test('/readyz: a required carrier down → 503; a non-required one down → still ready', async (t) => {
  const ta = twoCarriers(t, true);
  await ta.app.start();
  const c1 = ta.connectors.get('c1')!;
  const c2 = ta.connectors.get('c2')!;
  const ready = async () => {
    const r = await ta.app.http.inject({ method: 'GET', url: '/readyz' });
    return { status: r.statusCode, body: r.json() as { ready: boolean; reasons: string[] } };
  };
  t.same(await ready(), { status: 200, body: { ready: true, reasons: [] } });
  c2.up = false;
  const down = await ready();
  t.equal(down.status, 503);
  t.equal(down.body.ready, false);
  t.same(down.body.reasons, ['required carrier c2 not bound']);
  c2.up = true;
  c1.up = false;
  t.equal((await ready()).status, 200, 'c1 is not required: its failover can carry the traffic');
});

t.test('/readyz: no carrier has bound yet → 503; store closed → 503', async (t) => {
  const ta = twoCarriers(t, false);
  for (const fc of ta.connectors.values()) {
    fc.up = false;
    fc.hasBound = () => false;
  }
  const r = await ta.app.http.inject({ method: 'GET', url: '/readyz' });
  t.equal(r.statusCode, 503);
  t.same(r.json().reasons, ['no carrier bound yet']);
  const c1 = ta.connectors.get('c1')!;
  c1.hasBound = () => true;
  c1.up = true;
  t.equal((await ta.app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'one bound carrier is enough');
  ta.app.store.close();
  const closed = await ta.app.http.inject({ method: 'GET', url: '/readyz' });
  t.equal(closed.statusCode, 503);
  t.ok(closed.json().reasons.includes('store closed'));
});

t.test('/metrics: prom-client text with process metrics, intake by category and result, queue depth by lane', async (t) => {
  const ta = twoCarriers(t, false);
  for (const fc of ta.connectors.values()) fc.up = false; // keep everything queued
  const post = (payload: Record<string, unknown>, token?: string) =>
    ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(token), payload });
  t.equal((await post({ to: '13800138000', text: 'a', category: 'notification' })).statusCode, 202);
  t.equal((await post({ to: '13800138001', text: 'b', category: 'notification' })).statusCode, 202);
  t.equal((await post({ to: '13900139000', text: 'c', category: 'marketing' })).statusCode, 202);
  t.equal((await post({ to: '13900139001', text: '验证码 123456', category: 'otp' })).statusCode, 202);
  t.equal((await post({ to: '12', text: 'x', category: 'collection' })).statusCode, 400);
  await ta.app.http.inject({ method: 'POST', url: '/v1/optouts', headers: auth(ADMIN_TOKEN), payload: { number: '13700137000' } });
  t.equal((await post({ to: '13700137000', text: 'x', category: 'marketing' })).statusCode, 422);
  for (let i = 0; i < 3; i++) t.equal((await post({ to: '13800138000', text: 'x', category: `made-up-${i}` })).statusCode, 400);
  const batch = await ta.app.http.inject({
    method: 'POST',
    url: '/v1/sms/batch',
    headers: auth(),
    payload: { messages: [{ to: '13800138002', text: 'd', category: 'collection' }, { to: 'nope', text: 'e', category: 'collection' }] },
  });
  t.equal(batch.statusCode, 202);

  const res = await ta.app.http.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const text = res.body;
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  t.ok(value('xinge_process_cpu_user_seconds_total') !== undefined, 'process metrics');
  t.ok(value('xinge_process_resident_memory_bytes')! > 0, 'process RSS');
  t.match(text, /^xinge_nodejs_eventloop_lag_seconds /m);
  t.equal(value('xinge_intake_total{category="notification",result="accepted"}'), 2);
  t.equal(value('xinge_intake_total{category="marketing",result="accepted"}'), 1);
  t.equal(value('xinge_intake_total{category="otp",result="accepted"}'), 1);
  t.equal(value('xinge_intake_total{category="collection",result="invalid_phone_number"}'), 2, 'single and batch refusals counted');
  t.equal(value('xinge_intake_total{category="collection",result="accepted"}'), 1);
  t.equal(value('xinge_intake_total{category="marketing",result="opted_out"}'), 1);
  t.equal(value('xinge_queue_depth{lane="notification"}'), 2);
  t.equal(value('xinge_queue_depth{lane="marketing"}'), 1);
  t.equal(value('xinge_queue_depth{lane="otp"}'), 1);
  t.equal(value('xinge_queue_depth{lane="collection"}'), 1);
  t.notMatch(text, /13800138000|13900139000/, 'no phone number in any label');
  t.notMatch(text, /made-up/, 'a label never takes a value the client made up');
  t.equal(value('xinge_intake_total{category="invalid",result="invalid_field"}'), 3);
});
