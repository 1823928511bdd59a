/**
 * The store behind an interface (SPEC 13): intake, dispatcher and results speak these
 * types only; SQLite specifics stay in store/sqlite/. A later PostgreSQL or Redis backend
 * implements the same interface so several daemons can share one queue.
 */
import type { Category, MessageStatus, SegmentStatus, EncodingName, SegmentationMode } from '../domain/types.js';

export interface NewMessage {
  id: string;
  client: string;
  category: Category;
  to: string; // E.164 with '+'
  from?: string | undefined;
  /** Clear text, or undefined when the body is stored encrypted (OTP). */
  text?: string | undefined;
  bodyEnc?: Buffer | undefined;
  encoding: EncodingName;
  segmentation: SegmentationMode;
  segments: number;
  carrierId: string;
  concatRef: number;
  sendAt: number; // ms; <= now means queued, > now scheduled
  expiresAt: number; // ms; not sent by then → expired
  reference?: string | undefined;
  callbackUrl?: string | undefined;
  templateId?: string | undefined;
  variant?: string | undefined;
  stage?: string | undefined;
  otpId?: string | undefined;
  createdAt: number;
}

export interface SegmentRecord {
  id: number;
  messageId: string;
  seq: number; // 1-based
  total: number;
  status: SegmentStatus;
  carrierId: string;
  carrierMsgId: string | null;
  attempts: number;
  errorCode: string | null;
  receiptStat: string | null;
  receiptErr: string | null;
  submittedAt: number | null;
  finalAt: number | null;
}

/** What applying a receipt needs to know about its segment. */
/** SQLSTATE of a transaction aborted by AuxStore.guardSends (a send window was full). */
export const SEND_WINDOW_FULL_SQLSTATE = 'XG001';

export type ReceiptTarget = Pick<SegmentRecord, 'id' | 'messageId' | 'total' | 'status' | 'carrierId' | 'submittedAt'>;
/** A receipt for MessageStore.settleReceipts: `settle` set for a final state (with what settleOnePartReceipt takes). */
export interface ReceiptSettleItem {
  carrierId: string;
  /** The id forms to try, in order (dlr_id). */
  keys: readonly string[];
  settle?: { status: FinalSegmentStatus; stat: string | null; err: string | null; errorCode: string | null; errorText: string | null };
}
export interface ReceiptSettleOutcome {
  target: ReceiptTarget | undefined;
  /** Settled in the statement (target one-part, `settle` given); then applied and done say how. */
  settled: boolean;
  applied: boolean;
  done: FinalizedMessage | undefined;
}

export interface MessageRecord {
  id: string;
  client: string;
  category: Category;
  status: MessageStatus;
  to: string;
  from: string | null;
  encoding: EncodingName;
  segmentation: SegmentationMode;
  segmentsCount: number;
  carrierId: string;
  reference: string | null;
  callbackUrl: string | null;
  templateId: string | null;
  variant: string | null;
  stage: string | null;
  otpId: string | null;
  errorCode: string | null;
  errorText: string | null;
  sendAt: number;
  expiresAt: number;
  createdAt: number;
  queuedAt: number | null;
  scheduledAt: number | null;
  submittingAt: number | null;
  submittedAt: number | null;
  finalAt: number | null;
}

/** A segment claimed for sending, with what is needed to build its PDU. */
export interface ClaimedSegment {
  id: number;
  messageId: string;
  seq: number;
  total: number;
  lane: Category;
  carrierId: string;
  attempts: number;
  to: string;
  from: string | null;
  text: string | null;
  bodyEnc: Buffer | null;
  encoding: EncodingName;
  segmentation: SegmentationMode;
  concatRef: number;
  expiresAt: number;
  client: string;
  createdAt: number;
  triedCarriers: readonly string[];
}

/** What the results path needs about a message that just became final (one statement: UPDATE … RETURNING). */
export interface FinalizedMessage {
  id: string;
  client: string;
  category: Category;
  status: MessageStatus;
  carrierId: string;
  to: string;
  callbackUrl: string | null;
  reference: string | null;
  templateId: string | null;
  variant: string | null;
  errorCode: string | null;
  otpId: string | null;
}

