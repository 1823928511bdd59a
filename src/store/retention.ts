/**
 * Retention (SPEC 13, store.retention_days): final messages older than the window go, a
 * bounded slice per commit unit, the next slice in the next turn. One statement over a
 * day's messages held the event loop for seconds (9 µs a message), and every verification
 * code behind it. Idempotency keys (7 days) and the caps' send log (8 days) go with it.
 */
import type { Logger } from 'pino';
import type { Store } from './index.js';

/** Messages one step deletes (~5 ms of the commit it joins). */
export const PURGE_STEP = 500;
const DAY = 86400000;

export interface RetentionDeps {
  store: Store;
  retentionDays: () => number;
  logger: Logger;
  now: () => number;
  /** No new steps once the daemon drains. */
  stopping: () => boolean;
}

export class RetentionPurge {
  readonly #d: RetentionDeps;
  #running = false;

  constructor(deps: RetentionDeps) {
    this.#d = deps;
  }

  /** Start a purge unless one is under way; it logs its total when done. */
  run(): void {
    const d = this.#d;
    const t = d.now();
    d.store.aux.purgeIdempotency(t - 7 * DAY);
    d.store.aux.purgeSendLog(t - 8 * DAY);
    if (this.#running) return;
    this.#running = true;
    const before = t - d.retentionDays() * DAY;
    let total = 0;
    const step = (): void => {
      d.store.commit.run(() => d.store.messages.purgeFinal(before, PURGE_STEP)).then(
        (n) => {
          total += n;
          if (n >= PURGE_STEP && !d.stopping()) {
            setImmediate(step);
            return;
          }
          this.#running = false;
          if (total > 0) d.logger.info({ messages: total }, 'retention purge');
        },
        (err: unknown) => {
          this.#running = false;
          if (!d.stopping()) d.logger.error({ err }, 'retention purge failed');
        },
      );
    };
    step();
  }
}
