/**
 * PostgreSQL implementation of MessageStore (store.driver: postgres), shared by every
 * daemon of a cluster. Where the SQLite store relies on being the only writer, this one
 * relies on row locks:
 * - a claim (peekDue/claim) marks segments `submitting` with this node's id in the same
 *   statement that picks them (FOR UPDATE SKIP LOCKED), so two nodes never send one segment
 *   and a cancel sees the claim at once; markClaimed has nothing left to do;
 * - cancel locks the message's segments first, so it waits for a claim in progress and is
 *   exclusive with it: `canceled` still means never sent;
 * - recovery and the stale sweep touch only this node's claims; a dead node's claims go
 *   back to the queue through reapClaims (the node registry says who is alive);
 * - counters (concat refs, the receipt sweep cursor) are updated atomically / under lock.
 */
import { CATEGORIES, type Category, type MessageStatus, type SegmentStatus } from '../../domain/types.js';
import { idUpperBound } from '../../domain/ids.js';
import { requeueStale } from '../requeue-stale.js';
import { FINALIZED_COLS, toFinalized, toMessage, toSegment, type FinalizedRow, type MessageRow, type SegmentRow } from '../rows.js';
import type { CancelResult, ClaimedSegment, FinalSegmentStatus, FinalizedMessage, MessageRecord, MessageStore, NewMessage, ReceiptSettleItem, ReceiptSettleOutcome, ReceiptTarget, SegmentRecord } from '../types.js';
import type { PgSyncClient } from './sync-client.js';
import { StoreError } from './errors.js';
import { OTP_WAKE_CHANNEL } from '../../cluster/otp-wake.js';

const laneIndex = (c: Category): number => CATEGORIES.indexOf(c);
const AWAITING_RECEIPT = `('submitted', 'accepted', 'enroute')`;

function toClaimed(r: DueRow, lane: Category): ClaimedSegment {
  return {
    id: r[0], messageId: r[1], seq: r[2], total: r[3], lane, carrierId: r[4], attempts: r[5],
    to: r[7], from: r[8], text: r[9], bodyEnc: r[10], encoding: r[11], segmentation: r[12], concatRef: r[13],
    expiresAt: r[14], client: r[15], createdAt: r[16], triedCarriers: r[6] === null ? [] : r[6].split(','),
  };
}

/** Claim due segments of one carrier and lane for this node, with what their PDUs need. */
const CLAIM_SQL = `
  WITH picked AS (
    SELECT id FROM segments
    WHERE status = 'queued' AND carrier_id = $1 AND lane = $2 AND due_at <= $3 AND NOT (id = ANY($5::bigint[]))
    ORDER BY due_at, id LIMIT $4 FOR UPDATE SKIP LOCKED
  ), seg AS (
    UPDATE segments s SET status = 'submitting', claimed_at = $3, claimed_by = $6 FROM picked WHERE s.id = picked.id
    RETURNING s.id, s.message_id, s.seq, s.total, s.carrier_id, s.attempts, s.tried, s.due_at
  ), msg AS (
    UPDATE messages m SET status = 'submitting', submitting_at = COALESCE(m.submitting_at, $3)
    WHERE m.id IN (SELECT message_id FROM seg) AND m.status IN ('queued', 'scheduled')
  )
  SELECT seg.id, seg.message_id, seg.seq, seg.total, seg.carrier_id, seg.attempts, seg.tried, m.to_number, m.from_addr,
    m.body, m.body_enc, m.encoding, m.segmentation, m.concat_ref, m.expires_at, m.client, m.created_at
  FROM seg JOIN messages m ON m.id = seg.message_id ORDER BY seg.due_at, seg.id`;


/** Column types of the messages insert, in INSERT_MESSAGE_SQL's order. */
const MESSAGE_COLUMN_TYPES = [
  'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'bytea', 'text', 'text', 'bigint', 'bigint', 'text', 'bigint',
  'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint',
] as const;
/** Many messages and their segments in one statement: one array parameter per column. */
const INSERT_MESSAGES_BATCH_SQL = `WITH m AS (
  INSERT INTO messages (id, client, category, lane, status, to_number, from_addr, body, body_enc, encoding,
    segmentation, segments, pending, carrier_id, concat_ref, send_at, expires_at, reference, callback_url, template_id,
    variant, stage, otp_id, created_at, queued_at, scheduled_at)
  SELECT * FROM unnest(${MESSAGE_COLUMN_TYPES.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')})
)
INSERT INTO segments (message_id, seq, total, lane, status, due_at, carrier_id)
SELECT u.id, g, u.total, u.lane, 'queued', u.due, u.carrier
FROM unnest($1::text[], $12::bigint[], $4::bigint[], $16::bigint[], $14::text[]) WITH ORDINALITY AS u(id, total, lane, due, carrier, ord),
  generate_series(1, u.total::int) g
ORDER BY u.ord, g`;

