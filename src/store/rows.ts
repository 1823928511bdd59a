/**
 * Rows as both backends store them (same column names in SQLite and PostgreSQL) and their
 * mapping to the store interface's records.
 */
import type { Category, MessageStatus, SegmentStatus } from '../domain/types.js';
import type { FinalizedMessage, MessageRecord, OtpRecord, SegmentRecord, SmppOutboxRow } from './types.js';
import type { HeldMmsReport, MmsRecord, MmsStatus } from './mms-types.js';
import type { Registration } from '../callerid/store.js';

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

export interface MmsRow {
  id: string; client: string; category: MmsRecord['category']; status: MmsStatus; to_number: string; subject: string | null;
  mmsc_id: string; size_bytes: number; reference: string | null; callback_url: string | null; template_id: string | null;
  linked_id: string | null; fallback_sms: string | null; fallback_state: MmsRecord['fallbackState']; fallback_message_id: string | null;
  fallback_error: string | null; mm7_message_id: string | null; status_code: number | null; status_text: string | null;
  mm_status: string | null; read_status: string | null; attempts: number; due_at: number; send_at: number; expires_at: number;
  created_at: number; submitted_at: number | null; final_at: number | null;
}

/** A delivery report held in mms_inbound for its MessageID (both stores). */
export interface HeldReportRow {
  id: string;
  mm7_message_id: string;
  mm_status: string | null;
  created_at: number;
}
export const toHeldReport = (r: HeldReportRow): HeldMmsReport => ({ inboundId: r.id, mm7MessageId: r.mm7_message_id, mmStatus: r.mm_status, createdAt: r.created_at });

export const toMmsRecord = (r: MmsRow): MmsRecord => ({
  id: r.id, client: r.client, category: r.category, status: r.status, to: r.to_number, subject: r.subject, mmscId: r.mmsc_id,
  sizeBytes: r.size_bytes, reference: r.reference, callbackUrl: r.callback_url, templateId: r.template_id, linkedId: r.linked_id,
  fallbackSms: r.fallback_sms, fallbackState: r.fallback_state, fallbackMessageId: r.fallback_message_id, fallbackError: r.fallback_error,
  mm7MessageId: r.mm7_message_id, statusCode: r.status_code, statusText: r.status_text, mmStatus: r.mm_status, readStatus: r.read_status,
  attempts: r.attempts, dueAt: r.due_at, sendAt: r.send_at, expiresAt: r.expires_at, createdAt: r.created_at,
  submittedAt: r.submitted_at, finalAt: r.final_at,
});

export interface RegistrationRow {
  id: string; client: string; card_id: string | null; status: Registration['status']; reason: string | null; numbers: string;
  display_name: string; industry: string; license_no: string; contact: string; logo: Buffer; effective_at: number | null;
  expires_at: number | null; pending_op: Registration['pendingOp']; pending_request_id: string | null; pending_body: string | null;
  failures: number; last_error: string | null; next_check_at: number | null; expiry_warned_for: number | null;
  created_at: number; updated_at: number;
}

export const toRegistration = (r: RegistrationRow): Registration => ({
  id: r.id, client: r.client, cardId: r.card_id, status: r.status, reason: r.reason, numbers: JSON.parse(r.numbers) as string[],
  displayName: r.display_name, industry: r.industry, licenseNo: r.license_no, contact: r.contact, logo: r.logo,
  effectiveAt: r.effective_at, expiresAt: r.expires_at, pendingOp: r.pending_op, pendingRequestId: r.pending_request_id,
  pendingBody: r.pending_body, failures: r.failures, lastError: r.last_error, nextCheckAt: r.next_check_at,
  expiryWarnedFor: r.expiry_warned_for, createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface OtpRow {
  id: string; client: string; to_number: string; purpose: string; code_hash: string; message_id: string | null;
  created_at: number; expires_at: number; attempts: number; status: OtpRecord['status'];
}
export const toOtp = (r: OtpRow): OtpRecord => ({
  id: r.id, client: r.client, to: r.to_number, purpose: r.purpose, codeHash: r.code_hash, messageId: r.message_id,
  createdAt: r.created_at, expiresAt: r.expires_at, attempts: r.attempts, status: r.status,
});

export interface SmppOutboxDbRow {
  id: number;
  system_id: string;
  kind: SmppOutboxRow['kind'];
  body: string;
  created_at: number;
  attempts: number;
}
