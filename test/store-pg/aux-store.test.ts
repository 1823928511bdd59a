/**
 * Issue 21.1: AuxStore as a contract, the same assertions against SQLite (SqliteAuxStore) and
 * PostgreSQL (PgAuxStore): idempotency keys, opt-outs, the caps' send log, the OTP lifecycle,
 * the webhook outbox, held receipts, reply parts, and replies (insertMo/listMo with every
 * filter, paging, and arbitrary Unicode bodies). The outbox claim across daemons is in
 * outbox-claim-race.test.ts.
 */
import t from 'tap';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { startTestPostgres } from '../helpers/postgres.js';
import { contract, freshPgDatabase, insertSealedMessage, type StoreBackend } from '../helpers/store-backends.js';
import { PgAuxStore } from '../../src/store/postgres/aux-store.js';
import { PgSmppOutbox } from '../../src/store/postgres/smpp-outbox.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { newId } from '../../src/domain/ids.js';
import type { MoQuery, MoRecord, OtpRecord } from '../../src/store/types.js';

const pgc = await startTestPostgres(t);
const DAY = 86_400_000;
const T0 = 1_780_000_000_000;

contract(t, pgc, 'idempotency keys: get, first put wins, purge oldest first in steps', (t, b) => {
  const { aux } = b;
  t.equal(aux.getIdempotency('c1', 'k1'), undefined);
  aux.putIdempotency('c1', 'k1', { bodyHash: 'h1', status: 202, response: '{"id":"msg_1","text":"验证码"}', createdAt: T0 + 10 });
  aux.putIdempotency('c1', 'k1', { bodyHash: 'h2', status: 400, response: '{}', createdAt: T0 + 99 });
  t.same(aux.getIdempotency('c1', 'k1'), { bodyHash: 'h1', status: 202, response: '{"id":"msg_1","text":"验证码"}', createdAt: T0 + 10 }, 'the first answer stays');
  t.equal(aux.getIdempotency('c2', 'k1'), undefined, 'keys are per client');
  aux.putIdempotency('c2', 'k1', { bodyHash: 'h3', status: 202, response: '{}', createdAt: T0 + 20 });
  aux.putIdempotency('c1', 'k2', { bodyHash: 'h4', status: 202, response: '{}', createdAt: T0 + 30 });
  aux.putIdempotency('c1', 'k3', { bodyHash: 'h5', status: 202, response: '{}', createdAt: T0 + 40 });
  t.equal(aux.purgeIdempotency(T0 + 35, 2), 2, 'a full step: the two oldest');
  t.equal(aux.getIdempotency('c1', 'k1'), undefined);
  t.equal(aux.getIdempotency('c2', 'k1'), undefined);
  t.equal(aux.purgeIdempotency(T0 + 35, 2), 1, 'a short step: nothing older left after it');
  t.equal(aux.purgeIdempotency(T0 + 35, 2), 0);
  t.equal(aux.getIdempotency('c1', 'k3')?.bodyHash, 'h5', 'newer than `before`: kept');
});

contract(t, pgc, 'opt-outs: add once, remove, check, list in number order with paging', (t, b) => {
  const { aux } = b;
  t.equal(aux.addOptOut('+8613800000003', 'api', T0), true);
  t.equal(aux.addOptOut('+8613800000003', 'mo', T0 + 5), false, 'already opted out');
  t.equal(aux.isOptedOut('+8613800000003'), true);
  t.equal(aux.isOptedOut('+8613800000004'), false);
  for (const n of ['+8613800000005', '+8613800000001', '+8613800000004', '+8613800000002']) aux.addOptOut(n, 'mo', T0 + 1);
  t.same(aux.listOptOuts(2), [
    { number: '+8613800000001', source: 'mo', createdAt: T0 + 1 },
    { number: '+8613800000002', source: 'mo', createdAt: T0 + 1 },
  ]);
  t.same(aux.listOptOuts(2, '+8613800000002').map((r) => r.number), ['+8613800000003', '+8613800000004']);
  t.same(aux.listOptOuts(2, '+8613800000003'), [
    { number: '+8613800000004', source: 'mo', createdAt: T0 + 1 },
    { number: '+8613800000005', source: 'mo', createdAt: T0 + 1 },
  ]);
  t.same(aux.listOptOuts(2, '+8613800000005'), [], 'past the last page');
  t.same(aux.listOptOuts(0), [], 'limit 0: nothing');
  t.equal(aux.listOptOuts(100).find((r) => r.number === '+8613800000003')?.source, 'api', 'the first source kept');
  t.equal(aux.removeOptOut('+8613800000003'), true);
  t.equal(aux.removeOptOut('+8613800000003'), false);
  t.equal(aux.isOptedOut('+8613800000003'), false);
  t.same(aux.listOptOuts(10).map((r) => r.number), ['+8613800000001', '+8613800000002', '+8613800000004', '+8613800000005']);
});

