/**
 * Bind slot leases (issue 21, point 3). A carrier account allows `binds` binds; slot
 * k = 0..binds-1 is a row in cluster_bind_leases, held by at most one node until its
 * expires_at (database clock). A node opens bind k only between onAcquired and onLost for
 * that slot.
 *
 * Why a partition can never leave more binds open than the account allows:
 * - a lease is taken or renewed by one statement whose now() is at or after the moment this
 *   node sent it (`sentAt`, monotonic clock), so the lease runs in the database until at
 *   least sentAt + ttl;
 * - this node reports the slot lost at sentAt + ttl − safetyMargin by its own monotonic
 *   clock, whether or not the database answers (a timer per slot, independent of queries);
 * - another node takes the slot only once expires_at <= now() in the database.
 * So the old holder closes bind k at least safetyMargin before anyone else may open it. The
 * margin covers a late timer (a busy event loop), the time onLost needs to drop the socket,
 * and clock rate drift. The fencing `epoch` grows on every change of holder; a process
 * frozen longer than the margin (SIGSTOP, swap) is the case it exists for: anything it
 * writes can be checked against the epoch.
 *
 * Balance: every tick (ttl/3) the node renews what it holds, then per account takes free or
 * expired slots up to its quota (slot-quota.ts) and gives back slots above it, so the
 * account's binds spread over the live nodes.
 */
import type pg from 'pg';
import { monotonicNow, type MonotonicClock } from '../domain/clock.js';
import { ClusterError, asClusterError } from './errors.js';
import { slotQuota } from './slot-quota.js';

export interface SlotLease {
  account: string;
  slot: number;
  /** Fencing token: grows each time the slot changes holder. */
  epoch: number;
}

/**
 * renew_failed: not renewed in time (database unreachable or slow); taken: the database no
 * longer has this node as holder; rebalanced: given back so another node can hold it;
 * removed: the account or the slot is no longer configured; stopped: the node is stopping.
 */
export type SlotLostReason = 'renew_failed' | 'taken' | 'rebalanced' | 'removed' | 'stopped';

export interface BindSlotLeasesOptions {
  pool: pg.Pool;
  nodeId: string;
  /** Lease length on the database clock. */
  ttlMs: number;
  /** Default ttlMs / 3: two renewals can fail before a slot is lost. */
  renewEveryMs?: number;
  /** Report a slot lost this long before its lease can expire. Default ttlMs / 4. */
  safetyMarginMs?: number;
  /** Monotonic milliseconds; default performance.now. */
  now?: MonotonicClock;
  /** The live nodes (NodeRegistry.liveNodes); this node counts as live in any case. */
  liveNodes: () => Promise<readonly string[]>;
  /** The node may now open bind `slot` of `account`. */
  onAcquired: (lease: SlotLease) => void;
  /**
   * Close bind `slot` now. For a missed renewal it is called at the deadline and must close
   * the bind within the safety margin (destroy the socket; an unbind may wait). For a
   * voluntary release the lease is handed back only after the returned promise settles.
   */
  onLost: (lease: SlotLease, reason: SlotLostReason) => void | Promise<void>;
  /** A query failed or a slot was lost for want of renewal. Never thrown. */
  onError?: (err: ClusterError) => void;
}

interface HeldSlot {
  lease: SlotLease;
  /** Monotonic ms at which the slot is reported lost unless renewed. */
  deadline: number;
  timer: NodeJS.Timeout;
}

const key = (account: string, slot: number): string => `${account}\u0000${slot}`;

export class BindSlotLeases {
  readonly nodeId: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly safetyMarginMs: number;
  readonly #o: BindSlotLeasesOptions;
  readonly #now: MonotonicClock;
  readonly #accounts = new Map<string, { binds: number; ensured: number }>();
  readonly #held = new Map<string, HeldSlot>();
  #interval: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #stopping = false;

  constructor(o: BindSlotLeasesOptions) {
    this.#o = o;
    this.nodeId = o.nodeId;
    this.ttlMs = o.ttlMs;
    this.renewEveryMs = o.renewEveryMs ?? o.ttlMs / 3;
    this.safetyMarginMs = o.safetyMarginMs ?? o.ttlMs / 4;
    this.#now = o.now ?? monotonicNow;
    if (!o.nodeId) throw new ClusterError('cluster_invalid_options', 'bind slot leases: nodeId is required');
    if (!(this.ttlMs > 0 && this.renewEveryMs > 0 && this.safetyMarginMs > 0)) {
      throw new ClusterError('cluster_invalid_options', 'bind slot leases: ttl, renew interval and safety margin must be > 0');
    }
    if (this.renewEveryMs + this.safetyMarginMs >= this.ttlMs) {
      throw new ClusterError(
        'cluster_invalid_options',
        `bind slot leases: renew interval (${this.renewEveryMs} ms) + safety margin (${this.safetyMarginMs} ms) must be below the ttl (${this.ttlMs} ms)`,
      );
    }
  }