/** A segment state that ends it (and, for a one-part message, the message). */
export type FinalSegmentStatus = Exclude<SegmentStatus, 'queued' | 'submitting' | 'submitted' | 'accepted' | 'enroute'>;

export interface MessageTransition {
  messageId: string;
  from: MessageStatus;
  to: MessageStatus;
  at: number;
}

export interface IdempotencyRecord {
  bodyHash: string;
  status: number;
  response: string;
  createdAt: number;
}

export interface OutboxRow {
  id: string;
  client: string;
  url: string;
  body: string;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
}

export interface OtpRecord {
  id: string;
  client: string;
  to: string;
  purpose: string;
  codeHash: string;
  messageId: string | null;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  status: 'active' | 'used' | 'superseded' | 'expired' | 'locked';
}

export interface CancelResult {
  canceled: string[];
  /** Claimed, or on the wire awaiting its resp or receipt: it may still be delivered. */
  onWire: string[];
  /** Already ended, with the state it ended in (canceled twice answers canceled here). */
  final: Array<{ id: string; status: MessageStatus }>;
  notFound: string[];
}

/** Messages and segments: the durable queue. All methods are synchronous and cheap; callers group them with `transaction`. */
export interface MessageStore {
  transaction<T>(fn: () => T): T;
  insertMessage(m: NewMessage): void;
  getMessage(id: string): MessageRecord | undefined;
  getSegments(messageId: string): SegmentRecord[];
  /** Claim up to `limit` due queued segments of one carrier and lane; marks them submitting. */
  claim(carrierId: string, lane: Category, now: number, limit: number): ClaimedSegment[];
  /**
   * Read (no write) up to `limit` due queued segments of one carrier and lane, skipping
   * `skip` (claimed, their `submitting` not yet committed). The dispatcher sends them at once
   * and records the claim with `markClaimed` in the next group commit: a crash in between
   * leaves them queued, so they are sent again (at-least-once, as for `submitting`).
   */
  peekDue(carrierId: string, lane: Category, now: number, limit: number, skip: ReadonlySet<number>): ClaimedSegment[];
  /**
   * PostgreSQL, inside a transaction: the claim of peekDue sent with the COMMIT (one round
   * trip fewer for a verification code). The returned function gives the claimed segments
   * once that transaction committed, undefined if it did not.
   */
  claimDueAtCommit?(carrierId: string, lane: Category, now: number, limit: number, skip: ReadonlySet<number>): () => ClaimedSegment[] | undefined;
  markClaimed(segmentIds: readonly number[], messageIds: readonly string[], now: number): void;
  /** submit_sm_resp OK. Returns the message when this made it final (no receipts requested). */
  markSubmitted(segmentId: number, messageId: string, total: number, carrierMsgId: string, now: number, finalOnSubmit: boolean, carrierId?: string): FinalizedMessage | undefined;
  /**
   * A receipt's state on a segment already on the wire (one statement). False when the
   * segment no longer awaits a receipt (it is final): nothing changed.
   */
  setSegmentReceipt(segmentId: number, status: SegmentStatus, now: number, stat: string | null, err: string | null): boolean;
  /**
   * Back to the queue: retry later, optionally on another carrier. Only a segment still
   * queued or submitting of a message not yet final moves; a segment of a message that ended
   * meanwhile is canceled instead (never sent again). True when it was queued again.
   */
  requeue(segmentId: number, dueAt: number, opts: { countAttempt: boolean; errorCode?: string; carrierId?: string; tried?: string[] }): boolean;
  /**
   * Optional (a store where a statement costs a round trip): a final receipt of a one-part
   * message in one step, as setSegmentReceipt then finalizeMessage would do. `applied`: false
   * when the segment no longer awaited a receipt; `done`: the message, when this ended it.
   */
  settleOnePartReceipt?(
    segmentId: number, status: FinalSegmentStatus, now: number, stat: string | null, err: string | null, errorCode: string | null, errorText: string | null,
  ): { applied: boolean; done: FinalizedMessage | undefined };
  /**
   * A turn's receipts: each one's lookup, and for a final receipt of a one-part message its
   * settle too (as setSegmentReceipt then finalizeMessage). PostgreSQL does them all in one
   * statement (a statement is a round trip there); SQLite one by one. Items must not share a (carrier, key) pair: each then names its own
   * segment, and the answer is what the items one by one would have given. Per item:
   * `target` as findSegmentByCarrierMsgId of its first key that finds one; `settled` when the
   * item was settled here (`applied`, `done` as settleOnePartReceipt); otherwise the caller
   * applies it to `target` itself.
   */
  settleReceipts(items: readonly ReceiptSettleItem[], now: number): ReceiptSettleOutcome[];
  /** False when the segment is already final (a final segment never changes). */
  setSegmentState(segmentId: number, status: SegmentStatus, now: number, info?: { errorCode?: string | null; receiptStat?: string | null; receiptErr?: string | null }): boolean;
  /** Final state, once: undefined when the message was already final. Clears a sealed body. */
  finalizeMessage(messageId: string, status: MessageStatus, now: number, errorCode?: string | null, errorText?: string | null): FinalizedMessage | undefined;
  /**
   * The segment a receipt is for: the newest one of this carrier with this id still awaiting a
   * receipt (carriers recycle ids), only what applying it needs (a narrow read on the hot path).
   */
  findSegmentByCarrierMsgId(carrierId: string, carrierMsgId: string): ReceiptTarget | undefined;
  /** Some segment of this carrier with this id has ended: a receipt for it now is late or a duplicate. */
  hasEndedSegment(carrierId: string, carrierMsgId: string): boolean;
  /**
   * Cancel what is still queued or scheduled and not claimed (see setClaimCheck): cancel and
   * the dispatcher's claim are exclusive, so `canceled` means it never goes out.
   */
  cancel(ids: string[], client: string | undefined, now: number): CancelResult;
  /**
   * The dispatcher's claims not yet recorded as `submitting` (it sends first and records the
   * claim in the next group commit): cancel treats a message it names as on the wire.
   */
  setClaimCheck(claimed: (messageId: string) => boolean): void;
  idsByReference(client: string, reference: string): string[];
  /** The stored body of a message (clear text, or sealed for an OTP). */
  messageBody(messageId: string): { text: string | null; bodyEnc: Buffer | null } | undefined;
  /**
   * Failover re-plan: replace every part of a message none of whose parts went out by the
   * parts of a new plan on another carrier (new count, encoding and reference), all queued.
   */
  replanMessage(
    messageId: string,
    plan: { carrierId: string; encoding: EncodingName; segmentation: SegmentationMode; segments: number; concatRef: number; dueAt: number; attempts: number; tried: readonly string[]; errorCode: string | null },
  ): void;
  /**
   * Segments `submitting` since before `before` whose outcome nobody will write (`inFlight`
   * says which are still awaited): back to the queue. Returns how many.
   */
  requeueStaleSubmitting(before: number, now: number, inFlight: (segmentId: number) => boolean, limit: number): number;
  /** Crash recovery: segments left in submitting go back to the queue. Returns how many. */
  recoverInFlight(): number;
  /**
   * A shared store only (PostgreSQL): segments claimed by nodes not in `liveNodes` (their
   * registry rows expired: crashed or cut off) go back to the queue. Returns how many.
   */
  reapClaims?(liveNodes: readonly string[]): number;
  /** Deletes up to `limit` messages final before `before`, with their segments; returns how many. */
  purgeFinal(before: number, limit: number): number;
  /** Messages not yet on the wire (queued/scheduled/submitting), by lane. */
  openDepthByLane(): Record<Category, number>;
  /** Per lane, the earliest due_at of a queued segment of these carriers (undefined: none queued); index lookups only. */
  oldestQueuedDue(carrierIds: readonly string[]): Record<Category, number | undefined>;
  nextConcatRef(carrierId: string): number;
  /**
   * Receipt timeouts: segments of a carrier submitted before `before` and still awaiting a
   * receipt. Walks at most `scan` segments in submit order from the carrier's stored cursor
   * and moves the cursor past them, so it must run in the transaction that ends what it
   * returns. `more`: the walk stopped at `scan`, not at `before`.
   */
  takeReceiptTimeouts(carrierId: string, before: number, scan: number): { stale: SegmentRecord[]; more: boolean };
  /** Queued segments of a carrier (for failover when it is down or paused). */
  queuedOf(carrierId: string, limit: number): Array<{ segmentId: number; messageId: string; to: string; category: Category; tried: string[] }>;
  lastMessageTo(to: string): { id: string; client: string } | undefined;
  close(): void;
}

