/**
 * The requests a session has sent and not yet had answered, with their deadlines: one timer
 * for all of them (every request has the same timeout, so insertion order is deadline order).
 *
 * A deadline is only evidence that the peer is slow if the daemon was listening meanwhile. When
 * the timer runs late (the event loop was stalled by a long synchronous step, GC, or the host
 * not scheduling the process), the answers may be sitting unread in the socket: a request past
 * its deadline at such a sweep gets a grace as long as the stall (at most one timeout), so the
 * loop reads what arrived before the timeout is declared. Without it, one stall longer than the
 * response timeout turns every in-flight request on every bind into a timeout, marks healthy
 * binds suspect, and sends probes and resubmits to a bind that is really silent.
 */
import type { MonotonicClock } from '../../domain/clock.js';

/** A timer this much late (ms) means the loop was stalled, not ordinary timer jitter. */
export const STALL_MS = 10;

export interface PendingEntry {
  seq: number;
  /** clock() + the timeout, set by add(). */
  deadline: number;
  /** 0, or when a request found past its deadline after a stall finally times out. */
  graceUntil: number;
}

export interface PendingRequestsOptions<P extends PendingEntry> {
  clock: MonotonicClock;
  timeoutMs: number;
  /** A request timed out (already removed). Return false to stop the sweep (the session closed). */
  onExpired: (p: P) => boolean;
}

export class PendingRequests<P extends PendingEntry> {
  readonly #byseq = new Map<number, P>();
  readonly #opts: PendingRequestsOptions<P>;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer is due (clock time). */
  #due = 0;

  constructor(opts: PendingRequestsOptions<P>) {
    this.#opts = opts;
  }

  has(seq: number): boolean {
    return this.#byseq.has(seq);
  }
  get(seq: number): P | undefined {
    return this.#byseq.get(seq);
  }
  delete(seq: number): void {
    this.#byseq.delete(seq);
  }

  /** Track a request: its deadline (whatever it held) becomes now + the timeout. */
  add(p: P): void {
    p.deadline = this.#opts.clock() + this.#opts.timeoutMs;
    p.graceUntil = 0;
    this.#byseq.set(p.seq, p);
    // Every earlier entry is due no later than this one (a grace ends within one timeout).
    if (this.#timer === null) this.#arm(p.deadline);
  }

  /**
   * The oldest request is past its deadline (in grace, or its timer has not run yet): the
   * session must not take new requests on this bind meanwhile.
   */
  overdue(): boolean {
    const first = this.#byseq.values().next();
    return !first.done && first.value.deadline <= this.#opts.clock();
  }

  /** Stop the timer and hand back every request still pending, oldest first. */
  close(): P[] {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const all = [...this.#byseq.values()];
    this.#byseq.clear();
    return all;
  }

  #arm(due: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(this.#sweep, Math.max(1, due - this.#opts.clock()));
  }

  readonly #sweep = (): void => {
    this.#timer = null;
    const now = this.#opts.clock();
    const lateBy = now - this.#due;
    const grace = lateBy >= STALL_MS ? now + Math.min(lateBy, this.#opts.timeoutMs) : 0;
    let next = Infinity;
    for (const p of this.#byseq.values()) {
      if (p.deadline > now) {
        next = Math.min(next, p.deadline);
        break;
      }
      if (p.graceUntil === 0 && grace > 0) p.graceUntil = grace;
      if (p.graceUntil > now) {
        next = Math.min(next, p.graceUntil);
        continue;
      }
      this.#byseq.delete(p.seq);
      if (!this.#opts.onExpired(p)) return;
    }
    // onExpired may have added requests (and armed for them): re-arm for the earliest of all.
    if (next < Infinity) this.#arm(this.#timer === null ? next : Math.min(next, this.#due));
  };
}
