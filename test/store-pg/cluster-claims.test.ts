/**
 * Issue 21 (what docs/cluster.md listed as not cluster-safe): the caller-ID poller's due
 * registrations, the SMPP server's outbox and held receipts on a store shared by several
 * nodes. Two store objects on two connections with two node ids stand for two daemons, one
 * injected clock for both:
 * - a due registration / an owed deliver_sm is handed to one node while its claim holds; a
 *   dead node's claim runs out after its lease and the row is handed out again;
 * - a node loads only the receipts it holds; a dead node's are adopted by a live one, once.
 * On SQLite (one node) the claims hand out what due()/pending() do, as before.
 */
import t, { type Test } from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { contract, freshPgDatabase } from '../helpers/store-backends.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { PgCallerIdStore } from '../../src/store/postgres/callerid-store.js';
import { PgSmppOutbox } from '../../src/store/postgres/smpp-outbox.js';
import { PgAuxStore } from '../../src/store/postgres/aux-store.js';
import type { Registration } from '../../src/callerid/store.js';

const pgc = await startTestPostgres(t);
const T0 = 1_780_000_000_000;
const LEASE = 60_000;

function reg(id: string, nextCheckAt: number | null): Registration {
  return {
    id, client: 'c1', cardId: `card-${id}`, status: 'pending_review', reason: null, numbers: ['+8613800000001'], displayName: '信鸽金融',
    industry: 'finance', licenseNo: '91310000MA1FL0000X', contact: 'ops', logo: Buffer.from('png'), effectiveAt: null, expiresAt: null,
    pendingOp: null, pendingRequestId: null, pendingBody: null, failures: 0, lastError: null, nextCheckAt, expiryWarnedFor: null,
    createdAt: T0, updatedAt: T0,
  };
}

const ids = (rs: Array<{ id: string | number }>) => rs.map((r) => r.id);

contract(t, pgc, 'one node: claimDue hands out what due() lists, again on the next pass; claim is granted', (t, b) => {
  const s = b.callerId;
  s.insert(reg('cid_1', T0 + 10));
  s.insert(reg('cid_2', T0 + 5));
  s.insert(reg('cid_3', T0 + 500));
  s.insert(reg('cid_4', null));
  t.same(ids(s.claimDue(T0 + 100, 10, LEASE)), ['cid_2', 'cid_1'], 'due ones, earliest first');
  t.same(ids(s.claimDue(T0 + 100, 10, LEASE)), ['cid_2', 'cid_1'], 'its own claims are this node\'s to take again');
  t.same(ids(s.claimDue(T0 + 100, 1, LEASE)), ['cid_2'], 'limit');
  t.ok(s.claim('cid_3', T0, LEASE));
  s.release('cid_1');
  t.same(ids(s.claimDue(T0 + 1000, 10, LEASE)), ['cid_2', 'cid_1', 'cid_3']);
  t.same(s.get('cid_1'), reg('cid_1', T0 + 10), 'a claim changes nothing a registration reads');
});

