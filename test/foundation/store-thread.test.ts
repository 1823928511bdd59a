/**
 * The store's thread answers reads too long for the event loop: the periodic queue-depth
 * recount runs there (a million queued segments took 400 ms to count on the main thread).
 */
import t from 'tap';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { DepthRecount } from '../../src/intake/lane-gate.js';
import { auth, baseConfigObject, makeConfig, newMessage, startTestApp, tempDir } from '../helpers/fixtures.js';

t.test('the count on the store thread is the count on the main thread', async (t) => {
  const st = openStore({ path: join(tempDir(t), 'x.db') });
  t.teardown(() => st.close());
  st.messages.transaction(() => {
    for (let i = 0; i < 30; i++) st.messages.insertMessage(newMessage({ category: 'marketing' }));
    for (let i = 0; i < 7; i++) st.messages.insertMessage(newMessage({ category: 'otp' }));
    st.messages.insertMessage(newMessage({ category: 'notification', segments: 3 }));
  });
  const claimed = st.messages.claim('c1', 'marketing', Date.now() + 1, 10);
  t.equal(claimed.length, 10);
  const background = await st.depthInBackground()!;
  t.same(background, st.messages.openDepthByLane());
  t.same(background, { otp: 7, notification: 3, collection: 0, marketing: 20 }, 'segments not yet on the wire, by lane');

  const mem = openStore({ path: ':memory:' });
  t.equal(mem.depthInBackground(), undefined, 'no thread for an in-memory database: the caller counts itself');
  mem.close();
});

t.test('a read that fails is refused alone; reads after close are refused', async (t) => {
  const path = join(tempDir(t), 'y.db');
  const st = openStore({ path });
  const thread = new Checkpointer(path, 1000);
  await t.rejects(thread.read('SELECT * FROM no_such_table'), /no such table/);
  t.same(await thread.read('SELECT count(*) AS n FROM messages'), [{ n: 0 }], 'the thread goes on');
  const pending = thread.read('SELECT 1 AS one');
  thread.stop();
  await t.rejects(pending, /store closed/, 'a read still waiting when the thread stops is refused, not left hanging');
  await t.rejects(thread.read('SELECT 1'), /store closed/);
  st.close();
  await t.rejects(st.depthInBackground()!, /store closed/);
});

t.test('the daemon refreshes the depth gauge and the lane limits from the store thread', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1 }])));
  t.teardown(() => ta.close());
  await ta.app.start();
  // Rows written behind intake's back (due in an hour, so nothing sends them): only a recount sees them.
  const later = Date.now() + 3600_000;
  ta.app.store.messages.transaction(() => {
    for (let i = 0; i < 12; i++) ta.app.store.messages.insertMessage(newMessage({ category: 'collection', sendAt: later, expiresAt: later + 3600_000 }));
  });
  const deadline = Date.now() + 8000;
  let body = '';
  while (Date.now() < deadline) {
    body = (await ta.app.http.inject({ method: 'GET', url: '/metrics', headers: auth() })).body;
    if (/xinge_queue_depth\{lane="collection"\} 12/.test(body)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.match(body, /xinge_queue_depth\{lane="collection"\} 12/, 'recounted within one 2 s period');
});

t.test('DepthRecount: one count at a time; without a thread it counts in place; a failed count keeps the last depths', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const applied: Array<Record<string, number>> = [];
  const zero = { otp: 0, notification: 0, collection: 0, marketing: 0 };
  let background: (() => Promise<typeof zero>) | undefined;
  let started = 0;
  let stopping = false;
  const recount = new DepthRecount({
    count: () => ({ ...zero, otp: 1 }),
    countInBackground: () => {
      if (background === undefined) return undefined;
      started++;
      return background();
    },
    apply: (d) => applied.push(d),
    logger,
    stopping: () => stopping,
  });
  recount.inBackground();
  t.same(applied, [{ ...zero, otp: 1 }], 'no thread: counted in place');

  let answer!: (d: typeof zero) => void;
  background = () => new Promise((r) => (answer = r));
  recount.inBackground();
  recount.inBackground();
  t.equal(started, 1, 'a second recount while one runs is skipped');
  answer({ ...zero, marketing: 9 });
  await new Promise((r) => setImmediate(r));
  t.same(applied.at(-1), { ...zero, marketing: 9 });

  background = () => Promise.reject(new Error('store thread ended'));
  recount.inBackground();
  await new Promise((r) => setImmediate(r));
  t.equal(applied.length, 2, 'a failed count applies nothing');
  t.match(lines.join(''), /queue depth count failed on the store thread/);
  background = () => Promise.resolve({ ...zero, collection: 3 });
  recount.inBackground();
  await new Promise((r) => setImmediate(r));
  t.same(applied.at(-1), { ...zero, collection: 3 }, 'and the next one runs');
  stopping = true;
  recount.inBackground();
  await new Promise((r) => setImmediate(r));
  t.equal(applied.length, 3, 'nothing applied once the daemon drains');
});
