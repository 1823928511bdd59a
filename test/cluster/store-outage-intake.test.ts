/**
 * Issue 21.8 (what a PostgreSQL outage does to intake): the connections to the database are
 * cut while batches are being accepted, and new ones refused. Every request answers 202 or
 * 503 `store_unavailable` with Retry-After, never a 500; every message of a 202 is in the
 * database; once the database answers again the daemon accepts again, without a restart.
 */
import t from 'tap';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { auth, baseConfigObject, capturingLogger, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { startProxy } from './fixtures/proxy-child.js';

const db = await startTestPostgres(t);
if (db) {
  t.test('connections cut mid-intake: 202 or 503 store_unavailable, nothing accepted lost, accepting again after', async (t) => {
    const proxy = await startProxy(t, db.port);
    const dir = tempDir(t);
    // The carrier is unreachable: accepted messages stay queued, so the store holds them all.
    const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1 }]);
    obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url: `postgres://postgres@127.0.0.1:${proxy.port}/${db.database}` };
    obj.cluster = { node_id: 'outage-node', statement_timeout_ms: 2000 };
    const { logger, lines } = capturingLogger('warn');
    const app = buildApp({ config: makeConfig(obj), logger, ...realConnectors() });
    t.teardown(() => app.drain().catch(() => undefined));
    await app.start();
    const post = (payload: unknown, url = '/v1/sms/batch') => app.http.inject({ method: 'POST', url, headers: auth(), payload: payload as object });
    const batch = (k: number) => ({ messages: Array.from({ length: 100 }, (_, i) => ({ to: `138${String(k * 1000 + i).padStart(8, '0')}`, text: '您的借款将于明日到期。', category: 'notification' })) });
    t.equal((await post(batch(0))).statusCode, 202, 'accepting before the outage');

    // A first wave is answered before the outage; the second is in flight when it starts.
    const before = await Promise.all(Array.from({ length: 5 }, (_, k) => post(batch(k + 1))));
    const inFlight = Array.from({ length: 15 }, (_, k) => post(batch(k + 6)));
    await new Promise((r) => setImmediate(r));
    await proxy.send('refuse on');
    await proxy.send('cut');
    const answers = await Promise.all(inFlight);
    const during = await post({ to: '13900000009', text: '您的借款将于明日到期。', category: 'notification' }, '/v1/sms');
    t.equal(during.statusCode, 503, 'a request while the database is down');
    t.equal(during.json().error.code, 'store_unavailable');
    t.equal(during.headers['retry-after'], '1');

    const accepted: string[] = [];
    let refused = 0;
    for (const a of [...before, ...answers]) {
      if (a.statusCode === 202) accepted.push(...(a.json().results as Array<{ id: string }>).map((r) => r.id));
      else {
        t.equal(a.statusCode, 503, `a batch caught by the outage answers 503 (got ${a.statusCode})`);
        t.equal(a.json().error.code, 'store_unavailable');
        refused++;
      }
    }
    t.comment(`${20 - refused} batches accepted, ${refused} refused by the outage`);
    t.ok(accepted.length >= 500, 'the first wave was accepted');
    const stored = await db.query<{ id: string }>('SELECT id FROM messages WHERE id = ANY($1)', [accepted]);
    t.equal(stored.rowCount, accepted.length, 'every message of a 202 is in the database');

    await proxy.send('refuse off');
    let after = await post(batch(99));
    for (let i = 0; i < 20 && after.statusCode !== 202; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await post(batch(99));
    }
    t.equal(after.statusCode, 202, 'accepting again once the database answers');
    t.notOk(lines.some((l) => /"level":50/.test(l) && /unhandled error/.test(l)), 'no unhandled error logged');
  });
}
