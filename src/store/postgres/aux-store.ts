/**
 * PostgreSQL implementation of AuxStore: idempotency keys, opt-outs, caps log, OTP state,
 * webhook outbox, held receipts, reply parts and replies. Statement for statement the SQLite
 * store's (store/sqlite/aux-store.ts), except where it relied on being the only writer:
 * the webhook outbox is claimed with FOR UPDATE SKIP LOCKED (one daemon per event), and
 * read-then-write pairs are single statements (UPDATE … RETURNING, data-modifying CTEs).
 */
import type { AuxStore, IdempotencyRecord, MoQuery, MoRecord, OtpRecord, OutboxRow } from '../types.js';
import { toOtp, type OtpRow } from '../rows.js';
import type { PgSyncClient } from './sync-client.js';
import { writeSoon } from './write-soon.js';
import { idUpperBound } from '../../domain/ids.js';
import { stepLimit } from './limit.js';

const OTP_COLUMNS = 'id, client, to_number, purpose, code_hash, message_id, created_at, expires_at, attempts, status';

interface OutboxDbRow { id: string; client: string; url: string; body: string; attempts: number; created_at: number; next_attempt_at: number }
interface MoDbRow {
  id: string; carrier_id: string; from_number: string; to_addr: string; body: string; intent: string | null; client: string | null;
  last_message_id: string | null; partial: number; created_at: number;
}
type NewMo = Parameters<AuxStore['insertMo']>[0];

/**
 * PostgreSQL text cannot hold U+0000, which a carrier's UCS-2 reply may carry as padding:
 * the insert would fail (and with it the transaction it is in), the reply would be lost and
 * redelivered to fail again. A reply's text keeps everything else.
 */
const withoutNul = (text: string): string => (text.includes('\u0000') ? text.replace(/\u0000/g, '') : text);

type HeldReceiptRow = { id: number; carrier_id: string; keys: string; body: string; received_at: number };
const toHeld = (r: HeldReceiptRow) => ({ id: r.id, carrierId: r.carrier_id, keys: r.keys.split(','), body: r.body, receivedAt: r.received_at });

/** Aborts the transaction (XG001) when a window (ms, limit) already holds `limit` sends of the number's category. */
const GUARD_SENDS_SQL = `SELECT xinge_assert_window_room(NOT EXISTS (
  SELECT 1 FROM unnest($4::bigint[], $5::int[]) AS w(ms, lim)
  WHERE (SELECT count(*) FROM send_log WHERE number = $1 AND category = $2 AND at > $3 - w.ms) >= w.lim))`;

export class PgAuxStore implements AuxStore {
  readonly #c: PgSyncClient;
  readonly #node: string;
  /** Inside a transaction of one unit alone (a verification code's own): guardSends may abort it. */
  #sole = false;

  /** `nodeId`: this daemon's id (cluster.node_id), written on the receipts it holds. */
  constructor(client: PgSyncClient, opts: { nodeId?: string | undefined } = {}) {
    this.#c = client;
    this.#node = opts.nodeId ?? 'local';
    client.prepared(GUARD_SENDS_SQL);
  }

  /** Runs fn as the only unit of its transaction: a failed guard takes nothing else with it. */
  soleTransaction<T>(fn: () => T): T {
    this.#sole = true;
    try {
      return fn();
    } finally {
      this.#sole = false;
    }
  }

