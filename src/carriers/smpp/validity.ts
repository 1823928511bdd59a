/**
 * validity_period of submit_sm (SMPP 3.4 §7.1.1), from a message's remaining validity, so an
 * SMSC never delivers a verification code or a reminder after it has lapsed (into quiet
 * hours, say). Pure functions.
 *
 * - relative `YYMMDDhhmmss000R`: "this long from when the SMSC receives it"; the default,
 *   immune to clock differences between us and the SMSC;
 * - absolute `YYMMDDhhmmss000+` in UTC (offset 00 quarter-hours): for the few SMSCs that
 *   reject relative times;
 * - none: empty, the SMSC's default validity.
 */
export type ValidityMode = 'relative' | 'absolute' | 'none';

/** Relative times go up to 99 days in the days field; longer validities are capped there. */
const MAX_RELATIVE_S = 99 * 86400 + 23 * 3600 + 59 * 60 + 59;

const two = (n: number): string => String(n).padStart(2, '0');

/** `seconds` (whole, >= 0) as a relative time. Years and months stay 0: their length is ambiguous. */
export function formatRelativeValidity(seconds: number): string {
  let s = Math.min(MAX_RELATIVE_S, Math.max(0, Math.floor(seconds)));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  return `0000${two(days)}${two(hours)}${two(minutes)}${two(s)}000R`;
}

/** A relative time back to seconds (years as 365 days, months as 30); undefined if it is not one. */
export function parseRelativeValidity(v: string): number | undefined {
  const m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\d\d\dR$/.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return ((y * 365 + mo * 30 + d) * 24 + h) * 3600 + mi * 60 + s;
}

/** An instant (ms since the epoch) as an absolute time in UTC, truncated to the second. */
export function formatAbsoluteValidity(atMs: number): string {
  const d = new Date(Math.floor(atMs / 1000) * 1000);
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}000+`;
}

/**
 * The validity_period for a segment with `remainingMs` of validity left (undefined: none
 * known), sent at wall time `nowMs`. Rounded down and at least one second: never longer than
 * what is left.
 */
export function validityPeriodFor(mode: ValidityMode, remainingMs: number | undefined, nowMs: number): string {
  if (mode === 'none' || remainingMs === undefined || !Number.isFinite(remainingMs)) return '';
  const seconds = Math.max(1, Math.floor(remainingMs / 1000));
  return mode === 'relative' ? formatRelativeValidity(seconds) : formatAbsoluteValidity(nowMs + seconds * 1000);
}
