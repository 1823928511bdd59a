/** SQLite implementation of CallerIdStore (src/callerid/store.ts). */
import type Database from 'better-sqlite3';
import type { CallerIdStore, Registration } from '../../callerid/store.js';
import { toRegistration, type RegistrationRow } from '../rows.js';


const params = (r: Registration) => ({
  id: r.id, client: r.client, card_id: r.cardId, status: r.status, reason: r.reason, numbers: JSON.stringify(r.numbers),
  display_name: r.displayName, industry: r.industry, license_no: r.licenseNo, contact: r.contact, logo: r.logo,
  effective_at: r.effectiveAt, expires_at: r.expiresAt, pending_op: r.pendingOp, pending_request_id: r.pendingRequestId,
  pending_body: r.pendingBody, failures: r.failures, last_error: r.lastError, next_check_at: r.nextCheckAt,
  expiry_warned_for: r.expiryWarnedFor, created_at: r.createdAt, updated_at: r.updatedAt,
});

const COLUMNS = `id, client, card_id, status, reason, numbers, display_name, industry, license_no, contact, logo, effective_at,
  expires_at, pending_op, pending_request_id, pending_body, failures, last_error, next_check_at, expiry_warned_for, created_at, updated_at`;

export class SqliteCallerIdStore implements CallerIdStore {
  readonly #s;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      insert: p(`INSERT INTO callerid_registrations (${COLUMNS}) VALUES (${COLUMNS.split(',').map((c) => `@${c.trim()}`).join(', ')})`),
      get: p(`SELECT * FROM callerid_registrations WHERE id = ?`),
      save: p(`UPDATE callerid_registrations SET ${COLUMNS.split(',').slice(1).map((c) => `${c.trim()} = @${c.trim()}`).join(', ')} WHERE id = @id`),
      remove: p(`DELETE FROM callerid_registrations WHERE id = ?`),
      byNumber: p(`SELECT * FROM callerid_registrations r WHERE (@client IS NULL OR client = @client)
        AND EXISTS (SELECT 1 FROM json_each(r.numbers) WHERE value = @number) ORDER BY id DESC LIMIT @limit`),
      list: p(`SELECT * FROM callerid_registrations WHERE (@client IS NULL OR client = @client) AND id < @before ORDER BY id DESC LIMIT @limit`),
      due: p(`SELECT * FROM callerid_registrations WHERE next_check_at IS NOT NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?`),
      count: p(`SELECT status, count(*) AS n FROM callerid_registrations GROUP BY status`),
    };
  }

  insert(r: Registration): void {
    this.#s.insert.run(params(r));
  }
  get(id: string): Registration | undefined {
    const r = this.#s.get.get(id) as RegistrationRow | undefined;
    return r === undefined ? undefined : toRegistration(r);
  }
  save(r: Registration): void {
    this.#s.save.run(params(r));
  }
  remove(id: string): void {
    this.#s.remove.run(id);
  }
  byNumber(number: string, client: string | undefined, limit: number): Registration[] {
    return (this.#s.byNumber.all({ number, client: client ?? null, limit }) as RegistrationRow[]).map(toRegistration);
  }
  list(client: string | undefined, limit: number, before = '\uffff'): Registration[] {
    return (this.#s.list.all({ client: client ?? null, limit, before }) as RegistrationRow[]).map(toRegistration);
  }
  due(now: number, limit: number): Registration[] {
    return (this.#s.due.all(now, limit) as RegistrationRow[]).map(toRegistration);
  }
  // One node: the service's per-registration lock is all the exclusion there is to have.
  claimDue(now: number, limit: number): Registration[] {
    return this.due(now, limit);
  }
  claim(): boolean {
    return true;
  }
  release(): void {}
  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#s.count.all() as Array<{ status: string; n: number }>) out[r.status] = r.n;
    return out;
  }
}
