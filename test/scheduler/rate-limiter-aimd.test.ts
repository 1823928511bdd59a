/**
 * AdaptiveTokenBucket as a control loop (issue 13 point 5, issue 14 point 7): driven by a
 * simulated SMSC on a fake clock, the rate must fall to the floor while every answer is a
 * throttle, climb back only on successes, and keep refilling when the clock steps back.
 */
import t from 'tap';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}

/**
 * A sender that takes tokens as fast as the bucket and a window allow, against an SMSC that
 * answers every submit after `rttMs` with `answer(n)`. Returns the send times.
 */
function drive(b: AdaptiveTokenBucket, c: ReturnType<typeof clock>, ms: number, answer: (n: number) => 'ok' | 'throttled', window = 20, rttMs = 50): number[] {
  const sends: number[] = [];
  const due: Array<{ at: number; n: number }> = [];
  let n = 0;
  for (let i = 0; i < ms; i++) {
    c.advance(1);
    while (due.length > 0 && due[0]!.at <= c.now()) {
      const d = due.shift()!;
      if (answer(d.n) === 'ok') b.onSuccess();
      else b.onThrottled();
    }
    while (due.length < window && b.tryTake(1) === 1) {
      sends.push(c.now());
      due.push({ at: c.now() + rttMs, n: n++ });
    }
  }
  return sends;
}

t.test('100 % ESME_RTHROTTLED for 20 s: the submit rate falls to the floor and stays there', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 200, now: c.now });
  const sends = drive(b, c, 20_000, () => 'throttled');
  const end = c.now();
  const last5s = sends.filter((s) => s > end - 5000).length;
  t.ok(last5s <= 7, `${last5s} submits in the last 5 s (floor 1/s)`);
  t.equal(b.rate, 1, 'the account rate is at the floor');
  const first1s = sends.filter((s) => s <= end - 19_000).length;
  t.ok(first1s < 260, `the first second sent ${first1s} (burst + a few windows)`);
});

t.test('time alone does not recover the rate; successes do, additively', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 200, now: c.now });
  drive(b, c, 10_000, () => 'throttled');
  t.equal(b.rate, 1);
  c.advance(60_000);
  t.equal(b.rate, 1, 'a minute without answers: still at the floor');
  // The SMSC recovers: every answer a success. The rate climbs by ~tps/20 per second of successes.
  drive(b, c, 5_000, () => 'ok');
  t.ok(b.rate > 30 && b.rate <= 80, `after 5 s of successes: ${b.rate.toFixed(1)}/s`);
  drive(b, c, 30_000, () => 'ok');
  t.equal(b.rate, 200, 'back to tps, never above');
});

t.test('mixed answers: one throttle in ten still pushes the rate well below tps', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 200, now: c.now });
  drive(b, c, 20_000, (n) => (n % 10 === 9 ? 'throttled' : 'ok'));
  t.ok(b.rate < 100, `rate ${b.rate.toFixed(1)}/s`);
});

t.test('a clock that steps backwards does not stall the bucket (it measures from the new reading)', async (t) => {
  const c = clock(1_700_000_000_000);
  const b = new AdaptiveTokenBucket({ tps: 10, now: c.now });
  t.equal(b.tryTake(100), 10, 'burst');
  c.set(1_700_000_000_000 - 3_600_000); // NTP steps the clock back an hour
  t.equal(b.tryTake(100), 0, 'nothing new yet');
  c.advance(1000);
  t.equal(b.tryTake(100), 10, 'a second later the bucket has refilled');
  c.advance(500);
  t.equal(b.tryTake(100), 5);
});
