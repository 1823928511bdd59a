/**
 * Caller-ID registrations (SPEC 10): the API's operations and the poller's refresh.
 *
 * A create or update is checked (validate.ts), then stored with its pending operation, its
 * X-Request-Id and the exact card fields before the provider is called: accepted means
 * durably stored. The provider is then called with the configured retries. Its answer
 * settles the registration; a 4xx (or 401/403) ends the operation and is the caller's error,
 * with the provider's reason; if it stays unavailable (429/5xx/timeouts after the retries, or
 * a long Retry-After) the operation stays pending and the poller retries it later with the
 * same X-Request-Id, so a create whose answer was lost still makes one card.
 *
 * The poller refreshes registrations that are not final. A status it observes change, and an
 * expiry within expiry_warning_days, are recorded as webhook events in the transaction that
 * records them: once each (a new expiry date warns again).
 */
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { maskDigitsIn } from '../observability/redact.js';
import type { CallerIdConfig } from './config.js';
import { ProviderError } from './errors.js';
import type { CallerIdEvents } from './events.js';
import type { CallerIdMetrics } from './metrics.js';
import type { CallerIdProvider, CardFields, ProviderCard } from './provider.js';
import { FINAL_STATUSES, type CallerIdStore, type PendingOp, type Registration } from './store.js';
import { checkCard, toFields } from './validate.js';
import { callerIdClaimLeaseMs } from './claim-lease.js';

export interface CallerIdServiceDeps {
  store: CallerIdStore;
  /** Runs `fn` in a transaction and resolves once it is durable (the store's group commit). */
  commit: <T>(fn: () => T) => Promise<T>;
  provider: () => CallerIdProvider;
  config: () => CallerIdConfig;
  events: CallerIdEvents;
  metrics: CallerIdMetrics;
  logger: Logger;
  now: () => number;
}

/** What an API operation answers: the registration, and whether the provider has it yet. */
export interface OperationResult {
  registration: Registration;
  /** The operation is stored but the provider has not confirmed it: the poller retries it. */
  deferred: boolean;
}

const EXPIRY_WARN_STATUSES = new Set(['approved', 'active', 'suspended']);
const PROVIDER_OP: Record<PendingOp, string> = { create: 'create', update: 'update', delete: 'revoke' };