contract(t, pgc, 'one node: the SMPP outbox claim hands out what pending() lists; release keeps the row', (t, b) => {
  const o = b.smppOutbox;
  for (let i = 1; i <= 4; i++) o.add('esme1', 'mo', `{"n":${i}}`, T0 + i);
  o.add('esme2', 'mo', '{"n":0}', T0);
  const first = o.claim('esme1', 0, 2, T0, LEASE);
  t.same(first.map((r) => r.body), ['{"n":1}', '{"n":2}']);
  t.same(o.claim('esme1', first[1]!.id, 10, T0, LEASE).map((r) => r.body), ['{"n":3}', '{"n":4}'], 'paging by id');
  o.release(first[0]!.id, T0, 0);
  t.same(o.claim('esme1', 0, 10, T0, LEASE).map((r) => r.body), ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'], 'this node takes its own claims again');
  t.same(o.pending('esme1', 0, 10).length, 4, 'nothing removed');
});

if (pgc !== undefined) {
  /** Two daemons: each its own connection and node id on one database. */
  async function twoNodes(t: Test) {
    const { url, client: setup } = await freshPgDatabase(t, pgc!);
    const node = (nodeId: string) => {
      const client = new PgSyncClient({ url, applicationName: `xinge-test-${nodeId}` });
      t.teardown(() => client.close());
      return { client, callerId: new PgCallerIdStore(client, { nodeId }), outbox: new PgSmppOutbox(client, { nodeId }), aux: new PgAuxStore(client, { nodeId }) };
    };
    return { setup, a: node('node-a'), b: node('node-b') };
  }

  t.test('caller-ID: two nodes taking due registrations in turns never get one twice while its claim holds; all are taken', async (t) => {
    const { a, b } = await twoNodes(t);
    for (let i = 0; i < 60; i++) a.callerId.insert(reg(`cid_${String(i).padStart(3, '0')}`, T0 + (i % 9)));
    const got = { a: [] as string[], b: [] as string[] };
    // What the service does with a registration it polled: next poll in a minute, claim released.
    const done = (n: typeof a, rs: Registration[]) => {
      for (const r of rs) {
        n.callerId.save({ ...r, nextCheckAt: T0 + 100 + 60_000 });
        n.callerId.release(r.id);
      }
    };
    for (let round = 0; round < 20; round++) {
      // Both take before either has polled: the second must not get the first one's.
      const takeA = a.callerId.claimDue(T0 + 100, 4, LEASE);
      const takeB = b.callerId.claimDue(T0 + 100 + round, 3, LEASE);
      t.same(takeA.filter((r) => takeB.some((x) => x.id === r.id)), [], `round ${round}: nothing taken by both`);
      got.a.push(...(ids(takeA) as string[]));
      got.b.push(...(ids(takeB) as string[]));
      done(a, takeA);
      done(b, takeB);
    }
    const all = [...got.a, ...got.b];
    t.equal(new Set(all).size, all.length, 'no registration polled twice');
    t.equal(all.length, 60, 'every due registration polled');
    t.ok(got.a.length > 0 && got.b.length > 0, `both nodes took some (${got.a.length} + ${got.b.length})`);
  });

  t.test('caller-ID: a dead node\'s claims run out after the lease and the registrations are taken again, once', async (t) => {
    const { a, b } = await twoNodes(t);
    for (let i = 0; i < 10; i++) a.callerId.insert(reg(`cid_${i}`, T0));
    const held = ids(a.callerId.claimDue(T0 + 100, 6, LEASE)) as string[];
    t.equal(held.length, 6);
    const rest = ids(b.callerId.claimDue(T0 + 100, 100, LEASE)) as string[];
    t.same([...held, ...rest].sort(), Array.from({ length: 10 }, (_, i) => `cid_${i}`).sort(), 'the other node takes only the rest');
    // Node a dies holding its claims (no release).
    a.client.close();
    t.same(ids(b.callerId.claimDue(T0 + 100 + LEASE - 1, 100, LEASE)).filter((id) => held.includes(id as string)), [], 'not before the lease runs out');
    t.notOk(b.callerId.claim(held[0]!, T0 + 100 + LEASE - 1, LEASE), 'nor for an API operation');
    const taken = ids(b.callerId.claimDue(T0 + 100 + LEASE, 100, LEASE)).filter((id) => held.includes(id as string));
    t.same(taken.sort(), [...held].sort(), 'after it: every registration the dead node held');
  });

  t.test('caller-ID: a released claim is free at once; a claim holds only for its lease; release touches only the node\'s own', async (t) => {
    const { a, b } = await twoNodes(t);
    a.callerId.insert(reg('cid_1', T0));
    t.ok(a.callerId.claim('cid_1', T0, 1000));
    t.notOk(b.callerId.claim('cid_1', T0 + 999, 1000), 'held by node a');
    b.callerId.release('cid_1');
    t.same(ids(b.callerId.claimDue(T0 + 999, 10, 1000)), [], 'node b\'s release does not end node a\'s claim');
    a.callerId.release('cid_1');
    t.same(ids(b.callerId.claimDue(T0 + 999, 10, 1000)), ['cid_1'], 'released: taken by node b at once');
    t.same(ids(a.callerId.claimDue(T0 + 1998, 10, 1000)), [], 'node b holds it until T0 + 999 + 1000');
    t.ok(a.callerId.claim('cid_1', T0 + 1999, 1000), 'expired: node a claims it');
  });

  t.test('SMPP outbox: two nodes draining one account never get a row twice while its claim holds; a dead node\'s rows come again after the lease', async (t) => {
    const { setup, a, b } = await twoNodes(t);
    setup.run(`INSERT INTO smpp_outbox (system_id, kind, body, created_at) SELECT 'legacy', 'mo', '{"n":' || i || '}', ${T0} FROM generate_series(1, 300) i`);
    setup.run(`INSERT INTO smpp_outbox (system_id, kind, body, created_at) VALUES ('other', 'mo', '{}', ${T0})`);
    const got = { a: [] as number[], b: [] as number[] };
    // The forwarder's paging: from the last id seen, batches as big as the free window.
    const after = { a: 0, b: 0 };
    const drain = (n: typeof a, who: 'a' | 'b', limit: number) => {
      const rows = n.outbox.claim('legacy', after[who], limit, T0, LEASE);
      got[who].push(...rows.map((r) => r.id));
      after[who] = rows.at(-1)?.id ?? after[who];
      return rows.length;
    };
    let bDelivered = 0;
    while (drain(a, 'a', 7) + drain(b, 'b', 5) > 0) {
      // Node b delivers what it took (deliver_sm_resp ESME_ROK): removed. Node a keeps its own on its wire.
      for (const id of got.b.splice(0)) {
        b.outbox.remove(id);
        bDelivered++;
      }
    }
    const left = setup.query<{ n: number }>(`SELECT count(*)::int AS n FROM smpp_outbox WHERE system_id = 'legacy'`)[0]!.n;
    t.equal(new Set(got.a).size, got.a.length, 'node a got each of its rows once');
    t.equal(left, got.a.length, 'what is left is exactly what node a holds: node b never got one of them');
    t.equal(got.a.length + bDelivered, 300, 'every row went to one node');
    t.ok(got.a.length > 0 && bDelivered > 0, `both nodes took rows (a ${got.a.length}, b ${bDelivered})`);
    t.same(b.outbox.claim('legacy', 0, 1000, T0 + LEASE - 1, LEASE), [], 'node a\'s rows are not handed to node b within the lease');
    t.same(b.outbox.claim('other', 0, 10, T0, LEASE).length, 1, 'another account is not affected');
    // A timed-out deliver_sm given back (release after 0 ms): node b may send it at once.
    a.outbox.release(got.a[0]!, T0 + 10, 0);
    t.same(ids(b.outbox.claim('legacy', 0, 1000, T0 + 10, LEASE)), [got.a[0]], 'a row given back goes to the other node');
    // A refused one given back for 5 s: not before.
    a.outbox.release(got.a[1]!, T0 + 10, 5000);
    t.same(ids(b.outbox.claim('legacy', 0, 1000, T0 + 5009, LEASE)), [got.a[0]], 'a refused row waits its retry time');
    t.same(ids(b.outbox.claim('legacy', 0, 1000, T0 + 5010, LEASE)), [got.a[0], got.a[1]]);
    // Node a dies: after its lease every row it held is handed to node b, once.
    a.client.close();
    const again = b.outbox.claim('legacy', 0, 1000, T0 + LEASE, LEASE).map((r) => r.id);
    t.same(again.sort((x, y) => x - y), [...got.a].sort((x, y) => x - y), 'the dead node\'s rows, after its lease, in id order, none lost');
    t.same(again, [...again].sort((x, y) => x - y), 'oldest first');
  });

  t.test('held receipts: each node loads its own; a dead node\'s are adopted once, by one live node', async (t) => {
    const { setup, a, b } = await twoNodes(t);
    const hold = (n: typeof a, key: string) => n.aux.insertHeldReceipt({ carrierId: 'c1', keys: [key], body: `{"k":"${key}"}`, receivedAt: T0 });
    const a1 = hold(a, 'A1');
    const a2 = hold(a, 'A2');
    const b1 = hold(b, 'B1');
    // Stored before held_by existed (a single daemon's): nobody's until adopted.
    setup.run(`INSERT INTO held_receipts (carrier_id, keys, body, received_at) VALUES ('c1', 'OLD', '{}', ${T0})`);
    t.same(ids(a.aux.heldReceipts()), [a1, a2], 'node a loads only what it holds');
    t.same(a.aux.heldReceipts()[0], { id: a1, carrierId: 'c1', keys: ['A1'], body: '{"k":"A1"}', receivedAt: T0 });
    t.same(ids(b.aux.heldReceipts()), [b1], 'node b only its own');
    t.same(b.aux.adoptHeldReceipts!(['node-a', 'node-b']).map((r) => r.keys), [['OLD']], 'with both nodes alive: only the ownerless one');
    t.same(a.aux.adoptHeldReceipts!(['node-a', 'node-b']), [], 'adopted once');
    // Node a is gone from the registry: node b takes its receipts over, node a (if it ever comes back) has none.
    const adopted = b.aux.adoptHeldReceipts!(['node-b']);
    t.same(adopted.map((r) => [r.id, r.keys, r.body]), [[a1, ['A1'], '{"k":"A1"}'], [a2, ['A2'], '{"k":"A2"}']]);
    t.same(b.aux.adoptHeldReceipts!(['node-b']), [], 'nothing twice');
    t.same(ids(b.aux.heldReceipts()).length, 4, 'node b holds all four now');
    t.same(a.aux.heldReceipts(), [], 'node a none');
    b.aux.deleteHeldReceipt(a1);
    t.same(setup.query<{ n: number }>('SELECT count(*)::int AS n FROM held_receipts')[0]!.n, 3);
  });
}
