/**
 * Issue 21.1: N daemons started at once on an empty database (a cluster's first start, or a
 * deploy restarting every node) all come up. Each migration is applied by exactly one of them
 * and none fails: CI once saw a daemon of three-daemons.test.ts exit with "42P07: relation
 * store_schema_migrations already exists" because the bookkeeping table was created outside
 * the migration lock.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { childLines } from '../helpers/child-lines.js';
import { PG_STORE_MIGRATIONS, STORE_MIGRATION_LOCK } from '../../src/store/postgres/migrations.js';
import { CLUSTER_MIGRATIONS } from '../../src/cluster/migrations.js';

const here = dirname(fileURLToPath(import.meta.url));
const pgc = await startTestPostgres(t);
const DAEMONS = 4;
const ROUNDS = 3;


interface Outcome {
  store?: number[];
  cluster?: number[];
  error?: string;
}

async function startTogether(t: Test, url: string, whileGoing: () => Promise<void> = async () => {}): Promise<Outcome[]> {
  const children = Array.from({ length: DAEMONS }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'migrator.ts'), url], { stdio: ['pipe', 'pipe', 'inherit'] });
    t.teardown(() => void child.kill('SIGKILL'));
    return { child, next: childLines(child) };
  });
  for (const c of children) t.equal(await c.next(), 'ready');
  for (const c of children) c.child.stdin!.write('go\n');
  await whileGoing();
  return Promise.all(children.map(async (c) => JSON.parse(await c.next()) as Outcome));
}

if (pgc !== undefined) {
  t.test(`${DAEMONS} daemons migrating an empty database at once: all start, each migration applied once`, async (t) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const name = `migrate_at_once_${round}`;
      await pgc.query(`CREATE DATABASE ${name}`);
      const url = pgc.url.replace(/\/[^/]+$/, `/${name}`);
      const got = await startTogether(t, url);
      t.same(got.filter((o) => o.error !== undefined), [], `round ${round}: no daemon failed to migrate`);
      const store = got.flatMap((o) => o.store ?? []).sort((a, b) => a - b);
      const cluster = got.flatMap((o) => o.cluster ?? []).sort((a, b) => a - b);
      t.same(store, PG_STORE_MIGRATIONS.map((_, i) => i + 1), `round ${round}: each store migration applied by exactly one daemon`);
      t.same(cluster, CLUSTER_MIGRATIONS.map((_, i) => i + 1), `round ${round}: each cluster migration applied by exactly one daemon`);
    }
  });

  // The race above is a window of microseconds; this makes it wide. While one daemon holds
  // the migration lock, the others wait for it before they touch the schema at all: the
  // bookkeeping table included.
  t.test('while one daemon holds the migration lock, the others change nothing', async (t) => {
    await pgc.query('CREATE DATABASE migrate_held');
    const url = pgc.url.replace(/\/[^/]+$/, '/migrate_held');
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    t.teardown(() => holder.end());
    await holder.query('BEGIN');
    await holder.query(`SELECT pg_advisory_xact_lock(${STORE_MIGRATION_LOCK})`);
    const got = await startTogether(t, url, async () => {
      for (let i = 0; ; i++) {
        const { rows } = await holder.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
        if (rows[0]!.n === DAEMONS) break;
        if (i > 1000) throw new Error(`only ${rows[0]!.n} of ${DAEMONS} daemons waited for the migration lock`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const { rows } = await holder.query<{ tables: string[] }>(
        `SELECT coalesce(array_agg(relname::text ORDER BY relname), '{}') AS tables FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
      );
      t.same(rows[0]!.tables, [], 'no table created while the lock was held elsewhere');
      await holder.query('COMMIT');
    });
    t.same(got.filter((o) => o.error !== undefined), [], 'every daemon migrated once the lock was free');
    t.same(got.flatMap((o) => o.store ?? []).sort((a, b) => a - b), PG_STORE_MIGRATIONS.map((_, i) => i + 1));
  });
}
