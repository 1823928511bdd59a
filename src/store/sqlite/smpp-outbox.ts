/** SQLite implementation of SmppOutboxStore (migration: smpp_outbox). */
import type Database from 'better-sqlite3';
import type { SmppOutboxRow, SmppOutboxStore } from '../types.js';

interface Row {
  id: number;
  system_id: string;
  kind: SmppOutboxRow['kind'];
  body: string;
  created_at: number;
  attempts: number;
}

export class SqliteSmppOutbox implements SmppOutboxStore {
  readonly #s;
  constructor(db: Database.Database) {
    this.#s = {
      add: db.prepare(`INSERT INTO smpp_outbox (system_id, kind, body, created_at) VALUES (?, ?, ?, ?)`),
      pending: db.prepare(`SELECT * FROM smpp_outbox WHERE system_id = ? AND id > ? ORDER BY id LIMIT ?`),
      attempted: db.prepare(`UPDATE smpp_outbox SET attempts = attempts + 1 WHERE id = ?`),
      remove: db.prepare(`DELETE FROM smpp_outbox WHERE id = ?`),
      counts: db.prepare(`SELECT system_id, COUNT(*) AS n FROM smpp_outbox GROUP BY system_id`),
      putCuts: db.prepare(`INSERT OR REPLACE INTO smpp_part_cuts (message_id, cuts) VALUES (?, ?)`),
      getCuts: db.prepare(`SELECT cuts FROM smpp_part_cuts WHERE message_id = ?`).pluck(),
      dropCuts: db.prepare(`DELETE FROM smpp_part_cuts WHERE message_id = ?`),
    };
  }
  add(systemId: string, kind: SmppOutboxRow['kind'], body: string, now: number): void {
    this.#s.add.run(systemId, kind, body, now);
  }
  pending(systemId: string, afterId: number, limit: number): SmppOutboxRow[] {
    return (this.#s.pending.all(systemId, afterId, limit) as Row[]).map((r) => ({
      id: r.id,
      systemId: r.system_id,
      kind: r.kind,
      body: r.body,
      createdAt: r.created_at,
      attempts: r.attempts,
    }));
  }
  attempted(id: number): void {
    this.#s.attempted.run(id);
  }
  remove(id: number): void {
    this.#s.remove.run(id);
  }
  counts(): Map<string, number> {
    return new Map((this.#s.counts.all() as Array<{ system_id: string; n: number }>).map((r) => [r.system_id, r.n]));
  }
  putCuts(messageId: string, cuts: readonly number[]): void {
    this.#s.putCuts.run(messageId, JSON.stringify(cuts));
  }
  getCuts(messageId: string): number[] | undefined {
    const v = this.#s.getCuts.get(messageId) as string | undefined;
    return v === undefined ? undefined : (JSON.parse(v) as number[]);
  }
  dropCuts(messageId: string): void {
    this.#s.dropCuts.run(messageId);
  }
}