  /** Declares an account and its bind count (again on a reload); slots ≥ binds are given back on the next tick. */
  setAccount(account: string, binds: number): void {
    if (!Number.isInteger(binds) || binds < 0) throw new ClusterError('cluster_invalid_options', `bind slot leases: binds of ${account} must be an integer ≥ 0`);
    const known = this.#accounts.get(account);
    this.#accounts.set(account, { binds, ensured: known?.ensured ?? 0 });
  }

  /** Forgets an account: its slots are given back on the next tick. */
  removeAccount(account: string): void {
    this.#accounts.delete(account);
  }

  /** The slots this node holds now (of one account, or all). */
  held(account?: string): SlotLease[] {
    return [...this.#held.values()]
      .map((h) => h.lease)
      .filter((l) => account === undefined || l.account === account)
      .sort((a, b) => (a.account === b.account ? a.slot - b.slot : a.account < b.account ? -1 : 1));
  }

  /** Runs a first pass now, then one every renewEveryMs. */
  start(): void {
    if (this.#interval) return;
    this.#stopping = false;
    this.tick();
    this.#interval = setInterval(() => this.tick(), this.renewEveryMs);
    this.#interval.unref(); // the daemon's servers keep the process alive, not the lease loop
  }

  /** One pass (renew, then balance); a pass still running is joined, not doubled. */
  tick(): Promise<void> {
    if (!this.#tick) this.#tick = this.#pass().finally(() => (this.#tick = undefined));
    return this.#tick;
  }

  /** Stops ticking and hands every slot back (onLost 'stopped' first, then the database). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#interval) clearInterval(this.#interval);
    this.#interval = undefined;
    await this.#tick;
    for (const h of [...this.#held.values()]) await this.#release(h, 'stopped');
  }

  async #pass(): Promise<void> {
    if (this.#stopping) return;
    await this.#renew();
    let live: readonly string[];
    try {
      live = await this.#o.liveNodes();
    } catch (err) {
      this.#report(asClusterError('cluster_db_unavailable', 'bind slot leases: live nodes unknown', err));
      return;
    }
    for (const h of [...this.#held.values()]) {
      if (!this.#accounts.has(h.lease.account)) await this.#release(h, 'removed');
    }
    for (const [account, a] of [...this.#accounts]) {
      if (this.#stopping) return;
      await this.#balance(account, a.binds, live);
    }
  }

  async #renew(): Promise<void> {
    const held = [...this.#held.values()];
    if (held.length === 0) return;
    const sentAt = this.#now();
    let rows: Array<{ account: string; slot: number; epoch: string }>;
    try {
      ({ rows } = await this.#o.pool.query<{ account: string; slot: number; epoch: string }>(
        `UPDATE cluster_bind_leases l SET expires_at = now() + make_interval(secs => $5::double precision / 1000)
           FROM unnest($2::text[], $3::int[], $4::bigint[]) AS h(account, slot, epoch)
          WHERE l.account = h.account AND l.slot = h.slot AND l.epoch = h.epoch
            AND l.node_id = $1 AND l.expires_at > now()
         RETURNING l.account, l.slot, l.epoch`,
        [this.nodeId, held.map((h) => h.lease.account), held.map((h) => h.lease.slot), held.map((h) => h.lease.epoch), this.ttlMs],
      ));
    } catch (err) {
      // The deadline timers stay as they are: the slots are lost at their deadline unless a
      // later renewal gets through.
      this.#report(asClusterError('cluster_db_unavailable', `bind slot leases: renewal of ${held.length} slot(s) failed`, err));
      return;
    }
    const renewed = new Set(rows.map((r) => `${key(r.account, r.slot)}\u0000${r.epoch}`));
    const deadline = sentAt + this.ttlMs - this.safetyMarginMs;
    for (const h of held) {
      const current = this.#held.get(key(h.lease.account, h.lease.slot));
      if (current !== h) continue; // lost at its deadline while the query ran
      if (!renewed.has(`${key(h.lease.account, h.lease.slot)}\u0000${h.lease.epoch}`)) this.#lose(h, 'taken');
      else this.#arm(h, deadline);
    }
  }

  async #balance(account: string, binds: number, live: readonly string[]): Promise<void> {
    // Slots at or above the bind count (lowered by a reload) go first, whatever the quota.
    for (const lease of this.held(account).filter((l) => l.slot >= binds)) {
      const h = this.#held.get(key(account, lease.slot));
      if (h) await this.#release(h, 'removed');
    }
    const mine = this.held(account);
    const quota = slotQuota(account, binds, live, this.nodeId);
    if (mine.length > quota) {
      // Give back the highest slots; lower slots stay put so binds move as little as possible.
      for (const lease of mine.slice(quota).reverse()) {
        const h = this.#held.get(key(account, lease.slot));
        if (h) await this.#release(h, 'rebalanced');
      }
      return;
    }
    if (mine.length === quota) return;
    try {
      await this.#ensureRows(account, binds);
    } catch (err) {
      this.#report(asClusterError('cluster_db_unavailable', `bind slot leases: slots of ${account} not created`, err));
      return;
    }
    const sentAt = this.#now();
    let rows: Array<{ slot: number; epoch: string }>;
    try {
      ({ rows } = await this.#o.pool.query<{ slot: number; epoch: string }>(
        `WITH candidate AS (
           SELECT account, slot FROM cluster_bind_leases
            WHERE account = $1 AND slot < $2 AND slot <> ALL($5::int[])
              AND (node_id IS NULL OR expires_at <= now())
            ORDER BY slot
            LIMIT $4
            FOR UPDATE SKIP LOCKED)
         UPDATE cluster_bind_leases l
            SET node_id = $3, epoch = l.epoch + 1, acquired_at = now(),
                expires_at = now() + make_interval(secs => $6::double precision / 1000)
           FROM candidate c
          WHERE l.account = c.account AND l.slot = c.slot
         RETURNING l.slot, l.epoch`,
        [account, binds, this.nodeId, quota - mine.length, mine.map((l) => l.slot), this.ttlMs],
      ));
    } catch (err) {
      this.#report(asClusterError('cluster_db_unavailable', `bind slot leases: acquiring slots of ${account} failed`, err));
      return;
    }
    const deadline = sentAt + this.ttlMs - this.safetyMarginMs;
    for (const r of rows.sort((a, b) => a.slot - b.slot)) {
      const lease: SlotLease = { account, slot: r.slot, epoch: Number(r.epoch) };
      // An answer that came after its own deadline gives nothing usable: leave the row to
      // expire. (A node never re-takes a row that still names it: two processes configured
      // with the same node_id must not share slots.)
      if (this.#stopping || this.#now() >= deadline || !this.#accounts.has(account)) continue;
      const h: HeldSlot = { lease, deadline, timer: undefined as unknown as NodeJS.Timeout };
      this.#held.set(key(account, r.slot), h);
      this.#arm(h, deadline);
      try {
        this.#o.onAcquired(lease);
      } catch (err) {
        // The owner could not even start opening the bind: keep the slot (its connector
        // retries with backoff) rather than let it bounce between nodes.
        this.#report(asClusterError('cluster_callback_failed', `bind slot ${lease.slot} of ${account}: onAcquired threw`, err));
      }
    }
  }

  async #ensureRows(account: string, binds: number): Promise<void> {
    const a = this.#accounts.get(account);
    if (!a || a.ensured >= binds) return;
    await this.#o.pool.query(
      `INSERT INTO cluster_bind_leases (account, slot)
       SELECT $1, s FROM generate_series(0, $2::int - 1) AS s
       ON CONFLICT (account, slot) DO NOTHING`,
      [account, binds],
    );
    a.ensured = binds;
  }

  #arm(h: HeldSlot, deadline: number): void {
    clearTimeout(h.timer);
    h.deadline = deadline;
    h.timer = setTimeout(() => {
      if (this.#held.get(key(h.lease.account, h.lease.slot)) !== h) return;
      this.#report(new ClusterError('cluster_lease_lost', `bind slot ${h.lease.slot} of ${h.lease.account}: not renewed in time, reported lost`));
      this.#lose(h, 'renew_failed');
    }, Math.max(0, deadline - this.#now()));
    h.timer.unref();
  }

  /** Forgets the slot and tells the owner to close the bind; the database is not asked. */
  #lose(h: HeldSlot, reason: SlotLostReason): void {
    clearTimeout(h.timer);
    this.#held.delete(key(h.lease.account, h.lease.slot));
    try {
      const closing = this.#o.onLost(h.lease, reason);
      if (closing instanceof Promise) closing.catch(() => {});
    } catch {
      /* the owner's failure to close is its own to log; the slot is gone either way */
    }
  }

  /** Closes the bind (awaited), then hands the lease back so another node need not wait for expiry. */
  async #release(h: HeldSlot, reason: SlotLostReason): Promise<void> {
    clearTimeout(h.timer);
    this.#held.delete(key(h.lease.account, h.lease.slot));
    try {
      await this.#o.onLost(h.lease, reason);
    } catch {
      /* as in #lose */
    }
    try {
      await this.#o.pool.query(
        `UPDATE cluster_bind_leases SET node_id = NULL, expires_at = now()
          WHERE account = $1 AND slot = $2 AND node_id = $3 AND epoch = $4`,
        [h.lease.account, h.lease.slot, this.nodeId, h.lease.epoch],
      );
    } catch (err) {
      this.#report(asClusterError('cluster_db_unavailable', `bind slot ${h.lease.slot} of ${h.lease.account}: release failed (it expires by itself)`, err));
    }
  }

  #report(err: ClusterError): void {
    try {
      this.#o.onError?.(err);
    } catch {
      /* a reporting hook must not break the lease loop */
    }
  }
}
