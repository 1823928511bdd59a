/**
 * Retention purge in bounded steps: a day's worth of final messages is deleted a slice per
 * commit unit, not in one statement that holds the event loop for seconds.
 */
import t from 'tap';
import { newId } from '../../src/domain/ids.js';
import { baseConfigObject, makeConfig, newMessage, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

t.test('purgeFinal deletes at most its limit; a maintenance run purges a backlog larger than one step, all of it', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.store.retention_days = 30;
  const ta = startTestApp(makeConfig(obj), { level: 'info' });
  t.teardown(() => ta.close());
  const ms = ta.app.store.messages;
  const day = 86400000;
  const old = Date.now() - 40 * day;
  const ids: string[] = [];
  ms.transaction(() => {
    for (let i = 0; i < 1234; i++) {
      const m = newMessage({ id: newId('msg', old + i), createdAt: old + i, sendAt: old + i, expiresAt: old + day });
      ms.insertMessage(m);
      ms.finalizeMessage(m.id, 'delivered', old + i + 1000);
      ids.push(m.id);
    }
  });
  const keep = newMessage({ id: newId('msg', old), createdAt: old, sendAt: Date.now() + day, expiresAt: Date.now() + 2 * day });
  ms.insertMessage(keep);

  t.equal(ms.purgeFinal(old + 30 * day, 10), 10, 'ten, the limit');
  t.equal(ms.getMessage(ids[0]!), undefined, 'oldest first');
  t.ok(ms.getMessage(ids[10]!));

  ta.app.runMaintenance();
  await waitFor(() => ta.lines.some((l) => /retention purge/.test(l)), 10000, 'the purge to finish');
  t.ok(ta.lines.some((l) => /retention purge/.test(l) && /"messages":1224/.test(l)), 'one log line with the total of every step');
  t.ok(ids.every((id) => ms.getMessage(id) === undefined), 'all 1,234 gone');
  t.same(ms.getSegments(ids[1233]!), [], 'with their segments');
  t.equal(ms.getMessage(keep.id)?.status, 'scheduled', 'an old message not yet final stays');
});

t.test('idempotency keys and the caps log expire oldest first, in steps, and newer ones stay', async (t) => {
  const dir = tempDir(t);
  const ta = startTestApp(makeConfig(baseConfigObject(dir)), { level: 'info' });
  t.teardown(() => ta.close());
  const aux = ta.app.store.aux;
  const day = 86400000;
  const now = Date.now();
  const rec = (createdAt: number) => ({ bodyHash: 'h', status: 202, response: '{}', createdAt });
  ta.app.store.messages.transaction(() => {
    // Keys stored in no particular order of age: the purge follows age, not the key.
    for (let i = 0; i < 1234; i++) aux.putIdempotency('loans', `k${(i * 7919) % 1234}`, rec(now - 8 * day + ((i * 7919) % 1234)));
    aux.putIdempotency('loans', 'fresh', rec(now - day));
    for (let i = 0; i < 1234; i++) aux.logSend('+8613800138000', 'collection', now - 9 * day + i);
    aux.logSend('+8613800138000', 'collection', now - day);
  });
  t.equal(aux.purgeIdempotency(now - 7 * day, 10), 10, 'ten keys, the limit');
  t.equal(aux.getIdempotency('loans', 'k0'), undefined, 'the oldest went first');
  t.ok(aux.getIdempotency('loans', 'k10'));
  t.equal(aux.purgeSendLog(now - 8 * day, 10), 10);
  t.equal(aux.sendsSince('+8613800138000', 'collection', 0).length, 1225);

  ta.app.runMaintenance();
  await waitFor(() => ta.lines.some((l) => /retention purge/.test(l)), 10000, 'the purge to finish');
  const line = ta.lines.find((l) => /retention purge/.test(l))!;
  t.match(line, /"idempotency_keys":1224/);
  t.match(line, /"send_log":1224/);
  t.ok([...Array(1234).keys()].every((i) => aux.getIdempotency('loans', `k${i}`) === undefined), 'every old key gone');
  t.ok(aux.getIdempotency('loans', 'fresh'), 'a key from yesterday stays');
  t.same(aux.sendsSince('+8613800138000', 'collection', 0), [now - day], 'only the recent send is left in the caps log');
});

t.test('OTP records, delivered webhook events and replies are purged too; active codes, pending events and recent rows stay', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.store.retention_days = 30;
  // Not started: no outbox worker delivers (or retries) the pending event while we look.
  const ta = startTestApp(makeConfig(obj), { level: 'info' });
  t.teardown(() => ta.close());
  const aux = ta.app.store.aux;
  const day = 86400000;
  const now = Date.now();
  const otp = (createdAt: number, status: 'active' | 'used' | 'expired', i: number) => {
    const id = newId('otp', createdAt);
    aux.insertOtp({ id, client: 'loans', to: `+86138000${String(i).padStart(5, '0')}`, purpose: 'login', codeHash: 'x', messageId: null, createdAt, expiresAt: status === 'active' ? now + day : createdAt + 300000, attempts: 0, status });
    return id;
  };
  const event = (createdAt: number, delivered: boolean) => {
    const id = newId('evt', createdAt);
    aux.addOutbox({ id, client: 'loans', url: 'http://127.0.0.1:9/hook', body: '{}', attempts: 0, createdAt, nextAttemptAt: now + 3600000 });
    if (delivered) aux.outboxDelivered(id, createdAt + 1000);
    return id;
  };
  const reply = (createdAt: number) => {
    const id = newId('mo', createdAt);
    aux.insertMo({ id, carrierId: 'c1', from: '+8613800138000', to: '10690000', body: 'TD', intent: 'optout', client: null, lastMessageId: null, partial: false, createdAt });
    return id;
  };
  const oldOtps: string[] = [];
  let keepActive = '';
  let recentOtp = '';
  const oldEvents: string[] = [];
  ta.app.store.messages.transaction(() => {
    for (let i = 0; i < 1100; i++) oldOtps.push(otp(now - 9 * day + i, i % 2 === 0 ? 'used' : 'expired', i));
    keepActive = otp(now - 9 * day, 'active', 99999);
    recentOtp = otp(now - day, 'used', 99998);
    for (let i = 0; i < 600; i++) oldEvents.push(event(now - 8 * day + i, true));
    event(now - 8 * day, false);
    event(now - day, true);
    for (let i = 0; i < 3; i++) reply(now - 31 * day + i);
    reply(now - day);
  });
  ta.app.runMaintenance();
  await waitFor(() => ta.lines.some((l) => /retention purge/.test(l)), 10000, 'the purge to finish');
  const line = ta.lines.find((l) => /retention purge/.test(l))!;
  t.match(line, /"otps":1100/);
  t.match(line, /"webhook_events":600/, 'the 600 old delivered ones: not the pending one, not yesterday\'s');
  t.match(line, /"replies":3/);
  t.ok(oldOtps.every((id) => aux.getOtp(id) === undefined), 'old OTP records gone, past one step');
  t.ok(aux.getOtp(recentOtp), 'a record from yesterday stays: the per-day limits look back 24 h');
  t.equal(aux.getOtp(keepActive)?.status, 'active', 'an active code is never purged');
  t.equal(aux.outboxPending(), 1, 'the old pending event stays: it is still owed');
});
