import t, { type Test } from 'tap';
import fc from 'fast-check';
import { ApiError, XingeError } from '../../src/domain/errors.js';
import { QuietHours } from '../../src/policy/quiet-hours.js';
import { configSchema } from '../../src/config/schema.js';

/** A fixed instant from Shanghai wall time (UTC+8, no DST). */
const sh = (local: string): number => Date.parse(`${local}+08:00`);
const iso = (ms: number): string => new Date(ms).toISOString();

// Illustrative calendar: National Day off 10-01..10-07 (Thu–Wed), make-up Saturdays
// 09-26 and 10-10.
const CALENDAR = {
  holidays: ['2026-01-01', '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'],
  workdays: ['2026-09-26', '2026-10-10'],
};
const WINDOWS = {
  collection: { start: '09:00', end: '20:00', working_days_only: true },
  notification: { start: '09:00', end: '21:00' },
  marketing: { start: '09:00', end: '21:00' },
};
const qh = new QuietHours({ windows: WINDOWS, calendar: CALENDAR });

type Cat = 'otp' | 'notification' | 'collection' | 'marketing';
const check = (t: Test, q: QuietHours, cases: Array<[Cat, string, boolean, string]>) => {
  for (const [cat, at, open, next] of cases) {
    const now = sh(at);
    t.equal(q.isOpen(cat, now), open, `${cat} ${at} open=${open}`);
    t.equal(iso(q.nextOpening(cat, now)), iso(next === 'now' ? now : sh(next)), `${cat} ${at} → ${next}`);
  }
};

t.test('Asia/Shanghai defaults: collection on working days', async (t) => {
  check(t, qh, [
    ['collection', '2026-03-10T12:00:00', true, 'now'],
    ['collection', '2026-03-10T09:00:00', true, 'now'],
    ['collection', '2026-03-10T19:59:59', true, 'now'],
    ['collection', '2026-03-10T08:59:59', false, '2026-03-10T09:00:00'],
    ['collection', '2026-03-10T20:00:00', false, '2026-03-11T09:00:00'],
    // crossing midnight
    ['collection', '2026-03-10T23:30:00', false, '2026-03-11T09:00:00'],
    ['collection', '2026-03-11T00:30:00', false, '2026-03-11T09:00:00'],
    // a retry at 20:05 on a Friday waits for Monday
    ['collection', '2026-03-13T20:05:00', false, '2026-03-16T09:00:00'],
    ['collection', '2026-03-14T10:00:00', false, '2026-03-16T09:00:00'],
    ['collection', '2026-03-15T23:59:59', false, '2026-03-16T09:00:00'],
    // holidays: New Year's Day (Thu) → Fri; National Day week → Thu 10-08
    ['collection', '2025-12-31T20:30:00', false, '2026-01-02T09:00:00'],
    ['collection', '2026-09-30T20:30:00', false, '2026-10-08T09:00:00'],
    ['collection', '2026-10-01T10:00:00', false, '2026-10-08T09:00:00'],
    ['collection', '2026-10-05T10:00:00', false, '2026-10-08T09:00:00'],
    // make-up Saturdays (调休) are working days
    ['collection', '2026-09-25T20:30:00', false, '2026-09-26T09:00:00'],
    ['collection', '2026-09-26T10:00:00', true, 'now'],
    ['collection', '2026-09-26T20:00:00', false, '2026-09-28T09:00:00'],
    ['collection', '2026-10-09T21:00:00', false, '2026-10-10T09:00:00'],
    ['collection', '2026-10-10T15:00:00', true, 'now'],
  ]);
});

t.test('notification and marketing every day 09:00–21:00; otp always', async (t) => {
  check(t, qh, [
    ['notification', '2026-03-14T10:00:00', true, 'now'], // Saturday
    ['notification', '2026-10-01T10:00:00', true, 'now'], // holiday
    ['notification', '2026-03-10T20:59:59', true, 'now'],
    ['notification', '2026-03-10T21:00:00', false, '2026-03-11T09:00:00'],
    ['marketing', '2026-03-14T22:00:00', false, '2026-03-15T09:00:00'],
    ['marketing', '2026-03-15T03:00:00', false, '2026-03-15T09:00:00'],
    ['otp', '2026-03-15T03:00:00', true, 'now'],
    ['otp', '2026-10-01T23:59:00', true, 'now'],
  ]);
});