export class CallerIdService {
  readonly #d: CallerIdServiceDeps;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: CallerIdServiceDeps) {
    this.#d = deps;
  }

  /** One operation at a time per registration (API and poller alike). */
  #exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(id, tail);
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return run;
  }

  busy(id: string): boolean {
    return this.#locks.has(id);
  }

  get(id: string, owner: string | undefined): Registration {
    const r = this.#d.store.get(id);
    if (r === undefined || (owner !== undefined && r.client !== owner)) throw new ApiError('not_found', 'unknown caller-ID registration', { field: 'id' });
    return r;
  }

  list(owner: string | undefined, number: string | undefined, limit: number, before?: string): Registration[] {
    return number === undefined ? this.#d.store.list(owner, limit, before) : this.#d.store.byNumber(number, owner, limit);
  }

  async create(client: string, input: Record<string, unknown>): Promise<OperationResult> {
    const checked = this.#checked('create', () => checkCard(input, this.#d.config()));
    const now = this.#d.now();
    const fields = toFields(checked);
    const r: Registration = {
      id: newId('cid', now),
      client,
      cardId: null,
      status: 'submitting',
      reason: null,
      numbers: checked.numbers,
      displayName: checked.displayName,
      industry: checked.industry,
      licenseNo: checked.licenseNo,
      contact: checked.contact,
      logo: checked.logo,
      effectiveAt: null,
      expiresAt: null,
      pendingOp: 'create',
      pendingRequestId: newId('req', now),
      pendingBody: JSON.stringify(fields),
      failures: 0,
      lastError: null,
      // Due at once: if the daemon stops before the provider answers, the poller resumes it.
      nextCheckAt: now,
      expiryWarnedFor: null,
      createdAt: now,
      updatedAt: now,
    };
    // Locked before it is stored, and stored claimed by this node: no poller, here or on
    // another node of a cluster, sends it too while the provider is being asked.
    return this.#exclusive(r.id, async () => {
      await this.#d.commit(() => {
        this.#d.store.insert(r);
        this.#d.store.claim(r.id, now, this.#leaseMs());
      });
      try {
        return await this.#runPending(r.id, true);
      } finally {
        this.#release(r.id);
      }
    });
  }

  async update(id: string, owner: string | undefined, input: Record<string, unknown>): Promise<OperationResult> {
    return this.#claimed(id, owner, async (r) => {
      this.#assertIdle(r);
      if (r.status === 'revoked' || r.status === 'refused' || r.cardId === null) {
        throw new ApiError('invalid_state', `registration is ${r.status}: register a new card instead`, { field: 'id' });
      }
      const merged: Record<string, unknown> = {
        numbers: r.numbers, display_name: r.displayName, logo_png_base64: r.logo.toString('base64'),
        industry: r.industry, license_no: r.licenseNo, contact: r.contact, ...input,
      };
      const checked = this.#checked('update', () => checkCard(merged, this.#d.config()));
      await this.#setPending(r, 'update', JSON.stringify(toFields(checked)));
      return this.#runPending(id, true);
    });
  }

  async remove(id: string, owner: string | undefined): Promise<OperationResult> {
    return this.#claimed(id, owner, async (r) => {
      if (r.status === 'revoked') return { registration: r, deferred: false };
      this.#assertIdle(r);
      if (r.cardId === null) {
        // Refused at creation: there is no card at the provider to revoke.
        const done = { ...r, status: 'revoked' as const, nextCheckAt: null, updatedAt: this.#d.now() };
        await this.#d.commit(() => this.#d.store.save(done));
        return { registration: done, deferred: false };
      }
      await this.#setPending(r, 'delete', null);
      return this.#runPending(id, true);
    });
  }

  /**
   * The poller's turn for one registration (claimed by its claimDue): its pending operation,
   * else a status refresh. Skipped when another node holds the claim by now.
   */
  refresh(id: string): Promise<void> {
    return this.#exclusive(id, async () => {
      if (!this.#d.store.claim(id, this.#d.now(), this.#leaseMs())) return;
      try {
        const r = this.#d.store.get(id);
        if (r === undefined || r.nextCheckAt === null || r.nextCheckAt > this.#d.now()) return;
        if (r.pendingOp !== null) await this.#runPending(id, false).catch(() => undefined);
        else await this.#poll(r);
      } finally {
        this.#release(id);
      }
    });
  }

  /**
   * An API operation on a stored registration: one at a time on this node (#exclusive) and,
   * in a cluster, on no other node meanwhile (the store's claim; refused while another node
   * holds it, as a pending operation is).
   */
  #claimed<T>(id: string, owner: string | undefined, fn: (r: Registration) => Promise<T>): Promise<T> {
    return this.#exclusive(id, async () => {
      const r = this.get(id, owner);
      if (!this.#d.store.claim(id, this.#d.now(), this.#leaseMs())) {
        throw new ApiError('operation_pending', 'another node of the cluster is working on this registration; try again later', { field: 'id' });
      }
      try {
        return await fn(this.get(id, owner));
      } finally {
        this.#release(id);
      }
    });
  }

  #leaseMs(): number {
    return callerIdClaimLeaseMs(this.#d.config());
  }

  /** The claim ends with the operation; a failed release only delays other nodes until the lease runs out. */
  #release(id: string): void {
    try {
      this.#d.store.release(id);
    } catch (err) {
      this.#d.logger.warn({ registration: id, err: { message: (err as Error).message } }, 'caller-ID claim not released: it runs out by itself');
    }
  }

  #checked<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ApiError) this.#d.metrics.operation(op, 'invalid');
      throw err;
    }
  }

  #assertIdle(r: Registration): void {
    if (r.pendingOp !== null) {
      throw new ApiError('operation_pending', `a ${r.pendingOp} of this registration is still waiting for the provider; try again later`, { field: 'id' });
    }
  }

  async #setPending(r: Registration, op: PendingOp, body: string | null): Promise<void> {
    const now = this.#d.now();
    const next = { ...r, pendingOp: op, pendingRequestId: newId('req', now), pendingBody: body, failures: 0, lastError: null, nextCheckAt: now, updatedAt: now };
    await this.#d.commit(() => this.#d.store.save(next));
  }

  /** Send the pending operation. `inline`: an API request waits for it (full retries, errors thrown). */
  async #runPending(id: string, inline: boolean): Promise<OperationResult> {
    const r = this.#d.store.get(id);
    if (r === undefined || r.pendingOp === null) throw new ApiError('not_found', 'unknown caller-ID registration', { field: 'id' });
    const cfg = this.#d.config();
    const op = r.pendingOp;
    const requestId = r.pendingRequestId!;
    const attempts = inline ? {} : { maxAttempts: 1 };
    const provider = this.#d.provider();
    let card: ProviderCard | undefined;
    try {
      if (op === 'create') card = await provider.create(JSON.parse(r.pendingBody!) as CardFields, requestId, attempts);
      else if (op === 'update') card = await provider.update(r.cardId!, JSON.parse(r.pendingBody!) as CardFields, requestId, attempts);
      else await provider.revoke(r.cardId!, requestId, attempts);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      return this.#pendingFailed(r, err, inline);
    }
    const now = this.#d.now();
    const next: Registration = { ...r, pendingOp: null, pendingRequestId: null, pendingBody: null, failures: 0, lastError: null, updatedAt: now };
    if (op === 'delete') {
      Object.assign(next, { status: 'revoked', nextCheckAt: null });
    } else {
      if (op === 'update') Object.assign(next, fromFields(JSON.parse(r.pendingBody!) as CardFields));
      applyCard(next, card!);
      next.nextCheckAt = this.#nextPoll(next, now);
    }
    await this.#d.commit(() => {
      this.#d.store.save(next);
      // The API caller has this answer; a change the poller made happen is announced.
      if (!inline && next.status !== r.status) this.#d.events.emit(next, 'caller_id.status', { previousStatus: r.status });
      this.#warnExpiry(next, now);
    });
    this.#d.metrics.operation(op, 'ok');
    this.#d.logger.info({ registration: r.id, card: next.cardId, op, status: next.status }, 'caller-ID operation done');
    return { registration: next, deferred: false };
  }

  async #pendingFailed(r: Registration, err: ProviderError, inline: boolean): Promise<OperationResult> {
    const op = r.pendingOp!;
    const now = this.#d.now();
    const reason = err.reason;
    // A revoke of a card the provider no longer has is done.
    if (op === 'delete' && err.code === 'provider_refused' && err.status === 404) {
      const done: Registration = { ...r, status: 'revoked', pendingOp: null, pendingRequestId: null, pendingBody: null, nextCheckAt: null, updatedAt: now };
      await this.#d.commit(() => this.#d.store.save(done));
      this.#d.metrics.operation(op, 'ok');
      return { registration: done, deferred: false };
    }
    // Auth failures are the operator's to fix (key, secret, clock): the poller keeps trying.
    const ends = err.code === 'provider_refused' || (inline && err.code === 'provider_auth_failed');
    this.#d.logger.warn({ registration: r.id, op, code: err.code, status: err.status, reason: maskDigitsIn(reason) }, 'caller-ID provider call failed');
    if (!ends) {
      const failures = r.failures + 1;
      const next = { ...r, failures, lastError: reason, nextCheckAt: now + this.#backoffMs(failures, err.retryAfterMs, true), updatedAt: now };
      await this.#d.commit(() => this.#d.store.save(next));
      this.#d.metrics.operation(op, err.code === 'provider_auth_failed' ? 'auth_failed' : 'deferred');
      if (inline) return { registration: next, deferred: true };
      throw err;
    }
    this.#d.metrics.operation(op, err.code === 'provider_auth_failed' ? 'auth_failed' : 'refused');
    const cleared = { ...r, pendingOp: null, pendingRequestId: null, pendingBody: null, failures: 0, lastError: reason, updatedAt: now };
    if (op === 'create' && inline) {
      // Nothing was registered; the caller gets the provider's answer and may try again.
      await this.#d.commit(() => this.#d.store.remove(r.id));
    } else if (op === 'create') {
      const refused: Registration = { ...cleared, status: 'refused', reason, nextCheckAt: null };
      await this.#d.commit(() => {
        this.#d.store.save(refused);
        this.#d.events.emit(refused, 'caller_id.status', { previousStatus: r.status });
      });
    } else {
      const next = { ...cleared, nextCheckAt: this.#nextPoll(cleared, now) };
      await this.#d.commit(() => {
        this.#d.store.save(next);
        if (!inline) this.#d.events.emit(next, 'caller_id.operation_refused', { op: PROVIDER_OP[op], reason });
      });
    }
    if (!inline) throw err;
    if (err.code === 'provider_auth_failed') {
      throw new ApiError('provider_auth_failed', `the caller-ID provider refused our credentials (HTTP ${err.status}): ${reason}`);
    }
    throw new ApiError('provider_refused', `the caller-ID provider refused the ${PROVIDER_OP[op]} (HTTP ${err.status}): ${reason}`);
  }

  async #poll(r: Registration): Promise<void> {
    const now = this.#d.now();
    let card: ProviderCard;
    try {
      card = await this.#d.provider().get(r.cardId!, newId('req', now), { maxAttempts: 1 });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.code === 'provider_refused' && err.status === 404) {
        const gone: Registration = { ...r, status: 'revoked', reason: 'the provider no longer knows the card', nextCheckAt: null, failures: 0, updatedAt: now };
        await this.#d.commit(() => {
          this.#d.store.save(gone);
          this.#d.events.emit(gone, 'caller_id.status', { previousStatus: r.status });
        });
        this.#d.metrics.operation('poll', 'changed');
        return;
      }
      const failures = r.failures + 1;
      const next = { ...r, failures, lastError: err.reason, nextCheckAt: now + this.#backoffMs(failures, err.retryAfterMs, false), updatedAt: now };
      await this.#d.commit(() => this.#d.store.save(next));
      this.#d.metrics.operation('poll', err.code === 'provider_auth_failed' ? 'auth_failed' : 'deferred');
      this.#d.logger.warn({ registration: r.id, code: err.code, status: err.status, failures }, 'caller-ID status poll failed');
      return;
    }
    const next: Registration = { ...r, failures: 0, lastError: null };
    applyCard(next, card);
    next.nextCheckAt = this.#nextPoll(next, now);
    const changed = next.status !== r.status;
    if (changed) next.updatedAt = now;
    await this.#d.commit(() => {
      this.#d.store.save(next);
      if (changed) this.#d.events.emit(next, 'caller_id.status', { previousStatus: r.status });
      this.#warnExpiry(next, now);
    });
    this.#d.metrics.operation('poll', changed ? 'changed' : 'unchanged');
    if (changed) this.#d.logger.info({ registration: r.id, card: r.cardId, from: r.status, to: next.status }, 'caller-ID status changed');
  }

  /** Inside a commit: one warning per expiry date, once it is within expiry_warning_days. */
  #warnExpiry(r: Registration, now: number): void {
    if (r.expiresAt === null || r.expiryWarnedFor === r.expiresAt || !EXPIRY_WARN_STATUSES.has(r.status)) return;
    if (r.expiresAt - now > this.#d.config().expiry_warning_days * 86_400_000) return;
    r.expiryWarnedFor = r.expiresAt;
    this.#d.store.save(r);
    this.#d.events.emit(r, 'caller_id.expiring');
  }

  #nextPoll(r: Registration, now: number): number | null {
    return FINAL_STATUSES.includes(r.status) ? null : now + this.#d.config().poll_s * 1000;
  }

  /** Pending operations retry from backoff.initial_ms, polls from poll_s; both double up to poll_max_s. */
  #backoffMs(failures: number, retryAfterMs: number | undefined, pending: boolean): number {
    const cfg = this.#d.config();
    const base = pending ? cfg.backoff.initial_ms : cfg.poll_s * 1000;
    const ms = Math.min(cfg.poll_max_s * 1000, base * 2 ** Math.max(0, failures - 1));
    return Math.max(ms, retryAfterMs ?? 0);
  }
}

function applyCard(r: Registration, c: ProviderCard): void {
  r.cardId = c.cardId;
  r.status = c.status;
  r.reason = c.reason ?? null;
  r.effectiveAt = c.effectiveAt ?? r.effectiveAt;
  r.expiresAt = c.expiresAt ?? r.expiresAt;
}

function fromFields(f: CardFields): Partial<Registration> {
  return {
    numbers: f.numbers, displayName: f.display_name, logo: Buffer.from(f.logo_png_base64, 'base64'),
    industry: f.industry, licenseNo: f.license_no, contact: f.contact,
  };
}
