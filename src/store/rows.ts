/**
 * Rows as both backends store them (same column names in SQLite and PostgreSQL) and their
 * mapping to the store interface's records.
 */
import type { Category, MessageStatus, SegmentStatus } from '../domain/types.js';
import type { FinalizedMessage, MessageRecord } from './types.js';
import type { SegmentRecord } from './types.js';

export interface MessageRow {
  id: string; client: string; category: Category; status: MessageStatus; to_number: string; from_addr: string | null;
  encoding: MessageRecord['encoding']; segmentation: MessageRecord['segmentation']; segments: number; carrier_id: string;
  reference: string | null; callback_url: string | null; template_id: string | null; variant: string | null; stage: string | null;
  otp_id: string | null; error_code: string | null; error_text: string | null; send_at: number; expires_at: number;
  created_at: number; queued_at: number | null; scheduled_at: number | null; submitting_at: number | null;
  submitted_at: number | null; final_at: number | null;
}
export interface SegmentRow {
  id: number; message_id: string; seq: number; total: number; status: SegmentStatus; carrier_id: string;
  carrier_msg_id: string | null; attempts: number; error_code: string | null; receipt_stat: string | null;
  receipt_err: string | null; submitted_at: number | null; final_at: number | null;
}

export function toMessage(r: MessageRow): MessageRecord {
  return {
    id: r.id, client: r.client, category: r.category, status: r.status, to: r.to_number, from: r.from_addr,
    encoding: r.encoding, segmentation: r.segmentation, segmentsCount: r.segments, carrierId: r.carrier_id,
    reference: r.reference, callbackUrl: r.callback_url, templateId: r.template_id, variant: r.variant, stage: r.stage,
    otpId: r.otp_id, errorCode: r.error_code, errorText: r.error_text, sendAt: r.send_at, expiresAt: r.expires_at,
    createdAt: r.created_at, queuedAt: r.queued_at, scheduledAt: r.scheduled_at, submittingAt: r.submitting_at,
    submittedAt: r.submitted_at, finalAt: r.final_at,
  };
}
export function toSegment(r: SegmentRow): SegmentRecord {
  return {
    id: r.id, messageId: r.message_id, seq: r.seq, total: r.total, status: r.status, carrierId: r.carrier_id,
    carrierMsgId: r.carrier_msg_id, attempts: r.attempts, errorCode: r.error_code, receiptStat: r.receipt_stat,
    receiptErr: r.receipt_err, submittedAt: r.submitted_at, finalAt: r.final_at,
  };
}

export const FINALIZED_COLS = 'id, client, category, status, carrier_id, to_number, callback_url, reference, template_id, variant, error_code, otp_id';
/** A FINALIZED_COLS row, raw. */
export type FinalizedRow = [
  id: string, client: string, category: Category, status: MessageStatus, carrier_id: string, to_number: string,
  callback_url: string | null, reference: string | null, template_id: string | null, variant: string | null,
  error_code: string | null, otp_id: string | null,
];
/** An open message row as it is once the caller's update has set its final state. */
export const toFinalized = (r: FinalizedRow, status: MessageStatus, errorCode: string | null): FinalizedMessage => ({
  id: r[0], client: r[1], category: r[2], status, carrierId: r[4], to: r[5], callbackUrl: r[6], reference: r[7],
  templateId: r[8], variant: r[9], errorCode, otpId: r[11],
});
