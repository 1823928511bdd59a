/**
 * Issue 2, point 2: SQLite in WAL mode with versioned migrations; messages and segments
 * with the SPEC 3 statuses and a timestamp per transition; 202 only after the row is
 * committed; grouped commits; resume on start (submitting → queued again, scheduled stays);
 * retention purge of final messages only.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { newId } from '../../src/domain/ids.js';
import type { NewMessage } from '../../src/store/types.js';
import { openConfiguredStore, otherConnection } from '../helpers/test-store.js';
import { auth, baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('WAL mode, versioned migrations, reopening is idempotent', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'sub', 'x.db');
  const s1 = openStore({ path });
  s1.messages.insertMessage(newMessage({ id: 'msg_keep' }));
  s1.close();
  t.equal(s1.isOpen(), false);

  const raw = new Database(path, { readonly: true });
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(raw.pragma('user_version', { simple: true }), MIGRATIONS.length);
  const tables = (raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>).map((r) => r.name);
  for (const tbl of ['messages', 'segments', 'idempotency', 'optouts', 'outbox', 'otps']) t.ok(tables.includes(tbl), `table ${tbl}`);
  raw.close();

  const s2 = openStore({ path });
  t.equal(s2.messages.getMessage('msg_keep')?.status, 'queued', 'data survives reopen');
  s2.close();
  const s3 = openStore({ path });
  s3.close();
  const raw2 = new Database(path, { readonly: true });
  t.equal(raw2.pragma('user_version', { simple: true }), MIGRATIONS.length, 'reopening runs no migration twice');
  t.equal(raw2.pragma('journal_mode', { simple: true }), 'wal');
  t.equal((raw2.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 1);
  raw2.close();
});

t.test('statuses and the timestamp of each transition, message and segments', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)));
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  const release: Array<() => void> = [];
  let next = 5000;
  fc.respond = () => new Promise((r) => release.push(() => r({ kind: 'accepted', carrierMessageId: String(next++) })));
  await ta.app.start();
  const post = async (payload: Record<string, unknown>) => {
    const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload });
    t.equal(res.statusCode, 202, res.body);
    return res.json() as { id: string; status: string };
  };
  const later = new Date(Date.now() + 3600_000).toISOString();
  const a = await post({ to: '13800138000', text: 'first', category: 'notification' });
  const sched = await post({ to: '13800138001', text: 'later', category: 'notification', send_at: later });
  t.equal(sched.status, 'scheduled');
  const ms = ta.app.store.messages;
  t.match(ms.getMessage(sched.id), { status: 'scheduled', queuedAt: null, submittingAt: null });
  t.ok(ms.getMessage(sched.id)!.scheduledAt! > 0, 'scheduled_at recorded');

  await waitFor(() => release.length === 1, 3000, 'held submit');
  const m1 = ms.getMessage(a.id)!;
  t.equal(m1.status, 'submitting');
  t.ok(m1.queuedAt! > 0 && m1.submittingAt! >= m1.queuedAt!, 'queued_at then submitting_at');
  t.equal(ms.getSegments(a.id)[0]!.status, 'submitting');
  release.shift()!();
  await waitFor(() => ms.getMessage(a.id)?.status === 'submitted', 3000, 'submitted');
  const seg = ms.getSegments(a.id)[0]!;
  t.match(seg, { status: 'submitted', carrierMsgId: '5000', attempts: 0 });
  t.ok(seg.submittedAt! > 0);
  t.equal(await fc.receipt('5000', 'UNDELIV'), 0);
  const done = ms.getMessage(a.id)!;
  t.equal(done.status, 'undeliverable');
  t.ok(done.submittedAt! >= done.submittingAt! && done.finalAt! >= done.submittedAt!, 'submitted_at then final_at');
  t.match(ms.getSegments(a.id)[0], { status: 'undeliverable', receiptStat: 'UNDELIV' });

  // A permanent refusal from the carrier: rejected; a cancel: canceled.
  fc.respond = () => ({ kind: 'rejected', commandStatus: 0x0b, statusName: 'ESME_RINVDSTADR' });
  const b = await post({ to: '13800138002', text: 'refused', category: 'notification' });
  await waitFor(() => ms.getMessage(b.id)?.status === 'rejected', 3000, 'rejected');
  t.equal(ms.getMessage(b.id)!.errorCode, 'ESME_RINVDSTADR');
  const del = await ta.app.http.inject({ method: 'DELETE', url: `/v1/messages/${sched.id}`, headers: auth() });
  t.equal(del.statusCode, 200);
  t.match(ms.getMessage(sched.id), { status: 'canceled' });
  t.ok(ms.getMessage(sched.id)!.finalAt! > 0);
  t.equal(ms.getSegments(sched.id)[0]!.status, 'canceled');
});

t.test('202 only after the row is committed: a second connection sees it', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.store.commit_interval_ms = 50; // a long tick: the answer must wait for it
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  // Not started: nothing dispatches, the rows stay as intake wrote them.
  const other = otherConnection(obj.store);
  t.teardown(() => other.close());
  const find = { get: (id: string) => other.get('SELECT id, status, to_number FROM messages WHERE id = ?', id) };
  const segs = { get: (id: string) => other.get('SELECT count(*) AS n FROM segments WHERE message_id = ?', id) };
  for (let i = 0; i < 5; i++) {
    const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138000', text: `m${i}`, category: 'collection' } });
    t.equal(res.statusCode, 202);
    const id = res.json().id as string;
    t.same(find.get(id), { id, status: 'queued', to_number: '+8613800138000' }, `row ${i} visible to another connection at the 202`);
    t.equal((segs.get(id) as { n: number }).n, 1);
  }
  const batch = await ta.app.http.inject({
    method: 'POST',
    url: '/v1/sms/batch',
    headers: auth(),
    payload: { messages: [{ to: '13800138000', text: 'b1', category: 'notification' }, { to: '13800138001', text: 'b2', category: 'notification' }] },
  });
  t.equal(batch.statusCode, 202);
  for (const r of batch.json().results as Array<{ id: string }>) t.ok(find.get(r.id), 'batch rows committed before the answer');
});

t.test('group commit: N concurrent submits take fewer transactions than N', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)));
  t.teardown(() => ta.close());
  const batches: number[] = [];
  const prev = ta.app.store.commit.onCommit;
  ta.app.store.commit.onCommit = (units) => {
    batches.push(units);
    prev?.(units);
  };
  const N = 100;
  const answers = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: `1380013${String(8000 + i)}`, text: `n${i}`, category: 'notification' } }),
    ),
  );
  t.ok(answers.every((a) => a.statusCode === 202));
  const units = batches.reduce((s, x) => s + x, 0);
  t.equal(units, N, 'every submit committed');
  t.ok(batches.length < N, `${N} submits in ${batches.length} transactions`);
  t.ok(Math.max(...batches) > 1, 'at least one transaction carried several submits');
  const metrics = await ta.app.http.inject({ method: 'GET', url: '/metrics' });
  const count = /xinge_store_commit_batch_size_count (\d+)/.exec(metrics.body);
  const sum = /xinge_store_commit_batch_size_sum (\d+)/.exec(metrics.body);
  t.equal(Number(count?.[1]), batches.length, 'histogram counts transactions');
  t.equal(Number(sum?.[1]), N, 'histogram sums units');
});

t.test('transactions: a nested unit that throws is rolled back alone; a top-level one entirely; group commit keeps the others', async (t) => {
  const dir = tempDir(t);
  const st = openStore({ path: join(dir, 'tx.db') });
  t.teardown(() => st.close());
  const m = st.messages;
  const a = newMessage();
  const b = newMessage();
  const c = newMessage();
  m.transaction(() => {
    m.insertMessage(a);
    t.throws(() =>
      m.transaction(() => {
        m.insertMessage(b);
        throw new Error('unit fails after writing');
      }),
    );
    m.insertMessage(c);
  });
  t.ok(m.getMessage(a.id), 'outer write before the failed unit committed');
  t.equal(m.getMessage(b.id), undefined, 'the failed unit rolled back');
  t.ok(m.getMessage(c.id), 'outer write after the failed unit committed');

  const d = newMessage();
  t.throws(() =>
    m.transaction(() => {
      m.insertMessage(d);
      throw new Error('whole transaction fails');
    }),
  );
  t.equal(m.getMessage(d.id), undefined, 'top-level failure rolls everything back');

  const e = newMessage();
  const f = newMessage();
  const results = await Promise.allSettled([
    st.commit.run(() => m.transaction(() => m.insertMessage(e))),
    st.commit.run(() =>
      m.transaction(() => {
        m.insertMessage(f);
        throw new Error('boom');
      }),
    ),
  ]);
  t.equal(results[0].status, 'fulfilled');
  t.equal(results[1].status, 'rejected');
  t.ok(m.getMessage(e.id), 'the good unit of the tick committed');
  t.equal(m.getMessage(f.id), undefined, 'the failing unit left nothing behind');
  // Still usable afterwards: no transaction left open.
  const g = newMessage();
  m.transaction(() => m.insertMessage(g));
  t.ok(m.getMessage(g.id));
});

t.test('markClaimed: a few ids or many, segments and messages become submitting, stamped once', async (t) => {
  const dir = tempDir(t);
  const st = openStore({ path: join(dir, 'claim.db') });
  t.teardown(() => st.close());
  const m = st.messages;
  const now = Date.now();
  for (const count of [3, 40]) {
    const msgs = Array.from({ length: count }, () => newMessage({ carrierId: `claim${count}` }));
    m.transaction(() => msgs.forEach((x) => m.insertMessage(x)));
    const due = m.peekDue(`claim${count}`, 'notification', now + 60000, 100, new Set());
    t.equal(due.length, count);
    m.transaction(() => m.markClaimed(due.map((d) => d.id), due.map((d) => d.messageId), now + 5));
    for (const x of msgs) {
      const rec = m.getMessage(x.id)!;
      t.equal(rec.status, 'submitting', `${count}: message submitting`);
      t.equal(rec.submittingAt, now + 5);
      t.equal(m.getSegments(x.id)[0]!.status, 'submitting');
    }
    t.same(m.peekDue(`claim${count}`, 'notification', now + 60000, 100, new Set()), [], `${count}: no longer due`);
    // Claimed again (a resend after a requeue): the first stamp stays.
    m.transaction(() => m.markClaimed([due[0]!.id], [due[0]!.messageId], now + 9));
    t.equal(m.getMessage(due[0]!.messageId)!.submittingAt, now + 5);
  }
});

t.test('on start, segments left submitting are queued again and resent; scheduled stay scheduled', async (t) => {
  const dir = tempDir(t);
  const cfg = makeConfig(baseConfigObject(dir));
  const now = Date.now();
  const s = openConfiguredStore(cfg);
  s.messages.insertMessage(newMessage({ id: 'msg_wire' }));
  s.messages.insertMessage(newMessage({ id: 'msg_queued', to: '+8613800138001' }));
  s.messages.insertMessage(newMessage({ id: 'msg_later', sendAt: now + 3600_000, expiresAt: now + 7200_000 }));
  s.messages.insertMessage(newMessage({ id: 'msg_multi', segments: 2, text: 'x'.repeat(200) }));
  const at = Date.now() + 1000; // the rows were created a moment after `now`
  const claimed = s.messages.claim('c1', 'notification', at, 1);
  t.equal(claimed.length, 1, 'one segment claimed (on the wire at the crash)');
  t.equal(s.messages.getMessage('msg_wire')!.status, 'submitting');
  s.messages.claim('c1', 'notification', at, 10); // msg_queued and both parts of msg_multi: 4 on the wire in all
  t.same(s.messages.getSegments('msg_multi').map((x) => x.status), ['submitting', 'submitting']);
  s.close(); // no resp ever came for them: the process "died" here

  const ta = startTestApp(cfg, { level: 'warn' });
  t.teardown(() => ta.close());
  t.ok(ta.lines.some((l) => /queued again/.test(l) && /"segments":4/.test(l)), 'recovery logged with the count');
  const ms = ta.app.store.messages;
  t.equal(ms.getMessage('msg_wire')!.status, 'queued');
  t.same(ms.getSegments('msg_multi').map((x) => x.status), ['queued', 'queued']);
  t.equal(ms.getMessage('msg_later')!.status, 'scheduled');
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  await waitFor(() => fc.submits.length === 4, 3000, 'resent');
  t.same(new Set(fc.submits.map((x) => x.messageId)), new Set(['msg_wire', 'msg_queued', 'msg_multi']));
  await waitFor(() => ['msg_wire', 'msg_queued', 'msg_multi'].every((id) => ms.getMessage(id)!.status === 'submitted'), 3000, 'submitted');
  t.equal(ms.getMessage('msg_later')!.status, 'scheduled', 'a future send_at is not sent early');
  t.notOk(fc.submits.some((x) => x.messageId === 'msg_later'));
});

t.test('retention: final messages older than retention_days are purged; newer and unfinished ones stay', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.store.retention_days = 30;
  const cfg = makeConfig(obj);
  const day = 86400000;
  const now = Date.now();
  const s = openConfiguredStore(cfg);
  // Ids are time-ordered from their creation time, as intake makes them (the purge walks them).
  const make = (createdAt: number, over: Partial<NewMessage> = {}) => {
    const m = newMessage({ id: newId('msg', createdAt), createdAt, sendAt: createdAt, expiresAt: createdAt + day, ...over });
    s.messages.insertMessage(m);
    return m.id;
  };
  const old = now - 40 * day;
  const oldFinal = make(old);
  s.messages.finalizeMessage(oldFinal, 'delivered', old + 1000);
  const recentFinal = make(now - 10 * day);
  s.messages.finalizeMessage(recentFinal, 'undeliverable', now - 10 * day);
  const oldOpen = make(old, { sendAt: now + day, expiresAt: now + 2 * day });
  const edge = make(now - 29 * day);
  s.messages.finalizeMessage(edge, 'delivered', now - 29 * day);
  const oldCreatedRecentlyFinal = make(old);
  s.messages.finalizeMessage(oldCreatedRecentlyFinal, 'unknown', now - day);
  s.close();

  const ta = startTestApp(cfg, { level: 'info' });
  t.teardown(() => ta.close());
  const ms = ta.app.store.messages;
  t.ok(ms.getMessage(oldFinal), 'present before the purge');
  ta.app.runMaintenance();
  await waitFor(() => ms.getMessage(oldFinal) === undefined, 5000, 'the purge');
  await waitFor(() => ta.lines.some((l) => /retention purge/.test(l)), 5000, 'the purge log line');
  t.equal(ms.getMessage(oldFinal), undefined, 'old final purged');
  t.same(ms.getSegments(oldFinal), [], 'with its segments');
  t.ok(ms.getMessage(recentFinal), 'newer final kept');
  t.ok(ms.getMessage(edge), 'inside the retention window kept');
  t.ok(ms.getMessage(oldCreatedRecentlyFinal), 'old but final only recently: kept (retention counts from the final state)');
  t.equal(ms.getMessage(oldOpen)?.status, 'scheduled', 'unfinished kept, however old');
  t.ok(ta.lines.some((l) => /retention purge/.test(l) && /"messages":1/.test(l)));
});

t.test('every final status of SPEC 3 is reachable and stamped with final_at', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, receipt_timeout_s: 10 }]) as Record<string, any>;
  obj.queue = { max_attempts: 1 };
  let clock = Date.now();
  const ta = startTestApp(makeConfig(obj), { now: () => clock });
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  const ms = ta.app.store.messages;
  const post = async (to: string, extra: Record<string, unknown> = {}) => {
    const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text: 'status', category: 'notification', ...extra } });
    t.equal(res.statusCode, 202, res.body);
    return res.json().id as string;
  };
  // expired before it could be sent: validity passes while the carrier is down.
  fc.up = false;
  await ta.app.start();
  const expiredBefore = await post('13800000001', { validity_s: 60 });
  clock += 120_000;
  fc.up = true;
  ta.app.dispatcher.wake();
  await waitFor(() => ms.getMessage(expiredBefore)?.status === 'expired', 3000, 'expired before sending');
  t.equal(fc.submits.length, 0, 'never sent');

  // failed: a temporary error with the retry budget (max_attempts 1) spent.
  fc.respond = (seg) =>
    seg.to.endsWith('0002') ? { kind: 'rejected', commandStatus: 0x14, statusName: 'ESME_RMSGQFUL' } : { kind: 'accepted', carrierMessageId: `cid-${seg.to.slice(-4)}` };
  const failed = await post('13800000002');
  await waitFor(() => ms.getMessage(failed)?.status === 'failed', 3000, 'failed');
  t.equal(ms.getMessage(failed)!.errorCode, 'ESME_RMSGQFUL');

  const byReceipt: Array<[string, string, string]> = [
    ['13800000003', 'DELIVRD', 'delivered'],
    ['13800000004', 'UNDELIV', 'undeliverable'],
    ['13800000005', 'EXPIRED', 'expired'],
    ['13800000006', 'REJECTD', 'rejected'],
    ['13800000007', 'UNKNOWN', 'unknown'],
  ];
  const ids = new Map<string, string>();
  for (const [to] of byReceipt) ids.set(to, await post(to));
  const timeoutId = await post('13800000008');
  await waitFor(() => [...ids.values(), timeoutId].every((id) => ms.getMessage(id)?.status === 'submitted'), 3000, 'submitted');
  for (const [to, stat, status] of byReceipt) {
    t.equal(await fc.receipt(`cid-${to.slice(-4)}`, stat), 0);
    t.equal(ms.getMessage(ids.get(to)!)!.status, status, `${stat} → ${status}`);
  }
  // unknown: no receipt within receipt_timeout_s.
  clock += 11_000;
  ta.app.runMaintenance();
  await waitFor(() => ms.getMessage(timeoutId)?.status === 'unknown', 3000, 'receipt timeout → unknown');
  t.equal(ms.getSegments(timeoutId)[0]!.receiptStat, 'TIMEOUT');

  const all = [expiredBefore, failed, ...ids.values(), timeoutId].map((id) => ms.getMessage(id)!);
  t.same(new Set(all.map((m) => m.status)), new Set(['expired', 'failed', 'delivered', 'undeliverable', 'rejected', 'unknown']));
  for (const m of all) t.ok(m.finalAt !== null && m.finalAt >= m.createdAt, `${m.status}: final_at stamped`);
});
