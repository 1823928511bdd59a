/**
 * Backpressure (SPEC 5): intake for a lane answers 503 once the lane is over its depth
 * limit. The bulk lanes share queue.max_depth; the OTP lane has queue.otp_max_depth, so a
 * bulk backlog never refuses an OTP. Depths are recounted from the store periodically and
 * raised on every accept in between.
 */
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import { CATEGORIES, type Category } from '../domain/types.js';
import type { LaneGate } from './submit-service.js';

export class LaneDepths implements LaneGate {
  readonly #depth: Record<Category, number> = { otp: 0, notification: 0, collection: 0, marketing: 0 };
  readonly #limits: () => { maxDepth: number; otpMaxDepth: number };

  constructor(limits: () => { maxDepth: number; otpMaxDepth: number }) {
    this.#limits = limits;
  }

  set(depths: Record<Category, number>): void {
    for (const c of CATEGORIES) this.#depth[c] = depths[c];
  }

  get(): Readonly<Record<Category, number>> {
    return this.#depth;
  }

  check(category: Category, adding: number): void {
    const { maxDepth, otpMaxDepth } = this.#limits();
    if (category === 'otp') {
      if (this.#depth.otp + adding > otpMaxDepth) throw new ApiError('queue_full', `the OTP queue holds its limit of ${otpMaxDepth} messages (queue.otp_max_depth): retry in 1 s`, { retryAfter: 1 });
      return;
    }
    const bulk = this.#depth.notification + this.#depth.collection + this.#depth.marketing;
    if (bulk + adding > maxDepth) throw new ApiError('queue_full', `the bulk queues hold their limit of ${maxDepth} messages (queue.max_depth, shared by notification, collection and marketing): ${category} refused, retry in 5 s`, { retryAfter: 5 });
  }

  added(category: Category, n: number): void {
    this.#depth[category] += n;
  }
}

export interface DepthRecountDeps {
  count: () => Record<Category, number>;
  /** The same count off the event loop, or undefined where the store has no thread for it. */
  countInBackground: () => Promise<Record<Category, number>> | undefined;
  apply: (depths: Record<Category, number>) => void;
  logger: Logger;
  stopping: () => boolean;
}

/**
 * The periodic recount behind LaneDepths, on the store's thread: counting a large backlog on
 * the event loop stalled everything behind it (400 ms for a million queued segments, every
 * 2 s). One count at a time; a count that fails leaves the last depths in place.
 */
export class DepthRecount {
  readonly #d: DepthRecountDeps;
  #counting = false;

  constructor(deps: DepthRecountDeps) {
    this.#d = deps;
  }

  /** Count on the event loop (startup, maintenance run by hand, after a cancel). */
  inPlace(): void {
    this.#d.apply(this.#d.count());
  }

  /** Count on the store's thread, or in place where it has none. */
  inBackground(): void {
    if (this.#counting) return;
    const counting = this.#d.countInBackground();
    if (counting === undefined) {
      this.inPlace();
      return;
    }
    this.#counting = true;
    counting.then(
      (depths) => {
        this.#counting = false;
        if (!this.#d.stopping()) this.#d.apply(depths);
      },
      (err: unknown) => {
        this.#counting = false;
        if (!this.#d.stopping()) this.#d.logger.warn({ err: { message: (err as Error).message } }, 'queue depth count failed on the store thread');
      },
    );
  }
}
