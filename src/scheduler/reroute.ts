/**
 * Failover of a backlog (SPEC 4): while a carrier is paused or has no bound bind, its queued
 * segments move to the next carrier that takes them, a bounded slice per commit unit and the
 * next slice in the next turn, until its queue is empty or nothing more can move. The next
 * carrier takes the whole backlog at its own rate, where moving a fixed 1,000 per 2 s tick
 * capped it at 500 messages a second. Moved segments keep the carrier they left in `tried`.
 * A message moves whole, or is re-planned for a carrier that cuts its text differently
 * (FailoverPlanner); one that can go nowhere stays queued here.
 */
import type { Logger } from 'pino';
import type { Category } from '../domain/types.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { MessageStore } from '../store/types.js';
import { walkInSteps } from '../store/step-walk.js';
import type { MoveResult } from './failover-plan.js';

/** Segments one step moves (a few ms of the commit it joins). */
export const REROUTE_STEP = 500;

export interface QueueRerouteDeps {
  messages: MessageStore;
  commit: GroupCommit;
  /** Carriers for a number and category, other than `from` and available now, in preference order. */
  candidates: (to: string, category: Category, from: string) => string[];
  /** Move a message whole to the first candidate that can take it (FailoverPlanner.move). */
  move: (messageId: string, candidates: readonly string[], opts: { dueAt: number; tried: string[]; countAttempt: boolean }) => MoveResult;
  unavailable: (carrierId: string) => boolean;
  /** Some segments moved: the dispatcher has work. */
  moved: () => void;
  logger: Logger;
  now: () => number;
  stopping: () => boolean;
}

export class QueueReroute {
  readonly #d: QueueRerouteDeps;
  readonly #walking = new Set<string>();

  constructor(deps: QueueRerouteDeps) {
    this.#d = deps;
  }

  /** Start moving `fromId`'s queue unless a walk for it is under way. */
  run(fromId: string): void {
    if (this.#walking.has(fromId)) return;
    this.#walking.add(fromId);
    let total = 0;
    const d = this.#d;
    walkInSteps(d.commit, {
      step: () => {
        // Read in the unit: the carrier may have come back, or the rows been taken, meanwhile.
        if (!d.unavailable(fromId)) return { seen: 0, moved: 0 };
        const rows = d.messages.queuedOf(fromId, REROUTE_STEP);
        let moved = 0;
        const seen = new Set<string>();
        for (const r of rows) {
          if (seen.has(r.messageId)) continue;
          seen.add(r.messageId);
          const next = d.candidates(r.to, r.category, fromId);
          if (next.length === 0) continue;
          const res = d.move(r.messageId, next, { dueAt: d.now(), countAttempt: false, tried: [...new Set([...r.tried, fromId])] });
          if (res.kind !== 'stay') moved++;
        }
        return { seen: rows.length, moved };
      },
      // A full slice that moved something: there may be more. One that moved nothing is made
      // of segments no other carrier takes; the next tick tries again.
      more: ({ seen, moved }) => {
        total += moved;
        if (moved > 0) d.moved();
        return seen >= REROUTE_STEP && moved > 0;
      },
      stopping: d.stopping,
      done: (err) => {
        this.#walking.delete(fromId);
        if (total > 0) d.logger.warn({ from: fromId, moved: total }, 'carrier unavailable: queued segments moved to the next carrier');
        if (err !== undefined && !d.stopping()) d.logger.error({ err, carrier: fromId }, 'moving queued segments failed');
      },
    });
  }
}
