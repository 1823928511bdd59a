/** SQLite implementation of MessageStore: messages, segments and the durable queue. */
import type Database from 'better-sqlite3';
import { CATEGORIES, type Category, type MessageStatus, type SegmentStatus } from '../../domain/types.js';
import { idUpperBound } from '../../domain/ids.js';
import { limitedStatement } from './limited.js';
import { requeueStale } from '../requeue-stale.js';
import { FINALIZED_COLS, toFinalized, toMessage, toSegment, type FinalizedRow, type MessageRow, type SegmentRow } from '../rows.js';
import type {
  FinalizedMessage,
  CancelResult,
  ClaimedSegment,
  MessageRecord,
  MessageStore,
  NewMessage,
  ReceiptSettleItem,
  ReceiptSettleOutcome,
  ReceiptTarget,
  SegmentRecord,
} from '../types.js';

const laneIndex = (c: Category): number => CATEGORIES.indexOf(c);

/** Queue depth in segments not yet on the wire (the partial due-index holds exactly those). */
export const QUEUED_BY_LANE_SQL = `SELECT lane, count(*) AS n FROM segments WHERE status = 'queued' GROUP BY lane`;
/** QUEUED_BY_LANE_SQL rows by category. */
export function depthByLane(rows: ReadonlyArray<{ lane: number; n: number }>): Record<Category, number> {
  const out = { otp: 0, notification: 0, collection: 0, marketing: 0 };
  for (const r of rows) {
    const c = CATEGORIES[r.lane];
    if (c !== undefined) out[c] = r.n;
  }
  return out;
}

/** A due segment and what its PDU needs from its message, raw (dueSegs). */
type DueRow = [
  id: number, message_id: string, seq: number, total: number, carrier_id: string, attempts: number, tried: string | null,
  to_number: string, from_addr: string | null, body: string | null, body_enc: Buffer | null,
  encoding: ClaimedSegment['encoding'], segmentation: ClaimedSegment['segmentation'], concat_ref: number,
  expires_at: number, client: string, created_at: number,
];
const NO_CARRIERS: readonly string[] = Object.freeze([]);
/**
 * Segments remembered as awaiting a receipt, at most (≈ 250 bytes each). A receipt usually
 * comes seconds after its submit; one for a segment no longer remembered is looked up.
 */
export const AWAITING_RECEIPT_CACHE = 50_000;

interface SegRow {
  id: number; message_id: string; seq: number; total: number; carrier_id: string; attempts: number; tried: string | null;
}

export class SqliteMessageStore implements MessageStore {
  readonly #db: Database.Database;
  readonly #refs = new Map<string, number>();
  #claimed: (messageId: string) => boolean = () => false;
  /**
   * The newest segment submitted under each (carrier, carrier message id), from markSubmitted:
   * settleReceipts takes a receipt's target from here instead of an index lookup (a tenth of
   * the store's work per receipted message). Only a hint: the settle's UPDATE checks the row
   * is that segment, under that id, still awaiting its receipt, and looks it up when it is not
   * (a rolled-back transaction, a requeue, an entry dropped for room).
   */
  readonly #awaiting = new Map<string, ReceiptTarget>();
  #rememberedSettled = 0;
  readonly #s;
  readonly #tx;