export interface AuxStore {
  getIdempotency(client: string, key: string): IdempotencyRecord | undefined;
  putIdempotency(client: string, key: string, rec: IdempotencyRecord): void;
  /** Deletes up to `limit` keys stored before `before`, oldest first; returns how many. */
  purgeIdempotency(before: number, limit: number): number;

  addOptOut(number: string, source: string, now: number): boolean;
  removeOptOut(number: string): boolean;
  isOptedOut(number: string): boolean;
  listOptOuts(limit: number, after?: string): Array<{ number: string; source: string; createdAt: number }>;

  logSend(number: string, category: string, at: number): void;
  sendsSince(number: string, category: string, since: number): number[];
  /**
   * The same check as reading sendsSince, without waiting for it: where the store can (a
   * transaction of this unit alone, on PostgreSQL), defers a statement that aborts the
   * transaction with SEND_WINDOW_FULL_SQLSTATE when a window (ms, limit) already holds
   * `limit` sends, and answers true. False: read sendsSince instead.
   */
  guardSends?(number: string, category: string, windows: ReadonlyArray<{ ms: number; limit: number }>, now: number): boolean;
  /**
   * Deletes entries logged before `before` among the oldest `limit`; returns how many. Fewer
   * than `limit` means the oldest entries left are newer than `before`.
   */
  purgeSendLog(before: number, limit: number): number;