contract(t, pgc, 'send log: sends since a time per number and category; purge of old entries in steps', (t, b) => {
  const { aux } = b;
  const log: Array<[string, string, number]> = [
    ['+8613800000001', 'otp', T0 + 10], ['+8613800000001', 'marketing', T0 + 20], ['+8613800000002', 'otp', T0 + 30],
    ['+8613800000001', 'otp', T0 + 40], ['+8613800000001', 'otp', T0 + 40], ['+8613800000001', 'otp', T0 + 50],
  ];
  for (const [n, c, at] of log) aux.logSend(n, c, at);
  t.same(aux.sendsSince('+8613800000001', 'otp', T0), [T0 + 10, T0 + 40, T0 + 40, T0 + 50]);
  t.same(aux.sendsSince('+8613800000001', 'otp', T0 + 10), [T0 + 40, T0 + 40, T0 + 50], 'strictly after `since`');
  t.same(aux.sendsSince('+8613800000001', 'marketing', T0), [T0 + 20]);
  t.same(aux.sendsSince('+8613800000003', 'otp', T0), []);
  t.equal(aux.purgeSendLog(T0 + 35, 2), 2, 'the two oldest entries');
  t.equal(aux.purgeSendLog(T0 + 35, 2), 1, 'fewer than the step: the oldest left are newer than `before`');
  t.equal(aux.purgeSendLog(T0 + 35, 2), 0);
  t.same(aux.sendsSince('+8613800000001', 'otp', 0), [T0 + 40, T0 + 40, T0 + 50]);
  t.same(aux.sendsSince('+8613800000001', 'marketing', 0), []);
  t.same(aux.sendsSince('+8613800000002', 'otp', 0), []);
});

function otp(createdAt: number, over: Partial<OtpRecord> = {}): OtpRecord {
  return {
    id: newId('otp', createdAt), client: 'c1', to: '+8613800000001', purpose: 'login', codeHash: 'sha256:abc', messageId: null,
    createdAt, expiresAt: createdAt + 300_000, attempts: 0, status: 'active', ...over,
  };
}

