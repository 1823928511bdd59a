/**
 * The one writer of final message states (ARCHITECTURE): submit outcomes, receipts,
 * expiry and receipt timeouts all end here. A message whose state changes to a final one
 * gets a status webhook in the outbox, in the same transaction. Single-part messages (the
 * common case) settle in one UPDATE … RETURNING; multipart ones aggregate their parts.
 */
import type { Logger } from 'pino';
import { isFinal, type FinalStatus, type MessageStatus, type SegmentStatus } from '../domain/types.js';
import type { FinalizedMessage, MessageStore, ReceiptSettleItem } from '../store/types.js';
import type { Metrics } from '../observability/metrics.js';
import { aggregateMessageStatus } from './aggregate.js';
import { normaliseId } from './dlr-id.js';

export interface StatusEvent {
  messageId: string;
  status: MessageStatus;
  at: number;
}

export interface ResultsWriterDeps {
  messages: MessageStore;
  metrics: Metrics;
  logger: Logger;
  /** multipart_receipts mode of a carrier. */
  multipartMode: (carrierId: string) => 'all' | 'any';
  /** Queue a status webhook (inside the current transaction). */
  emitStatus: (m: FinalizedMessage, e: StatusEvent) => void;
  /** A message reached a final state (OTP body purge, template metrics…), inside the transaction. */
  onFinal?: (m: FinalizedMessage) => void;
}

/** What the writer needs to know about a segment. */
export interface SegmentRef {
  id: number;
  messageId: string;
  total: number;
  /** The carrier it was submitted to (lets the store remember it for its receipt). */
  carrierId?: string;
}

export class ResultsWriter {
  readonly #d: ResultsWriterDeps;
  readonly #mFinal;
  constructor(deps: ResultsWriterDeps) {
    this.#d = deps;
    this.#mFinal = deps.metrics.hot.final;
  }

  /** submit_sm_resp OK. `finalOnSubmit`: the carrier sends no receipts, so `submitted` is final. */
  accepted(seg: SegmentRef, carrierMsgId: string, now: number, finalOnSubmit: boolean): void {
    // Stored normalised (case, leading zeros) so receipts match whatever form they use.
    const done = this.#d.messages.markSubmitted(seg.id, seg.messageId, seg.total, normaliseId(carrierMsgId), now, finalOnSubmit, seg.carrierId);
    if (done !== undefined) this.#ended(done, now);
  }

  /** A segment ends without a receipt (rejected, failed, expired before sending). */
  segmentEnded(seg: SegmentRef, status: FinalStatus, now: number, errorCode?: string, errorText?: string): void {
    // A segment already final (canceled with its message meanwhile) keeps its state.
    if (!this.#d.messages.setSegmentState(seg.id, status, now, { errorCode: errorCode ?? null })) return;
    this.#settle(seg, status, now, errorCode, errorText);
  }

  /**
   * A receipt (or receipt timeout) for a segment already on the wire. False when the segment
   * had already ended: the receipt is late or a duplicate and changed nothing.
   */
  segmentReceipt(seg: SegmentRef, status: SegmentStatus, now: number, info: { stat?: string; err?: string }): boolean {
    const m = this.#d.messages;
    const settle = seg.total === 1 ? this.receiptSettle(status, info) : undefined;
    if (settle !== undefined && m.settleOnePartReceipt !== undefined) {
      return this.receiptSettled(m.settleOnePartReceipt(seg.id, settle.status, now, settle.stat, settle.err, settle.errorCode, settle.errorText), now);
    }
    if (!this.#d.messages.setSegmentReceipt(seg.id, status, now, info.stat ?? null, info.err ?? null)) return false;
    if (isFinal(status)) this.#settle(seg, status, now, info.err, info.stat);
    return true;
  }

  /**
   * How a receipt of `status` settles a one-part segment in one step (settleOnePartReceipt,
   * settleReceipts): undefined when the status is not final.
   */
  receiptSettle(status: SegmentStatus, info: { stat?: string; err?: string }): ReceiptSettleItem['settle'] {
    if (!isFinal(status)) return undefined;
    const ok = status === 'delivered';
    return { status, stat: info.stat ?? null, err: info.err ?? null, errorCode: ok ? null : info.err ?? null, errorText: ok ? null : info.stat ?? null };
  }

  /** After a one-step settle: the message's end is reported when it ended it. Returns `applied`. */
  receiptSettled(r: { applied: boolean; done: FinalizedMessage | undefined }, now: number): boolean {
    if (r.done !== undefined) this.#ended(r.done, now);
    return r.applied;
  }

  #settle(seg: SegmentRef, segStatus: FinalStatus, now: number, errorCode?: string, errorText?: string): void {
    const m = this.#d.messages;
    let status: MessageStatus | undefined = segStatus;
    if (seg.total > 1) {
      const msg = m.getMessage(seg.messageId);
      if (msg === undefined || msg.finalAt !== null) return;
      const segs = m.getSegments(seg.messageId);
      status = aggregateMessageStatus(segs.map((s) => s.status), this.#d.multipartMode(msg.carrierId));
      if (status === undefined || !isFinal(status)) return;
      // Parts still queued when the message ends (part 1 rejected for good) are not sent.
      for (const s of segs) if (s.status === 'queued') m.setSegmentState(s.id, 'canceled', now);
    }
    const ok = status === 'delivered';
    const done = m.finalizeMessage(seg.messageId, status, now, ok ? null : errorCode ?? null, ok ? null : errorText ?? null);
    if (done !== undefined) this.#ended(done, now);
  }

  #ended(done: FinalizedMessage, now: number): void {
    this.#mFinal(done.carrierId, done.category, done.status).inc();
    this.#d.emitStatus(done, { messageId: done.id, status: done.status, at: now });
    this.#d.onFinal?.(done);
  }
}
