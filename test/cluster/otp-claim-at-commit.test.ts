/**
 * Issue 21.2, the OTP target on PostgreSQL: a verification code's claim goes with its own
 * COMMIT. The claim marks the segment in the transaction that inserted the code (one round
 * trip fewer before its submit_sm), as the transaction ids (xmin) of the segment and of the
 * code's send-log row show while the simulator holds the resp back.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth } from '../helpers/fixtures.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { waitUntil } from './fixtures/bind-nodes.js';
import { startPgApp } from './fixtures/pg-app.js';

const db = await startTestPostgres(t);
if (db) {
  t.test('the code is claimed in its own transaction and sent', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 100, respDelayMs: 4000 });
    await sim.start();
    t.teardown(() => sim.stop());
    const { app } = await startPgApp(t, sim, { url: db.url, nodeId: 'otp-node' });
    const reader = new PgSyncClient({ url: db.url });
    t.teardown(() => reader.close());

    const otp = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13900000001', text: '您的验证码是493817，5分钟内有效。', category: 'otp' } });
    t.equal(otp.statusCode, 202, otp.body);
    const otpId = otp.json().id as string;
    await waitUntil(() => sim.accountStats('xinge').submits >= 1, 10000, 'the code at the simulator');
    // The resp is held back 4 s: the segment still carries its claim's transaction.
    const row = reader.one<{ seg: string; status: string; logged: string }>(
      `SELECT s.xmin::text AS seg, s.status, (SELECT string_agg(xmin::text, ',') FROM send_log) AS logged FROM segments s WHERE s.message_id = $1`, [otpId]);
    t.equal(row?.status, 'submitting');
    // The code's rows are written in a savepoint of its transaction (a subtransaction, whose
    // xid comes after its parent's); the claim is written by the parent itself. A claim made
    // after the commit, by a pass of its own, would carry a newer xid than the send-log row.
    t.ok(Number(row?.seg) < Number(row?.logged), `claimed by the transaction that inserted the code (claim xid ${row?.seg}, insert savepoint xid ${row?.logged})`);

  });
}
