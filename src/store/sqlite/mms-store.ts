/** SQLite implementation of MmsStore (tables from the MMS migration). */
import { isFinal } from '../../domain/types.js';
import type Database from 'better-sqlite3';
import { toHeldReport, toMmsRecord, type HeldReportRow, type MmsRow } from '../rows.js';
import type { HeldMmsReport, MmsCancelResult, MmsInbound, MmsRecord, MmsStatus, MmsStore, NewMms, StoredMmsPart } from '../mms-types.js';


const OPEN = `status IN ('queued','scheduled','submitting','submitted')`;

export class SqliteMmsStore implements MmsStore {
  readonly #s;
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      insert: p(`INSERT INTO mms_messages (id, client, category, status, to_number, subject, mmsc_id, size_bytes, reference, callback_url,
        template_id, linked_id, fallback_sms, due_at, send_at, expires_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertPart: p(`INSERT INTO mms_parts (message_id, seq, content_type, filename, text, data) VALUES (?, ?, ?, ?, ?, ?)`),
      get: p(`SELECT * FROM mms_messages WHERE id = ?`),
      parts: p(`SELECT seq, content_type, filename, text, data FROM mms_parts WHERE message_id = ? ORDER BY seq`),
      claim: p(`UPDATE mms_messages SET status = 'submitting' WHERE id IN (
        SELECT id FROM mms_messages WHERE status IN ('queued','scheduled') AND due_at <= ? ORDER BY due_at LIMIT ?) RETURNING *`),
      submitted: p(`UPDATE mms_messages SET status = 'submitted', mm7_message_id = ?, status_code = ?, status_text = ?, submitted_at = ?,
        attempts = attempts + 1 WHERE id = ? AND status = 'submitting'`),
      requeue: p(`UPDATE mms_messages SET status = 'queued', due_at = ?, status_code = coalesce(?, status_code),
        status_text = coalesce(?, status_text), attempts = attempts + ? WHERE id = ? AND status = 'submitting'`),
      finalize: p(`UPDATE mms_messages SET status = ?, final_at = ?, status_code = coalesce(?, status_code), status_text = coalesce(?, status_text),
        mm_status = coalesce(?, mm_status), attempts = attempts + ?, fallback_state = CASE WHEN ? = 1 AND fallback_sms IS NOT NULL THEN 'pending' ELSE fallback_state END
        WHERE id = ? AND ${OPEN} RETURNING *`),
      byMm7: p(`SELECT * FROM mms_messages WHERE mm7_message_id = ? ORDER BY created_at DESC LIMIT 1`),
      read: p(`UPDATE mms_messages SET read_status = ? WHERE id = ?`),
      inbound: p(`INSERT OR IGNORE INTO mms_inbound (id, kind, message_id, sender, recipient, mm_status, subject, linked_id, client, parts_json, created_at, mm7_message_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      held: p(`SELECT id, mm7_message_id, mm_status, created_at FROM mms_inbound
        WHERE mm7_message_id = ? AND message_id IS NULL AND kind = 'DeliveryReportReq' ORDER BY created_at, id`),
      matchable: p(`SELECT i.id, i.mm7_message_id, i.mm_status, i.created_at, m.id AS mms_id FROM mms_inbound i
        JOIN mms_messages m ON m.mm7_message_id = i.mm7_message_id AND m.status = 'submitted'
        WHERE i.message_id IS NULL AND i.mm7_message_id IS NOT NULL AND i.kind = 'DeliveryReportReq' AND i.created_at >= ?
        ORDER BY i.created_at, i.id LIMIT ?`),
      purgeInbound: p(`DELETE FROM mms_inbound WHERE id IN (SELECT id FROM mms_inbound WHERE created_at < ? ORDER BY created_at LIMIT ?)`),
      attach: p(`UPDATE mms_inbound SET message_id = ?, client = coalesce(client, ?) WHERE id = ?`),
      pendingFallbacks: p(`SELECT * FROM mms_messages WHERE fallback_state = 'pending' LIMIT ?`),
      setFallback: p(`UPDATE mms_messages SET fallback_state = ?, fallback_message_id = ?, fallback_error = ? WHERE id = ?`),
      byFallback: p(`SELECT * FROM mms_messages WHERE fallback_message_id = ?`),
      awaiting: p(`SELECT * FROM mms_messages WHERE status = 'submitted' AND submitted_at < ? AND mmsc_id = ? ORDER BY submitted_at LIMIT ?`),
      cancel: p(`UPDATE mms_messages SET status = 'canceled', final_at = ? WHERE id = ? AND status IN ('queued','scheduled') AND (? IS NULL OR client = ?)`),
      owned: p(`SELECT status FROM mms_messages WHERE id = ? AND (? IS NULL OR client = ?)`),
      byRef: p(`SELECT id FROM mms_messages WHERE client = ? AND reference = ?`),
      recover: p(`UPDATE mms_messages SET status = 'queued' WHERE status = 'submitting'`),
      purge: p(`DELETE FROM mms_messages WHERE id IN (SELECT id FROM mms_messages WHERE final_at IS NOT NULL AND final_at < ? LIMIT ?) RETURNING id`),
      purgeParts: p(`DELETE FROM mms_parts WHERE message_id = ?`),
    };
  }

