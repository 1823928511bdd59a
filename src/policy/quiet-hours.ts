/**
 * Quiet hours (SPEC 11): per-category sending windows in one IANA zone (Asia/Shanghai by
 * default). collection 09:00–20:00 on working days only, notification and marketing
 * 09:00–21:00 every day, otp always. Working days follow the State Council's yearly
 * notice: Monday–Friday unless listed as a holiday, plus listed make-up workdays (调休),
 * which fall on weekends.
 *
 * A window is [start, end) in local wall time, minute resolution: 20:00:00 is closed.
 * start > end crosses midnight (belongs to the day it starts on); start == end is all day.
 */
import { ApiError, XingeError } from '../domain/errors.js';
import type { Category } from '../domain/types.js';
import type { PolicyConfig } from '../config/schema.js';
import { addDays, dateKey, localParts, localToInstant, parseDateKey, weekday, zoneFormatter } from './zoned-time.js';
import type { CivilDate } from './zoned-time.js';

export interface QuietWindow {
  start: string;
  end: string;
  working_days_only?: boolean;
}

export interface QuietHoursOptions {
  /** false: every category always open. */
  enabled?: boolean;
  timezone?: string;
  /** A category without a window (otp) is always open. */
  windows: Partial<Record<Category, QuietWindow>>;
  calendar?: { holidays?: readonly string[]; workdays?: readonly string[] };
  /** What intake does outside the window: schedule for the opening, or refuse (422). */
  outside?: 'defer' | 'refuse';
}

interface Compiled {
  start: number;
  end: number;
  workingDaysOnly: boolean;
}

/** Searching further than this for an opening means the config can never open. */
const MAX_SEARCH_DAYS = 400;

const toMinutes = (hhmm: string): number => {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  const mins = m === null ? NaN : Number(m[1]) * 60 + Number(m[2]);
  if (!(mins >= 0 && mins < 24 * 60)) throw new XingeError('config_invalid', `expected time HH:MM, got "${hhmm}"`);
  return mins;
};

export class QuietHours {
  readonly timezone: string;
  readonly outside: 'defer' | 'refuse';
  readonly #enabled: boolean;
  readonly #windows = new Map<Category, Compiled>();
  readonly #holidays: ReadonlySet<string>;
  readonly #workdays: ReadonlySet<string>;

  constructor(opts: QuietHoursOptions) {
    this.timezone = opts.timezone ?? 'Asia/Shanghai';
    zoneFormatter(this.timezone); // throws RangeError now for an unknown zone
    this.outside = opts.outside ?? 'defer';
    this.#enabled = opts.enabled ?? true;
    for (const [cat, w] of Object.entries(opts.windows) as Array<[Category, QuietWindow | undefined]>) {
      if (w === undefined || cat === 'otp') continue; // OTP is never held back
      this.#windows.set(cat, { start: toMinutes(w.start), end: toMinutes(w.end), workingDaysOnly: w.working_days_only ?? false });
    }
    const holidays = opts.calendar?.holidays ?? [];
    const workdays = opts.calendar?.workdays ?? [];
    const problems = [
      ...holidays.filter((k) => parseDateKey(k) === undefined).map((k) => `policy.calendar.holidays: ${k} is not a date`),
      ...workdays.filter((k) => parseDateKey(k) === undefined).map((k) => `policy.calendar.workdays: ${k} is not a date`),
      ...holidays.filter((k) => workdays.includes(k)).map((k) => `policy.calendar: ${k} is both a holiday and a workday`),
    ];
    if (problems.length > 0) throw new XingeError('config_invalid', problems.join('; '));
    this.#holidays = new Set(holidays);
    this.#workdays = new Set(workdays);
  }

  static fromPolicy(policy: Pick<PolicyConfig, 'timezone' | 'quiet_hours' | 'calendar'>): QuietHours {
    const { enabled, outside, collection, notification, marketing } = policy.quiet_hours;
    return new QuietHours({
      enabled,
      // The schema types enums as string; anything but refuse defers.
      outside: outside === 'refuse' ? 'refuse' : 'defer',
      timezone: policy.timezone,
      windows: { collection, notification, marketing },
      calendar: policy.calendar,
    });
  }

  /** Weekday and not a holiday, or a listed make-up workday (调休). */
  isWorkingDay(date: CivilDate): boolean {
    const key = dateKey(date);
    if (this.#workdays.has(key)) return true;
    const wd = weekday(date);
    return wd !== 0 && wd !== 6 && !this.#holidays.has(key);
  }

  isOpen(category: Category, now: number): boolean {
    const w = this.#window(category);
    if (w === undefined) return true;
    const p = localParts(this.timezone, now);
    const tod = p.hh * 60 + p.mm;
    const eligible = (d: CivilDate) => !w.workingDaysOnly || this.isWorkingDay(d);
    if (w.start === w.end) return eligible(p);
    if (w.start < w.end) return tod >= w.start && tod < w.end && eligible(p);
    return (tod >= w.start && eligible(p)) || (tod < w.end && eligible(addDays(p, -1)));
  }

  /** `now` when open; otherwise the next instant (epoch ms) the category's window opens. */
  nextOpening(category: Category, now: number): number {
    const w = this.#window(category);
    if (w === undefined || this.isOpen(category, now)) return now;
    const today = localParts(this.timezone, now);
    for (let i = 0; i <= MAX_SEARCH_DAYS; i++) {
      const day = addDays(today, i);
      if (w.workingDaysOnly && !this.isWorkingDay(day)) continue;
      const opening = localToInstant(this.timezone, day, w.start);
      if (opening > now) return opening;
    }
    throw new XingeError('config_invalid', `no ${category} sending window within ${MAX_SEARCH_DAYS} days`);
  }

  /**
   * Intake decision: when the message may go out (now, or the next opening when deferred),
   * or ApiError quiet_hours (422) when `outside: refuse`. For a future send_at, pass it as now.
   */
  admit(category: Category, now: number): { sendAt: number; deferred: boolean } {
    const sendAt = this.nextOpening(category, now);
    if (sendAt === now) return { sendAt, deferred: false };
    if (this.outside === 'refuse') {
      throw new ApiError('quiet_hours', `${category} messages are not sent now; the window opens at ${new Date(sendAt).toISOString()}`, {
        field: 'category',
      });
    }
    return { sendAt, deferred: true };
  }

  /** Whether the calendar lists any holiday or workday in the current and coming local year. */
  calendarCoverage(now: number): { year: number; currentYear: boolean; nextYear: boolean } {
    const year = localParts(this.timezone, now).y;
    const has = (y: number) => {
      const prefix = `${y}-`;
      for (const k of [...this.#holidays, ...this.#workdays]) if (k.startsWith(prefix)) return true;
      return false;
    };
    return { year, currentYear: has(year), nextYear: has(year + 1) };
  }

  #window(category: Category): Compiled | undefined {
    return this.#enabled ? this.#windows.get(category) : undefined;
  }
}
