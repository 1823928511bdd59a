/**
 * Backpressure (SPEC 5): intake for a lane answers 503 once the lane is over its depth
 * limit. The bulk lanes share queue.max_depth; the OTP lane has queue.otp_max_depth, so a
 * bulk backlog never refuses an OTP. Depths are recounted from the store periodically and
 * raised on every accept in between.
 */
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
      if (this.#depth.otp + adding > otpMaxDepth) throw new ApiError('queue_full', 'OTP lane is over its depth limit', { retryAfter: 1 });
      return;
    }
    const bulk = this.#depth.notification + this.#depth.collection + this.#depth.marketing;
    if (bulk + adding > maxDepth) throw new ApiError('queue_full', `lane ${category} is over its depth limit`, { retryAfter: 5 });
  }

  added(category: Category, n: number): void {
    this.#depth[category] += n;
  }
}
