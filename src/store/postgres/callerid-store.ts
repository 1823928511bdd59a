/** PostgreSQL implementation of CallerIdStore (src/callerid/store.ts); the SQLite one is store/sqlite/callerid-store.ts. */
import type { CallerIdStore, Registration } from '../../callerid/store.js';
import { toRegistration, type RegistrationRow } from '../rows.js';
import type { PgSyncClient } from './sync-client.js';
import { sqlLimit } from './limit.js';
import { writeSoon } from './write-soon.js';


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

/** Free for this node (parameters `node`, `now`): unclaimed, claimed by itself (before a restart, say), or the claim ran out. */
const claimable = (node: string, now: string) => `(claimed_by IS NULL OR claimed_by = ${node} OR claim_until <= ${now})`;

export class PgCallerIdStore implements CallerIdStore {
  readonly #c: PgSyncClient;
  readonly #node: string;

  /** `nodeId`: this daemon's id (cluster.node_id), written on its claims. */
  constructor(client: PgSyncClient, opts: { nodeId?: string | undefined } = {}) {
    this.#c = client;
    this.#node = opts.nodeId ?? 'local';
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
  claimDue(now: number, limit: number, leaseMs: number): Registration[] {
    // Rows another node is claiming are skipped, not waited for; one it has just claimed
    // fails the claimable() recheck once its lock is released.
    const rows = this.#c.query<RegistrationRow>(`UPDATE callerid_registrations r SET claimed_by = $3, claim_until = $4 FROM (
        SELECT id FROM callerid_registrations WHERE next_check_at IS NOT NULL AND next_check_at <= $1
          AND ${claimable('$3', '$1')}
        ORDER BY next_check_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) d
      WHERE r.id = d.id RETURNING ${COLUMN_NAMES.map((c) => `r.${c}`).join(', ')}`, [now, sqlLimit(limit), this.#node, now + leaseMs]);
    rows.sort((a, b) => Number(a.next_check_at) - Number(b.next_check_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return rows.map(toRegistration);
  }
  claim(id: string, now: number, leaseMs: number): boolean {
    return this.#c.run(`UPDATE callerid_registrations SET claimed_by = $2, claim_until = $4 WHERE id = $1
      AND ${claimable('$2', '$3')}`, [id, this.#node, now, now + leaseMs]) > 0;
  }
  release(id: string): void {
    writeSoon(this.#c, 'UPDATE callerid_registrations SET claimed_by = NULL, claim_until = NULL WHERE id = $1 AND claimed_by = $2', [id, this.#node]);
  }
  countByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#c.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM callerid_registrations GROUP BY status')) out[r.status] = r.n;
    return out;
  }
}
