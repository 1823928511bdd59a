/**
 * Issue 21, points 3 and 4, wired: cluster nodes (BindPool in leased mode + startCluster)
 * share one carrier account of the simulator over real SMPP on 127.0.0.1 and one real
 * PostgreSQL. The simulator counts the binds of the system_id: it must never see more than
 * the account allows, whatever happens to a node (stopped, partitioned from the database,
 * killed with SIGKILL). TTLs are 2 s (renew ≈ 667 ms, binds closed 500 ms before expiry).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestPostgres } from '../helpers/postgres.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { segment } from '../carriers/helpers.js';
import { startBindNode, waitUntil, type BindNode, type BindNodeOptions } from './fixtures/bind-nodes.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const TTL = 2000;
const HEADROOM = 0.9;

async function startSimFor(t: { teardown(fn: () => unknown): void }, systemId: string): Promise<SmscSimulator> {
  const sim = new SmscSimulator({ accounts: [{ systemId, password: 'secret' }], receipts: { segments: 'none' }, recordLimit: 10000 });
  await sim.start();
  t.teardown(() => sim.stop());
  return sim;
}

/** Records the largest sum of the nodes' TPS shares seen at any bind state change. */
function watchShares(nodes: BindNode[]): { max: () => number; observations: () => number } {
  let max = 0;
  let n = 0;
  for (const node of nodes) {
    node.pool.on('bind', () =>
      queueMicrotask(() => {
        n++;
        max = Math.max(max, nodes.reduce((s, x) => s + x.share(), 0));
      }),
    );
  }
  return { max: () => max, observations: () => n };
}

