/**
 * SQLite remembers, from markSubmitted, the newest segment under each (carrier, carrier id)
 * and settles a final receipt for it without the index lookup. It must change nothing but
 * the cost: two stores built from the same random history (recycled carrier ids, multipart
 * messages, carriers that send no receipts, segments requeued and submitted again, a submit
 * whose transaction rolled back, receipts already applied), one told the carrier at submit
 * (it remembers) and one not (it looks every receipt up), give the same outcomes and rows
 * for the same random receipts.
 */
import t from 'tap';
import fc from 'fast-check';
import { openStore, type Store } from '../../src/store/index.js';
import { AWAITING_RECEIPT_CACHE, SqliteMessageStore } from '../../src/store/sqlite/message-store.js';
import type { FinalSegmentStatus, ReceiptSettleItem } from '../../src/store/types.js';
import { newMessage } from '../helpers/fixtures.js';
import { batchableReceipts } from '../helpers/test-store.js';

const KEYS = ['k1', 'k2', 'k3', 'k4'];
const CARRIERS = ['c1', 'c2'];
const FINALS: FinalSegmentStatus[] = ['delivered', 'undeliverable', 'expired', 'rejected'];

type Step =
  | { kind: 'submit'; carrier: string; parts: number; keys: string[]; finalOnSubmit: boolean }
  | { kind: 'requeue-and-resubmit'; key: string }
  | { kind: 'rolled-back-submit'; carrier: string; key: string }
  | { kind: 'receipt'; items: ReceiptSettleItem[] };

const settle = fc.record({
  status: fc.constantFrom(...FINALS),
  stat: fc.constantFrom('DELIVRD', 'UNDELIV'),
  err: fc.option(fc.constantFrom('000', '013'), { nil: null }),
  errorCode: fc.option(fc.constant('013'), { nil: null }),
  errorText: fc.option(fc.constant('UNDELIV'), { nil: null }),
});
const item: fc.Arbitrary<ReceiptSettleItem> = fc.record({
  carrierId: fc.constantFrom(...CARRIERS),
  keys: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 2 }),
  settle: fc.option(settle, { nil: undefined }),
}).map((it) => (it.settle === undefined ? { carrierId: it.carrierId, keys: it.keys } : it));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('submit' as const), carrier: fc.constantFrom(...CARRIERS), parts: fc.constantFrom(1, 1, 1, 2), keys: fc.array(fc.constantFrom(...KEYS), { minLength: 2, maxLength: 2 }), finalOnSubmit: fc.constantFrom(false, false, false, true) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requeue-and-resubmit' as const), key: fc.constantFrom(...KEYS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rolled-back-submit' as const), carrier: fc.constantFrom(...CARRIERS), key: fc.constantFrom(...KEYS) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('receipt' as const), items: fc.array(item, { minLength: 1, maxLength: 4 }) }) },
);

/** Runs the history on a fresh store; `remember` passes the carrier to markSubmitted. Returns each receipt step's outcomes and the rows. */
function play(steps: readonly Step[], remember: boolean): { outcomes: unknown[]; rows: unknown; settledFromMemory: number } {
  const store: Store = openStore({ path: ':memory:' });
  try {
    const s = store.messages;
    let clock = 1_000_000;
    let n = 0;
    const outcomes: unknown[] = [];
    const submitOne = (carrier: string, parts: number, keys: readonly string[], finalOnSubmit: boolean) => {
      const id = `m${String(++n).padStart(4, '0')}`;
      s.transaction(() => s.insertMessage(newMessage({ id, carrierId: carrier, segments: parts, sendAt: 0, createdAt: 0 })));
      const segs = s.peekDue(carrier, 'notification', clock, 10, new Set()).filter((g) => g.messageId === id);
      s.transaction(() => {
        s.markClaimed(segs.map((g) => g.id), segs.map((g) => g.messageId), clock);
        for (const g of segs) s.markSubmitted(g.id, g.messageId, g.total, keys[g.seq - 1]!, ++clock, finalOnSubmit, remember ? g.carrierId : undefined);
      });
    };
    for (const st of steps) {
      clock += 10;
      if (st.kind === 'submit') submitOne(st.carrier, st.parts, st.keys, st.finalOnSubmit);
      else if (st.kind === 'rolled-back-submit') {
        try {
          s.transaction(() => {
            submitOne(st.carrier, 1, [st.key], false);
            throw new Error('roll back');
          });
        } catch (err) {
          if ((err as Error).message !== 'roll back') throw err;
        }
      } else if (st.kind === 'requeue-and-resubmit') {
        // The newest segment awaiting under the key goes back to the queue, then out again under a new id.
        for (const c of CARRIERS) {
          const seg = s.findSegmentByCarrierMsgId(c, st.key);
          if (seg === undefined) continue;
          s.transaction(() => s.setSegmentState(seg.id, 'submitting', clock));
          s.requeue(seg.id, clock, { countAttempt: false });
          const again = s.peekDue(c, 'notification', clock, 50, new Set()).filter((g) => g.id === seg.id);
          s.transaction(() => {
            s.markClaimed(again.map((g) => g.id), again.map((g) => g.messageId), clock);
            for (const g of again) s.markSubmitted(g.id, g.messageId, g.total, `${st.key}x`, ++clock, false, remember ? g.carrierId : undefined);
          });
        }
      } else {
        outcomes.push(s.transaction(() => s.settleReceipts(batchableReceipts(st.items), clock)));
      }
    }
    const rows = Array.from({ length: n }, (_, i) => {
      const id = `m${String(i + 1).padStart(4, '0')}`;
      const m = s.getMessage(id);
      return m === undefined ? null : { m: [m.status, m.finalAt, m.errorCode, m.errorText], segs: s.getSegments(id).map((g) => [g.status, g.receiptStat, g.receiptErr, g.finalAt, g.carrierMsgId]) };
    });
    return { outcomes, rows, settledFromMemory: (s as SqliteMessageStore).remembered.settled };
  } finally {
    store.close();
  }
}

