/**
 * Issue 21, points 3 and 4, the pure parts: how many slots a node aims for, and its TPS
 * share; plus the cluster config keys.
 */
import t from 'tap';
import fc from 'fast-check';
import { slotQuota } from '../../src/cluster/slot-quota.js';
import { NodeTpsShare, tpsShare } from '../../src/cluster/tps-share.js';
import { clusterConfigSchema } from '../../src/cluster/config.js';

t.test('quotas sum to binds, none above ceil(binds/nodes), each node ≥ 1 while nodes ≤ binds', async (t) => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 40 }),
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 9 }),
      (account, binds, nodes) => {
        const quotas = nodes.map((n) => slotQuota(account, binds, nodes, n));
        const sum = quotas.reduce((a, b) => a + b, 0);
        if (sum !== binds) return false;
        if (quotas.some((q) => q > Math.ceil(binds / nodes.length))) return false;
        if (nodes.length <= binds && quotas.some((q) => q < 1)) return false;
        return true;
      },
    ),
    { numRuns: 2000 },
  );
  t.equal(slotQuota('acct', 4, ['b', 'c'], 'a'), slotQuota('acct', 4, ['a', 'b', 'c'], 'a'), 'a node counts itself live even if the registry has not seen it yet');
});

t.test('accounts with one bind spread over the nodes', async (t) => {
  const nodes = ['n1', 'n2', 'n3'];
  const owners = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const owner = nodes.find((n) => slotQuota(`carrier-${i}`, 1, nodes, n) === 1)!;
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
  }
  t.equal(owners.size, 3, `every node owns some single-bind accounts: ${JSON.stringify([...owners])}`);
});

t.test('tpsShare is tps × held / binds × headroom', async (t) => {
  t.equal(tpsShare(100, 1, 4, 0.9), 22.5);
  t.equal(tpsShare(100, 4, 4, 1), 100);
  t.equal(tpsShare(100, 0, 4, 0.9), 0);
  t.equal(tpsShare(100, 6, 4, 1), 100, 'held beyond binds counts as binds');
  t.throws(() => tpsShare(100, 1, 4, 1.2), { name: 'ClusterError', code: 'cluster_invalid_options' });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 1, max: 16 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (tps, binds, headroom) => {
      let sum = 0;
      for (let k = 0; k < binds; k++) sum += tpsShare(tps, 1, binds, headroom);
      return sum <= tps * headroom + 1e-9;
    }),
  );
});

t.test('NodeTpsShare follows slots and reports each change once', async (t) => {
  const seen: number[] = [];
  const share = new NodeTpsShare({ tps: 200, binds: 4, headroom: 0.8, onChange: (r) => seen.push(r) });
  share.slotAcquired(0);
  share.slotAcquired(3);
  share.slotAcquired(3);
  share.slotLost(0);
  share.retune(200, 2); // slot 3 no longer exists
  t.same(seen, [40, 80, 40, 0]);
  t.equal(share.rate, 0);
  t.throws(() => new NodeTpsShare({ tps: 1, binds: 1, headroom: 0 }), { name: 'ClusterError', code: 'cluster_invalid_options' });
});

t.test('cluster config: defaults, and errors that name the key', async (t) => {
  const c = clusterConfigSchema.parse({});
  t.match(c, { node_ttl_ms: 10000, bind_lease_ttl_ms: 10000, tps_headroom: 0.9, statement_timeout_ms: 5000 });
  const bad = clusterConfigSchema.safeParse({ bind_lease_ttl_ms: 2000, bind_lease_renew_ms: 1500 });
  t.notOk(bad.success);
  t.same(bad.error?.issues[0]?.path, ['bind_lease_renew_ms']);
  const headroom = clusterConfigSchema.safeParse({ tps_headroom: 1.5 });
  t.same(headroom.error?.issues[0]?.path, ['tps_headroom']);
  t.notOk(clusterConfigSchema.safeParse({ tps_headrom: 0.5 }).success, 'unknown keys are refused');
});