contract(t, pgc, 'OTP lifecycle: insert, get, latest, sends since, update, supersede, expire with body purge, purge', (t, b) => {
  const { aux } = b;
  const a = otp(T0, { messageId: 'msg_a' });
  const b1 = otp(T0 + 1000, { messageId: 'msg_b' });
  const tie = otp(T0 + 1000, { messageId: null });
  const other = otp(T0 + 500, { purpose: 'reset', messageId: 'msg_o' });
  for (const o of [a, b1, tie, other]) aux.insertOtp(o);
  t.same(aux.getOtp(a.id), a, 'round trip');
  t.equal(aux.getOtp('otp_missing'), undefined);
  t.same(aux.latestOtp('+8613800000001', 'login'), tie, 'the newest; on a tie the one stored last');
  t.same(aux.latestOtp('+8613800000001', 'reset'), other);
  t.equal(aux.latestOtp('+8613800000002', 'login'), undefined);
  t.same(aux.otpSendsSince('+8613800000001', 'login', T0), [T0 + 1000, T0 + 1000]);
  t.same(aux.otpSendsSince('+8613800000001', 'login', T0 - 1), [T0, T0 + 1000, T0 + 1000]);

  aux.updateOtp(tie.id, { attempts: 2 });
  t.same(aux.getOtp(tie.id), { ...tie, attempts: 2 }, 'only the fields given change');
  aux.updateOtp(tie.id, { messageId: 'msg_t' });
  aux.updateOtp(tie.id, { status: 'used' });
  t.same(aux.getOtp(tie.id), { ...tie, attempts: 2, messageId: 'msg_t', status: 'used' });

  t.same(aux.supersedeOtps('+8613800000001', 'login'), ['msg_a', 'msg_b'], 'the active ones, oldest first, by their message ids');
  t.equal(aux.getOtp(a.id)?.status, 'superseded');
  t.equal(aux.getOtp(b1.id)?.status, 'superseded');
  t.equal(aux.getOtp(tie.id)?.status, 'used', 'a used code stays used');
  t.equal(aux.getOtp(other.id)?.status, 'active', 'another purpose is untouched');
  t.same(aux.supersedeOtps('+8613800000001', 'login'), [], 'nothing active left');
  const noMsg = otp(T0 + 2000);
  aux.insertOtp(noMsg);
  t.same(aux.supersedeOtps('+8613800000001', 'login'), [], 'an active code without a message: superseded, no id');
  t.equal(aux.getOtp(noMsg.id)?.status, 'superseded');

  // Expiry clears the sealed bodies of the expired codes' messages, and only theirs.
  const live = otp(T0 + 10_000, { to: '+8613800000009', messageId: 'msg_live', expiresAt: T0 + 900_000 });
  aux.insertOtp(live);
  insertSealedMessage(b, 'msg_o', Buffer.from([1, 2, 3]));
  insertSealedMessage(b, 'msg_live', Buffer.from([4, 5, 6]));
  insertSealedMessage(b, 'msg_other', Buffer.from([7, 8, 9]));
  t.equal(aux.expireOtps(other.expiresAt), 0, 'not past its TTL yet (strictly before now)');
  t.equal(aux.expireOtps(other.expiresAt + 1), 1);
  t.equal(aux.getOtp(other.id)?.status, 'expired');
  t.equal(aux.getOtp(live.id)?.status, 'active');
  const bodies = () => Object.fromEntries(b.sql<{ id: string; body_enc: Buffer | null }>('SELECT id, body_enc FROM messages ORDER BY id').map((r) => [r.id, r.body_enc === null ? null : [...r.body_enc]]));
  t.same(bodies(), { msg_live: [4, 5, 6], msg_o: null, msg_other: [7, 8, 9] });
  aux.purgeOtpBody('msg_other');
  t.same(bodies(), { msg_live: [4, 5, 6], msg_o: null, msg_other: null });
  t.equal(aux.expireOtps(other.expiresAt + 1), 0, 'expired once');

  // Purge: codes no longer active, created before `before`, up to `limit` a step.
  t.equal(aux.purgeOtps(T0 + 1001, 2), 2);
  t.equal(aux.purgeOtps(T0 + 1001, 2), 2);
  t.equal(aux.purgeOtps(T0 + 1001, 2), 0, 'the rest is newer, or active');
  t.equal(aux.getOtp(noMsg.id)?.status, 'superseded', 'newer than `before`: kept');
  t.equal(aux.getOtp(live.id)?.status, 'active');
  t.equal(aux.purgeOtps(T0 + DAY, 10), 1, 'an active code is never purged');
  t.equal(aux.getOtp(live.id)?.status, 'active');
});

