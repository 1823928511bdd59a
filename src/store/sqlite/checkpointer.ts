/**
 * WAL checkpoints, and reads too long for the event loop, on a worker thread. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold: it copies megabytes into the database file and fsyncs it on
 * the main thread, a 50–150 ms stall under a draining backlog, which is exactly when a
 * verification code must not wait. Here a second connection, on its own thread, runs
 * PASSIVE checkpoints (they never block the writer) every `intervalMs`; the main
 * connection keeps a far larger automatic threshold only as a backstop should this thread
 * fall behind or die.
 *
 * The same connection answers `read(sql)`: a count of the whole queue (a million queued
 * segments take 400 ms to count) would otherwise stop every verification code and every
 * request behind it, every time the depth gauge is refreshed. WAL readers never block the
 * writer, so the count runs beside it on committed data.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

// Plain CommonJS, evaluated: the worker needs no build step and works from src/ and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
let timer;
let stopped = false;
const run = () => {
  if (stopped) return;
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ kind: 'checkpoint', log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ kind: 'error', message: String((e && e.message) || e) });
  }
  timer = setTimeout(run, workerData.intervalMs);
};
const statements = new Map();
parentPort.on('message', (m) => {
  if (m !== null && typeof m === 'object' && m.kind === 'read') {
    try {
      let st = statements.get(m.sql);
      if (st === undefined) { st = db.prepare(m.sql); statements.set(m.sql, st); }
      parentPort.postMessage({ kind: 'rows', id: m.id, rows: st.all() });
    } catch (e) {
      parentPort.postMessage({ kind: 'rows', id: m.id, error: String((e && e.message) || e) });
    }
    return;
  }
  if (m !== 'stop') return;
  stopped = true;
  clearTimeout(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
run();
`;

export interface CheckpointStats {
  runs: number;
  framesCheckpointed: number;
  errors: number;
  lastError: string | undefined;
}

type FromWorker =
  | { kind: 'checkpoint'; log: number; checkpointed: number }
  | { kind: 'error'; message: string }
  | { kind: 'rows'; id: number; rows?: unknown[]; error?: string };

export class Checkpointer {
  readonly #worker: Worker;
  readonly stats: CheckpointStats = { runs: 0, framesCheckpointed: 0, errors: 0, lastError: undefined };
  #stopped = false;
  readonly #exited: Promise<void>;
  #nextRead = 0;
  readonly #reads = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();

  constructor(path: string, intervalMs = 200) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
    this.#worker.on('message', (m: FromWorker) => {
      if (m.kind === 'checkpoint') {
        this.stats.runs++;
        this.stats.framesCheckpointed += Math.max(0, m.checkpointed);
      } else if (m.kind === 'rows') {
        const r = this.#reads.get(m.id);
        this.#reads.delete(m.id);
        if (this.#reads.size === 0) this.#worker.unref();
        if (m.error !== undefined) r?.reject(new Error(m.error));
        else r?.resolve(m.rows ?? []);
      } else {
        this.stats.errors++;
        this.stats.lastError = m.message;
      }
    });
    this.#worker.on('error', (err) => {
      this.stats.errors++;
      this.stats.lastError = err.message;
    });
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('exit', () => this.#failReads(new Error('store thread ended')));
    // Never what keeps the process alive (the store stops it on close). After the listeners:
    // a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  /** Rows of a read-only `sql` (no parameters), run on the thread's connection. */
  read(sql: string): Promise<unknown[]> {
    if (this.#stopped) return Promise.reject(new Error('store closed'));
    const id = this.#nextRead++;
    return new Promise((resolve, reject) => {
      // Someone waits for an answer: the process stays up for it.
      if (this.#reads.size === 0) this.#worker.ref();
      this.#reads.set(id, { resolve, reject });
      this.#worker.postMessage({ kind: 'read', id, sql });
    });
  }

  #failReads(err: Error): void {
    for (const r of this.#reads.values()) r.reject(err);
    this.#reads.clear();
    this.#worker.unref();
  }

  /**
   * Ask the thread to close its connection and end (it finishes a checkpoint in progress
   * first). Resolves when it has: its connection may remove the -wal and -shm files.
   */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#failReads(new Error('store closed'));
      this.#worker.postMessage('stop');
      // Whoever waits for the stop keeps the process up until the thread has ended.
      this.#worker.ref();
    }
    // A thread that does not end (a checkpoint stuck on a slow disk) does not hold a stop for ever.
    return Promise.race([this.#exited, new Promise<void>((r) => setTimeout(r, 2000).unref())]);
  }
}
