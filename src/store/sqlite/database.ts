/** Opening the SQLite file: WAL, synchronous level, migrations. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate } from './migrations.js';

export type Synchronous = 'full' | 'normal';

export function openDatabase(path: string, opts: { synchronous?: Synchronous } = {}): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // `full` (the default) is kept by WalSync: SQLite itself runs NORMAL (no fsync in the
  // commit, on the main thread) and the group commit waits for an fsync of the WAL on the
  // thread pool before it answers, so a commit is on disk before its 202, power loss
  // included. An in-memory database has nothing to sync: FULL costs it nothing.
  db.pragma(`synchronous = ${opts.synchronous === 'normal' || path !== ':memory:' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // 16 MiB of page cache: the queue lives on disk (1M queued messages in 300 MB RSS), and
  // the hot pages (due-index head, recent rows) fit many times over.
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  db.pragma('wal_autocheckpoint = 4000');
  migrate(db);
  return db;
}