contract(t, pgc, 'webhook outbox: add, claim with a lease, retry, delivered, dead, pending count, purge', (t, b) => {
  const { aux } = b;
  const row = (i: number, nextAttemptAt: number) => ({
    id: newId('evt', T0 + i), client: 'c1', url: 'http://127.0.0.1:1/hook', body: `{"event":"delivered","n":${i},"text":"您好"}`,
    attempts: 0, createdAt: T0 + i, nextAttemptAt,
  });
  const r1 = row(1, T0 + 30);
  const r2 = row(2, T0 + 10);
  const r3 = row(3, T0 + 20);
  const late = row(4, T0 + 5000);
  for (const r of [r1, r2, r3, late]) aux.addOutbox(r);
  t.equal(aux.outboxPending(), 4);
  t.same(aux.claimOutbox(T0 + 100, 0, 1000), [], 'limit 0 claims nothing');
  const first = aux.claimOutbox(T0 + 100, 2, 1000);
  t.same(first, [r2, r3], 'due rows, earliest due first, with the due time they had');
  t.same(aux.claimOutbox(T0 + 100, 10, 1000), [r1], 'leased rows are not claimed again');
  t.same(aux.claimOutbox(T0 + 200, 10, 1000), [], 'nor a moment later');
  t.same(aux.claimOutbox(T0 + 1099, 10, 1000), [], 'the lease has not run out');
  const again = aux.claimOutbox(T0 + 1100, 10, 1000);
  t.same(again.map((r) => r.id), [r1.id, r2.id, r3.id], 'the leases ran out: claimable again (equal due times in id order)');
  t.same(again.map((r) => r.nextAttemptAt), [T0 + 1100, T0 + 1100, T0 + 1100], 'due at the lease end');
  t.equal(aux.outboxPending(), 4, 'claimed rows are still pending');

  aux.outboxRetry(r2.id, T0 + 3000, 1, 'HTTP 503');
  aux.outboxDelivered(r3.id, T0 + 1150);
  aux.outboxDead(r1.id, T0 + 1160, 'HTTP 410');
  t.equal(aux.outboxPending(), 2);
  t.same(aux.claimOutbox(T0 + 2999, 10, 1000), [], 'retry not due yet; delivered and dead rows never');
  t.same(aux.claimOutbox(T0 + 6000, 10, 1000), [{ ...r2, attempts: 1, nextAttemptAt: T0 + 3000 }, late]);

  const states = () => b.sql<{ id: string; state: string; last_error: string | null; done_at: number | null }>(
    'SELECT id, state, last_error, done_at FROM outbox ORDER BY id').map((r) => [r.id, r.state, r.last_error, r.done_at === null ? null : Number(r.done_at)]);
  t.same(states(), [[r1.id, 'dead', 'HTTP 410', T0 + 1160], [r2.id, 'pending', 'HTTP 503', null], [r3.id, 'delivered', null, T0 + 1150], [late.id, 'pending', null, null]]);

  // Purge by creation time (the id), delivered or given up only.
  t.equal(aux.purgeOutbox(T0 + 3, 10), 1, 'r1 (dead); r2 is pending; r3 is not older than `before`');
  t.equal(aux.purgeOutbox(T0 + 4, 10), 1, 'r3 (delivered)');
  t.equal(aux.purgeOutbox(T0 + DAY, 10), 0, 'pending rows stay');
  t.same(states().map((s) => s[0]), [r2.id, late.id]);
});

contract(t, pgc, 'held receipts: ids in arrival order, keys round trip, delete', (t, b) => {
  const { aux } = b;
  const id1 = aux.insertHeldReceipt({ carrierId: 'cmcc', keys: ['abc123', 'ABC123'], body: '{"stat":"DELIVRD","text":"中文"}', receivedAt: T0 });
  const id2 = aux.insertHeldReceipt({ carrierId: 'cucc', keys: ['x'], body: '{}', receivedAt: T0 + 1 });
  t.type(id1, 'number');
  t.ok(id2 > id1, 'ids grow');
  t.same(aux.heldReceipts(), [
    { id: id1, carrierId: 'cmcc', keys: ['abc123', 'ABC123'], body: '{"stat":"DELIVRD","text":"中文"}', receivedAt: T0 },
    { id: id2, carrierId: 'cucc', keys: ['x'], body: '{}', receivedAt: T0 + 1 },
  ]);
  aux.deleteHeldReceipt(id1);
  aux.deleteHeldReceipt(id1);
  t.same(aux.heldReceipts().map((r) => r.id), [id2]);
});

