/**
 * Rate-limited warnings (issue 14.6): a peer that repeats a fault (a flood of receipts for
 * unknown ids, bad PDUs) gets one log line per event and key per interval, and the next line
 * after a quiet spell says how many were suppressed meanwhile. Counting stays exact in the
 * metrics; only the log is thinned. Time is injected.
 */
import type { Logger } from 'pino';

interface Slot {
  until: number;
  suppressed: number;
}

export class LogLimiter {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #slots = new Map<string, Slot>();

  constructor(logger: Logger, opts: { intervalMs?: number; now?: () => number } = {}) {
    this.#logger = logger;
    this.#intervalMs = opts.intervalMs ?? 10000;
    this.#now = opts.now ?? Date.now;
  }

  /** warn(fields, msg) at most once per interval per (msg, key); `key` is usually the carrier id. */
  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const id = `${msg}\u0000${key}`;
    const now = this.#now();
    const slot = this.#slots.get(id);
    if (slot !== undefined && now < slot.until) {
      slot.suppressed++;
      return;
    }
    const suppressed = slot?.suppressed ?? 0;
    this.#slots.set(id, { until: now + this.#intervalMs, suppressed: 0 });
    // Bounded: keys are carriers and a handful of messages; stale ones are dropped now and then.
    if (this.#slots.size > 1000) for (const [k, s] of this.#slots) if (s.until < now) this.#slots.delete(k);
    this.#logger.warn(suppressed > 0 ? { ...fields, suppressed, suppressed_for_s: this.#intervalMs / 1000 } : fields, msg);
  }

  /**
   * One line per key whose interval is over with repeats held back (a periodic job), or for
   * every key with any (`all`: at drain), so no suppressed count goes unreported.
   */
  flush(all = false): void {
    const now = this.#now();
    for (const [id, s] of this.#slots) {
      if (s.suppressed === 0 || (!all && now < s.until)) continue;
      const [msg, key] = id.split('\u0000') as [string, string];
      this.#logger.warn({ key, suppressed: s.suppressed }, `${msg} (suppressed repeats)`);
      s.suppressed = 0;
    }
  }
}