t.test('quiet_hours.enabled: false is always open', async (t) => {
  const off = new QuietHours({ enabled: false, windows: WINDOWS, calendar: CALENDAR });
  check(t, off, [
    ['collection', '2026-03-15T03:00:00', true, 'now'],
    ['marketing', '2026-10-01T23:00:00', true, 'now'],
  ]);
});

t.test('a window crossing midnight belongs to the day it starts', async (t) => {
  const night = new QuietHours({ windows: { collection: { start: '22:00', end: '06:00', working_days_only: true } }, calendar: CALENDAR });
  check(t, night, [
    ['collection', '2026-03-13T23:00:00', true, 'now'], // Fri night
    ['collection', '2026-03-14T05:59:00', true, 'now'], // Sat morning, Friday's window
    ['collection', '2026-03-14T06:00:00', false, '2026-03-16T22:00:00'],
    ['collection', '2026-03-14T23:00:00', false, '2026-03-16T22:00:00'], // Sat night: not a working day
    ['collection', '2026-03-10T12:00:00', false, '2026-03-10T22:00:00'],
  ]);
  const allDay = new QuietHours({ windows: { collection: { start: '00:00', end: '00:00', working_days_only: true } }, calendar: CALENDAR });
  check(t, allDay, [
    ['collection', '2026-03-10T23:59:59', true, 'now'],
    ['collection', '2026-03-14T12:00:00', false, '2026-03-16T00:00:00'],
  ]);
});

t.test('zones with DST: openings follow the local clock', async (t) => {
  const ny = new QuietHours({ timezone: 'America/New_York', windows: WINDOWS });
  const cases: Array<[Cat, string, string]> = [
    // Sat 2026-03-07 22:00 EST → Sun 09:00 EDT (clocks went forward at 07:00Z)
    ['notification', '2026-03-08T03:00:00Z', '2026-03-08T13:00:00.000Z'],
    // Sat 2026-10-31 22:00 EDT → Sun 09:00 EST (clocks went back at 06:00Z)
    ['notification', '2026-11-01T02:00:00Z', '2026-11-01T14:00:00.000Z'],
    // Fri 2026-03-06 20:30 EST → Mon 09:00 EDT
    ['collection', '2026-03-07T01:30:00Z', '2026-03-09T13:00:00.000Z'],
  ];
  for (const [cat, at, want] of cases) t.equal(iso(ny.nextOpening(cat, Date.parse(at))), want, `${cat} ${at}`);
  t.ok(ny.isOpen('notification', Date.parse('2026-03-08T13:00:00Z')));
  t.notOk(ny.isOpen('notification', Date.parse('2026-03-08T12:59:59Z')));

  // Opening inside the spring-forward gap (02:30 does not exist on 2026-03-08): the
  // transition instant, 03:00 EDT. Inside the overlap (01:30 happens twice on 11-01): the first.
  const gap = new QuietHours({ timezone: 'America/New_York', windows: { notification: { start: '02:30', end: '04:00' } } });
  t.equal(iso(gap.nextOpening('notification', Date.parse('2026-03-08T06:00:00Z'))), '2026-03-08T07:00:00.000Z');
  t.ok(gap.isOpen('notification', Date.parse('2026-03-08T07:00:00Z')));
  const overlap = new QuietHours({ timezone: 'America/New_York', windows: { notification: { start: '01:30', end: '04:00' } } });
  t.equal(iso(overlap.nextOpening('notification', Date.parse('2026-11-01T04:00:00Z'))), '2026-11-01T05:30:00.000Z');

  // A zone without DST but not UTC+8, east of the date line
  const akl = new QuietHours({ timezone: 'Pacific/Kiritimati', windows: WINDOWS }); // UTC+14
  t.equal(iso(akl.nextOpening('notification', Date.parse('2026-03-10T08:00:00Z'))), '2026-03-10T19:00:00.000Z');
});