contract(t, pgc, 'reply parts: a duplicate part is ignored, listed by arrival, deleted per multipart', (t, b) => {
  const { aux } = b;
  aux.insertMoPart({ conv: 'cmcc|+8613800000001|10690', ref: 7, total: 2, seq: 2, body: '世界', receivedAt: T0 + 2 });
  aux.insertMoPart({ conv: 'cmcc|+8613800000001|10690', ref: 7, total: 2, seq: 1, body: '你好', receivedAt: T0 + 1 });
  aux.insertMoPart({ conv: 'cmcc|+8613800000001|10690', ref: 7, total: 2, seq: 1, body: 'DUP', receivedAt: T0 + 9 });
  aux.insertMoPart({ conv: 'cmcc|+8613800000001|10690', ref: 8, total: 3, seq: 1, body: 'a', receivedAt: T0 + 3 });
  aux.insertMoPart({ conv: 'cucc|+8613800000002|10690', ref: 7, total: 2, seq: 1, body: 'b', receivedAt: T0 + 4 });
  t.same(aux.moParts(), [
    { conv: 'cmcc|+8613800000001|10690', ref: 7, total: 2, seq: 1, body: '你好', receivedAt: T0 + 1 },
    { conv: 'cmcc|+8613800000001|10690', ref: 7, total: 2, seq: 2, body: '世界', receivedAt: T0 + 2 },
    { conv: 'cmcc|+8613800000001|10690', ref: 8, total: 3, seq: 1, body: 'a', receivedAt: T0 + 3 },
    { conv: 'cucc|+8613800000002|10690', ref: 7, total: 2, seq: 1, body: 'b', receivedAt: T0 + 4 },
  ]);
  aux.deleteMoParts('cmcc|+8613800000001|10690', 7, 2);
  t.same(aux.moParts().map((p) => [p.conv.slice(0, 4), p.ref, p.seq]), [['cmcc', 8, 1], ['cucc', 7, 1]]);
});

type NewMo = Parameters<StoreBackend['aux']['insertMo']>[0];

/** What listMo must answer: the filters, id order, the limit clamped to 1…1000. */
function expectedMo(rows: readonly NewMo[], q: MoQuery): MoRecord[] {
  const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
  return rows
    .filter((r) => (q.client === undefined || r.client === q.client) && (q.from === undefined || r.from === q.from)
      && (q.since === undefined || r.createdAt >= q.since) && (q.until === undefined || r.createdAt < q.until)
      && (q.intent === undefined || r.intent === q.intent) && (q.afterId === undefined || r.id > q.afterId))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    .slice(0, limit)
    .map((r) => ({ ...r }));
}

const MO_CLIENTS = ['c1', 'c2', null] as const;
const MO_FROMS = ['+8613800000001', '+8613800000002'] as const;
const MO_INTENTS = ['stop', 'confirm', null] as const;

function moRow(i: number, body: string): NewMo {
  return {
    id: newId('mo', T0 + i * 1000), carrierId: i % 2 === 0 ? 'cmcc' : 'cucc', from: MO_FROMS[i % 2]!, to: '10690123', body,
    intent: MO_INTENTS[i % 3]!, client: MO_CLIENTS[Math.floor(i / 2) % 3]!, lastMessageId: i % 4 === 0 ? null : `msg_${i}`,
    partial: i % 5 === 0, createdAt: T0 + i * 1000,
  };
}