const db = await startTestPostgres(t);
if (db) {
  const base = (nodeId: string, over: Partial<BindNodeOptions> & { simPort: number; carrierId: string; systemId: string }): BindNodeOptions => ({
    url: db.url,
    nodeId,
    binds: 3,
    tps: 90,
    ttlMs: TTL,
    ...over,
  });

  t.test('three nodes, binds 3: one slot each, never more than 3 binds, shares sum to at most tps × headroom; a stopped node hands its slot over at once', async (t) => {
    const sim = await startSimFor(t, 'acctA');
    const spec = { simPort: sim.port, carrierId: 'cA', systemId: 'acctA' };
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startBindNode(base(id, spec))));
    t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
    const [a, b, c] = nodes as [BindNode, BindNode, BindNode];
    const shares = watchShares(nodes);
    const took = await waitUntil(() => nodes.every((n) => n.boundSlots().length === 1) && sim.accountStats('acctA').binds === 3, 30000, 'one bound slot on each node');
    t.comment(`balanced in ${took} ms: ${nodes.map((n) => `${n.nodeId}=${JSON.stringify(n.slots())}`).join(' ')}`);
    t.same(nodes.flatMap((n) => n.slots()).sort(), [0, 1, 2], 'each slot held by exactly one node');
    for (const n of nodes) {
      t.same(n.boundSlots(), n.slots(), `${n.nodeId} binds exactly the slot it holds`);
      t.equal(n.share(), (90 * HEADROOM) / 3, `${n.nodeId}: share 27 of tps 90`);
      t.equal(n.bucket.tps, n.share(), `${n.nodeId}: bucket retuned to the share`);
      // Burst 90 (= tps) scaled to the share would be 27; the three bursts must fit in what the
      // headroom leaves (90 − 81 = 9): 3 each, so rate + burst in any second stays ≤ tps.
      t.equal(n.bucket.burst, (n.share() * (1 - HEADROOM)) / HEADROOM, `${n.nodeId}: burst within the headroom`);
      t.match(await n.registry.getSingleMetricAsString('xinge_cluster_bind_slots_held'), /xinge_cluster_bind_slots_held\{carrier="cA"\} 1/);
      t.match(await n.registry.getSingleMetricAsString('xinge_cluster_tps_share'), /xinge_cluster_tps_share\{carrier="cA"\} 27/);
      t.match(await n.pool.submit(segment()), { kind: 'accepted' }, `${n.nodeId} sends on its bind`);
    }
    t.equal(new Set(sim.recorder.submits.map((s) => s.conn)).size, 3, 'three binds carried the submits');

    // AIMD below the share: ESME_RTHROTTLED halves the rate under the share, and a slot
    // moving in does not lift it; successes bring it back up to the share, never above.
    a.bucket.onThrottled();
    b.bucket.onThrottled();
    t.equal(a.bucket.rate, 13.5, 'throttled: half the share');

    await c.stop();
    const handed = await waitUntil(() => a.boundSlots().length + b.boundSlots().length === 3 && sim.accountStats('acctA').binds === 3, 20000, 'a and b to bind the stopped node\'s slot');
    t.comment(`stopped node's slot bound elsewhere ${handed} ms after its stop resolved (lease TTL ${TTL} ms)`);
    t.ok(handed < TTL, `handed over without waiting for the lease to expire (${handed} ms < ${TTL} ms)`);
    t.ok(sim.recorder.requests.some((r) => r.command === 'unbind'), 'the stopped node unbound');
    t.ok(c.lines.some((l) => l.includes('"reason":"stopped"')), 'its log says why');
    const two = a.slots().length === 2 ? a : b;
    t.equal(two.share(), 54, 'two slots: share 54');
    t.equal(two.bucket.tps, 54);
    t.equal(two.bucket.rate, 13.5, 'still throttled: the new share does not lift the rate');
    let highest = 0;
    for (let i = 0; i < 5000; i++) {
      two.bucket.onSuccess();
      highest = Math.max(highest, two.bucket.rate);
    }
    t.equal(highest, 54, 'recovers to the share and not beyond');
    t.ok(sim.accountStats('acctA').maxBinds <= 3, `the simulator never saw more than 3 binds (max ${sim.accountStats('acctA').maxBinds})`);
    t.ok(shares.observations() > 0);
    t.ok(shares.max() <= 90 * HEADROOM + 1e-9, `shares never summed above 81 (max ${shares.max()})`);
  });

  t.test('a hand-back does not wait on a slow SMSC: the bind is closed hard after half a renewal interval', async (t) => {
    const sim = new SmscSimulator({ accounts: [{ systemId: 'acctE', password: 'secret' }], receipts: { segments: 'none' }, respDelayMs: 10000 });
    await sim.start();
    t.teardown(() => sim.stop());
    const node = await startBindNode(base('e1', { simPort: sim.port, carrierId: 'cE', systemId: 'acctE', binds: 1, responseTimeoutS: 10 }));
    t.teardown(() => node.stop());
    await waitUntil(() => node.boundSlots().length === 1, 30000, 'the slot bound');
    const outcome = node.pool.submit(segment());
    await waitUntil(() => sim.accountStats('acctE').submits === 1, 10000, 'the submit at the SMSC (answered in 10 s)');
    const started = Date.now();
    await node.stop();
    const took = Date.now() - started;
    // Unbounded, the unbind would first wait up to 2 s for the in-flight submit.
    t.ok(took < 1500, `stopped in ${took} ms (renewal interval ${Math.round(TTL / 3)} ms)`);
    t.same(await outcome, { kind: 'disconnected', inFlight: true, countsAsAttempt: false }, 'the in-flight submit goes back as for a drop');
    t.ok(node.lines.some((l) => l.includes('unbind too slow')), 'logged');
    const held = await db.query(`SELECT 1 FROM cluster_bind_leases WHERE account = 'cE' AND node_id IS NOT NULL`);
    t.equal(held.rowCount, 0, 'the lease was handed back');
    await waitUntil(() => sim.accountStats('acctE').binds === 0, 10000, 'the simulator to see no bind');
  });

  t.test('binds 2 on three nodes: the node without a slot binds nothing and sends nothing', async (t) => {
    const sim = await startSimFor(t, 'acctD');
    const spec = { simPort: sim.port, carrierId: 'cD', systemId: 'acctD', binds: 2 };
    const nodes = await Promise.all(['d1', 'd2', 'd3'].map((id) => startBindNode(base(id, spec))));
    t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
    await waitUntil(() => nodes.filter((n) => n.boundSlots().length === 1).length === 2 && sim.accountStats('acctD').binds === 2, 30000, 'two nodes with one bound slot each');
    // A couple of renewal rounds: nothing more binds.
    await new Promise((r) => setTimeout(r, TTL));
    const idle = nodes.find((n) => n.slots().length === 0)!;
    t.ok(idle, 'one node holds no slot');
    t.same(idle.boundSlots(), []);
    t.equal(idle.share(), 0, 'its share is 0');
    t.match(await idle.registry.getSingleMetricAsString('xinge_cluster_tps_share'), /carrier="cD"\} 0/);
    t.notOk(idle.pool.isUp());
    const before = sim.accountStats('acctD').submits;
    t.same(await idle.pool.submit(segment()), { kind: 'disconnected' }, 'a submit on it goes back to the caller');
    t.equal(sim.accountStats('acctD').submits, before, 'nothing reached the SMSC');
    t.ok(sim.accountStats('acctD').maxBinds <= 2, `never more than 2 binds (max ${sim.accountStats('acctD').maxBinds})`);
  });

  t.test('a node partitioned from PostgreSQL closes its bind before its lease can expire; the others re-bind after expiry', async (t) => {
    const sim = await startSimFor(t, 'acctB');
    const proxy = await new TcpProxy(db.port).start();
    t.teardown(() => proxy.close());
    const spec = { simPort: sim.port, carrierId: 'cB', systemId: 'acctB' };
    const p = await startBindNode({ ...base('p', spec), url: `postgres://postgres@127.0.0.1:${proxy.port}/${db.database}` });
    const others = await Promise.all(['q', 'r'].map((id) => startBindNode(base(id, spec))));
    const nodes = [p, ...others];
    t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
    const shares = watchShares(nodes);
    await waitUntil(() => nodes.every((n) => n.boundSlots().length === 1) && sim.accountStats('acctB').binds === 3, 30000, 'one bound slot on each node');
    const [slot] = p.slots() as [number];

    // When p's bind is closed, and when the lease it held runs out in the database.
    let closedAt = 0;
    let expiresAt: Promise<number> | undefined;
    p.pool.on('bind', (b) => {
      if (b.bindIndex !== slot || b.state !== 'closed' || closedAt !== 0) return;
      closedAt = Date.now();
      expiresAt = db
        .query<{ exp: string }>(`SELECT (extract(epoch FROM expires_at) * 1000)::float8 AS exp FROM cluster_bind_leases WHERE account = 'cB' AND slot = $1`, [slot])
        .then((r) => Number(r.rows[0]!.exp));
    });
    let simDroppedAt = 0;
    let simBackAt = 0;
    const poll = setInterval(() => {
      const n = sim.accountStats('acctB').binds;
      if (simDroppedAt === 0 && n < 3) simDroppedAt = Date.now();
      if (simDroppedAt !== 0 && simBackAt === 0 && n === 3) simBackAt = Date.now();
    }, 5);
    t.teardown(() => clearInterval(poll));

    proxy.blackhole();
    await waitUntil(() => closedAt !== 0 && simDroppedAt !== 0, 15000, 'p to close its bind');
    const expiry = await expiresAt!;
    t.ok(expiry - closedAt > 0, `p closed its bind ${expiry - closedAt} ms before its lease expired in the database`);
    t.ok(expiry - simDroppedAt > 0, `the simulator saw the bind gone ${expiry - simDroppedAt} ms before the expiry`);
    t.ok(p.lines.some((l) => l.includes('"reason":"renew_failed"')), 'p logged the lost lease');

    await waitUntil(() => q_r(others) === 3 && simBackAt !== 0, 20000, 'q and r to bind all 3 slots');
    t.ok(simBackAt >= expiry, `re-bound ${simBackAt - expiry} ms after the lease expired, not before`);
    t.comment(`partition: bind closed ${expiry - closedAt} ms before expiry; slot re-bound ${simBackAt - expiry} ms after it`);

    proxy.heal();
    await waitUntil(() => nodes.every((n) => n.boundSlots().length === 1) && sim.accountStats('acctB').binds === 3, 30000, 'p back with a slot after the heal');
    t.ok(sim.accountStats('acctB').maxBinds <= 3, `never more than 3 binds (max ${sim.accountStats('acctB').maxBinds})`);
    t.ok(shares.max() <= 90 * HEADROOM + 1e-9, `shares never summed above 81 (max ${shares.max()})`);
  });

  t.test('a node killed with SIGKILL: its bind is gone with it, the others re-bind its slot after the lease expires', async (t) => {
    const sim = await startSimFor(t, 'acctC');
    const spec = { simPort: sim.port, carrierId: 'cC', systemId: 'acctC' };
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'bind-node-process.ts'), JSON.stringify(base('x', spec))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    const xBound = new Set<number>();
    const ready = new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const e = JSON.parse(line) as { ready?: boolean; bind?: number; state?: string };
        if (e.ready) resolve();
        if (e.bind !== undefined) {
          if (e.state === 'bound') xBound.add(e.bind);
          else xBound.delete(e.bind);
        }
      });
    });
    await ready;
    const others = await Promise.all(['y', 'z'].map((id) => startBindNode(base(id, spec))));
    t.teardown(() => Promise.all(others.map((n) => n.stop())));
    await waitUntil(() => xBound.size === 1 && others.every((n) => n.boundSlots().length === 1) && sim.accountStats('acctC').binds === 3, 30000, 'x, y and z each with one bound slot');
    const [slot] = [...xBound] as [number];
    const before = await db.query<{ epoch: string; exp: string }>(`SELECT epoch, (extract(epoch FROM expires_at) * 1000)::float8 AS exp FROM cluster_bind_leases WHERE account = 'cC' AND slot = $1`, [slot]);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await waitUntil(() => sim.accountStats('acctC').binds === 2, 10000, 'the simulator to see the killed node\'s bind close');
    const rebound = await waitUntil(() => q_r(others) === 3 && sim.accountStats('acctC').binds === 3, 20000, 'y and z to bind all 3 slots');
    const after = await db.query<{ epoch: string; node_id: string; exp: string }>(`SELECT epoch, node_id, (extract(epoch FROM acquired_at) * 1000)::float8 AS exp FROM cluster_bind_leases WHERE account = 'cC' AND slot = $1`, [slot]);
    t.ok(['y', 'z'].includes(after.rows[0]!.node_id), `slot ${slot} now held by ${after.rows[0]!.node_id}`);
    t.ok(Number(after.rows[0]!.epoch) > Number(before.rows[0]!.epoch), 'with a higher epoch');
    t.ok(Number(after.rows[0]!.exp) >= Number(before.rows[0]!.exp) - 1, 'taken only once the killed node\'s lease had expired');
    t.comment(`killed node's slot re-bound ${Date.now() - killedAt} ms after SIGKILL (waited ${rebound} ms after the SMSC saw its bind close) (lease TTL ${TTL} ms, node TTL ${TTL} ms)`);
    t.ok(sim.accountStats('acctC').maxBinds <= 3, `never more than 3 binds (max ${sim.accountStats('acctC').maxBinds})`);
  });
}

function q_r(nodes: BindNode[]): number {
  return nodes.reduce((s, n) => s + n.boundSlots().length, 0);
}
