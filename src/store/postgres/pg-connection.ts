/**
 * PgConnection: one PostgreSQL connection owned by a worker thread, driven from the main
 * thread (PgSyncClient holds one per lane). A statement that waits blocks the main thread on
 * an Atomics.wait until its answer is there (receiveMessageOnPort); a COMMIT sent with
 * transactionAsync does not. Answers carry the id of their message and come in order.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { StoreError } from './errors.js';
import { PG_WORKER_SOURCE } from './pg-worker-source.js';
import type { PgSyncClientOptions, RowMode } from './sync-client.js';

interface Op {
  sql: string;
  params: readonly unknown[];
  array: boolean;
  /** A prepared statement's name (prepared once per connection), or none. */
  name?: string | undefined;
  /** A batch of rows (deferRow): sql and params are built from them when it is sent. */
  batch?: { key: string; rows: unknown[][]; build: (rows: unknown[][]) => { sql: string; params: unknown[] } };
  /** deferQuery: where its rows go once the message it went with is answered. */
  sink?: DeferredRows;
}

/** The rows of a deferred query: undefined until the round trip it went with succeeded. */
export interface DeferredRows {
  rows: unknown[] | undefined;
}

/** Rows per batched statement at most. */
const BATCH_ROWS = 1000;
interface Answer {
  id: number;
  results: Array<{ rows: unknown[]; count: number; command?: string }>;
  error?: { message: string; code?: string; index: number };
}

/** A round trip whose caller does not wait (transactionAsync): settled when its answer comes. */
interface AsyncTrip {
  deferredCount: number;
  sinks: Array<[number, DeferredRows]>;
  resolve: (results: Array<{ rows: unknown[]; count: number; command?: string }>) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

export class PgConnection {
  readonly #o: Required<PgSyncClientOptions>;
  readonly #waitMs: number;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #signal: Int32Array | undefined;
  #deferred: Op[] = [];
  readonly #prepared: Map<string, string>;
  #nextId = 1;
  readonly #async = new Map<number, AsyncTrip>();
  #closed = false;
  #depth = 0;
  /** Inside a transaction(…, { oneMessage }): its messages go as one query string each. */
  #oneMessage = false;
  /** Statements sent and waits done (metrics; round trips are what bound a node). */
  statements = 0;
  waits = 0;

  constructor(o: PgSyncClientOptions, prepared: Map<string, string>) {
    this.#prepared = prepared;
    this.#o = {
      url: o.url,
      statementTimeoutMs: o.statementTimeoutMs ?? 5000,
      idleInTransactionTimeoutMs: o.idleInTransactionTimeoutMs ?? 10000,
      connectTimeoutMs: o.connectTimeoutMs ?? 5000,
      applicationName: o.applicationName ?? 'xinge-store',
    };
    this.#waitMs = this.#o.statementTimeoutMs + this.#o.connectTimeoutMs + 2000;
  }

