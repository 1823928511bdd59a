/**
 * Issue 21.1: SmppOutboxStore as a contract on SQLite and PostgreSQL: the deliver_sm owed to
 * downstream ESMEs (paging per account, attempts, counts), the per-message cut and receipt
 * request, multipart parts (duplicates, order, stale ones); and on PostgreSQL, two daemons
 * holding parts of one multipart agree on its message id.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres } from '../helpers/postgres.js';
import { contract, freshPgDatabase } from '../helpers/store-backends.js';
import { PgSmppOutbox } from '../../src/store/postgres/smpp-outbox.js';

const here = dirname(fileURLToPath(import.meta.url));
const pgc = await startTestPostgres(t);
const T0 = 1_780_000_000_000;

contract(t, pgc, 'deliver_sm outbox: pending per account in id order with paging, attempts, remove, counts', (t, b) => {
  const o = b.smppOutbox;
  t.same(o.pending('esme1', 0, 10), []);
  t.same([...o.counts()], []);
  o.add('esme1', 'receipt', '{"id":"msg_1","stat":"DELIVRD"}', T0);
  o.add('esme2', 'mo', '{"text":"你好"}', T0 + 1);
  o.add('esme1', 'mo', '{"text":"退订"}', T0 + 2);
  o.add('esme1', 'receipt', '{"id":"msg_2"}', T0 + 3);
  const first = o.pending('esme1', 0, 2);
  t.same(first.map((r) => [r.systemId, r.kind, r.body, r.createdAt, r.attempts]), [
    ['esme1', 'receipt', '{"id":"msg_1","stat":"DELIVRD"}', T0, 0],
    ['esme1', 'mo', '{"text":"退订"}', T0 + 2, 0],
  ]);
  t.ok(first[0]!.id < first[1]!.id, 'oldest first');
  const next = o.pending('esme1', first[1]!.id, 2);
  t.same(next.map((r) => r.body), ['{"id":"msg_2"}'], 'the page after the last id');
  t.same(o.pending('esme1', next[0]!.id, 2), []);
  t.same(o.pending('esme1', 0, -1).length, 3, 'a negative limit: no limit (as SQLite reads it)');
  t.same(o.counts(), new Map([['esme1', 3], ['esme2', 1]]));
  o.attempted(first[0]!.id);
  o.attempted(first[0]!.id);
  t.equal(o.pending('esme1', 0, 1)[0]!.attempts, 2);
  o.remove(first[0]!.id);
  o.remove(first[0]!.id);
  t.same(o.pending('esme1', 0, 10).map((r) => r.id), [first[1]!.id, next[0]!.id]);
  t.same(o.counts(), new Map([['esme1', 2], ['esme2', 1]]));
  const e2 = o.pending('esme2', 0, 10)[0]!;
  o.remove(e2.id);
  t.same(o.counts(), new Map([['esme1', 2]]), 'an account with nothing owed is not counted');
});

contract(t, pgc, 'kept messages: cuts and receipt requests replaced, read, taken once', (t, b) => {
  const o = b.smppOutbox;
  t.equal(o.getCuts('msg_x'), undefined);
  t.equal(o.takeMessage('msg_x'), undefined);
  o.keepMessage('msg_1', [67, 134], 1);
  o.keepMessage('msg_2', undefined, 3);
  t.same(o.getCuts('msg_1'), [67, 134]);
  t.equal(o.getCuts('msg_2'), undefined, 'no cut');
  o.keepMessage('msg_1', [70], 2);
  t.same(o.getCuts('msg_1'), [70], 'kept again: replaced');
  t.same(o.takeMessage('msg_1'), { cuts: [70], receipts: 2 });
  t.equal(o.takeMessage('msg_1'), undefined, 'taken once');
  t.equal(o.getCuts('msg_1'), undefined);
  t.same(o.takeMessage('msg_2'), { cuts: undefined, receipts: 3 });
});

contract(t, pgc, 'multipart parts: the first part names the whole, duplicates ignored, parts in sequence order, stale ones, drop', (t, b) => {
  const o = b.smppOutbox;
  t.same(o.addPart('esme1|+86138|42', 2, 3, '世界', 'msg_A', T0 + 10), { messageId: 'msg_A', added: true, parts: ['世界'] });
  t.same(o.addPart('esme1|+86138|42', 1, 3, '你好', 'msg_B', T0 + 20), { messageId: 'msg_A', added: true, parts: ['你好', '世界'] }, 'a later part joins the first one\'s id');
  t.same(o.addPart('esme1|+86138|42', 1, 3, 'DUP', 'msg_C', T0 + 30), { messageId: 'msg_A', added: false, parts: ['你好', '世界'] }, 'a duplicate changes nothing');
  t.same(o.addPart('esme2|+86139|42', 1, 2, 'x', 'msg_D', T0 + 40), { messageId: 'msg_D', added: true, parts: ['x'] }, 'another key, another whole');
  t.same(o.addPart('esme1|+86138|42', 3, 3, '!', 'msg_E', T0 + 50), { messageId: 'msg_A', added: true, parts: ['你好', '世界', '!'] });
  const stale = (before: number) => o.staleParts(before).sort((x, y) => (x.key < y.key ? -1 : 1));
  t.same(stale(T0 + 10), [], 'by the first part\'s time: not before it');
  t.same(stale(T0 + 11), [{ key: 'esme1|+86138|42', messageId: 'msg_A' }]);
  t.same(stale(T0 + 41), [{ key: 'esme1|+86138|42', messageId: 'msg_A' }, { key: 'esme2|+86139|42', messageId: 'msg_D' }]);
  o.dropParts('esme1|+86138|42');
  t.same(stale(T0 + 1000), [{ key: 'esme2|+86139|42', messageId: 'msg_D' }]);
  t.same(o.addPart('esme1|+86138|42', 1, 3, 'again', 'msg_F', T0 + 60), { messageId: 'msg_F', added: true, parts: ['again'] }, 'dropped: a new whole');
});

if (pgc !== undefined) {
  t.test('[postgres] two daemons with parts of one multipart: the second waits for the first and joins its message id', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    // Daemon A stores part 2 and keeps its transaction open a while.
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'part-holder.ts'), url, 'k|+86138|7', '2', '2', 'B-part', 'msg_first', '1500'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const a = JSON.parse((await out.next()).value as string) as unknown;
    t.same(a, { messageId: 'msg_first', added: true, parts: ['B-part'] });
    // A has not committed: without the lock this daemon would not see A's part and would
    // start a second whole (msg_second) of one part.
    const b = new PgSmppOutbox(client).addPart('k|+86138|7', 1, 2, 'A-part', 'msg_second', 1001);
    t.same(b, { messageId: 'msg_first', added: true, parts: ['A-part', 'B-part'] });
    t.equal((await out.next()).value, 'committed');
  });
}
