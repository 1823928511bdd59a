/**
 * Group commit: work queued during one tick runs in a single transaction, so accepting
 * N messages costs one fsync, not N. Callers answer only after the returned promise
 * resolves, that is after the commit. A unit that throws is rejected alone and the others
 * commit; units run without a savepoint each (savepoints cost as much as the work on the
 * hot path), so a unit that can fail after it has written must wrap itself in
 * `transaction` (a savepoint when nested) — intake does.
 *
 * Urgent units (OTP intake) go in their own small transaction at the end of the current
 * turn, ahead of the tick's batch: behind a draining backlog that batch holds hundreds of
 * result writes, and a verification code must not wait for them.
 *
 * With `commitAsync` (PostgreSQL) the tick's COMMIT is not waited for: the main thread
 * goes on while PostgreSQL writes a 1,000-message batch, and the units are answered when
 * the COMMIT is. One tick is out at a time (the next one's units wait and join it), and a
 * tick takes at most `maxUnits`, so the reads inside units block the main thread for a
 * bounded time.
 */
export interface Transactor {
  transaction<T>(fn: () => T): T;
  /** True while a transaction is open on the store's connection (an urgent unit then waits for the turn's end). */
  readonly inTransaction?: boolean;
}

export interface GroupCommitOptions {
  /** Ms between ticks of the shared transaction; 0: the end of the turn. */
  intervalMs?: number;
  /** Resolves when what was committed so far is on disk (WalSync); callers are answered after it. */
  durable?: () => Promise<void>;
  /**
   * Urgent units commit at once, in the caller's turn, not at the end of it (PostgreSQL):
   * there, every callback that runs before the end of the turn (a batch's validation, a
   * dispatcher pass) blocks on its own round trips, and a verification code would wait for
   * all of them. `transaction` may commit before the commit is on disk (the code is sent at
   * once, as with SQLite's WAL fsync on its own thread); `durable` resolves once it is, and
   * the caller is answered after that.
   */
  urgentNow?: UrgentTransactor;
  /** Runs fn in a transaction whose COMMIT is answered later (see the top of the file). */
  commitAsync?: <T>(fn: () => T) => Promise<T>;
  /** With commitAsync: units per tick at most. Default 256. */
  maxUnits?: number;
}

export interface UrgentTransactor extends Transactor {
  durable: () => Promise<void>;
}

interface Unit {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onCommitted: (() => void) | undefined;
}

export class GroupCommit {
  readonly #tx: Transactor;
  readonly #intervalMs: number;
  #queue: Unit[] = [];
  #urgent: Unit[] = [];
  #scheduled = false;
  #urgentScheduled = false;
  #closed = false;
  /** Called after each committed batch with the number of units (metrics). */
  onCommit: ((units: number) => void) | undefined;
  /**
   * Called inside an urgent unit's own transaction (urgentNow), after the unit ran: what
   * should go with its COMMIT (the dispatcher's claim of the code, sent in the same round trip).
   */
  beforeUrgentCommit: (() => void) | undefined;

  readonly #durable: (() => Promise<void>) | undefined;
  readonly #urgentNow: UrgentTransactor | undefined;
  readonly #commitAsync: (<T>(fn: () => T) => Promise<T>) | undefined;
  readonly #maxUnits: number;
  #committing = false;
  #inFlight = false;

  constructor(tx: Transactor, opts: GroupCommitOptions = {}) {
    this.#tx = tx;
    this.#intervalMs = opts.intervalMs ?? 0;
    this.#durable = opts.durable;
    this.#urgentNow = opts.urgentNow;
    this.#commitAsync = opts.commitAsync;
    this.#maxUnits = opts.maxUnits ?? 256;
  }

