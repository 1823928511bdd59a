/**
 * Receipt timeouts (SPEC 7, receipt_timeout_s) walk submitted segments in submit order
 * behind a cursor stored with the data (migration 3): what the walk returns, where it
 * stops, that it survives a restart and an upgrade from a version-2 database, and that a
 * backlog larger than one step is caught up with by one maintenance run.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

type Store = ReturnType<typeof openStore>;

/** One single-part message on `carrier`, submitted at `at` (its carrier id: `cm<n>`). */
function submitted(st: Store, at: number, carrier = 'c1'): { id: string; segmentId: number } {
  const m = newMessage({ carrierId: carrier, createdAt: at - 1000, sendAt: at - 1000, expiresAt: at + 86400000 });
  st.messages.insertMessage(m);
  const seg = st.messages.getSegments(m.id)[0]!;
  st.messages.markClaimed([seg.id], [m.id], at);
  st.messages.markSubmitted(seg.id, m.id, 1, `cm${seg.id}`, at, false);
  return { id: m.id, segmentId: seg.id };
}

t.test('the walk returns segments still awaiting a receipt, in submit order, and moves its cursor past what it read', async (t) => {
  const st = openStore({ path: join(tempDir(t), 'x.db') });
  t.teardown(() => st.close());
  const base = 1_700_000_000_000;
  // Three share a millisecond: the cursor must not skip or repeat any of a tie.
  const a = submitted(st, base);
  const b = submitted(st, base + 10);
  const c = submitted(st, base + 10);
  const d = submitted(st, base + 10);
  const e = submitted(st, base + 20);
  const other = submitted(st, base, 'c2');
  const late = submitted(st, base + 5000);
  // b got its receipt; e is past ACCEPTD but not final: it still awaits one.
  st.messages.setSegmentReceipt(b.segmentId, 'delivered', base + 30, 'DELIVRD', '000');
  st.messages.setSegmentReceipt(e.segmentId, 'accepted', base + 30, 'ACCEPTD', null);

  const take = (scan: number) => st.messages.transaction(() => st.messages.takeReceiptTimeouts('c1', base + 1000, scan));
  const first = take(2);
  t.same(first.stale.map((s) => s.id), [a.segmentId], 'a delivered segment is walked past, not returned');
  t.equal(first.more, true, 'stopped at the scan size');
  const second = take(2);
  t.same(second.stale.map((s) => s.id), [c.segmentId, d.segmentId], 'the rest of a tie, once each');
  const third = take(2);
  t.same(third.stale.map((s) => s.id), [e.segmentId], 'accepted still awaits a final receipt');
  t.equal(third.more, false, 'the walk reached the cutoff');
  t.same(take(2).stale, [], 'nothing is returned twice');
  t.notOk([...first.stale, ...second.stale, ...third.stale].some((s) => s.id === late.segmentId), 'submitted after the cutoff: not yet');
  t.same(st.messages.transaction(() => st.messages.takeReceiptTimeouts('c2', base + 1000, 10)).stale.map((s) => s.id), [other.segmentId], 'cursors are per carrier');
  const later = st.messages.transaction(() => st.messages.takeReceiptTimeouts('c1', base + 10_000, 10));
  t.same(later.stale.map((s) => s.id), [late.segmentId], 'a later cutoff walks on from the cursor');

  // A unit that fails leaves the cursor where it was: its segments are walked again.
  const f = submitted(st, base + 6000);
  t.throws(() =>
    st.messages.transaction(() => {
      st.messages.takeReceiptTimeouts('c1', base + 10_000, 10);
      throw new Error('boom');
    }),
  );
  t.same(take(10).stale, [], 'cutoff before f');
  t.same(st.messages.transaction(() => st.messages.takeReceiptTimeouts('c1', base + 10_000, 10)).stale.map((s) => s.id), [f.segmentId], 'rolled-back walk is redone');
});

