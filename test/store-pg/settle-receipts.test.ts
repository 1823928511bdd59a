/**
 * MessageStore.settleReceipts, both backends: a turn's receipts looked up (and the one-part
 * ones settled) in one call must give what the receipts one by one give
 * (findSegmentByCarrierMsgId of each key in turn, then setSegmentReceipt and finalizeMessage):
 * the same targets, outcomes and rows, with recycled carrier ids (the newest awaiting segment
 * wins), ids shared across carriers, multipart targets (looked up, left to the caller),
 * non-final states (looked up only), segments already final, and keys tried in order. On
 * PostgreSQL it is one round trip.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { openStore } from '../../src/store/index.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { migratePgStore } from '../../src/store/postgres/migrations.js';
import { PgMessageStore } from '../../src/store/postgres/message-store.js';
import type { FinalSegmentStatus, MessageStore, ReceiptSettleItem, ReceiptSettleOutcome } from '../../src/store/types.js';
import { newMessage } from '../helpers/fixtures.js';
import { batchableReceipts } from '../helpers/test-store.js';
import { startTestPostgres } from '../helpers/postgres.js';

const pgc = await startTestPostgres(t);

/** The assertions against one backend; `waits` counts its round trips where it has them. */
function suite(t: Test, s: MessageStore, waits?: () => number): void {
  const now = Date.now();

  // The fixture: segments awaiting receipts under a small pool of carrier ids.
  //   k1: two one-part messages (the newer wins), k2: one on c1 and one on c2,
  //   k3: one part of a 2-part message, k4: the other part, k5: already final,
  //   k6: one-part, k7: one-part submitted later than the k1s.
  const plan: Array<{ id: string; carrier: string; keys: string[]; at: number }> = [
    { id: 'msg_k1old', carrier: 'c1', keys: ['k1'], at: now - 5000 },
    { id: 'msg_k1new', carrier: 'c1', keys: ['k1'], at: now - 4000 },
    { id: 'msg_k2c1', carrier: 'c1', keys: ['k2'], at: now - 3000 },
    { id: 'msg_k2c2', carrier: 'c2', keys: ['k2'], at: now - 3000 },
    { id: 'msg_multi', carrier: 'c1', keys: ['k3', 'k4'], at: now - 2500 },
    { id: 'msg_k5', carrier: 'c1', keys: ['k5'], at: now - 2000 },
    { id: 'msg_k6', carrier: 'c1', keys: ['k6'], at: now - 1500 },
    { id: 'msg_k7', carrier: 'c1', keys: ['k7'], at: now - 1000 },
  ];
  s.transaction(() => {
    for (const p of plan) s.insertMessage(newMessage({ id: p.id, carrierId: p.carrier, segments: p.keys.length, sendAt: now - 9000, createdAt: now - 9000, callbackUrl: 'http://127.0.0.1:9/cb' }));
  });
  for (const carrier of ['c1', 'c2']) {
    const segs = s.peekDue(carrier, 'notification', now, 100, new Set());
    s.transaction(() => {
      s.markClaimed(segs.map((x) => x.id), segs.map((x) => x.messageId), now);
      for (const seg of segs) {
        const p = plan.find((x) => x.id === seg.messageId)!;
        s.markSubmitted(seg.id, seg.messageId, seg.total, p.keys[seg.seq - 1]!, p.at, false);
      }
    });
  }
  const k5 = s.findSegmentByCarrierMsgId('c1', 'k5')!;
  t.ok(s.setSegmentReceipt(k5.id, 'delivered', now - 100, 'DELIVRD', null), 'k5 ended before the receipts');
  s.finalizeMessage(k5.messageId, 'delivered', now - 100);

  const dump = () =>
    plan.map((p) => {
      const m = s.getMessage(p.id)!;
      return {
        m: [m.status, m.finalAt, m.errorCode, m.errorText],
        segs: s.getSegments(p.id).map((g) => [g.id, g.status, g.receiptStat, g.receiptErr, g.finalAt]),
      };
    });

  /** fn's answer and the rows after it, then rolled back. */
  const tryOut = <T>(fn: () => T): { out: T; rows: unknown[] } => {
    const box: { v?: { out: T; rows: unknown[] } } = {};
    try {
      s.transaction(() => {
        box.v = { out: fn(), rows: dump() };
        throw new Error('roll back');
      });
    } catch (err) {
      if ((err as Error).message !== 'roll back') throw err;
    }
    return box.v!;
  };

  /** What the receipts one by one give. */
  const oneByOne = (items: readonly ReceiptSettleItem[], at: number): ReceiptSettleOutcome[] =>
    items.map((it) => {
      let target;
      for (const k of it.keys) if ((target = s.findSegmentByCarrierMsgId(it.carrierId, k)) !== undefined) break;
      if (target === undefined || it.settle === undefined || target.total !== 1) return { target, settled: false, applied: false, done: undefined };
      const st = it.settle;
      const applied = s.setSegmentReceipt(target.id, st.status, at, st.stat, st.err);
      return { target, settled: true, applied, done: applied ? s.finalizeMessage(target.messageId, st.status, at, st.errorCode, st.errorText) : undefined };
    });

  t.test('the documented cases', async (t) => {
    const items: ReceiptSettleItem[] = [
      { carrierId: 'c1', keys: ['k1'], settle: { status: 'delivered', stat: 'DELIVRD', err: '000', errorCode: null, errorText: null } },
      { carrierId: 'c2', keys: ['nope', 'k2'], settle: { status: 'undeliverable', stat: 'UNDELIV', err: '013', errorCode: '013', errorText: 'UNDELIV' } },
      { carrierId: 'c1', keys: ['k3'], settle: { status: 'delivered', stat: 'DELIVRD', err: null, errorCode: null, errorText: null } },
      { carrierId: 'c1', keys: ['k5'], settle: { status: 'delivered', stat: 'DELIVRD', err: null, errorCode: null, errorText: null } },
      { carrierId: 'c1', keys: ['k6'] },
      { carrierId: 'c1', keys: ['k9'] },
    ];
    let trips = 0;
    const batch = tryOut(() => {
      const before = waits?.() ?? 0;
      const out = s.settleReceipts(items, now);
      trips = (waits?.() ?? 0) - before;
      return out;
    });
    if (waits !== undefined) t.equal(trips, 1, 'one round trip for six receipts');
    const seq = tryOut(() => oneByOne(items, now));
    t.same(batch, seq, 'as one by one');
    const [k1, k2, k3, k5x, k6, k9] = batch.out;
    t.equal(k1!.target!.messageId, 'msg_k1new', 'a recycled id: the newest segment awaiting');
    t.ok(k1!.settled && k1!.applied);
    t.equal(k1!.done?.id, 'msg_k1new');
    t.equal(k1!.done?.status, 'delivered');
    t.equal(k1!.done?.callbackUrl, 'http://127.0.0.1:9/cb');
    t.equal(k2!.target!.messageId, 'msg_k2c2', 'the carrier counts, and keys are tried in order');
    t.equal(k2!.done?.errorCode, '013');
    t.equal(k2!.done?.status, 'undeliverable');
    t.equal(k3!.target!.messageId, 'msg_multi', 'a part of a multipart message is found');
    t.notOk(k3!.settled, '… and left to the caller');
    t.same(k5x, { target: undefined, settled: false, applied: false, done: undefined }, 'an ended segment awaits nothing');
    t.equal(k6!.target!.messageId, 'msg_k6');
    t.notOk(k6!.settled, 'no final state: looked up only');
    t.equal(k9!.target, undefined);
    t.same(s.settleReceipts([], now), []);
    if (waits !== undefined) t.throws(() => s.settleReceipts([{ carrierId: 'c1', keys: ['k1'] }, { carrierId: 'c1', keys: ['k1'] }], now), { code: 'store_failed' }, 'two items sharing a key are refused');
    t.equal(s.settleReceipts([{ carrierId: 'c1', keys: ['k6', 'k6'] }], now)[0]!.target?.messageId, 'msg_k6', 'a key repeated within an item is one key');
  });

  t.test('random batches give what one by one gives (fast-check)', async (t) => {
    const pool = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'];
    const finals: FinalSegmentStatus[] = ['delivered', 'undeliverable', 'expired', 'rejected', 'failed', 'unknown'];
    const item = fc.record({
      carrierId: fc.constantFrom('c1', 'c2'),
      keys: fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }),
      settle: fc.option(
        fc.record({
          status: fc.constantFrom(...finals),
          stat: fc.option(fc.constantFrom('DELIVRD', 'UNDELIV', 'MK:0005', "it's"), { nil: null }),
          err: fc.option(fc.constantFrom('000', '013'), { nil: null }),
          errorCode: fc.option(fc.constantFrom('013', 'MK:0005'), { nil: null }),
          errorText: fc.option(fc.constantFrom('UNDELIV', '未送达'), { nil: null }),
        }),
        { nil: undefined },
      ),
    });
    let compared = 0;
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (raw) => {
        const items = batchableReceipts(raw);
        const batch = tryOut(() => s.settleReceipts(items, now));
        const seq = tryOut(() => oneByOne(items, now));
        compared += items.length;
        return JSON.stringify(batch) === JSON.stringify(seq);
      }),
      { numRuns: 150 },
    );
    t.ok(compared > 150, `${compared} receipts compared`);
  });
}

t.test('sqlite', async (t) => {
  const store = openStore({ path: ':memory:' });
  t.teardown(() => store.close());
  suite(t, store.messages);
});

if (pgc !== undefined) {
  t.test('postgres', async (t) => {
    await pgc.query('CREATE DATABASE settle_receipts');
    const c = new PgSyncClient({ url: pgc.url.replace(/\/[^/]+$/, '/settle_receipts') });
    t.teardown(() => c.close());
    migratePgStore(c);
    suite(t, new PgMessageStore(c, { nodeId: 'node-a' }), () => c.waits);
  });
}
