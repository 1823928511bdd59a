/**
 * How many bind slots of an account one node should hold (issue 21, point 3). Pure.
 *
 * With B slots and N live nodes, every node gets floor(B/N) and B mod N nodes get one more,
 * so the quotas sum to B, no node exceeds ceil(B/N), and while N ≤ B every node holds at
 * least one bind: an account keeps binds on more than one host. Which nodes get the extra
 * slot rotates with a hash of the account, so accounts with one bind do not all land on
 * the same node.
 *
 * Quotas only steer: a node takes free slots up to its quota and gives back slots above it.
 * Safety (never more than B binds) comes from the lease rows, not from the nodes agreeing
 * on N.
 */
export function slotQuota(account: string, binds: number, liveNodes: readonly string[], nodeId: string): number {
  if (binds <= 0) return 0;
  const nodes = [...new Set([...liveNodes, nodeId])].sort();
  const n = nodes.length;
  const base = Math.floor(binds / n);
  const extra = binds % n;
  const offset = fnv1a(account) % n;
  const rank = (nodes.indexOf(nodeId) - offset + n) % n;
  return base + (rank < extra ? 1 : 0);
}

/** FNV-1a, 32-bit: a stable spread, not a security property. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
