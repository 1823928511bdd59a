/**
 * Durability without blocking the event loop. SQLite runs with synchronous=NORMAL (a commit
 * writes its WAL frames but does not fsync them) and this fsyncs the WAL file on libuv's
 * thread pool; the group commit answers its callers only when that fsync is done. A commit
 * is therefore on disk before its 202 or deliver_sm_resp, as with synchronous=FULL, while the
 * main thread goes on parsing requests and PDUs during the ~0.5 ms the disk takes, and one
 * fsync covers every commit written before it started.
 *
 * The WAL file keeps its inode while the database is open (SQLite rewrites it in place after
 * a checkpoint and removes it only when the last connection closes), so one descriptor held
 * from open to close names the right file.
 */
import { closeSync, fsync, openSync } from 'node:fs';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WalSync {
  readonly #fd: number;
  /** Commits written since the running fsync started: they need the next one. */
  #next: Waiter[] = [];
  #running = false;
  #closed = false;
  /** fsyncs issued (tests, metrics). */
  syncs = 0;

  constructor(walPath: string) {
    // 'a+': created if SQLite has not yet (it then uses this same file); never written here.
    this.#fd = openSync(walPath, 'a+');
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('store closed'));
    return new Promise((resolve, reject) => {
      this.#next.push({ resolve, reject });
      if (!this.#running) this.#start();
    });
  }

  #start(): void {
    const batch = this.#next;
    this.#next = [];
    this.#running = true;
    this.syncs++;
    fsync(this.#fd, (err) => {
      this.#running = false;
      for (const w of batch) {
        if (err) w.reject(err);
        else w.resolve();
      }
      if (this.#closed) {
        this.#finishClose();
        return;
      }
      if (this.#next.length > 0) this.#start();
    });
  }

  /**
   * Stop: callers waiting for a sync not yet started are answered by `durable` (the store
   * ran a checkpoint, which syncs the WAL, before closing) or rejected; the descriptor is
   * closed once no fsync uses it.
   */
  close(durable: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiting = this.#next;
    this.#next = [];
    for (const w of waiting) {
      if (durable) w.resolve();
      else w.reject(new Error('store closed before the commit reached the disk'));
    }
    if (!this.#running) this.#finishClose();
  }

  #finishClose(): void {
    try {
      closeSync(this.#fd);
    } catch {
      /* already closed */
    }
  }
}
