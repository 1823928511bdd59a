/**
 * The one backoff of the daemon (binds, message retries, webhook deliveries): exponential
 * from `initialMs`, doubling per failed attempt up to `maxMs`, with "equal jitter" (uniform
 * in [base/2, base]). The jitter spreads what failed together (every bind of an SMSC that
 * restarted, every webhook of a receiver that was down) so it does not come back as one
 * burst; the floor at base/2 keeps the growth exponential, so a peer that keeps failing
 * sees about log2(window / initialMs) attempts in a window, never a storm.
 *
 * Pure: the caller brings the random source (tests pass a fixed one) and owns the timer.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before the next try after `attempt` failed attempts (1 = the first failure; 0 or
 * less is treated as 1). `random` returns [0, 1).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^n overflows to Infinity past ~1000: the cap at maxMs makes that harmless, but clamp n anyway.
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(n - 1, 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base / 2 + (base / 2) * r);
}

/**
 * A failure counter with its backoff, for something that retries for ever (a bind): the
 * count goes up per failure and comes back to zero only when the caller says the thing has
 * been healthy long enough (`reset()`), not at the first success.
 */
export class Backoff {
  readonly #policy: () => BackoffPolicy;
  readonly #random: () => number;
  #failures = 0;

  /** `policy` is read at each failure, so a reloaded config applies to the next delay. */
  constructor(policy: BackoffPolicy | (() => BackoffPolicy), random: () => number = Math.random) {
    this.#policy = typeof policy === 'function' ? policy : () => policy;
    this.#random = random;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** Count one more failure; returns the delay before the next try. */
  next(): number {
    this.#failures++;
    return backoffDelayMs(this.#failures, this.#policy(), this.#random);
  }

  reset(): void {
    this.#failures = 0;
  }
}
