/**
 * Issue 21.1: CallerIdStore as a contract on SQLite and PostgreSQL: registrations round trip
 * (logo bytes, numbers, nulls), save, remove, lookups by number and client, paging newest
 * first, the poller's due list and the counts by status.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { contract } from '../helpers/store-backends.js';
import type { Registration } from '../../src/callerid/store.js';

const pgc = await startTestPostgres(t);
const T0 = 1_780_000_000_000;
const LOGO = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function reg(id: string, over: Partial<Registration> = {}): Registration {
  return {
    id, client: 'c1', cardId: null, status: 'submitting', reason: null, numbers: ['+8613800000001'], displayName: '信鸽金融',
    industry: 'finance', licenseNo: '91310000MA1FL0000X', contact: '张三 +8613900000000', logo: LOGO, effectiveAt: null, expiresAt: null,
    pendingOp: 'create', pendingRequestId: 'req-1', pendingBody: '{"name":"信鸽金融"}', failures: 0, lastError: null, nextCheckAt: null,
    expiryWarnedFor: null, createdAt: T0, updatedAt: T0, ...over,
  };
}

contract(t, pgc, 'caller-ID registrations: insert, get, save, remove', (t, b) => {
  const s = b.callerId;
  const r = reg('cid_001');
  s.insert(r);
  const got = s.get('cid_001');
  t.same(got, r, 'round trip');
  t.ok(Buffer.isBuffer(got?.logo), 'the logo is a Buffer');
  t.same([...got!.logo], [...LOGO], 'every byte of the logo');
  t.equal(s.get('cid_missing'), undefined);
  const saved: Registration = {
    ...r, cardId: 'card-9', status: 'active', reason: '审核通过', numbers: ['+8613800000001', '+8613800000002'], displayName: '信鸽',
    logo: Buffer.from('png'), effectiveAt: T0 + 1, expiresAt: T0 + 365 * 86_400_000, pendingOp: null, pendingRequestId: null, pendingBody: null,
    failures: 3, lastError: 'HTTP 502', nextCheckAt: T0 + 60_000, expiryWarnedFor: T0 + 2, updatedAt: T0 + 5,
  };
  s.save(saved);
  t.same(s.get('cid_001'), saved, 'every mutable field saved');
  s.save({ ...saved, id: 'cid_other' });
  t.equal(s.get('cid_other'), undefined, 'save never inserts');
  s.remove('cid_001');
  t.equal(s.get('cid_001'), undefined);
});

contract(t, pgc, 'caller-ID lookups: by number (exact element, client or all), list newest first with paging, due, counts', (t, b) => {
  const s = b.callerId;
  s.insert(reg('cid_001', { numbers: ['+8613800000001', '+8613800000002'], status: 'active' }));
  s.insert(reg('cid_002', { client: 'c2', numbers: ['+8613800000001'], status: 'pending_review', nextCheckAt: T0 + 300 }));
  s.insert(reg('cid_003', { numbers: ['+86138000000011'], status: 'active', nextCheckAt: T0 + 100 }));
  s.insert(reg('cid_004', { numbers: ['+8613800000001'], status: 'revoked', nextCheckAt: T0 + 200 }));
  s.insert(reg('cid_005', { client: 'c2', numbers: [], status: 'submitting', nextCheckAt: T0 + 100 }));
  const ids = (rs: Registration[]) => rs.map((r) => r.id);
  t.same(ids(s.byNumber('+8613800000001', undefined, 10)), ['cid_004', 'cid_002', 'cid_001'], 'every client, newest first; a longer number is not a match');
  t.same(ids(s.byNumber('+8613800000001', 'c1', 10)), ['cid_004', 'cid_001']);
  t.same(ids(s.byNumber('+8613800000001', undefined, 2)), ['cid_004', 'cid_002']);
  t.same(ids(s.byNumber('+8613800000002', 'c2', 10)), []);
  t.same(ids(s.byNumber('+86138', undefined, 10)), [], 'no partial match');
  t.same(ids(s.list(undefined, 10)), ['cid_005', 'cid_004', 'cid_003', 'cid_002', 'cid_001']);
  t.same(ids(s.list('c1', 2)), ['cid_004', 'cid_003']);
  t.same(ids(s.list('c1', 2, 'cid_003')), ['cid_001'], 'the page before an id');
  t.same(ids(s.list('c2', 10, 'cid_002')), []);
  t.same(ids(s.due(T0 + 99, 10)), [], 'nothing due yet');
  t.same(ids(s.due(T0 + 200, 10)).sort(), ['cid_003', 'cid_004', 'cid_005']);
  t.same(s.due(T0 + 1000, 10).map((r) => r.nextCheckAt), [T0 + 100, T0 + 100, T0 + 200, T0 + 300], 'earliest first');
  t.same(s.due(T0 + 1000, 1).map((r) => r.nextCheckAt), [T0 + 100]);
  t.same(s.countByStatus(), { active: 2, pending_review: 1, revoked: 1, submitting: 1 });
});
