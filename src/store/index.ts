/** Store factory: the only place that knows which backend is behind the interface. */
import type Database from 'better-sqlite3';
import { openDatabase, type Synchronous } from './sqlite/database.js';
import { SqliteMessageStore, QUEUED_BY_LANE_SQL, depthByLane } from './sqlite/message-store.js';
import { SqliteAuxStore } from './sqlite/aux-store.js';
import { SqliteCallerIdStore } from './sqlite/callerid-store.js';
import type { CallerIdStore } from '../callerid/store.js';
import { SqliteSmppOutbox } from './sqlite/smpp-outbox.js';
import { SqliteMmsStore } from './sqlite/mms-store.js';
import type { MmsStore } from './mms-types.js';
import { GroupCommit, type UrgentTransactor } from './group-commit.js';
import { WalSync } from './sqlite/wal-sync.js';
import { Checkpointer, type CheckpointStats } from './sqlite/checkpointer.js';
import type { AuxStore, MessageStore, SmppOutboxStore } from './types.js';
import type { Category } from '../domain/types.js';
import { PgSyncClient } from './postgres/sync-client.js';
import { migratePgStore } from './postgres/migrations.js';
import { PgMessageStore } from './postgres/message-store.js';
import { PgAuxStore } from './postgres/aux-store.js';
import { PgCallerIdStore } from './postgres/callerid-store.js';
import { PgSmppOutbox } from './postgres/smpp-outbox.js';
import { PgMmsStore } from './postgres/mms-store.js';
import { StoreError } from './postgres/errors.js';

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
  /** postgres: the store's connection (statement counters; undefined with SQLite). */
  pg?: PgSyncClient;
  /**
   * Closes the database now; the promise resolves once the checkpoint thread has closed its
   * connection too (the drain waits for it, so nothing touches the files after a stop).
   */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** sqlite (default) or postgres. */
  driver?: 'sqlite' | 'postgres';
  path: string;
  /** postgres: the connection URL. */
  url?: string | undefined;
  /** postgres: this daemon's id on its claims (cluster.node_id). */
  nodeId?: string;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  commitIntervalMs?: number;
  synchronous?: Synchronous;
  checkpointIntervalMs?: number;
}

export function openStore(opts: StoreOptions): Store {
  if (opts.driver === 'postgres') return openPgStore(opts);
  return openSqliteStore(opts);
}

/**
 * Units per group commit on PostgreSQL: a receipt's unit waits for two statements, and the
 * main thread waits with it. Measured on the cluster bench (one daemon, 40,000 messages):
 * no cap 1,116 msg/s and a client's OTP request → 202 p99 593 ms; 512: 1,130/s, 118 ms;
 * 256: 1,145/s, 78 ms; 128: 982–1,052/s and 10 % more CPU per message, 65–81 ms.
 */
const PG_UNITS_PER_COMMIT = 256;

function openPgStore(opts: StoreOptions): Store {
  if (opts.url === undefined) throw new StoreError('store_failed', 'store.url is required with store.driver postgres');
  const client = new PgSyncClient({
    url: opts.url,
    ...(opts.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: opts.statementTimeoutMs }),
    ...(opts.idleInTransactionTimeoutMs === undefined ? {} : { idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs }),
    applicationName: `xinge-store ${opts.nodeId ?? ''}`.trim(),
  });
  try {
    migratePgStore(client);
  } catch (err) {
    client.close();
    throw err;
  }
  const messages = new PgMessageStore(client, { nodeId: opts.nodeId ?? 'local' });
  const aux = new PgAuxStore(client, { nodeId: opts.nodeId });
  // PostgreSQL's COMMIT returns once the commit is durable (synchronous_commit): no fsync step here.
  // The group commit's units run on a connection of their own, and the main thread does not
  // wait for their COMMIT (a 1,000-message batch takes PostgreSQL tens of ms to write): a
  // verification code's statements on the main connection never queue behind it.
  const onGroupLane = <T>(fn: () => T): T => client.onLane('group', fn);
  const commit = new GroupCommit(
    {
      transaction: (fn) => onGroupLane(() => client.transaction(fn)),
      get inTransaction() {
        return client.inTransaction;
      },
    },
    {
      intervalMs: opts.commitIntervalMs ?? 0,
      urgentNow: urgentPgTransactor(client, opts.nodeId ?? 'local', aux),
      commitAsync: (fn) => onGroupLane(() => client.transactionAsync(fn)),
      maxUnits: PG_UNITS_PER_COMMIT,
    },
  );
  return {
    messages,
    aux,
    callerId: new PgCallerIdStore(client, { nodeId: opts.nodeId }),
    smppOutbox: new PgSmppOutbox(client, { nodeId: opts.nodeId }),
    mms: new PgMmsStore(client, { nodeId: opts.nodeId ?? 'local' }),
    commit,
    isOpen: () => !client.closed,
    fsyncs: () => 0,
    checkpoints: () => undefined,
    depthInBackground: () => undefined,
    pg: client,
    close: () => {
      if (!client.closed) {
        commit.close();
        client.close();
      }
      return Promise.resolve();
    },
  };
}

/**
 * A verification code's own transaction: committed without waiting for the WAL flush
 * (synchronous_commit off for it alone), so the dispatcher sends it at once; the caller's
 * 202 waits for `durable`: a small durable write of this node's (its commit flushes the WAL
 * up to its own commit record, so past the code's). A transaction that writes nothing would
 * not wait for the flush. A crash in between loses a code that was sent but never
 * acknowledged: the client retries (at least once, as with SQLite).
 */
function urgentPgTransactor(client: PgSyncClient, nodeId: string, aux: PgAuxStore): UrgentTransactor {
  const barrier = client.prepared('INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1');
  const key = `wal_flush_barrier:${nodeId}`;
  return {
    transaction: (fn) =>
      client.transaction(
        () => {
          client.defer('SET LOCAL synchronous_commit = off');
          // One unit alone: its send windows are checked without a round trip of their own.
          return aux.soleTransaction(fn);
        },
        // Its statements as one query string: one round trip to PostgreSQL, not one each.
        { oneMessage: true },
      ),
    get inTransaction() {
      return client.inTransaction;
    },
    // After the turn: the code's submit_sm is written before the main thread waits for the flush.
    durable: () =>
      new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          try {
            client.run(barrier, [key]);
            resolve();
          } catch (err) {
            reject(err);
          }
        }),
      ),
  };
}

function openSqliteStore(opts: StoreOptions): Store {
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
  const commit = new GroupCommit(messages, { intervalMs: opts.commitIntervalMs ?? 0, ...(walSync === undefined ? {} : { durable: () => walSync.sync() }) });
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
