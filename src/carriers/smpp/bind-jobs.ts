/**
 * One submit inside the BindPool, from submit() to its outcome across the binds it is tried
 * on, and the outcomes the pool gives back when a job cannot go out (again).
 */
import type { OutboundSegment, SubmitOutcome } from '../connector.js';
import type { SubmitSmFields } from './codec.js';
import type { SmppSession } from './session.js';

export interface Job {
  seg: OutboundSegment;
  fields: SubmitSmFields;
  resolve: (o: SubmitOutcome) => void;
  settled: boolean;
  /** Monotonic time submit() was called (the validity left shrinks from there). */
  handedAt: number;
  sends: number;
  /** Sessions it timed out or got a wrong response on: it is never sent there again (null until one). */
  avoid: Set<SmppSession> | null;
  /** While waiting for another bind after a timeout: gives up (timeout) when it fires. */
  hold: NodeJS.Timeout | null;
  /** Why it is waiting to go out again: what the caller hears if it cannot. */
  failed: 'timeout' | 'dropped' | null;
}

export const DISCONNECTED: SubmitOutcome = Object.freeze({ kind: 'disconnected' });
export const TIMEOUT: SubmitOutcome = Object.freeze({ kind: 'timeout' });

export function newJob(seg: OutboundSegment, fields: SubmitSmFields, resolve: (o: SubmitOutcome) => void, handedAt: number): Job {
  return { seg, fields, resolve, settled: false, handedAt, sends: 0, avoid: null, hold: null, failed: null };
}

/** Gives the caller its outcome once; later calls do nothing. */
export function settleJob(job: Job, o: SubmitOutcome): void {
  if (job.settled) return;
  job.settled = true;
  if (job.hold) clearTimeout(job.hold);
  job.hold = null;
  job.resolve(o);
}

/** The outcome of a job that could not go out again: a timeout, or a first drop (not charged). */
export function gaveUp(job: Job): SubmitOutcome {
  return job.failed === 'dropped' ? { kind: 'disconnected', inFlight: true, countsAsAttempt: false } : TIMEOUT;
}
