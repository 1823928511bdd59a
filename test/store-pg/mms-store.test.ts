/**
 * Issue 21.1: MmsStore as a contract on SQLite and PostgreSQL: MMS with their parts (text,
 * Chinese, binary), the claim, submit, requeue and finalize transitions (once only), MM7
 * lookups, read status, inbound records, fallbacks, reports awaited, cancel, references,
 * recovery and the purge.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { contract, freshPgDatabase } from '../helpers/store-backends.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { PgMmsStore } from '../../src/store/postgres/mms-store.js';
import type { MmsRecord, NewMms, StoredMmsPart } from '../../src/store/mms-types.js';

const pgc = await startTestPostgres(t);
const T0 = 1_780_000_000_000;
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x00, 0xff, 0xd9]);

const PARTS: StoredMmsPart[] = [
  { seq: 1, contentType: 'text/plain; charset=utf-8', filename: null, text: '您的账单已出，请按时还款。', data: null },
  { seq: 2, contentType: 'image/jpeg', filename: '账单.jpg', text: null, data: JPEG },
  { seq: 3, contentType: 'application/smil', filename: 'main.smil', text: '<smil/>', data: null },
];

function mms(id: string, over: Partial<NewMms> = {}): NewMms {
  return {
    id, client: 'c1', category: 'notification', to: '+8613800000001', subject: '账单', mmscId: 'mmsc1', sizeBytes: 4096,
    reference: null, callbackUrl: null, templateId: null, linkedId: null, fallbackSms: null, sendAt: T0, expiresAt: T0 + 86_400_000,
    createdAt: T0, parts: [], ...over,
  };
}

contract(t, pgc, 'MMS: insert with parts, get, parts in order with their bytes, scheduled or queued', (t, b) => {
  const s = b.mms;
  s.insert(mms('msg_001', { parts: [PARTS[2]!, PARTS[0]!, PARTS[1]!], reference: 'inv-1', callbackUrl: 'http://127.0.0.1:1/cb', templateId: 'tpl', linkedId: 'lnk', fallbackSms: '{"text":"账单已出"}' }));
  s.insert(mms('msg_002', { sendAt: T0 + 60_000 }));
  const r = s.get('msg_001')!;
  t.same(r, {
    id: 'msg_001', client: 'c1', category: 'notification', to: '+8613800000001', subject: '账单', mmscId: 'mmsc1', sizeBytes: 4096,
    reference: 'inv-1', callbackUrl: 'http://127.0.0.1:1/cb', templateId: 'tpl', linkedId: 'lnk', fallbackSms: '{"text":"账单已出"}',
    status: 'queued', fallbackState: null, fallbackMessageId: null, fallbackError: null, mm7MessageId: null, statusCode: null, statusText: null,
    mmStatus: null, readStatus: null, attempts: 0, dueAt: T0, sendAt: T0, expiresAt: T0 + 86_400_000, createdAt: T0, submittedAt: null, finalAt: null,
  } satisfies MmsRecord);
  const parts = s.parts('msg_001');
  t.same(parts, PARTS, 'parts in sequence order, text and bytes unchanged');
  t.ok(Buffer.isBuffer(parts[1]!.data));
  t.same(s.parts('msg_002'), [], 'an MMS without parts');
  t.equal(s.get('msg_002')?.status, 'scheduled', 'sent later: scheduled');
  t.equal(s.get('msg_002')?.dueAt, T0 + 60_000);
  t.equal(s.get('msg_404'), undefined);
  t.throws(() => s.insert(mms('msg_001')), 'the same id twice is refused');
  t.same(s.parts('msg_001'), PARTS, 'and leaves the parts as they were');
});

contract(t, pgc, 'MMS transitions: claim due once, submitted, requeue, finalize once with the fallback marked, recover', (t, b) => {
  const s = b.mms;
  s.insert(mms('msg_001', { sendAt: T0 + 30 }));
  s.insert(mms('msg_002', { sendAt: T0 + 10, createdAt: T0 + 10 }));
  s.insert(mms('msg_003', { sendAt: T0 + 20, createdAt: T0 + 20, fallbackSms: '{"text":"fb"}' }));
  s.insert(mms('msg_004', { sendAt: T0 + 5000 }));
  t.same(s.claimDue(T0 + 5, 10), [], 'nothing due');
  const claimed = s.claimDue(T0 + 100, 2);
  t.same(claimed.map((r) => [r.id, r.status]), [['msg_002', 'submitting'], ['msg_003', 'submitting']], 'earliest due first, as submitting');
  t.same(s.claimDue(T0 + 100, 10).map((r) => r.id), ['msg_001'], 'claimed once');
  t.same(s.claimDue(T0 + 100, 10), []);

  s.markSubmitted('msg_002', 'mm7-abc', 1000, 'Success', T0 + 200);
  s.markSubmitted('msg_004', 'mm7-zzz', 1000, 'Success', T0 + 200);
  t.equal(s.get('msg_004')?.status, 'scheduled', 'only a submitting MMS is marked submitted');
  const sub = s.get('msg_002')!;
  t.same([sub.status, sub.mm7MessageId, sub.statusCode, sub.statusText, sub.submittedAt, sub.attempts], ['submitted', 'mm7-abc', 1000, 'Success', T0 + 200, 1]);

  s.requeue('msg_003', T0 + 900, 3001, 'busy', true);
  let r = s.get('msg_003')!;
  t.same([r.status, r.dueAt, r.statusCode, r.statusText, r.attempts], ['queued', T0 + 900, 3001, 'busy', 1]);
  s.requeue('msg_003', T0 + 950, null, null, false);
  t.equal(s.get('msg_003')?.dueAt, T0 + 900, 'a queued MMS is not requeued');
  t.same(s.claimDue(T0 + 900, 10).map((x) => x.id), ['msg_003']);
  s.requeue('msg_003', T0 + 950, null, null, false);
  r = s.get('msg_003')!;
  t.same([r.status, r.dueAt, r.statusCode, r.statusText, r.attempts], ['queued', T0 + 950, 3001, 'busy', 1], 'a hold keeps the code and counts no attempt');

  const fin = s.finalize('msg_003', 'expired', T0 + 1000, { code: 4004, fallback: true, countAttempt: true });
  t.same(fin && [fin.status, fin.finalAt, fin.statusCode, fin.statusText, fin.attempts, fin.fallbackState], ['expired', T0 + 1000, 4004, 'busy', 2, 'pending']);
  t.equal(s.finalize('msg_003', 'failed', T0 + 1001, {}), undefined, 'final once');
  t.equal(s.get('msg_003')?.status, 'expired');
  const fin2 = s.finalize('msg_002', 'delivered', T0 + 1100, { mmStatus: 'Retrieved', text: 'ok', fallback: true });
  t.same(fin2 && [fin2.status, fin2.mmStatus, fin2.statusText, fin2.statusCode, fin2.attempts, fin2.fallbackState], ['delivered', 'Retrieved', 'ok', 1000, 1, null], 'no fallback SMS: nothing pending');

  t.equal(s.recoverInFlight(), 1, 'msg_001 was left submitting');
  t.equal(s.get('msg_001')?.status, 'queued');
  t.equal(s.recoverInFlight(), 0);
});

contract(t, pgc, 'MMS lookups: by MM7 id (newest), read status, inbound once, fallbacks, reports awaited, references', (t, b) => {
  const s = b.mms;
  s.insert(mms('msg_001', { reference: 'ref-1', fallbackSms: '{"text":"a"}' }));
  s.insert(mms('msg_002', { createdAt: T0 + 1, reference: 'ref-1' }));
  s.insert(mms('msg_003', { createdAt: T0 + 2, mmscId: 'mmsc2', reference: 'ref-1', client: 'c2' }));
  s.claimDue(T0 + 10, 10);
  s.markSubmitted('msg_001', 'mm7-same', 1000, null, T0 + 100);
  s.markSubmitted('msg_002', 'mm7-same', 1000, null, T0 + 50);
  s.markSubmitted('msg_003', 'mm7-other', 1000, null, T0 + 10);
  t.equal(s.findByMm7Id('mm7-same')?.id, 'msg_002', 'the newest MMS with that MM7 id');
  t.equal(s.findByMm7Id('mm7-none'), undefined);
  t.same(s.awaitingReport('mmsc1', T0 + 101, 10).map((r) => r.id), ['msg_002', 'msg_001'], 'of one MMSC, submitted before, oldest first');
  t.same(s.awaitingReport('mmsc1', T0 + 100, 10).map((r) => r.id), ['msg_002']);
  t.same(s.awaitingReport('mmsc1', T0 + 101, 1).map((r) => r.id), ['msg_002']);
  t.same(s.awaitingReport('mmsc2', T0 + 101, 10).map((r) => r.id), ['msg_003']);
  s.setReadStatus('msg_001', 'Read', T0 + 200);
  t.equal(s.get('msg_001')?.readStatus, 'Read');

  const inbound = { id: 'in_1', kind: 'DeliverReq' as const, messageId: null, sender: '+8613800000001', recipient: '10690', mmStatus: null,
    subject: '回复', linkedId: 'lnk', client: 'c1', partsJson: '[{"text":"收到"}]', createdAt: T0 };
  s.recordInbound(inbound);
  s.recordInbound({ ...inbound, subject: 'DUP' });
  s.recordInbound({ ...inbound, id: 'in_2', kind: 'DeliveryReportReq', messageId: 'mm7-same', mmStatus: 'Retrieved', partsJson: null });
  t.same(b.sql('SELECT id, kind, message_id, sender, recipient, mm_status, subject, linked_id, client, parts_json FROM mms_inbound ORDER BY id'), [
    { id: 'in_1', kind: 'DeliverReq', message_id: null, sender: '+8613800000001', recipient: '10690', mm_status: null, subject: '回复', linked_id: 'lnk', client: 'c1', parts_json: '[{"text":"收到"}]' },
    { id: 'in_2', kind: 'DeliveryReportReq', message_id: 'mm7-same', sender: '+8613800000001', recipient: '10690', mm_status: 'Retrieved', subject: '回复', linked_id: 'lnk', client: 'c1', parts_json: null },
  ], 'an inbound request recorded once');

  t.same(s.pendingFallbacks(10), []);
  s.finalize('msg_001', 'undeliverable', T0 + 300, { fallback: true });
  t.same(s.pendingFallbacks(10).map((r) => r.id), ['msg_001']);
  s.setFallback('msg_001', 'sent', 'msg_sms1', null);
  t.same(s.pendingFallbacks(10), []);
  const fb = s.findByFallbackMessage('msg_sms1');
  t.same(fb && [fb.id, fb.fallbackState, fb.fallbackMessageId, fb.fallbackError], ['msg_001', 'sent', 'msg_sms1', null]);
  t.equal(s.findByFallbackMessage('msg_none'), undefined);
  s.finalize('msg_002', 'rejected', T0 + 300, { fallback: true });
  t.equal(s.get('msg_002')?.fallbackState, null, 'no fallback SMS: nothing pending');
  s.finalize('msg_003', 'rejected', T0 + 300, {});
  b.sql(`UPDATE mms_messages SET fallback_sms = '{"text":"b"}', fallback_state = 'pending' WHERE id = 'msg_003'`);
  s.setFallback('msg_003', 'refused', null, 'client_unknown');
  t.same(s.get('msg_003') && [s.get('msg_003')!.fallbackState, s.get('msg_003')!.fallbackMessageId, s.get('msg_003')!.fallbackError], ['refused', null, 'client_unknown']);
  t.same(s.pendingFallbacks(10), []);

  t.same(s.idsByReference('c1', 'ref-1').sort(), ['msg_001', 'msg_002']);
  t.same(s.idsByReference('c2', 'ref-1'), ['msg_003']);
  t.same(s.idsByReference('c1', 'ref-x'), []);
});

contract(t, pgc, 'MMS cancel: queued and scheduled only, of the owner; on the wire, final, unknown; an id twice', (t, b) => {
  const s = b.mms;
  s.insert(mms('msg_q'));
  s.insert(mms('msg_s', { sendAt: T0 + 99_000 }));
  s.insert(mms('msg_w'));
  s.insert(mms('msg_f'));
  s.insert(mms('msg_o', { client: 'c2' }));
  s.insert(mms('msg_q2'));
  t.same(s.claimDue(T0, 10).map((r) => r.id).sort(), ['msg_f', 'msg_o', 'msg_q', 'msg_q2', 'msg_w']);
  // Back to queued, all but the one on the wire.
  for (const id of ['msg_q', 'msg_f', 'msg_o', 'msg_q2']) s.requeue(id, T0, null, null, false);
  s.finalize('msg_f', 'rejected', T0 + 1, {});
  const res = s.cancel(['msg_q', 'msg_s', 'msg_w', 'msg_f', 'msg_o', 'msg_404', 'msg_q'], 'c1', T0 + 5);
  t.same(res, {
    canceled: ['msg_q', 'msg_s'],
    onWire: ['msg_w'],
    final: [{ id: 'msg_f', status: 'rejected' }, { id: 'msg_q', status: 'canceled' }],
    notFound: ['msg_o', 'msg_404'],
  }, 'another client\'s MMS is not found; the second look at an id finds it canceled');
  t.same([s.get('msg_q')?.status, s.get('msg_q')?.finalAt, s.get('msg_s')?.status, s.get('msg_o')?.status], ['canceled', T0 + 5, 'canceled', 'queued']);
  t.same(s.cancel(['msg_o', 'msg_w', 'msg_w'], undefined, T0 + 6), { canceled: ['msg_o'], onWire: ['msg_w', 'msg_w'], final: [], notFound: [] }, 'no owner: any client\'s');
  t.same(s.cancel([], 'c1', T0 + 7), { canceled: [], onWire: [], final: [], notFound: [] });
  t.same(s.claimDue(T0 + 100_000, 10).map((r) => r.id), ['msg_q2'], 'canceled MMS are never claimed');
});

contract(t, pgc, 'MMS purge: final before a time, with their parts, a step at a time', (t, b) => {
  const s = b.mms;
  for (const id of ['msg_1', 'msg_2', 'msg_3', 'msg_4']) s.insert(mms(id, { parts: [PARTS[0]!, PARTS[1]!] }));
  s.claimDue(T0, 10);
  s.finalize('msg_1', 'delivered', T0 + 10, {});
  s.finalize('msg_2', 'failed', T0 + 20, {});
  s.finalize('msg_3', 'delivered', T0 + 30, {});
  const partCount = () => Number(b.sql<{ n: number }>('SELECT count(*) AS n FROM mms_parts')[0]!.n);
  t.equal(s.purgeFinal(T0 + 25, 1), 1);
  t.equal(s.purgeFinal(T0 + 25, 5), 1);
  t.equal(s.purgeFinal(T0 + 25, 5), 0);
  t.same(['msg_1', 'msg_2', 'msg_3', 'msg_4'].map((id) => s.get(id)?.status ?? null), [null, null, 'delivered', 'submitting']);
  t.equal(partCount(), 4, 'the purged MMS\' parts went with them');
  t.same(s.parts('msg_3').length, 2);
  t.equal(s.purgeFinal(T0 + 1000, 5), 1, 'an open MMS is never purged');
  t.equal(partCount(), 2);
});

if (pgc !== undefined) {
  t.test('[postgres] two nodes: a restart recovers only its own claims; a dead node\'s claims are reaped by a live one', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    const other = new PgSyncClient({ url });
    t.teardown(() => other.close());
    const n1 = new PgMmsStore(client, { nodeId: 'n1' });
    const n2 = new PgMmsStore(other, { nodeId: 'n2' });
    for (let i = 1; i <= 6; i++) n1.insert(mms(`msg_${i}`, { sendAt: T0 + i, createdAt: T0 + i }));
    t.same(n1.claimDue(T0 + 2, 10).map((r) => r.id), ['msg_1', 'msg_2']);
    t.same(n2.claimDue(T0 + 4, 10).map((r) => r.id), ['msg_3', 'msg_4']);
    // A claim made before the cluster columns were written (one daemon, or an older version).
    client.run(`UPDATE mms_messages SET status = 'submitting', claimed_by = NULL WHERE id = 'msg_5'`);
    const status = () => client.query<[string, string]>('SELECT id, status FROM mms_messages ORDER BY id', [], 'array').map(([id, st]) => `${id}:${st}`);

    t.equal(n1.recoverInFlight(), 3, 'n1 restarts: its two claims and the unowned one');
    t.same(status(), ['msg_1:queued', 'msg_2:queued', 'msg_3:submitting', 'msg_4:submitting', 'msg_5:queued', 'msg_6:queued'], 'n2\'s claims are left alone');
    t.same(n1.claimDue(T0 + 2, 10).map((r) => r.id), ['msg_1', 'msg_2']);
    t.equal(n2.reapClaims(['n1']), 0, 'n1 is alive: nothing reaped');
    t.equal(n1.reapClaims(['n1', 'n2']), 0);
    t.equal(n1.reapClaims([]), 2, 'n2 gone: its claims go back to the queue');
    t.same(status(), ['msg_1:submitting', 'msg_2:submitting', 'msg_3:queued', 'msg_4:queued', 'msg_5:queued', 'msg_6:queued'], 'never the reaper\'s own');
    n1.markSubmitted('msg_1', 'mm7-1', 1000, null, T0 + 10);
    t.equal(n2.reapClaims([]), 1, 'only what is still submitting');
    t.same(status().slice(0, 2), ['msg_1:submitted', 'msg_2:queued']);
    const single = new PgMmsStore(client);
    n2.claimDue(T0 + 10, 2);
    t.equal(single.recoverInFlight(), 2, 'without a node id (one daemon): every claim, as SQLite');
  });
}

if (pgc !== undefined) {
  t.test('[postgres] a fallback SMS two nodes both found pending is settled once: the second node\'s transaction fails', async (t) => {
    const { client } = await freshPgDatabase(t, pgc);
    const s = new PgMmsStore(client);
    s.insert(mms('msg_1', { fallbackSms: '{"text":"fb"}' }));
    s.claimDue(T0, 1);
    s.finalize('msg_1', 'undeliverable', T0 + 1, { fallback: true });
    t.same(s.pendingFallbacks(10).map((r) => r.id), ['msg_1']);
    // Node A sent it (its SMS and the link in one transaction); node B, which read it pending
    // too, tries the same: its SMS insert is rolled back with the failed link.
    client.transaction(() => {
      client.run(`INSERT INTO send_log (number, category, at) VALUES ('A', 'fallback', 1)`);
      s.setFallback('msg_1', 'sent', 'msg_sms_a', null);
    });
    const err = t.throws(() =>
      client.transaction(() => {
        client.run(`INSERT INTO send_log (number, category, at) VALUES ('B', 'fallback', 2)`);
        s.setFallback('msg_1', 'sent', 'msg_sms_b', null);
      }),
    ) as { code?: string };
    t.equal(err.code, 'store_conflict');
    t.same(client.query('SELECT number FROM send_log ORDER BY at'), [{ number: 'A' }], 'B\'s writes rolled back');
    t.equal(s.get('msg_1')?.fallbackMessageId, 'msg_sms_a');
    t.throws(() => s.setFallback('msg_1', 'refused', null, 'client_unknown'), { code: 'store_conflict' }, 'nor refused after it was sent');
    t.doesNotThrow(() => s.setFallback('msg_gone', 'sent', 'x', null), 'an MMS no longer stored: nothing to settle, no error (as SQLite)');
    t.equal(s.get('msg_gone'), undefined, 'and nothing created for it');
  });
}

contract(t, pgc, 'held delivery reports: kept by MessageID, matchable once an MMS awaiting its report has it, attached once', (t, b) => {
  const s = b.mms;
  const inbound = (id: string, mm7: string | null, at: number, messageId: string | null = null) =>
    s.recordInbound({ id, kind: 'DeliveryReportReq', messageId, sender: null, recipient: null, mmStatus: 'Retrieved', subject: null, linkedId: null, client: null, partsJson: null, createdAt: at, mm7MessageId: mm7 });
  inbound('mm7_early', 'MID-1', T0 + 1);
  inbound('mm7_old', 'MID-2', T0 - 10_000);
  inbound('mm7_matched', null, T0 + 2, 'msg_x');
  t.same(s.heldReports('MID-1'), [{ inboundId: 'mm7_early', mm7MessageId: 'MID-1', mmStatus: 'Retrieved', createdAt: T0 + 1 }]);
  t.same(s.heldReports('MID-3'), []);
  t.same(s.matchableHeldReports(T0 - 60_000, 10), [], 'no MMS has these MessageIDs yet');
  for (const id of ['msg_a', 'msg_b']) s.insert(mms(id));
  s.claimDue(T0, 10);
  s.markSubmitted('msg_a', 'MID-1', 1000, 'Success', T0 + 5);
  s.markSubmitted('msg_b', 'MID-2', 1000, 'Success', T0 + 5);
  t.same(s.matchableHeldReports(T0, 10).map((h) => [h.inboundId, h.mmsId]), [['mm7_early', 'msg_a']], 'only reports received since the window start');
  t.same(s.matchableHeldReports(T0 - 60_000, 10).map((h) => h.inboundId), ['mm7_old', 'mm7_early'], 'oldest first');
  s.attachReport('mm7_early', 'msg_a', 'c1');
  t.same(s.heldReports('MID-1'), [], 'attached: no longer held');
  s.finalize('msg_b', 'delivered', T0 + 6, {});
  t.same(s.matchableHeldReports(T0 - 60_000, 10), [], 'an MMS already final does not take a held report');
});

contract(t, pgc, 'MM7 requests received are purged by age, a step at a time', (t, b) => {
  const s = b.mms;
  for (let i = 0; i < 5; i++) {
    s.recordInbound({ id: `mo_${i}`, kind: 'DeliverReq', messageId: null, sender: '8613800138000', recipient: '10690000', mmStatus: null, subject: '回复', linkedId: null, client: 'c1', partsJson: '[]', createdAt: T0 + i * 10 });
  }
  const left = () => Number(b.sql<{ n: number }>('SELECT count(*) AS n FROM mms_inbound')[0]!.n);
  t.equal(s.purgeInbound(T0 + 25, 2), 2, 'the limit');
  t.equal(s.purgeInbound(T0 + 25, 5), 1);
  t.equal(s.purgeInbound(T0 + 25, 5), 0);
  t.equal(left(), 2, 'the newer two stay');
});
