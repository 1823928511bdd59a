/**
 * Issue 21, points 3 and 4, in the daemon: two apps built by buildApp with store.driver
 * postgres on one PostgreSQL share a carrier account with binds 1 of one simulator. The app
 * without the slot binds nothing and sends nothing (its message waits); draining the holder
 * hands the slot over at once and the other app sends the waiting message. Metrics
 * xinge_cluster_bind_slots_held / xinge_cluster_tps_share on /metrics; the store URL's
 * password never reaches a log line. (Messages still live in each app's SQLite file until
 * the PostgreSQL message store lands.)
 */
import t from 'tap';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth, baseConfigObject, capturingLogger, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp, type App } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { waitUntil } from './fixtures/bind-nodes.js';

const TTL = 2000;
const PASSWORD = 'Pg-S3cret-pw';

const db = await startTestPostgres(t);
if (db) {
  t.test('two apps, binds 1, one shared store: a message accepted by the app without the slot is sent by the holder; draining the holder hands the slot over', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'none' }, recordLimit: 1000 });
    await sim.start();
    t.teardown(() => sim.stop());
    // Trust authentication ignores the password, so it can stand in for a real one.
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${db.port}/${db.database}`;
    const loggers: string[][] = [];
    const apps = new Map<string, App>();
    const build = (nodeId: string): App => {
      const dir = tempDir(t);
      const obj = baseConfigObject(dir, [
        { id: 'c1', host: '127.0.0.1', port: sim.port, binds: 1, tps: 100, window: 10, enquire_link_s: 30, response_timeout_s: 2, reconnect: { initial_ms: 50, max_ms: 200, auth_failure_ms: 60000 }, source: { addr: '10690000' } },
      ]);
      obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url };
      obj.cluster = { node_id: nodeId, node_ttl_ms: TTL, bind_lease_ttl_ms: TTL, statement_timeout_ms: 1000 };
      // No configured secrets: the cluster code itself must keep the password out of the logs.
      const { logger, lines: own } = capturingLogger('info');
      loggers.push(own);
      const app = buildApp({ config: makeConfig(obj), logger, ...realConnectors(), dispatchTickMs: 10 });
      apps.set(nodeId, app);
      return app;
    };
    const one = build('app-one');
    const two = build('app-two');
    let drained = new Set<App>();
    t.teardown(async () => {
      for (const a of apps.values()) if (!drained.has(a)) await a.drain().catch(() => undefined);
    });
    await one.start();
    await two.start();
    const bound = (a: App) => a.carriers.get('c1')!.connector.binds().some((b) => b.state === 'bound');
    await waitUntil(() => [one, two].filter(bound).length === 1 && sim.accountStats('xinge').binds === 1, 30000, 'one app bound');
    await new Promise((r) => setTimeout(r, TTL)); // renewal rounds: nobody else binds
    const holder = bound(one) ? one : two;
    const idle = holder === one ? two : one;
    t.notOk(bound(idle), 'the other app has no bind');
    t.equal(sim.accountStats('xinge').maxBinds, 1, 'the simulator never saw a second bind');

    const metric = async (a: App) => (await a.http.inject({ method: 'GET', url: '/metrics' })).body;
    t.match(await metric(holder), /xinge_cluster_bind_slots_held\{carrier="c1"\} 1/);
    t.match(await metric(holder), /xinge_cluster_tps_share\{carrier="c1"\} 90/, 'tps 100 × 1/1 × headroom 0.9');
    t.match(await metric(idle), /xinge_cluster_bind_slots_held\{carrier="c1"\} 0/);
    t.match(await metric(idle), /xinge_cluster_tps_share\{carrier="c1"\} 0/);
    t.equal(holder.carriers.get('c1')!.rate.rate, 90, "the holder's rate gate is retuned to its share");

    const res = await idle.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138001', text: 'your repayment is due', category: 'notification' } });
    t.equal(res.statusCode, 202, res.body);
    const id = res.json().id as string;
    // The store is shared: the holder claims it and sends it on its bind; the idle app sees the result.
    await waitUntil(() => idle.store.messages.getMessage(id)?.status === 'submitted', 10000, 'sent by the holder');
    t.equal(sim.accountStats('xinge').submits, 1, 'sent once, on the only bind');
    t.equal(holder.store.messages.getMessage(id)?.status, 'submitted', 'both apps read the one result');

    const drainedAt = Date.now();
    await holder.drain();
    drained.add(holder);
    const res2 = await idle.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138002', text: 'second reminder', category: 'notification' } });
    t.equal(res2.statusCode, 202, res2.body);
    const id2 = res2.json().id as string;
    const took = await waitUntil(() => sim.recorder.submits.some((s) => s.destination.endsWith('13800138002')), 20000, 'the next message on the wire');
    t.comment(`slot handed over and the next message sent ${Date.now() - drainedAt} ms after the drain started (${took} ms after it ended)`);
    t.ok(took < TTL, `handed over without waiting for the lease TTL (${took} ms)`);
    await waitUntil(() => idle.store.messages.getMessage(id2)?.status === 'submitted', 10000, 'the message submitted');
    t.match(await metric(idle), /xinge_cluster_bind_slots_held\{carrier="c1"\} 1/);
    t.equal(sim.accountStats('xinge').maxBinds, 1, 'never two binds at once');
    const nodes = await db.query<{ node_id: string }>('SELECT node_id FROM cluster_nodes WHERE expires_at > now() ORDER BY node_id');
    t.same(nodes.rows.map((r) => r.node_id), [idle === one ? 'app-one' : 'app-two'], 'the drained app left the node table');

    await idle.drain();
    drained.add(idle);
    const held = await db.query(`SELECT 1 FROM cluster_bind_leases WHERE account = 'c1' AND node_id IS NOT NULL`);
    t.equal(held.rowCount, 0, 'every lease handed back after both drains');
    t.ok(loggers.flat().some((l) => l.includes('cluster: node registered') && l.includes(`127.0.0.1:${db.port}/${db.database}`)), 'the database is named in the log');
    t.notOk(loggers.flat().some((l) => l.includes(PASSWORD)), 'no log line holds the password');
    drained = new Set(apps.values());
  });

  t.test('an unreachable database fails the start with a typed error and no password', async (t) => {
    const dir = tempDir(t);
    const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1 }]);
    // Port 1 on loopback: refused at once.
    obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url: `postgres://postgres:${PASSWORD}@127.0.0.1:1/xinge` };
    const { logger, lines } = capturingLogger('info');
    // The store opens first (building the app): it cannot, so there is no app and no bind.
    let err: (Error & { code?: string }) | undefined;
    try {
      const app = buildApp({ config: makeConfig(obj), logger, ...realConnectors() });
      t.teardown(() => app.drain().catch(() => undefined));
    } catch (e) {
      err = e as Error & { code?: string };
    }
    t.ok(err, 'the app is not built');
    t.match(err, { name: 'StoreError' });
    t.ok(['store_unavailable', 'store_migration_failed'].includes(err!.code ?? ''), `code ${err!.code}`);
    t.notOk(err!.message.includes(PASSWORD), 'the error has no password');
    t.notOk(lines.some((l) => l.includes(PASSWORD)), 'no log line has it');
  });
}
