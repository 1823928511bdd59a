/**
 * Issue 2, point 7: a child-process daemon accepts N messages (some scheduled in the
 * future), is killed with SIGKILL right after the 202s, restarts on the same file: every
 * accepted id is there; scheduled ones stay scheduled, the others go out against the
 * simulator (segments caught on the wire are sent again: at-least-once).
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/fixtures.js';
import { daemonConfig, freePort, http, startDaemon, waitReady, writeYaml } from './fixtures/daemon.js';

const N = 300;
const SCHEDULED_EVERY = 6; // every 6th message is for tomorrow: 50 of 300

t.test('SIGKILL right after the 202s loses nothing; restart resumes', async (t) => {
  const dir = tempDir(t);
  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
  cfg.carriers[0].tps = 150; // slower than intake: at the kill, work is queued and on the wire
  cfg.carriers[0].burst = 10;
  cfg.store.commit_interval_ms = 5;
  const d1 = startDaemon(writeYaml(dir, 'first.yaml', cfg));
  t.teardown(() => d1.kill());
  await waitReady(d1, httpPort);

  const tomorrow = new Date(Date.now() + 86400_000).toISOString();
  const accepted = new Map<string, 'queued' | 'scheduled'>();
  const submitOne = async (i: number) => {
    const scheduled = i % SCHEDULED_EVERY === 0;
    const body: Record<string, unknown> = {
      to: `13${String(800000000 + i)}`,
      text: i % 10 === 1 ? `长消息 ${i} ${'分段'.repeat(50)}` : `durable ${i}`,
      category: i % 3 === 0 ? 'collection' : 'notification',
      reference: `dur-${i}`,
    };
    if (scheduled) body.send_at = tomorrow;
    const r = await http(httpPort, 'POST', '/v1/sms', body);
    t.equal(r.status, 202, r.text);
    accepted.set(r.json.id, r.json.status);
    t.equal(r.json.status, scheduled ? 'scheduled' : 'queued');
  };
  // 20 clients in parallel, as intake sees them.
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < N) await submitOne(next++);
    }),
  );
  d1.child.kill('SIGKILL');
  const exit1 = await d1.exited;
  t.equal(exit1.signal, 'SIGKILL', 'killed, no drain');
  t.equal(accepted.size, N);
  t.notOk(d1.records().some((r) => r.msg === 'draining'), 'it had no chance to drain');

  // What the crash left: every accepted row is in the file (read without touching the WAL).
  const dbPath = cfg.store.path as string;
  const raw = new Database(dbPath, { readonly: true, fileMustExist: true });
  const atCrash = new Map((raw.prepare('SELECT id, status FROM messages').all() as Array<{ id: string; status: string }>).map((r) => [r.id, r.status]));
  const segsAtCrash: Record<string, number> = {};
  for (const r of raw.prepare('SELECT status, count(*) AS n FROM segments GROUP BY status').all() as Array<{ status: string; n: number }>) segsAtCrash[r.status] = r.n;
  raw.close();
  t.equal(atCrash.size, N, 'every 202 is a committed row');
  for (const id of accepted.keys()) if (!atCrash.has(id)) t.fail(`accepted ${id} missing after the crash`);
  t.comment(`segments at the crash: ${JSON.stringify(segsAtCrash)}`);
  t.ok((segsAtCrash.queued ?? 0) > 0, 'some work was still queued at the kill');

  // Restart on the same file (new ports: the old ones may linger).
  const [httpPort2, simPort2] = [await freePort(), await freePort()];
  const cfg2 = daemonConfig(dir, httpPort2, simPort2) as Record<string, any>;
  cfg2.store = cfg.store;
  const d2 = startDaemon(writeYaml(dir, 'second.yaml', cfg2));
  t.teardown(() => d2.kill());
  await waitReady(d2, httpPort2);
  const inFlightAtCrash = segsAtCrash.submitting ?? 0;
  if (inFlightAtCrash > 0) {
    const rec = await d2.waitForRecord((r) => typeof r.msg === 'string' && r.msg.includes('queued again'), 5000, 'recovery line');
    t.equal(rec.segments, inFlightAtCrash, 'segments on the wire at the crash are queued again');
  }

  const deadline = Date.now() + 30000;
  const pending = new Set([...accepted].filter(([, s]) => s === 'queued').map(([id]) => id));
  const finalStatus = new Map<string, string>();
  while (pending.size > 0) {
    for (const id of [...pending]) {
      const g = await http(httpPort2, 'GET', `/v1/messages/${id}`);
      t.equal(g.status, 200);
      if (g.json.status === 'delivered' || g.json.status === 'submitted') {
        pending.delete(id);
        finalStatus.set(id, g.json.status);
      }
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(pending.size, 0, `every queued message went out after the restart (${pending.size} left)`);
  const scheduledIds = [...accepted].filter(([, s]) => s === 'scheduled').map(([id]) => id);
  const stillScheduled: string[] = [];
  for (const id of scheduledIds) {
    const g = await http(httpPort2, 'GET', `/v1/messages/${id}`);
    if (g.json.status === 'scheduled') stillScheduled.push(id);
  }
  t.ok(scheduledIds.length > 0, 'some accepted messages were scheduled');
  t.same(stillScheduled, scheduledIds, `${scheduledIds.length} scheduled messages still scheduled`);

  d2.child.kill('SIGTERM');
  t.equal((await d2.exited).code, 0);
  const db = new Database(dbPath, { readonly: true });
  const total = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  const sched = (db.prepare(`SELECT count(*) AS n FROM messages WHERE status = 'scheduled'`).get() as { n: number }).n;
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  t.equal(total, N, 'no message lost, none duplicated');
  t.equal(sched, N / SCHEDULED_EVERY);
});
