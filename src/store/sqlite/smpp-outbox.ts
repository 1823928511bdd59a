/** SQLite implementation of SmppOutboxStore (migration: smpp_outbox). */
import type Database from 'better-sqlite3';
import type { SmppOutboxRow, SmppOutboxStore } from '../types.js';
import type { SmppOutboxDbRow } from '../rows.js';


export class SqliteSmppOutbox implements SmppOutboxStore {
  readonly #s;
  constructor(db: Database.Database) {
    this.#s = {
      add: db.prepare(`INSERT INTO smpp_outbox (system_id, kind, body, created_at) VALUES (?, ?, ?, ?)`),
      pending: db.prepare(`SELECT * FROM smpp_outbox WHERE system_id = ? AND id > ? ORDER BY id LIMIT ?`),
      attempted: db.prepare(`UPDATE smpp_outbox SET attempts = attempts + 1 WHERE id = ?`),
      remove: db.prepare(`DELETE FROM smpp_outbox WHERE id = ?`),
      counts: db.prepare(`SELECT system_id, COUNT(*) AS n FROM smpp_outbox GROUP BY system_id`),
      keep: db.prepare(`INSERT OR REPLACE INTO smpp_messages (message_id, cuts, receipts) VALUES (?, ?, ?)`),
      getCuts: db.prepare(`SELECT cuts FROM smpp_messages WHERE message_id = ?`).pluck(),
      take: db.prepare(`DELETE FROM smpp_messages WHERE message_id = ? RETURNING cuts, receipts`),
      partId: db.prepare(`SELECT message_id FROM smpp_parts WHERE part_key = ? LIMIT 1`).pluck(),
      addPart: db.prepare(`INSERT OR IGNORE INTO smpp_parts (part_key, seq, total, message_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      parts: db.prepare(`SELECT text FROM smpp_parts WHERE part_key = ? ORDER BY seq`).pluck(),
      dropParts: db.prepare(`DELETE FROM smpp_parts WHERE part_key = ?`),
      staleParts: db.prepare(`SELECT part_key, MIN(message_id) AS message_id FROM smpp_parts GROUP BY part_key HAVING MIN(created_at) < ? LIMIT 1000`),
    };
  }
  add(systemId: string, kind: SmppOutboxRow['kind'], body: string, now: number): void {
    this.#s.add.run(systemId, kind, body, now);
  }
  pending(systemId: string, afterId: number, limit: number): SmppOutboxRow[] {
    return (this.#s.pending.all(systemId, afterId, limit) as SmppOutboxDbRow[]).map((r) => ({
      id: r.id,
      systemId: r.system_id,
      kind: r.kind,
      body: r.body,
      createdAt: r.created_at,
      attempts: r.attempts,
    }));
  }
  // One node: the forwarder's own bookkeeping (rows on the wire, refused ones) is all the exclusion needed.
  claim(systemId: string, afterId: number, limit: number): SmppOutboxRow[] {
    return this.pending(systemId, afterId, limit);
  }
  release(): void {}
  attempted(id: number): void {
    this.#s.attempted.run(id);
  }
  remove(id: number): void {
    this.#s.remove.run(id);
  }
  counts(): Map<string, number> {
    return new Map((this.#s.counts.all() as Array<{ system_id: string; n: number }>).map((r) => [r.system_id, r.n]));
  }
  keepMessage(messageId: string, cuts: readonly number[] | undefined, receipts: number): void {
    this.#s.keep.run(messageId, cuts === undefined ? null : JSON.stringify(cuts), receipts);
  }
  getCuts(messageId: string): number[] | undefined {
    const v = this.#s.getCuts.get(messageId) as string | null | undefined;
    return v == null ? undefined : (JSON.parse(v) as number[]);
  }
  takeMessage(messageId: string): { cuts: number[] | undefined; receipts: number } | undefined {
    const r = this.#s.take.get(messageId) as { cuts: string | null; receipts: number } | undefined;
    return r === undefined ? undefined : { cuts: r.cuts === null ? undefined : (JSON.parse(r.cuts) as number[]), receipts: r.receipts };
  }
  addPart(key: string, seq: number, total: number, text: string, newId: string, now: number): { messageId: string; added: boolean; parts: string[] } {
    const messageId = (this.#s.partId.get(key) as string | undefined) ?? newId;
    const added = this.#s.addPart.run(key, seq, total, messageId, text, now).changes > 0;
    return { messageId, added, parts: this.#s.parts.all(key) as string[] };
  }
  dropParts(key: string): void {
    this.#s.dropParts.run(key);
  }
  staleParts(before: number): Array<{ key: string; messageId: string }> {
    return (this.#s.staleParts.all(before) as Array<{ part_key: string; message_id: string }>).map((r) => ({ key: r.part_key, messageId: r.message_id }));
  }
}
