/**
 * Caller-ID registrations in the store (SPEC 13: they live in the same store as the rest).
 * The service speaks this interface; the SQLite implementation is in
 * src/store/sqlite/callerid-store.ts.
 */
import type { CardStatus } from './provider.js';

/**
 * A registration's status: the provider's card status, or one of ours:
 * - submitting: stored, the provider has not yet accepted the create;
 * - refused: the provider refused a create that had been deferred (its reason is kept);
 * - revoked: deleted through the API.
 */
export type RegistrationStatus = CardStatus | 'submitting' | 'refused' | 'revoked';
export const FINAL_STATUSES: readonly RegistrationStatus[] = ['rejected', 'expired', 'refused', 'revoked'];

export type PendingOp = 'create' | 'update' | 'delete';

export interface Registration {
  id: string;
  client: string;
  cardId: string | null;
  status: RegistrationStatus;
  reason: string | null;
  numbers: string[];
  displayName: string;
  industry: string;
  licenseNo: string;
  contact: string;
  logo: Buffer;
  effectiveAt: number | null;
  expiresAt: number | null;
  /** An operation the provider has not confirmed yet, retried by the poller. */
  pendingOp: PendingOp | null;
  /** X-Request-Id of the pending operation: the same on every retry, across restarts. */
  pendingRequestId: string | null;
  /** The card fields (JSON) of a pending create or update: what the provider gets on each retry. */
  pendingBody: string | null;
  /** Failed provider calls since the last success (the poller's backoff). */
  failures: number;
  lastError: string | null;
  /** When the poller looks at it next (epoch ms); null: nothing left to do. */
  nextCheckAt: number | null;
  /** The expires_at an expiry warning was sent for (one warning per expiry date). */
  expiryWarnedFor: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface CallerIdStore {
  insert(r: Registration): void;
  get(id: string): Registration | undefined;
  /** Replaces the row's mutable fields. */
  save(r: Registration): void;
  remove(id: string): void;
  /** Registrations listing this number (E.164), newest first; of one client unless `client` is undefined. */
  byNumber(number: string, client: string | undefined, limit: number): Registration[];
  /** Registrations of one client (or all), newest first, after the id `after` in that order. */
  list(client: string | undefined, limit: number, before?: string): Registration[];
  /** Registrations the poller should look at by `now`, earliest first. */
  due(now: number, limit: number): Registration[];
  /**
   * The poller's take: the registrations due by `now` that no other node holds, earliest
   * first, each claimed for this node until now + leaseMs. On a shared store (PostgreSQL) two
   * nodes never get one registration while its claim holds; a dead node's claim runs out and
   * the registration is taken again. One node (SQLite): the same rows as due().
   */
  claimDue(now: number, limit: number, leaseMs: number): Registration[];
  /** Claims one registration for this node (an API operation); false while another node's claim holds. */
  claim(id: string, now: number, leaseMs: number): boolean;
  /** Ends this node's claim (the operation is saved). */
  release(id: string): void;
  countByStatus(): Record<string, number>;
}