function buildInsertMessages(rows: unknown[][]): { sql: string; params: unknown[] } {
  const params = MESSAGE_COLUMN_TYPES.map((_, col) => rows.map((r) => r[col]));
  return { sql: INSERT_MESSAGES_BATCH_SQL, params };
}

/** The oldest due_at per carrier and lane: one index probe each (every dispatcher tick; prepared). */
const OLDEST_DUE_SQL = `SELECT l, (SELECT due_at FROM segments WHERE status = 'queued' AND carrier_id = c AND lane = l ORDER BY due_at LIMIT 1)
  FROM unnest($1::text[]) c, generate_series(0, 3) l`;

/** Run once or more per message: prepared (planning them cost PostgreSQL more than running them). */
const INSERT_SEGMENTS_SQL = `INSERT INTO segments (message_id, seq, total, lane, status, due_at, carrier_id)
       SELECT $1, g, $2, $3, 'queued', $4, $5 FROM generate_series(1, $2::int) g`;
const SUBMITTED_ONE_PART_SQL = `WITH s AS (UPDATE segments SET status = 'submitted', carrier_msg_id = $1, submitted_at = $2 WHERE id = $3 AND status = 'submitting' RETURNING message_id)
         UPDATE messages SET status = 'submitted', submitted_at = $2 WHERE id = (SELECT message_id FROM s) AND final_at IS NULL`;
/**
 * submit_sm_resps of one-part messages, consecutive in a transaction: one statement (markSubmitted).
 * Not prepared: a connection's generic plan is made after its first five calls, when the
 * tables may be nearly empty (a fresh cluster's first batch), and kept until an ANALYZE; such
 * a plan took 1.3 ms a call (6,131 calls: 7.9 s of PostgreSQL for 40,000 messages at an
 * account tps of 1,000) against 0.6 ms planned each time (3.8 s).
 */
const SUBMITTED_ONE_PART_MANY_SQL = `WITH v AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(carrier_msg_id, at, id)),
       s AS (UPDATE segments seg SET status = 'submitted', carrier_msg_id = v.carrier_msg_id, submitted_at = v.at FROM v
             WHERE seg.id = v.id AND seg.status = 'submitting' RETURNING seg.message_id, v.at)
       UPDATE messages m SET status = 'submitted', submitted_at = s.at FROM s WHERE m.id = s.message_id AND m.final_at IS NULL`;
function buildSubmittedOnePart(rows: unknown[][]): { sql: string; params: unknown[] } {
  if (rows.length === 1) return { sql: SUBMITTED_ONE_PART_SQL, params: rows[0]! };
  return { sql: SUBMITTED_ONE_PART_MANY_SQL, params: [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])] };
}
const SETTLE_ONE_PART_SQL = `WITH s AS (
         UPDATE segments SET status = $1, receipt_stat = COALESCE($2, receipt_stat), receipt_err = COALESCE($3, receipt_err), final_at = $4
         WHERE id = $5 AND status IN ${AWAITING_RECEIPT} RETURNING message_id
       ), m AS (
         UPDATE messages SET status = $1, final_at = $4, error_code = COALESCE($6, error_code), error_text = COALESCE($7, error_text), body_enc = NULL
         WHERE id = (SELECT message_id FROM s) AND final_at IS NULL RETURNING ${FINALIZED_COLS}
       )
       SELECT (SELECT count(*) FROM s)::int, m.* FROM (SELECT 1) one LEFT JOIN m ON true`;
const FIND_BY_CARRIER_MSG_SQL = `SELECT id, message_id, total, status, carrier_id, submitted_at FROM segments WHERE carrier_id = $1 AND carrier_msg_id = $2
       AND status IN ${AWAITING_RECEIPT} ORDER BY submitted_at DESC, id DESC LIMIT 1`;