  /** Rows of `sql` (objects, or arrays of column values with mode 'array'). */
  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): R[] {
    return this.#send({ sql, params, array: mode === 'array', name: this.#prepared.get(sql) }).rows as R[];
  }

  /** The first row, or undefined. */
  one<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): R | undefined {
    return this.query<R>(sql, params, mode)[0];
  }

  /** Rows affected. */
  run(sql: string, params: readonly unknown[] = []): number {
    return this.#send({ sql, params, array: false, name: this.#prepared.get(sql) }).count;
  }

  /**
   * Inside a transaction: sent with the next waiting statement (COMMIT at the latest), its
   * error thrown there. Outside one: sent now (nothing would carry it later).
   */
  defer(sql: string, params: readonly unknown[] = []): void {
    this.#push(sql, params);
    if (this.#depth === 0) this.flush();
  }

  /**
   * A query sent like a deferred statement (with the next one that waits, COMMIT at the
   * latest): its rows are there once that round trip succeeded, and never if it failed.
   */
  deferQuery(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): DeferredRows {
    if (this.#closed) throw new StoreError('store_closed', 'store closed');
    const sink: DeferredRows = { rows: undefined };
    this.#deferred.push({ sql, params, array: mode === 'array', name: this.#prepared.get(sql), sink });
    if (this.#depth === 0) this.flush();
    return sink;
  }

  /**
   * Like defer, for a row of a batchable write: consecutive rows of one `key` become one
   * statement built by `build` when it is sent (a 1,000-message batch: one INSERT, not 2,000).
   * Rows after a savepoint never join a statement from before it, so a rolled-back savepoint
   * drops exactly its own rows.
   */
  deferRow(key: string, row: unknown[], build: (rows: unknown[][]) => { sql: string; params: unknown[] }): void {
    if (this.#closed) throw new StoreError('store_closed', 'store closed');
    const last = this.#deferred[this.#deferred.length - 1];
    if (last?.batch !== undefined && last.batch.key === key && last.batch.rows.length < BATCH_ROWS && this.#depth > 0) {
      last.batch.rows.push(row);
      return;
    }
    this.#deferred.push({ sql: '', params: [], array: false, batch: { key, rows: [row], build } });
    if (this.#depth === 0 || this.#deferred.length >= 256) this.#roundTrip([]);
  }

  #push(sql: string, params: readonly unknown[]): void {
    if (this.#closed) throw new StoreError('store_closed', 'store closed');
    this.#deferred.push({ sql, params, array: false, name: this.#prepared.get(sql) });
    // A large batch (a 1,000-message intake) goes in parts: the wait bound stays meaningful.
    if (this.#deferred.length >= 256) this.#roundTrip([]);
  }

  /**
   * A transaction, or a savepoint inside one. BEGIN and SAVEPOINT go with the first
   * statement that waits; COMMIT waits (its answer is the durability the caller reports).
   * PostgreSQL aborts a transaction on any statement error, so a unit that catches a
   * statement's error and carries on fails at its next statement: store methods avoid
   * expected errors (ON CONFLICT) rather than catch them.
   */
  transaction<T>(fn: () => T, opts: { oneMessage?: boolean } = {}): T {
    const nested = this.#depth > 0;
    // One message: the worker sends the transaction's statements in one query string (one
    // round trip to PostgreSQL, not one per statement): for a verification code's few
    // statements, where each round trip on a busy host also waits for a core.
    const oneMessage = !nested && opts.oneMessage === true;
    if (oneMessage) this.#oneMessage = true;
    let result: T;
    try {
      result = this.#body(fn);
    } catch (err) {
      this.#oneMessage = false;
      throw err;
    }
    if (nested) {
      this.defer(`RELEASE xinge_sp${this.#depth}`);
      return result;
    }
    let committed: string | undefined;
    try {
      committed = this.#send({ sql: 'COMMIT', params: [], array: false }).command;
    } catch (err) {
      this.#oneMessage = false;
      // A deferred statement failed before COMMIT ran: the transaction is still open, aborted.
      try {
        this.run('ROLLBACK');
      } catch {
        /* the connection is gone: PostgreSQL rolled back */
      }
      throw err;
    } finally {
      this.#oneMessage = false;
    }
    // COMMIT of a transaction an earlier (caught) error aborted answers ROLLBACK, not an error.
    if (committed === 'ROLLBACK') throw new StoreError('store_failed', 'transaction rolled back: a statement in it failed earlier');
    return result;
  }

  /**
   * A transaction whose COMMIT (with the writes deferred until then) is sent without waiting:
   * the promise settles when PostgreSQL answers it, and the main thread goes on meanwhile. fn
   * itself runs now (its reads wait as usual). A statement sent on this client before the
   * answer runs after the COMMIT, on the same connection. Nested in a transaction: a
   * savepoint, as `transaction`.
   */
  transactionAsync<T>(fn: () => T): Promise<T> {
    if (this.#depth > 0) {
      try {
        return Promise.resolve(this.transaction(fn));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    let result: T;
    try {
      result = this.#body(fn);
    } catch (err) {
      return Promise.reject(err);
    }
    let posted: { id: number; deferredCount: number; size: number; sinks: Array<[number, DeferredRows]> };
    try {
      posted = this.#post([{ sql: 'COMMIT', params: [], array: false }], true);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#dropWorker(), this.#waitMs + posted.size * 5);
      timer.unref();
      this.#async.set(posted.id, {
        deferredCount: posted.deferredCount,
        sinks: posted.sinks,
        resolve: (results) => {
          if (results[results.length - 1]?.command === 'ROLLBACK') reject(new StoreError('store_failed', 'transaction rolled back: a statement in it failed earlier'));
          else resolve(result);
        },
        reject,
        timer,
      });
      this.#port?.ref();
    });
  }

  /** BEGIN (or a savepoint), fn, and on its error the rollback; COMMIT or RELEASE is the caller's. */
  #body<T>(fn: () => T): T {
    const nested = this.#depth > 0;
    const sp = `xinge_sp${this.#depth}`;
    const mark = this.#deferred.length;
    const waitsBefore = this.waits;
    this.#push(nested ? `SAVEPOINT ${sp}` : 'BEGIN', []);
    this.#depth++;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.#depth--;
      if (this.waits === waitsBefore) {
        // Nothing of it reached PostgreSQL: forget it.
        this.#deferred.length = mark;
        throw err;
      }
      this.#deferred = [];
      try {
        if (nested) {
          this.run(`ROLLBACK TO ${sp}`);
          this.defer(`RELEASE ${sp}`);
        } else {
          this.run('ROLLBACK');
        }
      } catch {
        /* the connection is gone: PostgreSQL rolled back all of it */
      }
      throw err;
    }
    this.#depth--;
    return result;
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  /** Send what is deferred and wait for it. */
  flush(): void {
    if (this.#deferred.length > 0) this.#roundTrip([]);
  }

  close(): void {
    if (this.#closed) return;
    // Commits still out are answered first (a drain closes the store after its last commit).
    if (this.#async.size > 0 && this.#worker !== undefined) {
      try {
        this.#roundTrip([]);
      } catch {
        /* the worker is gone: #dropWorker rejected them */
      }
    }
    this.#closed = true;
    this.#deferred = [];
    const port = this.#port;
    const signal = this.#signal;
    if (port !== undefined && signal !== undefined) {
      const seen = Atomics.load(signal, 0);
      port.postMessage({ id: 0, close: true });
      Atomics.wait(signal, 0, seen, 2000);
      receiveMessageOnPort(port);
      port.close();
    }
    void this.#worker?.terminate();
    this.#worker = undefined;
    this.#port = undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #send(op: Op): { rows: unknown[]; count: number; command?: string } {
    const results = this.#roundTrip([op]);
    return results[results.length - 1]!;
  }

  #roundTrip(ops: Op[]): Array<{ rows: unknown[]; count: number; command?: string }> {
    const { id, deferredCount, size, sinks } = this.#post(ops, false);
    const { port, signal } = this.#ensureWorker();
    this.waits++;
    const deadline = performance.now() + this.#waitMs + size * 5;
    for (;;) {
      const seen = Atomics.load(signal, 0);
      const msg = receiveMessageOnPort(port);
      if (msg !== undefined) {
        const a = msg.message as Answer;
        if (a.id !== id) {
          this.#settleAsync(a);
          continue;
        }
        return this.#results(a, deferredCount, sinks);
      }
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(signal, 0, seen, left) === 'timed-out') {
        this.#dropWorker();
        throw new StoreError('store_unavailable', `PostgreSQL did not answer within ${this.#waitMs} ms`);
      }
    }
  }

  /** Sends what is deferred plus `ops` as one message; returns its id. */
  #post(ops: Op[], rollbackOnError: boolean): { id: number; deferredCount: number; size: number; sinks: Array<[number, DeferredRows]> } {
    if (this.#closed) throw new StoreError('store_closed', 'store closed');
    const sinks: Array<[number, DeferredRows]> = [];
    const batch = (this.#deferred.length > 0 ? [...this.#deferred, ...ops] : ops).map((op, i) => {
      if (op.sink !== undefined) {
        sinks.push([i, op.sink]);
        return { sql: op.sql, params: op.params, array: op.array, name: op.name };
      }
      if (op.batch === undefined) return op;
      const { sql, params } = op.batch.build(op.batch.rows);
      return { sql, params, array: false, name: this.#prepared.get(sql) };
    });
    const deferredCount = this.#deferred.length;
    this.#deferred = [];
    const { port } = this.#ensureWorker();
    const id = this.#nextId++;
    port.postMessage(this.#oneMessage ? { id, ops: batch, rollbackOnError, oneQuery: true } : { id, ops: batch, rollbackOnError });
    this.statements += batch.length;
    return { id, deferredCount, size: batch.length, sinks };
  }

  #results(a: Answer, deferredCount: number, sinks: Array<[number, DeferredRows]>): Array<{ rows: unknown[]; count: number; command?: string }> {
    if (a.error !== undefined) {
      const where = a.error.index < deferredCount ? ' (deferred statement)' : '';
      throw new StoreError(pgErrorCode(a.error.code), `PostgreSQL: ${a.error.code ?? 'connection'}: ${redact(a.error.message)}${where}`, a.error.code);
    }
    for (const res of a.results) for (const row of res.rows) fixBuffers(row);
    for (const [i, sink] of sinks) sink.rows = a.results[i]!.rows;
    return a.results.slice(deferredCount);
  }

  #settleAsync(a: Answer): void {
    const trip = this.#async.get(a.id);
    if (trip === undefined) return;
    this.#async.delete(a.id);
    clearTimeout(trip.timer);
    if (this.#async.size === 0) this.#port?.unref();
    try {
      trip.resolve(this.#results(a, trip.deferredCount, trip.sinks));
    } catch (err) {
      trip.reject(err);
    }
  }

  /** Answers of asynchronous trips that came while nobody waited. */
  #onMessage = (a: Answer): void => this.#settleAsync(a);

  #ensureWorker(): { port: MessagePort; signal: Int32Array } {
    if (this.#worker !== undefined && this.#port !== undefined && this.#signal !== undefined) return { port: this.#port, signal: this.#signal };
    const { port1, port2 } = new MessageChannel();
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const driver = createRequire(import.meta.url).resolve('pg');
    const o = this.#o;
    this.#worker = new Worker(PG_WORKER_SOURCE, {
      eval: true,
      name: 'xinge-pg-store',
      workerData: {
        port: port2, signal, driver, url: o.url, statementTimeoutMs: o.statementTimeoutMs,
        idleTimeoutMs: o.idleInTransactionTimeoutMs, connectTimeoutMs: o.connectTimeoutMs, applicationName: o.applicationName,
      },
      transferList: [port2],
    });
    this.#worker.on('error', () => this.#dropWorker());
    this.#worker.unref();
    port1.on('message', this.#onMessage);
    // Referenced only while an asynchronous trip is out (its promise must settle).
    port1.unref();
    this.#port = port1;
    this.#signal = signal;
    return { port: port1, signal };
  }

  #dropWorker(): void {
    const trips = [...this.#async.values()];
    this.#async.clear();
    for (const trip of trips) {
      clearTimeout(trip.timer);
      trip.reject(new StoreError('store_unavailable', 'PostgreSQL connection dropped while a commit was out: its outcome is unknown'));
    }
    void this.#worker?.terminate();
    this.#port?.close();
    this.#worker = undefined;
    this.#port = undefined;
    this.#signal = undefined;
  }
}

/** Structured clone turns a Buffer into a Uint8Array: bytea columns come back as Buffers. */
function fixBuffers(row: unknown): void {
  if (row === null || typeof row !== 'object') return;
  const r = row as Record<string, unknown>;
  for (const k in r) {
    const v = r[k];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) r[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
}

/**
 * What a caller can do about a PostgreSQL error. Unavailable (answer 503, try again): no
 * SQLSTATE (the connection), class 08 (connection), 57 (operator intervention: a shutdown, a
 * crash of another backend 57P02, "the database system is starting up" 57P03 while it
 * recovers, a canceled statement), 53 (insufficient resources: too many connections, disk
 * full), 58 (system error: I/O), and 25006 (a read-only transaction: a standby not yet
 * promoted after a failover). These pass when the database does; a 500 would say the request
 * itself was wrong.
 */
function pgErrorCode(code: string | undefined): 'store_conflict' | 'store_unavailable' | 'store_failed' {
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57|53|58)/.test(code) || code === '25006') return 'store_unavailable';
  if (code === '23505' || code === '40001' || code === '40P01') return 'store_conflict';
  return 'store_failed';
}

function redact(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
