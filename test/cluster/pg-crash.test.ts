/**
 * kill -9 of PostgreSQL in a loop while the daemon accepts (SPEC 13 on the cluster store;
 * issue 21.8, what a database failure does to intake). Three times, every process of the
 * database (durable: fsync and synchronous_commit on, as in production) is killed with
 * SIGKILL while clients post batches and verification codes, and PostgreSQL recovers from its
 * WAL. Every message answered 202 is in the database afterwards: the batches' commits and the
 * codes' own (committed with synchronous_commit off, answered only after a durable write
 * behind them) alike. Requests caught by the crash answer 503 store_unavailable or 202, never
 * 500, and the daemon accepts again without a restart.
 */
import t from 'tap';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth, baseConfigObject, capturingLogger, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';

const CRASHES = 3;
const db = await startTestPostgres(t, 'xinge_crash', { durable: true });
if (db) {
  t.test(`PostgreSQL killed with SIGKILL ${CRASHES} times under intake: every 202 is in the database after recovery`, async (t) => {
    const dir = tempDir(t);
    // The carrier is unreachable: accepted messages stay queued, so the store holds them all.
    const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1 }]);
    obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url: db.url };
    obj.cluster = { node_id: 'crash-node', statement_timeout_ms: 2000 };
    const { logger, lines } = capturingLogger('warn');
    const app = buildApp({ config: makeConfig(obj), logger, ...realConnectors() });
    t.teardown(() => app.drain().catch(() => undefined));
    await app.start();

    const acked = new Set<string>();
    const codes = new Set<string>();
    const answers = new Map<number, number>();
    let stop = false;
    let k = 0;
    const client = async (c: number) => {
      while (!stop) {
        const i = k++;
        const otp = c % 2 === 0;
        const res = otp
          ? await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: `139${String(i).padStart(8, '0')}`, text: `您的验证码是${String(100000 + (i % 900000))}，5分钟内有效。`, category: 'otp' } })
          : await app.http.inject({
              method: 'POST',
              url: '/v1/sms/batch',
              headers: auth(),
              payload: { messages: Array.from({ length: 20 }, (_, j) => ({ to: `138${String(i * 20 + j).padStart(8, '0')}`, text: '您的借款将于明日到期。', category: 'notification' })) },
            });
        answers.set(res.statusCode, (answers.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode === 202) {
          if (otp) {
            acked.add(res.json().id as string);
            codes.add(res.json().id as string);
          } else for (const r of res.json().results as Array<{ id?: string }>) if (r.id !== undefined) acked.add(r.id);
        } else if (res.statusCode !== 503 && res.statusCode !== 429) throw new Error(`answered ${res.statusCode}: ${res.body} ${lines.filter((l) => /"level":50/.test(l)).slice(-3).join("\n")}`);
        else if (res.statusCode === 503) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const clients = Array.from({ length: 6 }, (_, c) => client(c));
    for (let n = 1; n <= CRASHES; n++) {
      const before = acked.size;
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 600)));
      await db.crash();
      t.ok(acked.size > before, `crash ${n}: ${acked.size - before} accepted since the last one`);
      // Accepting again, without a restart of the daemon.
      const since = acked.size;
      const deadline = Date.now() + 20000;
      while (acked.size === since && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      t.ok(acked.size > since, `crash ${n}: accepting again after the recovery`);
    }
    stop = true;
    await Promise.all(clients);
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(answers))}`);
    t.ok((answers.get(503) ?? 0) > 0, 'requests caught by the crashes answered 503');

    const ids = [...acked];
    const stored = await db.query<{ id: string }>('SELECT id FROM messages WHERE id = ANY($1)', [ids]);
    const have = new Set(stored.rows.map((r) => r.id));
    const lost = ids.filter((id) => !have.has(id));
    t.same(lost.slice(0, 5), [], `all ${ids.length} messages answered 202 (${codes.size} of them codes) survived ${CRASHES} crashes`);
    t.notOk(lines.some((l) => /"level":50/.test(l) && /unhandled error/.test(l)), 'no unhandled error logged');
  });
}
