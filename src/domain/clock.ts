/**
 * Clocks. Two kinds of time, kept apart on purpose:
 * - wall time (Date.now): what goes into the store and on the wire (created_at, an absolute
 *   validity_period), and what tests fake to move a message's life along;
 * - monotonic time: what measures intervals (token-bucket refill, response timeouts,
 *   backoff, "down for N ms"). An NTP step or an operator's `date -s` moves wall time
 *   backwards or forwards; a rate limiter reading it would stop refilling for the size of a
 *   backward step, and a response deadline would fire early or hours late.
 *
 * The monotonic clock is injected (the MonotonicClock type below) so that tests drive
 * time; production passes `monotonicNow` (performance.now, which never goes back).
 */
import { performance } from 'node:perf_hooks';

/** Milliseconds from an arbitrary origin; never decreases. */
export type MonotonicClock = () => number;

/** The process's monotonic clock (ms, sub-millisecond resolution). */
export const monotonicNow: MonotonicClock = () => performance.now();

/**
 * Guard for a clock that is supposed to be monotonic but is not (a wall clock passed by
 * mistake, a test clock stepped back): readings never go below the highest seen so far,
 * so an interval measured with it is never negative and a step back only pauses it.
 */
export function nonDecreasing(clock: () => number): MonotonicClock {
  let high = Number.NEGATIVE_INFINITY;
  return () => {
    const t = clock();
    if (t > high) high = t;
    return high;
  };
}
