/**
 * Issue 21, point 3, against a real PostgreSQL: bind slot leases. The ledger (fixtures/
 * holders.ts) records every bind each holder opens and closes, as its callbacks report them,
 * and flags any moment with more binds open than the account allows.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres } from '../helpers/postgres.js';
import { createClusterPool } from '../../src/cluster/db.js';
import { migrateCluster } from '../../src/cluster/migrations.js';
import { slotQuota } from '../../src/cluster/slot-quota.js';
import { BindLedger, makeHolder, waitFor, type Holder } from './fixtures/holders.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const TTL = 2000; // renew every ~667 ms, slot reported lost 500 ms before expiry
const STABLE_TTL = 4000;

const db = await startTestPostgres(t);
if (db) {
  const pool = createClusterPool({ url: db.url, max: 1 });
  t.teardown(() => pool.end());
  await migrateCluster(pool);

  const holders = (ledger: BindLedger, account: string, names: string[], url = db.url, ttlMs = TTL): Holder[] =>
    names.map((nodeId) => makeHolder({ url, nodeId, ledger, accounts: { [account]: 4 }, ttlMs }));
  const held = (ledger: BindLedger, account: string, nodes: string[]): number[] => nodes.map((n) => ledger.heldBy(account, n));

  t.test('three holders on 4 slots: never more than 4 open, each holds at least one', async (t) => {
    const ledger = new BindLedger(4);
    // A longer TTL here: a holder whose renewal is late gives its slots up (by design), and in
    // the full suite on two cores a renewal was once late by more than 2 s's margin (a slot
    // moved, no limit broken). With 4 s a renewal may be 2.1 s late.
    const hs = holders(ledger, 'acct-three', ['a', 'b', 'c'], db.url, STABLE_TTL);
    t.teardown(() => Promise.all(hs.map((h) => h.stop())));
    await Promise.all(hs.map((h) => h.start()));
    // Balanced means each holds its quota among all three: a holder that passed before it saw
    // the third (a loaded host starts them unevenly) may hold 2 for a moment and give one back.
    const quotas = ['a', 'b', 'c'].map((n) => slotQuota('acct-three', 4, ['a', 'b', 'c'], n));
    const balanced = () => JSON.stringify(held(ledger, 'acct-three', ['a', 'b', 'c'])) === JSON.stringify(quotas) && ledger.open.get('acct-three')?.size === 4;
    const took = await waitFor(balanced, 20000, `all 4 slots held as the quotas say (${JSON.stringify(quotas)})`);
    t.comment(`converged in ${took} ms: ${JSON.stringify(held(ledger, 'acct-three', ['a', 'b', 'c']))}`);
    const settledAt = ledger.events.length;
    const errorsAt = hs.map((h) => h.errors.length);
    // The event loop's worst lateness over the window: a renewal timer that fires seconds late
    // loses its slot by design (the safety margin), which is not a rebalancing defect.
    let lastTick = Date.now();
    let worstLagMs = 0;
    const lagProbe = setInterval(() => {
      const now = Date.now();
      worstLagMs = Math.max(worstLagMs, now - lastTick - 50);
      lastTick = now;
    }, 50);
    // Several renewal rounds: nothing moves once balanced, and the limit holds throughout.
    await new Promise((r) => setTimeout(r, 2 * STABLE_TTL));
    clearInterval(lagProbe);
    t.same(ledger.violations, [], 'never more than 4 open, never a slot open twice');
    t.ok(ledger.maxOpen <= 4, `max open ${ledger.maxOpen}`);
    const moved = ledger.events.slice(settledAt);
    const reported = hs.flatMap((h, i) => h.errors.slice(errorsAt[i]));
    // A slot may move only when the host starved the holders: the event loop stalled past the
    // renewal margin (STABLE_TTL / 4), or a holder reported a failed or late renewal (a query
    // timed out under load). Otherwise any move is flapping and fails the test.
    const starved = worstLagMs > STABLE_TTL / 4 || reported.length > 0;
    t.comment(`worst event-loop lag ${worstLagMs} ms; ${reported.length} holder errors; ${moved.length} events after balance`);
    if (starved) {
      t.comment(`host starved the holders (${reported.map((e) => e.code).join(', ') || 'event loop stalled'}): moves tolerated, balance must return`);
      await waitFor(balanced, 20000, 'balance again after the stall');
    } else {
      t.same(moved.map((e) => `${e.node} ${e.kind} ${e.lease.slot} ${e.reason ?? ''}`), [], 'no slot moved once balanced');
    }
    t.ok(held(ledger, 'acct-three', ['a', 'b', 'c']).every((n) => n >= 1 && n <= 2), 'each holds 1 or 2 (ceil(4/3))');
    const rows = await db.query<{ node_id: string; n: string }>(
      `SELECT node_id, count(*) AS n FROM cluster_bind_leases WHERE account = 'acct-three' AND expires_at > now() GROUP BY node_id ORDER BY node_id`,
    );
    t.same(Object.fromEntries(rows.rows.map((r) => [r.node_id, Number(r.n)])), Object.fromEntries(['a', 'b', 'c'].map((n) => [n, ledger.heldBy('acct-three', n)])), 'the database agrees with the holders');
    await Promise.all(hs.map((h) => h.stop()));
    const left = await db.query(`SELECT 1 FROM cluster_bind_leases WHERE account = 'acct-three' AND node_id IS NOT NULL`);
    t.equal(left.rowCount, 0, 'stopping hands every lease back');
  });

  t.test('a holder killed with SIGKILL loses its slots to the others after the TTL', async (t) => {
    const ledger = new BindLedger(4);
    const hs = holders(ledger, 'acct-kill', ['a', 'b']);
    t.teardown(() => Promise.all(hs.map((h) => h.stop())));
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lease-holder-process.ts'), db.url, 'x', 'acct-kill', '4', String(TTL)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = JSON.parse(buf.slice(0, nl)) as { kind: 'acquired' | 'lost'; account: string; slot: number; epoch: number };
        buf = buf.slice(nl + 1);
        if (e.kind === 'acquired') ledger.acquired('x', e);
        else ledger.lost('x', e);
      }
    });
    await Promise.all(hs.map((h) => h.start()));
    await waitFor(() => held(ledger, 'acct-kill', ['a', 'b', 'x']).every((n) => n >= 1) && ledger.open.get('acct-kill')?.size === 4, 30000, 'a, b and the child process each hold a slot');
    const xSlots = [...ledger.open.get('acct-kill')!].filter(([, n]) => n === 'x').map(([s]) => Number(s));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    for (const s of xSlots) ledger.lost('x', { account: 'acct-kill', slot: s, epoch: 0 }); // a dead process has no binds
    const took = await waitFor(() => ledger.heldBy('acct-kill', 'a') + ledger.heldBy('acct-kill', 'b') === 4, 20000, 'a and b to hold all 4 slots');
    t.comment(`killed holder's slots ${JSON.stringify(xSlots)} re-held ${took} ms after SIGKILL (lease TTL ${TTL} ms, node TTL ${TTL} ms)`);
    t.ok(Date.now() - killedAt >= TTL - TTL / 4 - 100, 'not before its lease could have expired');
    t.same(ledger.violations, [], 'never more than 4 open, never a slot open twice');
    const epochs = await db.query<{ slot: number; epoch: string; node_id: string }>(`SELECT slot, epoch, node_id FROM cluster_bind_leases WHERE account = 'acct-kill' AND slot = ANY($1::int[])`, [xSlots]);
    const firstEpochs = new Map(ledger.events.filter((e) => e.node === 'x' && e.kind === 'acquired').map((e) => [e.lease.slot, e.lease.epoch]));
    for (const r of epochs.rows) t.ok(Number(r.epoch) > firstEpochs.get(r.slot)!, `slot ${r.slot} now held by ${r.node_id} with a higher epoch (${r.epoch} > ${firstEpochs.get(r.slot)})`);
  });

  t.test('a holder cut off from the database reports its slots lost before its leases expire', async (t) => {
    const proxy = await new TcpProxy(db.port).start();
    t.teardown(() => proxy.close());
    const ledger = new BindLedger(4);
    const proxied = `postgres://postgres@127.0.0.1:${proxy.port}/${db.database}`;
    const checks: Array<Promise<{ slot: number; holder: string; epochSame: boolean; msBeforeExpiry: number }>> = [];
    const [p] = [
      makeHolder({
        url: proxied,
        nodeId: 'p',
        ledger,
        accounts: { 'acct-part': 4 },
        ttlMs: TTL,
        onLost: (lease, reason) => {
          if (reason !== 'renew_failed') return;
          const lostAt = Date.now();
          // Read the lease as the database has it right now, over a direct connection.
          checks.push(
            db
              .query<{ node_id: string; epoch: string; exp: string }>(`SELECT node_id, epoch, (extract(epoch FROM expires_at) * 1000)::float8 AS exp FROM cluster_bind_leases WHERE account = $1 AND slot = $2`, ['acct-part', lease.slot])
              .then((r) => ({ slot: lease.slot, holder: r.rows[0]!.node_id, epochSame: Number(r.rows[0]!.epoch) === lease.epoch, msBeforeExpiry: Number(r.rows[0]!.exp) - lostAt })),
          );
        },
      }),
    ];
    const others = holders(ledger, 'acct-part', ['q', 'r']);
    const all = [p!, ...others];
    t.teardown(() => Promise.all(all.map((h) => h.stop())));
    await Promise.all(all.map((h) => h.start()));
    await waitFor(() => held(ledger, 'acct-part', ['p', 'q', 'r']).every((n) => n >= 1) && ledger.open.get('acct-part')?.size === 4, 20000, 'p, q and r each hold a slot');
    const pSlots = ledger.heldBy('acct-part', 'p');
    proxy.blackhole();
    await waitFor(() => ledger.heldBy('acct-part', 'p') === 0, 10000, 'p to report its slots lost');
    const seen = await Promise.all(checks);
    t.equal(seen.length, pSlots, `p reported all ${pSlots} slot(s) lost for want of renewal`);
    for (const s of seen) {
      t.ok(s.holder === 'p' && s.epochSame && s.msBeforeExpiry > 0, `slot ${s.slot}: lost ${Math.round(s.msBeforeExpiry)} ms before its lease expired in the database (holder there: ${s.holder})`);
    }
    const took = await waitFor(() => ledger.heldBy('acct-part', 'q') + ledger.heldBy('acct-part', 'r') === 4, 20000, 'q and r to take the partitioned slots');
    t.comment(`q and r held all 4 slots ${took} ms after p let go`);
    t.same(ledger.violations, [], 'never more than 4 open, never a slot open twice');
    t.ok(p!.errors.some((e) => e.code === 'cluster_lease_lost'), 'p reported cluster_lease_lost');
    proxy.heal();
    await waitFor(() => held(ledger, 'acct-part', ['p', 'q', 'r']).every((n) => n >= 1), 30000, 'p to get a slot back once the partition heals');
    t.same(ledger.violations, [], 'still never more than 4 open after the heal');
    t.ok(ledger.maxOpen <= 4);
  });

  t.test('a terminated backend does not cost a holder its slots: the pool reconnects in time', async (t) => {
    const ledger = new BindLedger(2);
    const [h] = [makeHolder({ url: db.url, nodeId: 'solo', ledger, accounts: { 'acct-term': 2 }, ttlMs: TTL })];
    t.teardown(() => h!.stop());
    await h!.start();
    await waitFor(() => ledger.heldBy('acct-term', 'solo') === 2, 10000, 'solo to hold both slots');
    const before = ledger.events.length;
    const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder-solo'`);
    t.ok((killed.rowCount ?? 0) >= 1, `terminated ${killed.rowCount} backend(s)`);
    await new Promise((r) => setTimeout(r, 2 * TTL));
    t.equal(ledger.heldBy('acct-term', 'solo'), 2, 'still holds both slots');
    t.equal(ledger.events.length, before, 'no slot was lost and re-taken');
  });

  t.test('fewer binds after a reload: the slots above the new count are given back and the rest spread again', async (t) => {
    const ledger = new BindLedger(4);
    const hs = holders(ledger, 'acct-shrink', ['a', 'b']);
    t.teardown(() => Promise.all(hs.map((h) => h.stop())));
    await Promise.all(hs.map((h) => h.start()));
    await waitFor(() => ledger.heldBy('acct-shrink', 'a') === 2 && ledger.heldBy('acct-shrink', 'b') === 2, 20000, 'two slots each');
    ledger.limit = 2;
    for (const h of hs) h.leases.setAccount('acct-shrink', 2);
    const openSlots = (): string => [...ledger.open.get('acct-shrink')!.keys()].sort().join(',');
    await waitFor(() => ledger.heldBy('acct-shrink', 'a') === 1 && ledger.heldBy('acct-shrink', 'b') === 1 && openSlots() === '0,1', 20000, 'one slot each of slots 0 and 1');
    await new Promise((r) => setTimeout(r, TTL));
    t.equal(openSlots(), '0,1', 'only slots 0 and 1 are open, and it stays so');
    t.equal(ledger.heldBy('acct-shrink', 'a'), 1);
    t.ok(ledger.events.some((e) => e.kind === 'lost' && e.reason === 'removed'), 'slots above the count were given back as removed');
    t.same(ledger.violations.filter((v) => !v.includes('limit 2')), [], 'never a slot open twice');
  });

  t.test('renewals stuck behind a lock: the holder reports its slots lost before they expire, and gets them back after', async (t) => {
    const ledger = new BindLedger(2);
    const checks: Array<Promise<{ slot: number; holder: string; msBeforeExpiry: number }>> = [];
    const [h] = [
      makeHolder({
        url: db.url,
        nodeId: 'locked',
        ledger,
        accounts: { 'acct-lock': 2 },
        ttlMs: TTL,
        onLost: (lease, reason) => {
          if (reason !== 'renew_failed') return;
          const lostAt = Date.now();
          checks.push(
            db
              .query<{ node_id: string; exp: string }>(`SELECT node_id, (extract(epoch FROM expires_at) * 1000)::float8 AS exp FROM cluster_bind_leases WHERE account = $1 AND slot = $2`, ['acct-lock', lease.slot])
              .then((r) => ({ slot: lease.slot, holder: r.rows[0]!.node_id, msBeforeExpiry: Number(r.rows[0]!.exp) - lostAt })),
          );
        },
      }),
    ];
    t.teardown(() => h!.stop());
    await h!.start();
    await waitFor(() => ledger.heldBy('acct-lock', 'locked') === 2, 10000, 'both slots held');
    // Another session locks the rows: every renewal waits until statement_timeout (1 s here),
    // and the next one waits again, so no renewal lands while the lock is held.
    const locker = createClusterPool({ url: db.url, max: 1, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 60000 });
    t.teardown(() => locker.end());
    const c = await locker.connect();
    await c.query('BEGIN');
    await c.query(`SELECT 1 FROM cluster_bind_leases WHERE account = 'acct-lock' FOR UPDATE`);
    await waitFor(() => ledger.heldBy('acct-lock', 'locked') === 0, 10000, 'the slots to be reported lost');
    const seen = await Promise.all(checks);
    t.equal(seen.length, 2, 'both slots reported lost for want of renewal');
    for (const s of seen) t.ok(s.holder === 'locked' && s.msBeforeExpiry > 0, `slot ${s.slot}: lost ${Math.round(s.msBeforeExpiry)} ms before its lease expired`);
    await waitFor(() => h!.errors.some((e) => /renewal/.test(e.message)), 10000, 'the stuck renewal to be reported');
    t.match(h!.errors.find((e) => /renewal/.test(e.message)), { name: 'ClusterError', code: 'cluster_db_unavailable', message: /canceling statement due to statement timeout|timeout/ }, 'the stuck renewal was reported as cluster_db_unavailable');
    await c.query('COMMIT');
    c.release();
    await waitFor(() => ledger.heldBy('acct-lock', 'locked') === 2, 15000, 'the slots to be taken again once the lock is gone');
    t.same(ledger.violations, [], 'never a slot open twice');
  });
}
