/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold: it copies megabytes into the database file and fsyncs it on
 * the main thread, a 50–150 ms stall under a draining backlog, which is exactly when a
 * verification code must not wait. Here a second connection, on its own thread, runs
 * PASSIVE checkpoints (they never block the writer) every `intervalMs`; the main
 * connection keeps a far larger automatic threshold only as a backstop should this thread
 * fall behind or die.
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
parentPort.on('message', (m) => {
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

export class Checkpointer {
  readonly #worker: Worker;
  readonly stats: CheckpointStats = { runs: 0, framesCheckpointed: 0, errors: 0, lastError: undefined };
  #stopped = false;

  constructor(path: string, intervalMs = 200) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, driver } });
    this.#worker.on('message', (m: { kind: 'checkpoint'; log: number; checkpointed: number } | { kind: 'error'; message: string }) => {
      if (m.kind === 'checkpoint') {
        this.stats.runs++;
        this.stats.framesCheckpointed += Math.max(0, m.checkpointed);
      } else {
        this.stats.errors++;
        this.stats.lastError = m.message;
      }
    });
    this.#worker.on('error', (err) => {
      this.stats.errors++;
      this.stats.lastError = err.message;
    });
    // Never what keeps the process alive (the store stops it on close). After the listeners:
    // a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  /** Ask the thread to close its connection and end (it finishes a checkpoint in progress first). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.postMessage('stop');
  }
}
