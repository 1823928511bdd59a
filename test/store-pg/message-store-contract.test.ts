/**
 * Issue 21.1: the MessageStore contract, the same assertions against both backends
 * (SQLite and PostgreSQL), then what only a shared PostgreSQL store must do (21.2): two
 * nodes claiming at once never take one segment, cancel and claim stay exclusive across
 * nodes, recovery touches only this node's claims and the reaper returns a dead node's.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { openStore } from '../../src/store/index.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { migratePgStore } from '../../src/store/postgres/migrations.js';
import { PgMessageStore } from '../../src/store/postgres/message-store.js';
import type { MessageStore } from '../../src/store/types.js';
import type { Category } from '../../src/domain/types.js';
import { newMessage } from '../helpers/fixtures.js';
import { newId } from '../../src/domain/ids.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

const pgc = await startTestPostgres(t);
let dbCount = 0;

/** A fresh PostgreSQL database with the store's schema; its URL. */
async function freshDatabase(p: TestPostgres): Promise<string> {
  const name = `contract_${++dbCount}`;
  await p.query(`CREATE DATABASE ${name}`);
  const url = p.url.replace(/\/[^/]+$/, `/${name}`);
  const c = new PgSyncClient({ url });
  migratePgStore(c);
  c.close();
  return url;
}

interface Backend {
  name: string;
  open(t: Test, node?: string): Promise<MessageStore>;
}
type PgOpen = (t: Test, node?: string) => Promise<PgMessageStore>;

const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async (t) => {
      const s = openStore({ path: ':memory:' });
      t.teardown(() => s.close());
      return s.messages;
    },
  },
];
let openPg: PgOpen | undefined;
if (pgc !== undefined) {
  const urls = new Map<Test, string>();
  openPg = async (t, node = 'node-a') => {
    // Stores opened by one test share its database: they are the nodes of one cluster.
    let url = urls.get(t);
    if (url === undefined) urls.set(t, (url = await freshDatabase(pgc)));
    const c = new PgSyncClient({ url, applicationName: `xinge-${node}` });
    t.teardown(() => c.close());
    return new PgMessageStore(c, { nodeId: node });
  };
  backends.push({ name: 'postgres', open: openPg });
}

/** Peek and record the claim, as the dispatcher does (in PostgreSQL the peek is the claim). */
function claimNow(s: MessageStore, carrier: string, lane: Category, now: number, n: number) {
  const segs = s.peekDue(carrier, lane, now, n, new Set());
  s.transaction(() => s.markClaimed(segs.map((x) => x.id), segs.map((x) => x.messageId), now));
  return segs;
}

