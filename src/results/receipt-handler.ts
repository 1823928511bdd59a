/**
 * Receipts from carriers (SPEC 7): parse TLVs and text, match the id to a segment still
 * awaiting a receipt per the carrier's dlr_id mode, write the result, and only then send
 * deliver_sm_resp. A receipt that arrives before its submit_sm_resp is stored in the same
 * commit (so a crash loses it not) and applied when the resp comes; one for a segment that
 * already ended is counted late, not applied; one that never matches is answered, counted
 * and logged once, whatever the number of id forms it was held under. Held receipts are
 * capped by count and bytes (inbound.*); one pushed out is counted as evicted.
 */
import type { Logger } from 'pino';
import type { InboundDeliver } from '../carriers/connector.js';
import type { CarrierConfig } from '../config/schema.js';
import type { AuxStore, MessageStore, ReceiptSettleItem, ReceiptTarget } from '../store/types.js';
import type { SegmentStatus } from '../domain/types.js';
import type { Metrics } from '../observability/metrics.js';
import { isVendorCode, parseReceipt, type Receipt } from './receipt-parse.js';
import { receiptToStatus } from './receipt-status.js';
import { candidateIds, normaliseId } from './dlr-id.js';
import type { ResultsWriter } from './writer.js';
import { LogLimiter } from '../observability/log-limiter.js';
import { answerFailed } from './inbound-batch.js';
import { HeldReceipts, toStored, type HeldReceipt, type StoredReceipt } from './held-receipts.js';

export interface ReceiptHandlerDeps {
  messages: MessageStore;
  aux: AuxStore;
  results: ResultsWriter;
  commit: <T>(fn: () => T) => Promise<T>;
  carrier: (id: string) => CarrierConfig | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** How long a receipt is held for its resp (default 60 s). */
  holdMs?: number;
  maxHeld?: number;
  maxHeldBytes?: number;
  /** Repeated warnings per carrier, thinned (shared with the reply handler). */
  log?: LogLimiter;
}

type Outcome = 'applied' | 'late' | 'none';

/** Receipts per unit (and per statement on PostgreSQL) at most. */
const MAX_RECEIPTS_PER_UNIT = 1000;

interface Prepared {
  ev: InboundDeliver;
  carrierId: string;
  keys: string[];
  stored: StoredReceipt;
  /** When it was received (a hold runs from here). */
  at: number;
}

/** A receipt's outcome in its commit, with its hold when it matched nothing yet. */
interface Applied {
  r: Outcome;
  holdId: number | undefined;
  body: string;
}

export class ReceiptHandler {
  readonly #d: ReceiptHandlerDeps;
  readonly #held: HeldReceipts;
  readonly #holdMs: number;
  readonly #mDlr;
  readonly #log: LogLimiter;

  constructor(deps: ReceiptHandlerDeps) {
    this.#d = deps;
    this.#mDlr = deps.metrics.hot.dlr;
    this.#log = deps.log ?? new LogLimiter(deps.logger, { now: deps.now });
    this.#holdMs = deps.holdMs ?? 60000;
    this.#held = new HeldReceipts({ maxCount: deps.maxHeld ?? 10000, maxBytes: deps.maxHeldBytes ?? 4 * 1024 * 1024 });
    // Held before the last stop: their resps may still come (bind replays) or their hold run out.
    // In a cluster only this node's; another node's are its own, a dead node's come through adopt().
    this.#load(deps.aux.heldReceipts());
  }