  /**
   * `urgent`: commit at the end of this turn in a transaction of its own. `onCommitted`:
   * called once the unit's transaction has committed, before the fsync the promise waits
   * for: what the rest of the daemon may act on at once (the dispatcher sends a new OTP
   * while the disk confirms; a crash in between is the documented at-least-once case).
   */
  run<T>(fn: () => T, urgent = false, onCommitted?: () => void): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store closed'));
    return new Promise<T>((resolve, reject) => {
      const unit = { fn, resolve: resolve as (v: unknown) => void, reject, onCommitted };
      if (urgent) {
        // Not from inside a transaction (a unit, or a caller's own): that would nest.
        const now = this.#urgentNow;
        if (now !== undefined && !this.#committing && this.#tx.inTransaction !== true) {
          this.#commit([unit], now, now.durable, this.beforeUrgentCommit);
          return;
        }
        this.#urgent.push(unit);
        if (!this.#urgentScheduled) {
          this.#urgentScheduled = true;
          setImmediate(() => {
            this.#urgentScheduled = false;
            this.#commit(this.#takeUrgent());
          });
        }
        return;
      }
      this.#queue.push(unit);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const tick = () => {
      this.#scheduled = false;
      if (this.#commitAsync === undefined) this.flush();
      else this.#tickAsync(this.#commitAsync);
    };
    if (this.#intervalMs > 0) setTimeout(tick, this.#intervalMs);
    else setImmediate(tick);
  }

  #tickAsync(commitAsync: <T>(fn: () => T) => Promise<T>): void {
    // The tick out resumes the queue when it is answered.
    if (this.#inFlight || this.#closed) return;
    const units = this.#takeUrgent();
    units.push(...this.#queue.splice(0, Math.max(1, this.#maxUnits - units.length)));
    if (units.length === 0) return;
    const results: Array<{ ok: boolean; v: unknown }> = new Array(units.length);
    this.#inFlight = true;
    let committed: Promise<void>;
    this.#committing = true;
    try {
      committed = commitAsync(() => this.#runUnits(units, results));
    } finally {
      this.#committing = false;
    }
    committed
      .then(
        () => this.#committed(units, results, this.#durable),
        (err: unknown) => {
          for (const u of units) u.reject(err);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        if (this.#queue.length > 0 || this.#urgent.length > 0) this.#schedule();
      });
  }

  #runUnits(units: Unit[], results: Array<{ ok: boolean; v: unknown }>): void {
    for (let i = 0; i < units.length; i++) {
      const u = units[i]!;
      try {
        results[i] = { ok: true, v: u.fn() };
      } catch (err) {
        results[i] = { ok: false, v: err };
      }
    }
  }

  /** Run everything queued now (urgent units first), in one transaction (waited for, even with commitAsync). */
  flush(): void {
    const units = this.#takeUrgent();
    units.push(...this.#queue);
    this.#queue = [];
    this.#commit(units);
  }

  #takeUrgent(): Unit[] {
    const u = this.#urgent;
    this.#urgent = [];
    return u;
  }

  #commit(units: Unit[], tx: Transactor = this.#tx, durable = this.#durable, beforeCommit?: () => void): void {
    if (units.length === 0) return;
    const results: Array<{ ok: boolean; v: unknown }> = new Array(units.length);
    this.#committing = true;
    try {
      tx.transaction(() => {
        this.#runUnits(units, results);
        if (beforeCommit !== undefined && results.some((r) => r.ok)) beforeCommit();
      });
    } catch (err) {
      for (const u of units) u.reject(err);
      return;
    } finally {
      this.#committing = false;
    }
    this.#committed(units, results, durable);
  }

  #committed(units: Unit[], results: Array<{ ok: boolean; v: unknown }>, durable: (() => Promise<void>) | undefined): void {
    this.onCommit?.(units.length);
    for (let i = 0; i < units.length; i++) {
      const cb = units[i]!.onCommitted;
      if (cb === undefined || !results[i]!.ok) continue;
      try {
        cb();
      } catch {
        /* a hook's failure is not the unit's: it still gets its answer */
      }
    }
    const answer = () => {
      for (let i = 0; i < units.length; i++) {
        const r = results[i]!;
        if (r.ok) units[i]!.resolve(r.v);
        else units[i]!.reject(r.v);
      }
    };
    if (durable === undefined) {
      answer();
      return;
    }
    // Not durable, not answered: a unit whose commit did not reach the disk is refused.
    durable().then(answer, (err: unknown) => {
      for (const u of units) u.reject(err);
    });
  }

  /** Flush what is queued and refuse more. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