t.test('property: nextOpening is open, and one second before it is closed', async (t) => {
  const ny = new QuietHours({ timezone: 'America/New_York', windows: WINDOWS, calendar: CALENDAR });
  const from = Date.parse('2025-12-01T00:00:00Z');
  const to = Date.parse('2027-01-31T00:00:00Z');
  for (const q of [qh, ny]) {
    const check = () => fc.assert(
      fc.property(fc.integer({ min: from, max: to }), fc.constantFrom<Cat>('collection', 'notification', 'marketing'), (now, cat) => {
        const next = q.nextOpening(cat, now);
        if (next < now || !q.isOpen(cat, next)) return false;
        return next === now || !q.isOpen(cat, next - 1000);
      }),
      { seed: 20260310, numRuns: 2000 },
    );
    t.doesNotThrow(check, '2000 fixed-seed runs');
  }
});

t.test('admit: defer schedules, refuse throws quiet_hours', async (t) => {
  t.same(qh.admit('collection', sh('2026-03-10T12:00:00')), { sendAt: sh('2026-03-10T12:00:00'), deferred: false });
  t.same(qh.admit('collection', sh('2026-03-10T20:05:00')), { sendAt: sh('2026-03-11T09:00:00'), deferred: true });
  const refuse = new QuietHours({ windows: WINDOWS, calendar: CALENDAR, outside: 'refuse' });
  const err = t.throws(() => refuse.admit('collection', sh('2026-03-10T20:05:00'))) as ApiError;
  t.match(err, { code: 'quiet_hours', status: 422, field: 'category' });
  t.match(err.message, '2026-03-11T01:00:00.000Z');
  t.same(refuse.admit('otp', sh('2026-03-10T03:00:00')).deferred, false);
});

t.test('calendarCoverage by local year', async (t) => {
  const cases: Array<[string, object]> = [
    ['2026-06-01T12:00:00', { year: 2026, currentYear: true, nextYear: false }],
    ['2025-12-31T23:30:00', { year: 2025, currentYear: false, nextYear: true }],
    ['2027-01-01T00:30:00', { year: 2027, currentYear: false, nextYear: false }],
  ];
  for (const [at, want] of cases) t.same(qh.calendarCoverage(sh(at)), want, at);
  // 2026-12-31T16:30Z is already 2027 in Shanghai
  t.equal(qh.calendarCoverage(Date.parse('2026-12-31T16:30:00Z')).year, 2027);
  const withWorkdayOnly = new QuietHours({ windows: WINDOWS, calendar: { workdays: ['2027-02-07'] } });
  t.match(withWorkdayOnly.calendarCoverage(sh('2026-06-01T12:00:00')), { currentYear: false, nextYear: true });
});

t.test('bad config fails at construction', async (t) => {
  t.throws(() => new QuietHours({ timezone: 'Mars/Olympus', windows: WINDOWS }), RangeError);
  t.throws(() => new QuietHours({ windows: WINDOWS, calendar: { holidays: ['2026-02-30'] } }), XingeError);
  t.throws(() => new QuietHours({ windows: WINDOWS, calendar: { holidays: ['2026-10-10'], workdays: ['2026-10-10'] } }), /both/);
  t.throws(() => new QuietHours({ windows: { collection: { start: '25:00', end: '20:00' } } }), XingeError);
});

t.test('fromPolicy reads the config schema defaults', async (t) => {
  const cfg = configSchema.parse({ policy: { calendar: CALENDAR } });
  const q = QuietHours.fromPolicy(cfg.policy);
  t.equal(q.timezone, 'Asia/Shanghai');
  t.equal(q.outside, 'defer');
  check(t, q, [
    ['collection', '2026-10-01T10:00:00', false, '2026-10-08T09:00:00'],
    ['notification', '2026-03-10T20:30:00', true, 'now'],
  ]);
});
