/**
 * Issue 14 point 5: a periodic sweep requeues stale `submitting` rows; a receipt ahead of its
 * submit_sm_resp and the parts of a multipart reply are stored before their deliver_sm_resp,
 * so a restart loses neither.
 */
import t from 'tap';
import { otherConnection } from '../helpers/test-store.js';
import { baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor, type FakeConnector } from '../helpers/fixtures.js';

/** One part of a UCS-2 reply with an 8-bit concat UDH, as an SMSC sends it. */
function moPart(fc: FakeConnector, ref: number, total: number, seq: number, text: string): Promise<number> {
  const udh = Buffer.from([5, 0, 3, ref, total, seq]);
  const body = Buffer.from(text, 'utf16le').swap16();
  return new Promise((resolve) =>
    fc.emit('deliver', {
      carrierId: fc.id, bindIndex: 0, isReceipt: false, esmClass: 0x40, dataCoding: 8,
      sourceAddr: '8613800000009', destinationAddr: '10690000', shortMessage: Buffer.concat([udh, body]), tlvs: {},
      ack: (s = 0) => resolve(s),
    }),
  );
}

t.test('a segment left submitting (its outcome write failed) is queued again by the periodic sweep, not only at restart', async (t) => {
  let clock = Date.now();
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))), { now: () => clock });
  t.teardown(() => ta.close());
  const m = ta.app.store.messages;
  await ta.app.start();
  const msg = newMessage({ id: 'msg_stuck_000001', sendAt: clock, createdAt: clock, expiresAt: clock + 86400000 });
  // What a claim whose outcome was never written leaves: submitting, and nobody awaiting it.
  m.transaction(() => {
    m.insertMessage(msg);
    // Peek and mark as the dispatcher does (with PostgreSQL the peek itself is the claim).
    const [seg] = m.peekDue('c1', 'notification', clock, 1, new Set());
    m.markClaimed([seg!.id], [msg.id], clock);
  });
  const fc = ta.connectors.get('c1')!;
  ta.app.runMaintenance();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fc.submits.length, 0, 'not while it may still be in flight');
  clock += 120000;
  ta.app.runMaintenance();
  await waitFor(() => fc.submits.length === 1, 5000, 'sent again');
  await waitFor(() => m.getMessage(msg.id)?.status === 'submitted', 5000, 'submitted');
  t.equal(fc.submits.length, 1, 'the stale segment went out once');
  t.equal(m.getMessage(msg.id)?.status, 'submitted', 'and was accepted');
});

t.test('a receipt ahead of its resp is stored before its deliver_sm_resp and applied after a restart', async (t) => {
  const dir = tempDir(t);
  const cfg = makeConfig(baseConfigObject(dir));
  const a = startTestApp(cfg);
  await a.app.start();
  t.equal(await a.connectors.get('c1')!.receipt('0777', 'DELIVRD'), 0, 'answered');
  await a.close();
  const b = startTestApp(cfg);
  t.teardown(() => b.close());
  await b.app.start();
  const fc = b.connectors.get('c1')!;
  fc.respond = () => ({ kind: 'accepted', carrierMessageId: '777' });
  const m = b.app.store.messages;
  const msg = newMessage({ id: 'msg_heldrcpt_0001' });
  m.transaction(() => m.insertMessage(msg));
  b.app.dispatcher.wake(['notification']);
  await waitFor(() => m.getMessage(msg.id)?.status === 'delivered', 5000, 'delivered by the receipt held across the restart');
});

t.test('the first part of a two-part reply is stored before its deliver_sm_resp: the reply is whole after a restart', async (t) => {
  const dir = tempDir(t);
  const cfg = makeConfig(baseConfigObject(dir));
  const a = startTestApp(cfg);
  await a.app.start();
  t.equal(await moPart(a.connectors.get('c1')!, 42, 2, 1, '我已经还'), 0, 'part 1 answered');
  await a.close();
  const b = startTestApp(cfg);
  await b.app.start();
  t.equal(await moPart(b.connectors.get('c1')!, 42, 2, 2, '款了'), 0, 'part 2 answered');
  await b.close();
  const db = otherConnection(cfg.store);
  t.teardown(() => db.close());
  t.same(db.get('SELECT body, partial FROM mo_messages'), { body: '我已经还款了', partial: 0 }, 'one whole reply');
  t.same(db.get('SELECT count(*) AS n FROM mo_messages'), { n: 1 }, 'only one');
});
