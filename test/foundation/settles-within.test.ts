import t from 'tap';
import { settlesWithin } from '../../src/domain/settles-within.js';

t.test('settlesWithin: true for a promise that settles in time, rejected ones included; false past the wait', async (t) => {
  t.equal(await settlesWithin(Promise.resolve(1), 50), true);
  t.equal(await settlesWithin(Promise.reject(new Error('x')), 50), true, 'a rejection is settled: the caller reads it');
  t.equal(await settlesWithin(new Promise((r) => setTimeout(r, 5)), Infinity), true, 'Infinity waits');
  t.equal(await settlesWithin(new Promise(() => undefined), 20), false);
  t.equal(await settlesWithin(new Promise(() => undefined), -5), false, 'a negative wait is no wait');
});
