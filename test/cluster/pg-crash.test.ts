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
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth, baseConfigObject, capturingLogger, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { startPgApp } from './fixtures/pg-app.js';

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

if (db) {
  t.test('PostgreSQL killed with SIGKILL while messages are sent and receipts come back: after recovery every message ends delivered', async (t) => {
    await db.query('CREATE DATABASE xinge_crash_flow');
    const url = db.url.replace(/\/[^/]+$/, '/xinge_crash_flow');
    // The SMSC sends a receipt again when the gateway answers it with an error (its store was
    // away), as SMSCs do.
    const sim = new SmscSimulator({ recordLimit: 100000, receipts: { delayMs: 20, retryMs: 500 } });
    await sim.start();
    t.teardown(() => sim.stop());
    const { app, lines } = await startPgApp(t, sim, { url, nodeId: 'crash-flow', carrier: { tps: 400, window: 20 } });
    const acked = new Set<string>();
    for (let n = 1; n <= 2; n++) {
      // Enough to be on the wire and in receipts when the database dies.
      for (let b = 0; b < 10; b++) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/v1/sms/batch',
          headers: auth(),
          payload: { messages: Array.from({ length: 50 }, (_, j) => ({ to: `137${String(n * 1000 + b * 50 + j).padStart(8, '0')}`, text: '您的借款将于明日到期。', category: 'notification' })) },
        });
        t.equal(res.statusCode, 202);
        for (const r of res.json().results as Array<{ id: string }>) acked.add(r.id);
      }
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 400)));
      await db.crash();
    }
    const ids = [...acked];
    const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return await c.query<R>(sql, params);
      } finally {
        await c.end();
      }
    };
    const final = async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE id = ANY($1) AND status = 'delivered'`, [ids])).rows[0]!.n;
    // Segments whose submit_sm_resp could not be written stay `submitting`; the periodic
    // "stale submitting" job sends them again after 60 s (at-least-once). Run it now, once
    // nothing is in flight, instead of waiting a minute.
    const quiet = Date.now() + 30000;
    while (Date.now() < quiet && (app.dispatcher.inFlight() > 0 || (await q<{ n: number }>(`SELECT count(*)::int AS n FROM segments WHERE message_id = ANY($1) AND status = 'queued'`, [ids])).rows[0]!.n > 0)) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500));
    app.dispatcher.requeueStale(1000);
    const deadline = Date.now() + 30000;
    let delivered = await final();
    while (delivered < ids.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      delivered = await final();
    }
    const stuck = await q<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM messages WHERE id = ANY($1) GROUP BY status`, [ids]);
    const segs = await q<{ status: string; n: number }>(`SELECT s.status, count(*)::int AS n FROM segments s WHERE s.message_id = ANY($1) GROUP BY s.status`, [ids]);
    t.equal(delivered, ids.length, `all ${ids.length} delivered after 2 crashes; messages: ${JSON.stringify(stuck.rows)}; segments: ${JSON.stringify(segs.rows)}`);
    t.notOk(lines.some((l) => /"level":50/.test(l) && /unhandled error/.test(l)), 'no unhandled error logged');
  });
}
