/**
 * Frequency caps per number and category (SPEC 11) and the OTP per-number limits (SPEC 3),
 * as pure sliding-window arithmetic. The store supplies the timestamps of earlier sends
 * for that number+category (see lookbackMs for how far back); nothing here keeps state.
 *
 * Windows slide: "per_day" is the last 24 h, not the calendar day, so a borrower cannot
 * get one collection message at 23:59 and another at 00:01. A send at t counts while
 * now - window < t; it has left the window at exactly t + window.
 */
import { ApiError } from '../domain/errors.js';
import type { PolicyConfig } from '../config/schema.js';

export type CapWindowName = 'resend_after' | 'per_hour' | 'per_day' | 'per_week';

export interface CapWindow {
  name: CapWindowName;
  ms: number;
  /** Sends allowed within the window (>= 1 from config; 0 means never). */
  limit: number;
}

export interface Caps {
  per_hour?: number | undefined;
  per_day?: number | undefined;
  per_week?: number | undefined;
}

export type CapResult = { ok: true } | { ok: false; retryAfterS: number; window: CapWindowName };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The windows a category's configured caps define (absent caps: no window). */
export function capWindows(caps: Caps | undefined): CapWindow[] {
  const out: CapWindow[] = [];
  if (caps?.per_hour !== undefined) out.push({ name: 'per_hour', ms: HOUR, limit: caps.per_hour });
  if (caps?.per_day !== undefined) out.push({ name: 'per_day', ms: DAY, limit: caps.per_day });
  if (caps?.per_week !== undefined) out.push({ name: 'per_week', ms: 7 * DAY, limit: caps.per_week });
  return out;
}

/** OTP limits per number: one per resend_after_s, then per_hour and per_day. */
export function otpWindows(otp: Pick<PolicyConfig['otp'], 'resend_after_s' | 'per_hour' | 'per_day'>): CapWindow[] {
  return [
    { name: 'resend_after', ms: otp.resend_after_s * 1000, limit: 1 },
    { name: 'per_hour', ms: HOUR, limit: otp.per_hour },
    { name: 'per_day', ms: DAY, limit: otp.per_day },
  ];
}

/** How far back the store must look for these windows (0 when there are none). */
export function lookbackMs(windows: readonly CapWindow[]): number {
  return windows.reduce((m, w) => Math.max(m, w.ms), 0);
}

/**
 * Allowed when every window holds fewer than `limit` sends. Otherwise retryAfterS is when
 * enough counted sends have left the window for one more to fit (with the usual count ==
 * limit, when the oldest counted send leaves), for the window that frees up last: waiting
 * that long satisfies every window, since counts only fall as time passes.
 * Timestamps after `now` (already scheduled sends) count too: they will go out.
 */
export function checkWindows(windows: readonly CapWindow[], timestamps: readonly number[], now: number): CapResult {
  let worst: { retryAtMs: number; window: CapWindowName } | undefined;
  for (const w of windows) {
    const counted = timestamps.filter((t) => t > now - w.ms).sort((a, b) => a - b);
    if (counted.length < w.limit) continue;
    const retryAtMs =
      w.limit <= 0 ? now + w.ms : Math.max(counted[counted.length - w.limit]! + w.ms, now + 1);
    if (worst === undefined || retryAtMs > worst.retryAtMs) worst = { retryAtMs, window: w.name };
  }
  if (worst === undefined) return { ok: true };
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((worst.retryAtMs - now) / 1000)), window: worst.window };
}

/** checkWindows for a category's configured caps. */
export function checkCaps(caps: Caps | undefined, timestamps: readonly number[], now: number): CapResult {
  return checkWindows(capWindows(caps), timestamps, now);
}

/** checkWindows for the OTP limits. */
export function checkOtpLimits(
  otp: Pick<PolicyConfig['otp'], 'resend_after_s' | 'per_hour' | 'per_day'>,
  timestamps: readonly number[],
  now: number,
): CapResult {
  return checkWindows(otpWindows(otp), timestamps, now);
}

/**
 * Throw the 429 for a refused result (frequency_cap for category caps, otp_rate_limited for
 * OTP limits), with Retry-After in seconds; no-op when allowed.
 */
const WINDOW_WORDS: Record<CapWindowName, string> = {
  resend_after: 'the resend interval',
  per_hour: 'an hour',
  per_day: '24 hours',
  per_week: '7 days',
};

/** The refusal in plain words: which limit (its value, from `windows`), its config key, when to retry. */
export function describeCapRefusal(
  result: Extract<CapResult, { ok: false }>,
  code: 'frequency_cap' | 'otp_rate_limited',
  category?: string,
  windows: readonly CapWindow[] = [],
): string {
  const retry = `retry in ${result.retryAfterS} s`;
  const limit = windows.find((w) => w.name === result.window)?.limit;
  const n = limit === undefined ? 'its' : `its ${limit}`;
  if (code === 'otp_rate_limited') {
    if (result.window === 'resend_after') return `a code was sent to this number less than policy.otp.resend_after_s ago: ${retry}`;
    return `this number has had ${n} codes for ${WINDOW_WORDS[result.window]} (policy.otp.${result.window}): ${retry}`;
  }
  const what = category === undefined ? 'messages' : `${category} messages`;
  return `this number has had ${n} ${what} for ${WINDOW_WORDS[result.window]} (policy.frequency_caps.${category ?? '<category>'}.${result.window}): ${retry}`;
}

export function assertWithinCaps(result: CapResult, code: 'frequency_cap' | 'otp_rate_limited', category?: string, windows?: readonly CapWindow[]): void {
  if (result.ok) return;
  throw new ApiError(code, describeCapRefusal(result, code, category, windows), {
    field: 'to',
    retryAfter: result.retryAfterS,
  });
}
