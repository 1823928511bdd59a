/** The MMS tables: claim, final once, fallback marking, crash recovery, retention. */
import t from 'tap';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import type { NewMms } from '../../src/store/mms-types.js';
import { tempDir } from '../helpers/fixtures.js';

const T0 = 1_800_000_000_000;
const mms = (id: string, over: Partial<NewMms> = {}): NewMms => ({
  id, client: 'loans', category: 'notification', to: '+8613800138000', subject: '账单', mmscId: 'mmsc', sizeBytes: 1000, reference: null,
  callbackUrl: null, templateId: null, linkedId: null, fallbackSms: null, sendAt: T0, expiresAt: T0 + 86400_000, createdAt: T0,
  parts: [{ seq: 1, contentType: 'text/plain', filename: null, text: '您好', data: null }, { seq: 2, contentType: 'image/jpeg', filename: 'a.jpg', text: null, data: Buffer.from([0xff, 0xd8, 0, 1, 0xff, 0xd9]) }],
  ...over,
});

t.test('claim, submit, final once; parts kept byte-exact', async (t) => {
  const store = openStore({ path: join(tempDir(t), 'x.db') });
  t.teardown(() => store.close());
  store.mms.insert(mms('msg_a'));
  store.mms.insert(mms('msg_b', { sendAt: T0 + 60_000, fallbackSms: '{"text":"x"}' }));
  t.equal(store.mms.get('msg_b')!.status, 'scheduled');
  t.same(store.mms.claimDue(T0, 10).map((m) => m.id), ['msg_a'], 'only what is due');
  t.same(store.mms.claimDue(T0, 10), [], 'claimed once');
  t.ok(store.mms.parts('msg_a')[1]!.data!.equals(Buffer.from([0xff, 0xd8, 0, 1, 0xff, 0xd9])));
  store.mms.markSubmitted('msg_a', '041502073667', 1000, 'Success', T0 + 1);
  t.match(store.mms.findByMm7Id('041502073667'), { id: 'msg_a', status: 'submitted', attempts: 1 });
  t.match(store.mms.finalize('msg_a', 'delivered', T0 + 2, { mmStatus: 'Retrieved', fallback: false }), { status: 'delivered', mmStatus: 'Retrieved', fallbackState: null });
  t.equal(store.mms.finalize('msg_a', 'expired', T0 + 3, { fallback: true }), undefined, 'a final MMS never changes');
  t.same(store.mms.claimDue(T0 + 60_000, 10).map((m) => m.id), ['msg_b']);
  t.match(store.mms.finalize('msg_b', 'rejected', T0 + 61_000, { code: 3004, fallback: true }), { fallbackState: 'pending', statusCode: 3004 });
  t.same(store.mms.pendingFallbacks(10).map((m) => m.id), ['msg_b']);
  store.mms.setFallback('msg_b', 'sent', 'msg_sms1', null);
  t.same(store.mms.pendingFallbacks(10), []);
  t.equal(store.mms.findByFallbackMessage('msg_sms1')!.id, 'msg_b');
});

t.test('crash recovery: submitting goes back to queued; retention purges final MMS with their parts', async (t) => {
  const path = join(tempDir(t), 'y.db');
  const a = openStore({ path });
  a.mms.insert(mms('msg_c'));
  a.mms.insert(mms('msg_d'));
  a.mms.claimDue(T0, 1);
  a.mms.requeue('msg_c', T0 + 5000, 4006, 'Service unavailable', true);
  a.mms.claimDue(T0, 1);
  a.close();
  const b = openStore({ path });
  t.teardown(() => b.close());
  t.equal(b.mms.recoverInFlight(), 1);
  t.match(b.mms.get('msg_d'), { status: 'queued', attempts: 0 });
  t.match(b.mms.get('msg_c'), { status: 'queued', attempts: 1, dueAt: T0 + 5000, statusCode: 4006 });
  b.mms.claimDue(T0 + 5000, 10);
  b.mms.finalize('msg_c', 'delivered', T0 + 6000, {});
  t.equal(b.mms.purgeFinal(T0 + 5999, 10), 0);
  t.equal(b.mms.purgeFinal(T0 + 6001, 10), 1);
  t.equal(b.mms.get('msg_c'), undefined);
  t.same(b.mms.parts('msg_c'), []);
  t.ok(b.mms.get('msg_d'), 'open MMS stay');
});
