/**
 * Issue 21.1: the PostgreSQL store's synchronous client (a worker thread owns the connection,
 * the main thread waits on Atomics): rows and counts, bytea as Buffer, deferred statements
 * and their errors, transactions rolled back with a dropped connection, and a server that
 * goes away answered with a typed error instead of a hang.
 */
import t from 'tap';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { StoreError } from '../../src/store/postgres/errors.js';
import { startTestPostgres } from '../helpers/postgres.js';

const pgc = await startTestPostgres(t);
if (pgc !== undefined) {
  t.test('rows, counts, int8 as numbers, bytea as Buffer, array rows', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE kv (k text PRIMARY KEY, n bigint, b bytea)');
    t.equal(c.run('INSERT INTO kv VALUES ($1, $2, $3), ($4, $5, $6)', ['a', 1_700_000_000_123, Buffer.from([1, 2, 3]), 'b', 2, null]), 2);
    const rows = c.query<{ k: string; n: number; b: Buffer | null }>('SELECT k, n, b FROM kv ORDER BY k');
    t.same(rows.map((r) => [r.k, r.n]), [['a', 1_700_000_000_123], ['b', 2]]);
    t.equal(typeof rows[0]!.n, 'number');
    t.ok(Buffer.isBuffer(rows[0]!.b), 'bytea is a Buffer');
    t.same([...rows[0]!.b!], [1, 2, 3]);
    t.same(c.query('SELECT k, n FROM kv ORDER BY k', [], 'array'), [['a', 1_700_000_000_123], ['b', 2]]);
    t.equal(c.one('SELECT k FROM kv WHERE k = $1', ['zz']), undefined);
  });

  t.test('deferred statements run in order with the next wait; their error is thrown there and rolls the transaction back', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE d (id int PRIMARY KEY)');
    let before = c.waits;
    c.transaction(() => {
      c.defer('INSERT INTO d VALUES (1)');
      c.defer('INSERT INTO d VALUES (2)');
      t.same(c.query('SELECT id FROM d ORDER BY id', [], 'array'), [[1], [2]]);
      t.equal(c.waits - before, 1, 'in a transaction: BEGIN, two inserts and a select in one round trip');
    });
    before = c.waits;
    c.defer('INSERT INTO d VALUES (5)');
    t.equal(c.waits - before, 1, 'outside a transaction a deferred statement is sent at once');
    c.run('DELETE FROM d WHERE id = 5');
    t.throws(() =>
      c.transaction(() => {
        c.defer('INSERT INTO d VALUES (3)');
        c.defer('INSERT INTO d VALUES (1)'); // duplicate key
        const err = t.throws(() => c.query('SELECT 1')) as StoreError;
        t.equal(err.code, 'store_conflict');
        t.equal(err.sqlState, '23505');
        t.match(err.message, /deferred/);
        t.throws(() => c.run('INSERT INTO d VALUES (4)'), /aborted/, 'the transaction is aborted');
        throw err;
      }),
    );
    t.equal(c.inTransaction, false);
    t.same(c.query('SELECT id FROM d ORDER BY id', [], 'array'), [[1], [2]], 'nothing of the failed transaction kept');
  });

  t.test('a terminated backend: the open transaction is lost (rolled back), the next statement reconnects', async (t) => {
    const c = new PgSyncClient({ url: pgc.url, applicationName: 'xinge-kill-me' });
    t.teardown(() => c.close());
    c.run('CREATE TABLE k (id int)');
    c.run('BEGIN');
    c.run('INSERT INTO k VALUES (1)');
    await pgc.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'xinge-kill-me'`);
    const err = t.throws(() => c.run('COMMIT')) as StoreError;
    t.equal(err.code, 'store_unavailable', err.message);
    t.same(c.query('SELECT count(*)::int AS n FROM k'), [{ n: 0 }], 'reconnected; the insert was rolled back');
  });

  t.test('statement_timeout: a statement stuck behind a lock fails with a typed error', async (t) => {
    const c = new PgSyncClient({ url: pgc.url, statementTimeoutMs: 300 });
    t.teardown(() => c.close());
    c.run('CREATE TABLE lk (id int)');
    const holder = new PgSyncClient({ url: pgc.url });
    t.teardown(() => holder.close());
    holder.run('BEGIN');
    holder.run('LOCK TABLE lk IN ACCESS EXCLUSIVE MODE');
    const err = t.throws(() => c.query('SELECT * FROM lk')) as StoreError;
    t.equal(err.code, 'store_unavailable');
    t.equal(err.sqlState, '57014');
    holder.run('ROLLBACK');
    t.same(c.query('SELECT count(*)::int AS n FROM lk'), [{ n: 0 }]);
  });

  t.test('an unreachable server: a typed error, no password in it, and no hang', async (t) => {
    const c = new PgSyncClient({ url: 'postgres://u:s3cret@127.0.0.1:1/x', connectTimeoutMs: 500 });
    t.teardown(() => c.close());
    const err = t.throws(() => c.query('SELECT 1')) as StoreError;
    t.equal(err.code, 'store_unavailable');
    t.notMatch(err.message, /s3cret/);
    c.close();
    t.throws(() => c.query('SELECT 1'), { code: 'store_closed' });
  });
}

if (pgc !== undefined) {
  t.test('transaction: commit, nested savepoint rolled back alone, a caught statement error fails the COMMIT', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE tx (id int PRIMARY KEY)');
    c.transaction(() => {
      c.defer('INSERT INTO tx VALUES (1)');
      t.throws(() =>
        c.transaction(() => {
          c.run('INSERT INTO tx VALUES (2)');
          throw new Error('unit fails after writing');
        }),
      );
      c.transaction(() => c.defer('INSERT INTO tx VALUES (3)'));
      t.throws(() => c.transaction(() => { c.defer('INSERT INTO tx VALUES (9)'); throw new Error('fails before anything was sent'); }));
    });
    t.same(c.query('SELECT id FROM tx ORDER BY id', [], 'array'), [[1], [3]], 'the failed savepoints left nothing');
    t.equal(c.inTransaction, false);
    const err = t.throws(() =>
      c.transaction(() => {
        c.run('INSERT INTO tx VALUES (4)');
        try {
          c.run('INSERT INTO tx VALUES (1)');
        } catch {
          /* a caller that swallows the error */
        }
      }),
    ) as StoreError;
    t.equal(err.code, 'store_failed');
    t.match(err.message, /rolled back/);
    t.throws(() => c.transaction(() => c.defer('INSERT INTO tx VALUES (3)')), { code: 'store_conflict' }, 'a deferred error fails the COMMIT');
    t.same(c.query('SELECT id FROM tx ORDER BY id', [], 'array'), [[1], [3]], 'neither failed transaction left a row, and the connection is usable');
  });
}

if (pgc !== undefined) {
  t.test('deferRow: consecutive rows become one statement; a rolled-back savepoint drops exactly its rows', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE br (id int PRIMARY KEY, v text)');
    const build = (rows: unknown[][]) => ({ sql: 'INSERT INTO br SELECT * FROM unnest($1::int[], $2::text[])', params: [rows.map((r) => r[0]), rows.map((r) => r[1])] });
    const before = c.statements;
    c.transaction(() => {
      for (let i = 1; i <= 3; i++) c.deferRow('br', [i, `中文${i}`], build);
      t.throws(() =>
        c.transaction(() => {
          c.deferRow('br', [10, 'x'], build);
          c.deferRow('br', [11, 'y'], build);
          throw new Error('the unit fails');
        }),
      );
      c.transaction(() => c.deferRow('br', [20, 'z'], build));
      c.deferRow('br', [4, 'after'], build);
    });
    t.same(c.query('SELECT id, v FROM br ORDER BY id', [], 'array'), [[1, '中文1'], [2, '中文2'], [3, '中文3'], [4, 'after'], [20, 'z']]);
    // BEGIN, rows 1-3, SAVEPOINT, row 20, RELEASE, row 4, COMMIT (the failed savepoint was
    // never sent), then the SELECT.
    t.equal(c.statements - before, 8, 'three rows in one statement');
    c.deferRow('br', [30, 'now'], build);
    t.same(c.one('SELECT v FROM br WHERE id = 30', [], 'array'), ['now'], 'outside a transaction a row is written at once');
  });
}

if (pgc !== undefined) {
  t.test('transactionAsync: the COMMIT is not waited for; it settles later, in order with what follows on the client', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    const other = new PgSyncClient({ url: pgc.url });
    t.teardown(() => (c.close(), other.close()));
    c.run('CREATE TABLE ta (id int PRIMARY KEY)');
    const waitsBefore = c.waits;
    // The writes and a 1 s statement go with the COMMIT, after fn returns.
    const p = c.transactionAsync(() => {
      c.defer('INSERT INTO ta VALUES (1)');
      c.defer('SELECT pg_sleep(1)');
      return 'done';
    });
    t.equal(c.waits, waitsBefore, 'nothing was waited for');
    t.equal(other.one('SELECT count(*)::int AS n FROM ta')?.n, 0, 'not committed yet while the main thread goes on');
    t.equal(await p, 'done', 'settled when PostgreSQL answered, with no statement waiting for it');
    t.equal(other.one('SELECT count(*)::int AS n FROM ta')?.n, 1, 'committed');

    // A statement that waits, sent while a commit is out: runs after it, on the same connection.
    let settled = false;
    const q = c.transactionAsync(() => c.defer('INSERT INTO ta VALUES (2)')).then(() => (settled = true));
    t.same(c.query('SELECT id FROM ta ORDER BY id', [], 'array'), [[1], [2]], 'the waiting statement saw the commit sent before it');
    await q;
    t.ok(settled);
  });

  t.test('transactionAsync: a failed statement rejects it, and the connection is not left in an aborted transaction', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE tf (id int PRIMARY KEY)');
    c.run('INSERT INTO tf VALUES (1)');
    const p = c.transactionAsync(() => {
      c.defer('INSERT INTO tf VALUES (2)');
      c.defer('INSERT INTO tf VALUES (1)'); // duplicate key
    });
    // Posted before the failure is known: must not run inside the aborted transaction.
    const n = c.one<{ n: number }>('SELECT count(*)::int AS n FROM tf')?.n;
    await t.rejects(p, { code: 'store_conflict' });
    t.equal(n, 1, 'the failed transaction was rolled back as a whole, and the next statement ran outside it');
    t.equal(c.inTransaction, false);
    await c.transactionAsync(() => c.defer('INSERT INTO tf VALUES (3)'));
    t.same(c.query('SELECT id FROM tf ORDER BY id', [], 'array'), [[1], [3]]);
  });

  t.test('transactionAsync: fn that throws rejects before anything is sent; nested in a transaction it is a savepoint', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    t.teardown(() => c.close());
    c.run('CREATE TABLE tn (id int PRIMARY KEY)');
    const before = c.statements;
    await t.rejects(c.transactionAsync(() => {
      c.defer('INSERT INTO tn VALUES (1)');
      throw new Error('refused');
    }), /refused/);
    t.equal(c.statements, before, 'nothing of it reached PostgreSQL');
    c.transaction(() => {
      void c.transactionAsync(() => c.defer('INSERT INTO tn VALUES (5)'));
      c.defer('INSERT INTO tn VALUES (6)');
    });
    t.same(c.query('SELECT id FROM tn ORDER BY id', [], 'array'), [[5], [6]]);
  });

  t.test('transactionAsync: the backend killed while the commit is out rejects it (store_unavailable); the client reconnects', async (t) => {
    const c = new PgSyncClient({ url: pgc.url, applicationName: 'xinge-async-victim' });
    const admin = new PgSyncClient({ url: pgc.url });
    t.teardown(() => (c.close(), admin.close()));
    c.run('CREATE TABLE tk (id int PRIMARY KEY)');
    const p = c.transactionAsync(() => {
      c.defer('INSERT INTO tk VALUES (1)');
      c.defer('SELECT pg_sleep(5)');
    });
    await new Promise((r) => setTimeout(r, 300));
    admin.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'xinge-async-victim'");
    await t.rejects(p, { code: 'store_unavailable' });
    t.equal(admin.one<{ n: number }>('SELECT count(*)::int AS n FROM tk')?.n, 0, 'nothing of it committed');
    c.run('INSERT INTO tk VALUES (2)');
    t.equal(admin.one<{ n: number }>('SELECT count(*)::int AS n FROM tk')?.n, 1, 'the next statement runs on a new connection');
  });

  t.test('close() with a commit out: the commit is answered first', async (t) => {
    const c = new PgSyncClient({ url: pgc.url });
    const other = new PgSyncClient({ url: pgc.url });
    t.teardown(() => other.close());
    c.run('CREATE TABLE tc (id int PRIMARY KEY)');
    const p = c.transactionAsync(() => {
      c.defer('SELECT pg_sleep(0.2)');
      c.defer('INSERT INTO tc VALUES (1)');
    });
    c.close();
    await p;
    t.equal(other.one<{ n: number }>('SELECT count(*)::int AS n FROM tc')?.n, 1);
  });
}