  guardSends(number: string, category: string, windows: ReadonlyArray<{ ms: number; limit: number }>, now: number): boolean {
    if (!this.#sole) return false;
    this.#c.defer(GUARD_SENDS_SQL, [number, category, now, windows.map((w) => w.ms), windows.map((w) => w.limit)]);
    return true;
  }

  getIdempotency(client: string, key: string): IdempotencyRecord | undefined {
    const r = this.#c.one<{ body_hash: string; status: number; response: string; created_at: number }>(
      'SELECT body_hash, status, response, created_at FROM idempotency WHERE client = $1 AND key = $2', [client, key]);
    return r === undefined ? undefined : { bodyHash: r.body_hash, status: r.status, response: r.response, createdAt: r.created_at };
  }
  putIdempotency(client: string, key: string, rec: IdempotencyRecord): void {
    // The first answer stays (another daemon may have stored it a moment before).
    writeSoon(this.#c, `INSERT INTO idempotency (client, key, body_hash, status, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT DO NOTHING`, [client, key, rec.bodyHash, rec.status, rec.response, rec.createdAt]);
  }
  purgeIdempotency(before: number, limit: number): number {
    return this.#c.run(`DELETE FROM idempotency WHERE (client, key) IN
      (SELECT client, key FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2)`, [before, stepLimit(limit)]);
  }

  addOptOut(number: string, source: string, now: number): boolean {
    return this.#c.run('INSERT INTO optouts (number, source, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [number, source, now]) > 0;
  }
  removeOptOut(number: string): boolean {
    return this.#c.run('DELETE FROM optouts WHERE number = $1', [number]) > 0;
  }
  isOptedOut(number: string): boolean {
    return this.#c.one('SELECT 1 FROM optouts WHERE number = $1', [number]) !== undefined;
  }
  listOptOuts(limit: number, after = ''): Array<{ number: string; source: string; createdAt: number }> {
    const n = Math.floor(limit);
    if (!(n >= 1)) return [];
    const rows = this.#c.query<{ number: string; source: string; created_at: number }>(
      'SELECT number, source, created_at FROM optouts WHERE number > $1 ORDER BY number LIMIT $2', [after, n]);
    return rows.map((r) => ({ number: r.number, source: r.source, createdAt: r.created_at }));
  }

  logSend(number: string, category: string, at: number): void {
    writeSoon(this.#c, 'INSERT INTO send_log (number, category, at) VALUES ($1, $2, $3)', [number, category, at]);
  }
  sendsSince(number: string, category: string, since: number): number[] {
    return this.#c
      .query<[number]>('SELECT at FROM send_log WHERE number = $1 AND category = $2 AND at > $3 ORDER BY at', [number, category, since], 'array')
      .map((r) => r[0]);
  }
  purgeSendLog(before: number, limit: number): number {
    // No rowid here: the oldest entries come from the index on `at` (migration 2), by their
    // tuple ids (a TID scan, no second index lookup). A step deletes only entries before
    // `before`, so fewer than `limit` still means nothing older is left.
    return this.#c.run(`DELETE FROM send_log WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM send_log WHERE at < $1 ORDER BY at LIMIT $2))`, [before, stepLimit(limit)]);
  }

  insertOtp(o: OtpRecord): void {
    // Deferred: it goes with the code's COMMIT (an error fails that COMMIT, and the code with it).
    this.#c.defer(`INSERT INTO otps (${OTP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [o.id, o.client, o.to, o.purpose, o.codeHash, o.messageId, o.createdAt, o.expiresAt, o.attempts, o.status]);
  }
  getOtp(id: string): OtpRecord | undefined {
    const r = this.#c.one<OtpRow>(`SELECT ${OTP_COLUMNS} FROM otps WHERE id = $1`, [id]);
    return r === undefined ? undefined : toOtp(r);
  }
  latestOtp(to: string, purpose: string): OtpRecord | undefined {
    // SQLite breaks a tie on created_at by rowid (the later insert); ids sort by creation here.
    const r = this.#c.one<OtpRow>(`SELECT ${OTP_COLUMNS} FROM otps WHERE to_number = $1 AND purpose = $2
      ORDER BY created_at DESC, id DESC LIMIT 1`, [to, purpose]);
    return r === undefined ? undefined : toOtp(r);
  }
  otpSendsSince(to: string, purpose: string, since: number): number[] {
    return this.#c
      .query<[number]>('SELECT created_at FROM otps WHERE to_number = $1 AND purpose = $2 AND created_at > $3 ORDER BY created_at', [to, purpose, since], 'array')
      .map((r) => r[0]);
  }
  updateOtp(id: string, f: Partial<Pick<OtpRecord, 'attempts' | 'status' | 'messageId'>>): void {
    writeSoon(this.#c, `UPDATE otps SET attempts = COALESCE($2::bigint, attempts), status = COALESCE($3::text, status),
      message_id = COALESCE($4::text, message_id) WHERE id = $1`, [id, f.attempts ?? null, f.status ?? null, f.messageId ?? null]);
  }
  supersedeOtps(to: string, purpose: string): string[] {
    // One statement: a verification on another daemon cannot slip between read and write.
    return this.#c
      .query<[string]>(`WITH s AS (UPDATE otps SET status = 'superseded' WHERE to_number = $1 AND purpose = $2 AND status = 'active'
        RETURNING id, message_id, created_at)
        SELECT message_id FROM s WHERE message_id IS NOT NULL ORDER BY created_at, id`, [to, purpose], 'array')
      .map((r) => r[0]);
  }
  expireOtps(now: number): number {
    // The code can no longer verify: its body has no reason to stay, sent or not (an unsent
    // one is past its validity and will end expired without it). Both in one statement.
    const r = this.#c.one<{ n: number }>(`WITH e AS (UPDATE otps SET status = 'expired' WHERE status = 'active' AND expires_at < $1 RETURNING message_id),
      b AS (UPDATE messages SET body_enc = NULL WHERE id IN (SELECT message_id FROM e WHERE message_id IS NOT NULL))
      SELECT count(*) AS n FROM e`, [now]);
    return r?.n ?? 0;
  }
  purgeOtps(before: number, limit: number): number {
    // Ids sort by creation time: each walk reads the oldest rows of its primary key only.
    return this.#c.run(`DELETE FROM otps WHERE id IN (SELECT id FROM otps WHERE id < $1 AND status <> 'active' ORDER BY id LIMIT $2)`,
      [idUpperBound(before, 'otp'), stepLimit(limit)]);
  }
  purgeOutbox(before: number, limit: number): number {
    return this.#c.run(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id < $1 AND state <> 'pending' ORDER BY id LIMIT $2)`,
      [idUpperBound(before, 'evt'), stepLimit(limit)]);
  }
  purgeMo(before: number, limit: number): number {
    return this.#c.run('DELETE FROM mo_messages WHERE id IN (SELECT id FROM mo_messages WHERE id < $1 ORDER BY id LIMIT $2)',
      [idUpperBound(before, 'mo'), stepLimit(limit)]);
  }
  purgeOtpBody(messageId: string): void {
    writeSoon(this.#c, 'UPDATE messages SET body_enc = NULL WHERE id = $1', [messageId]);
  }

  addOutbox(row: OutboxRow): void {
    writeSoon(this.#c, 'INSERT INTO outbox (id, client, url, body, attempts, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [row.id, row.client, row.url, row.body, row.attempts, row.createdAt, row.nextAttemptAt]);
  }
  claimOutbox(now: number, limit: number, leaseMs: number): OutboxRow[] {
    // A lease, so a slow delivery is not picked up twice by the next poll, nor by another
    // daemon: rows another daemon is claiming are skipped, not waited for, and one it has
    // just claimed no longer matches `next_attempt_at <= now` when rechecked. Rows come
    // back with the due time they had, oldest first, as SQLite's do.
    const n = Math.floor(limit);
    if (!(n >= 1)) return [];
    const rows = this.#c.query<OutboxDbRow>(`UPDATE outbox o SET next_attempt_at = $2 FROM (
        SELECT id, next_attempt_at FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1
        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) d
      WHERE o.id = d.id
      RETURNING o.id, o.client, o.url, o.body, o.attempts, o.created_at, d.next_attempt_at`, [now, now + leaseMs, n]);
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map((r) => ({
      id: r.id, client: r.client, url: r.url, body: r.body, attempts: r.attempts, createdAt: r.created_at, nextAttemptAt: r.next_attempt_at,
    }));
  }
  outboxDelivered(id: string, now: number): void {
    writeSoon(this.#c, `UPDATE outbox SET state = 'delivered', done_at = $1 WHERE id = $2`, [now, id]);
  }
  outboxRetry(id: string, nextAttemptAt: number, attempts: number, lastError: string): void {
    writeSoon(this.#c, 'UPDATE outbox SET next_attempt_at = $1, attempts = $2, last_error = $3 WHERE id = $4', [nextAttemptAt, attempts, lastError, id]);
  }
  outboxDead(id: string, now: number, lastError: string): void {
    writeSoon(this.#c, `UPDATE outbox SET state = 'dead', done_at = $1, last_error = $2 WHERE id = $3`, [now, lastError, id]);
  }
  outboxPending(): number {
    return this.#c.one<{ n: number }>(`SELECT count(*) AS n FROM outbox WHERE state = 'pending'`)?.n ?? 0;
  }

  insertHeldReceipt(row: { carrierId: string; keys: readonly string[]; body: string; receivedAt: number }): number {
    return this.#c.one<{ id: number }>('INSERT INTO held_receipts (carrier_id, keys, body, received_at, held_by) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [row.carrierId, row.keys.join(','), row.body, row.receivedAt, this.#node])!.id;
  }
  deleteHeldReceipt(id: number): void {
    writeSoon(this.#c, 'DELETE FROM held_receipts WHERE id = $1', [id]);
  }
  heldReceipts(): Array<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }> {
    // Only this node's: another live node looks after its own, and a dead one's are adopted.
    return this.#c
      .query<HeldReceiptRow>('SELECT id, carrier_id, keys, body, received_at FROM held_receipts WHERE held_by = $1 ORDER BY id', [this.#node])
      .map(toHeld);
  }
  adoptHeldReceipts(liveNodes: readonly string[]): Array<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }> {
    // Two nodes adopting at once: the second waits for the first's row locks, then finds the
    // rows held by a live node and leaves them. NULL: stored before held_by existed.
    const rows = this.#c.query<HeldReceiptRow>(`UPDATE held_receipts SET held_by = $1
      WHERE (held_by IS NULL OR NOT (held_by = ANY($2::text[]))) AND held_by IS DISTINCT FROM $1
      RETURNING id, carrier_id, keys, body, received_at`, [this.#node, [...liveNodes]]);
    return rows.sort((a, b) => a.id - b.id).map(toHeld);
  }

  insertMoPart(row: { conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }): void {
    writeSoon(this.#c, 'INSERT INTO mo_parts (conv, ref, total, seq, body, received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
      [row.conv, row.ref, row.total, row.seq, withoutNul(row.body), row.receivedAt]);
  }
  deleteMoParts(conv: string, ref: number, total: number): void {
    writeSoon(this.#c, 'DELETE FROM mo_parts WHERE conv = $1 AND ref = $2 AND total = $3', [conv, ref, total]);
  }
  moParts(): Array<{ conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }> {
    // SQLite breaks ties in arrival order; here the key does (no rowid).
    return this.#c
      .query<{ conv: string; ref: number; total: number; seq: number; body: string; received_at: number }>(
        'SELECT conv, ref, total, seq, body, received_at FROM mo_parts ORDER BY received_at, conv, ref, total, seq')
      .map((r) => ({ conv: r.conv, ref: r.ref, total: r.total, seq: r.seq, body: r.body, receivedAt: r.received_at }));
  }

  insertMo(row: NewMo): void {
    writeSoon(this.#c, `INSERT INTO mo_messages (id, carrier_id, from_number, to_addr, body, intent, client, last_message_id, partial, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [row.id, row.carrierId, row.from, row.to, withoutNul(row.body), row.intent, row.client, row.lastMessageId, row.partial ? 1 : 0, row.createdAt]);
  }
  listMo(q: MoQuery): MoRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const arg = (v: string | number): string => (args.push(v), `$${args.length}`);
    if (q.client !== undefined) where.push(`client = ${arg(q.client)}`);
    if (q.from !== undefined) where.push(`from_number = ${arg(q.from)}`);
    if (q.since !== undefined) where.push(`created_at >= ${arg(q.since)}`);
    if (q.until !== undefined) where.push(`created_at < ${arg(q.until)}`);
    if (q.intent === null) where.push('intent IS NULL');
    else if (q.intent !== undefined) where.push(`intent = ${arg(q.intent)}`);
    if (q.afterId !== undefined) where.push(`id > ${arg(q.afterId)}`);
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
    const rows = this.#c.query<MoDbRow>(`SELECT id, carrier_id, from_number, to_addr, body, intent, client, last_message_id, partial, created_at
      FROM mo_messages ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${arg(limit)}`, args);
    return rows.map((r) => ({
      id: r.id, carrierId: r.carrier_id, from: r.from_number, to: r.to_addr, body: r.body, intent: r.intent, client: r.client,
      lastMessageId: r.last_message_id, partial: r.partial === 1, createdAt: r.created_at,
    }));
  }
}