t.test('the cursor is stored: a restart walks on from it', async (t) => {
  const path = join(tempDir(t), 'x.db');
  const base = 1_700_000_000_000;
  const s1 = openStore({ path });
  const a = submitted(s1, base);
  const b = submitted(s1, base + 1);
  t.same(s1.messages.transaction(() => s1.messages.takeReceiptTimeouts('c1', base + 1000, 1)).stale.map((s) => s.id), [a.segmentId]);
  s1.close();
  const s2 = openStore({ path });
  t.teardown(() => s2.close());
  t.same(s2.messages.transaction(() => s2.messages.takeReceiptTimeouts('c1', base + 1000, 10)).stale.map((s) => s.id), [b.segmentId]);
});

t.test('upgrade from a version-2 database: the index is swapped and segments already awaiting are found', async (t) => {
  const path = join(tempDir(t), 'v2.db');
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  for (let v = 0; v < 2; v++) raw.exec(MIGRATIONS[v]!);
  raw.pragma('user_version = 2');
  const base = 1_700_000_000_000;
  raw.exec(`INSERT INTO messages (id, client, category, lane, status, to_number, encoding, segmentation, segments, pending, carrier_id,
    concat_ref, send_at, expires_at, created_at) VALUES ('msg_old', 'loans', 'notification', 1, 'submitted', '+8613800138000', 'gsm7',
    'udh8', 1, 0, 'c1', 0, ${base}, ${base + 86400000}, ${base})`);
  raw.exec(`INSERT INTO segments (message_id, seq, total, lane, status, due_at, carrier_id, carrier_msg_id, submitted_at)
    VALUES ('msg_old', 1, 1, 1, 'submitted', ${base}, 'c1', 'x1', ${base + 5})`);
  raw.close();

  const st = openStore({ path });
  t.teardown(() => st.close());
  const check = new Database(path, { readonly: true });
  const indexes = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[];
  t.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length);
  check.close();
  t.ok(indexes.includes('segments_submitted'), 'new index');
  t.notOk(indexes.includes('segments_awaiting'), 'old index dropped');
  t.ok(indexes.includes('idempotency_created'), 'migration 4: idempotency keys by age');
  const got = st.messages.transaction(() => st.messages.takeReceiptTimeouts('c1', base + 1000, 10));
  t.same(got.stale.map((s) => s.messageId), ['msg_old']);
});

t.test('a backlog of timeouts larger than one step ends unknown in one maintenance run', async (t) => {
  const dir = tempDir(t);
  let clock = Date.now();
  const ta = startTestApp(makeConfig(baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, receipt_timeout_s: 60 }])), { now: () => clock });
  t.teardown(() => ta.close());
  const st = ta.app.store;
  const ids: string[] = [];
  st.messages.transaction(() => {
    for (let i = 0; i < 1234; i++) ids.push(submitted(st, clock - 1000).id);
  });
  const fresh = st.messages.transaction(() => submitted(st, clock + 1000));
  clock += 60_500;
  ta.app.runMaintenance();
  await waitFor(() => st.messages.getMessage(ids[ids.length - 1]!)?.status === 'unknown', 10000, 'the last of the backlog ended');
  t.ok(ids.every((id) => st.messages.getMessage(id)!.status === 'unknown'), 'every one of 1,234, walked in steps');
  t.equal(st.messages.getSegments(ids[0]!)[0]!.receiptStat, 'TIMEOUT');
  t.equal(st.messages.getMessage(fresh.id)!.status, 'submitted', 'one submitted 59.5 s ago, timeout 60 s: not before it is due');
});

t.test('a sweep asked for while a walk is under way is not lost: the walk goes on to its later cutoff', async (t) => {
  const dir = tempDir(t);
  let clock = Date.now();
  const ta = startTestApp(makeConfig(baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, receipt_timeout_s: 60 }])), { now: () => clock });
  t.teardown(() => ta.close());
  const st = ta.app.store;
  const m = st.messages.transaction(() => submitted(st, clock));
  ta.app.runMaintenance(); // cutoff 60 s ago: not yet due; its walk has not committed when…
  clock += 61_000;
  ta.app.runMaintenance(); // …this one asks again, now past the timeout
  await waitFor(() => st.messages.getMessage(m.id)?.status === 'unknown', 5000, 'the later cutoff walked');
  t.equal(st.messages.getMessage(m.id)!.status, 'unknown');
});
