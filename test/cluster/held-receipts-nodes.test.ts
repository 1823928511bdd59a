/**
 * Issue 21, held receipts in a cluster: a receipt that came before its submit_sm_resp is
 * held by the node that received it (held_receipts.held_by). A daemon (buildApp, store.driver
 * postgres) loads only its own at start, so a receipt another live node holds is left to that
 * node; once that node is gone from the registry, the daemon's reaper adopts the receipt and
 * it is applied to its message (nothing lost); likewise a receipt held by a node that died
 * after the daemon started. The daemon sends over SMPP to the simulator
 * on loopback; the other node is a real registry row heartbeating in the same database.
 */
import t from 'tap';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { freshPgDatabase } from '../helpers/store-backends.js';
import { auth, baseConfigObject, capturingLogger, makeConfig, tempDir, waitFor } from '../helpers/fixtures.js';
import { buildApp } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { createClusterPool } from '../../src/cluster/db.js';
import { migrateCluster } from '../../src/cluster/migrations.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { parseReceipt } from '../../src/results/receipt-parse.js';
import { toStored } from '../../src/results/held-receipts.js';
import { candidateIds } from '../../src/results/dlr-id.js';

const db = await startTestPostgres(t);
const TTL = 2000;
const CARRIER_ID = '500000';

if (db !== undefined) {
  t.test('a receipt held by a live node is left to it; once that node is gone, a daemon adopts it and applies it', async (t) => {
    const { url, client } = await freshPgDatabase(t, db);
    // The other node: registered and heartbeating (binds 2 below: one slot each).
    const pool = createClusterPool({ url });
    t.teardown(() => pool.end());
    await migrateCluster(pool);
    const other = new NodeRegistry({ pool, nodeId: 'node-other', ttlMs: TTL });
    await other.start();
    t.teardown(() => other.stop());

    const sim = new SmscSimulator({ receipts: { segments: 'none' }, idFormat: 'decimal', idStart: CARRIER_ID, recordLimit: 100 });
    await sim.start();
    t.teardown(() => sim.stop());
    const dir = tempDir(t);
    const obj = baseConfigObject(dir, [
      { id: 'c1', host: '127.0.0.1', port: sim.port, binds: 2, tps: 100, window: 10, enquire_link_s: 30, response_timeout_s: 2, reconnect: { initial_ms: 50, max_ms: 200, auth_failure_ms: 60000 }, source: { addr: '10690000' } },
    ]);
    obj.store = { path: join(dir, 'xinge.db'), driver: 'postgres', url };
    obj.cluster = { node_id: 'node-b', node_ttl_ms: TTL, bind_lease_ttl_ms: TTL, statement_timeout_ms: 1000 };
    const cfg = makeConfig(obj);

    // The receipt of the message the daemon is about to send reached the other node first:
    // held there, its resp not yet recorded anywhere.
    const receipt = parseReceipt({
      shortMessage: Buffer.from(`id:${CARRIER_ID} sub:001 dlvrd:001 submit date:2612061000 done date:2612061001 stat:DELIVRD err:000 text:`),
      tlvs: {},
    });
    client.run('INSERT INTO held_receipts (carrier_id, keys, body, received_at, held_by) VALUES ($1, $2, $3, $4, $5)',
      ['c1', candidateIds(CARRIER_ID, cfg.carriers[0]!.dlr_id).join(','), JSON.stringify(toStored(receipt)), Date.now(), 'node-other']);

    const { logger } = capturingLogger('warn');
    const app = buildApp({ config: cfg, logger, ...realConnectors(), dispatchTickMs: 10 });
    t.teardown(() => app.drain().catch(() => undefined));
    await app.start();
    const res = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138001', text: 'your repayment is due', category: 'notification' } });
    t.equal(res.statusCode, 202, res.body);
    const id = res.json().id as string;
    const status = () => app.store.messages.getMessage(id)?.status;
    await waitFor(() => status() === 'submitted' || status() === 'delivered', 15_000, 'sent');
    t.equal(sim.recorder.submits.length, 1);

    // Several reconcile rounds (1 s) and reaper rounds (TTL / 3): the other node is alive, so its receipt is its own.
    await new Promise((r) => setTimeout(r, 3000));
    t.equal(status(), 'submitted', 'not applied by this daemon while its holder lives');
    t.same(client.query('SELECT held_by FROM held_receipts'), [{ held_by: 'node-other' }], 'still held by the other node');

    // The other node leaves (its row is deleted, as by a drain; a killed node's expires after TTL).
    await other.stop();
    await waitFor(() => status() === 'delivered', 15_000, 'the adopted receipt applied');
    await waitFor(() => client.query('SELECT 1 FROM held_receipts').length === 0, 5000, 'the held receipt deleted once applied');
    t.equal(status(), 'delivered', 'the receipt the gone node held was adopted and applied: the message is delivered');
    t.equal(client.query('SELECT 1 FROM held_receipts').length, 0, 'and no longer held');

    // A node that died after this daemon started (so nothing of it was loaded at start) held the
    // receipt of a message this daemon sent: the reaper adopts it, and it is applied.
    const res2 = await app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138002', text: 'second reminder', category: 'notification' } });
    const id2 = res2.json().id as string;
    await waitFor(() => app.store.messages.getMessage(id2)?.status === 'submitted', 15_000, 'the second message sent');
    const second = String(BigInt(CARRIER_ID) + 1n);
    const r2 = parseReceipt({ shortMessage: Buffer.from(`id:${second} sub:001 dlvrd:000 submit date:2612061000 done date:2612061001 stat:UNDELIV err:001 text:`), tlvs: {} });
    client.run('INSERT INTO held_receipts (carrier_id, keys, body, received_at, held_by) VALUES ($1, $2, $3, $4, $5)',
      ['c1', candidateIds(second, cfg.carriers[0]!.dlr_id).join(','), JSON.stringify(toStored(r2)), Date.now(), 'node-gone']);
    await waitFor(() => app.store.messages.getMessage(id2)?.status === 'undeliverable', 15_000, 'the dead node\'s receipt adopted and applied');
    await waitFor(() => client.query('SELECT 1 FROM held_receipts').length === 0, 5000, 'deleted once applied');
    t.equal(app.store.messages.getMessage(id2)?.status, 'undeliverable', 'a receipt held by a node that died later is adopted and applied too');
    t.equal(client.query('SELECT 1 FROM held_receipts').length, 0, 'and no longer held');
  });
}
