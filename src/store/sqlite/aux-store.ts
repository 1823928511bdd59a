/** SQLite implementation of AuxStore: idempotency keys, opt-outs, caps log, OTP state, webhook outbox, replies. */
import type Database from 'better-sqlite3';
import type { AuxStore, IdempotencyRecord, MoQuery, MoRecord, OtpRecord, OutboxRow } from '../types.js';
import { toOtp, type OtpRow } from '../rows.js';
import { limitedStatement } from './limited.js';
import { idUpperBound } from '../../domain/ids.js';

interface OutboxDbRow { id: string; client: string; url: string; body: string; attempts: number; created_at: number; next_attempt_at: number }

export class SqliteAuxStore implements AuxStore {
  readonly #db: Database.Database;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      heldIns: p(`INSERT INTO held_receipts (carrier_id, keys, body, received_at) VALUES (?, ?, ?, ?)`),
      heldDel: p(`DELETE FROM held_receipts WHERE id = ?`),
      heldAll: p(`SELECT id, carrier_id, keys, body, received_at FROM held_receipts ORDER BY id`),
      moPartIns: p(`INSERT OR IGNORE INTO mo_parts (conv, ref, total, seq, body, received_at) VALUES (?, ?, ?, ?, ?, ?)`),
      moPartsDel: p(`DELETE FROM mo_parts WHERE conv = ? AND ref = ? AND total = ?`),
      moPartsAll: p(`SELECT conv, ref, total, seq, body, received_at FROM mo_parts ORDER BY received_at`),
      idemGet: p(`SELECT body_hash, status, response, created_at FROM idempotency WHERE client = ? AND key = ?`),
      idemPut: p(`INSERT OR IGNORE INTO idempotency (client, key, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      idemPurge: limitedStatement(db, `DELETE FROM idempotency WHERE (client, key) IN
        (SELECT client, key FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT {limit})`, true),
      optAdd: p(`INSERT OR IGNORE INTO optouts (number, source, created_at) VALUES (?, ?, ?)`),
      optDel: p(`DELETE FROM optouts WHERE number = ?`),
      optHas: p(`SELECT 1 FROM optouts WHERE number = ?`),
      optList: limitedStatement(db, `SELECT number, source, created_at FROM optouts WHERE number > ? ORDER BY number LIMIT {limit}`),
      logSend: p(`INSERT INTO send_log (number, category, at) VALUES (?, ?, ?)`),
      sendsSince: p(`SELECT at FROM send_log WHERE number = ? AND category = ? AND at > ? ORDER BY at`),
      // The log is appended in time order: the oldest rows are the first rowids, so a step
      // looks at the first `limit` rows only and never reads the whole table.
      purgeSendLog: limitedStatement(db, `DELETE FROM send_log WHERE rowid IN
        (SELECT rowid FROM (SELECT rowid, at FROM send_log ORDER BY rowid LIMIT {limit}) WHERE at < ?)`, true),
      otpIns: p(`INSERT INTO otps (id, client, to_number, purpose, code_hash, message_id, created_at, expires_at, attempts, status)
        VALUES (@id, @client, @to, @purpose, @codeHash, @messageId, @createdAt, @expiresAt, @attempts, @status)`),
      otpGet: p(`SELECT * FROM otps WHERE id = ?`),
      otpLatest: p(`SELECT * FROM otps WHERE to_number = ? AND purpose = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`),
      otpSince: p(`SELECT created_at FROM otps WHERE to_number = ? AND purpose = ? AND created_at > ? ORDER BY created_at`),
      otpUpd: p(`UPDATE otps SET attempts = COALESCE(@attempts, attempts), status = COALESCE(@status, status),
        message_id = COALESCE(@messageId, message_id) WHERE id = @id`),
      otpActive: p(`SELECT id, message_id FROM otps WHERE to_number = ? AND purpose = ? AND status = 'active'`),
      otpSupersede: p(`UPDATE otps SET status = 'superseded' WHERE id = ?`),
      bodyPurge: p(`UPDATE messages SET body_enc = NULL WHERE id = ?`),
      otpExpire: p(`UPDATE otps SET status = 'expired' WHERE status = 'active' AND expires_at < ? RETURNING message_id`),
      obAdd: p(`INSERT INTO outbox (id, client, url, body, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      obDue: limitedStatement(db, `SELECT id, client, url, body, attempts, created_at, next_attempt_at FROM outbox
        WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT {limit}`),
      obLease: p(`UPDATE outbox SET next_attempt_at = ? WHERE id = ?`),
      obDone: p(`UPDATE outbox SET state = 'delivered', done_at = ? WHERE id = ?`),
      obRetry: p(`UPDATE outbox SET next_attempt_at = ?, attempts = ?, last_error = ? WHERE id = ?`),
      obDead: p(`UPDATE outbox SET state = 'dead', done_at = ?, last_error = ? WHERE id = ?`),
      obPending: p(`SELECT count(*) AS n FROM outbox WHERE state = 'pending'`),
      // Ids sort by creation time: each walk reads the oldest rows of its primary key only.
      otpPurge: limitedStatement(db, `DELETE FROM otps WHERE id IN (SELECT id FROM otps WHERE id < ? AND status <> 'active' LIMIT {limit})`, true),
      obPurge: limitedStatement(db, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id < ? AND state <> 'pending' LIMIT {limit})`, true),
      moPurge: limitedStatement(db, `DELETE FROM mo_messages WHERE id IN (SELECT id FROM mo_messages WHERE id < ? LIMIT {limit})`, true),
      moIns: p(`INSERT INTO mo_messages (id, carrier_id, from_number, to_addr, body, intent, client, last_message_id, partial, created_at)
        VALUES (@id, @carrierId, @from, @to, @body, @intent, @client, @lastMessageId, @partial, @createdAt)`),
    };
  }

  getIdempotency(client: string, key: string): IdempotencyRecord | undefined {
    const r = this.#s.idemGet.get(client, key) as { body_hash: string; status: number; response: string; created_at: number } | undefined;
    return r === undefined ? undefined : { bodyHash: r.body_hash, status: r.status, response: r.response, createdAt: r.created_at };
  }
  putIdempotency(client: string, key: string, rec: IdempotencyRecord): void {
    this.#s.idemPut.run(client, key, rec.bodyHash, rec.status, rec.response, rec.createdAt);
  }
  purgeIdempotency(before: number, limit: number): number {
    return this.#s.idemPurge(limit).run(before).changes;
  }

  addOptOut(number: string, source: string, now: number): boolean {
    return this.#s.optAdd.run(number, source, now).changes > 0;
  }
  removeOptOut(number: string): boolean {
    return this.#s.optDel.run(number).changes > 0;
  }
  isOptedOut(number: string): boolean {
    return this.#s.optHas.get(number) !== undefined;
  }
  listOptOuts(limit: number, after = ''): Array<{ number: string; source: string; createdAt: number }> {
    return (this.#s.optList(limit).all(after) as Array<{ number: string; source: string; created_at: number }>).slice(0, limit).map((r) => ({
      number: r.number, source: r.source, createdAt: r.created_at,
    }));
  }

  logSend(number: string, category: string, at: number): void {
    this.#s.logSend.run(number, category, at);
  }
  sendsSince(number: string, category: string, since: number): number[] {
    return (this.#s.sendsSince.all(number, category, since) as Array<{ at: number }>).map((r) => r.at);
  }
  purgeSendLog(before: number, limit: number): number {
    return this.#s.purgeSendLog(limit).run(before).changes;
  }

  insertOtp(o: OtpRecord): void {
    this.#s.otpIns.run({ ...o });
  }
  getOtp(id: string): OtpRecord | undefined {
    const r = this.#s.otpGet.get(id) as OtpRow | undefined;
    return r === undefined ? undefined : toOtp(r);
  }
  latestOtp(to: string, purpose: string): OtpRecord | undefined {
    const r = this.#s.otpLatest.get(to, purpose) as OtpRow | undefined;
    return r === undefined ? undefined : toOtp(r);
  }
  otpSendsSince(to: string, purpose: string, since: number): number[] {
    return (this.#s.otpSince.all(to, purpose, since) as Array<{ created_at: number }>).map((r) => r.created_at);
  }
  updateOtp(id: string, f: Partial<Pick<OtpRecord, 'attempts' | 'status' | 'messageId'>>): void {
    this.#s.otpUpd.run({ id, attempts: f.attempts ?? null, status: f.status ?? null, messageId: f.messageId ?? null });
  }
  supersedeOtps(to: string, purpose: string): string[] {
    const rows = this.#s.otpActive.all(to, purpose) as Array<{ id: string; message_id: string | null }>;
    const ids: string[] = [];
    for (const r of rows) {
      this.#s.otpSupersede.run(r.id);
      if (r.message_id !== null) ids.push(r.message_id);
    }
    return ids;
  }
  expireOtps(now: number): number {
    return this.#db.transaction(() => {
      const rows = this.#s.otpExpire.all(now) as Array<{ message_id: string | null }>;
      // The code can no longer verify: its body has no reason to stay, sent or not (an
      // unsent one is past its validity and will end expired without it).
      for (const r of rows) if (r.message_id !== null) this.#s.bodyPurge.run(r.message_id);
      return rows.length;
    })();
  }
  purgeOtps(before: number, limit: number): number {
    return this.#s.otpPurge(limit).run(idUpperBound(before, 'otp')).changes;
  }
  purgeOutbox(before: number, limit: number): number {
    return this.#s.obPurge(limit).run(idUpperBound(before, 'evt')).changes;
  }
  purgeMo(before: number, limit: number): number {
    return this.#s.moPurge(limit).run(idUpperBound(before, 'mo')).changes;
  }
  purgeOtpBody(messageId: string): void {
    this.#s.bodyPurge.run(messageId);
  }

  addOutbox(row: OutboxRow): void {
    this.#s.obAdd.run(row.id, row.client, row.url, row.body, row.attempts, row.createdAt, row.nextAttemptAt);
  }
  claimOutbox(now: number, limit: number, leaseMs: number): OutboxRow[] {
    return this.#db.transaction(() => {
      const rows = (this.#s.obDue(limit).all(now) as OutboxDbRow[]).slice(0, limit);
      // A lease, so a slow delivery is not picked up twice by the next poll.
      for (const r of rows) this.#s.obLease.run(now + leaseMs, r.id);
      return rows.map((r) => ({
        id: r.id, client: r.client, url: r.url, body: r.body, attempts: r.attempts, createdAt: r.created_at,
        nextAttemptAt: r.next_attempt_at,
      }));
    })();
  }
  outboxDelivered(id: string, now: number): void {
    this.#s.obDone.run(now, id);
  }
  outboxRetry(id: string, nextAttemptAt: number, attempts: number, lastError: string): void {
    this.#s.obRetry.run(nextAttemptAt, attempts, lastError, id);
  }
  outboxDead(id: string, now: number, lastError: string): void {
    this.#s.obDead.run(now, lastError, id);
  }
  outboxPending(): number {
    return (this.#s.obPending.get() as { n: number }).n;
  }

  insertHeldReceipt(row: { carrierId: string; keys: readonly string[]; body: string; receivedAt: number }): number {
    return Number(this.#s.heldIns.run(row.carrierId, row.keys.join(','), row.body, row.receivedAt).lastInsertRowid);
  }

  deleteHeldReceipt(id: number): void {
    this.#s.heldDel.run(id);
  }

  heldReceipts(): Array<{ id: number; carrierId: string; keys: string[]; body: string; receivedAt: number }> {
    return (this.#s.heldAll.all() as Array<{ id: number; carrier_id: string; keys: string; body: string; received_at: number }>).map((r) => ({
      id: r.id, carrierId: r.carrier_id, keys: r.keys.split(','), body: r.body, receivedAt: r.received_at,
    }));
  }

  insertMoPart(row: { conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }): void {
    this.#s.moPartIns.run(row.conv, row.ref, row.total, row.seq, row.body, row.receivedAt);
  }

  deleteMoParts(conv: string, ref: number, total: number): void {
    this.#s.moPartsDel.run(conv, ref, total);
  }

  moParts(): Array<{ conv: string; ref: number; total: number; seq: number; body: string; receivedAt: number }> {
    return (this.#s.moPartsAll.all() as Array<{ conv: string; ref: number; total: number; seq: number; body: string; received_at: number }>).map((r) => ({
      conv: r.conv, ref: r.ref, total: r.total, seq: r.seq, body: r.body, receivedAt: r.received_at,
    }));
  }

  /** One prepared statement per combination of filters and limit (a handful in practice). */
  readonly #moLists = new Map<string, Database.Statement>();

  listMo(q: MoQuery): MoRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.client !== undefined) (where.push('client = ?'), args.push(q.client));
    if (q.from !== undefined) (where.push('from_number = ?'), args.push(q.from));
    if (q.since !== undefined) (where.push('created_at >= ?'), args.push(q.since));
    if (q.until !== undefined) (where.push('created_at < ?'), args.push(q.until));
    if (q.intent === null) where.push('intent IS NULL');
    else if (q.intent !== undefined) (where.push('intent = ?'), args.push(q.intent));
    if (q.afterId !== undefined) (where.push('id > ?'), args.push(q.afterId));
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
    const sql = `SELECT id, carrier_id, from_number, to_addr, body, intent, client, last_message_id, partial, created_at FROM mo_messages
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${limit}`;
    let st = this.#moLists.get(sql);
    if (st === undefined) {
      if (this.#moLists.size > 256) this.#moLists.clear();
      st = this.#db.prepare(sql);
      this.#moLists.set(sql, st);
    }
    const rows = st.all(...args) as Array<{ id: string; carrier_id: string; from_number: string; to_addr: string; body: string; intent: string | null; client: string | null; last_message_id: string | null; partial: number; created_at: number }>;
    return rows.map((r) => ({
      id: r.id, carrierId: r.carrier_id, from: r.from_number, to: r.to_addr, body: r.body, intent: r.intent, client: r.client,
      lastMessageId: r.last_message_id, partial: r.partial === 1, createdAt: r.created_at,
    }));
  }

  insertMo(row: { id: string; carrierId: string; from: string; to: string; body: string; intent: string | null; client: string | null; lastMessageId: string | null; partial: boolean; createdAt: number }): void {
    this.#s.moIns.run({ ...row, partial: row.partial ? 1 : 0 });
  }
}
