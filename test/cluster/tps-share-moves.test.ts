/**
 * Issue 21, point 4, against a real PostgreSQL: the nodes' TPS shares of one account
 * (tps 100, 4 binds, headroom 0.9) while slots move: a node joins, a node stops, a node is
 * partitioned and comes back. At every acquisition and loss the shares must sum to at most
 * tps × headroom. Each node also sends through a real AdaptiveTokenBucket retuned to its
 * share (burst a tenth of a second of its share), and the test measures the most sends in
 * any one-second window: the figure the issue asks for, reported as a comment.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { createClusterPool } from '../../src/cluster/db.js';
import { migrateCluster } from '../../src/cluster/migrations.js';
import { NodeTpsShare } from '../../src/cluster/tps-share.js';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';
import { monotonicNow } from '../../src/domain/clock.js';
import { BindLedger, makeHolder, waitFor, type Holder } from './fixtures/holders.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const TPS = 100;
const BINDS = 4;
const HEADROOM = 0.9;
const TTL = 2000;
const ACCOUNT = 'acct-tps';

const db = await startTestPostgres(t);
if (db) {
  t.test('shares sum to at most tps × headroom while slots move', async (t) => {
    const pool = createClusterPool({ url: db.url, max: 1 });
    t.teardown(() => pool.end());
    await migrateCluster(pool);
    const proxy = await new TcpProxy(db.port).start();
    t.teardown(() => proxy.close());

    const ledger = new BindLedger(BINDS);
    const shares = new Map<string, NodeTpsShare>();
    const buckets = new Map<string, AdaptiveTokenBucket>();
    const sumNow = (): number => [...shares.values()].reduce((s, x) => s + x.rate, 0);
    let maxSum = 0;
    let observations = 0;
    ledger.listeners.push(() => {
      observations++;
      maxSum = Math.max(maxSum, sumNow());
    });
    const holder = (nodeId: string, url = db.url): Holder => {
      const share = new NodeTpsShare({
        tps: TPS,
        binds: BINDS,
        headroom: HEADROOM,
        onChange: (rate) => {
          if (rate <= 0) return; // no bind open: the sender below sends nothing
          const b = buckets.get(nodeId);
          if (b) b.retune(rate, Math.max(1, rate / 10));
          else buckets.set(nodeId, new AdaptiveTokenBucket({ tps: rate, burst: Math.max(1, rate / 10), now: monotonicNow }));
        },
      });
      shares.set(nodeId, share);
      // The share moves before the ledger sees the event, as the daemon would retune before opening a bind.
      return makeHolder({ url, nodeId, ledger, accounts: { [ACCOUNT]: BINDS }, ttlMs: TTL, onAcquired: (l) => share.slotAcquired(l.slot), onLost: (l) => share.slotLost(l.slot) });
    };
    // NB: onAcquired/onLost above run after the ledger records the event; recompute on a
    // microtask so the observation sees the updated shares.
    ledger.listeners.length = 0;
    ledger.listeners.push(() =>
      queueMicrotask(() => {
        observations++;
        maxSum = Math.max(maxSum, sumNow());
      }),
    );

    const sends: number[] = [];
    const sender = setInterval(() => {
      for (const [nodeId, share] of shares) {
        const b = buckets.get(nodeId);
        if (!b || share.rate <= 0) continue;
        const n = b.tryTake(1000);
        const at = Date.now();
        for (let i = 0; i < n; i++) sends.push(at);
      }
    }, 10);
    t.teardown(() => clearInterval(sender));

    const a = holder('a');
    const b = holder('b');
    const c = holder('c', `postgres://postgres@127.0.0.1:${proxy.port}/${db.database}`);
    const all: Holder[] = [a, b, c];
    t.teardown(() => Promise.all(all.map((h) => h.stop())));
    await Promise.all(all.map((h) => h.start()));
    const nodesHold = (names: string[]): boolean => names.every((n) => ledger.heldBy(ACCOUNT, n) >= 1) && ledger.open.get(ACCOUNT)?.size === BINDS;
    await waitFor(() => nodesHold(['a', 'b', 'c']), 20000, 'a, b, c to share the 4 slots');
    const measureFrom = Date.now();

    const d = holder('d');
    all.push(d);
    await d.start();
    await waitFor(() => nodesHold(['a', 'b', 'c', 'd']), 20000, 'd to get a slot (one each)');
    t.same(['a', 'b', 'c', 'd'].map((n) => shares.get(n)!.rate), [22.5, 22.5, 22.5, 22.5], 'four nodes, one slot each: 22.5/s each');

    await b.stop();
    await waitFor(() => nodesHold(['a', 'c', 'd']), 20000, "b's slot to move to a, c or d");

    proxy.blackhole();
    await waitFor(() => ledger.heldBy(ACCOUNT, 'c') === 0 && nodesHold(['a', 'd']), 20000, "c's slots to move to a and d during the partition");
    t.equal(shares.get('c')!.rate, 0, 'the partitioned node has no share');
    proxy.heal();
    await waitFor(() => nodesHold(['a', 'c', 'd']), 30000, 'c to get a slot back after the heal');
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(sender);

    t.same(ledger.violations, [], 'never more than 4 binds open');
    t.ok(observations >= 8, `${observations} observations at slot moves`);
    t.ok(maxSum <= TPS * HEADROOM + 1e-9, `shares summed to at most ${maxSum}/s at every move (cap ${TPS * HEADROOM}/s): overshoot ${Math.max(0, maxSum - TPS * HEADROOM)}/s`);

    // Most sends in any one-second window after the first balance.
    const window = sends.filter((s) => s >= measureFrom);
    let most = 0;
    for (let i = 0, j = 0; j < window.length; j++) {
      while (window[j]! - window[i]! >= 1000) i++;
      most = Math.max(most, j - i + 1);
    }
    const seconds = (window[window.length - 1]! - window[0]!) / 1000;
    t.comment(`sent ${window.length} in ${seconds.toFixed(1)} s (${(window.length / seconds).toFixed(1)}/s average); most in any 1 s window: ${most} (account tps ${TPS}, shared cap ${TPS * HEADROOM})`);
    t.ok(most <= TPS, `the combined send rate never passed the account's tps in any 1 s window (${most} ≤ ${TPS})`);
  });
}
