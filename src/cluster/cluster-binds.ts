/**
 * The carriers' binds and TPS under cluster leases (issue 21, points 3 and 4): the glue
 * between BindSlotLeases, each SMPP carrier's BindPool (in leased mode) and its rate gate.
 *
 * - Every SMPP carrier is an account of `binds` slots (its id is the lease's account).
 * - onAcquired(slot k): the account's TPS share goes up (the rate gate is retuned), then the
 *   pool opens bind k.
 * - onLost(slot k): the share goes down first, then the bind is closed: at once (socket
 *   destroyed) when the lease could not be renewed or was taken, since another node may
 *   open it once the lease expires; with an unbind (in-flight submits answered first) when
 *   the slot is handed back (rebalanced, removed, stopped), and the lease is released only
 *   once the bind is closed (hard after half a renewal interval: the lease loop waits).
 * - The share (tps × held / binds × headroom, tps-share.ts) retunes the carrier's
 *   AdaptiveTokenBucket with retune(share, min(burst × share / tps, share × (1 − headroom) / headroom)):
 *   the bursts of all nodes fit in what the headroom leaves of tps. A bucket that ESME_RTHROTTLED
 *   slowed down stays below the new share and recovers towards it (AIMD keeps working below
 *   the share); one at full rate moves to the share. With no slot the pool has no bind, so
 *   the node sends nothing on that account (the bucket keeps its last rate, unused).
 *
 * The order (share down before a bind closes, up only after a lease is taken, which is only
 * after the previous holder lost it) keeps the sum of the nodes' shares ≤ tps × headroom.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { BindSlotLeases, type SlotLease, type SlotLostReason } from './bind-slot-leases.js';
import type { ClusterError } from './errors.js';
import type { ClusterMetrics } from './metrics.js';
import { NodeTpsShare } from './tps-share.js';

/** What a connector needs for leased binds (BindPool fits). */
export interface LeasedConnector {
  readonly leased: boolean;
  useLeases(): void;
  openSlot(k: number): void;
  closeSlot(k: number, how: 'hard' | 'soft'): Promise<void>;
}

export function isLeasedConnector(c: unknown): c is LeasedConnector {
  const x = c as Partial<LeasedConnector> | null;
  return typeof x === 'object' && x !== null && typeof x.useLeases === 'function' && typeof x.openSlot === 'function' && typeof x.closeSlot === 'function';
}

/** One carrier as the daemon runs it (the dispatcher's CarrierRuntime fits). */
export interface ClusterCarrier {
  readonly config: { readonly id: string; readonly binds: number; readonly tps: number; readonly burst?: number | undefined };
  /** The config its binds were built with, when a reload changed bind keys (they wait for a restart). */
  readonly running?: { readonly binds: number } | undefined;
  readonly connector: unknown;
  /** Read at each retune: a reload may replace the gate. */
  readonly rate: { retune?(tps: number, burst?: number): void };
}

export interface ClusterBindsOptions {
  pool: pg.Pool;
  nodeId: string;
  ttlMs: number;
  renewEveryMs?: number | undefined;
  safetyMarginMs?: number | undefined;
  /** Fraction of each account's tps the nodes share out (cluster.tps_headroom). */
  headroom: number;
  liveNodes: () => Promise<readonly string[]>;
  carriers: () => Iterable<ClusterCarrier>;
  logger: Logger;
  metrics?: ClusterMetrics | undefined;
}

interface Account {
  carrier: ClusterCarrier;
  connector: LeasedConnector;
  share: NodeTpsShare;
}

export class ClusterBinds {
  readonly leases: BindSlotLeases;
  readonly #o: ClusterBindsOptions;
  readonly #log: Logger;
  readonly #accounts = new Map<string, Account>();

