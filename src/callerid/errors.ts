/**
 * What can go wrong talking to a caller-ID provider, as typed errors with a stable code:
 * - provider_refused: the provider answered 4xx (not 401/403/429): its reason is the caller's to read;
 * - provider_auth_failed: 401/403: our key, secret or clock is wrong (the operator's to fix);
 * - provider_unavailable: 429, 5xx, a timeout, a refused connection or a garbled 2xx, still so after
 *   the retries allowed; `retryAfterMs` when the provider said how long to wait.
 */
import { XingeError } from '../domain/errors.js';

export type ProviderErrorCode = 'provider_refused' | 'provider_auth_failed' | 'provider_unavailable';

export class ProviderError extends XingeError {
  declare readonly code: ProviderErrorCode;
  /** HTTP status of the last answer (undefined: no answer, e.g. timeout). */
  readonly status: number | undefined;
  /** The provider's reason, or a short error code (`timeout`, `ECONNREFUSED`). */
  readonly reason: string;
  /** The provider's own error code from the body, if any. */
  readonly providerCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;

  constructor(
    code: ProviderErrorCode,
    f: { status?: number | undefined; reason: string; providerCode?: string | undefined; retryAfterMs?: number | undefined; attempts: number },
  ) {
    super(code, `${code}${f.status === undefined ? '' : ` (HTTP ${f.status})`}: ${f.reason}`);
    this.name = 'ProviderError';
    this.status = f.status;
    this.reason = f.reason;
    this.providerCode = f.providerCode;
    this.retryAfterMs = f.retryAfterMs;
    this.attempts = f.attempts;
  }

  get retryable(): boolean {
    return this.code === 'provider_unavailable';
  }
}
