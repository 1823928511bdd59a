import t from 'tap';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

t.test('starts full: burst tokens at once, then refills at tps', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 100, burst: 20, now: c.now });
  t.equal(b.tryTake(50), 20, 'burst caps what is granted at once');
  t.equal(b.tryTake(), 0);
  t.equal(b.msUntilAvailable(), 10, '1 token at 100/s = 10 ms');
  c.advance(10);
  t.equal(b.msUntilAvailable(), 0);
  t.equal(b.tryTake(5), 1);
  c.advance(100);
  t.equal(b.tryTake(100), 10, '100 ms at 100/s = 10 tokens');
  c.advance(10_000);
  t.equal(b.tryTake(100), 20, 'never more than burst after idling');
});

t.test('default burst is one second of tokens; tryTake() takes one', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 5, now: c.now });
  t.equal(b.burst, 5);
  let n = 0;
  while (b.tryTake() === 1) n++;
  t.equal(n, 5);
  t.equal(b.msUntilAvailable(), 200);
});

t.test('onThrottled halves the rate; a burst of throttles within the cooldown counts once', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 80, now: c.now, recoveryPerSecond: 0 });
  t.equal(b.rate, 80);
  b.onThrottled();
  b.onThrottled();
  b.onThrottled();
  t.equal(b.rate, 40, 'a window of throttled resps halves once');
  c.advance(1000);
  b.onThrottled();
  t.equal(b.rate, 20);
  t.ok(b.tokens <= 20 * (80 / 80), 'burst scales down with the rate');
});

t.test('the rate never goes below 1/s', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 10, now: c.now, recoveryPerSecond: 0, throttleCooldownMs: 0 });
  for (let i = 0; i < 20; i++) b.onThrottled();
  t.equal(b.rate, 1);
  b.tryTake(10);
  t.equal(b.msUntilAvailable(), 1000, 'at 1/s the next token is a second away');
  c.advance(1000);
  t.equal(b.tryTake(), 1);
});

t.test('additive recovery on successes: a second of successes at the current rate adds tps/20', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 100, now: c.now });
  b.onThrottled();
  t.equal(b.rate, 50);
  c.advance(5000);
  t.equal(b.rate, 50, 'time alone recovers nothing');
  for (let i = 0; i < 50; i++) b.onSuccess();
  t.ok(Math.abs(b.rate - 55) < 0.5, `+5/s after 50 successes at 50/s (${b.rate.toFixed(2)})`);
  for (let i = 0; i < 10_000; i++) b.onSuccess();
  t.equal(b.rate, 100, 'capped at the configured tps');
});

t.test('a window of throttled answers: throttleWindow answers end it before the cooldown', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 160, now: c.now, throttleWindow: 4 });
  b.onThrottled();
  t.equal(b.rate, 80, 'the first throttle halves');
  for (let i = 0; i < 3; i++) b.onThrottled();
  t.equal(b.rate, 80, 'the rest of the window in flight does not');
  b.onThrottled();
  t.equal(b.rate, 40, 'the next window halves again, well within the cooldown');
});

t.test('a custom floor and the throttle cooldown are honoured', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 64, now: c.now, recoveryPerSecond: 0, minRate: 8, throttleCooldownMs: 500 });
  b.onThrottled();
  c.advance(499);
  b.onThrottled();
  t.equal(b.rate, 32, 'second throttle within 500 ms ignored');
  for (let i = 0; i < 5; i++) {
    c.advance(500);
    b.onThrottled();
  }
  t.equal(b.rate, 8);
});

t.test('rejects a non-positive tps', async (t) => {
  t.throws(() => new AdaptiveTokenBucket({ tps: 0, now: () => 0 }), RangeError);
});

t.test('msUntilAvailable(n): the wait for n tokens, never for more than the bucket holds', async (t) => {
  const c = clock();
  const b = new AdaptiveTokenBucket({ tps: 200, burst: 10, now: c.now });
  t.equal(b.capacity, 10);
  t.equal(b.tryTake(10), 10);
  t.equal(b.msUntilAvailable(4), 20, '4 tokens at 200/s = 20 ms');
  c.advance(15);
  t.equal(b.msUntilAvailable(4), 5, '3 refilled, the 4th in 5 ms');
  t.equal(b.msUntilAvailable(50), 35, 'asking for more than the bucket holds waits for a full bucket (10)');
  b.onThrottled();
  t.equal(b.capacity, 5, 'the bucket shrinks with the rate');
  t.equal(b.msUntilAvailable(8), 20, 'a full bucket of 5 at 100/s');
});
