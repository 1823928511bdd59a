/** Store factory: the only place that knows the backend is SQLite. */
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './sqlite/database.js';
import { SqliteMessageStore } from './sqlite/message-store.js';
import { SqliteAuxStore } from './sqlite/aux-store.js';
import { GroupCommit } from './group-commit.js';
import type { AuxStore, MessageStore } from './types.js';

export interface Store {
  messages: MessageStore;
  aux: AuxStore;
  /** Group commit for writes whose caller waits for durability (intake, receipts). */
  commit: GroupCommit;
  isOpen(): boolean;
  close(): void;
}

export function openStore(opts: { path: string; commitIntervalMs?: number; synchronous?: Synchronous }): Store {
  const db: Database.Database = openDatabase(opts.path, { synchronous: opts.synchronous ?? 'full' });
  const messages = new SqliteMessageStore(db);
  const aux = new SqliteAuxStore(db);
  const commit = new GroupCommit(messages, opts.commitIntervalMs ?? 0);
  return {
    messages,
    aux,
    commit,
    isOpen: () => db.open,
    close: () => {
      if (!db.open) return;
      commit.close();
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    },
  };
}

export type { MessageStore, AuxStore } from './types.js';
