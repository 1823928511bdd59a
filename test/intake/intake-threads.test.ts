/**
 * HTTP intake on its own threads (issue 19.2): the threads own the sockets; POST /v1/sms and
 * /v1/sms/batch are committed by the main thread before their 202; every other route is the
 * main thread's own answer; a thread that dies stops the daemon. Real HTTP over loopback.
 */
import t from 'tap';
import { request, Agent } from 'undici';
import { auth, ADMIN_TOKEN, TOKEN, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor, type TestApp } from '../helpers/fixtures.js';
import fc from 'fast-check';
import { intakeThreadCount } from '../../src/intake/threads/intake-threads.js';
import { registeredRoutes } from '../../src/intake/http-server.js';

// Daemons with worker threads and a fast-check property: 36 s alone on this host; with two
// CPU hogs beside the suite it ran past tap's default 120 s. Slow, not stuck: more time.
t.setTimeout(300_000);

async function startThreaded(t: { teardown(fn: () => unknown): void }, threads: number, patch: (o: Record<string, unknown>) => void = () => {}): Promise<{ env: TestApp; base: string; fatal: Error[] }> {
  const obj = baseConfigObject(tempDir(t));
  (obj.http as Record<string, unknown>).threads = threads;
  patch(obj);
  const fatal: Error[] = [];
  const env = startTestApp(makeConfig(obj), { onFatal: (e: Error) => fatal.push(e) });
  const { port } = await env.app.start();
  t.teardown(() => env.close());
  return { env, base: `http://127.0.0.1:${port}`, fatal };
}

const dispatcher = new Agent({ connections: 16 });
t.teardown(() => dispatcher.close());
async function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(`${base}${path}`, { method: method as 'GET', headers: opts.headers, body: opts.body, dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}
const json = { 'content-type': 'application/json' };

t.test('http.threads auto: none on two cores, then one per core beyond two, at most 4', async (t) => {
  t.equal(intakeThreadCount('auto', 1), 0);
  t.equal(intakeThreadCount('auto', 2), 0, 'two cores: none (measured: the hop costs more than it saves)');
  t.equal(intakeThreadCount('auto', 4), 2);
  t.equal(intakeThreadCount('auto', 16), 4);
  t.equal(intakeThreadCount(3, 2), 3);
});

t.test('SMS intake through two threads: 202 after the commit, the same answers as the main thread', async (t) => {
  const { env, base } = await startThreaded(t, 2);
  const one = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: JSON.stringify({ to: '13800138000', text: '您好，还款提醒', category: 'notification' }) });
  t.equal(one.status, 202, one.text);
  const id = one.json().id as string;
  const stored = env.app.store.messages.getMessage(id);
  t.ok(stored !== undefined, 'the row is committed when the 202 arrives');
  t.equal(stored?.to, '+8613800138000');

  const batch = await call(base, 'POST', '/v1/sms/batch', {
    headers: { ...auth(), ...json },
    body: JSON.stringify({ messages: [{ to: '13800138001', text: 'a', category: 'notification' }, { to: 'nope', text: 'b', category: 'notification' }] }),
  });
  t.equal(batch.status, 202);
  const b = batch.json() as { accepted: number; refused: number; results: Array<{ id?: string; error?: { code: string; field: string } }> };
  t.equal(b.accepted, 1);
  t.equal(b.refused, 1);
  t.equal(b.results[1]!.error!.field, 'messages[1].to');
  t.ok(env.app.store.messages.getMessage(b.results[0]!.id!), 'the accepted item is stored');

  // Read routes are the main thread's answers, byte for byte.
  const got = await call(base, 'GET', `/v1/messages/${id}`, { headers: auth() });
  const injected = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() });
  t.equal(got.status, 200);
  t.same(got.json(), injected.json());
  t.match(got.headers['content-type'], /application\/json/);

  const metrics = await call(base, 'GET', '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.text, /xinge_intake_total\{category="notification",result="accepted"\} 2/, 'intake counted once per accepted message');
  t.match(metrics.headers['content-type'], /text\/plain/);
});

t.test('refusals from the thread and from the main thread keep the API shape', async (t) => {
  const { base } = await startThreaded(t, 1, (o) => {
    const c = (o.clients as Array<Record<string, unknown>>)[0]!;
    c.rate_limit = { per_second: 1, burst: 1 };
  });
  const bad = await call(base, 'POST', '/v1/sms', { headers: { authorization: 'Bearer wrong', ...json }, body: '{}' });
  t.equal(bad.status, 401);
  t.equal((bad.json().error as { code: string }).code, 'unauthorized');
  const broken = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: '{"to":' });
  t.equal(broken.status, 400);
  t.equal((broken.json().error as { code: string }).code, 'invalid_json');
  const field = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: JSON.stringify({ to: '13800138000', category: 'notification' }) });
  t.equal(field.status, 400);
  t.equal((field.json().error as { field: string }).field, 'text');
  const limited = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: JSON.stringify({ to: '13800138000', text: 'x', category: 'notification' }) });
  t.equal(limited.status, 429, 'the rate limit lives on the main thread');
  t.ok(Number(limited.headers['retry-after']) >= 1, 'with Retry-After');
  const missing = await call(base, 'GET', '/v1/nowhere', { headers: auth() });
  t.equal(missing.status, 404);
  t.equal((missing.json().error as { code: string }).code, 'not_found');
  const wrongMethod = await call(base, 'DELETE', '/v1/sms', { headers: auth() });
  t.equal(wrongMethod.status, 405);
  t.match(wrongMethod.headers.allow, /POST/);
});

