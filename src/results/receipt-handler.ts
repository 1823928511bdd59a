/**
 * Receipts from carriers (SPEC 7): parse TLVs and text, match the id to a segment per the
 * carrier's dlr_id mode, write the result, and only then send deliver_sm_resp. A receipt
 * that arrives before its submit_sm_resp is held (lru-cache) and applied when the resp
 * comes; one that never matches is answered, counted and logged.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { InboundDeliver } from '../carriers/connector.js';
import type { CarrierConfig } from '../config/schema.js';
import type { MessageStore, ReceiptTarget } from '../store/types.js';
import type { Metrics } from '../observability/metrics.js';
import { isVendorCode, parseReceipt, type Receipt } from './receipt-parse.js';
import { receiptToStatus } from './receipt-status.js';
import { candidateIds, normaliseId } from './dlr-id.js';
import type { ResultsWriter } from './writer.js';
import { LogLimiter } from '../observability/log-limiter.js';

interface Held {
  receipt: Receipt;
  carrierId: string;
  at: number;
}

export interface ReceiptHandlerDeps {
  messages: MessageStore;
  results: ResultsWriter;
  commit: <T>(fn: () => T) => Promise<T>;
  carrier: (id: string) => CarrierConfig | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  holdMs?: number;
  /** Repeated warnings per carrier, thinned (shared with the reply handler). */
  log?: LogLimiter;
}

export class ReceiptHandler {
  readonly #d: ReceiptHandlerDeps;
  readonly #held: LRUCache<string, Held>;

  readonly #mDlr;
  readonly #log: LogLimiter;

  constructor(deps: ReceiptHandlerDeps) {
    this.#d = deps;
    this.#log = deps.log ?? new LogLimiter(deps.logger, { now: deps.now });
    this.#mDlr = deps.metrics.hot.dlr;
    this.#held = new LRUCache<string, Held>({
      max: 100000,
      ttl: deps.holdMs ?? 60000,
      ttlAutopurge: true,
      dispose: (v, _k, reason) => {
        if (reason === 'expire' || reason === 'evict') this.#unmatched(v.carrierId, v.receipt);
      },
    });
  }

  handle(ev: InboundDeliver): void {
    const c = this.#d.carrier(ev.carrierId);
    let receipt: Receipt;
    try {
      receipt = parseReceipt({ shortMessage: ev.shortMessage, tlvs: ev.tlvs });
    } catch (err) {
      this.#d.logger.warn({ carrier: ev.carrierId, err: { message: (err as Error).message } }, 'unparseable receipt');
      this.#d.metrics.dlrUnmatched.inc({ carrier: ev.carrierId });
      ev.ack(0);
      return;
    }
    this.#mDlr(ev.carrierId, receipt.stat).inc();
    if (receipt.id === undefined || c === undefined) {
      this.#unmatched(ev.carrierId, receipt);
      ev.ack(0);
      return;
    }
    const id = receipt.id;
    // Looked up inside the group commit, so a submit_sm_resp already processed (its write
    // queued ahead of this one) is seen; the result is written in the same transaction and
    // deliver_sm_resp goes after the commit.
    this.#tryApply(ev.carrierId, id, c.dlr_id, receipt).then(
      (result) => {
        if (result === 'late') this.#late(ev.carrierId, receipt);
        else if (result === 'none') {
          // Ahead of its submit_sm_resp: hold it (acknowledged now; the SMSC must not resend forever).
          for (const key of candidateIds(id, c.dlr_id)) this.#held.set(`${ev.carrierId}\u0000${key}`, { receipt, carrierId: ev.carrierId, at: this.#d.now() });
          // The resp may have been processed while this lookup waited: look once more after it.
          void this.#retryHeld(ev.carrierId, id, c.dlr_id);
        }
        ev.ack(0);
      },
      (err: unknown) => {
        this.#d.logger.error({ err }, 'receipt write failed');
        ev.ack(0x08); // ESME_RSYSERR: the SMSC will resend it
      },
    );
  }

  /**
   * 'applied', 'late' (the segment with this id has ended: an intermediate or duplicate receipt
   * after a final one, not applied) or 'none' (no segment yet: ahead of its submit_sm_resp).
   */
  #tryApply(carrierId: string, id: string, mode: CarrierConfig['dlr_id'], receipt: Receipt): Promise<'applied' | 'late' | 'none'> {
    return this.#d.commit(() => {
      const keys = candidateIds(id, mode);
      const seg = this.#lookup(carrierId, keys);
      if (seg !== undefined) return this.#applyNow(seg, receipt) ? 'applied' : 'late';
      return keys.some((k) => this.#d.messages.hasEndedSegment(carrierId, k)) ? 'late' : 'none';
    });
  }

  async #retryHeld(carrierId: string, id: string, mode: CarrierConfig['dlr_id']): Promise<void> {
    const keys = candidateIds(id, mode).map((k) => `${carrierId}\u0000${k}`);
    const held = keys.map((k) => this.#held.get(k)).find((h) => h !== undefined);
    if (held === undefined) return;
    const result = await this.#tryApply(carrierId, id, mode, held.receipt);
    if (result === 'none') return;
    for (const k of keys) this.#held.delete(k);
    if (result === 'late') this.#late(carrierId, held.receipt);
  }

  /** A submit_sm_resp arrived: apply a receipt that came first. */
  accepted(carrierId: string, carrierMsgId: string): void {
    if (this.#held.size === 0) return;
    const held = this.#held.get(`${carrierId}\u0000${normaliseId(carrierMsgId)}`);
    const c = this.#d.carrier(carrierId);
    if (held === undefined || c === undefined || held.receipt.id === undefined) return;
    // The accepted() write is queued in the same group commit before this lookup.
    this.#retryHeld(carrierId, held.receipt.id, c.dlr_id).catch((err: unknown) => this.#d.logger.error({ err }, 'held receipt failed'));
  }

  #lookup(carrierId: string, keys: readonly string[]): ReceiptTarget | undefined {
    for (const key of keys) {
      const s = this.#d.messages.findSegmentByCarrierMsgId(carrierId, key);
      if (s !== undefined) return s;
    }
    return undefined;
  }

  #applyNow(seg: ReceiptTarget, r: Receipt): boolean {
    const now = this.#d.now();
    // Chinese SMSCs put the real outcome in the text (stat:MK:0005) even when the TLV says
    // DELIVERED: a vendor failure code in the text wins over the TLV.
    const stat = r.conflict && isVendorCode(r.rawStat) && r.textStat !== undefined ? r.textStat : r.stat;
    const status = receiptToStatus(stat);
    if (seg.submittedAt !== null) this.#d.metrics.dlrLatency.labels(seg.carrierId).observe(Math.max(0, now - seg.submittedAt) / 1000);
    const info: { stat?: string; err?: string } = { stat: r.rawStat ?? stat };
    if (r.err !== undefined) info.err = r.err;
    return this.#d.results.segmentReceipt(seg, status, now, info);
  }

  #late(carrierId: string, r: Receipt): void {
    this.#d.metrics.dlrLate.inc({ carrier: carrierId });
    this.#log.warn(carrierId, { carrier: carrierId, stat: r.stat }, 'receipt after the segment ended: counted, not applied');
  }

  #unmatched(carrierId: string, r: Receipt): void {
    this.#d.metrics.dlrUnmatched.inc({ carrier: carrierId });
    this.#log.warn(carrierId, { carrier: carrierId, stat: r.stat }, 'receipt matches no segment');
  }
}
