/**
 * Long maintenance work (retention, receipt timeouts, moving a backlog) as a walk of bounded
 * steps: each step is one commit unit, so what it reads and what it writes are one
 * transaction, and the next step waits for the next turn of the event loop, so intake and
 * verification codes are served in between. One statement over a large table held the loop
 * for seconds.
 */
import type { GroupCommit } from './group-commit.js';

export interface StepWalk<T> {
  /** One step, run inside a commit unit. */
  step: () => T;
  /** After a committed step: is there more to do? */
  more: (result: T) => boolean;
  /** Once the daemon drains, no step starts. */
  stopping: () => boolean;
  /** The walk ended: done, stopped, or failed with `err`. */
  done: (err?: unknown) => void;
}

export function walkInSteps<T>(commit: GroupCommit, walk: StepWalk<T>): void {
  const next = (): void => {
    commit.run(walk.step).then(
      (r) => {
        if (walk.more(r) && !walk.stopping()) setImmediate(next);
        else walk.done();
      },
      (err: unknown) => walk.done(err),
    );
  };
  next();
}
