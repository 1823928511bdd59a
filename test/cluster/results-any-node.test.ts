/**
 * Issue 21.5: results on any node. Two daemons (store.driver postgres) share one account in
 * transmitter+receiver mode; the simulator sends each receipt on a receiver of the account,
 * which is often the other daemon's. Every message still ends delivered (the receipt is
 * matched through the shared store), some receipts did cross, and each message's webhook
 * event is written once across the cluster.
 */
import t from 'tap';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth, baseConfigObject, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp, type App } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { waitUntil } from './fixtures/bind-nodes.js';

const db = await startTestPostgres(t);
if (db) {
  t.test('receipts arriving on the other daemon are matched through the shared store; one webhook event each', async (t) => {
    const sim = new SmscSimulator({ receipts: { segments: 'all', delayMs: 30 }, recordLimit: 1000 });
    await sim.start();
    t.teardown(() => sim.stop());
    const apps: App[] = [];
    t.teardown(async () => {
      for (const a of apps) await a.drain().catch(() => undefined);
    });
    for (const node of ['rx-a', 'rx-b']) {
      const dir = tempDir(t);
      const obj = baseConfigObject(dir, [
        { id: 'c1', host: '127.0.0.1', port: sim.port, binds: 2, bind: 'transmitter+receiver', tps: 200, window: 20, response_timeout_s: 2, reconnect: { initial_ms: 50, max_ms: 200 }, source: { addr: '10690000' } },
      ]);
      obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url: db.url };
      obj.cluster = { node_id: node, node_ttl_ms: 2000, bind_lease_ttl_ms: 2000, statement_timeout_ms: 2000 };
      const app = buildApp({ config: makeConfig(obj), logger: createLogger('silent'), ...realConnectors(), dispatchTickMs: 20 });
      apps.push(app);
      await app.start();
    }
    const [a, b] = apps as [App, App];
    // Each node holds one slot: a transmitter and a receiver each.
    await waitUntil(() => apps.every((x) => x.carriers.get('c1')!.connector.binds().filter((s) => s.state === 'bound').length === 2), 30000, 'both nodes bound');

    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const app = i % 2 === 0 ? a : b;
      const r = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: `1380013${String(8000 + i)}`, text: `还款提醒 ${i}`, category: 'notification' } });
      t.equal(r.statusCode, 202, r.body);
      ids.push(r.json().id as string);
    }
    await waitUntil(() => ids.every((id) => a.store.messages.getMessage(id)?.status === 'delivered'), 30000, 'all delivered');
    t.equal(ids.filter((id) => b.store.messages.getMessage(id)?.status === 'delivered').length, 40, 'all 40 delivered, as either node reads them');

    // Who sent what, and who received which receipts (each node's own counters).
    const sum = async (app: App, name: string) => {
      const text = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
      return [...text.matchAll(new RegExp(`^xinge_${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
    };
    const [sa, sb] = [await sum(a, 'submitted_total'), await sum(b, 'submitted_total')];
    const [ra, rb] = [await sum(a, 'dlr_total'), await sum(b, 'dlr_total')];
    t.equal(sa + sb, 40, `40 submits in all (node a ${sa}, node b ${sb})`);
    t.equal(ra + rb, 40, `40 receipts in all (node a ${ra}, node b ${rb})`);
    // The simulator sends each receipt on the first receiver of the account it finds: one node
    // receives the receipts of the other's sends too.
    t.ok(ra !== sa, `receipts crossed between the nodes (node a sent ${sa} and received ${ra} receipts, node b ${sb} and ${rb})`);

    const events = await db.query<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT body) AS d FROM outbox`);
    t.ok(Number(events.rows[0]!.n) >= 40, `a webhook event per message at least (${events.rows[0]!.n})`);
    t.equal(Number(events.rows[0]!.n), Number(events.rows[0]!.d), 'no webhook event written twice');
  });
}
