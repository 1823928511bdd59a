/**
 * Retention purge in bounded steps: a day's worth of final messages is deleted a slice per
 * commit unit, not in one statement that holds the event loop for seconds.
 */
import t from 'tap';
import { newId } from '../../src/domain/ids.js';
import { baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('purgeFinal deletes at most its limit; a maintenance run purges a backlog larger than one step, all of it', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.store.retention_days = 30;
  const ta = startTestApp(makeConfig(obj), { level: 'info' });
  t.teardown(() => ta.close());
  const ms = ta.app.store.messages;
  const day = 86400000;
  const old = Date.now() - 40 * day;
  const ids: string[] = [];
  ms.transaction(() => {
    for (let i = 0; i < 1234; i++) {
      const m = newMessage({ id: newId('msg', old + i), createdAt: old + i, sendAt: old + i, expiresAt: old + day });
      ms.insertMessage(m);
      ms.finalizeMessage(m.id, 'delivered', old + i + 1000);
      ids.push(m.id);
    }
  });
  const keep = newMessage({ id: newId('msg', old), createdAt: old, sendAt: Date.now() + day, expiresAt: Date.now() + 2 * day });
  ms.insertMessage(keep);

  t.equal(ms.purgeFinal(old + 30 * day, 10), 10, 'ten, the limit');
  t.equal(ms.getMessage(ids[0]!), undefined, 'oldest first');
  t.ok(ms.getMessage(ids[10]!));

  ta.app.runMaintenance();
  await waitFor(() => ta.lines.some((l) => /retention purge/.test(l)), 10000, 'the purge to finish');
  t.ok(ta.lines.some((l) => /retention purge/.test(l) && /"messages":1224/.test(l)), 'one log line with the total of every step');
  t.ok(ids.every((id) => ms.getMessage(id) === undefined), 'all 1,234 gone');
  t.same(ms.getSegments(ids[1233]!), [], 'with their segments');
  t.equal(ms.getMessage(keep.id)?.status, 'scheduled', 'an old message not yet final stays');
});
