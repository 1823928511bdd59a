/**
 * Receipts on PostgreSQL are matched a turn at a time: the receipts of one read are looked up
 * (and the one-part ones settled) in one statement, where each cost two round trips before
 * (the lookup, then the settle). Receipts that name the same id in one read (a carrier
 * resending one it thinks was lost) are handled one after the other, as before: the first
 * settles the message and the copy is counted late, never applied twice.
 *
 * Statements are counted by pg_stat_statements (this file's PostgreSQL loads it).
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
  /** Calls of the statements whose text contains `like`, since the last reset. */
  const calls = async (like: string): Promise<number> => {
    const r = await db.query<{ n: string }>(`SELECT coalesce(sum(calls), 0)::text AS n FROM pg_stat_statements WHERE query LIKE $1`, [`%${like}%`]);
    return Number(r.rows[0]!.n);
  };
  const FIND_ONE = 'SELECT id, message_id, total, status, carrier_id, submitted_at FROM segments WHERE carrier_id = $1';
  const SETTLE_MANY = 'unnest($1::int[], $2::text[], $3::text[], $4::int[])';

  const run = async (t: Test, copies: number, total: number) => {
    // Receipts without delay: the simulator sends a turn's receipts together, as a busy SMSC does.
    const sim = new SmscSimulator({ receipts: { delayMs: 0, copies }, recordLimit: 1000 });
    await sim.start();
    t.teardown(() => sim.stop());
    const { app } = await startPgApp(t, sim, { url: db.url, nodeId: `receipts-${copies}`, carrier: { tps: 5000, window: 100 } });
    await db.query('SELECT pg_stat_statements_reset()');
    const res = await app.http.inject({
      method: 'POST', url: '/v1/sms/batch', headers: auth(),
      payload: { messages: Array.from({ length: total }, (_, i) => ({ to: `138${String(i).padStart(8, '0')}`, text: `您的还款日是本月15日。${i}`, category: 'notification' })) },
    });
    t.equal(res.statusCode, 202, 'batch accepted');
    const ids = (JSON.parse(res.body) as { results: Array<{ id: string }> }).results.map((m) => m.id);
    t.equal(new Set(ids).size, total, 'every message accepted');
    const reader = new PgSyncClient({ url: db.url });
    t.teardown(() => reader.close());
    const delivered = () => Number(reader.one<{ n: string }>(`SELECT count(*)::text AS n FROM messages WHERE id = ANY($1::text[]) AND status = 'delivered'`, [ids])!.n);
    await waitUntil(() => delivered() === total, 20000, 'every message delivered');
    const metrics = async () => (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    await waitUntil(async () => (await metrics()).includes(`xinge_dlr_total{carrier="c1",stat="DELIVRD"} ${total * copies}`), 10000, 'every receipt answered');
    return { app, reader, metrics: await metrics() };
  };

  t.test('a turn of receipts: one statement, not two round trips each', async (t) => {
    const TOTAL = 400;
    const { reader, metrics } = await run(t, 1, TOTAL);
    const many = await calls(SETTLE_MANY);
    const one = await calls(FIND_ONE);
    t.equal(one, 0, 'no receipt looked up on its own');
    t.ok(many >= 1 && many <= TOTAL / 4, `${TOTAL} receipts in ${many} statements`);
    const segs = reader.query<{ status: string; receipt_stat: string | null; final_at: number | null }>(`SELECT status, receipt_stat, final_at FROM segments`);
    t.equal(segs.length, TOTAL, 'one segment a message');
    t.equal(segs.filter((s) => s.status === 'delivered' && s.receipt_stat === 'DELIVRD' && s.final_at !== null).length, TOTAL, 'every segment settled with its receipt');
    t.notMatch(metrics, /xinge_dlr_late_total\{carrier="c1"\} [1-9]/, 'none late');
    t.notMatch(metrics, /xinge_dlr_unmatched_total\{carrier="c1"\} [1-9]/, 'none unmatched');
    // One status webhook per message (none here: no callback), one final count per message.
    t.match(metrics, new RegExp(`xinge_messages_final_total\\{[^}]*status="delivered"[^}]*\\} ${TOTAL}`), 'each message ended once');
  });

  t.test('each receipt twice in one read: applied once, the copy counted late', async (t) => {
    const TOTAL = 200;
    const { app, reader } = await run(t, 2, TOTAL);
    const late = /xinge_dlr_late_total\{carrier="c1"\} (\d+)/;
    let metrics = '';
    // Counted once the copy's commit is answered, after the receipt itself was counted.
    await waitUntil(async () => Number(late.exec((metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body))?.[1] ?? 0) >= TOTAL, 10000, 'the copies counted');
    t.match(metrics, new RegExp(`xinge_dlr_late_total\\{carrier="c1"\\} ${TOTAL}\n`), 'each copy counted late, once');
    t.notMatch(metrics, /xinge_dlr_unmatched_total\{carrier="c1"\} [1-9]/, 'none unmatched');
    t.match(metrics, new RegExp(`xinge_messages_final_total\\{[^}]*status="delivered"[^}]*\\} ${TOTAL}`), 'each message ended once');
    const held = reader.one<{ n: string }>(`SELECT count(*)::text AS n FROM held_receipts`)!;
    t.equal(held.n, '0', 'nothing held');
  });
}
