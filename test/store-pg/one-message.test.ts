/**
 * Issue 21.2, the OTP target on PostgreSQL: a transaction(…, { oneMessage: true }) reaches
 * PostgreSQL as one query string per message of the main thread (its statements with their
 * parameters written as literals), not one request per statement: a verification code's
 * commit is one round trip between the worker and PostgreSQL, not nine. What it must not
 * change: every kind of value the store writes arrives as written (quotes, backslashes,
 * Chinese text, NULL, bytea, arrays), rows come back in both modes, and a failed statement
 * aborts the whole transaction with its SQLSTATE and leaves nothing written.
 *
 * The requests are counted by a TCP proxy in its own process (this thread blocks on the store).
 */
import t from 'tap';
import fc from 'fast-check';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { StoreError } from '../../src/store/postgres/errors.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { startProxy } from '../cluster/fixtures/proxy-child.js';

const pgc = await startTestPostgres(t);
if (pgc !== undefined) {
  const proxy = await startProxy(t, pgc.port);
  const url = `postgres://postgres@127.0.0.1:${proxy.port}/${pgc.database}`;
  const chunks = async () => Number((await proxy.send('chunks')).split(' ')[1]);
  const c = new PgSyncClient({ url });
  t.teardown(() => c.close());
  c.run(`CREATE TABLE om (id int PRIMARY KEY, t text, n bigint, b bytea, a bigint[], tags text[], bs bytea[])`);
  c.run(`CREATE FUNCTION om_guard(ok boolean) RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF NOT ok THEN RAISE EXCEPTION 'full' USING ERRCODE = 'XG001'; END IF; END $$`);
  const awkward = `它's 验证码 "493817" \\ back\\slash; -- not a comment $1 \n line two`;

  const write = (id: number, oneMessage: boolean) =>
    c.transaction(() => {
      c.defer('SET LOCAL synchronous_commit = off');
      c.transaction(() => {
        c.defer('INSERT INTO om VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          id, awkward, 1_700_000_000_123, Buffer.from([0, 92, 39, 255]), [1, 2, 9_007_199_254_740_991], ['a,b', 'c"d', null], [Buffer.from('AB'), null],
        ]);
        c.defer('SELECT om_guard($1)', [true]);
      });
      return c.deferQuery('SELECT id, t FROM om WHERE id = $1', [id], 'array');
    }, { oneMessage });

  t.test('one request for the whole transaction; every value as written', async (t) => {
    let before = await chunks();
    const rows = write(1, true);
    const one = (await chunks()) - before;
    before = await chunks();
    write(2, false);
    const each = (await chunks()) - before;
    t.equal(one, 1, `one message: ${one} request(s) to PostgreSQL`);
    t.ok(each >= 6, `statement by statement: ${each} requests`);
    t.same(rows.rows, [[1, awkward]], 'deferred rows (array mode) come back');

    const got = c.query<{ id: number; t: string; n: number; b: Buffer; a: number[]; tags: Array<string | null>; bs: Array<Buffer | null> }>('SELECT * FROM om ORDER BY id');
    t.equal(got.length, 2);
    for (const r of got) {
      t.equal(r.t, awkward, `row ${r.id}: text`);
      t.equal(r.n, 1_700_000_000_123, `row ${r.id}: bigint`);
      t.same([...r.b], [0, 92, 39, 255], `row ${r.id}: bytea`);
      t.same(r.a.map(Number), [1, 2, 9_007_199_254_740_991], `row ${r.id}: bigint[]`);
      t.same(r.tags, ['a,b', 'c"d', null], `row ${r.id}: text[]`);
      t.same(r.bs.map((x) => (x === null ? null : Buffer.from(x).toString())), ['AB', null], `row ${r.id}: bytea[]`);
    }
  });

  t.test('object rows, a waited read inside, the connection usable after', async (t) => {
    const out = c.transaction(() => {
      const r = c.query<{ id: number; t: string }>('SELECT id, t FROM om WHERE id = $1', [1]);
      c.defer('UPDATE om SET n = $1 WHERE id = $2', [5, 1]);
      return r;
    }, { oneMessage: true });
    t.same(out, [{ id: 1, t: awkward }]);
    t.equal(c.one<{ n: number }>('SELECT n FROM om WHERE id = 1')?.n, 5);
  });

  t.test('a failed statement aborts the transaction with its SQLSTATE; nothing written; the connection goes on', async (t) => {
    let err: unknown;
    try {
      c.transaction(() => {
        c.defer('INSERT INTO om (id, t) VALUES ($1, $2)', [3, 'x']);
        c.defer('SELECT om_guard($1)', [false]);
        c.defer('INSERT INTO om (id, t) VALUES ($1, $2)', [4, 'y']);
      }, { oneMessage: true });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof StoreError, String(err));
    t.equal((err as StoreError).sqlState, 'XG001');
    t.equal(c.one<{ n: string }>('SELECT count(*)::text AS n FROM om WHERE id IN (3, 4)')?.n, '0', 'rolled back');
    t.equal(c.inTransaction, false);
    t.same(c.query('SELECT id FROM om ORDER BY id', [], 'array'), [[1], [2]], 'the connection works after');
  });

  t.test('the connection lost between two messages of the transaction: COMMIT fails, nothing written', async (t) => {
    const killer = new PgSyncClient({ url: pgc.url });
    t.teardown(() => killer.close());
    let err: unknown;
    try {
      c.transaction(() => {
        c.defer('INSERT INTO om (id, t) VALUES ($1, $2)', [10, 'before the read']);
        const pid = c.one<{ pid: number }>('SELECT pg_backend_pid() AS pid')!.pid;
        killer.run('SELECT pg_terminate_backend($1)', [pid]);
        c.defer('INSERT INTO om (id, t) VALUES ($1, $2)', [11, 'after the read']);
      }, { oneMessage: true });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof StoreError, `the COMMIT failed: ${String(err)}`);
    t.same(c.query('SELECT id FROM om WHERE id IN (10, 11)', [], 'array'), [], 'neither row: the first was rolled back with the connection, the second never committed alone');
  });

  t.test('property: any text and text array written in one message reads back as written', async (t) => {
    c.run('CREATE TABLE prop (id int PRIMARY KEY, t text, tags text[])');
    let id = 0;
    // No U+0000: PostgreSQL text cannot hold it, whichever way it is sent.
    const text = fc.string({ unit: 'binary', maxLength: 60 }).map((x) => x.replace(/\u0000/g, ''));
    fc.assert(
      fc.property(text, fc.array(fc.option(text, { nil: null }), { maxLength: 5 }), (x, tags) => {
        id++;
        c.transaction(() => {
          c.defer('INSERT INTO prop VALUES ($1, $2, $3)', [id, x, tags]);
        }, { oneMessage: true });
        const r = c.one<{ t: string; tags: Array<string | null> }>('SELECT t, tags FROM prop WHERE id = $1', [id])!;
        return r.t === x && JSON.stringify(r.tags) === JSON.stringify(tags);
      }),
      { numRuns: 200 },
    );
    t.equal(c.one<{ n: string }>('SELECT count(*)::text AS n FROM prop')?.n, String(id), `${id} rows, each as written`);
  });
}