  /**
   * Cluster: held receipts of a node that is gone, now this node's (AuxStore.adoptHeldReceipts):
   * held here until their resp is found or their hold runs out (from when they were received).
   */
  adopt(rows: ReadonlyArray<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }>): void {
    for (const id of this.#load(rows)) this.#retry(id);
  }

  /** Into the in-memory hold; returns the ids added. */
  #load(rows: ReadonlyArray<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }>): number[] {
    const evicted: HeldReceipt[] = [];
    const ids: number[] = [];
    for (const row of rows) {
      let receipt: StoredReceipt;
      try {
        receipt = JSON.parse(row.body) as StoredReceipt;
      } catch {
        continue;
      }
      evicted.push(...this.#held.add({ id: row.id, carrierId: row.carrierId, keys: row.keys, receipt, at: row.receivedAt }, row.body));
      ids.push(row.id);
    }
    if (evicted.length > 0) this.#evict(evicted);
    return ids;
  }

  /** Receipts held for their resp now, and their bytes (gauges, tests). */
  get held(): { count: number; bytes: number } {
    return { count: this.#held.size, bytes: this.#held.bytes };
  }

  handle(ev: InboundDeliver): void {
    const p = this.#prepare(ev);
    if (p !== undefined) this.#handleOne(p);
  }

  /**
   * A turn's receipts, in one unit and one store call (PostgreSQL: one statement, where each
   * receipt cost two round trips). A receipt sharing an id form with one before it is handled
   * after them, on its own, as handle() would: each receipt sees what the ones before it wrote.
   */
  handleMany(evs: readonly InboundDeliver[]): void {
    const batch: Prepared[] = [];
    const after: Prepared[] = [];
    const seen = new Set<string>();
    for (const ev of evs) {
      let p: Prepared | undefined;
      try {
        p = this.#prepare(ev);
      } catch (err) {
        this.#failed(ev, err);
        continue;
      }
      if (p === undefined) continue;
      const pairs = p.keys.map((k) => `${p.carrierId}\u0000${k}`);
      (pairs.some((x) => seen.has(x)) ? after : batch).push(p);
      for (const x of pairs) seen.add(x);
    }
    // A flood of receipts in one turn goes in bounded statements (one unit each, in order).
    for (let i = 0; i < batch.length; i += MAX_RECEIPTS_PER_UNIT) {
      const part = batch.slice(i, i + MAX_RECEIPTS_PER_UNIT);
      try {
        this.#handleBatch(part);
      } catch (err) {
        for (const p of part) this.#failed(p.ev, err);
      }
    }
    for (const p of after) {
      try {
        this.#handleOne(p);
      } catch (err) {
        this.#failed(p.ev, err);
      }
    }
  }

  #failed(ev: InboundDeliver, err: unknown): void {
    answerFailed(this.#d.logger, ev, err);
  }

  /** Parsed, counted and its id forms known; or answered already (unparseable, no id, unknown carrier). */
  #prepare(ev: InboundDeliver): Prepared | undefined {
    const c = this.#d.carrier(ev.carrierId);
    let receipt: Receipt;
    try {
      receipt = parseReceipt({ shortMessage: ev.shortMessage, tlvs: ev.tlvs });
    } catch (err) {
      this.#log.warn(ev.carrierId, { carrier: ev.carrierId, err: { message: (err as Error).message } }, 'unparseable receipt');
      this.#d.metrics.dlrUnmatched.inc({ carrier: ev.carrierId });
      ev.ack(0);
      return undefined;
    }
    this.#mDlr(ev.carrierId, receipt.stat).inc();
    if (receipt.id === undefined || c === undefined) {
      this.#unmatched(ev.carrierId, receipt.stat);
      ev.ack(0);
      return undefined;
    }
    return { ev, carrierId: ev.carrierId, keys: candidateIds(receipt.id, c.dlr_id), stored: toStored(receipt), at: this.#d.now() };
  }

  #handleOne(p: Prepared): void {
    const { carrierId, keys, stored } = p;
    // Looked up inside the group commit, so a submit_sm_resp already processed (its write
    // queued ahead of this one) is seen; the result, or the hold, is written in the same
    // transaction and deliver_sm_resp goes after the commit.
    this.#d
      .commit(() => this.#holdIfNone(p, this.#apply(carrierId, keys, stored)))
      .then(
        (done) => this.#answered(p, done),
        (err: unknown) => {
          this.#d.logger.error({ err }, 'receipt write failed');
          p.ev.ack(0x08); // ESME_RSYSERR: the SMSC will resend it
        },
      );
  }

  #handleBatch(batch: readonly Prepared[]): void {
    const d = this.#d;
    d.commit(() =>
      // A savepoint: a failed statement undoes this unit alone, not the group's transaction.
      d.messages.transaction(() => {
        const now = d.now();
        const states = batch.map((p) => this.#statusOf(p.stored));
        const items: ReceiptSettleItem[] = batch.map((p, i) => ({ carrierId: p.carrierId, keys: p.keys, settle: d.results.receiptSettle(states[i].status, states[i].info) }));
        const outcomes = d.messages.settleReceipts(items, now);
        return batch.map((p, i) => {
          const o = outcomes[i];
          let r: Outcome;
          if (o.target === undefined) r = p.keys.some((k) => d.messages.hasEndedSegment(p.carrierId, k)) ? 'late' : 'none';
          else {
            this.#observeLatency(o.target, now);
            // Settled by the store, or (multipart, not final) applied here as one receipt is.
            const applied = o.settled ? d.results.receiptSettled(o, now) : d.results.segmentReceipt(o.target, states[i].status, now, states[i].info);
            r = applied ? 'applied' : 'late';
          }
          return this.#holdIfNone(p, r);
        });
      }),
    ).then(
      (done) => batch.forEach((p, i) => this.#answered(p, done[i])),
      (err: unknown) => {
        d.logger.error({ err }, 'receipt write failed');
        for (const p of batch) p.ev.ack(0x08);
      },
    );
  }

  /** Inside the commit: a receipt that matched nothing yet is stored, held for its resp. */
  #holdIfNone(p: Prepared, r: Outcome): Applied {
    if (r !== 'none') return { r, holdId: undefined, body: '' };
    const body = JSON.stringify(p.stored);
    return { r, holdId: this.#d.aux.insertHeldReceipt({ carrierId: p.carrierId, keys: p.keys, body, receivedAt: p.at }), body };
  }

  /** After the commit: deliver_sm_resp, then what the outcome asks for. */
  #answered(p: Prepared, a: Applied): void {
    p.ev.ack(0);
    if (a.r === 'late') this.#late(p.carrierId, p.stored.stat);
    else if (a.r === 'none' && a.holdId !== undefined) {
      const evicted = this.#held.add({ id: a.holdId, carrierId: p.carrierId, keys: p.keys, receipt: p.stored, at: p.at }, a.body);
      if (evicted.length > 0) this.#evict(evicted);
      // The resp may have been handled while this unit waited for its commit: look once more.
      this.#retry(a.holdId);
    }
  }

  /** A submit_sm_resp arrived: apply a receipt that came first. */
  accepted(carrierId: string, carrierMsgId: string): void {
    if (this.#held.size === 0) return;
    const h = this.#held.find(carrierId, normaliseId(carrierMsgId));
    // The accepted() write is queued in the group commit before this lookup.
    if (h !== undefined) this.#retry(h.id);
  }

  /**
   * Cluster (store.driver: postgres): the resp of a held receipt may be recorded by another
   * node, whose accepted() never reaches this one; so every held receipt is looked up again
   * in the shared store (the maintenance loop calls this every couple of seconds).
   */
  reconcile(): void {
    for (const id of this.#held.ids()) this.#retry(id);
  }

  /** Held receipts whose hold ran out: late (their segment ended) or unmatched, counted once each. */
  sweep(): void {
    const expired = this.#held.expire(this.#d.now() - this.#holdMs);
    if (expired.length === 0) return;
    this.#d
      .commit(() =>
        expired.map((h) => {
          this.#d.aux.deleteHeldReceipt(h.id);
          return h.keys.some((k) => this.#d.messages.hasEndedSegment(h.carrierId, k));
        }),
      )
      .then(
        (late) => expired.forEach((h, i) => (late[i] ? this.#late(h.carrierId, h.receipt.stat) : this.#unmatched(h.carrierId, h.receipt.stat))),
        (err: unknown) => this.#d.logger.error({ err }, 'held receipt expiry failed'),
      );
  }

  #retry(holdId: number): void {
    this.#d
      .commit(() => {
        const h = this.#held.get(holdId);
        if (h === undefined) return undefined;
        const r = this.#apply(h.carrierId, h.keys, h.receipt);
        // Still ahead of its resp: it stays held (and stored) for the next try.
        if (r === 'none') return undefined;
        this.#held.remove(h.id);
        this.#d.aux.deleteHeldReceipt(h.id);
        return { h, r };
      })
      .then(
        (res) => {
          if (res?.r === 'late') this.#late(res.h.carrierId, res.h.receipt.stat);
        },
        (err: unknown) => this.#d.logger.error({ err }, 'held receipt failed'),
      );
  }

  /** Inside a commit: apply to the newest segment awaiting a receipt, or say why not. */
  #apply(carrierId: string, keys: readonly string[], r: StoredReceipt): Outcome {
    const seg = this.#lookup(carrierId, keys);
    if (seg !== undefined) return this.#applyNow(seg, r) ? 'applied' : 'late';
    return keys.some((k) => this.#d.messages.hasEndedSegment(carrierId, k)) ? 'late' : 'none';
  }

  #lookup(carrierId: string, keys: readonly string[]): ReceiptTarget | undefined {
    for (const key of keys) {
      const s = this.#d.messages.findSegmentByCarrierMsgId(carrierId, key);
      if (s !== undefined) return s;
    }
    return undefined;
  }

  #applyNow(seg: ReceiptTarget, r: StoredReceipt): boolean {
    const now = this.#d.now();
    const { status, info } = this.#statusOf(r);
    this.#observeLatency(seg, now);
    return this.#d.results.segmentReceipt(seg, status, now, info);
  }

  #statusOf(r: StoredReceipt): { status: SegmentStatus; info: { stat?: string; err?: string } } {
    // Chinese SMSCs put the real outcome in the text (stat:MK:0005) even when the TLV says
    // DELIVERED: a vendor failure code in the text wins over the TLV.
    const stat = r.conflict && isVendorCode(r.rawStat) && r.textStat !== undefined ? r.textStat : r.stat;
    const info: { stat?: string; err?: string } = { stat: r.rawStat ?? stat };
    if (r.err !== undefined) info.err = r.err;
    return { status: receiptToStatus(stat), info };
  }

  #observeLatency(seg: ReceiptTarget, now: number): void {
    if (seg.submittedAt !== null) this.#d.metrics.dlrLatency.labels(seg.carrierId).observe(Math.max(0, now - seg.submittedAt) / 1000);
  }

  #evict(evicted: readonly HeldReceipt[]): void {
    for (const h of evicted) {
      this.#d.metrics.dlrHeldEvicted.inc({ carrier: h.carrierId });
      this.#log.warn(h.carrierId, { carrier: h.carrierId, held: this.#held.size }, 'held receipt evicted: too many receipts ahead of their resp');
    }
    this.#d.commit(() => {
      for (const h of evicted) this.#d.aux.deleteHeldReceipt(h.id);
    }).catch((err: unknown) => this.#d.logger.error({ err }, 'held receipt eviction failed'));
  }

  #late(carrierId: string, stat: string): void {
    this.#d.metrics.dlrLate.inc({ carrier: carrierId });
    this.#log.warn(carrierId, { carrier: carrierId, stat }, 'receipt after the segment ended: counted, not applied');
  }

  #unmatched(carrierId: string, stat: string): void {
    this.#d.metrics.dlrUnmatched.inc({ carrier: carrierId });
    this.#log.warn(carrierId, { carrier: carrierId, stat }, 'receipt matches no segment');
  }
}
