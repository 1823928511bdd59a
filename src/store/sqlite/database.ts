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
  // FULL: a commit is on disk before we answer 202, power loss included. The group commit
  // (one transaction per tick) keeps the fsync count low.
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // 16 MiB of page cache: the queue lives on disk (1M queued messages in 300 MB RSS), and
  // the hot pages (due-index head, recent rows) fit many times over.
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  db.pragma('wal_autocheckpoint = 4000');
  migrate(db);
  return db;
}
