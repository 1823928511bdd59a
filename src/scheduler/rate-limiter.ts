/**
 * AdaptiveTokenBucket (SPEC 5): one per carrier account, shared by all its binds.
 *
 * - A token bucket refilled at `rate` tokens per second, holding at most the burst
 *   (scaled with the rate: when the rate is halved, so is the burst, floor 1 token).
 * - onThrottled() (the carrier answered ESME_RTHROTTLED) halves the rate, not below 1/s.
 *   A window of submits in flight all come back throttled together, so halvings closer
 *   than `throttleCooldownMs` apart count once.
 * - Recovery is additive (AIMD): the rate climbs by `recoveryPerSecond` (default tps/20)
 *   for every second since the last halving, back up to the configured tps. It is
 *   computed lazily from the clock on every call, so no timer runs; onSuccess() is the
 *   hook to call on an accepted resp and just applies it.
 * - ESME_RMSGQFUL is NOT a reason to call onThrottled(): it usually means one
 *   subscriber's queue is full, so the caller retries that message later and the
 *   account keeps its rate.
 *
 * Time comes from the injected `now()` (ms), so tests run on a fake clock. No I/O; the
 * interface is small enough for a shared backend (Redis) to implement later.
 */
export interface AdaptiveTokenBucketOptions {
  /** Configured (maximum) rate, tokens per second. */
  tps: number;
  /** Bucket size at full rate; default max(1, tps) (one second's worth). */
  burst?: number;
  /** Milliseconds, monotonic enough (Date.now or performance.now). */
  now: () => number;
  /** Additive recovery, tokens/s gained per second; default tps / 20. */
  recoveryPerSecond?: number;
  /** Throttles within this many ms of the last halving do not halve again; default 1000. */
  throttleCooldownMs?: number;
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
  #minRate: number;
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

  /** Milliseconds until one token is available (0 if one is now). */
  msUntilAvailable(): number {
    this.#update();
    if (this.#tokens >= 1 - 1e-9) return 0;
    return Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  /** The carrier answered ESME_RTHROTTLED: halve the rate (floor minRate), at most once per cooldown. */
  onThrottled(): void {
    this.#update();
    const t = this.#now();
    if (t - this.#lastHalving < this.#cooldown) return;
    this.#lastHalving = t;
    this.#rate = Math.max(this.#minRate, this.#rate / 2);
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }

  /** An accepted resp: applies the additive recovery accrued so far. */
  onSuccess(): void {
    this.#update();
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

  /** Refill for the time elapsed at the rate of each instant (the rate ramps linearly while recovering). */
  #update(): void {
    const t = this.#now();
    const dt = (t - this.#last) / 1000;
    if (dt <= 0) return;
    this.#last = t;
    const r0 = this.#rate;
    if (r0 < this.tps && this.#recovery > 0) {
      // Ramp r0 → r1 over dt (capped at tps); tokens gained = area under the ramp.
      const tRamp = Math.min(dt, (this.tps - r0) / this.#recovery);
      const r1 = r0 + this.#recovery * tRamp;
      this.#rate = r1;
      this.#tokens += ((r0 + r1) / 2) * tRamp + r1 * (dt - tRamp);
    } else {
      this.#tokens += r0 * dt;
    }
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }
}
