/**
 * PgSyncClient: the store's PostgreSQL connections, driven synchronously from the main thread.
 *
 * Why synchronous: the store interface (src/store/types.ts) is synchronous because SQLite
 * is, and intake, dispatcher and results group their writes in closures run inside one
 * transaction (GroupCommit). The PostgreSQL backend keeps that contract: node-postgres runs
 * on a worker thread that owns the connection, and the main thread posts it statements and
 * blocks on an Atomics.wait until the answer is there (receiveMessageOnPort). A statement
 * costs the main thread one loopback round trip; that bounds a node's throughput (docs/cluster.md),
 * and is the price of one store interface for both backends.
 *
 * Statements that return nothing the caller needs may be *deferred*: they go with the next
 * waiting statement in one message, and the worker runs them in order. A deferred statement's
 * error is thrown by that next wait (in a transaction PostgreSQL aborts the transaction on the
 * first error anyway, so COMMIT fails and nothing half-done is kept).
 *
 * A wait that outlasts `waitTimeoutMs` (server gone silent, beyond statement_timeout) ends the
 * worker: its connection closes, PostgreSQL rolls back what was open, and the next statement
 * starts a new worker and connection.
 *
 * Lanes: the client has a connection per lane (`main`, opened first, and any other named in
 * `onLane`). Every statement goes to the current lane's connection; `onLane(lane, fn)` makes
 * that lane current while fn runs (a group commit's units go to a connection of their own, so
 * that their COMMIT, sent with transactionAsync, never makes a verification code's statements
 * wait behind it on the main connection).
 */
export interface PgSyncClientOptions {
  url: string;
  /** Server-side statement_timeout, ms. Default 5000. */
  statementTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout, ms. Default 10000. */
  idleInTransactionTimeoutMs?: number;
  /** Opening a connection, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

export type RowMode = 'object' | 'array';

import { PgConnection, type DeferredRows } from './pg-connection.js';
import { StoreError } from './errors.js';

export class PgSyncClient {
  readonly #o: PgSyncClientOptions;
  readonly #prepared = new Map<string, string>();
  readonly #lanes = new Map<string, PgConnection>();
  #current: PgConnection;
  #closed = false;

  constructor(o: PgSyncClientOptions) {
    this.#o = o;
    this.#current = new PgConnection(o, this.#prepared);
    this.#lanes.set('main', this.#current);
  }

  /** fn with every statement on `lane`'s connection (opened at its first statement). */
  onLane<T>(lane: string, fn: () => T): T {
    let c = this.#lanes.get(lane);
    if (c === undefined) {
      if (this.#closed) throw new StoreError('store_closed', 'store closed');
      c = new PgConnection({ ...this.#o, applicationName: `${this.#o.applicationName ?? 'xinge-store'} ${lane}` }, this.#prepared);
      this.#lanes.set(lane, c);
    }
    const before = this.#current;
    this.#current = c;
    try {
      return fn();
    } finally {
      this.#current = before;
    }
  }

  /** The connection statements go to now. */
  get connection(): PgConnection {
    return this.#current;
  }

  /**
   * Marks `sql` to run as a prepared statement (parsed and planned once per connection): for
   * the statements run once or more per message, whose planning costs PostgreSQL more than
   * their execution. Not for statements whose best plan depends on their parameters (a
   * LIMIT $n, a range): a generic plan may be much worse there. Returns `sql`.
   */
  prepared(sql: string): string {
    if (!this.#prepared.has(sql)) this.#prepared.set(sql, `xinge_${this.#prepared.size}`);
    return sql;
  }

  /** Rows of `sql` (objects, or arrays of column values with mode 'array'). */
  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): R[] {
    return this.#current.query<R>(sql, params, mode);
  }

  /** The first row, or undefined. */
  one<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): R | undefined {
    return this.#current.one<R>(sql, params, mode);
  }

  /** Rows affected. */
  run(sql: string, params: readonly unknown[] = []): number {
    return this.#current.run(sql, params);
  }

  /**
   * Inside a transaction: sent with the next waiting statement (COMMIT at the latest), its
   * error thrown there. Outside one: sent now (nothing would carry it later).
   */
  defer(sql: string, params: readonly unknown[] = []): void {
    this.#current.defer(sql, params);
  }

  /**
   * A query sent like a deferred statement (with the next one that waits, COMMIT at the
   * latest): its rows are there once that round trip succeeded, and never if it failed.
   */
  deferQuery(sql: string, params: readonly unknown[] = [], mode: RowMode = 'object'): DeferredRows {
    return this.#current.deferQuery(sql, params, mode);
  }

  /**
   * Like defer, for a row of a batchable write: consecutive rows of one `key` become one
   * statement built by `build` when it is sent (a 1,000-message batch: one INSERT, not 2,000).
   * Rows after a savepoint never join a statement from before it, so a rolled-back savepoint
   * drops exactly its own rows.
   */
  deferRow(key: string, row: unknown[], build: (rows: unknown[][]) => { sql: string; params: unknown[] }): void {
    this.#current.deferRow(key, row, build);
  }

  /**
   * A transaction, or a savepoint inside one. BEGIN and SAVEPOINT go with the first
   * statement that waits; COMMIT waits (its answer is the durability the caller reports).
   * PostgreSQL aborts a transaction on any statement error, so a unit that catches a
   * statement's error and carries on fails at its next statement: store methods avoid
   * expected errors (ON CONFLICT) rather than catch them.
   */
  /** `oneMessage`: the transaction's statements go to PostgreSQL as one query string (PgConnection.transaction). */
  transaction<T>(fn: () => T, opts?: { oneMessage?: boolean }): T {
    return this.#current.transaction(fn, opts);
  }

  /**
   * A transaction whose COMMIT (with the writes deferred until then) is sent without waiting:
   * the promise settles when PostgreSQL answers it. fn runs now (its reads wait as usual).
   */
  transactionAsync<T>(fn: () => T): Promise<T> {
    return this.#current.transactionAsync(fn);
  }

  get inTransaction(): boolean {
    return this.#current.inTransaction;
  }

  /** Send what is deferred and wait for it. */
  flush(): void {
    this.#current.flush();
  }

  /** Statements sent and waits done, all lanes (metrics; round trips are what bound a node). */
  get statements(): number {
    let n = 0;
    for (const c of this.#lanes.values()) n += c.statements;
    return n;
  }

  get waits(): number {
    let n = 0;
    for (const c of this.#lanes.values()) n += c.waits;
    return n;
  }

  /** Closes every lane (commits still out are answered first). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#lanes.values()) c.close();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
