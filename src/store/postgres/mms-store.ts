/**
 * PostgreSQL implementation of MmsStore; the SQLite one is store/sqlite/mms-store.ts.
 * claimDue hands each due MMS to one daemon (FOR UPDATE SKIP LOCKED); cancel and claim
 * exclude each other through the row lock and the status they both check. With a node id
 * (a cluster), a claim records its node: recovery after a restart takes back only this
 * node's claims, and reapClaims a dead node's.
 */
import { isFinal } from '../../domain/types.js';
import { toHeldReport, toMmsRecord, type HeldReportRow, type MmsRow } from '../rows.js';
import type { HeldMmsReport, MmsCancelResult, MmsInbound, MmsRecord, MmsStatus, MmsStore, NewMms, StoredMmsPart } from '../mms-types.js';
import type { PgSyncClient } from './sync-client.js';
import { writeSoon } from './write-soon.js';
import { sqlLimit } from './limit.js';
import { StoreError } from './errors.js';


const OPEN = `status IN ('queued','scheduled','submitting','submitted')`;
/** Columns of MmsRecord (not claimed_by). */
const COLUMNS = `id, client, category, status, to_number, subject, mmsc_id, size_bytes, reference, callback_url, template_id, linked_id,
  fallback_sms, fallback_state, fallback_message_id, fallback_error, mm7_message_id, status_code, status_text, mm_status, read_status,
  attempts, due_at, send_at, expires_at, created_at, submitted_at, final_at`;

export interface PgMmsStoreOptions {
  /** This daemon's id (cluster.node_id), written on its claims. Without it, recovery takes every claim (one daemon). */
  nodeId?: string | undefined;
}

export class PgMmsStore implements MmsStore {
  readonly #c: PgSyncClient;
  readonly #node: string | null;

  constructor(client: PgSyncClient, opts: PgMmsStoreOptions = {}) {
    this.#c = client;
    this.#node = opts.nodeId ?? null;
  }

