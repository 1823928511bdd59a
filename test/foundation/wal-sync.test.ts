/**
 * Durability off the main thread: SQLite commits without fsync (synchronous=NORMAL) and the
 * group commit answers only after WalSync has fsynced the WAL on the thread pool.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { openStore } from '../../src/store/index.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';
import { newMessage, tempDir } from '../helpers/fixtures.js';

t.test('WalSync: calls made while an fsync runs share the next one; close answers or refuses the waiting', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, 'w.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE x (v)');
  t.teardown(() => db.close());
  const ws = new WalSync(join(dir, 'w.db-wal'));
  await ws.sync();
  t.equal(ws.syncs, 1);
  await Promise.all(Array.from({ length: 50 }, () => ws.sync()));
  t.ok(ws.syncs <= 3, `50 concurrent callers took ${ws.syncs - 1} fsyncs`);

  const running = ws.sync(); // starts an fsync
  const queued = ws.sync(); // waits for the next one, which close() will not start
  ws.close(true);
  await t.resolves(running, 'the fsync in progress completes');
  await t.resolves(queued, 'close(true): the caller is told its commit is durable (a checkpoint synced it)');
  await t.rejects(ws.sync(), /store closed/, 'no sync after close');

  const ws2 = new WalSync(join(dir, 'w.db-wal'));
  const a = ws2.sync();
  const b = ws2.sync();
  const refused = t.rejects(b, /before the commit reached the disk/, 'close(false): a commit not known durable is refused');
  ws2.close(false);
  await t.resolves(a);
  await refused;
});

t.test('group commit: callers are answered after the durable step, and refused if it fails', async (t) => {
  const rows: number[] = [];
  const tx = { transaction: <T>(fn: () => T): T => fn() };
  let release: () => void = () => undefined;
  let fail = false;
  const gc = new GroupCommit(tx, { intervalMs: 0, durable: () =>
    fail ? Promise.reject(new Error('fsync failed: EIO')) : new Promise<void>((r) => (release = r)),
  });
  let answered = false;
  let committed = 0;
  const p = gc.run(() => rows.push(1), false, () => committed++).then(() => (answered = true));
  await new Promise((r) => setTimeout(r, 20));
  t.same(rows, [1], 'the unit ran and committed');
  t.equal(committed, 1, 'onCommitted ran at commit (the dispatcher may send now)');
  t.equal(answered, false, 'not answered before the commit is durable');
  release();
  await p;
  t.equal(answered, true, 'answered once durable');

  fail = true;
  await t.rejects(gc.run(() => rows.push(2)), /EIO/, 'a commit that did not reach the disk is refused to its caller');
  fail = false;
  const hooks: string[] = [];
  const bad = gc.run(() => {
    throw new Error('unit failed');
  }, false, () => hooks.push('failed unit'));
  const good = gc.run(() => 1, false, () => {
    hooks.push('good unit');
    throw new Error('hook failed');
  });
  await new Promise((r) => setTimeout(r, 20));
  release();
  await t.rejects(bad, /unit failed/);
  t.equal(await good, 1, 'a throwing hook does not fail its unit');
  t.same(hooks, ['good unit'], 'onCommitted only for units that succeeded');
});

t.test('openStore (synchronous full): units are answered after an fsync of the WAL; normal does none', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.db');
  const st = openStore({ path, commitIntervalMs: 1 });
  let commits = 0;
  st.commit.onCommit = () => commits++;
  t.equal(st.fsyncs(), 0);
  await Promise.all(Array.from({ length: 20 }, (_, i) => st.commit.run(() => st.messages.insertMessage(newMessage({ id: `msg_ws${i}` })))));
  t.ok(st.fsyncs() >= 1 && st.fsyncs() <= commits, `${commits} commits, ${st.fsyncs()} fsyncs`);
  const other = new Database(path, { readonly: true });
  t.equal((other.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 20, 'all rows visible to a second connection');
  other.close();
  // close() resolves once the checkpoint thread has ended (its connection closed), so a drain
  // that awaits it leaves nothing touching the files: the process has one thread fewer then.
  const threads = () => readdirSync('/proc/self/task').length;
  const before = threads();
  await st.close();
  t.ok(threads() < before, `the checkpoint thread has ended when close resolves (${before} threads, then ${threads()})`);
  const again = openStore({ path, synchronous: 'normal' });
  t.ok(again.messages.getMessage('msg_ws19'), 'rows survive close and reopen');
  await again.commit.run(() => again.messages.insertMessage(newMessage({ id: 'msg_ws_normal' })));
  t.equal(again.fsyncs(), 0, 'synchronous: normal does not fsync');
  again.close();
});

t.test('checkpoints run on their own thread: the WAL is copied back while the writer goes on', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cp.db');
  const st = openStore({ path, commitIntervalMs: 1, checkpointIntervalMs: 10 });
  for (let b = 0; b < 20; b++) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => st.commit.run(() => st.messages.insertMessage(newMessage({ id: `msg_cp${b}_${i}` })))));
  }
  const deadline = Date.now() + 5000;
  while ((st.checkpoints()?.framesCheckpointed ?? 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const stats = st.checkpoints()!;
  t.ok(stats.runs > 0, `${stats.runs} checkpoint runs`);
  t.ok(stats.framesCheckpointed > 0, `${stats.framesCheckpointed} frames copied into the database file`);
  t.equal(stats.errors, 0, stats.lastError ?? 'no checkpoint errors');
  st.close();
  const again = openStore({ path });
  t.ok(again.messages.getMessage('msg_cp19_49'), 'every row there after close and reopen');
  t.ok(again.messages.getMessage('msg_cp0_0'));
  again.close();
  const mem = openStore({ path: ':memory:' });
  t.equal(mem.checkpoints(), undefined, 'no checkpoint thread for an in-memory database');
  mem.close();
});

t.test('a process that leaves its store open still exits: the checkpoint thread does not hold it', async (t) => {
  const dir = tempDir(t);
  const fixture = join(import.meta.dirname, 'fixtures', 'open-store-and-leave.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, join(dir, 'leave.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  t.equal(out.trim(), 'opened');
  t.equal(code, 0, 'exited by itself, not killed');
});
