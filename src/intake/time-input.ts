/**
 * Instants given by callers (send_at, a since/until filter). Accepted: Unix seconds (or
 * milliseconds past 1e12), or ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z` or an offset;
 * without an offset the wall time is read in policy.timezone (Asia/Shanghai by default),
 * which is what a caller in China means by "09:00". Anything outside 2000..2100 is refused
 * here: such values used to be stored and then broke every read of the message (a 500).
 */
import { ApiError } from '../domain/errors.js';
import { localToInstant } from '../policy/zoned-time.js';

export const MIN_INSTANT = Date.UTC(2000, 0, 1);
export const MAX_INSTANT = Date.UTC(2100, 0, 1);

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?$/;

function bad(field: string, message: string): never {
  throw new ApiError('invalid_field', message, { field });
}

function inRange(t: number, field: string): number {
  if (!Number.isFinite(t) || t < MIN_INSTANT || t >= MAX_INSTANT) bad(field, `${field.split('.').pop()} must be between 2000-01-01 and 2100-01-01`);
  return t;
}

export function parseInstant(v: unknown, field: string, timezone: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const name = field.split('.').pop() ?? field;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) bad(field, `${name} must be an ISO 8601 timestamp or Unix seconds`);
    return inRange(v > 1e12 ? v : v * 1000, field);
  }
  if (typeof v !== 'string') return bad(field, `${name} must be an ISO 8601 timestamp or Unix seconds`);
  if (/^\d{1,15}$/.test(v)) return parseInstant(Number(v), field, timezone);
  const m = ISO.exec(v);
  if (m === null) return bad(field, `${name} must be an ISO 8601 timestamp (2026-12-01T09:00:00+08:00; without an offset it is read in ${timezone}) or Unix seconds`);
  const [y, mo, d, hh, mm] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const ss = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const civil = new Date(Date.UTC(y, mo - 1, d));
  if (y < 2000 || y >= 2100) return inRange(NaN, field);
  if (civil.getUTCMonth() !== mo - 1 || civil.getUTCDate() !== d || hh > 23 || mm > 59 || ss > 59) bad(field, `${name}: ${v} is not a valid date and time`);
  const zone = m[8];
  let t: number;
  if (zone === undefined) {
    t = localToInstant(timezone, { y, m: mo, d }, hh * 60 + mm) + ss * 1000 + ms;
  } else {
    let offset = 0;
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const oh = Number(digits.slice(0, 2));
      const om = Number(digits.slice(2));
      if (oh > 14 || om > 59) bad(field, `${name}: ${zone} is not a UTC offset`);
      offset = sign * (oh * 60 + om) * 60000;
    }
    t = Date.UTC(y, mo - 1, d, hh, mm, ss, ms) - offset;
  }
  return inRange(t, field);
}
