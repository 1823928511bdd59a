/**
 * The lease of a node's claim on a caller-ID registration (cluster): longer than an API
 * operation with all its retries and than a poller pass, at least a minute.
 */
import t from 'tap';
import { baseConfigObject, makeConfig, tempDir } from '../helpers/fixtures.js';
import { callerIdClaimLeaseMs } from '../../src/callerid/claim-lease.js';

const section = (over: Record<string, unknown>) => {
  const obj = baseConfigObject(tempDir(t)) as Record<string, any>;
  obj.caller_id = { base_url: 'http://127.0.0.1:1/callerid', app_key: 'k', app_secret: 's', numbers: ['+8657188880000'], ...over };
  return makeConfig(obj).caller_id!;
};

t.test('defaults: twice a poller pass of 25 calls of 5 s (250 s) is below twice an API create (4 × 35 s × 2 = 280 s)', async (t) => {
  t.equal(callerIdClaimLeaseMs(section({})), 280_000);
});

t.test('a poller pass can be the longest; a fast provider still gets a minute', async (t) => {
  t.equal(callerIdClaimLeaseMs(section({ timeout_ms: 3000, max_attempts: 3, backoff: { initial_ms: 1, max_ms: 50 } })), 150_000);
  t.equal(callerIdClaimLeaseMs(section({ timeout_ms: 100, max_attempts: 1, backoff: { initial_ms: 1, max_ms: 10 } })), 60_000);
});