t.test('Idempotency-Key through the threads: the repeat gets the first answer, a different body 409', async (t) => {
  const { env, base } = await startThreaded(t, 2);
  const body = JSON.stringify({ to: '13800138000', text: 'repeat me', category: 'notification', reference: 'ref-idem' });
  const first = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json, 'idempotency-key': 'k-1' }, body });
  const again = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json, 'idempotency-key': 'k-1' }, body });
  t.equal(first.status, 202);
  t.same(again.json(), first.json());
  const other = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json, 'idempotency-key': 'k-1' }, body: body.replace('repeat', 'other') });
  t.equal(other.status, 409);
  t.equal(env.app.store.messages.idsByReference('loans', 'ref-idem').length, 1, 'one message stored');
});

t.test('many connections at once: every 202 is a stored message', async (t) => {
  const { env, base } = await startThreaded(t, 2);
  const ids = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: JSON.stringify({ to: `138001${String(i).padStart(5, '0')}`, text: `n${i}`, category: 'notification' }) }).then((r) => {
        if (r.status !== 202) throw new Error(r.text);
        return r.json().id as string;
      }),
    ),
  );
  t.equal(new Set(ids).size, 200);
  t.equal(ids.filter((id) => env.app.store.messages.getMessage(id) !== undefined).length, 200);
});

t.test('draining: intake answers 503 draining from the threads, then they close', async (t) => {
  const { env, base } = await startThreaded(t, 2);
  const drained = env.app.drain();
  const res = await call(base, 'POST', '/v1/sms', { headers: { ...auth(), ...json }, body: JSON.stringify({ to: '13800138000', text: 'x', category: 'notification' }) }).catch((err: Error) => ({ status: 0, text: err.message, headers: {} as Record<string, unknown>, json: () => ({}) }));
  // Either refused while the threads still accept, or the socket is already gone: never accepted.
  if (res.status !== 0) {
    t.equal(res.status, 503);
    t.equal(res.headers['retry-after'], '5');
  }
  t.not(res.status, 202, 'not accepted during the drain');
  await drained;
  await t.rejects(call(base, 'GET', '/healthz'), 'nothing listens after the drain');
});

t.test('a thread that dies is a daemon failure, not a silent loss of intake', async (t) => {
  const { env, fatal } = await startThreaded(t, 2);
  const workers = env.app.intakeThreads();
  t.equal(workers.length, 2);
  await workers[1]!.terminate();
  await waitFor(() => fatal.length > 0, 5000, 'onFatal');
  t.match(fatal[0]!.message, /intake thread 1 exited/);
});

t.test('a port in use is reported as the listen error it is', async (t) => {
  const { base } = await startThreaded(t, 1);
  const port = Number(new URL(base).port);
  const obj = baseConfigObject(tempDir(t));
  (obj.http as Record<string, unknown>).threads = 2;
  (obj.http as Record<string, unknown>).port = port;
  const env = startTestApp(makeConfig(obj), { onFatal: () => undefined });
  t.teardown(() => env.close());
  await t.rejects(env.app.start(), { code: 'EADDRINUSE' });
});

t.test('random requests through the threads: never a 5xx, errors in the API shape', async (t) => {
  const { env, base } = await startThreaded(t, 2);
  const routes = registeredRoutes(env.app.http).filter((r) => !r.url.includes('*'));
  const path = fc
    .tuple(fc.constantFrom(...routes.map((r) => r.url)), fc.oneof(fc.constantFrom('13800138000', 'msg_x', '%00', '..'), fc.string({ maxLength: 12 }).map(encodeURIComponent)))
    .map(([url, seg]) => url.replace(/:[a-zA-Z]+/g, seg || 'x'));
  const query = fc.array(fc.tuple(fc.constantFrom('limit', 'after', 'number', 'since'), fc.string({ maxLength: 8 })), { maxLength: 3 }).map((q) => (q.length === 0 ? '' : `?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));
  const body = fc.oneof(
    fc.record({ to: fc.constantFrom('13800138000', 'x', ''), text: fc.string({ maxLength: 20 }), category: fc.constantFrom('notification', 'otp', 'nope') }).map((o) => JSON.stringify(o)),
    fc.record({ messages: fc.array(fc.record({ to: fc.constantFrom('13800138000', '1'), text: fc.string({ maxLength: 5 }), category: fc.constant('notification') }), { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
  );
  const token = fc.constantFrom(TOKEN, ADMIN_TOKEN, 'nope', undefined);
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path, query, body, token, async (method, p, q, b, tok) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (tok !== undefined) headers.authorization = `Bearer ${tok}`;
      const res = await call(base, method, `${p}${q}`, { headers, ...(method === 'GET' || method === 'DELETE' ? {} : { body: b }) });
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.status >= 500) throw new Error(`${method} ${p}${q} answered ${res.status}: ${res.text}`);
      if (res.status >= 400) {
        const e = res.json().error as { code?: unknown } | undefined;
        if (typeof e?.code !== 'string') throw new Error(`${method} ${p}${q} ${res.status} without the error shape: ${res.text}`);
      }
    }),
    { numRuns: 300 },
  );
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  t.equal(total, 300, 'every request answered');
  t.ok([...seen.keys()].some((s) => s < 300), 'some were accepted or answered (2xx)');
  t.ok([...seen.keys()].filter((s) => s >= 400).length >= 3, `several kinds of refusal: ${[...seen.keys()].sort().join(' ')}`);
});
