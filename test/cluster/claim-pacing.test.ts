/**
 * Claims on the shared queue (PostgreSQL) are round trips and planned statements, paid by
 * every node: a node must not make one per token, nor one per empty lane on every tick.
 *
 * - Under the carrier's rate limit, bulk is claimed in steps of `bulkClaimMs` (20 ms) worth of
 *   tokens: before, the dispatcher claimed each token as it came (three daemons at 500 tps
 *   made 20,284 claims for 20,200 messages, and spent more CPU polling than sending). A
 *   verification code still needs only one token.
 * - The tick asks which lanes hold due work in one probe instead of claiming from every lane;
 *   a scheduled message still goes out when it comes due.
 *
 * The claims are counted by pg_stat_statements (this file's PostgreSQL loads it).
 */
import t, { type Test } from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth } from '../helpers/fixtures.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { waitUntil } from './fixtures/bind-nodes.js';
import { startPgApp } from './fixtures/pg-app.js';

const db = await startTestPostgres(t, 'xinge_test', { settings: ['shared_preload_libraries=pg_stat_statements'] });
if (db) {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');

  const startNode = async (t: Test, sim: SmscSimulator, carrier: Record<string, unknown>) =>
    (await startPgApp(t, sim, { url: db.url, nodeId: 'pacing-node', carrier: { window: 50, ...carrier } })).app;
  /** Claim statements PostgreSQL ran since the last reset. */
  const claims = async (): Promise<number> => {
    const r = await db.query<{ n: string }>(`SELECT coalesce(sum(calls), 0)::text AS n FROM pg_stat_statements WHERE query LIKE '%WITH picked AS%'`);
    return Number(r.rows[0]!.n);
  };

  t.test('a rate-bound carrier: bulk claimed in steps, never above tps, the code still first', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 1000 });
    await sim.start();
    t.teardown(() => sim.stop());
    // tps 200 (the node's share: 180 with the default headroom), a bucket of 10.
    const app = await startNode(t, sim, { tps: 200, burst: 10 });
    await db.query('SELECT pg_stat_statements_reset()');
    const TOTAL = 300;
    const batch = await app.http.inject({
      method: 'POST', url: '/v1/sms/batch', headers: auth(),
      payload: { messages: Array.from({ length: TOTAL }, (_, i) => ({ to: `138${String(i).padStart(8, '0')}`, text: '您的还款日是本月15日。', category: 'notification' })) },
    });
    t.equal(batch.statusCode, 202, `batch answered ${batch.statusCode}`);
    await waitUntil(() => sim.accountStats('xinge').submits >= 60, 10000, 'the drain under way');
    const otp = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13900000001', text: '您的验证码是493817，5分钟内有效。', category: 'otp' } });
    t.equal(otp.statusCode, 202, otp.body);
    await waitUntil(() => sim.accountStats('xinge').submits >= TOTAL + 1, 20000, 'all sent');

    const reader = new PgSyncClient({ url: db.url });
    t.teardown(() => reader.close());
    // Each claim marks its rows with its own time: the number of distinct marks is the number
    // of claims that took something (one per token, about 290, before).
    const marks = reader.one<{ n: string }>(`SELECT count(DISTINCT claimed_at)::text AS n FROM segments s JOIN messages m ON m.id = s.message_id WHERE m.category = 'notification'`)!;
    t.ok(Number(marks.n) <= TOTAL / 3, `${TOTAL} bulk segments came in ${marks.n} claims (at least 3 tokens each)`);
    const all = await claims();
    t.ok(all <= TOTAL / 2, `${all} claim statements in all for ${TOTAL + 1} messages`);
    // Never above the account's tps (+10 %) in any second.
    t.ok(sim.accountStats('xinge').maxSubmitsPerSecond <= 220, `at most ${sim.accountStats('xinge').maxSubmitsPerSecond} submits in a second`);
    // The code went out ahead of the backlog left when it was accepted.
    const at = sim.recorder.submits.findIndex((m) => m.destination.endsWith('13900000001'));
    t.ok(at >= 0 && at < TOTAL - 50, `the code was the ${at + 1}th submit of ${TOTAL + 1}`);
  });

  t.test('an idle node does not claim from every lane on every tick; scheduled work still goes out', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 100 });
    await sim.start();
    t.teardown(() => sim.stop());
    const app = await startNode(t, sim, { tps: 100 });
    await new Promise((r) => setTimeout(r, 300));
    await db.query('SELECT pg_stat_statements_reset()');
    // 10 ms ticks for 1.5 s: 150 ticks, four lanes each, was 600 claims.
    await new Promise((r) => setTimeout(r, 1500));
    const idle = await claims();
    t.ok(idle <= 10, `${idle} claim statements in 1.5 s of an idle node's ticks`);
    // A message scheduled a second ahead is found by the tick's probe when it comes due.
    const sendAt = new Date(Date.now() + 1000).toISOString();
    const r = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800000002', text: '您的还款日是本月15日。', category: 'notification', send_at: sendAt } });
    t.equal(r.statusCode, 202, r.body);
    t.equal(r.json().status, 'scheduled');
    await waitUntil(() => sim.accountStats('xinge').submits >= 1, 10000, 'the scheduled message sent when due');
    t.ok(Date.now() >= Date.parse(sendAt), 'not before its time');
  });
}
