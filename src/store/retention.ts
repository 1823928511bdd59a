/**
 * Retention (SPEC 13, store.retention_days): final messages older than the window go, a
 * bounded slice per commit unit, the next slice in the next turn. One statement over a
 * day's messages held the event loop for seconds (9 µs a message), and every verification
 * code behind it. Replies (MO) are kept as long as messages, as the record of what was sent
 * and answered. Idempotency keys (7 days), the caps' send log and OTP records (8 days: the
 * per-day limits look back 24 h) and webhook events already delivered or given up (7 days)
 * go the same way; before, the last three were never deleted, and a single DELETE of the
 * first two read the whole table (seconds for a few million keys).
 */
import type { Logger } from 'pino';
import type { Store } from './index.js';
import { walkInSteps } from './step-walk.js';

/** Rows one step deletes (~5 ms of the commit it joins). */
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

  /** Start a purge unless one is under way; it logs its totals when done. */
  run(): void {
    const d = this.#d;
    if (this.#running) return;
    this.#running = true;
    const t = d.now();
    const messagesBefore = t - d.retentionDays() * DAY;
    const aux = d.store.aux;
    const walks: Array<{ name: string; step: () => number }> = [
      { name: 'messages', step: () => d.store.messages.purgeFinal(messagesBefore, PURGE_STEP) },
      { name: 'replies', step: () => aux.purgeMo(messagesBefore, PURGE_STEP) },
      { name: 'idempotency_keys', step: () => aux.purgeIdempotency(t - 7 * DAY, PURGE_STEP) },
      { name: 'send_log', step: () => aux.purgeSendLog(t - 8 * DAY, PURGE_STEP) },
      { name: 'otps', step: () => aux.purgeOtps(t - 8 * DAY, PURGE_STEP) },
      { name: 'webhook_events', step: () => aux.purgeOutbox(t - 7 * DAY, PURGE_STEP) },
    ];
    const totals: Record<string, number> = {};
    let i = 0;
    walkInSteps(d.store.commit, {
      // One walk after the other: the current one goes on while its steps come back full.
      step: () => {
        const walk = walks[i]!;
        const n = walk.step();
        totals[walk.name] = (totals[walk.name] ?? 0) + n;
        if (n < PURGE_STEP) i++;
        return i < walks.length;
      },
      more: (more) => more,
      stopping: d.stopping,
      done: (err) => {
        this.#running = false;
        if (err !== undefined) {
          if (!d.stopping()) d.logger.error({ err }, 'retention purge failed');
        } else if (Object.values(totals).some((n) => n > 0)) {
          d.logger.info(totals, 'retention purge');
        }
      },
    });
  }
}