  insert(m: NewMms): void {
    const status: MmsStatus = m.sendAt > m.createdAt ? 'scheduled' : 'queued';
    this.#s.insert.run(m.id, m.client, m.category, status, m.to, m.subject, m.mmscId, m.sizeBytes, m.reference, m.callbackUrl,
      m.templateId, m.linkedId, m.fallbackSms, m.sendAt, m.sendAt, m.expiresAt, m.createdAt);
    for (const p of m.parts) this.#s.insertPart.run(m.id, p.seq, p.contentType, p.filename, p.text, p.data);
  }
  get(id: string): MmsRecord | undefined {
    const r = this.#s.get.get(id) as MmsRow | undefined;
    return r === undefined ? undefined : toMmsRecord(r);
  }
  parts(id: string): StoredMmsPart[] {
    return (this.#s.parts.all(id) as Array<{ seq: number; content_type: string; filename: string | null; text: string | null; data: Buffer | null }>).map(
      (r) => ({ seq: r.seq, contentType: r.content_type, filename: r.filename, text: r.text, data: r.data }),
    );
  }
  claimDue(now: number, limit: number): MmsRecord[] {
    return (this.#s.claim.all(now, limit) as MmsRow[]).map(toMmsRecord);
  }
  markSubmitted(id: string, mm7MessageId: string | null, code: number, text: string | null, now: number): void {
    this.#s.submitted.run(mm7MessageId, code, text, now, id);
  }
  requeue(id: string, dueAt: number, code: number | null, text: string | null, countAttempt: boolean): void {
    this.#s.requeue.run(dueAt, code, text, countAttempt ? 1 : 0, id);
  }
  finalize(id: string, status: MmsStatus, now: number, info: { code?: number | null; text?: string | null; mmStatus?: string | null; fallback?: boolean; countAttempt?: boolean }): MmsRecord | undefined {
    const r = this.#s.finalize.get(status, now, info.code ?? null, info.text ?? null, info.mmStatus ?? null, info.countAttempt ? 1 : 0, info.fallback ? 1 : 0, id) as MmsRow | undefined;
    return r === undefined ? undefined : toMmsRecord(r);
  }
  findByMm7Id(mm7MessageId: string): MmsRecord | undefined {
    const r = this.#s.byMm7.get(mm7MessageId) as MmsRow | undefined;
    return r === undefined ? undefined : toMmsRecord(r);
  }
  setReadStatus(id: string, status: string): void {
    this.#s.read.run(status, id);
  }
  recordInbound(r: MmsInbound): void {
    this.#s.inbound.run(r.id, r.kind, r.messageId, r.sender, r.recipient, r.mmStatus, r.subject, r.linkedId, r.client, r.partsJson, r.createdAt, r.mm7MessageId ?? null);
  }
  heldReports(mm7MessageId: string): HeldMmsReport[] {
    return (this.#s.held.all(mm7MessageId) as HeldReportRow[]).map(toHeldReport);
  }
  matchableHeldReports(since: number, limit: number): Array<HeldMmsReport & { mmsId: string }> {
    return (this.#s.matchable.all(since, limit) as Array<HeldReportRow & { mms_id: string }>).map((r) => ({ ...toHeldReport(r), mmsId: r.mms_id }));
  }
  attachReport(inboundId: string, messageId: string, client: string): void {
    this.#s.attach.run(messageId, client, inboundId);
  }
  pendingFallbacks(limit: number): MmsRecord[] {
    return (this.#s.pendingFallbacks.all(limit) as MmsRow[]).map(toMmsRecord);
  }
  setFallback(id: string, state: 'sent' | 'refused', messageId: string | null, error: string | null): void {
    this.#s.setFallback.run(state, messageId, error, id);
  }
  findByFallbackMessage(smsId: string): MmsRecord | undefined {
    const r = this.#s.byFallback.get(smsId) as MmsRow | undefined;
    return r === undefined ? undefined : toMmsRecord(r);
  }
  awaitingReport(mmscId: string, before: number, limit: number): MmsRecord[] {
    return (this.#s.awaiting.all(before, mmscId, limit) as MmsRow[]).map(toMmsRecord);
  }
  cancel(ids: readonly string[], owner: string | undefined, now: number): MmsCancelResult {
    const out: MmsCancelResult = { canceled: [], onWire: [], final: [], notFound: [] };
    const o = owner ?? null;
    for (const id of ids) {
      if (this.#s.cancel.run(now, id, o, o).changes === 1) {
        out.canceled.push(id);
        continue;
      }
      const row = this.#s.owned.get(id, o, o) as { status: string } | undefined;
      if (row === undefined) out.notFound.push(id);
      else if (isFinal(row.status)) out.final.push({ id, status: row.status });
      else out.onWire.push(id);
    }
    return out;
  }
  idsByReference(client: string, reference: string): string[] {
    return (this.#s.byRef.all(client, reference) as Array<{ id: string }>).map((r) => r.id);
  }
  recoverInFlight(): number {
    return this.#s.recover.run().changes;
  }
  purgeInbound(before: number, limit: number): number {
    return this.#s.purgeInbound.run(before, limit).changes;
  }
  purgeFinal(before: number, limit: number): number {
    return this.#db.transaction(() => {
      const ids = this.#s.purge.all(before, limit) as Array<{ id: string }>;
      for (const { id } of ids) this.#s.purgeParts.run(id);
      return ids.length;
    })();
  }
}