  constructor(o: ClusterBindsOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'cluster' });
    this.leases = new BindSlotLeases({
      pool: o.pool,
      nodeId: o.nodeId,
      ttlMs: o.ttlMs,
      ...(o.renewEveryMs !== undefined ? { renewEveryMs: o.renewEveryMs } : {}),
      ...(o.safetyMarginMs !== undefined ? { safetyMarginMs: o.safetyMarginMs } : {}),
      liveNodes: o.liveNodes,
      onAcquired: (lease) => this.#acquired(lease),
      onLost: (lease, reason) => this.#lost(lease, reason),
      onError: (err) => this.#error(err),
    });
  }

  /**
   * Puts every SMPP carrier's pool in leased mode and declares its account. Call before the
   * connectors start: a pool that already bound without a lease would exceed the account.
   */
  prepare(): void {
    for (const carrier of this.#o.carriers()) {
      const id = carrier.config.id;
      if (!isLeasedConnector(carrier.connector)) {
        this.#log.warn({ carrier: id }, 'cluster: carrier connector has no bind slots: its binds are not shared through leases');
        continue;
      }
      carrier.connector.useLeases();
      const binds = (carrier.running ?? carrier.config).binds;
      const share = new NodeTpsShare({ tps: carrier.config.tps, binds, headroom: this.#o.headroom, onChange: (rate) => this.#retune(id, rate) });
      this.#accounts.set(id, { carrier, connector: carrier.connector, share });
      this.leases.setAccount(id, binds);
      this.#o.metrics?.slotsHeld(id, 0);
      this.#o.metrics?.tpsShare(id, 0);
    }
  }

  start(): void {
    this.leases.start();
  }

  /** Unbinds every bind this node holds (soft) and hands its leases back. */
  stop(): Promise<void> {
    return this.leases.stop();
  }

  /**
   * A config reload: an account's tps may have changed (its binds wait for a restart), and
   * the reload retuned the rate gate to the whole tps: bring it back to this node's share.
   */
  reload(): void {
    for (const [id, a] of this.#accounts) {
      a.share.retune(a.carrier.config.tps, (a.carrier.running ?? a.carrier.config).binds);
      this.#retune(id, a.share.rate);
    }
  }

  /** Slots held and the TPS share per carrier (status, tests). */
  status(): Array<{ carrier: string; slots: number[]; share: number }> {
    return [...this.#accounts].map(([id, a]) => ({ carrier: id, slots: this.leases.held(id).map((l) => l.slot), share: a.share.rate }));
  }

  #acquired(lease: SlotLease): void {
    const a = this.#accounts.get(lease.account);
    if (!a) return;
    a.share.slotAcquired(lease.slot);
    this.#o.metrics?.slotsHeld(lease.account, a.share.held);
    this.#log.info({ carrier: lease.account, slot: lease.slot, epoch: lease.epoch, share: round(a.share.rate) }, 'cluster: bind slot acquired');
    a.connector.openSlot(lease.slot);
  }

  #lost(lease: SlotLease, reason: SlotLostReason): Promise<void> | undefined {
    const a = this.#accounts.get(lease.account);
    if (!a) return undefined;
    a.share.slotLost(lease.slot);
    this.#o.metrics?.slotsHeld(lease.account, a.share.held);
    this.#o.metrics?.slotLost(lease.account, reason);
    const forced = reason === 'renew_failed' || reason === 'taken';
    this.#log[forced ? 'warn' : 'info']({ carrier: lease.account, slot: lease.slot, epoch: lease.epoch, reason, share: round(a.share.rate) }, forced ? 'cluster: bind slot lost: closing its bind now' : 'cluster: bind slot handed back: unbinding');
    if (forced) {
      // Not waited on by the lease loop: the socket is destroyed before closeSlot returns.
      void this.#close(a, lease, 'hard');
      return undefined;
    }
    return this.#softClose(a, lease);
  }

  /**
   * An unbind, bounded: the lease loop waits for it and renews nothing meanwhile, so a bind
   * whose SMSC is slow to answer its in-flight submits or the unbind is closed hard after
   * half a renewal interval (its in-flight submits go back as for a drop).
   */
  async #softClose(a: Account, lease: SlotLease): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, this.leases.renewEveryMs / 2, 'late')));
    const outcome = await Promise.race([this.#close(a, lease, 'soft').then(() => 'closed' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.#log.warn({ carrier: lease.account, slot: lease.slot, waitedMs: Math.round(this.leases.renewEveryMs / 2) }, 'cluster: unbind too slow: closing the bind now');
      await this.#close(a, lease, 'hard');
    }
  }

  #close(a: Account, lease: SlotLease, how: 'hard' | 'soft'): Promise<void> {
    return a.connector.closeSlot(lease.slot, how).catch((err: unknown) => {
      this.#log.warn({ carrier: lease.account, slot: lease.slot, err: (err as Error).message }, 'cluster: closing a bind failed');
    });
  }

  #retune(id: string, rate: number): void {
    this.#o.metrics?.tpsShare(id, rate);
    const a = this.#accounts.get(id);
    if (!a || !(rate > 0)) return; // no slot: no bind either, so nothing is sent
    const c = a.carrier.config;
    const burst = c.burst ?? Math.max(1, Math.ceil(c.tps));
    // A bucket lets rate + burst through in any one second. The nodes' rates sum to at most
    // tps × headroom, so their bursts together may use only the rest of tps: the carrier
    // never sees more than tps in a second, even when every node starts from a full bucket.
    const h = this.#o.headroom;
    const burstRoom = (rate * (1 - h)) / h;
    a.carrier.rate.retune?.(rate, Math.max(1, Math.min((burst * rate) / c.tps, burstRoom)));
  }

  #error(err: ClusterError): void {
    this.#o.metrics?.error(err.code);
    this.#log.warn({ code: err.code, err: err.message }, 'cluster: lease work failed');
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;
