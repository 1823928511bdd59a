/**
 * What a submit outcome means for a segment (pure): per carrier command_status classes
 * (errors.temporary / failover / permanent), the retry budget and the backoff.
 */
import { backoffDelayMs } from '../domain/backoff.js';

export type OutcomeClass = 'temporary' | 'failover' | 'permanent';

export interface ErrorClasses {
  temporary: readonly string[];
  failover: readonly string[];
  permanent: readonly string[];
}

/**
 * Failover wins over temporary when a status is in both (ESME_RSYSERR in the example:
 * temporary on the same carrier first, then failover "after retries").
 */
export function classifyStatus(name: string, classes: ErrorClasses, attempts: number, failoverAfter = 2): OutcomeClass {
  const inTemp = classes.temporary.includes(name);
  const inFail = classes.failover.includes(name);
  if (inTemp && inFail) return attempts + 1 >= failoverAfter ? 'failover' : 'temporary';
  if (inFail) return 'failover';
  if (inTemp) return 'temporary';
  if (classes.permanent.includes(name)) return 'permanent';
  // Unlisted statuses: the SMSC refused this message for a reason of its own. Kannel and
  // Jasmin treat these as final; so do we, with the code recorded.
  return 'permanent';
}

/** Backoff before retry number `attempts` of a message: the daemon's one backoff (domain/backoff.ts). */
export function retryDelayMs(attempts: number, initialMs: number, maxMs: number, rng: () => number = Math.random): number {
  return backoffDelayMs(attempts, { initialMs, maxMs }, rng);
}
