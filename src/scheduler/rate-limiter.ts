/**
 * AdaptiveTokenBucket (SPEC 5): one per carrier account, shared by all its binds.
 *
 * - A token bucket refilled at `rate` tokens per second, holding at most the burst
 *   (scaled with the rate: when the rate is halved, so is the burst, floor 1 token).
 * - AIMD, and the decrease dominates while every answer is a throttle:
 *   - onThrottled() (the carrier answered ESME_RTHROTTLED) halves the rate, not below the
 *     floor (1/s), once per *window* of throttled answers: the resps of submits already in
 *     flight when the rate was halved come back throttled too and must not halve it again,
 *     but the next window's do. A window ends after `throttleWindow` throttled answers (the
 *     account's binds × window) or `throttleCooldownMs`, whichever comes first.
 *   - onSuccess() (an accepted resp) is the only way back up: each adds recovery/rate, so a
 *     second of successes at the current rate adds `recoveryPerSecond` (default tps/20). Time
 *     alone recovers nothing: an SMSC that throttles every submit keeps the account at the
 *     floor instead of being probed at tps/10 for ever.
 * - ESME_RMSGQFUL is NOT a reason to call onThrottled(): it usually means one
 *   subscriber's queue is full, so the caller retries that message later and the
 *   account keeps its rate.
 *
 * Time comes from the injected `now()` (ms), meant to be monotonic (domain/clock.ts); a
 * reading that goes back (a wall clock stepped by NTP) re-anchors the bucket instead of
 * stalling its refill for the size of the step. No I/O; the interface is small enough for a
 * shared backend (Redis) to implement later.
 */
export interface AdaptiveTokenBucketOptions {
  /** Configured (maximum) rate, tokens per second. */
  tps: number;
  /** Bucket size at full rate; default max(1, tps) (one second's worth). */
  burst?: number;
  /** Milliseconds from a monotonic clock (domain/clock.ts monotonicNow); tests pass a fake one. */
  now: () => number;
  /** Additive recovery: tokens/s gained per second of successes at the current rate; default tps / 20. */
  recoveryPerSecond?: number;
  /** A window of throttled answers ends after this many ms; default 1000. */
  throttleCooldownMs?: number;
  /** …or after this many throttled answers (submits the account can have in flight); default unbounded. */
  throttleWindow?: number;
  /** Floor of the rate after halvings; default 1 per second. */
  minRate?: number;
}

export class AdaptiveTokenBucket {
  tps: number;
  burst: number;
  readonly #now: () => number;
  #recovery: number;
  readonly #recoveryGiven: boolean;
  readonly #cooldown: number;
  readonly #throttleWindow: number;
  #minRate: number;
  /** Throttled answers since the last halving. */
  #throttled = 0;
  #rate: number;
  #tokens: number;
  #last: number;
  #lastHalving = Number.NEGATIVE_INFINITY;

  constructor(o: AdaptiveTokenBucketOptions) {
    if (!(o.tps > 0)) throw new RangeError('tps must be > 0');
    this.tps = o.tps;
    this.burst = Math.max(1, o.burst ?? o.tps);
    this.#now = o.now;
    this.#recovery = o.recoveryPerSecond ?? o.tps / 20;
    this.#recoveryGiven = o.recoveryPerSecond !== undefined;
    this.#cooldown = o.throttleCooldownMs ?? 1000;
    this.#throttleWindow = Math.max(1, o.throttleWindow ?? Number.POSITIVE_INFINITY);
    this.#minRate = Math.min(o.minRate ?? 1, o.tps);
    this.#rate = o.tps;
    this.#tokens = this.burst;
    this.#last = o.now();
  }

  /** Current rate in tokens per second (a metric). */
  get rate(): number {
    this.#update();
    return this.#rate;
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#update();
    return this.#tokens;
  }

  /** Take up to n whole tokens; returns how many were granted (0..n). */
  tryTake(n = 1): number {
    this.#update();
    const granted = Math.max(0, Math.min(n, Math.floor(this.#tokens + 1e-9)));
    this.#tokens -= granted;
    return granted;
  }

  /** Milliseconds until `n` whole tokens are available (0 if they are now); n is capped by the bucket's size. */
  msUntilAvailable(n = 1): number {
    this.#update();
    const want = Math.min(n, Math.floor(this.#capacity() + 1e-9));
    if (this.#tokens >= want - 1e-9) return 0;
    return Math.ceil(((want - this.#tokens) / this.#rate) * 1000);
  }

  /** Whole tokens the bucket can hold at the current rate (the most one claim can ever get). */
  get capacity(): number {
    this.#update();
    return Math.floor(this.#capacity() + 1e-9);
  }

  /** The carrier answered ESME_RTHROTTLED: halve the rate (floor minRate), once per window of throttled answers. */
  onThrottled(): void {
    this.#update();
    const t = this.#now();
    this.#throttled++;
    if (t - this.#lastHalving < this.#cooldown && this.#throttled < this.#throttleWindow) return;
    this.#lastHalving = t;
    this.#throttled = 0;
    this.#rate = Math.max(this.#minRate, this.#rate / 2);
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }

  /** An accepted resp: the rate climbs by recovery/rate (recoveryPerSecond per second of successes), up to tps. */
  onSuccess(): void {
    this.#update();
    if (this.#rate >= this.tps || this.#recovery <= 0) return;
    this.#rate = Math.min(this.tps, this.#rate + this.#recovery / Math.max(1, this.#rate));
  }

  /**
   * A reload changed the configured rate or burst (issue 14.8): the adaptive state stays. A
   * carrier that throttled us keeps its current rate (capped by the new tps) and recovers
   * towards the new tps; one at full rate moves to the new tps.
   */
  retune(tps: number, burst?: number): void {
    if (!(tps > 0)) throw new RangeError('tps must be > 0');
    this.#update();
    const atFull = this.#rate >= this.tps;
    this.tps = tps;
    this.burst = Math.max(1, burst ?? tps);
    if (!this.#recoveryGiven) this.#recovery = tps / 20;
    this.#minRate = Math.min(this.#minRate, tps);
    this.#rate = atFull ? tps : Math.min(this.#rate, tps);
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }

  #capacity(): number {
    return Math.max(1, (this.burst * this.#rate) / this.tps);
  }

  /** Refill for the time elapsed at the current rate. */
  #update(): void {
    const t = this.#now();
    const dt = (t - this.#last) / 1000;
    if (dt < 0) this.#last = t; // the clock went back: measure from here, do not wait for it to catch up
    if (dt <= 0) return;
    this.#last = t;
    this.#tokens = Math.min(this.#tokens + this.#rate * dt, this.#capacity());
  }
}
