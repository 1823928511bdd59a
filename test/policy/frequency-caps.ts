import t from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import {
  assertWithinCaps,
  capWindows,
  checkCaps,
  checkOtpLimits,
  lookbackMs,
  otpWindows,
} from '../../src/policy/frequency-caps.js';

const S = 1000;
const H = 3600 * S;
const D = 24 * H;
const NOW = Date.UTC(2026, 2, 10, 4, 0, 0); // fixed, 2026-03-10 12:00 Asia/Shanghai

t.test('collection caps 1/day, 3/week', async (t) => {
  const caps = { per_day: 1, per_week: 3 };
  const cases: Array<{ name: string; ago: number[]; want: object }> = [
    { name: 'no history', ago: [], want: { ok: true } },
    { name: 'yesterday, just over 24 h', ago: [D + 1], want: { ok: true } },
    { name: 'exactly 24 h ago has left the window', ago: [D], want: { ok: true } },
    { name: 'sent 2 h ago: wait 22 h', ago: [2 * H], want: { ok: false, window: 'per_day', retryAfterS: 22 * 3600 } },
    { name: '1 ms inside the day', ago: [D - 1], want: { ok: false, window: 'per_day', retryAfterS: 1 } },
    { name: 'three this week: oldest leaves', ago: [2 * D, 4 * D, 6 * D], want: { ok: false, window: 'per_week', retryAfterS: 1 * 86400 } },
    { name: 'two this week, one older', ago: [2 * D, 4 * D, 8 * D], want: { ok: true } },
    {
      name: 'both exceeded: the window that frees last',
      ago: [H, 3 * D, 5 * D],
      want: { ok: false, window: 'per_week', retryAfterS: 2 * 86400 },
    },
    { name: 'scheduled future send counts', ago: [-10 * H], want: { ok: false, window: 'per_day', retryAfterS: 34 * 3600 } },
  ];
  for (const c of cases) t.match(checkCaps(caps, c.ago.map((a) => NOW - a), NOW), c.want, c.name);
});

t.test('over the limit (caps lowered by reload): wait for enough to leave', async (t) => {
  // 3 sends in the hour, limit 2: the count must fall to 1, so the two oldest must leave;
  // the second (20 min ago) leaves in 40 min.
  const r = checkCaps({ per_hour: 2 }, [NOW - 50 * 60 * S, NOW - 20 * 60 * S, NOW - 5 * 60 * S], NOW);
  t.same(r, { ok: false, window: 'per_hour', retryAfterS: 40 * 60 });
  // limit 1 with 3 sends: all must leave, the newest (5 min ago) last.
  t.match(checkCaps({ per_hour: 1 }, [NOW - 50 * 60 * S, NOW - 20 * 60 * S, NOW - 5 * 60 * S], NOW), { retryAfterS: 55 * 60 });
});

t.test('no caps configured: always ok', async (t) => {
  t.same(checkCaps(undefined, [NOW, NOW, NOW], NOW), { ok: true });
  t.same(checkCaps({}, [NOW], NOW), { ok: true });
  t.equal(lookbackMs(capWindows(undefined)), 0);
  t.equal(lookbackMs(capWindows({ per_hour: 1, per_week: 3 })), 7 * D);
});

t.test('OTP limits: resend_after, per_hour, per_day', async (t) => {
  const otp = { resend_after_s: 60, per_hour: 5, per_day: 10 };
  const min = 60 * S;
  const cases: Array<{ name: string; ago: number[]; want: object }> = [
    { name: 'first', ago: [], want: { ok: true } },
    { name: 'resend too soon', ago: [20 * S], want: { ok: false, window: 'resend_after', retryAfterS: 40 } },
    { name: 'resend after 60 s', ago: [60 * S], want: { ok: true } },
    { name: 'fifth in the hour refused', ago: [2, 10, 20, 30, 40].map((m) => m * min), want: { ok: false, window: 'per_hour', retryAfterS: 20 * 60 } },
    { name: 'four in the hour ok', ago: [10, 20, 30, 40].map((m) => m * min), want: { ok: true } },
    { name: 'tenth in the day refused', ago: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((h) => h * H + 1), want: { ok: false, window: 'per_day', retryAfterS: 14 * 3600 } },
  ];
  for (const c of cases) t.match(checkOtpLimits(otp, c.ago.map((a) => NOW - a), NOW), c.want, c.name);
  t.equal(lookbackMs(otpWindows(otp)), D);
});

t.test('assertWithinCaps throws the 429 with Retry-After', async (t) => {
  t.doesNotThrow(() => assertWithinCaps({ ok: true }, 'frequency_cap'));
  const e1 = t.throws(() => assertWithinCaps({ ok: false, retryAfterS: 30, window: 'per_day' }, 'frequency_cap')) as ApiError;
  t.match(e1, { code: 'frequency_cap', status: 429, retryAfter: 30 });
  const e2 = t.throws(() => assertWithinCaps({ ok: false, retryAfterS: 40, window: 'resend_after' }, 'otp_rate_limited')) as ApiError;
  t.match(e2, { code: 'otp_rate_limited', status: 429, retryAfter: 40 });
});
