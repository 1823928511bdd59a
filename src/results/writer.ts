/**
 * The one writer of final message states (ARCHITECTURE): submit outcomes, receipts,
 * expiry and receipt timeouts all end here. A message whose state changes to a final one
 * gets a status webhook in the outbox, in the same transaction.
 */
import type { Logger } from 'pino';
import { isFinal, type FinalStatus, type MessageStatus, type SegmentStatus } from '../domain/types.js';
import type { MessageStore } from '../store/types.js';
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
  emitStatus: (e: StatusEvent) => void;
  /** A message reached a final state (OTP body purge, depth accounting…), inside the transaction. */
  onFinal?: (messageId: string, status: MessageStatus) => void;
}

export class ResultsWriter {
  readonly #d: ResultsWriterDeps;
  constructor(deps: ResultsWriterDeps) {
    this.#d = deps;
  }

  /** submit_sm_resp OK. `finalOnSubmit`: the carrier sends no receipts, so `submitted` is final. */
  accepted(segmentId: number, messageId: string, carrierMsgId: string, now: number, finalOnSubmit: boolean): void {
    const m = this.#d.messages;
    // Stored normalised (case, leading zeros) so receipts match whatever form they use.
    m.markSubmitted(segmentId, normaliseId(carrierMsgId), now, finalOnSubmit);
    if (finalOnSubmit) {
      const msg = m.getMessage(messageId);
      if (msg !== undefined && msg.status === 'submitted' && msg.finalAt !== null) {
        this.#d.metrics.final.inc({ carrier: msg.carrierId, category: msg.category, status: 'submitted' });
        this.#d.emitStatus({ messageId, status: 'submitted', at: now });
        this.#d.onFinal?.(messageId, 'submitted');
      }
    }
  }

  /** A segment ends without a receipt (rejected, failed, expired before sending). */
  segmentEnded(segmentId: number, messageId: string, status: FinalStatus, now: number, errorCode?: string, errorText?: string): void {
    this.#d.messages.setSegmentState(segmentId, status, now, { errorCode: errorCode ?? null });
    this.#settle(messageId, now, errorCode, errorText);
  }

  /** A receipt (or receipt timeout) for a segment. */
  segmentReceipt(segmentId: number, messageId: string, status: SegmentStatus, now: number, info: { stat?: string; err?: string }): void {
    this.#d.messages.setSegmentState(segmentId, status, now, { receiptStat: info.stat ?? null, receiptErr: info.err ?? null });
    if (isFinal(status)) this.#settle(messageId, now, info.err, info.stat);
  }

  #settle(messageId: string, now: number, errorCode?: string, errorText?: string): void {
    const m = this.#d.messages;
    const msg = m.getMessage(messageId);
    if (msg === undefined || msg.finalAt !== null) return;
    const segs = m.getSegments(messageId);
    const status = aggregateMessageStatus(segs.map((s) => s.status), this.#d.multipartMode(msg.carrierId));
    if (status === undefined || !isFinal(status)) return;
    // Segments still queued when the message ends (e.g. part 1 rejected for good) are not sent.
    for (const s of segs) if (s.status === 'queued') m.setSegmentState(s.id, 'canceled', now);
    m.finalizeMessage(messageId, status, now, status === 'delivered' ? null : errorCode ?? null, status === 'delivered' ? null : errorText ?? null);
    this.#d.metrics.final.inc({ carrier: msg.carrierId, category: msg.category, status });
    this.#d.emitStatus({ messageId, status, at: now });
    this.#d.onFinal?.(messageId, status);
  }
}