  insert(m: NewMms): void {
    const status: MmsStatus = m.sendAt > m.createdAt ? 'scheduled' : 'queued';
    // The message and its parts in one statement: both or neither, one round trip.
    const p = m.parts;
    this.#c.run(`WITH m AS (INSERT INTO mms_messages (id, client, category, status, to_number, subject, mmsc_id, size_bytes, reference, callback_url,
        template_id, linked_id, fallback_sms, due_at, send_at, expires_at, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16))
      INSERT INTO mms_parts (message_id, seq, content_type, filename, text, data)
      SELECT $1, * FROM unnest($17::bigint[], $18::text[], $19::text[], $20::text[], $21::bytea[])`,
    [m.id, m.client, m.category, status, m.to, m.subject, m.mmscId, m.sizeBytes, m.reference, m.callbackUrl, m.templateId, m.linkedId,
      m.fallbackSms, m.sendAt, m.expiresAt, m.createdAt,
      p.map((x) => x.seq), p.map((x) => x.contentType), p.map((x) => x.filename), p.map((x) => x.text), p.map((x) => x.data)]);
  }
  get(id: string): MmsRecord | undefined {
    const r = this.#c.one<MmsRow>(`SELECT ${COLUMNS} FROM mms_messages WHERE id = $1`, [id]);
    return r === undefined ? undefined : toMmsRecord(r);
  }
  parts(id: string): StoredMmsPart[] {
    return this.#c
      .query<{ seq: number; content_type: string; filename: string | null; text: string | null; data: Buffer | null }>(
        'SELECT seq, content_type, filename, text, data FROM mms_parts WHERE message_id = $1 ORDER BY seq', [id])
      .map((r) => ({ seq: r.seq, contentType: r.content_type, filename: r.filename, text: r.text, data: r.data }));
  }
  claimDue(now: number, limit: number): MmsRecord[] {
    // Rows another daemon is claiming are skipped, not waited for; one it has just claimed
    // fails the status recheck. Earliest due first, as the claim chose them.
    const rows = this.#c.query<MmsRow>(`UPDATE mms_messages SET status = 'submitting', claimed_by = $3 WHERE id IN (
        SELECT id FROM mms_messages WHERE status IN ('queued','scheduled') AND due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
        AND status IN ('queued','scheduled')
      RETURNING ${COLUMNS}`, [now, sqlLimit(limit), this.#node]);
    rows.sort((a, b) => a.due_at - b.due_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map(toMmsRecord);
  }
  markSubmitted(id: string, mm7MessageId: string | null, code: number, text: string | null, now: number): void {
    writeSoon(this.#c, `UPDATE mms_messages SET status = 'submitted', mm7_message_id = $1, status_code = $2, status_text = $3, submitted_at = $4,
      attempts = attempts + 1 WHERE id = $5 AND status = 'submitting'`, [mm7MessageId, code, text, now, id]);
  }
  requeue(id: string, dueAt: number, code: number | null, text: string | null, countAttempt: boolean): void {
    writeSoon(this.#c, `UPDATE mms_messages SET status = 'queued', due_at = $1, status_code = coalesce($2::bigint, status_code),
      status_text = coalesce($3::text, status_text), attempts = attempts + $4 WHERE id = $5 AND status = 'submitting'`,
    [dueAt, code, text, countAttempt ? 1 : 0, id]);
  }
  finalize(id: string, status: MmsStatus, now: number, info: { code?: number | null; text?: string | null; mmStatus?: string | null; fallback?: boolean; countAttempt?: boolean }): MmsRecord | undefined {
    const r = this.#c.one<MmsRow>(`UPDATE mms_messages SET status = $1, final_at = $2, status_code = coalesce($3::bigint, status_code),
        status_text = coalesce($4::text, status_text), mm_status = coalesce($5::text, mm_status), attempts = attempts + $6,
        fallback_state = CASE WHEN $7::boolean AND fallback_sms IS NOT NULL THEN 'pending' ELSE fallback_state END
      WHERE id = $8 AND ${OPEN} RETURNING ${COLUMNS}`,
    [status, now, info.code ?? null, info.text ?? null, info.mmStatus ?? null, info.countAttempt ? 1 : 0, info.fallback === true, id]);
    return r === undefined ? undefined : toMmsRecord(r);
  }
  findByMm7Id(mm7MessageId: string): MmsRecord | undefined {
    const r = this.#c.one<MmsRow>(`SELECT ${COLUMNS} FROM mms_messages WHERE mm7_message_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, [mm7MessageId]);
    return r === undefined ? undefined : toMmsRecord(r);
  }
  setReadStatus(id: string, status: string): void {
    writeSoon(this.#c, 'UPDATE mms_messages SET read_status = $1 WHERE id = $2', [status, id]);
  }
  recordInbound(r: MmsInbound): void {
    writeSoon(this.#c, `INSERT INTO mms_inbound (id, kind, message_id, sender, recipient, mm_status, subject, linked_id, client, parts_json, created_at, mm7_message_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
    [r.id, r.kind, r.messageId, r.sender, r.recipient, r.mmStatus, r.subject, r.linkedId, r.client, r.partsJson, r.createdAt, r.mm7MessageId ?? null]);
  }
  heldReports(mm7MessageId: string): HeldMmsReport[] {
    return this.#c
      .query<HeldReportRow>(`SELECT id, mm7_message_id, mm_status, created_at FROM mms_inbound
        WHERE mm7_message_id = $1 AND message_id IS NULL AND kind = 'DeliveryReportReq' ORDER BY created_at, id`, [mm7MessageId])
      .map(toHeldReport);
  }
  matchableHeldReports(since: number, limit: number): Array<HeldMmsReport & { mmsId: string }> {
    return this.#c
      .query<HeldReportRow & { mms_id: string }>(`SELECT i.id, i.mm7_message_id, i.mm_status, i.created_at, m.id AS mms_id FROM mms_inbound i
        JOIN mms_messages m ON m.mm7_message_id = i.mm7_message_id AND m.status = 'submitted'
        WHERE i.message_id IS NULL AND i.mm7_message_id IS NOT NULL AND i.kind = 'DeliveryReportReq' AND i.created_at >= $1
        ORDER BY i.created_at, i.id LIMIT $2`, [since, sqlLimit(limit)])
      .map((r) => ({ ...toHeldReport(r), mmsId: r.mms_id }));
  }
  attachReport(inboundId: string, messageId: string, client: string): void {
    writeSoon(this.#c, 'UPDATE mms_inbound SET message_id = $1, client = coalesce(client, $2) WHERE id = $3', [messageId, client, inboundId]);
  }
  pendingFallbacks(limit: number): MmsRecord[] {
    return this.#c.query<MmsRow>(`SELECT ${COLUMNS} FROM mms_messages WHERE fallback_state = 'pending' LIMIT $1`, [sqlLimit(limit)]).map(toMmsRecord);
  }
  /**
   * Only a pending fallback is settled. Two daemons may both read it pending and send it: the
   * second one's update waits for the first's commit, finds it settled and throws, so its own
   * transaction (the fallback SMS's insert, mm7/fallback.ts) is rolled back: sent once.
   * SQLite, with one writer, never meets a settled one here.
   */
  setFallback(id: string, state: 'sent' | 'refused', messageId: string | null, error: string | null): void {
    const n = this.#c.run(`UPDATE mms_messages SET fallback_state = $1, fallback_message_id = $2, fallback_error = $3
      WHERE id = $4 AND fallback_state = 'pending'`, [state, messageId, error, id]);
    if (n > 0) return;
    const r = this.#c.one<{ fallback_state: string | null }>('SELECT fallback_state FROM mms_messages WHERE id = $1', [id]);
    if (r !== undefined) throw new StoreError('store_conflict', `the fallback SMS of ${id} is no longer pending (${r.fallback_state ?? 'none'}): another node settled it`);
  }
  findByFallbackMessage(smsId: string): MmsRecord | undefined {
    const r = this.#c.one<MmsRow>(`SELECT ${COLUMNS} FROM mms_messages WHERE fallback_message_id = $1`, [smsId]);
    return r === undefined ? undefined : toMmsRecord(r);
  }
  awaitingReport(mmscId: string, before: number, limit: number): MmsRecord[] {
    return this.#c
      .query<MmsRow>(`SELECT ${COLUMNS} FROM mms_messages WHERE status = 'submitted' AND submitted_at < $1 AND mmsc_id = $2 ORDER BY submitted_at, id LIMIT $3`,
        [before, mmscId, sqlLimit(limit)])
      .map(toMmsRecord);
  }
  cancel(ids: readonly string[], owner: string | undefined, now: number): MmsCancelResult {
    const out: MmsCancelResult = { canceled: [], onWire: [], final: [], notFound: [] };
    if (ids.length === 0) return out;
    // One statement for the batch. Its reads see the rows as they were before its own
    // update, so a canceled row is told by `c`, not by its status.
    const rows = this.#c.query<{ id: string; canceled: boolean; status: string | null }>(`
      WITH c AS (UPDATE mms_messages SET status = 'canceled', final_at = $3 WHERE id = ANY($1::text[]) AND status IN ('queued','scheduled')
          AND ($2::text IS NULL OR client = $2) RETURNING id)
      SELECT DISTINCT i.id, c.id IS NOT NULL AS canceled, m.status FROM unnest($1::text[]) AS i(id)
        LEFT JOIN c ON c.id = i.id
        LEFT JOIN mms_messages m ON m.id = i.id AND ($2::text IS NULL OR m.client = $2)`, [ids, owner ?? null, now]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const canceled = new Set<string>();
    for (const id of ids) {
      const r = byId.get(id)!;
      // The same id twice: SQLite's second look finds it canceled by the first.
      const status = canceled.has(id) ? 'canceled' : r.status;
      if (r.canceled && !canceled.has(id)) {
        canceled.add(id);
        out.canceled.push(id);
      } else if (status === null) out.notFound.push(id);
      else if (isFinal(status)) out.final.push({ id, status });
      else out.onWire.push(id);
    }
    return out;
  }
  idsByReference(client: string, reference: string): string[] {
    return this.#c.query<[string]>('SELECT id FROM mms_messages WHERE client = $1 AND reference = $2', [client, reference], 'array').map((r) => r[0]);
  }
  /** Claims left `submitting` by a crash: this node's and unowned ones (all of them without a node id). */
  recoverInFlight(): number {
    return this.#c.run(`UPDATE mms_messages SET status = 'queued', claimed_by = NULL WHERE status = 'submitting'
      AND ($1::text IS NULL OR claimed_by = $1 OR claimed_by IS NULL)`, [this.#node]);
  }

  /**
   * Cluster: MMS claimed by nodes not in `liveNodes` (nor this one) and still `submitting` go
   * back to the queue; sent again (at-least-once, as after a crash). Returns how many.
   */
  reapClaims(liveNodes: readonly string[]): number {
    const live = this.#node === null ? [...liveNodes] : [...liveNodes, this.#node];
    return this.#c.run(`UPDATE mms_messages SET status = 'queued', claimed_by = NULL WHERE status = 'submitting'
      AND claimed_by IS NOT NULL AND NOT (claimed_by = ANY($1::text[]))`, [live]);
  }
  purgeInbound(before: number, limit: number): number {
    const r = this.#c.one<{ n: number }>(`WITH d AS (DELETE FROM mms_inbound WHERE id IN (
        SELECT id FROM mms_inbound WHERE created_at < $1 ORDER BY created_at LIMIT $2) RETURNING 1)
      SELECT count(*) AS n FROM d`, [before, sqlLimit(limit)]);
    return r?.n ?? 0;
  }
  purgeFinal(before: number, limit: number): number {
    const r = this.#c.one<{ n: number }>(`WITH d AS (DELETE FROM mms_messages WHERE id IN (
        SELECT id FROM mms_messages WHERE final_at IS NOT NULL AND final_at < $1 LIMIT $2) RETURNING id),
      p AS (DELETE FROM mms_parts WHERE message_id IN (SELECT id FROM d))
      SELECT count(*) AS n FROM d`, [before, sqlLimit(limit)]);
    return r?.n ?? 0;
  }
}