  insertOtp(o: OtpRecord): void;
  getOtp(id: string): OtpRecord | undefined;
  latestOtp(to: string, purpose: string): OtpRecord | undefined;
  otpSendsSince(to: string, purpose: string, since: number): number[];
  updateOtp(id: string, fields: Partial<Pick<OtpRecord, 'attempts' | 'status' | 'messageId'>>): void;
  /** Mark active OTPs of this number+purpose superseded; returns their message ids. */
  supersedeOtps(to: string, purpose: string): string[];
  /** Active OTPs past their TTL become expired; their messages' encrypted bodies are cleared. Returns how many. */
  expireOtps(now: number): number;
  /** Deletes up to `limit` OTP records, no longer active, created before `before`; returns how many. */
  purgeOtps(before: number, limit: number): number;
  /** Deletes up to `limit` webhook events delivered or given up, created before `before`. */
  purgeOutbox(before: number, limit: number): number;
  /** Deletes up to `limit` replies (MO) received before `before`. */
  purgeMo(before: number, limit: number): number;
  /** Forget OTP bodies: clear the encrypted body of these messages. */
  purgeOtpBody(messageId: string): void;

  addOutbox(row: OutboxRow): void;
  claimOutbox(now: number, limit: number, leaseMs: number): OutboxRow[];
  outboxDelivered(id: string, now: number): void;
  outboxRetry(id: string, nextAttemptAt: number, attempts: number, lastError: string): void;
  outboxDead(id: string, now: number, lastError: string): void;
  outboxPending(): number;

