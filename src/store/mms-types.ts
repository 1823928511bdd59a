/**
 * MMS messages behind the store interface (SPEC 9, 13): their own tables, so the SMS queue's
 * hot paths stay as they are; ids share the `msg_` space so GET /v1/messages/{id} finds both.
 */
import type { Category, MessageStatus } from '../domain/types.js';

export type MmsStatus = 'queued' | 'scheduled' | 'submitting' | 'submitted' | 'delivered' | 'undeliverable' | 'expired' | 'rejected' | 'failed' | 'unknown' | 'canceled';
export const MMS_FINAL: readonly MmsStatus[] = ['delivered', 'undeliverable', 'expired', 'rejected', 'failed', 'unknown', 'canceled'];

export interface StoredMmsPart {
  seq: number;
  contentType: string;
  filename: string | null;
  text: string | null;
  data: Buffer | null;
}

/** What an MMS is given at intake and keeps for life. */
interface MmsFields {
  id: string;
  client: string;
  category: Category;
  to: string;
  subject: string | null;
  mmscId: string;
  sizeBytes: number;
  reference: string | null;
  callbackUrl: string | null;
  templateId: string | null;
  linkedId: string | null;
  /** JSON of the fallback SMS request ({text} or {template, params}), or null. */
  fallbackSms: string | null;
}

export interface NewMms extends MmsFields {
  sendAt: number;
  expiresAt: number;
  createdAt: number;
  parts: StoredMmsPart[];
}

export interface MmsRecord extends MmsFields {
  status: MmsStatus;
  fallbackState: 'pending' | 'sent' | 'refused' | null;
  fallbackMessageId: string | null;
  fallbackError: string | null;
  mm7MessageId: string | null;
  statusCode: number | null;
  statusText: string | null;
  mmStatus: string | null;
  readStatus: string | null;
  attempts: number;
  dueAt: number;
  sendAt: number;
  expiresAt: number;
  createdAt: number;
  submittedAt: number | null;
  finalAt: number | null;
}

export interface MmsInbound {
  id: string;
  kind: 'DeliverReq' | 'ReadReplyReq' | 'DeliveryReportReq';
  messageId: string | null;
  sender: string | null;
  recipient: string | null;
  mmStatus: string | null;
  subject: string | null;
  linkedId: string | null;
  client: string | null;
  partsJson: string | null;
  createdAt: number;
  /** A DeliveryReportReq that matched no MMS yet: its MessageID, so it can be matched later. */
  mm7MessageId?: string | null;
}

/** A delivery report that came before its MMS's MessageID was recorded, held in mms_inbound. */
export interface HeldMmsReport {
  inboundId: string;
  mm7MessageId: string;
  mmStatus: string | null;
  createdAt: number;
}

export interface MmsStore {
  insert(m: NewMms): void;
  get(id: string): MmsRecord | undefined;
  parts(id: string): StoredMmsPart[];
  /** Due queued/scheduled MMS become `submitting` (up to `limit`). */
  claimDue(now: number, limit: number): MmsRecord[];
  markSubmitted(id: string, mm7MessageId: string | null, code: number, text: string | null, now: number): void;
  /** Back to the queue (a temporary failure counts an attempt; a quiet-hours hold does not). */
  requeue(id: string, dueAt: number, code: number | null, text: string | null, countAttempt: boolean): void;
  /** Final state once: undefined when already final. A fallback SMS still to send is marked pending in the same statement. */
  finalize(id: string, status: MmsStatus, now: number, info: { code?: number | null; text?: string | null; mmStatus?: string | null; fallback?: boolean; countAttempt?: boolean }): MmsRecord | undefined;
  findByMm7Id(mm7MessageId: string): MmsRecord | undefined;
  setReadStatus(id: string, status: string, now: number): void;
  recordInbound(row: MmsInbound): void;
  /** Delivery reports held for this MessageID (received before it was recorded), oldest first. */
  heldReports(mm7MessageId: string): HeldMmsReport[];
  /** Held reports received since `since` whose MessageID now names an MMS awaiting its report. */
  matchableHeldReports(since: number, limit: number): Array<HeldMmsReport & { mmsId: string }>;
  /** A held report is now this MMS's: no longer held. */
  attachReport(inboundId: string, messageId: string, client: string): void;
  pendingFallbacks(limit: number): MmsRecord[];
  setFallback(id: string, state: 'sent' | 'refused', messageId: string | null, error: string | null): void;
  findByFallbackMessage(smsId: string): MmsRecord | undefined;
  /** Up to `limit` MMS of an MMSC submitted before `before` and still without a report. */
  awaitingReport(mmscId: string, before: number, limit: number): MmsRecord[];
  /** Cancel what is still queued or scheduled (of `owner` when given); exclusive with claimDue. */
  cancel(ids: readonly string[], owner: string | undefined, now: number): MmsCancelResult;
  idsByReference(client: string, reference: string): string[];
  /** Crash recovery: `submitting` back to `queued`. */
  recoverInFlight(): number;
  /** A shared store only (PostgreSQL): MMS claimed by nodes not in `liveNodes` go back to the queue. */
  reapClaims?(liveNodes: readonly string[]): number;
  /** Deletes up to `limit` MMS final before `before`, with their parts. */
  purgeFinal(before: number, limit: number): number;
  /** Deletes up to `limit` MM7 requests received before `before` (reports, read replies, MO MMS). */
  purgeInbound(before: number, limit: number): number;
}

/** The answer of a cancel, as for SMS (SPEC 3): final carries the status the MMS ended in. */
export interface MmsCancelResult {
  canceled: string[];
  onWire: string[];
  final: Array<{ id: string; status: MessageStatus }>;
  notFound: string[];
}
