/**
 * Receipts that never come (SPEC 7, receipt_timeout_s): segments submitted longer ago than
 * their carrier's timeout end `unknown`. Each step walks a bounded slice of a carrier's
 * submitted segments inside one commit unit (read, end and cursor move in one transaction,
 * so a receipt committed just before wins), and the next step follows until the walk
 * reaches the cutoff: a carrier that stops sending receipts at full rate is caught up with,
 * without one long stall of the event loop.
 */
import type { Logger } from 'pino';
import type { CarrierConfig } from '../config/schema.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { MessageStore } from '../store/types.js';
import { walkInSteps } from '../store/step-walk.js';
import type { ResultsWriter } from './writer.js';

/** Segments one step walks (well under a millisecond of the commit it joins). */
export const RECEIPT_SWEEP_SCAN = 500;

export interface ReceiptTimeoutsDeps {
  messages: MessageStore;
  commit: GroupCommit;
  results: ResultsWriter;
  carriers: () => Iterable<CarrierConfig>;
  logger: Logger;
  now: () => number;
  /** No new steps once the daemon drains. */
  stopping: () => boolean;
}

export class ReceiptTimeouts {
  readonly #d: ReceiptTimeoutsDeps;
  /**
   * Carriers with a walk under way (one at a time each), and the later cutoff a sweep asked
   * for meanwhile: the walk goes on to it when it ends, instead of that sweep being lost.
   */
  readonly #walking = new Map<string, number | undefined>();

  constructor(deps: ReceiptTimeoutsDeps) {
    this.#d = deps;
  }

  /** Walk every carrier that asks for receipts up to now minus its timeout. */
  sweep(): void {
    for (const c of this.#d.carriers()) {
      if (c.registered_delivery === 'none') continue;
      const before = this.#d.now() - c.receipt_timeout_s * 1000;
      if (this.#walking.has(c.id)) {
        const asked = this.#walking.get(c.id);
        if (asked === undefined || before > asked) this.#walking.set(c.id, before);
        continue;
      }
      this.#walking.set(c.id, undefined);
      this.#walk(c.id, before);
    }
  }

  #walk(carrierId: string, before: number): void {
    const d = this.#d;
    walkInSteps(d.commit, {
      step: () => {
        const t = d.now();
        const { stale, more } = d.messages.takeReceiptTimeouts(carrierId, before, RECEIPT_SWEEP_SCAN);
        for (const s of stale) d.results.segmentReceipt(s, 'unknown', t, { stat: 'TIMEOUT' });
        return more;
      },
      more: (more) => more,
      stopping: d.stopping,
      done: (err) => {
        const asked = this.#walking.get(carrierId);
        if (err !== undefined) d.logger.error({ err, carrier: carrierId }, 'receipt timeout sweep failed');
        if (err === undefined && asked !== undefined && asked > before && !d.stopping()) {
          this.#walking.set(carrierId, undefined);
          this.#walk(carrierId, asked);
        } else {
          this.#walking.delete(carrierId);
        }
      },
    });
  }
}
