/**
 * Issue 21.2 (the OTP target on PostgreSQL): an urgent unit commits in the caller's turn, in
 * its own transaction, through the urgent transactor; the dispatcher may act at its commit,
 * the caller is answered once `durable` resolves. From inside a transaction it waits for the
 * end of the turn as before (it must not nest in someone else's transaction).
 */
import t from 'tap';
import { GroupCommit, type UrgentTransactor } from '../../src/store/group-commit.js';

/** Two transactors on one connection (one transaction depth), logging what they do. */
function transactors() {
  const log: string[] = [];
  let depth = 0;
  const waiting: Array<() => void> = [];
  const logged = (name: string) => ({
    transaction: <T>(fn: () => T): T => {
      log.push(`${name}-begin`);
      depth++;
      try {
        return fn();
      } finally {
        depth--;
        log.push(`${name}-commit`);
      }
    },
    get inTransaction() {
      return depth > 0;
    },
  });
  const bulk = logged('bulk');
  const urgent: UrgentTransactor = Object.assign(logged('urgent'), {
    durable: () => new Promise<void>((r) => waiting.push(() => (log.push('durable'), r()))),
  });
  return { log, bulk, urgent, release: () => waiting.splice(0).forEach((f) => f()) };
}

t.test('an urgent unit commits before run() returns, through the urgent transactor; answered after durable', async (t) => {
  const { log, bulk, urgent, release } = transactors();
  const gc = new GroupCommit(bulk, { urgentNow: urgent });
  let answered = false;
  const p = gc.run(() => (log.push('unit'), 42), true, () => log.push('on-committed')).then((v) => ((answered = true), v));
  t.same(log, ['urgent-begin', 'unit', 'urgent-commit', 'on-committed'], 'committed and acted on in the caller\'s turn');
  await new Promise((r) => setImmediate(r));
  t.notOk(answered, 'not answered before the commit is durable');
  release();
  t.equal(await p, 42);
  t.equal(log.at(-1), 'durable');
});

t.test('bulk units still wait for the tick; an urgent unit from inside a transaction waits for the end of the turn', async (t) => {
  const { log, bulk, urgent } = transactors();
  const gc = new GroupCommit(bulk, { urgentNow: urgent });
  const bulkDone = gc.run(() => {
    log.push('bulk-unit');
    // Issued from inside the group's transaction: must not open a transaction of its own here.
    void gc.run(() => log.push('nested-urgent'), true);
  });
  t.same(log, [], 'a bulk unit waits for the tick');
  await bulkDone;
  t.same(log.slice(0, 3), ['bulk-begin', 'bulk-unit', 'bulk-commit']);
  await new Promise((r) => setImmediate(r));
  t.same(log.slice(3), ['bulk-begin', 'nested-urgent', 'bulk-commit'], 'the nested urgent unit ran at the end of the turn, in the group\'s transactor');
});

t.test('an urgent unit that throws is refused alone and leaves no transaction open', async (t) => {
  const { bulk, urgent, release } = transactors();
  const gc = new GroupCommit(bulk, { urgentNow: urgent });
  const refused = gc.run(() => {
    throw new Error('refused by policy');
  }, true);
  release();
  await t.rejects(refused, /refused by policy/);
  t.equal(urgent.inTransaction, false);
  const ok = gc.run(() => 'next', true);
  release();
  t.equal(await ok, 'next');
});

t.test('without urgentNow (SQLite), an urgent unit commits at the end of the turn', async (t) => {
  const { log, bulk } = transactors();
  const gc = new GroupCommit(bulk);
  const p = gc.run(() => log.push('unit'), true);
  t.same(log, [], 'not yet');
  await p;
  t.same(log, ['bulk-begin', 'unit', 'bulk-commit']);
});
