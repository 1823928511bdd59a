/**
 * Receipts and replies owed to SMPP clients (SPEC 8): recorded in the store inside the
 * transaction that produced them (durable while no receiver bind is up, and across a
 * restart), then sent as deliver_sm on the account's receiver/transceiver binds, within
 * each bind's window. A row leaves the store only when the client answered ESME_ROK; a
 * timeout or a dropped bind leaves it for the next bind (at-least-once). Rows are taken as
 * claims with a lease (store.claim): when the ESME is bound to several nodes of a cluster,
 * each row goes out from one node at a time, and a dead node's rows again after its lease.
 */
import type { Logger } from 'pino';
import type { SmppOutboxRow, SmppOutboxStore } from '../store/types.js';
import { deliverFields, type OwedDeliver } from './deliver-pdu.js';
import type { DeliverResult, ServerSession } from './server-session.js';

export interface ForwarderDeps {
  outbox: SmppOutboxStore;
  /** Removal of a delivered row goes through the group commit. */
  commit: (fn: () => void) => Promise<unknown>;
  /** The account's bound sessions. */
  sessions: (systemId: string) => readonly ServerSession[];
  zone: () => string;
  now: () => number;
  logger: Logger;
  /** For metrics: a deliver_sm's outcome. */
  sent?: (systemId: string, kind: SmppOutboxRow['kind'], result: DeliverResult) => void;
  /** A client refusing the same deliver_sm this many times gets it no more (default 10). */
  maxRefusals?: number;
  /**
   * How long this node's claim on a row it took holds (cluster: an ESME bound to several
   * nodes); longer than a deliver_sm may wait for its resp. Default 60 s.
   */
  claimLeaseMs?: () => number;
}

const BATCH = 500;
/** A refused deliver_sm waits this long before it is offered again (the periodic pump retries it). */
const REFUSED_RETRY_MS = 5000;
const DEFAULT_CLAIM_LEASE_MS = 60_000;

export class DeliverForwarder {
  readonly #d: ForwarderDeps;
  /** Row ids on the wire (awaiting deliver_sm_resp), by account. */
  readonly #onWire = new Map<string, Set<number>>();
  readonly #scheduled = new Set<string>();
  /** Rows a client refused: not offered again before this time (ms). */
  readonly #refusedUntil = new Map<number, number>();
  #stopped = false;

  constructor(deps: ForwarderDeps) {
    this.#d = deps;
  }

  /** Record a deliver_sm for the account (call inside the store transaction that caused it). */
  owe(systemId: string, body: OwedDeliver): void {
    this.#d.outbox.add(systemId, body.kind, JSON.stringify(body), this.#d.now());
    // After the caller's transaction: better-sqlite3 commits synchronously, before any immediate.
    this.schedule(systemId);
  }

  schedule(systemId: string): void {
    if (this.#stopped || this.#scheduled.has(systemId)) return;
    this.#scheduled.add(systemId);
    setImmediate(() => {
      this.#scheduled.delete(systemId);
      this.pump(systemId);
    });
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Send what the account's binds can take now. */
  pump(systemId: string): void {
    if (this.#stopped) return;
    const receivers = this.#d.sessions(systemId).filter((s) => s.canReceive);
    if (receivers.length === 0) return;
    const wire = this.#onWire.get(systemId) ?? new Set<number>();
    this.#onWire.set(systemId, wire);
    let free = receivers.reduce((n, s) => n + s.freeWindow, 0);
    if (free === 0) return;
    let after = 0;
    let turn = 0;
    while (free > 0) {
      // Enough rows to fill the free slots past those already on the wire or waiting after a refusal.
      // A claim: in a cluster the account's binds on other nodes do not get these meanwhile.
      const rows = this.#d.outbox.claim(systemId, after, Math.min(BATCH, free + wire.size + this.#refusedUntil.size), this.#d.now(), this.#leaseMs());
      if (rows.length === 0) return;
      for (const row of rows) {
        after = row.id;
        if (wire.has(row.id) || (this.#refusedUntil.get(row.id) ?? 0) > this.#d.now()) continue;
        // Round robin over the binds with room.
        let s: ServerSession | undefined;
        for (let i = 0; i < receivers.length && s === undefined; i++) {
          const c = receivers[(turn + i) % receivers.length]!;
          if (c.freeWindow > 0) s = c;
        }
        if (s === undefined) return;
        turn++;
        free--;
        this.#send(systemId, s, row, wire);
        if (free === 0) return;
      }
    }
  }

  #send(systemId: string, s: ServerSession, row: SmppOutboxRow, wire: Set<number>): void {
    let body: OwedDeliver;
    try {
      body = JSON.parse(row.body) as OwedDeliver;
    } catch {
      this.#d.logger.error({ systemId, row: row.id }, 'smpp server: unreadable owed deliver_sm dropped');
      this.#d.outbox.remove(row.id);
      return;
    }
    let sending: Promise<DeliverResult>;
    try {
      sending = s.deliver(deliverFields(body, this.#d.zone()));
    } catch (err) {
      // Cannot be encoded (an address over 20 characters, say): it never will be.
      this.#d.logger.error({ systemId, kind: row.kind, err: { message: (err as Error).message } }, 'smpp server: owed deliver_sm cannot be encoded: dropped');
      this.#d.outbox.remove(row.id);
      return;
    }
    wire.add(row.id);
    void sending.then((r) => {
      this.#d.sent?.(systemId, row.kind, r);
      if (r === 'ok') {
        this.#refusedUntil.delete(row.id);
        // Still counted on the wire until its removal commits: a pump in between must not send it again.
        void this.#d.commit(() => this.#d.outbox.remove(row.id)).then(
          () => wire.delete(row.id),
          (err: unknown) => {
            wire.delete(row.id);
            this.#d.logger.error({ err: { message: (err as Error).message } }, 'smpp server: could not clear a sent deliver_sm');
          },
        );
        return;
      }
      wire.delete(row.id);
      try {
        if (r === 'refused') {
          // Counted; a client that refuses it every time must not block the rest forever.
          this.#d.outbox.attempted(row.id);
          this.#refusedUntil.set(row.id, this.#d.now() + REFUSED_RETRY_MS);
          if (row.attempts + 1 >= (this.#d.maxRefusals ?? 10)) {
            this.#d.logger.warn({ systemId, kind: row.kind }, 'smpp server: client keeps refusing a deliver_sm: dropped');
            this.#refusedUntil.delete(row.id);
            this.#d.outbox.remove(row.id);
            return;
          }
        }
        // timeout / closed / refused: the row stays; the next pump here (a bind, a free slot, the
        // timer) or on another node the ESME is bound to resends it (a refused one not before the retry time).
        this.#d.outbox.release(row.id, this.#d.now(), r === 'refused' ? REFUSED_RETRY_MS : 0);
      } catch (err) {
        // The store did not answer: the claim runs out by itself, the row stays.
        this.#d.logger.error({ systemId, err: { message: (err as Error).message } }, 'smpp server: could not give back an undelivered deliver_sm');
      }
    });
  }

  #leaseMs(): number {
    return this.#d.claimLeaseMs?.() ?? DEFAULT_CLAIM_LEASE_MS;
  }
}
