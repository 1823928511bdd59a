/**
 * Hot backup and restore of the SQLite store (issue 20.3), from a process of its own while
 * the daemon runs and writes.
 *
 * SQLite's online backup (better-sqlite3's backup()) copies the file in steps; a write by
 * another connection between two steps would restart it, and under steady traffic a
 * stepped backup of a large store might never finish. So the backup connection first opens
 * a read transaction: in WAL mode that pins one snapshot (the daemon's writes go on into
 * the WAL) and every step copies from that snapshot. The copy is therefore the store as it
 * was when the backup started: every message acknowledged before then is in it.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { XingeError } from '../../domain/errors.js';

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

export interface BackupResult {
  pages: number;
  bytes: number;
  messages: number;
  ms: number;
}

export interface BackupOptions {
  /** Pages copied per step (event-loop turn); progress is reported after each. */
  stepPages?: number;
  progress?: (p: BackupProgress) => void;
  /** Replace an existing destination file. */
  overwrite?: boolean;
}

function checkIntegrity(db: Database.Database, what: string): number {
  const result = db.pragma('quick_check', { simple: true });
  if (result !== 'ok') throw new XingeError('backup_corrupt', `${what} failed its integrity check: ${String(result)}`);
  const hasMessages = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'`).get() !== undefined;
  if (!hasMessages) throw new XingeError('backup_not_a_store', `${what} is not a xinge store (no messages table)`);
  return (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
}

/** Copy the live store at `source` to `dest` (written as dest + '.partial', then renamed). */
export async function backupStore(source: string, dest: string, opts: BackupOptions = {}): Promise<BackupResult> {
  if (!existsSync(source)) throw new XingeError('backup_no_source', `no store at ${source} (store.path)`);
  if (existsSync(dest) && opts.overwrite !== true) throw new XingeError('backup_exists', `${dest} exists: give another file name, or --force to replace it`);
  const started = Date.now();
  const partial = `${dest}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // Pin one snapshot for the whole copy (see the header).
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    const step = Math.max(1, opts.stepPages ?? 1000);
    const res = await db.backup(partial, {
      progress: (p) => {
        opts.progress?.(p);
        return step;
      },
    });
    db.exec('COMMIT');
    const copy = new Database(partial, { fileMustExist: true });
    let messages: number;
    try {
      messages = checkIntegrity(copy, 'the copy');
      // A self-contained file: no -wal beside it.
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    renameSync(partial, dest);
    opts.progress?.({ totalPages: res.totalPages, remainingPages: 0 });
    return { pages: res.totalPages, bytes: statSync(dest).size, messages, ms: Date.now() - started };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    if (db.open) db.close();
  }
}

/**
 * Put a backup in place of the store at `target`, with the daemon stopped: checks the
 * backup, moves the current store (and its -wal/-shm) aside as `<target>.before-restore-<time>`,
 * copies the backup in. Returns where the old store went (undefined when there was none).
 */
export async function restoreStore(backup: string, target: string, now = Date.now()): Promise<{ movedAside: string | undefined; messages: number }> {
  if (!existsSync(backup)) throw new XingeError('restore_no_backup', `no backup file at ${backup}`);
  const src = new Database(backup, { readonly: true, fileMustExist: true });
  let messages: number;
  try {
    messages = checkIntegrity(src, backup);
  } finally {
    src.close();
  }
  let movedAside: string | undefined;
  if (existsSync(target)) {
    // Leaving WAL needs the only connection to the file: a store a running daemon holds open
    // fails here, and one that is free gets its WAL folded in before it is moved aside.
    const probe = new Database(target, { fileMustExist: true });
    let mode: unknown;
    try {
      probe.pragma('busy_timeout = 0');
      mode = probe.pragma('journal_mode = DELETE', { simple: true });
    } catch {
      mode = 'busy';
    } finally {
      probe.close();
    }
    if (mode !== 'delete') throw new XingeError('restore_store_busy', `${target} is in use: stop the daemon first (systemctl stop xinge)`);
    movedAside = `${target}.before-restore-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(target + suffix)) renameSync(target + suffix, movedAside + suffix);
  }
  const from = new Database(backup, { readonly: true, fileMustExist: true });
  try {
    await from.backup(target);
  } finally {
    from.close();
  }
  return { movedAside, messages };
}
