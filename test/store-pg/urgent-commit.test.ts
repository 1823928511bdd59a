/**
 * Issue 21.2, the OTP target on PostgreSQL: a verification code's own transaction commits
 * without waiting for the WAL flush (so the dispatcher sends it at once), and its caller is
 * answered only once the WAL is flushed past the code's commit. The other units keep
 * PostgreSQL's durable commit.
 */
import t from 'tap';
import { openStore } from '../../src/store/index.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { freshPgDatabase } from '../helpers/store-backends.js';

const pgc = await startTestPostgres(t, 'xinge_test', { durable: true });
if (pgc !== undefined) {
  t.test('an urgent unit: synchronous_commit off inside, on outside; answered after the WAL is flushed past it', async (t) => {
    const { url } = await freshPgDatabase(t, pgc);
    const store = openStore({ driver: 'postgres', path: '', url, nodeId: 'n1' });
    t.teardown(() => store.close());
    const pg = store.pg!;
    let inside = '';
    let committedAt = '';
    let answered = false;
    const done = store.commit
      .run(
        () => {
          inside = pg.one<{ synchronous_commit: string }>('SHOW synchronous_commit')!.synchronous_commit;
          pg.run("INSERT INTO counters (name, value) VALUES ('urgent-test', 7)");
          return 'ok';
        },
        true,
        // At commit, before the answer: where the WAL ends now (the code's commit record is in it).
        () => (committedAt = pg.one<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')!.lsn),
      )
      .then((v) => ((answered = true), v));
    t.equal(inside, 'off', 'the code\'s own transaction does not wait for the flush');
    t.not(committedAt, '', 'committed (and handed to the dispatcher) before run() returned');
    t.notOk(answered, 'not answered in the same turn');
    t.equal(await done, 'ok');
    const reader = new PgSyncClient({ url });
    t.teardown(() => reader.close());
    const flushedPast = reader.one<{ ok: boolean }>('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS ok', [committedAt])!.ok;
    t.ok(flushedPast, 'the WAL was flushed past the commit before the caller was answered');
    t.equal(pg.one<{ synchronous_commit: string }>('SHOW synchronous_commit')!.synchronous_commit, 'on', 'SET LOCAL: the connection keeps durable commits for the rest');
    t.equal(reader.one<{ value: number }>("SELECT value FROM counters WHERE name = 'urgent-test'")?.value, 7);

    let bulk = '';
    await store.commit.run(() => (bulk = pg.one<{ synchronous_commit: string }>('SHOW synchronous_commit')!.synchronous_commit));
    t.equal(bulk, 'on', 'a group-commit unit commits durably');
  });
}