  /** A receipt held for its submit_sm_resp (issue 14.5): stored before its deliver_sm_resp. Returns its id. */
  insertHeldReceipt(row: { carrierId: string; keys: readonly string[]; body: string; receivedAt: number }): number;
  deleteHeldReceipt(id: number): void;
  /** The receipts this node holds (a cluster: those it stored or adopted, not other nodes'). */
  heldReceipts(): Array<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }>;
  /** Cluster: takes over the held receipts of nodes not in `liveNodes` (dead); returns them. */
  adoptHeldReceipts?(liveNodes: readonly string[]): Array<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }>;
  /** One part of a multipart reply, stored before its deliver_sm_resp; deleted when the reply is stored whole or partial. */
  insertMoPart(row: { conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }): void;
  deleteMoParts(conv: string, ref: number, total: number): void;
  moParts(): Array<{ conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }>;

  insertMo(row: { id: string; carrierId: string; from: string; to: string; body: string; intent: string | null; client: string | null; lastMessageId: string | null; partial: boolean; createdAt: number }): void;
  /** Replies in id (arrival) order after `afterId`, filtered; at most `limit`. */
  listMo(q: MoQuery): MoRecord[];
}

export interface MoQuery {
  /** Only this client's replies (undefined: every client's, unattributed ones included). */
  client?: string | undefined;
  from?: string | undefined;
  /** created_at >= since, < until (epoch ms). */
  since?: number | undefined;
  until?: number | undefined;
  /** An intent name, or null for replies without one. */
  intent?: string | null | undefined;
  afterId?: string | undefined;
  limit: number;
}

export interface MoRecord {
  id: string;
  carrierId: string;
  from: string;
  to: string;
  body: string;
  intent: string | null;
  client: string | null;
  lastMessageId: string | null;
  partial: boolean;
  createdAt: number;
}

/** smpp_server: deliver_sm (receipts, replies) owed to a downstream ESME, oldest first. */
export interface SmppOutboxRow {
  id: number;
  systemId: string;
  kind: 'receipt' | 'mo';
  /** JSON of what the deliver_sm carries (see smpp-server/deliver-pdu.ts). */
  body: string;
  createdAt: number;
  attempts: number;
}

export interface SmppOutboxStore {
  add(systemId: string, kind: SmppOutboxRow['kind'], body: string, now: number): void;
  /** Up to `limit` rows of this account with id > afterId, oldest first. */
  pending(systemId: string, afterId: number, limit: number): SmppOutboxRow[];
  /**
   * The forwarder's take: as pending(), but only rows no other node holds, each claimed for
   * this node until now + leaseMs. On a shared store (PostgreSQL) an ESME bound to two nodes
   * never gets a row from both while its claim holds; a dead node's claims run out and the
   * rows are handed out again. One node (SQLite): the same rows as pending().
   */
  claim(systemId: string, afterId: number, limit: number, now: number, leaseMs: number): SmppOutboxRow[];
  /** Gives a claimed row back undelivered: other nodes may take it from now + afterMs. */
  release(id: number, now: number, afterMs: number): void;
  attempted(id: number): void;
  remove(id: number): void;
  /** Rows waiting, by account. */
  counts(): Map<string, number>;
  /** Until the message is final: where its SMPP client cut it, and which receipts it wants (registered_delivery & 3). */
  keepMessage(messageId: string, cuts: readonly number[] | undefined, receipts: number): void;
  getCuts(messageId: string): number[] | undefined;
  /** What keepMessage kept (undefined: no cut, receipts 1), and forget it: the message is final. */
  takeMessage(messageId: string): { cuts: number[] | undefined; receipts: number } | undefined;
  /**
   * Keep one part of a multipart (a duplicate is ignored). Returns the message id of the
   * whole (the first part's, or `newId` for a first part), whether this part was new, and
   * the parts held so far in sequence order.
   */
  addPart(key: string, seq: number, total: number, text: string, newId: string, now: number): { messageId: string; added: boolean; parts: string[] };
  dropParts(key: string): void;
  /** Keys of multiparts whose first part came before `before`, with their message id. */
  staleParts(before: number): Array<{ key: string; messageId: string }>;
}