/**
 * Many receipts' lookups and one-part settles in one statement (settleReceipts): t is each
 * item's target (its first key that finds a segment awaiting a receipt, newest first, as
 * FIND_BY_CARRIER_MSG_SQL); s and m are SETTLE_ONE_PART_SQL for the items with a final
 * state whose target is one-part. Items never share a key, so no two update one row.
 * Not prepared: its generic plan (which cannot see the arrays' lengths) took 26 ms a call
 * against 4.5 ms planned each time.
 */
const FINALIZED_AS = FINALIZED_COLS.split(', ').map((c) => `msg.${c} AS f_${c}`).join(', ');
const FINALIZED_OF_M = FINALIZED_COLS.split(', ').map((c) => `m.f_${c}`).join(', ');
const SETTLE_RECEIPTS_SQL = `WITH k AS (
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[]) AS k(idx, carrier_id, msg_id, pos)
       ), t AS (
         SELECT DISTINCT ON (k.idx) k.idx, s.id, s.message_id, s.total, s.status, s.carrier_id, s.submitted_at
         FROM k JOIN segments s ON s.carrier_id = k.carrier_id AND s.carrier_msg_id = k.msg_id AND s.status IN ${AWAITING_RECEIPT}
         ORDER BY k.idx, k.pos, s.submitted_at DESC, s.id DESC
       ), v AS (
         SELECT * FROM unnest($5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS v(idx, status, stat, err, error_code, error_text)
       ), s AS (
         UPDATE segments seg SET status = v.status, receipt_stat = COALESCE(v.stat, seg.receipt_stat),
           receipt_err = COALESCE(v.err, seg.receipt_err), final_at = $11
         FROM t JOIN v ON v.idx = t.idx
         WHERE seg.id = t.id AND t.total = 1 AND seg.status IN ${AWAITING_RECEIPT}
         RETURNING t.idx, seg.message_id
       ), m AS (
         UPDATE messages msg SET status = v.status, final_at = $11, error_code = COALESCE(v.error_code, msg.error_code),
           error_text = COALESCE(v.error_text, msg.error_text), body_enc = NULL
         FROM s JOIN v ON v.idx = s.idx
         WHERE msg.id = s.message_id AND msg.final_at IS NULL
         RETURNING s.idx, ${FINALIZED_AS}
       )
       SELECT t.idx, t.id, t.message_id, t.total, t.status, t.carrier_id, t.submitted_at,
         (v.idx IS NOT NULL AND t.total = 1) AS settled, (s.idx IS NOT NULL) AS applied, ${FINALIZED_OF_M}
       FROM t LEFT JOIN v ON v.idx = t.idx LEFT JOIN s ON s.idx = t.idx LEFT JOIN m ON m.idx = t.idx`;

type SettleReceiptsRow = [
  idx: number, id: number, message_id: string, total: number, status: SegmentStatus, carrier_id: string, submitted_at: number | null,
  settled: boolean, applied: boolean, ...finalized: FinalizedRow,
];

type DueRow = [
  id: number, message_id: string, seq: number, total: number, carrier_id: string, attempts: number, tried: string | null,
  to_number: string, from_addr: string | null, body: string | null, body_enc: Buffer | null,
  encoding: ClaimedSegment['encoding'], segmentation: ClaimedSegment['segmentation'], concat_ref: number,
  expires_at: number, client: string, created_at: number,
];

export interface PgMessageStoreOptions {
  /** This daemon's id, written on its claims (cluster.node_id). */
  nodeId: string;
}

export class PgMessageStore implements MessageStore {
  readonly #c: PgSyncClient;
  readonly #node: string;
  #claimed: (messageId: string) => boolean = () => false;

  constructor(client: PgSyncClient, opts: PgMessageStoreOptions) {
    this.#c = client;
    this.#node = opts.nodeId;
    for (const sql of [INSERT_MESSAGES_BATCH_SQL, INSERT_SEGMENTS_SQL, SUBMITTED_ONE_PART_SQL, SETTLE_ONE_PART_SQL, FIND_BY_CARRIER_MSG_SQL, OLDEST_DUE_SQL]) client.prepared(sql);
  }

  transaction<T>(fn: () => T): T {
    return this.#c.transaction(fn);
  }

  get inTransaction(): boolean {
    return this.#c.inTransaction;
  }

