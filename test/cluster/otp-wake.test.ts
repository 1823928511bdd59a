/**
 * Issue 21, point 2 ("a new OTP wakes the nodes"), against a real PostgreSQL: NOTIFY wakes
 * every listener; a listener whose backend is terminated, or whose connection goes silent,
 * reconnects by itself, wakes its consumer on reconnection (notifications sent while it was
 * away are lost, so the consumer must look at the queue) and receives the next NOTIFY.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { createClusterPool } from '../../src/cluster/db.js';
import { notifyOtp, OtpWakeListener, type WakeCause } from '../../src/cluster/otp-wake.js';
import type { ClusterError } from '../../src/cluster/errors.js';
import { waitFor } from './fixtures/holders.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const db = await startTestPostgres(t);
if (db) {
  const pool = createClusterPool({ url: db.url, max: 2 });
  t.teardown(() => pool.end());

  const listener = (url: string, opts: { pingEveryMs?: number; pingTimeoutMs?: number } = {}) => {
    const wakes: WakeCause[] = [];
    const errors: ClusterError[] = [];
    const l = new OtpWakeListener({ url, onWake: (c) => wakes.push(c), onError: (e) => errors.push(e), reconnectInitialMs: 50, reconnectMaxMs: 500, ...opts });
    return { l, wakes, errors, notifies: () => wakes.filter((w) => w.kind === 'notify'), reconnects: () => wakes.filter((w) => w.kind === 'reconnected').length };
  };

  t.test('a NOTIFY wakes every listening node with its hint', async (t) => {
    const one = listener(db.url);
    const two = listener(db.url);
    t.teardown(async () => {
      await one.l.stop();
      await two.l.stop();
    });
    one.l.start();
    two.l.start();
    await waitFor(() => one.l.listening && two.l.listening, 10000, 'both listeners to LISTEN');
    t.equal(one.reconnects(), 1, 'the first connection wakes the consumer too (it may have missed OTPs before it listened)');
    await notifyOtp(pool, 'acct-1');
    await waitFor(() => one.notifies().length === 1 && two.notifies().length === 1, 10000, 'both to be woken');
    t.same(one.notifies()[0], { kind: 'notify', hint: 'acct-1' });
    t.same(two.notifies()[0], { kind: 'notify', hint: 'acct-1' });
  });

  t.test('a NOTIFY inside a transaction wakes only at commit, and not at all on rollback', async (t) => {
    const one = listener(db.url);
    t.teardown(() => one.l.stop());
    one.l.start();
    await waitFor(() => one.l.listening, 10000, 'listening');
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await notifyOtp(c, 'rolled-back');
      await c.query('ROLLBACK');
      await c.query('BEGIN');
      await notifyOtp(c, 'committed');
      await new Promise((r) => setTimeout(r, 300));
      t.equal(one.notifies().length, 0, 'nothing before commit');
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    await waitFor(() => one.notifies().length === 1, 10000, 'the committed notify');
    t.same(one.notifies().map((n) => (n.kind === 'notify' ? n.hint : '')), ['committed']);
  });

  t.test('after its backend is terminated the listener reconnects and hears the next NOTIFY', async (t) => {
    const one = listener(db.url);
    t.teardown(() => one.l.stop());
    one.l.start();
    await waitFor(() => one.l.listening, 10000, 'listening');
    const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'xinge-otp-wake'`);
    t.equal(killed.rowCount, 1, 'terminated the listener backend');
    await waitFor(() => one.reconnects() === 2 && one.l.listening, 10000, 'the listener to reconnect');
    t.ok(one.errors.some((e) => e.code === 'cluster_listen_failed'), 'the loss was reported as cluster_listen_failed');
    await notifyOtp(pool, 'after');
    await waitFor(() => one.notifies().length === 1, 10000, 'the notify after reconnection');
  });

  t.test('a listener whose connection goes silent finds out by its ping and recovers when the network does', async (t) => {
    const proxy = await new TcpProxy(db.port).start();
    t.teardown(() => proxy.close());
    const one = listener(`postgres://postgres@127.0.0.1:${proxy.port}/${db.database}`, { pingEveryMs: 200, pingTimeoutMs: 500 });
    t.teardown(() => one.l.stop());
    one.l.start();
    await waitFor(() => one.l.listening, 10000, 'listening through the proxy');
    proxy.blackhole();
    await waitFor(() => !one.l.listening, 10000, 'the ping to notice the silence');
    await notifyOtp(pool, 'lost-during-partition');
    proxy.heal();
    await waitFor(() => one.l.listening && one.reconnects() === 2, 15000, 'the listener to reconnect after the heal');
    await notifyOtp(pool, 'after-heal');
    await waitFor(() => one.notifies().some((n) => n.kind === 'notify' && n.hint === 'after-heal'), 10000, 'the notify after the heal');
    t.notOk(one.notifies().some((n) => n.kind === 'notify' && n.hint === 'lost-during-partition'), 'what was sent during the partition is not delivered: the reconnection wake-up covers it');
  });
}