contract(t, pgc, 'replies: insertMo and listMo with every filter, paging and the limit clamp; purge by age', (t, b) => {
  const { aux } = b;
  const rows = Array.from({ length: 24 }, (_, i) => moRow(i, `回复 ${i} 退订 TD`));
  // Stored out of order: listMo answers in id order all the same.
  for (const r of [...rows].reverse()) aux.insertMo(r);
  const queries: MoQuery[] = [
    { limit: 100 },
    { limit: 5 },
    { limit: 0 },
    { limit: 5000 },
    { client: 'c1', limit: 100 },
    { client: 'c2', limit: 3 },
    { from: '+8613800000002', limit: 100 },
    { since: T0 + 5000, limit: 100 },
    { until: T0 + 5000, limit: 100 },
    { since: T0 + 3000, until: T0 + 9000, limit: 100 },
    { intent: 'stop', limit: 100 },
    { intent: null, limit: 100 },
    { client: 'c1', from: '+8613800000001', intent: 'confirm', since: T0, until: T0 + 20_000, limit: 100 },
    { afterId: rows[10]!.id, limit: 4 },
    { client: 'nobody', limit: 10 },
  ];
  for (const q of queries) t.same(aux.listMo(q), expectedMo(rows, q), JSON.stringify(q));
  t.equal(aux.listMo({ limit: 100 })[0]!.body, '回复 0 退订 TD');
  t.equal(aux.listMo({ limit: 100 }).filter((r) => r.partial).length, 5, 'partial round trips as a boolean');

  // Paging through one client's replies: every one once, in order.
  const seen: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = aux.listMo({ client: 'c2', limit: 3, ...(afterId !== undefined ? { afterId } : {}) });
    if (page.length === 0) break;
    seen.push(...page.map((r) => r.id));
    afterId = page[page.length - 1]!.id;
  }
  t.same(seen, expectedMo(rows, { client: 'c2', limit: 1000 }).map((r) => r.id));

  t.equal(aux.purgeMo(T0 + 3000, 2), 2, 'by creation time (the id), a step at a time');
  t.equal(aux.purgeMo(T0 + 3000, 2), 1);
  t.equal(aux.purgeMo(T0 + 3000, 2), 0);
  t.same(aux.listMo({ limit: 1 })[0]!.id, rows[3]!.id);
});

// Reply bodies as they come from carriers: any Unicode (NUL aside: PostgreSQL text cannot
// hold it), Chinese, emoji and combining marks, with random filters, equal on both backends.
const moBody = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/\u0000/g, '')),
  fc.string({ unit: fc.constantFrom(...Array.from('验证码回复退订您好世界🙂é̃ 0TD')), maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const moCase = fc.record({
  rows: fc.array(fc.record({ body: moBody, client: fc.constantFrom(...MO_CLIENTS), from: fc.constantFrom(...MO_FROMS), intent: fc.constantFrom(...MO_INTENTS), at: fc.integer({ min: 0, max: 50 }) }), { maxLength: 10 }),
  q: fc.record({
    client: fc.option(fc.constantFrom('c1', 'c2'), { nil: undefined }),
    from: fc.option(fc.constantFrom(...MO_FROMS), { nil: undefined }),
    since: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
    until: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }),
    intent: fc.option(fc.constantFrom(...MO_INTENTS), { nil: undefined }),
    after: fc.option(fc.nat(10), { nil: undefined }),
    limit: fc.integer({ min: -2, max: 12 }),
  }),
});

contract(t, pgc, 'replies: arbitrary Unicode bodies and random filters (fast-check)', (t, b) => {
  const { aux } = b;
  let run = 0;
  fc.assert(
    fc.property(moCase, ({ rows, q }) => {
      run++;
      b.sql('DELETE FROM mo_messages');
      const stored: NewMo[] = rows.map((r, i) => ({
        id: `mo_${String(run).padStart(4, '0')}_${String(i).padStart(2, '0')}`, carrierId: 'cmcc', from: r.from, to: '10690', body: r.body,
        intent: r.intent, client: r.client, lastMessageId: null, partial: false, createdAt: T0 + r.at,
      }));
      for (const r of stored) aux.insertMo(r);
      const query: MoQuery = {
        limit: q.limit,
        ...(q.client !== undefined ? { client: q.client } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.since !== undefined ? { since: T0 + q.since } : {}),
        ...(q.until !== undefined ? { until: T0 + q.until } : {}),
        ...(q.intent !== undefined ? { intent: q.intent } : {}),
        ...(q.after !== undefined ? { afterId: `mo_${String(run).padStart(4, '0')}_${String(q.after).padStart(2, '0')}` } : {}),
      };
      assert.deepStrictEqual(aux.listMo(query), expectedMo(stored, query), JSON.stringify(query));
      assert.deepStrictEqual(aux.listMo({ limit: 1000 }).map((r) => r.body), stored.map((r) => r.body), 'bodies unchanged');
    }),
    { numRuns: 60 },
  );
  t.equal(run >= 60, true, `${run} random cases`);
});