  insertMessage(m: NewMessage): void {
    const scheduled = m.sendAt > m.createdAt;
    const lane = laneIndex(m.category);
    // Batched: the messages of one intake request (and of a group commit) go as one statement.
    this.#c.deferRow(
      'insert-messages',
      [
        m.id, m.client, m.category, lane, scheduled ? 'scheduled' : 'queued', m.to, m.from ?? null, m.text ?? null,
        m.bodyEnc ?? null, m.encoding, m.segmentation, m.segments, m.segments, m.carrierId, m.concatRef, m.sendAt,
        m.expiresAt, m.reference ?? null, m.callbackUrl ?? null, m.templateId ?? null, m.variant ?? null, m.stage ?? null,
        m.otpId ?? null, m.createdAt, scheduled ? null : m.createdAt, scheduled ? m.createdAt : null,
      ],
      buildInsertMessages,
    );
    // Every node's dispatcher wakes for a verification code (delivered at COMMIT, never on a
    // rollback): the node holding the carrier's binds may not be the one that accepted it.
    if (m.category === 'otp' && !scheduled) this.#c.defer(`SELECT pg_notify($1, $2)`, [OTP_WAKE_CHANNEL, m.carrierId]);
  }

  #insertSegments(messageId: string, total: number, lane: number, dueAt: number, carrierId: string): void {
    this.#c.defer(
      INSERT_SEGMENTS_SQL,
      [messageId, total, lane, dueAt, carrierId],
    );
  }

  getMessage(id: string): MessageRecord | undefined {
    const r = this.#c.one<MessageRow>(`SELECT * FROM messages WHERE id = $1`, [id]);
    return r === undefined ? undefined : toMessage(r);
  }

  getSegments(messageId: string): SegmentRecord[] {
    return this.#c.query<SegmentRow>(`SELECT * FROM segments WHERE message_id = $1 ORDER BY seq`, [messageId]).map(toSegment);
  }

  claim(carrierId: string, lane: Category, now: number, limit: number): ClaimedSegment[] {
    return this.peekDue(carrierId, lane, now, limit, new Set());
  }

  /** In PostgreSQL a peek is a claim: picked and marked in one statement (see the file comment). */
  peekDue(carrierId: string, lane: Category, now: number, limit: number, skip: ReadonlySet<number>): ClaimedSegment[] {
    if (limit <= 0) return [];
    const rows = this.#c.query<DueRow>(CLAIM_SQL, [carrierId, laneIndex(lane), now, limit, [...skip], this.#node], 'array');
    return rows.map((r) => toClaimed(r, lane));
  }

  claimDueAtCommit(carrierId: string, lane: Category, now: number, limit: number, skip: ReadonlySet<number>): () => ClaimedSegment[] | undefined {
    const sink = this.#c.deferQuery(CLAIM_SQL, [carrierId, laneIndex(lane), now, limit, [...skip], this.#node], 'array');
    return () => (sink.rows as DueRow[] | undefined)?.map((r) => toClaimed(r, lane));
  }

  markClaimed(): void {
    /* the claim statement already marked them */
  }

  markSubmitted(segmentId: number, messageId: string, total: number, carrierMsgId: string, now: number, finalOnSubmit: boolean): FinalizedMessage | undefined {
    const c = this.#c;
    if (total === 1 && !finalOnSubmit) {
      // The common case (one part, receipts awaited): nothing to return whatever happens, so
      // deferred, no round trip of its own; the resps of a turn, consecutive, as one statement
      // (one statement each cost the worker and PostgreSQL more than the update itself).
      c.deferRow('submitted-one-part', [carrierMsgId, now, segmentId], buildSubmittedOnePart);
      return undefined;
    }
    if (c.run(`UPDATE segments SET status = 'submitted', carrier_msg_id = $1, submitted_at = $2 WHERE id = $3 AND status = 'submitting'`, [carrierMsgId, now, segmentId]) === 0) return undefined;
    if (total > 1) {
      const r = c.one<{ pending: number }>(`UPDATE messages SET pending = pending - 1 WHERE id = $1 RETURNING pending`, [messageId]);
      if (r === undefined || r.pending > 0) return undefined;
    }
    if (!finalOnSubmit) {
      c.defer(`UPDATE messages SET status = 'submitted', submitted_at = $1 WHERE id = $2 AND final_at IS NULL`, [now, messageId]);
      return undefined;
    }
    const r = c.one<FinalizedRow>(
      `UPDATE messages SET status = 'submitted', submitted_at = $1, final_at = $1 WHERE id = $2 AND final_at IS NULL RETURNING ${FINALIZED_COLS}`,
      [now, messageId], 'array',
    );
    return r === undefined ? undefined : toFinalized(r, 'submitted', r[10]);
  }

  setSegmentReceipt(segmentId: number, status: SegmentStatus, now: number, stat: string | null, err: string | null): boolean {
    const final = !['submitted', 'accepted', 'enroute'].includes(status);
    return (
      this.#c.run(
        `UPDATE segments SET status = $1, receipt_stat = COALESCE($2, receipt_stat), receipt_err = COALESCE($3, receipt_err),
         final_at = $4 WHERE id = $5 AND status IN ${AWAITING_RECEIPT}`,
        [status, stat, err, final ? now : null, segmentId],
      ) > 0
    );
  }

  settleOnePartReceipt(
    segmentId: number, status: FinalSegmentStatus, now: number, stat: string | null, err: string | null, errorCode: string | null, errorText: string | null,
  ): { applied: boolean; done: FinalizedMessage | undefined } {
    const r = this.#c.one<[number, ...FinalizedRow]>(
      SETTLE_ONE_PART_SQL,
      [status, stat, err, now, segmentId, errorCode, errorText], 'array',
    );
    if (r === undefined || r[0] === 0) return { applied: false, done: undefined };
    const row = r.slice(1) as FinalizedRow;
    return { applied: true, done: row[0] === null ? undefined : toFinalized(row, status as MessageStatus, row[10]) };
  }

  requeue(segmentId: number, dueAt: number, opts: { countAttempt: boolean; errorCode?: string; carrierId?: string; tried?: string[] }): boolean {
    if (this.#c.one(`SELECT 1 FROM segments s JOIN messages m ON m.id = s.message_id WHERE s.id = $1 AND m.final_at IS NOT NULL`, [segmentId]) !== undefined) {
      this.setSegmentState(segmentId, 'canceled', dueAt, { errorCode: opts.errorCode ?? null });
      return false;
    }
    return (
      this.#c.run(
        `UPDATE segments SET status = 'queued', due_at = $2, attempts = attempts + $3, error_code = COALESCE($4, error_code),
         carrier_id = COALESCE($5, carrier_id), tried = COALESCE($6, tried), claimed_by = NULL
         WHERE id = $1 AND status IN ('queued', 'submitting')`,
        [segmentId, dueAt, opts.countAttempt ? 1 : 0, opts.errorCode ?? null, opts.carrierId ?? null, opts.tried === undefined ? null : opts.tried.join(',')],
      ) > 0
    );
  }

  setSegmentState(segmentId: number, status: SegmentStatus, now: number, info: { errorCode?: string | null; receiptStat?: string | null; receiptErr?: string | null } = {}): boolean {
    const final = !['queued', 'submitting', 'submitted', 'accepted', 'enroute'].includes(status);
    // The status before the change, read in the same statement (FROM the old row).
    const r = this.#c.one<{ message_id: string; before: string }>(
      `UPDATE segments s SET status = $2, error_code = COALESCE($4, s.error_code), receipt_stat = COALESCE($5, s.receipt_stat),
         receipt_err = COALESCE($6, s.receipt_err), final_at = CASE WHEN $3::boolean THEN $7 ELSE s.final_at END
       FROM segments old WHERE s.id = $1 AND old.id = s.id AND s.final_at IS NULL
       RETURNING s.message_id, old.status AS before`,
      [segmentId, status, final, info.errorCode ?? null, info.receiptStat ?? null, info.receiptErr ?? null, now],
    );
    if (r === undefined) return false;
    // A segment that ends without ever being accepted still leaves the unsent count.
    if (final && (r.before === 'queued' || r.before === 'submitting')) this.#c.defer(`UPDATE messages SET pending = pending - 1 WHERE id = $1`, [r.message_id]);
    return true;
  }

  finalizeMessage(messageId: string, status: MessageStatus, now: number, errorCode?: string | null, errorText?: string | null): FinalizedMessage | undefined {
    const r = this.#c.one<FinalizedRow>(
      `UPDATE messages SET status = $1, final_at = $2, error_code = COALESCE($3, error_code), error_text = COALESCE($4, error_text),
       body_enc = NULL WHERE id = $5 AND final_at IS NULL RETURNING ${FINALIZED_COLS}`,
      [status, now, errorCode ?? null, errorText ?? null, messageId], 'array',
    );
    return r === undefined ? undefined : toFinalized(r, status, r[10]);
  }

  findSegmentByCarrierMsgId(carrierId: string, carrierMsgId: string): ReceiptTarget | undefined {
    const r = this.#c.one<[number, string, number, SegmentStatus, string, number | null]>(
      FIND_BY_CARRIER_MSG_SQL,
      [carrierId, carrierMsgId], 'array',
    );
    return r === undefined ? undefined : { id: r[0], messageId: r[1], total: r[2], status: r[3], carrierId: r[4], submittedAt: r[5] };
  }

  settleReceipts(items: readonly ReceiptSettleItem[], now: number): ReceiptSettleOutcome[] {
    const out: ReceiptSettleOutcome[] = items.map(() => ({ target: undefined, settled: false, applied: false, done: undefined }));
    if (items.length === 0) return out;
    const kIdx: number[] = [], kCarrier: string[] = [], kId: string[] = [], kPos: number[] = [];
    const vIdx: number[] = [], vStatus: string[] = [], vStat: (string | null)[] = [], vErr: (string | null)[] = [];
    const vCode: (string | null)[] = [], vText: (string | null)[] = [];
    const owner = new Map<string, number>();
    items.forEach((it, i) => {
      it.keys.forEach((key, pos) => {
        const pair = `${it.carrierId}\u0000${key}`;
        const o = owner.get(pair);
        if (o === i) return;
        if (o !== undefined) throw new StoreError('store_failed', 'settleReceipts: two items share a key');
        owner.set(pair, i);
        kIdx.push(i); kCarrier.push(it.carrierId); kId.push(key); kPos.push(pos);
      });
      if (it.settle !== undefined) {
        vIdx.push(i); vStatus.push(it.settle.status); vStat.push(it.settle.stat); vErr.push(it.settle.err);
        vCode.push(it.settle.errorCode); vText.push(it.settle.errorText);
      }
    });
    const rows = this.#c.query<SettleReceiptsRow>(SETTLE_RECEIPTS_SQL, [kIdx, kCarrier, kId, kPos, vIdx, vStatus, vStat, vErr, vCode, vText, now], 'array');
    for (const r of rows) {
      const o = out[r[0]];
      o.target = { id: r[1], messageId: r[2], total: r[3], status: r[4], carrierId: r[5], submittedAt: r[6] };
      o.settled = r[7];
      o.applied = r[8];
      const f = r.slice(9) as FinalizedRow;
      if (f[0] !== null) o.done = toFinalized(f, f[3], f[10]);
    }
    return out;
  }

  hasEndedSegment(carrierId: string, carrierMsgId: string): boolean {
    return this.#c.one(`SELECT 1 FROM segments WHERE carrier_id = $1 AND carrier_msg_id = $2 AND final_at IS NOT NULL LIMIT 1`, [carrierId, carrierMsgId]) !== undefined;
  }

  setClaimCheck(claimed: (messageId: string) => boolean): void {
    this.#claimed = claimed;
  }

  cancel(ids: string[], client: string | undefined, now: number): CancelResult {
    return this.transaction(() => {
      const res: CancelResult = { canceled: [], onWire: [], final: [], notFound: [] };
      for (const id of ids) {
        // Lock the segments first: a claim holding them commits before this reads them.
        const segs = this.#c.query<{ status: string }>(`SELECT status FROM segments WHERE message_id = $1 ORDER BY seq FOR UPDATE`, [id]);
        const m = this.#c.one<{ client: string; status: MessageStatus; final_at: number | null }>(`SELECT client, status, final_at FROM messages WHERE id = $1 FOR UPDATE`, [id]);
        if (m === undefined || (client !== undefined && m.client !== client)) {
          res.notFound.push(id);
        } else if (m.final_at !== null) {
          res.final.push({ id, status: m.status });
        } else if (segs.every((s) => s.status === 'queued') && !this.#claimed(id)) {
          // Every part queued and locked by us: nothing of it is on the wire (a message left
          // 'submitting' by a claim whose parts all went back to the queue included).
          this.#c.defer(`UPDATE segments SET status = 'canceled', final_at = $1 WHERE message_id = $2 AND status = 'queued'`, [now, id]);
          this.#c.defer(`UPDATE messages SET status = 'canceled', final_at = $1, body_enc = NULL WHERE id = $2`, [now, id]);
          res.canceled.push(id);
        } else {
          res.onWire.push(id);
        }
      }
      return res;
    });
  }

  idsByReference(client: string, reference: string): string[] {
    return this.#c.query<[string]>(`SELECT id FROM messages WHERE client = $1 AND reference = $2`, [client, reference], 'array').map((r) => r[0]);
  }

  messageBody(messageId: string): { text: string | null; bodyEnc: Buffer | null } | undefined {
    const r = this.#c.one<{ body: string | null; body_enc: Buffer | null }>(`SELECT body, body_enc FROM messages WHERE id = $1`, [messageId]);
    return r === undefined ? undefined : { text: r.body, bodyEnc: r.body_enc };
  }

  replanMessage(
    messageId: string,
    p: { carrierId: string; encoding: MessageRecord['encoding']; segmentation: MessageRecord['segmentation']; segments: number; concatRef: number; dueAt: number; attempts: number; tried: readonly string[]; errorCode: string | null },
  ): void {
    this.transaction(() => {
      const m = this.#c.one<{ category: Category; final_at: number | null }>(`SELECT category, final_at FROM messages WHERE id = $1 FOR UPDATE`, [messageId]);
      if (m === undefined || m.final_at !== null) return;
      this.#c.defer(`DELETE FROM segments WHERE message_id = $1`, [messageId]);
      this.#c.defer(
        `UPDATE messages SET carrier_id = $1, encoding = $2, segmentation = $3, segments = $4, pending = $4, concat_ref = $5,
         status = CASE WHEN status = 'submitting' THEN 'queued' ELSE status END WHERE id = $6 AND final_at IS NULL`,
        [p.carrierId, p.encoding, p.segmentation, p.segments, p.concatRef, messageId],
      );
      this.#insertSegments(messageId, p.segments, laneIndex(m.category), p.dueAt, p.carrierId);
      this.#c.defer(`UPDATE segments SET attempts = $1, tried = $2, error_code = $3 WHERE message_id = $4`, [
        p.attempts, p.tried.length === 0 ? null : p.tried.join(','), p.errorCode, messageId,
      ]);
    });
  }

  /** Only this node's claims: what another node has in flight is its business (or the reaper's). */
  requeueStaleSubmitting(before: number, now: number, inFlight: (segmentId: number) => boolean, limit: number): number {
    const ids = this.#c
      .query<[number]>(`SELECT id FROM segments WHERE status = 'submitting' AND claimed_by = $1 AND (claimed_at IS NULL OR claimed_at < $2) LIMIT $3`, [this.#node, before, limit], 'array')
      .map((r) => r[0]);
    return requeueStale(this, ids, now, inFlight);
  }

  /** This node's claims left from before a restart with the same node id (or unowned ones). */
  recoverInFlight(): number {
    return this.transaction(() => this.#requeueClaims(`(claimed_by = $1 OR claimed_by IS NULL)`, [this.#node]));
  }

  /**
   * Cluster: the claims of nodes not in `liveNodes` (their registry rows expired) go back to
   * the queue; sent again (at-least-once, as after a crash). Returns how many segments.
   */
  reapClaims(liveNodes: readonly string[]): number {
    return this.transaction(() => this.#requeueClaims(`claimed_by IS NOT NULL AND NOT (claimed_by = ANY($1::text[]))`, [[...liveNodes, this.#node]]));
  }

  #requeueClaims(where: string, params: unknown[]): number {
    const moved = this.#c.query<[string]>(
      `UPDATE segments SET status = 'queued', claimed_by = NULL WHERE status = 'submitting' AND ${where} RETURNING message_id`, params, 'array',
    );
    if (moved.length === 0) return 0;
    this.#c.defer(
      `UPDATE messages SET status = 'queued' WHERE id = ANY($1::text[]) AND status = 'submitting'
       AND NOT EXISTS (SELECT 1 FROM segments s WHERE s.message_id = messages.id AND s.status <> 'queued')`,
      [[...new Set(moved.map((r) => r[0]))]],
    );
    return moved.length;
  }

  purgeFinal(before: number, limit: number): number {
    const bound = idUpperBound(before);
    return this.transaction(() => {
      const ids = this.#c
        .query<[string]>(`SELECT id FROM messages WHERE id < $1 AND final_at IS NOT NULL AND final_at < $2 LIMIT $3`, [bound, before, limit], 'array')
        .map((r) => r[0]);
      if (ids.length === 0) return 0;
      this.#c.defer(`DELETE FROM segments WHERE message_id = ANY($1::text[])`, [ids]);
      return this.#c.run(`DELETE FROM messages WHERE id = ANY($1::text[])`, [ids]);
    });
  }

  openDepthByLane(): Record<Category, number> {
    const out = { otp: 0, notification: 0, collection: 0, marketing: 0 };
    for (const [lane, n] of this.#c.query<[number, number]>(`SELECT lane, count(*) FROM segments WHERE status = 'queued' GROUP BY lane`, [], 'array')) {
      const c = CATEGORIES[lane];
      if (c !== undefined) out[c] = n;
    }
    return out;
  }

  oldestQueuedDue(carrierIds: readonly string[]): Record<Category, number | undefined> {
    const out: Record<Category, number | undefined> = { otp: undefined, notification: undefined, collection: undefined, marketing: undefined };
    if (carrierIds.length === 0) return out;
    // One index probe per (carrier, lane), in one round trip.
    const rows = this.#c.query<[number, number | null]>(OLDEST_DUE_SQL, [[...carrierIds]], 'array');
    for (const [l, d] of rows) {
      const lane = CATEGORIES[l]!;
      if (d !== null && (out[lane] === undefined || d < out[lane]!)) out[lane] = d;
    }
    return out;
  }

  /** Atomic across daemons: two multipart messages of one carrier never get one reference from two nodes at once. */
  nextConcatRef(carrierId: string): number {
    const r = this.#c.one<{ value: number }>(
      `INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = (counters.value + 1) % 65536 RETURNING value`,
      [`ref:${carrierId}`],
    );
    return r!.value;
  }

  takeReceiptTimeouts(carrierId: string, before: number, scan: number): { stale: SegmentRecord[]; more: boolean } {
    const atKey = `receipt_sweep_at:${carrierId}`;
    const idKey = `receipt_sweep_id:${carrierId}`;
    // The cursor rows are locked for the transaction: two nodes sweeping one carrier take turns.
    this.#c.defer(`INSERT INTO counters (name, value) VALUES ($1, 0), ($2, 0) ON CONFLICT (name) DO NOTHING`, [atKey, idKey]);
    const cur = new Map(this.#c.query<[string, number]>(`SELECT name, value FROM counters WHERE name IN ($1, $2) ORDER BY name FOR UPDATE`, [atKey, idKey], 'array'));
    const at = cur.get(atKey) ?? 0;
    const id = cur.get(idKey) ?? 0;
    const rows = this.#c.query<SegmentRow>(
      `SELECT * FROM segments WHERE carrier_id = $1 AND submitted_at >= $2 AND (submitted_at, id) > ($2, $3)
       AND submitted_at < $4 ORDER BY submitted_at, id LIMIT $5`,
      [carrierId, at, id, before, scan],
    );
    const last = rows[rows.length - 1];
    if (last !== undefined) {
      this.#c.defer(`UPDATE counters SET value = $2 WHERE name = $1`, [atKey, last.submitted_at]);
      this.#c.defer(`UPDATE counters SET value = $2 WHERE name = $1`, [idKey, last.id]);
    }
    const stale = rows.filter((r) => r.status === 'submitted' || r.status === 'accepted' || r.status === 'enroute').map(toSegment);
    return { stale, more: rows.length >= scan };
  }

  queuedOf(carrierId: string, limit: number): Array<{ segmentId: number; messageId: string; to: string; category: Category; tried: string[] }> {
    return this.#c
      .query<{ id: number; message_id: string; to_number: string; category: Category; tried: string | null }>(
        `SELECT s.id, s.message_id, m.to_number, m.category, s.tried FROM segments s JOIN messages m ON m.id = s.message_id
         WHERE s.status = 'queued' AND s.carrier_id = $1 LIMIT $2`,
        [carrierId, limit],
      )
      .map((r) => ({ segmentId: r.id, messageId: r.message_id, to: r.to_number, category: r.category, tried: r.tried === null ? [] : r.tried.split(',') }));
  }

  lastMessageTo(to: string): { id: string; client: string } | undefined {
    return this.#c.one<{ id: string; client: string }>(`SELECT id, client FROM messages WHERE to_number = $1 ORDER BY created_at DESC LIMIT 1`, [to]);
  }

  close(): void {
    this.#c.close();
  }
}