for (const b of backends) {
  t.test(`${b.name}: insert, read, claim in due order, submit, receipt, final`, async (t) => {
    const s = await b.open(t);
    const now = Date.now();
    s.transaction(() => {
      s.insertMessage(newMessage({ id: 'msg_a', text: '您好，还款提醒', encoding: 'ucs2', sendAt: now - 10, createdAt: now - 10 }));
      s.insertMessage(newMessage({ id: 'msg_b', segments: 3, concatRef: 7, sendAt: now - 20, createdAt: now - 20, reference: 'ref-1' }));
      s.insertMessage(newMessage({ id: 'msg_later', sendAt: now + 60_000, createdAt: now }));
      s.insertMessage(newMessage({ id: 'msg_otp', category: 'otp', bodyEnc: Buffer.from([9, 8, 7]), text: undefined }));
    });
    const a = s.getMessage('msg_a')!;
    t.equal(a.status, 'queued');
    t.equal(s.getMessage('msg_later')!.status, 'scheduled');
    t.equal(s.getSegments('msg_b').length, 3);
    t.same(s.messageBody('msg_a'), { text: '您好，还款提醒', bodyEnc: null });
    t.same([...s.messageBody('msg_otp')!.bodyEnc!], [9, 8, 7]);
    t.same(s.openDepthByLane(), { otp: 1, notification: 5, collection: 0, marketing: 0 });
    t.same(s.idsByReference('loans', 'ref-1'), ['msg_b']);
    const due = s.oldestQueuedDue(['c1', 'cX']);
    t.equal(due.notification, now - 20);
    t.equal(due.marketing, undefined);

    const got = claimNow(s, 'c1', 'notification', now, 10);
    t.same(got.map((g) => `${g.messageId}/${g.seq}`), ['msg_b/1', 'msg_b/2', 'msg_b/3', 'msg_a/1'], 'due order; the scheduled one not yet');
    t.equal(got[3]!.text, '您好，还款提醒');
    t.equal(got[0]!.concatRef, 7);
    t.same(claimNow(s, 'c1', 'notification', now, 10), [], 'claimed ones are not taken again');
    t.equal(s.getMessage('msg_b')!.status, 'submitting');

    const [b1, b2, b3, a1] = got;
    t.equal(s.markSubmitted(a1!.id, 'msg_a', 1, 'X1', now, true)?.status, 'submitted', 'final on submit without receipts');
    t.equal(s.getMessage('msg_a')!.finalAt, now);
    t.equal(s.markSubmitted(a1!.id, 'msg_a', 1, 'X1', now, true), undefined, 'a second resp changes nothing');
    t.equal(s.markSubmitted(b1!.id, 'msg_b', 3, 'B1', now, false), undefined);
    t.equal(s.markSubmitted(b2!.id, 'msg_b', 3, 'B2', now, false), undefined);
    t.equal(s.getMessage('msg_b')!.status, 'submitting', 'not all parts out yet');
    t.equal(s.markSubmitted(b3!.id, 'msg_b', 3, 'B3', now, false), undefined);
    t.equal(s.getMessage('msg_b')!.status, 'submitted');
    t.same(s.findSegmentByCarrierMsgId('c1', 'B2')?.id, b2!.id);
    t.ok(s.setSegmentReceipt(b2!.id, 'delivered', now + 5, 'DELIVRD', '000'));
    t.notOk(s.setSegmentReceipt(b2!.id, 'undeliverable', now + 6, 'UNDELIV', '001'), 'a final segment never changes');
    t.equal(s.findSegmentByCarrierMsgId('c1', 'B2'), undefined, 'no longer awaits a receipt');
    t.ok(s.hasEndedSegment('c1', 'B2'));
    t.notOk(s.hasEndedSegment('c1', 'B1'));
    const fin = s.finalizeMessage('msg_b', 'delivered', now + 9, null);
    t.equal(fin?.status, 'delivered');
    t.equal(fin?.reference, 'ref-1');
    t.equal(s.finalizeMessage('msg_b', 'failed', now + 10, 'x'), undefined, 'final once');
    t.equal(s.getMessage('msg_b')!.status, 'delivered');
    t.equal(s.lastMessageTo('+8613800138000')?.client, 'loans');
  });

  t.test(`${b.name}: requeue, failure paths, pending count, recovery, replan, purge`, async (t) => {
    const s = await b.open(t);
    const now = Date.now();
    s.transaction(() => {
      s.insertMessage(newMessage({ id: 'msg_r', segments: 2, sendAt: now - 5, createdAt: now - 5 }));
      s.insertMessage(newMessage({ id: 'msg_c', sendAt: now - 4, createdAt: now - 4 }));
    });
    const [r1, r2, c1] = claimNow(s, 'c1', 'notification', now, 10);
    t.ok(s.requeue(r1!.id, now + 1000, { countAttempt: true, errorCode: 'ESME_RTHROTTLED', tried: ['c1'] }));
    const seg = s.getSegments('msg_r')[0]!;
    t.equal(seg.status, 'queued');
    t.equal(seg.attempts, 1);
    t.same(claimNow(s, 'c1', 'notification', now, 10), [], 'not due before its backoff');
    const again = claimNow(s, 'c1', 'notification', now + 1000, 10);
    t.same(again.map((x) => x.id), [r1!.id]);
    t.same(again[0]!.triedCarriers, ['c1']);
    // A part rejected for good: the message is failed and its other part is canceled on requeue.
    t.ok(s.setSegmentState(r1!.id, 'failed', now, { errorCode: 'ESME_RINVDSTADR' }));
    t.notOk(s.setSegmentState(r1!.id, 'queued', now), 'final segment stays');
    s.finalizeMessage('msg_r', 'failed', now, 'ESME_RINVDSTADR', 'bad address');
    t.notOk(s.requeue(r2!.id, now, { countAttempt: false }), 'a segment of an ended message is not queued again');
    t.equal(s.getSegments('msg_r')[1]!.status, 'canceled');
    t.equal(s.getMessage('msg_r')!.errorText, 'bad address');

    // Left submitting (a crash): recovery queues it again.
    t.equal(s.getSegments('msg_c')[0]!.status, 'submitting');
    t.equal(s.requeueStaleSubmitting(now + 1, now, (id) => id === c1!.id, 10), 0, 'still awaited: left alone');
    t.equal(s.recoverInFlight(), 1);
    t.equal(s.getMessage('msg_c')!.status, 'queued');
    const c1b = claimNow(s, 'c1', 'notification', now, 10)[0]!;
    t.equal(s.requeueStaleSubmitting(now + 1, now, () => false, 10), 1, 'stale and not awaited: queued again');
    void c1b;

    // Failover re-plan: new carrier, new parts.
    s.replanMessage('msg_c', { carrierId: 'c2', encoding: 'ucs2', segmentation: 'udh8', segments: 2, concatRef: 9, dueAt: now, attempts: 2, tried: ['c1'], errorCode: 'carrier_down' });
    const parts = s.getSegments('msg_c');
    t.same(parts.map((p) => [p.carrierId, p.seq, p.total, p.attempts, p.status]), [['c2', 1, 2, 2, 'queued'], ['c2', 2, 2, 2, 'queued']]);
    t.same(s.queuedOf('c2', 10).map((q) => q.messageId), ['msg_c', 'msg_c']);
    t.same(s.queuedOf('c2', 10)[0]!.tried, ['c1']);
    const m = s.getMessage('msg_c')!;
    t.equal(m.carrierId, 'c2');
    t.equal(m.segmentsCount, 2);

    // Concat references count up per carrier and wrap at 65536.
    const r0 = s.nextConcatRef('c9');
    t.equal(s.nextConcatRef('c9'), (r0 + 1) % 65536);

    // Purge: only final messages older than the cutoff (ids sort by creation time).
    const old = newId('msg');
    const open = newId('msg');
    s.transaction(() => {
      s.insertMessage(newMessage({ id: old, segments: 2 }));
      s.insertMessage(newMessage({ id: open }));
    });
    s.finalizeMessage(old, 'expired', now);
    t.equal(s.purgeFinal(now - 60_000, 100), 0, 'nothing ended before the cutoff');
    t.equal(s.purgeFinal(now + 60_000, 100), 1);
    t.equal(s.getMessage(old), undefined);
    t.equal(s.getSegments(old).length, 0);
    t.ok(s.getMessage(open), 'an open message is kept');
  });

  t.test(`${b.name}: cancel answers canceled, on the wire, final and not found; scoped by client`, async (t) => {
    const s = await b.open(t);
    const now = Date.now();
    s.transaction(() => {
      s.insertMessage(newMessage({ id: 'msg_w', sendAt: now - 2, createdAt: now - 2 }));
      for (const id of ['msg_q', 'msg_f']) s.insertMessage(newMessage({ id, sendAt: now - 1, createdAt: now - 1 }));
      s.insertMessage(newMessage({ id: 'msg_s', sendAt: now + 3600_000, createdAt: now }));
      s.insertMessage(newMessage({ id: 'msg_other', client: 'other', sendAt: now + 3600_000, createdAt: now }));
    });
    t.same(claimNow(s, 'c1', 'notification', now, 1).map((x) => x.messageId), ['msg_w'], 'msg_w is on the wire');
    s.finalizeMessage('msg_f', 'failed', now, 'x');
    const res = s.cancel(['msg_q', 'msg_w', 'msg_f', 'msg_s', 'msg_other', 'msg_none'], 'loans', now);
    t.same(res.canceled.sort(), ['msg_q', 'msg_s']);
    t.same(res.onWire, ['msg_w']);
    t.same(res.final, [{ id: 'msg_f', status: 'failed' }]);
    t.same(res.notFound.sort(), ['msg_none', 'msg_other']);
    t.same(s.cancel(['msg_q'], undefined, now).final, [{ id: 'msg_q', status: 'canceled' }], 'canceled twice answers canceled');
    const later = claimNow(s, 'c1', 'notification', now + 7200_000, 10).map((x) => x.messageId);
    t.ok(later.includes('msg_other'), 'the other client\'s scheduled message is still sent');
    t.notOk(later.includes('msg_q') || later.includes('msg_s'), 'nothing canceled is claimed');
  });

  t.test(`${b.name}: receipt timeouts walk submitted segments once, from a cursor`, async (t) => {
    const s = await b.open(t);
    const now = Date.now();
    s.transaction(() => {
      for (let i = 0; i < 5; i++) s.insertMessage(newMessage({ id: `msg_t${i}`, sendAt: now - 100, createdAt: now - 100 }));
    });
    const segs = claimNow(s, 'c1', 'notification', now, 10);
    segs.forEach((g, i) => s.markSubmitted(g.id, g.messageId, 1, `T${i}`, now - 50 + i, false));
    s.setSegmentReceipt(segs[1]!.id, 'delivered', now, 'DELIVRD', null);
    const first = s.transaction(() => s.takeReceiptTimeouts('c1', now, 3));
    t.same(first.stale.map((x) => x.carrierMsgId), ['T0', 'T2'], 'the delivered one is not stale');
    t.equal(first.more, true);
    const second = s.transaction(() => s.takeReceiptTimeouts('c1', now, 3));
    t.same(second.stale.map((x) => x.carrierMsgId), ['T3', 'T4']);
    t.equal(second.more, false);
    t.same(s.transaction(() => s.takeReceiptTimeouts('c1', now, 3)).stale, [], 'the cursor moved past them');
  });

  t.test(`${b.name}: randomized bodies and references survive unchanged`, async (t) => {
    const s = await b.open(t);
    let n = 0;
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ maxLength: 60 }), (text, ref) => {
        const id = `msg_fc${++n}`;
        s.transaction(() => s.insertMessage(newMessage({ id, text, reference: ref, encoding: 'ucs2' })));
        return s.messageBody(id)!.text === text && s.getMessage(id)!.reference === ref && s.idsByReference('loans', ref).includes(id);
      }),
      { numRuns: 150 },
    );
    t.equal(n, 150, 'every generated body was stored and read back unchanged (fc.assert throws on the first that is not)');
  });
}