if (pgc !== undefined) {
  t.test('[postgres] hot-path writes in a transaction go with its COMMIT (one round trip); outside one they are sent at once', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    const aux = new PgAuxStore(client);
    const smpp = new PgSmppOutbox(client);
    const other = new PgSyncClient({ url });
    t.teardown(() => other.close());
    const evt = { id: 'evt_1', client: 'c1', url: 'http://127.0.0.1:1/h', body: '{}', attempts: 0, createdAt: T0, nextAttemptAt: T0 };
    let waits = client.waits;
    client.transaction(() => {
      aux.logSend('+8613800000001', 'otp', T0);
      aux.putIdempotency('c1', 'k1', { bodyHash: 'h', status: 202, response: '{}', createdAt: T0 });
      aux.addOutbox(evt);
      aux.insertMo(moRow(1, '收到'));
      aux.insertMoPart({ conv: 'x', ref: 1, total: 2, seq: 1, body: 'a', receivedAt: T0 });
      aux.updateOtp('otp_none', { attempts: 1 });
      smpp.add('esme1', 'mo', '{}', T0);
      smpp.keepMessage('msg_1', [10], 1);
    });
    t.equal(client.waits - waits, 1, 'eight writes and the COMMIT: one round trip');
    t.same(other.query('SELECT (SELECT count(*) FROM send_log) AS a, (SELECT count(*) FROM idempotency) AS b, (SELECT count(*) FROM outbox) AS c, (SELECT count(*) FROM mo_messages) AS d, (SELECT count(*) FROM mo_parts) AS e, (SELECT count(*) FROM smpp_outbox) AS f, (SELECT count(*) FROM smpp_messages) AS g'),
      [{ a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 }], 'all committed');

    client.transaction(() => {
      aux.logSend('+8613800000001', 'otp', T0 + 5);
      t.same(aux.sendsSince('+8613800000001', 'otp', 0), [T0, T0 + 5], 'a read in the transaction sees the writes before it');
    });

    waits = client.waits;
    aux.logSend('+8613800000002', 'otp', T0 + 9);
    t.equal(client.waits - waits, 1, 'outside a transaction: sent at once');
    t.same(other.query('SELECT at FROM send_log WHERE number = $1', ['+8613800000002']), [{ at: T0 + 9 }], 'and visible to another daemon without anything else sent');

    // A deferred write that fails (the same event id twice) fails the COMMIT: nothing kept.
    const err = t.throws(() => client.transaction(() => {
      aux.logSend('+8613800000003', 'otp', T0);
      aux.addOutbox(evt);
    })) as { code?: string };
    t.equal(err.code, 'store_conflict');
    t.same(other.query('SELECT count(*) AS n FROM send_log WHERE number = $1', ['+8613800000003']), [{ n: 0 }]);
    t.equal(aux.outboxPending(), 1, 'the client is usable after it');
  });
}

if (pgc !== undefined) {
  t.test('[postgres] a reply padded with U+0000 (which PostgreSQL text cannot hold) is stored without it, not lost', async (t) => {
    const { client } = await freshPgDatabase(t, pgc);
    const aux = new PgAuxStore(client);
    aux.insertMo({ ...moRow(1, ''), body: '退订\u0000\u0000' });
    aux.insertMoPart({ conv: 'x', ref: 1, total: 2, seq: 1, body: '\u0000你好\u0000', receivedAt: T0 });
    t.same(aux.listMo({ limit: 10 }).map((r) => r.body), ['退订']);
    t.same(aux.moParts().map((p) => p.body), ['你好']);
  });
}
