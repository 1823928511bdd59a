/**
 * Runs test files with every test app on PostgreSQL (issue 21.1: the store's tests against
 * both backends): starts a throwaway PostgreSQL (test/helpers/postgres.ts), then `tap` on
 * the given files with XINGE_TEST_PG_URL set, and stops the cluster afterwards.
 *
 *   npx tsx test/helpers/run-on-postgres.ts test/state/*.test.ts …
 */
import { spawn } from 'node:child_process';
import type { Test } from 'tap';
import { startTestPostgres } from './postgres.js';

const teardowns: Array<() => unknown> = [];
let failed = '';
const fakeT = {
  teardown: (fn: () => unknown) => teardowns.push(fn),
  fail: (msg: string) => (failed = msg),
  skip: (msg: string) => (failed = msg),
} as unknown as Test;

const files = process.argv.slice(2);
const pg = await startTestPostgres(fakeT, 'postgres_admin');
if (pg === undefined) {
  console.error(failed);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
const code = await new Promise<number>((resolve) => {
  const child = spawn('npx', ['tap', ...files], { stdio: 'inherit', env: { ...process.env, XINGE_TEST_PG_URL: pg.url } });
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});
for (const fn of teardowns.reverse()) await fn();
process.exit(code);
