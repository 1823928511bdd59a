/**
 * ReceiptHandler.handleMany on the embedded store: a turn's receipts go in one commit unit
 * (at most 1,000 each), each answered after that commit; a copy of a receipt in the same turn
 * is handled after the others, on its own, and counted late; a receipt that matches nothing
 * yet is held; a failed commit answers ESME_RSYSERR for its receipts, so the SMSC resends
 * them, and the daemon goes on.
 */
import t, { type Test } from 'tap';
import { openStore } from '../../src/store/index.js';
import { ReceiptHandler } from '../../src/results/receipt-handler.js';
import { ResultsWriter } from '../../src/results/writer.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { InboundDeliver } from '../../src/carriers/connector.js';
import { baseConfigObject, capturingLogger, makeConfig, newMessage, tempDir } from '../helpers/fixtures.js';

function setUp(t: Test, opts: { failCommits?: () => boolean } = {}) {
  const store = openStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const cfg = makeConfig(baseConfigObject(tempDir(t)));
  const metrics = createMetrics();
  const { logger, lines } = capturingLogger('warn');
  const ended: string[] = [];
  const results = new ResultsWriter({ messages: store.messages, metrics, logger, multipartMode: () => 'all', emitStatus: (m) => ended.push(m.id) });
  const units: number[] = [];
  const handler = new ReceiptHandler({
    messages: store.messages,
    aux: store.aux,
    results,
    commit: (fn) => {
      units.push(1);
      if (opts.failCommits?.() === true) return Promise.reject(new Error('disk full'));
      return store.commit.run(fn);
    },
    carrier: (id) => cfg.carriers.find((c) => c.id === id),
    metrics,
    logger,
    now: () => Date.now(),
  });
  /** n one-part messages submitted with carrier ids id-0 … id-(n-1). */
  const submitted = (n: number): string[] => {
    const now = Date.now();
    const ids: string[] = [];
    store.messages.transaction(() => {
      for (let i = 0; i < n; i++) {
        const m = newMessage({ sendAt: now - 1000, createdAt: now - 1000 });
        store.messages.insertMessage(m);
        ids.push(m.id);
      }
    });
    const segs = store.messages.peekDue('c1', 'notification', now, n, new Set());
    store.messages.transaction(() => {
      store.messages.markClaimed(segs.map((s) => s.id), segs.map((s) => s.messageId), now);
      segs.forEach((s) => store.messages.markSubmitted(s.id, s.messageId, 1, `id-${ids.indexOf(s.messageId)}`, now, false));
    });
    return ids;
  };
  const acks: Array<{ id: string; status: number }> = [];
  const receipt = (id: string, stat = 'DELIVRD'): InboundDeliver => ({
    carrierId: 'c1', bindIndex: 0, isReceipt: true, esmClass: 4, dataCoding: 0, sourceAddr: '8613800138000', destinationAddr: '10690000',
    shortMessage: Buffer.from(`id:${id} sub:001 dlvrd:001 submit date:2612061200 done date:2612061201 stat:${stat} err:000 text:`, 'latin1'),
    tlvs: {},
    ack: (status = 0) => acks.push({ id, status }),
  });
  const settled = async (n: number) => {
    for (let i = 0; i < 200 && acks.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  return { store, metrics, lines, handler, units, submitted, receipt, acks, settled, ended };
}

t.test('2,500 receipts in one turn: three units, each receipt applied and answered once', async (t) => {
  const s = setUp(t);
  const ids = s.submitted(2500);
  s.handler.handleMany(ids.map((_, i) => s.receipt(`id-${i}`)));
  await s.settled(2500);
  t.same(s.units.length, 3, 'units of at most 1,000 receipts');
  t.equal(s.acks.length, 2500);
  t.ok(s.acks.every((a) => a.status === 0), 'all answered ESME_ROK');
  t.equal(new Set(s.acks.map((a) => a.id)).size, 2500, 'each once');
  t.equal(ids.filter((id) => s.store.messages.getMessage(id)!.status === 'delivered').length, 2500, 'all delivered');
  t.equal(new Set(s.ended).size, 2500, 'each message ended once');
});

t.test('copies in the same turn, a receipt ahead of its resp, a non-final receipt', async (t) => {
  const s = setUp(t);
  const ids = s.submitted(3);
  s.handler.handleMany([s.receipt('id-0'), s.receipt('id-1', 'ACCEPTD'), s.receipt('id-0'), s.receipt('id-9'), s.receipt('id-0', 'UNDELIV')]);
  t.equal(s.units.length, 3, 'the batch, then each copy of id-0 on its own');
  await s.settled(5);
  t.ok(s.acks.every((a) => a.status === 0));
  t.equal(s.store.messages.getMessage(ids[0]!)!.status, 'delivered', 'the first receipt won');
  t.equal(s.store.messages.getSegments(ids[1]!)[0]!.status, 'accepted', 'an intermediate state applied');
  t.equal(s.store.messages.getMessage(ids[1]!)!.finalAt, null, '… and the message still open');
  const text = await s.metrics.registry.metrics();
  t.match(text, /xinge_dlr_late_total\{carrier="c1"\} 2/, 'both copies late');
  t.equal(s.handler.held.count, 1, 'the unknown id is held for its resp');
  t.equal(s.ended.filter((id) => id === ids[0]).length, 1, 'one status event for the message');
});

t.test('a failed commit: ESME_RSYSERR for its receipts, the next turn goes on', async (t) => {
  let fail = true;
  const s = setUp(t, { failCommits: () => fail });
  const ids = s.submitted(2);
  s.handler.handleMany([s.receipt('id-0'), s.receipt('id-1')]);
  await s.settled(2);
  t.same(s.acks.map((a) => a.status), [8, 8], 'both refused: the SMSC resends them');
  t.ok(s.lines.some((l) => l.includes('receipt write failed')), 'logged');
  t.equal(s.store.messages.getMessage(ids[0]!)!.status, 'submitted', 'nothing applied');
  fail = false;
  s.handler.handleMany([s.receipt('id-0'), s.receipt('id-1')]);
  await s.settled(4);
  t.same(s.acks.slice(2).map((a) => a.status), [0, 0]);
  t.equal(s.store.messages.getMessage(ids[1]!)!.status, 'delivered', 'the resent receipts applied');
});
