/**
 * Issue 21 against a real PostgreSQL: the cluster schema is applied once when N daemons
 * start at once, and the node registry counts a node gone once it misses heartbeats for
 * its TTL.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { createClusterPool } from '../../src/cluster/db.js';
import { CLUSTER_MIGRATIONS, migrateCluster } from '../../src/cluster/migrations.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { waitFor } from './fixtures/holders.js';

const db = await startTestPostgres(t);
if (db) {
  t.test('six daemons migrating at once apply each migration exactly once', async (t) => {
    const pools = Array.from({ length: 6 }, () => createClusterPool({ url: db.url, max: 1 }));
    t.teardown(() => Promise.all(pools.map((p) => p.end())));
    const results = await Promise.all(pools.map((p) => migrateCluster(p)));
    const applied = results.flatMap((r) => r.applied);
    t.same(applied, CLUSTER_MIGRATIONS.map((_, i) => i + 1), 'every version applied once, by one of them');
    t.ok(results.every((r) => r.version === CLUSTER_MIGRATIONS.length), 'all see the final version');
    const again = await migrateCluster(pools[0]!);
    t.same(again.applied, [], 'a restart applies nothing');
    const tables = await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'cluster_%' ORDER BY 1`);
    t.same(tables.rows.map((r) => r.t), ['cluster_bind_leases', 'cluster_nodes', 'cluster_schema_migrations']);
  });

  t.test('a failing migration is rolled back and reported with a code', async (t) => {
    const pool = createClusterPool({ url: db.url, max: 1 });
    t.teardown(() => pool.end());
    const broken = [...CLUSTER_MIGRATIONS, { name: 'broken', sql: 'CREATE TABLE cluster_half (a int); SELECT no_such_function()' }];
    await t.rejects(migrateCluster(pool, broken), { name: 'ClusterError', code: 'cluster_migration_failed' });
    const half = await db.query(`SELECT 1 FROM pg_tables WHERE tablename = 'cluster_half'`);
    t.equal(half.rowCount, 0, 'nothing of the failed migration remains');
  });

  t.test('a node that misses heartbeats for its TTL counts as gone; one that stops leaves at once', async (t) => {
    const pool = createClusterPool({ url: db.url, max: 2 });
    t.teardown(() => pool.end());
    await migrateCluster(pool);
    const steady = new NodeRegistry({ pool, nodeId: 'steady', ttlMs: 1500 });
    const silent = new NodeRegistry({ pool, nodeId: 'silent', ttlMs: 1500 });
    const leaving = new NodeRegistry({ pool, nodeId: 'leaving', ttlMs: 1500 });
    await steady.start();
    t.teardown(() => steady.stop());
    await leaving.start();
    await silent.heartbeat(); // registers once, then never again
    t.same(await steady.liveNodes(), ['leaving', 'silent', 'steady']);
    await leaving.stop();
    t.same(await steady.liveNodes(), ['silent', 'steady'], 'a node that stops deregisters');
    const waited = await waitFor(async () => !(await steady.liveNodes()).includes('silent'), 15000, 'the silent node to expire');
    t.ok(await steady.liveNodes().then((l) => l.includes('steady')), 'the heartbeating node stays live past the TTL');
    t.comment(`silent node gone after ${waited} ms more (TTL 1500 ms)`);
  });

  t.test('the cluster pool sets the timeouts that keep lease renewals and vacuum healthy', async (t) => {
    const pool = createClusterPool({ url: db.url, max: 1, statementTimeoutMs: 1234, idleInTransactionTimeoutMs: 1500, applicationName: 'xinge-test' });
    t.teardown(() => pool.end());
    const { rows } = await pool.query<{ st: string; iit: string; app: string }>(
      `SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS iit, current_setting('application_name') AS app`,
    );
    t.same(rows[0], { st: '1234ms', iit: '1500ms', app: 'xinge-test' });
    await t.rejects(pool.query('SELECT pg_sleep(3)'), { code: '57014' }, 'a statement past statement_timeout is cancelled by the server');
    const client = await pool.connect();
    await client.query('BEGIN');
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    client.on('error', () => {}); // the server ends this session: expected below
    const ended = await waitFor(async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, 20000, 'the idle transaction to be ended');
    t.comment(`idle-in-transaction session ended after ≈ ${ended} ms (timeout 1500 ms)`);
    client.release(true);
    const lease = await db.query<{ o: string }>(`SELECT array_to_string(reloptions, ',') AS o FROM pg_class WHERE relname = 'cluster_bind_leases'`);
    t.match(lease.rows[0]!.o, /fillfactor=50/, 'the lease table leaves room for HOT renewals');
    t.match(lease.rows[0]!.o, /autovacuum_vacuum_scale_factor=0/, 'and is vacuumed on a row count');
  });

  t.test('a node cannot register without its database: a typed error', async (t) => {
    const pool = createClusterPool({ url: `postgres://postgres:secret@127.0.0.1:1/nope`, max: 1, connectTimeoutMs: 500 });
    t.teardown(() => pool.end());
    const r = new NodeRegistry({ pool, nodeId: 'x', ttlMs: 1000 });
    const err = await r.start().then(() => undefined, (e: unknown) => e as Error & { code?: string });
    t.match(err, { name: 'ClusterError', code: 'cluster_db_unavailable' });
    t.notMatch(err?.message ?? '', /secret/, 'no password in the message');
  });
}
