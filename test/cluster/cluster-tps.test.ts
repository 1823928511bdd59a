/**
 * Issue 21, point 4, measured at the SMSC: three cluster nodes send as fast as their token
 * buckets allow (retuned to their TPS shares) through their leased binds to one simulator
 * account (tps 60, binds 3, headroom 0.9: the shares sum to at most 54/s) while slots move:
 * one node stops, one is partitioned from PostgreSQL and comes back. The simulator's most
 * submit_sm in any one-second window must stay within tps + 10 % (the bound); the
 * figure is printed as a comment for the closing note.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { segment } from '../carriers/helpers.js';
import { startBindNode, waitUntil, type BindNode } from './fixtures/bind-nodes.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const TTL = 2000;
const TPS = 60;
const HEADROOM = 0.9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const db = await startTestPostgres(t);
if (db) {
  t.test('the submit rate at the SMSC stays within tps + 10 % while slots move', async (t) => {
    const sim = new SmscSimulator({ accounts: [{ systemId: 'acctT', password: 'secret' }], receipts: { segments: 'none' }, recordLimit: 0 });
    await sim.start();
    t.teardown(() => sim.stop());
    const proxy = await new TcpProxy(db.port).start();
    t.teardown(() => proxy.close());
    // burst a tenth of a second of tps: the figure measures the moves, not a configured burst.
    const spec = (nodeId: string, url = db.url) => ({ url, nodeId, simPort: sim.port, carrierId: 'cT', systemId: 'acctT', binds: 3, tps: TPS, burst: TPS / 10, ttlMs: TTL, headroom: HEADROOM });
    const a = await startBindNode(spec('ta', `postgres://postgres@127.0.0.1:${proxy.port}/${db.database}`));
    const b = await startBindNode(spec('tb'));
    const c = await startBindNode(spec('tc'));
    const nodes: BindNode[] = [a, b, c];
    t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
    let maxShares = 0;
    for (const n of nodes) n.pool.on('bind', () => queueMicrotask(() => (maxShares = Math.max(maxShares, nodes.reduce((s, x) => s + x.share(), 0)))));
    await waitUntil(() => nodes.every((n) => n.boundSlots().length === 1), 30000, 'one bound slot on each node');

    // Each node sends what its bucket grants, as the dispatcher does: only while a bind is up.
    const outcomes: Record<string, number> = {};
    const sender = setInterval(() => {
      for (const n of nodes) {
        if (!n.pool.isUp()) continue;
        const granted = n.bucket.tryTake(Math.max(0, n.pool.capacity()));
        for (let i = 0; i < granted; i++) void n.pool.submit(segment()).then((o) => (outcomes[o.kind] = (outcomes[o.kind] ?? 0) + 1));
      }
    }, 5);
    t.teardown(() => clearInterval(sender));
    await sleep(1500);
    sim.accounts.reset(); // the start is over: measure the steady state and the moves
    await sleep(2000);
    const steady = sim.accountStats('acctT').maxSubmitsPerSecond;

    await c.stop(); // its slot moves to a or b
    await waitUntil(() => a.boundSlots().length + b.boundSlots().length === 3, 20000, 'the stopped node\'s slot bound elsewhere');
    await sleep(2000);
    proxy.blackhole(); // a loses its slot(s) at the lease deadline; b takes them after expiry
    await waitUntil(() => a.boundSlots().length === 0 && b.boundSlots().length === 3, 20000, 'b to hold every slot');
    await sleep(2000);
    proxy.heal(); // a comes back and gets a slot again
    await waitUntil(() => a.boundSlots().length >= 1 && a.boundSlots().length + b.boundSlots().length === 3, 30000, 'a back with a slot');
    await sleep(2000);
    clearInterval(sender);

    const s = sim.accountStats('acctT');
    t.comment(`tps ${TPS}, shares capped at ${TPS * HEADROOM}/s: most submit_sm in any second ${steady} before the moves, ${s.maxSubmitsPerSecond} over the moves (${s.submits} submits, outcomes ${JSON.stringify(outcomes)})`);
    t.ok(s.submits > 0, 'submits reached the SMSC');
    t.ok(s.maxSubmitsPerSecond <= TPS * 1.1, `most submit_sm in any second: ${s.maxSubmitsPerSecond} (bound tps + 10 % = ${TPS * 1.1})`);
    t.ok(maxShares <= TPS * HEADROOM + 1e-9, `shares never summed above ${TPS * HEADROOM} (max ${maxShares})`);
    t.ok(s.maxBinds <= 3, `never more than 3 binds (max ${s.maxBinds})`);
  });
}
