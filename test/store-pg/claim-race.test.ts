/**
 * Issue 21.1/21.5: the webhook outbox, the MMS queue, the caller-ID poller's due
 * registrations and the SMPP server's outbox on PostgreSQL are claimed by several daemons at
 * once (three processes, each with its own connection and node id): every row goes to
 * exactly one of them, and together they take all that is due.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres } from '../helpers/postgres.js';
import { childLines } from '../helpers/child-lines.js';
import { freshPgDatabase } from '../helpers/store-backends.js';

const here = dirname(fileURLToPath(import.meta.url));
const pgc = await startTestPostgres(t);
const ROWS = 1500;
const NOW = 10_000;
const LEASE = 60_000;


/** Three claimer processes started together; the ids each claimed. */
async function race(t: Test, what: 'outbox' | 'mms' | 'callerid' | 'smpp', url: string): Promise<string[][]> {
  const children = [0, 1, 2].map(() => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'claimer.ts'), what, url, String(NOW), '5', String(LEASE)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    return { child, next: childLines(child) };
  });
  for (const c of children) t.equal(await c.next(), 'ready');
  // All connected: start them together.
  for (const c of children) c.child.stdin!.write('go\n');
  const got = await Promise.all(children.map(async (c) => JSON.parse(await c.next()) as string[]));
  t.comment(`${what}: rows per daemon: ${got.map((g) => g.length).join(', ')}`);
  return got;
}

if (pgc !== undefined) {
  t.test('three daemons claiming the outbox at once: each event to exactly one, all events taken', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    client.run(`INSERT INTO outbox (id, client, url, body, created_at, next_attempt_at)
      SELECT 'evt_' || lpad(i::text, 6, '0'), 'c1', 'http://127.0.0.1:1/hook', '{}', 1000, 1000 + (i % 7) FROM generate_series(1, ${ROWS}) i`);
    const all = (await race(t, 'outbox', url)).flat();
    t.equal(new Set(all).size, all.length, 'no event claimed twice');
    t.equal(all.length, ROWS, 'every due event claimed');
    t.same(client.query('SELECT count(*)::int AS n FROM outbox WHERE next_attempt_at = $1', [NOW + LEASE]), [{ n: ROWS }], 'each under a lease');
  });

  t.test('three daemons claiming due MMS at once: each MMS to exactly one, all taken', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    client.run(`INSERT INTO mms_messages (id, client, category, status, to_number, mmsc_id, size_bytes, due_at, send_at, expires_at, created_at)
      SELECT 'msg_' || lpad(i::text, 6, '0'), 'c1', 'notification', CASE WHEN i % 2 = 0 THEN 'queued' ELSE 'scheduled' END, '+8613800000001',
        'mmsc1', 100, 1000 + (i % 7), 1000, 999999999, 1000 FROM generate_series(1, ${ROWS}) i`);
    const all = (await race(t, 'mms', url)).flat();
    t.equal(new Set(all).size, all.length, 'no MMS claimed twice');
    t.equal(all.length, ROWS, 'every due MMS claimed');
    t.same(client.query(`SELECT count(*)::int AS n FROM mms_messages WHERE status = 'submitting'`), [{ n: ROWS }]);
  });

  t.test('three daemons polling caller-ID registrations at once: each registration to exactly one, all taken', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    client.run(`INSERT INTO callerid_registrations (id, client, status, numbers, display_name, industry, license_no, contact, logo,
        next_check_at, created_at, updated_at)
      SELECT 'cid_' || lpad(i::text, 6, '0'), 'c1', 'pending_review', '[]', 'x', 'finance', 'L', 'ops', '\\x00'::bytea, 1000 + (i % 7), 1000, 1000
      FROM generate_series(1, ${ROWS}) i`);
    const all = (await race(t, 'callerid', url)).flat();
    t.equal(new Set(all).size, all.length, 'no registration polled twice');
    t.equal(all.length, ROWS, 'every due registration taken');
    t.same(client.query('SELECT count(DISTINCT claimed_by)::int AS n FROM callerid_registrations WHERE claim_until = $1', [NOW + LEASE]), [{ n: 3 }],
      'each under a lease of the daemon that took it');
  });

  t.test('three daemons draining one ESME\'s SMPP outbox at once: each deliver_sm to exactly one, all taken', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    client.run(`INSERT INTO smpp_outbox (system_id, kind, body, created_at) SELECT 'legacy', 'mo', '{}', 1000 FROM generate_series(1, ${ROWS}) i`);
    const all = (await race(t, 'smpp', url)).flat();
    t.equal(new Set(all).size, all.length, 'no row handed to two daemons');
    t.equal(all.length, ROWS, 'every row taken');
    t.same(client.query('SELECT count(DISTINCT claimed_by)::int AS n, count(*)::int AS rows FROM smpp_outbox WHERE claim_until = $1', [NOW + LEASE]), [{ n: 3, rows: ROWS }]);
  });
}
