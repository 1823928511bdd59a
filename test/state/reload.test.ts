/**
 * Issue 14 point 8: SIGHUP keeps each carrier's adaptive rate state, and says in the log and
 * in GET /v1/admin/carriers which changes wait for a restart.
 */
import t from 'tap';
import { ADMIN_TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

t.test('a tps change keeps the throttled rate; an unchanged reload keeps it too', async (t) => {
  const clock = Date.now();
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 100 }]);
  const ta = startTestApp(makeConfig(obj), { now: () => clock });
  t.teardown(() => ta.close());
  await ta.app.start();
  const rt = ta.app.carriers.get('c1')!;
  rt.rate.onThrottled();
  t.equal(rt.rate.rate, 50, 'halved by ESME_RTHROTTLED');
  ta.app.reload(makeConfig(obj));
  t.equal(ta.app.carriers.get('c1')!.rate.rate, 50, 'an unchanged reload keeps it');
  const more = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 200 }]);
  const res = ta.app.reload(makeConfig(more));
  t.ok(res.applied.includes('carriers.c1.tps'), 'tps applied');
  t.equal(ta.app.carriers.get('c1')!.rate.rate, 50, 'a higher tps does not lift the carrier\'s throttle');
  const less = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 20 }]);
  ta.app.reload(makeConfig(less));
  t.equal(ta.app.carriers.get('c1')!.rate.rate, 20, 'a lower tps caps it');
});

t.test('window, response timeout, bind count and a new carrier: logged and shown as waiting for a restart', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, window: 10, response_timeout_s: 10 }]);
  const ta = startTestApp(makeConfig(obj), { level: 'info' });
  t.teardown(() => ta.close());
  await ta.app.start();
  const next = baseConfigObject(dir, [
    { id: 'c1', host: '127.0.0.1', port: 1, window: 50, response_timeout_s: 3, binds: 2, tps: 300, dlr_id: 'auto' },
    { id: 'c9', host: '127.0.0.1', port: 9 },
  ]);
  const res = ta.app.reload(makeConfig(next));
  t.ok(res.applied.includes('carriers.c1.dlr_id'), 'dlr_id applies at once');
  t.same(res.pendingRestart.sort(), ['carriers.c1.binds', 'carriers.c1.response_timeout_s', 'carriers.c1.window', 'carriers.c9'].sort());
  const line = ta.lines.find((l) => l.includes('wait for a restart'));
  t.ok(line, 'the log says which changes wait for a restart');
  t.match(line!, /carriers\.c1\.window/);
  t.match(line!, /carriers\.c9/);
  const view = await ta.app.http.inject({ method: 'GET', url: '/v1/admin/carriers', headers: auth(ADMIN_TOKEN) });
  t.equal(view.statusCode, 200, view.body);
  const body = view.json();
  t.same(body.carriers.find((c: { id: string }) => c.id === 'c1').pending_restart.sort(), ['binds', 'response_timeout_s', 'window']);
  t.same(body.pending_restart, ['carriers.c9'], 'a carrier added by the reload is listed as waiting for a restart');
  t.equal(body.carriers.find((c: { id: string }) => c.id === 'c1').configured_tps, 300, 'tps shown as applied');
  // Back to the running values: nothing waits any more.
  ta.app.reload(makeConfig(obj));
  const again = (await ta.app.http.inject({ method: 'GET', url: '/v1/admin/carriers', headers: auth(ADMIN_TOKEN) })).json();
  t.same(again.carriers[0].pending_restart, []);
  t.same(again.pending_restart, []);
});