t.test('a remembered target settles as the lookup would (fast-check over histories)', async (t) => {
  let turns = 0;
  let fromMemory = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 20 }), (steps) => {
      const looked = play(steps, false);
      const remembered = play(steps, true);
      if (looked.settledFromMemory !== 0) throw new Error('nothing is remembered without the carrier');
      turns += looked.outcomes.length;
      fromMemory += remembered.settledFromMemory;
      return JSON.stringify(looked.outcomes) === JSON.stringify(remembered.outcomes) && JSON.stringify(looked.rows) === JSON.stringify(remembered.rows);
    }),
    { numRuns: 300 },
  );
  t.ok(turns > 300, `${turns} receipt turns compared`);
  t.ok(fromMemory > 20, `${fromMemory} receipts settled from memory in them`);
});

t.test('the remembered target is used, forgotten once settled, and bounded', async (t) => {
  const store = openStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const s = store.messages as SqliteMessageStore;
  const now = 5_000_000;
  s.transaction(() => {
    for (let i = 0; i < 3; i++) s.insertMessage(newMessage({ id: `r${i}`, sendAt: 0, createdAt: 0 }));
  });
  const segs = s.peekDue('c1', 'notification', now, 10, new Set());
  s.transaction(() => {
    s.markClaimed(segs.map((g) => g.id), segs.map((g) => g.messageId), now);
    for (const g of segs) s.markSubmitted(g.id, g.messageId, 1, `id${g.messageId}`, now, false, 'c1');
  });
  t.equal(s.remembered.awaiting, 3, 'three one-part segments remembered at submit');
  const [out] = s.settleReceipts([{ carrierId: 'c1', keys: ['idr1'], settle: { status: 'delivered', stat: 'DELIVRD', err: '000', errorCode: null, errorText: null } }], now + 1);
  t.equal(out!.target?.messageId, 'r1');
  t.ok(out!.settled && out!.applied);
  t.equal(out!.done?.status, 'delivered');
  t.equal(s.getMessage('r1')!.status, 'delivered');
  t.equal(s.remembered.awaiting, 2, 'forgotten once settled');
  const [again] = s.settleReceipts([{ carrierId: 'c1', keys: ['idr1'], settle: { status: 'delivered', stat: 'DELIVRD', err: '000', errorCode: null, errorText: null } }], now + 2);
  t.same(again, { target: undefined, settled: false, applied: false, done: undefined }, 'a duplicate receipt awaits nothing, as before');

  // Bounded: past the limit the oldest are dropped (and their receipts looked up).
  const extra = AWAITING_RECEIPT_CACHE + 5;
  s.transaction(() => {
    for (let i = 0; i < extra; i++) s.insertMessage(newMessage({ id: `b${String(i).padStart(6, '0')}`, carrierId: 'c2', sendAt: 0, createdAt: 0 }));
  });
  const many = s.peekDue('c2', 'notification', now, extra, new Set());
  s.transaction(() => {
    s.markClaimed(many.map((g) => g.id), many.map((g) => g.messageId), now);
    for (const g of many) s.markSubmitted(g.id, g.messageId, 1, `x${g.id}`, now, false, 'c2');
  });
  t.equal(s.remembered.awaiting, AWAITING_RECEIPT_CACHE, `at most ${AWAITING_RECEIPT_CACHE} remembered`);
  const oldest = many[0]!;
  const [dropped] = s.settleReceipts([{ carrierId: 'c2', keys: [`x${oldest.id}`], settle: { status: 'delivered', stat: 'DELIVRD', err: null, errorCode: null, errorText: null } }], now + 3);
  t.equal(dropped!.target?.messageId, oldest.messageId, 'a dropped one is still found by its lookup');
  t.ok(dropped!.applied);
});
