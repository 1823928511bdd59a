/**
 * Issue 21.2, a verification code from POST /v1/otp on PostgreSQL: its transaction (message,
 * send log, code, claim, COMMIT) reaches PostgreSQL as one query, one round trip, as a code
 * sent with POST /v1/sms category otp does. It took three: the supersede of earlier codes
 * waited for its answer, and so did the code's own row. The supersede now runs only when the
 * send log shows a code to that number recent enough to be active (a resend: then the earlier
 * code's message is ended in the same transaction, which reads it).
 *
 * Seen on the wire: a proxy in front of PostgreSQL reads what each store connection sends
 * (PgQueryLog: a simple Query message is one round trip).
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth } from '../helpers/fixtures.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { startProxy } from './fixtures/proxy-child.js';
import type { LoggedQuery } from './fixtures/pg-query-log.js';
import { startPgApp } from './fixtures/pg-app.js';
import { waitUntil } from './fixtures/bind-nodes.js';

const db = await startTestPostgres(t);
if (db) {
  t.test('a code from /v1/otp goes to PostgreSQL in one round trip; a resend supersedes the earlier code', async (t) => {
    const proxy = await startProxy(t, db.port);
    const queries = async (): Promise<LoggedQuery[]> => JSON.parse((await proxy.send('queries')).slice(3)) as LoggedQuery[];
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 100 });
    await sim.start();
    t.teardown(() => sim.stop());
    const url = db.url.replace(`:${db.port}/`, `:${proxy.port}/`);
    const { app } = await startPgApp(t, sim, { url, nodeId: 'otp-trips', otp: { resend_after_s: 1 } });

    const TO = '13900000007';
    const send = async () => {
      await queries();
      const r = await app.http.inject({ method: 'POST', url: '/v1/otp', headers: auth(), payload: { to: TO, purpose: 'login' } });
      t.equal(r.statusCode, 202, r.body);
      const id = r.json().id as string;
      const row = await db.query<{ message_id: string }>('SELECT message_id FROM otps WHERE id = $1', [id]);
      await waitUntil(() => sim.recorder.submits.some((s) => s.destination.endsWith(TO) && sim.recorder.submits.length >= sent + 1), 10000, 'the code at the simulator');
      sent++;
      return { id, messageId: row.rows[0]!.message_id, queries: await queries() };
    };
    let sent = 0;

    const first = await send();
    const firstTx = first.queries.map((q) => q.text).filter((q) => /INSERT INTO otps/.test(q));
    t.equal(firstTx.length, 1, 'the code row went in one query');
    const tx = firstTx[0] ?? '';
    for (const part of [/^BEGIN/, /INSERT INTO messages/, /INSERT INTO send_log/, /INSERT INTO otps/, /WITH picked AS/, /COMMIT$/]) {
      t.match(tx, part, `in that one query: ${part.source}`);
    }
    t.notOk(first.queries.some((q) => /UPDATE otps SET status = 'superseded'/.test(q.text)), 'no earlier code to supersede: no statement for it');

    await new Promise((r) => setTimeout(r, 1100)); // resend_after_s: 1
    const second = await send();
    // The code's transaction: from its BEGIN to its COMMIT, on the connection that sent them
    // (another connection's statements may come in between).
    const begin = second.queries.find((x) => /^BEGIN/.test(x.text) && /INSERT INTO messages/.test(x.text));
    const own = second.queries.filter((q) => q.conn === begin?.conn).map((q) => q.text);
    const from = own.findIndex((x) => /^BEGIN/.test(x) && /INSERT INTO messages/.test(x));
    const to = own.findIndex((x) => /COMMIT$/.test(x) && /INSERT INTO otps/.test(x));
    const txQueries = from >= 0 && to >= from ? own.slice(from, to + 1) : [];
    // The supersede answers which codes it ended; each one's message is canceled if it has not
    // gone out (its segments and row read under lock), else its body purged.
    t.ok(txQueries.length >= 2 && txQueries.length <= 4, `a resend within the ttl: 2 to 4 round trips, the earlier code's message ended in the same transaction (${txQueries.length})`);
    t.match(txQueries[0] ?? '', /UPDATE otps SET status = 'superseded'/, 'the supersede goes with the code\'s first query');

    const codes = await db.query<{ id: string; status: string }>('SELECT id, status FROM otps WHERE to_number LIKE $1 ORDER BY created_at, id', [`%${TO}`]);
    t.same(codes.rows.map((r) => [r.id, r.status]), [[first.id, 'superseded'], [second.id, 'active']], 'the earlier code is superseded, the new one active');
    const verifyOld = await app.http.inject({ method: 'POST', url: '/v1/otp/verify', headers: auth(), payload: { id: first.id, code: '000000' } });
    t.same(verifyOld.json(), { valid: false, reason: 'expired' }, 'the earlier code no longer verifies');
  });
}