  constructor(db: Database.Database) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    // Rows as arrays on the hot reads: better-sqlite3 builds an object row by internalising
    // every column name and adding it as a property, per row (2-5 µs a row here).
    const raw = (sql: string) => db.prepare(sql).raw(true);
    this.#tx = {
      begin: p('BEGIN'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
      savepoint: p('SAVEPOINT xinge_unit'),
      release: p('RELEASE xinge_unit'),
      rollbackTo: p('ROLLBACK TO xinge_unit'),
    };
    this.#s = {
      // Positional parameters: binding 26 named ones costs more than the insert on the hot path.
      insertMsg: p(`INSERT INTO messages (id, client, category, lane, status, to_number, from_addr, body, body_enc, encoding,
        segmentation, segments, pending, carrier_id, concat_ref, send_at, expires_at, reference, callback_url, template_id,
        variant, stage, otp_id, created_at, queued_at, scheduled_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertSeg: p(`INSERT INTO segments (message_id, seq, total, lane, status, due_at, carrier_id) VALUES (?, ?, ?, ?, 'queued', ?, ?)`),
      getMsg: p(`SELECT * FROM messages WHERE id = ?`),
      getSegs: p(`SELECT * FROM segments WHERE message_id = ? ORDER BY seq`),
      // Claims are set-based: three statements per batch, whatever its size.
      claimSegs: limitedStatement(db, `UPDATE segments SET status = 'submitting', claimed_at = ? WHERE id IN (
        SELECT id FROM segments WHERE status = 'queued' AND carrier_id = ? AND lane = ? AND due_at <= ?
        ORDER BY due_at, id LIMIT {limit}) RETURNING id, message_id, seq, total, carrier_id, attempts, tried`, true),
      // One statement per lane peek: the segment and what its PDU needs from the message.
      dueSegs: limitedStatement(db, `SELECT s.id, s.message_id, s.seq, s.total, s.carrier_id, s.attempts, s.tried, m.to_number, m.from_addr,
        m.body, m.body_enc, m.encoding, m.segmentation, m.concat_ref, m.expires_at, m.client, m.created_at
        FROM segments s JOIN messages m ON m.id = s.message_id
        WHERE s.status = 'queued' AND s.carrier_id = ? AND s.lane = ? AND s.due_at <= ? ORDER BY s.due_at, s.id LIMIT {limit}`, false, true),
      segsSubmitting: p(`UPDATE segments SET status = 'submitting', claimed_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'queued'`),
      segSubmitting: p(`UPDATE segments SET status = 'submitting', claimed_at = ? WHERE id = ? AND status = 'queued'`),
      staleSubmitting: limitedStatement(db, `SELECT id FROM segments WHERE status = 'submitting' AND (claimed_at IS NULL OR claimed_at < ?) LIMIT {limit}`),
      msgSubmitting: p(`UPDATE messages SET status = 'submitting', submitting_at = COALESCE(submitting_at, ?)
        WHERE id = ? AND status IN ('queued', 'scheduled')`),
      claimMsgs: p(`SELECT id, to_number, from_addr, body, body_enc, encoding, segmentation, concat_ref, expires_at, client,
        created_at FROM messages WHERE id IN (SELECT value FROM json_each(?))`),
      msgsSubmitting: p(`UPDATE messages SET status = 'submitting', submitting_at = COALESCE(submitting_at, ?)
        WHERE id IN (SELECT value FROM json_each(?)) AND status IN ('queued', 'scheduled')`),
      // Only a segment still awaiting a receipt takes one: a final segment never changes.
      segReceipt: p(`UPDATE segments SET status = ?, receipt_stat = COALESCE(?, receipt_stat), receipt_err = COALESCE(?, receipt_err),
        final_at = ? WHERE id = ? AND status IN ('submitted', 'accepted', 'enroute')`),
      // The same for a target remembered in #awaiting: it must still be that carrier id's segment.
      segReceiptRemembered: p(`UPDATE segments SET status = ?, receipt_stat = COALESCE(?, receipt_stat), receipt_err = COALESCE(?, receipt_err),
        final_at = ? WHERE id = ? AND carrier_id = ? AND carrier_msg_id = ? AND status IN ('submitted', 'accepted', 'enroute')`),
      segSubmitted: p(`UPDATE segments SET status = 'submitted', carrier_msg_id = ?, submitted_at = ? WHERE id = ? AND status = 'submitting'`),
      msgPendingDec: p(`UPDATE messages SET pending = pending - 1 WHERE id = ? RETURNING pending, status`),
      // UPDATE … RETURNING costs twice a plain UPDATE plus a SELECT by key (SQLite
      // materialises the returned rows), so the hot path reads, then writes.
      msgSubmitted: p(`UPDATE messages SET status = 'submitted', submitted_at = ?, final_at = ? WHERE id = ? AND final_at IS NULL`),
      openMsg: raw(`SELECT ${FINALIZED_COLS} FROM messages WHERE id = ? AND final_at IS NULL`),
      // Guarded: a final segment (canceled, ended) is never queued again.
      requeue: p(`UPDATE segments SET status = 'queued', due_at = @dueAt, attempts = attempts + @inc,
        error_code = COALESCE(@errorCode, error_code), carrier_id = COALESCE(@carrierId, carrier_id),
        tried = COALESCE(@tried, tried) WHERE id = @id AND status IN ('queued', 'submitting')`),
      body: p(`SELECT body, body_enc FROM messages WHERE id = ?`),
      replanDelete: p(`DELETE FROM segments WHERE message_id = ?`),
      replanSegs: p(`UPDATE segments SET attempts = ?, tried = ?, error_code = ? WHERE message_id = ?`),
      replanMsg: p(`UPDATE messages SET carrier_id = ?, encoding = ?, segmentation = ?, segments = ?, pending = ?, concat_ref = ?,
        status = CASE WHEN status = 'submitting' THEN 'queued' ELSE status END WHERE id = ? AND final_at IS NULL`),
      segOfEnded: p(`SELECT 1 FROM segments s JOIN messages m ON m.id = s.message_id WHERE s.id = ? AND m.final_at IS NOT NULL`),
      segMsgId: p(`SELECT message_id, status FROM segments WHERE id = ?`),
      setSeg: p(`UPDATE segments SET status = @status, error_code = COALESCE(@errorCode, error_code),
        receipt_stat = COALESCE(@receiptStat, receipt_stat), receipt_err = COALESCE(@receiptErr, receipt_err),
        final_at = CASE WHEN @final THEN @now ELSE final_at END WHERE id = @id AND final_at IS NULL`),
      finalize: p(`UPDATE messages SET status = ?, final_at = ?, error_code = COALESCE(?, error_code),
        error_text = COALESCE(?, error_text), body_enc = NULL WHERE id = ?`),
      // Carriers recycle ids: only segments awaiting a receipt match, the newest first.
      byCarrierMsg: raw(`SELECT id, message_id, total, status, carrier_id, submitted_at FROM segments WHERE carrier_id = ? AND carrier_msg_id = ?
        AND status IN ('submitted', 'accepted', 'enroute') ORDER BY submitted_at DESC, id DESC LIMIT 1`),
      endedByCarrierMsg: p(`SELECT 1 FROM segments WHERE carrier_id = ? AND carrier_msg_id = ? AND final_at IS NOT NULL LIMIT 1`),
      cancelMsg: p(`UPDATE messages SET status = 'canceled', final_at = ?, body_enc = NULL WHERE id = ?`),
      cancelSegs: p(`UPDATE segments SET status = 'canceled', final_at = ? WHERE message_id = ? AND status = 'queued'`),
      byRef: p(`SELECT id FROM messages WHERE client = ? AND reference = ?`),
      recoverSegs: p(`UPDATE segments SET status = 'queued' WHERE status = 'submitting'`),
      recoverMsgs: p(`UPDATE messages SET status = 'queued' WHERE status = 'submitting'
        AND NOT EXISTS (SELECT 1 FROM segments s WHERE s.message_id = messages.id AND s.status <> 'queued')`),
      // Ids sort by creation time: only rows created before the cutoff can have ended before it.
      purgeable: limitedStatement(db, `SELECT id FROM messages WHERE id < ? AND final_at IS NOT NULL AND final_at < ? LIMIT {limit}`, true),
      purgeSegs: p(`DELETE FROM segments WHERE message_id IN (SELECT value FROM json_each(?))`),
      purgeMsgs: p(`DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))`),
      depth: p(QUEUED_BY_LANE_SQL),
      oldestDue: p(`SELECT min(due_at) AS d FROM segments WHERE status = 'queued' AND carrier_id = ? AND lane = ?`),
      refGet: p(`SELECT value FROM counters WHERE name = ?`),
      refSet: p(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`),
      // Keyset walk of segments_submitted: (submitted_at, id) after the cursor, before the cutoff.
      sweep: limitedStatement(db, `SELECT * FROM segments WHERE carrier_id = ? AND submitted_at >= ? AND (submitted_at, id) > (?, ?)
        AND submitted_at < ? ORDER BY submitted_at, id LIMIT {limit}`, true),
      queuedOf: limitedStatement(db, `SELECT s.id, s.message_id, m.to_number, m.category, s.tried FROM segments s JOIN messages m ON m.id = s.message_id
        WHERE s.status = 'queued' AND s.carrier_id = ? LIMIT {limit}`),
      lastTo: p(`SELECT id, client FROM messages WHERE to_number = ? ORDER BY created_at DESC LIMIT 1`),
    };
  }

  /**
   * A transaction, or a savepoint when one is open. better-sqlite3's db.transaction(fn)
   * builds four wrapper functions per call; on the hot path (a savepoint per single
   * submit) that cost more than the writes, so the statements are prepared once here.
   */
  transaction<T>(fn: () => T): T {
    const t = this.#tx;
    const nested = this.#db.inTransaction;
    (nested ? t.savepoint : t.begin).run();
    try {
      const result = fn();
      (nested ? t.release : t.commit).run();
      return result;
    } catch (err) {
      if (this.#db.inTransaction) {
        if (nested) {
          t.rollbackTo.run();
          t.release.run();
        } else {
          t.rollback.run();
        }
      }
      throw err;
    }
  }

  insertMessage(m: NewMessage): void {
    const scheduled = m.sendAt > m.createdAt;
    const lane = laneIndex(m.category);
    this.#s.insertMsg.run(
      m.id, m.client, m.category, lane, scheduled ? 'scheduled' : 'queued', m.to, m.from ?? null, m.text ?? null,
      m.bodyEnc ?? null, m.encoding, m.segmentation, m.segments, m.segments, m.carrierId, m.concatRef, m.sendAt,
      m.expiresAt, m.reference ?? null, m.callbackUrl ?? null, m.templateId ?? null, m.variant ?? null, m.stage ?? null,
      m.otpId ?? null, m.createdAt, scheduled ? null : m.createdAt, scheduled ? m.createdAt : null,
    );
    for (let seq = 1; seq <= m.segments; seq++) this.#s.insertSeg.run(m.id, seq, m.segments, lane, m.sendAt, m.carrierId);
  }

  getMessage(id: string): MessageRecord | undefined {
    const r = this.#s.getMsg.get(id) as MessageRow | undefined;
    return r === undefined ? undefined : toMessage(r);
  }

  getSegments(messageId: string): SegmentRecord[] {
    return (this.#s.getSegs.all(messageId) as SegmentRow[]).map(toSegment);
  }

  claim(carrierId: string, lane: Category, now: number, limit: number): ClaimedSegment[] {
    if (limit <= 0) return [];
    return this.transaction(() => {
      const segs = this.#s.claimSegs(limit).all(now, carrierId, laneIndex(lane), now) as SegRow[];
      if (segs.length === 0) return [];
      segs.sort((a, b) => a.id - b.id);
      const ids = JSON.stringify([...new Set(segs.map((r) => r.message_id))]);
      const out = this.#withMessages(segs, lane, ids);
      this.#s.msgsSubmitting.run(now, ids);
      return out;
    });
  }

  peekDue(carrierId: string, lane: Category, now: number, limit: number, skip: ReadonlySet<number>): ClaimedSegment[] {
    if (limit <= 0) return [];
    const rows = this.#s.dueSegs(limit + skip.size).all(carrierId, laneIndex(lane), now) as DueRow[];
    const out: ClaimedSegment[] = [];
    for (const r of rows) {
      if (skip.has(r[0])) continue;
      out.push({
        id: r[0], messageId: r[1], seq: r[2], total: r[3], lane, carrierId: r[4], attempts: r[5],
        to: r[7], from: r[8], text: r[9], bodyEnc: r[10], encoding: r[11], segmentation: r[12], concatRef: r[13],
        expiresAt: r[14], client: r[15], createdAt: r[16], triedCarriers: r[6] === null ? NO_CARRIERS : r[6].split(','),
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  markClaimed(segmentIds: readonly number[], messageIds: readonly string[], now: number): void {
    if (segmentIds.length === 0) return;
    const msgs = [...new Set(messageIds)];
    // A json_each statement costs ~30 µs a run before its first row: worth it for a large
    // claim (a draining backlog), not for the few ids of a pass under single submits.
    if (segmentIds.length <= 8) {
      for (const id of segmentIds) this.#s.segSubmitting.run(now, id);
      for (const id of msgs) this.#s.msgSubmitting.run(now, id);
      return;
    }
    this.#s.segsSubmitting.run(now, JSON.stringify(segmentIds));
    this.#s.msgsSubmitting.run(now, JSON.stringify(msgs));
  }

  #withMessages(segs: SegRow[], lane: Category, messageIdsJson: string): ClaimedSegment[] {
    const msgs = new Map(
      (this.#s.claimMsgs.all(messageIdsJson) as Array<{
        id: string; to_number: string; from_addr: string | null; body: string | null; body_enc: Buffer | null;
        encoding: ClaimedSegment['encoding']; segmentation: ClaimedSegment['segmentation']; concat_ref: number;
        expires_at: number; client: string; created_at: number;
      }>).map((m) => [m.id, m]),
    );
    const out: ClaimedSegment[] = [];
    for (const r of segs) {
      const m = msgs.get(r.message_id);
      if (m === undefined) continue;
      out.push({
        id: r.id, messageId: r.message_id, seq: r.seq, total: r.total, lane, carrierId: r.carrier_id, attempts: r.attempts,
        to: m.to_number, from: m.from_addr, text: m.body, bodyEnc: m.body_enc, encoding: m.encoding,
        segmentation: m.segmentation, concatRef: m.concat_ref, expiresAt: m.expires_at, client: m.client,
        createdAt: m.created_at, triedCarriers: r.tried === null ? [] : r.tried.split(','),
      });
    }
    return out;
  }

  markSubmitted(segmentId: number, messageId: string, total: number, carrierMsgId: string, now: number, finalOnSubmit: boolean, carrierId?: string): FinalizedMessage | undefined {
    if (this.#s.segSubmitted.run(carrierMsgId, now, segmentId).changes === 0) return undefined;
    // Only one-part segments that take a receipt are remembered, but any submit under the id
    // forgets an older one: what is remembered is always the newest segment under it.
    if (carrierId !== undefined) {
      this.#remember(carrierId, carrierMsgId, finalOnSubmit || total !== 1 ? undefined : { id: segmentId, messageId, total, status: 'submitted', carrierId, submittedAt: now });
    }
    if (total > 1) {
      const r = this.#s.msgPendingDec.get(messageId) as { pending: number } | undefined;
      if (r === undefined || r.pending > 0) return undefined;
    }
    if (!finalOnSubmit) {
      this.#s.msgSubmitted.run(now, null, messageId);
      return undefined;
    }
    const open = this.#s.openMsg.get(messageId) as FinalizedRow | undefined;
    if (open === undefined) return undefined;
    this.#s.msgSubmitted.run(now, now, messageId);
    return toFinalized(open, 'submitted', open[10]);
  }

  /** The newest segment under that id is `target` (undefined: one that takes no receipt). */
  #remember(carrierId: string, carrierMsgId: string, target: ReceiptTarget | undefined): void {
    const key = `${carrierId}\u0000${carrierMsgId}`;
    // Deleted first so the Map's order stays submit order: the oldest goes when it is full.
    this.#awaiting.delete(key);
    if (target === undefined) return;
    this.#awaiting.set(key, target);
    if (this.#awaiting.size > AWAITING_RECEIPT_CACHE) this.#awaiting.delete(this.#awaiting.keys().next().value!);
  }

  /** Segments remembered as awaiting a receipt, and receipts settled from memory (tests). */
  get remembered(): { awaiting: number; settled: number } {
    return { awaiting: this.#awaiting.size, settled: this.#rememberedSettled };
  }

  setSegmentReceipt(segmentId: number, status: SegmentStatus, now: number, stat: string | null, err: string | null): boolean {
    const final = !['submitted', 'accepted', 'enroute'].includes(status);
    return this.#s.segReceipt.run(status, stat, err, final ? now : null, segmentId).changes > 0;
  }

  requeue(segmentId: number, dueAt: number, opts: { countAttempt: boolean; errorCode?: string; carrierId?: string; tried?: string[] }): boolean {
    if (this.#s.segOfEnded.get(segmentId) !== undefined) {
      this.setSegmentState(segmentId, 'canceled', dueAt, { errorCode: opts.errorCode ?? null });
      return false;
    }
    return this.#s.requeue.run({
      id: segmentId, dueAt, inc: opts.countAttempt ? 1 : 0, errorCode: opts.errorCode ?? null,
      carrierId: opts.carrierId ?? null, tried: opts.tried === undefined ? null : opts.tried.join(','),
    }).changes > 0;
  }

  setSegmentState(segmentId: number, status: SegmentStatus, now: number, info: { errorCode?: string | null; receiptStat?: string | null; receiptErr?: string | null } = {}): boolean {
    const final = !['queued', 'submitting', 'submitted', 'accepted', 'enroute'].includes(status);
    const before = this.#s.segMsgId.get(segmentId) as { message_id: string; status: string } | undefined;
    const changed = this.#s.setSeg.run({
      id: segmentId, status, now, final: final ? 1 : 0, errorCode: info.errorCode ?? null,
      receiptStat: info.receiptStat ?? null, receiptErr: info.receiptErr ?? null,
    }).changes > 0;
    // A segment that ends without ever being accepted still leaves the unsent count.
    if (changed && before !== undefined && final && (before.status === 'queued' || before.status === 'submitting')) {
      this.#s.msgPendingDec.get(before.message_id);
    }
    return changed;
  }

  finalizeMessage(messageId: string, status: MessageStatus, now: number, errorCode?: string | null, errorText?: string | null): FinalizedMessage | undefined {
    const open = this.#s.openMsg.get(messageId) as FinalizedRow | undefined;
    if (open === undefined) return undefined;
    this.#s.finalize.run(status, now, errorCode ?? null, errorText ?? null, messageId);
    return toFinalized(open, status, errorCode ?? open[10]);
  }

  /** As PostgreSQL's (one statement there); here the receipts one by one, in one call from the handler's one unit. */
  settleReceipts(items: readonly ReceiptSettleItem[], now: number): ReceiptSettleOutcome[] {
    return items.map((it) => {
      const remembered = this.#settleRemembered(it, now);
      if (remembered !== undefined) return remembered;
      let target: ReceiptTarget | undefined;
      for (const k of it.keys) if ((target = this.findSegmentByCarrierMsgId(it.carrierId, k)) !== undefined) break;
      const st = it.settle;
      if (target === undefined || st === undefined || target.total !== 1) return { target, settled: false, applied: false, done: undefined };
      const applied = this.setSegmentReceipt(target.id, st.status, now, st.stat, st.err);
      const done = applied ? this.finalizeMessage(target.messageId, st.status, now, st.errorCode, st.errorText) : undefined;
      return { target, settled: true, applied, done };
    });
  }

  /**
   * A final receipt for a one-part segment remembered under its first id form: settled without
   * the lookup. The lookup would find that same segment (the newest awaiting a receipt under
   * the first id form that has one), so the outcome is the same; undefined sends the receipt
   * to the lookup.
   */
  #settleRemembered(it: ReceiptSettleItem, now: number): ReceiptSettleOutcome | undefined {
    const st = it.settle;
    const first = it.keys[0];
    if (st === undefined || first === undefined) return undefined;
    const key = `${it.carrierId}\u0000${first}`;
    const target = this.#awaiting.get(key);
    if (target === undefined) return undefined;
    this.#awaiting.delete(key);
    // `settle` is only ever a final status.
    if (this.#s.segReceiptRemembered.run(st.status, st.stat, st.err, now, target.id, it.carrierId, first).changes === 0) return undefined;
    const done = this.finalizeMessage(target.messageId, st.status, now, st.errorCode, st.errorText);
    this.#rememberedSettled++;
    return { target, settled: true, applied: true, done };
  }

  findSegmentByCarrierMsgId(carrierId: string, carrierMsgId: string): ReceiptTarget | undefined {
    const r = this.#s.byCarrierMsg.get(carrierId, carrierMsgId) as
      | [id: number, message_id: string, total: number, status: SegmentStatus, carrier_id: string, submitted_at: number | null]
      | undefined;
    return r === undefined ? undefined : { id: r[0], messageId: r[1], total: r[2], status: r[3], carrierId: r[4], submittedAt: r[5] };
  }

  hasEndedSegment(carrierId: string, carrierMsgId: string): boolean {
    return this.#s.endedByCarrierMsg.get(carrierId, carrierMsgId) !== undefined;
  }

  setClaimCheck(claimed: (messageId: string) => boolean): void {
    this.#claimed = claimed;
  }

  cancel(ids: string[], client: string | undefined, now: number): CancelResult {
    return this.transaction(() => {
      const res: CancelResult = { canceled: [], onWire: [], final: [], notFound: [] };
      for (const id of ids) {
        const m = this.#s.getMsg.get(id) as MessageRow | undefined;
        if (m === undefined || (client !== undefined && m.client !== client)) {
          res.notFound.push(id);
        } else if (m.final_at !== null) {
          res.final.push({ id, status: m.status });
        } else if ((m.status === 'queued' || m.status === 'scheduled') && !this.#claimed(id)) {
          this.#s.cancelSegs.run(now, id);
          this.#s.cancelMsg.run(now, id);
          res.canceled.push(id);
        } else {
          res.onWire.push(id);
        }
      }
      return res;
    });
  }

  idsByReference(client: string, reference: string): string[] {
    return (this.#s.byRef.all(client, reference) as Array<{ id: string }>).map((r) => r.id);
  }

  messageBody(messageId: string): { text: string | null; bodyEnc: Buffer | null } | undefined {
    const r = this.#s.body.get(messageId) as { body: string | null; body_enc: Buffer | null } | undefined;
    return r === undefined ? undefined : { text: r.body, bodyEnc: r.body_enc };
  }

  replanMessage(
    messageId: string,
    p: { carrierId: string; encoding: MessageRecord['encoding']; segmentation: MessageRecord['segmentation']; segments: number; concatRef: number; dueAt: number; attempts: number; tried: readonly string[]; errorCode: string | null },
  ): void {
    this.transaction(() => {
      const m = this.#s.getMsg.get(messageId) as MessageRow | undefined;
      if (m === undefined || m.final_at !== null) return;
      this.#s.replanDelete.run(messageId);
      this.#s.replanMsg.run(p.carrierId, p.encoding, p.segmentation, p.segments, p.segments, p.concatRef, messageId);
      const lane = laneIndex(m.category);
      for (let seq = 1; seq <= p.segments; seq++) this.#s.insertSeg.run(messageId, seq, p.segments, lane, p.dueAt, p.carrierId);
      this.#s.replanSegs.run(p.attempts, p.tried.length === 0 ? null : p.tried.join(','), p.errorCode, messageId);
    });
  }

  requeueStaleSubmitting(before: number, now: number, inFlight: (segmentId: number) => boolean, limit: number): number {
    const ids = this.#s.staleSubmitting(limit).pluck().all(before) as number[];
    return requeueStale(this, ids, now, inFlight);
  }

  recoverInFlight(): number {
    return this.transaction(() => {
      const n = this.#s.recoverSegs.run().changes;
      this.#s.recoverMsgs.run();
      return n;
    });
  }

  purgeFinal(before: number, limit: number): number {
    const bound = idUpperBound(before);
    return this.transaction(() => {
      const ids = this.#s.purgeable(limit).pluck().all(bound, before) as string[];
      if (ids.length === 0) return 0;
      const json = JSON.stringify(ids);
      this.#s.purgeSegs.run(json);
      return this.#s.purgeMsgs.run(json).changes;
    });
  }

  openDepthByLane(): Record<Category, number> {
    return depthByLane(this.#s.depth.all() as Array<{ lane: number; n: number }>);
  }

  oldestQueuedDue(carrierIds: readonly string[]): Record<Category, number | undefined> {
    const out: Record<Category, number | undefined> = { otp: undefined, notification: undefined, collection: undefined, marketing: undefined };
    CATEGORIES.forEach((lane, i) => {
      for (const c of carrierIds) {
        const d = (this.#s.oldestDue.get(c, i) as { d: number | null }).d;
        if (d !== null && (out[lane] === undefined || d < out[lane]!)) out[lane] = d;
      }
    });
    return out;
  }

  nextConcatRef(carrierId: string): number {
    let v = this.#refs.get(carrierId);
    if (v === undefined) v = ((this.#s.refGet.get(`ref:${carrierId}`) as { value: number } | undefined)?.value ?? 0);
    v = (v + 1) % 65536;
    this.#refs.set(carrierId, v);
    this.#s.refSet.run(`ref:${carrierId}`, v);
    return v;
  }

  takeReceiptTimeouts(carrierId: string, before: number, scan: number): { stale: SegmentRecord[]; more: boolean } {
    const atKey = `receipt_sweep_at:${carrierId}`;
    const idKey = `receipt_sweep_id:${carrierId}`;
    const at = (this.#s.refGet.get(atKey) as { value: number } | undefined)?.value ?? 0;
    const id = (this.#s.refGet.get(idKey) as { value: number } | undefined)?.value ?? 0;
    const rows = this.#s.sweep(scan).all(carrierId, at, at, id, before) as SegmentRow[];
    const last = rows[rows.length - 1];
    if (last !== undefined) {
      this.#s.refSet.run(atKey, last.submitted_at);
      this.#s.refSet.run(idKey, last.id);
    }
    const stale = rows.filter((r) => r.status === 'submitted' || r.status === 'accepted' || r.status === 'enroute').map(toSegment);
    return { stale, more: rows.length >= scan };
  }

  queuedOf(carrierId: string, limit: number): Array<{ segmentId: number; messageId: string; to: string; category: Category; tried: string[] }> {
    return (this.#s.queuedOf(limit).all(carrierId) as Array<{ id: number; message_id: string; to_number: string; category: Category; tried: string | null }>).slice(0, limit).map(
      (r) => ({ segmentId: r.id, messageId: r.message_id, to: r.to_number, category: r.category, tried: r.tried === null ? [] : r.tried.split(',') }),
    );
  }

  lastMessageTo(to: string): { id: string; client: string } | undefined {
    return this.#s.lastTo.get(to) as { id: string; client: string } | undefined;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
