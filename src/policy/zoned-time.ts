/**
 * Wall-clock arithmetic in an IANA zone with nothing but Intl.DateTimeFormat: the local
 * date and time of an instant, and the instant of a local date and time (DST gaps and
 * overlaps handled). Civil dates are plain {y, m, d} values, computed through Date.UTC so
 * that adding days never touches any zone.
 */
export interface CivilDate {
  y: number;
  /** 1..12 */
  m: number;
  d: number;
}

export interface LocalDateTime extends CivilDate {
  hh: number;
  mm: number;
  ss: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws RangeError for an unknown zone, so a bad `policy.timezone` fails at load. */
export function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

export function localParts(zone: string, t: number): LocalDateTime {
  const out: Record<string, number> = {};
  for (const p of zoneFormatter(zone).formatToParts(t)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return { y: out.year!, m: out.month!, d: out.day!, hh: out.hour!, mm: out.minute!, ss: out.second! };
}

/** Zone offset at instant t in ms (local wall time minus UTC), to the second. */
export function offsetMs(zone: string, t: number): number {
  const p = localParts(zone, t);
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(t / 1000) * 1000;
}

export function addDays(date: CivilDate, days: number): CivilDate {
  const u = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: u.getUTCFullYear(), m: u.getUTCMonth() + 1, d: u.getUTCDate() };
}

/** 0 = Sunday .. 6 = Saturday. */
export function weekday(date: CivilDate): number {
  return new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
}

export function dateKey(date: CivilDate): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${String(date.y).padStart(4, '0')}-${pad(date.m)}-${pad(date.d)}`;
}

/** Parses YYYY-MM-DD; undefined when it is not a real calendar date (2026-02-30). */
export function parseDateKey(key: string): CivilDate | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (m === null) return undefined;
  const date = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  return dateKey(addDays(date, 0)) === key ? date : undefined;
}

/**
 * The first instant whose local wall time is `minutes` past midnight on `date`.
 * Overlap (clocks go back): the earlier of the two instants. Gap (clocks go forward past
 * that time): the transition instant, i.e. the moment the local clock passes that time.
 */
export function localToInstant(zone: string, date: CivilDate, minutes: number): number {
  const wall = Date.UTC(date.y, date.m - 1, date.d) + minutes * MINUTE;
  // Offsets around the date: zones change offset at most once within a day either side.
  const offsets = new Set([offsetMs(zone, wall - DAY), offsetMs(zone, wall), offsetMs(zone, wall + DAY)]);
  const valid = [...offsets].map((o) => wall - o).filter((t) => offsetMs(zone, t) === wall - t);
  if (valid.length > 0) return Math.min(...valid);

  // In a gap: binary-search (to the second) the first instant whose wall time is >= wall.
  const bounds = [...offsets].map((o) => wall - o);
  let lo = Math.min(...bounds);
  let hi = Math.max(...bounds);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (mid + offsetMs(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}
