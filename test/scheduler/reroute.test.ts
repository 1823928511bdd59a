/**
 * Failover of a backlog (SPEC 4): a paused carrier's whole queue moves to the next carrier in
 * bounded steps, in one maintenance run, not 1,000 per 2 s tick; segments no other carrier
 * takes stay where they are.
 */
import t from 'tap';
import { ADMIN_TOKEN, auth, baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('a paused carrier: its whole queue moves to the next carrier, in steps; what none takes stays', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [
    { id: 'c1', host: '127.0.0.1', port: 1 },
    { id: 'c2', host: '127.0.0.1', port: 1, categories: ['notification'] },
  ]) as Record<string, any>;
  const ta = startTestApp(makeConfig(obj), { level: 'info' });
  t.teardown(() => ta.close());
  await ta.app.start();
  const paused = await ta.app.http.inject({ method: 'POST', url: '/v1/admin/carriers/c1/pause', headers: auth(ADMIN_TOKEN) });
  t.equal(paused.statusCode, 200);
  // c2 holds what it is given: the moved segments wait there, countable.
  ta.connectors.get('c2')!.respond = () => new Promise(() => {});
  const ms = ta.app.store.messages;
  const notifications: string[] = [];
  const marketing: string[] = [];
  ms.transaction(() => {
    for (let i = 0; i < 1234; i++) {
      const m = newMessage({ carrierId: 'c1', category: 'notification' });
      ms.insertMessage(m);
      notifications.push(m.id);
    }
    for (let i = 0; i < 3; i++) {
      const m = newMessage({ carrierId: 'c1', category: 'marketing' });
      ms.insertMessage(m);
      marketing.push(m.id);
    }
  });
  ta.app.runMaintenance();
  await waitFor(() => ta.lines.some((l) => /queued segments moved to the next carrier/.test(l)), 10000, 'the walk to finish');
  const line = ta.lines.find((l) => /queued segments moved to the next carrier/.test(l))!;
  t.match(line, /"moved":1234/, 'one log line for the whole walk');
  t.ok(notifications.every((id) => ms.getSegments(id)[0]!.carrierId === 'c2'), 'every notification moved, past one step');
  t.ok(marketing.every((id) => ms.getSegments(id)[0]!.carrierId === 'c1'), 'c2 takes no marketing: those stay queued on c1');
  t.equal(ms.getMessage(marketing[0]!)!.status, 'queued');
});
