/**
 * Issue 21.1/21.5: the webhook outbox on PostgreSQL is claimed by several daemons at once
 * (three processes, each with its own connection): every event goes to exactly one of them,
 * and together they take all the due events.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres } from '../helpers/postgres.js';
import { freshPgDatabase } from '../helpers/store-backends.js';

const here = dirname(fileURLToPath(import.meta.url));
const pgc = await startTestPostgres(t);
const EVENTS = 1500;
const NOW = 10_000;
const LEASE = 60_000;

/** The lines a child prints, one promise per line, in order. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: Array<(l: string) => void> = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)));
  child.once('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w(`exit ${code ?? signal}`);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r)));
}

if (pgc !== undefined) {
  t.test('three daemons claiming the outbox at once: each event to exactly one, all events taken', async (t) => {
    const { url, client } = await freshPgDatabase(t, pgc);
    client.run(`INSERT INTO outbox (id, client, url, body, created_at, next_attempt_at)
      SELECT 'evt_' || lpad(i::text, 6, '0'), 'c1', 'http://127.0.0.1:1/hook', '{}', 1000, 1000 + (i % 7) FROM generate_series(1, ${EVENTS}) i`);
    const children = [0, 1, 2].map(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'outbox-claimer.ts'), url, String(NOW), '5', String(LEASE)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      t.teardown(() => void child.kill('SIGKILL'));
      return { child, next: lines(child) };
    });
    for (const c of children) t.equal(await c.next(), 'ready');
    // All connected: start them together.
    for (const c of children) c.child.stdin!.write('go\n');
    const got = await Promise.all(children.map(async (c) => JSON.parse(await c.next()) as string[]));
    t.comment(`events per daemon: ${got.map((g) => g.length).join(', ')}`);
    const all = got.flat();
    t.equal(new Set(all).size, all.length, 'no event claimed twice');
    t.equal(all.length, EVENTS, 'every due event claimed');
    t.same(client.query('SELECT count(*)::int AS n FROM outbox WHERE next_attempt_at = $1', [NOW + LEASE]), [{ n: EVENTS }], 'each under a lease');
  });
}
