/**
 * Issue 21.2, the OTP target on PostgreSQL: a verification code's send windows (resend_after,
 * per_hour, per_day) are checked inside its own commit's round trip, not by a read of their
 * own before it. A statement in the code's transaction aborts it (SQLSTATE XG001) when a
 * window is full; the daemon then checks again by reading and answers 429 with the window's
 * Retry-After, and nothing of the refused code is written. pg_stat_statements (loaded by this
 * file's PostgreSQL) shows which statements ran.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth } from '../helpers/fixtures.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { waitUntil } from './fixtures/bind-nodes.js';
import { startPgApp } from './fixtures/pg-app.js';

const db = await startTestPostgres(t, 'xinge_test', { settings: ['shared_preload_libraries=pg_stat_statements'] });
if (db) {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const calls = async (like: string): Promise<number> => {
    const r = await db.query<{ n: string }>(`SELECT coalesce(sum(calls), 0)::text AS n FROM pg_stat_statements WHERE query LIKE $1`, [like]);
    return Number(r.rows[0]!.n);
  };

  t.test('a code checks its windows in its own commit; a full window answers 429 and writes nothing', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 100 });
    await sim.start();
    t.teardown(() => sim.stop());
    const { app, lines } = await startPgApp(t, sim, { url: db.url, nodeId: 'guard-node', otp: { resend_after_s: 60, per_hour: 5, per_day: 10 } });
    await db.query('SELECT pg_stat_statements_reset()');

    const send = (to: string) =>
      app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to, text: '您的验证码是493817，5分钟内有效。', category: 'otp' } });
    const first = await send('13900000001');
    t.equal(first.statusCode, 202, first.body);
    await waitUntil(() => sim.accountStats('xinge').submits >= 1, 10000, 'the code at the simulator');
    t.equal(await calls('%xinge_assert_window_room%'), 1, 'its windows were checked by the guard in its commit');
    t.equal(await calls('SELECT at FROM send_log%'), 0, 'not by a read of their own');

    // The same number again at once: resend_after (60 s) is full.
    const second = await send('13900000001');
    t.equal(second.statusCode, 429, second.body);
    t.equal(second.json().error.code, 'otp_rate_limited');
    const retry = Number(second.headers['retry-after']);
    t.ok(retry >= 59 && retry <= 60, `Retry-After ${retry} s (resend_after 60 s)`);
    t.equal(await calls('SELECT at FROM send_log%'), 1, 'the refusal was checked again by reading (for its window and Retry-After)');
    const rows = await db.query<{ messages: string; logged: string }>(
      `SELECT (SELECT count(*) FROM messages WHERE to_number LIKE '%13900000001')::text AS messages, (SELECT count(*) FROM send_log WHERE number LIKE '%13900000001')::text AS logged`);
    t.same(rows.rows[0], { messages: '1', logged: '1' }, 'the refused code wrote nothing');

    // Another number is not held back by it.
    const other = await send('13900000002');
    t.equal(other.statusCode, 202, other.body);
    await waitUntil(() => sim.accountStats('xinge').submits >= 2, 10000, 'the other code at the simulator');
    t.equal(sim.accountStats('xinge').submits, 2, 'two codes sent, the refused one not');
    // A refusal is not a store failure: nothing logged as one.
    t.same(lines.filter((l) => /"level":(50|60)/.test(l)), [], 'no error logged');
  });
}
