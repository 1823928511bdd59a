/** PostgreSQL implementation of CallerIdStore (src/callerid/store.ts); the SQLite one is store/sqlite/callerid-store.ts. */
import type { CallerIdStore, Registration } from '../../callerid/store.js';
import { toRegistration, type RegistrationRow } from '../rows.js';
import type { PgSyncClient } from './sync-client.js';
import { sqlLimit } from './limit.js';


/** The values in COLUMNS order. */
const values = (r: Registration): unknown[] => [
  r.id, r.client, r.cardId, r.status, r.reason, JSON.stringify(r.numbers), r.displayName, r.industry, r.licenseNo, r.contact, r.logo,
  r.effectiveAt, r.expiresAt, r.pendingOp, r.pendingRequestId, r.pendingBody, r.failures, r.lastError, r.nextCheckAt,
  r.expiryWarnedFor, r.createdAt, r.updatedAt,
];

const COLUMN_NAMES = [
  'id', 'client', 'card_id', 'status', 'reason', 'numbers', 'display_name', 'industry', 'license_no', 'contact', 'logo', 'effective_at',
  'expires_at', 'pending_op', 'pending_request_id', 'pending_body', 'failures', 'last_error', 'next_check_at', 'expiry_warned_for',
  'created_at', 'updated_at',
] as const;
const COLUMNS = COLUMN_NAMES.join(', ');
const INSERT = `INSERT INTO callerid_registrations (${COLUMNS}) VALUES (${COLUMN_NAMES.map((_, i) => `$${i + 1}`).join(', ')})`;
const SAVE = `UPDATE callerid_registrations SET ${COLUMN_NAMES.slice(1).map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`;

export class PgCallerIdStore implements CallerIdStore {
  readonly #c: PgSyncClient;

  constructor(client: PgSyncClient) {
    this.#c = client;
  }

  insert(r: Registration): void {
    this.#c.run(INSERT, values(r));
  }
  get(id: string): Registration | undefined {
    const r = this.#c.one<RegistrationRow>(`SELECT ${COLUMNS} FROM callerid_registrations WHERE id = $1`, [id]);
    return r === undefined ? undefined : toRegistration(r);
  }
  save(r: Registration): void {
    this.#c.run(SAVE, values(r));
  }
  remove(id: string): void {
    this.#c.run('DELETE FROM callerid_registrations WHERE id = $1', [id]);
  }
  byNumber(number: string, client: string | undefined, limit: number): Registration[] {
    // `numbers` is a JSON array of strings: jsonb's ? is "has this string element".
    return this.#c
      .query<RegistrationRow>(`SELECT ${COLUMNS} FROM callerid_registrations WHERE ($2::text IS NULL OR client = $2)
        AND numbers::jsonb ? $1 ORDER BY id DESC LIMIT $3`, [number, client ?? null, sqlLimit(limit)])
      .map(toRegistration);
  }
  list(client: string | undefined, limit: number, before = '\uffff'): Registration[] {
    return this.#c
      .query<RegistrationRow>(`SELECT ${COLUMNS} FROM callerid_registrations WHERE ($1::text IS NULL OR client = $1) AND id < $2
        ORDER BY id DESC LIMIT $3`, [client ?? null, before, sqlLimit(limit)])
      .map(toRegistration);
  }
  due(now: number, limit: number): Registration[] {
    return this.#c
      .query<RegistrationRow>(`SELECT ${COLUMNS} FROM callerid_registrations WHERE next_check_at IS NOT NULL AND next_check_at <= $1
        ORDER BY next_check_at, id LIMIT $2`, [now, sqlLimit(limit)])
      .map(toRegistration);
  }
  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#c.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM callerid_registrations GROUP BY status')) out[r.status] = r.n;
    return out;
  }
}