if (openPg !== undefined) {
  const open = openPg;
  t.test('postgres: two nodes claiming at once never take one segment, and every segment is taken', async (t) => {
    const a = await open(t, 'node-a');
    const b = await open(t, 'node-b');
    const now = Date.now();
    a.transaction(() => {
      for (let i = 0; i < 600; i++) a.insertMessage(newMessage({ id: `msg_k${String(i).padStart(4, '0')}`, sendAt: now - 1, createdAt: now - 1 }));
    });
    const seen = new Map<number, string>();
    let dup = 0;
    // Alternate small claims from the two connections: each claim commits as it is made.
    for (let round = 0; round < 200; round++) {
      for (const [node, s] of [['node-a', a], ['node-b', b]] as const) {
        for (const g of s.peekDue('c1', 'notification', now, 7, new Set())) {
          if (seen.has(g.id)) dup++;
          seen.set(g.id, node);
        }
      }
    }
    t.equal(dup, 0, 'no segment claimed twice');
    t.equal(seen.size, 600, 'every segment claimed');
    const byNode = [...seen.values()].reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>());
    t.ok((byNode.get('node-a') ?? 0) > 0 && (byNode.get('node-b') ?? 0) > 0, 'both nodes claimed');
  });

  t.test('postgres: a claim in progress on another node makes cancel answer on the wire, never canceled', async (t) => {
    const a = await open(t, 'node-a');
    const b = await open(t, 'node-b');
    const now = Date.now();
    a.transaction(() => a.insertMessage(newMessage({ id: 'msg_x', segments: 2, sendAt: now - 1, createdAt: now - 1 })));
    // Node B's claim holds the rows (its transaction still open) while node A cancels.
    let cancelResult: ReturnType<MessageStore['cancel']> | undefined;
    b.transaction(() => {
      t.equal(b.peekDue('c1', 'notification', now, 1, new Set()).length, 1, 'one part claimed');
    });
    cancelResult = a.cancel(['msg_x'], 'loans', now);
    t.same(cancelResult.onWire, ['msg_x'], 'a message with a part claimed is on the wire');
    t.same(a.peekDue('c1', 'notification', now, 5, new Set()).map((x) => x.seq), [2], 'its other part is still sendable');
  });

  t.test('postgres: recovery takes back only this node\'s claims; the reaper returns a dead node\'s', async (t) => {
    const a = await open(t, 'node-a');
    const b = await open(t, 'node-b');
    const now = Date.now();
    a.transaction(() => {
      for (let i = 0; i < 4; i++) a.insertMessage(newMessage({ id: `msg_n${i}`, sendAt: now - 1, createdAt: now - 1 }));
    });
    t.equal(a.peekDue('c1', 'notification', now, 2, new Set()).length, 2);
    t.equal(b.peekDue('c1', 'notification', now, 2, new Set()).length, 2);
    t.equal(a.recoverInFlight(), 2, 'node A restarting under its id recovers its own two');
    t.equal(a.requeueStaleSubmitting(now + 10, now, () => false, 10), 0, 'B\'s claims are not A\'s stale ones');
    t.equal(a.reapClaims(['node-a', 'node-b']), 0, 'B is alive: nothing reaped');
    t.equal(a.reapClaims(['node-a']), 2, 'B is gone: its two claims go back');
    t.equal(a.openDepthByLane().notification, 4);
    const m = a.getMessage('msg_n3')!;
    t.equal(m.status, 'queued');
  });
}

