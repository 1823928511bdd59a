/** Store factory: the only place that knows the backend is SQLite. */
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './sqlite/database.js';
import { SqliteMessageStore, QUEUED_BY_LANE_SQL, depthByLane } from './sqlite/message-store.js';
import { SqliteAuxStore } from './sqlite/aux-store.js';
import { SqliteCallerIdStore } from './sqlite/callerid-store.js';
import type { CallerIdStore } from '../callerid/store.js';
import { SqliteSmppOutbox } from './sqlite/smpp-outbox.js';
import { SqliteMmsStore } from './sqlite/mms-store.js';
import type { MmsStore } from './mms-types.js';
import { GroupCommit } from './group-commit.js';
import { WalSync } from './sqlite/wal-sync.js';
import { Checkpointer, type CheckpointStats } from './sqlite/checkpointer.js';
import type { AuxStore, MessageStore, SmppOutboxStore } from './types.js';
import type { Category } from '../domain/types.js';

export interface Store {
  messages: MessageStore;
  aux: AuxStore;
  /** Caller-ID registrations (src/callerid/). */
  callerId: CallerIdStore;
  /** deliver_sm owed to smpp_server clients. */
  smppOutbox: SmppOutboxStore;
  /** MMS messages and their parts (SPEC 9). */
  mms: MmsStore;
  /** Group commit for writes whose caller waits for durability (intake, receipts). */
  commit: GroupCommit;
  isOpen(): boolean;
  /** fsyncs of the WAL issued for durability so far (0 with synchronous: normal). */
  fsyncs(): number;
  /** The checkpoint thread's counters (undefined for an in-memory database). */
  checkpoints(): CheckpointStats | undefined;
  /**
   * openDepthByLane counted on the store's thread, off the event loop; undefined where there
   * is no such thread (an in-memory database): count synchronously then.
   */
  depthInBackground(): Promise<Record<Category, number>> | undefined;
  /**
   * Closes the database now; the promise resolves once the checkpoint thread has closed its
   * connection too (the drain waits for it, so nothing touches the files after a stop).
   */
  close(): Promise<void>;
}

export function openStore(opts: { path: string; commitIntervalMs?: number; synchronous?: Synchronous; checkpointIntervalMs?: number }): Store {
  const db: Database.Database = openDatabase(opts.path, { synchronous: opts.synchronous ?? 'full' });
  let checkpointer: Checkpointer | undefined;
  if (opts.path !== ':memory:') {
    try {
      checkpointer = new Checkpointer(opts.path, opts.checkpointIntervalMs);
      // Backstop only (~100 MB of WAL): the thread keeps the WAL far below it.
      db.pragma('wal_autocheckpoint = 25000');
      db.pragma('journal_size_limit = 67108864');
    } catch {
      checkpointer = undefined; // no worker threads here: SQLite's own checkpoints, as configured
    }
  }
  const messages = new SqliteMessageStore(db);
  const aux = new SqliteAuxStore(db);
  const walSync = (opts.synchronous ?? 'full') === 'full' && opts.path !== ':memory:' ? new WalSync(`${opts.path}-wal`) : undefined;
  let stopped: Promise<void> = Promise.resolve();
  const commit = new GroupCommit(messages, opts.commitIntervalMs ?? 0, walSync === undefined ? undefined : () => walSync.sync());
  return {
    messages,
    aux,
    callerId: new SqliteCallerIdStore(db),
    smppOutbox: new SqliteSmppOutbox(db),
    mms: new SqliteMmsStore(db),
    commit,
    isOpen: () => db.open,
    fsyncs: () => walSync?.syncs ?? 0,
    checkpoints: () => checkpointer?.stats,
    depthInBackground: () =>
      checkpointer?.read(QUEUED_BY_LANE_SQL).then((rows) => depthByLane(rows as Array<{ lane: number; n: number }>)),
    close: () => {
      if (!db.open) return stopped;
      commit.close();
      stopped = checkpointer?.stop() ?? Promise.resolve();
      let checkpointed = false;
      try {
        // Best effort: the checkpoint thread may hold the checkpoint lock a moment longer
        // (SQLITE_BUSY). The WAL then stays, and the next open replays it; commits still
        // waiting for their fsync are refused rather than called durable.
        db.pragma('wal_checkpoint(TRUNCATE)');
        checkpointed = true;
      } catch {
        checkpointed = false;
      } finally {
        db.close();
        walSync?.close(checkpointed);
      }
      return stopped;
    },
  };
}

export type { MessageStore, AuxStore } from './types.js';
