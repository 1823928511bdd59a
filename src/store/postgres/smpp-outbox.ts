/**
 * PostgreSQL implementation of SmppOutboxStore; the SQLite one is store/sqlite/smpp-outbox.ts.
 * An ESME may be bound to several daemons: the forwarder takes rows with claim() (FOR UPDATE
 * SKIP LOCKED and a lease), so each deliver_sm goes out from one node at a time.
 * Parts of one multipart may reach two daemons at once: addPart takes a transaction-scoped
 * advisory lock on the part key, so they agree on the whole's message id.
 */
import type { SmppOutboxRow, SmppOutboxStore } from '../types.js';
import type { SmppOutboxDbRow } from '../rows.js';
import type { PgSyncClient } from './sync-client.js';
import { writeSoon } from './write-soon.js';
import { sqlLimit } from './limit.js';


/** Second key of the advisory lock of a multipart's parts (the first is a hash of its key). */
const PARTS_LOCK_SPACE = 0x736d7070; // 'smpp'

const toRow = (r: SmppOutboxDbRow): SmppOutboxRow => ({ id: r.id, systemId: r.system_id, kind: r.kind, body: r.body, createdAt: r.created_at, attempts: r.attempts });

export class PgSmppOutbox implements SmppOutboxStore {
  readonly #c: PgSyncClient;
  readonly #node: string;

  /** `nodeId`: this daemon's id (cluster.node_id), written on its claims. */
  constructor(client: PgSyncClient, opts: { nodeId?: string | undefined } = {}) {
    this.#c = client;
    this.#node = opts.nodeId ?? 'local';
  }

  add(systemId: string, kind: SmppOutboxRow['kind'], body: string, now: number): void {
    writeSoon(this.#c, 'INSERT INTO smpp_outbox (system_id, kind, body, created_at) VALUES ($1, $2, $3, $4)', [systemId, kind, body, now]);
  }
  pending(systemId: string, afterId: number, limit: number): SmppOutboxRow[] {
    return this.#c
      .query<SmppOutboxDbRow>('SELECT id, system_id, kind, body, created_at, attempts FROM smpp_outbox WHERE system_id = $1 AND id > $2 ORDER BY id LIMIT $3',
        [systemId, afterId, sqlLimit(limit)])
      .map(toRow);
  }
  claim(systemId: string, afterId: number, limit: number, now: number, leaseMs: number): SmppOutboxRow[] {
    // Free for this node: unclaimed, its own (on its wire: the forwarder skips those), or the
    // claim ran out. Rows another node is claiming are skipped, not waited for; one it has
    // just claimed fails the recheck once its lock is released.
    const rows = this.#c.query<SmppOutboxDbRow>(`UPDATE smpp_outbox o SET claimed_by = $4, claim_until = $6 FROM (
        SELECT id FROM smpp_outbox WHERE system_id = $1 AND id > $2 AND (claimed_by IS NULL OR claimed_by = $4 OR claim_until <= $5)
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) d
      WHERE o.id = d.id RETURNING o.id, o.system_id, o.kind, o.body, o.created_at, o.attempts`,
    [systemId, afterId, sqlLimit(limit), this.#node, now, now + leaseMs]);
    return rows.sort((a, b) => a.id - b.id).map(toRow);
  }
  release(id: number, now: number, afterMs: number): void {
    writeSoon(this.#c, 'UPDATE smpp_outbox SET claim_until = $3 WHERE id = $1 AND claimed_by = $2', [id, this.#node, now + afterMs]);
  }
  attempted(id: number): void {
    writeSoon(this.#c, 'UPDATE smpp_outbox SET attempts = attempts + 1 WHERE id = $1', [id]);
  }
  remove(id: number): void {
    writeSoon(this.#c, 'DELETE FROM smpp_outbox WHERE id = $1', [id]);
  }
  counts(): Map<string, number> {
    return new Map(this.#c.query<[string, number]>('SELECT system_id, count(*) FROM smpp_outbox GROUP BY system_id', [], 'array'));
  }
  keepMessage(messageId: string, cuts: readonly number[] | undefined, receipts: number): void {
    writeSoon(this.#c, `INSERT INTO smpp_messages (message_id, cuts, receipts) VALUES ($1, $2, $3)
      ON CONFLICT (message_id) DO UPDATE SET cuts = EXCLUDED.cuts, receipts = EXCLUDED.receipts`,
      [messageId, cuts === undefined ? null : JSON.stringify(cuts), receipts]);
  }
  getCuts(messageId: string): number[] | undefined {
    const r = this.#c.one<{ cuts: string | null }>('SELECT cuts FROM smpp_messages WHERE message_id = $1', [messageId]);
    return r?.cuts == null ? undefined : (JSON.parse(r.cuts) as number[]);
  }
  takeMessage(messageId: string): { cuts: number[] | undefined; receipts: number } | undefined {
    const r = this.#c.one<{ cuts: string | null; receipts: number }>('DELETE FROM smpp_messages WHERE message_id = $1 RETURNING cuts, receipts', [messageId]);
    return r === undefined ? undefined : { cuts: r.cuts === null ? undefined : (JSON.parse(r.cuts) as number[]), receipts: r.receipts };
  }
  addPart(key: string, seq: number, total: number, text: string, newId: string, now: number): { messageId: string; added: boolean; parts: string[] } {
    return this.#c.transaction(() => {
      // Until this transaction ends, another daemon's part of the same multipart waits here,
      // then sees this one's row (each statement reads what was committed before it began).
      this.#c.defer('SELECT pg_advisory_xact_lock(hashtext($1), $2)', [key, PARTS_LOCK_SPACE]);
      // The inserted row is not visible to the same statement's reads: the parts are those
      // stored before, plus the one this statement added.
      const r = this.#c.one<{ message_id: string; added: number; parts: string[] }>(`
        WITH first AS (SELECT message_id FROM smpp_parts WHERE part_key = $1 LIMIT 1),
        ins AS (INSERT INTO smpp_parts (part_key, seq, total, message_id, text, created_at)
          VALUES ($1, $2, $3, COALESCE((SELECT message_id FROM first), $5), $4, $6) ON CONFLICT DO NOTHING RETURNING seq, text)
        SELECT COALESCE((SELECT message_id FROM first), $5) AS message_id, (SELECT count(*) FROM ins) AS added,
          ARRAY(SELECT text FROM (SELECT seq, text FROM smpp_parts WHERE part_key = $1 UNION ALL SELECT seq, text FROM ins) p ORDER BY seq) AS parts`,
      [key, seq, total, text, newId, now])!;
      return { messageId: r.message_id, added: r.added > 0, parts: r.parts };
    });
  }
  dropParts(key: string): void {
    writeSoon(this.#c, 'DELETE FROM smpp_parts WHERE part_key = $1', [key]);
  }
  staleParts(before: number): Array<{ key: string; messageId: string }> {
    return this.#c
      .query<[string, string]>('SELECT part_key, MIN(message_id) FROM smpp_parts GROUP BY part_key HAVING MIN(created_at) < $1 LIMIT 1000', [before], 'array')
      .map(([key, messageId]) => ({ key, messageId }));
  }
}