if (openPg !== undefined) {
  const open = openPg;
  t.test('postgres: a final receipt of a one-part message settles segment and message in one statement, once', async (t) => {
    const s = await open(t);
    const now = Date.now();
    s.transaction(() => {
      s.insertMessage(newMessage({ id: 'msg_d1', sendAt: now - 1, createdAt: now - 1, reference: 'r-d1' }));
      s.insertMessage(newMessage({ id: 'msg_u1', sendAt: now - 1, createdAt: now - 1 }));
    });
    const [d1, u1] = s.peekDue('c1', 'notification', now, 5, new Set());
    s.transaction(() => {
      s.markSubmitted(d1!.id, 'msg_d1', 1, 'D1', now, false);
      s.markSubmitted(u1!.id, 'msg_u1', 1, 'U1', now, false);
    });
    t.equal(s.getMessage('msg_d1')!.status, 'submitted', 'the deferred submitted write landed with the commit');
    const r = s.settleOnePartReceipt(d1!.id, 'delivered', now + 5, 'DELIVRD', '000', null, null);
    t.equal(r.applied, true);
    t.match(r.done, { id: 'msg_d1', status: 'delivered', reference: 'r-d1', errorCode: null });
    t.match(s.getSegments('msg_d1')[0], { status: 'delivered', receiptStat: 'DELIVRD', receiptErr: '000', finalAt: now + 5 });
    t.same(s.settleOnePartReceipt(d1!.id, 'undeliverable', now + 6, 'UNDELIV', '001', '001', 'UNDELIV'), { applied: false, done: undefined }, 'a second receipt changes nothing');
    t.equal(s.getMessage('msg_d1')!.status, 'delivered');
    const u = s.settleOnePartReceipt(u1!.id, 'undeliverable', now + 7, 'UNDELIV', '013', '013', 'UNDELIV');
    t.match(u.done, { status: 'undeliverable', errorCode: '013' });
    t.equal(s.getMessage('msg_u1')!.errorText, 'UNDELIV');
    // A message already ended (canceled meanwhile): the segment takes the receipt, the message stays.
    s.transaction(() => s.insertMessage(newMessage({ id: 'msg_e1', sendAt: now - 1, createdAt: now - 1 })));
    const [e1] = s.peekDue('c1', 'notification', now, 5, new Set());
    s.transaction(() => s.markSubmitted(e1!.id, 'msg_e1', 1, 'E1', now, false));
    s.finalizeMessage('msg_e1', 'expired', now + 1);
    t.same(s.settleOnePartReceipt(e1!.id, 'delivered', now + 8, 'DELIVRD', null, null, null), { applied: true, done: undefined });
    t.equal(s.getMessage('msg_e1')!.status, 'expired');
  });
}
