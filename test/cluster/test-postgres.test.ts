/**
 * The throwaway PostgreSQL helper (test/helpers/postgres.ts): it starts on loopback, runs
 * queries, and leaves no process and no directory behind when stopped.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPostgresBin, startTestPostgres } from '../helpers/postgres.js';

const here = dirname(fileURLToPath(import.meta.url));

function postmastersOn(port: number): number {
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes('postgres -D') && l.includes(`-p ${port} `)).length;
}

t.test('a throwaway cluster starts, answers, and is gone after stop', async (t) => {
  const started = Date.now();
  const db = await startTestPostgres(t);
  if (!db) return;
  t.comment(`cluster ready in ${Date.now() - started} ms`);
  const r = await db.query<{ v: string; addr: string | null }>('SELECT current_setting($1) AS v, inet_server_addr()::text AS addr', ['server_version_num']);
  t.ok(Number(r.rows[0]!.v) >= 130000, `server_version_num ${r.rows[0]!.v}`);
  t.equal(r.rows[0]!.addr, '127.0.0.1/32', 'listens on loopback');
  const fsync = await db.query<{ fsync: string }>('SHOW fsync');
  t.equal(fsync.rows[0]!.fsync, 'off');
  t.equal(postmastersOn(db.port), 1, 'one postmaster runs for this cluster');
  const dir = (await db.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
  t.ok(existsSync(dir), 'data directory exists while running');
  await db.stop();
  t.equal(postmastersOn(db.port), 0, 'no postmaster left after stop');
  t.notOk(existsSync(dir), 'data directory removed');
});

t.test('a test process killed with SIGKILL takes its cluster with it', async (t) => {
  if (!findPostgresBin()) return void t.skip('no PostgreSQL here (the first test fails under CI, skips elsewhere)', () => {});
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'postgres-then-hang.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0]!;
      if (buf.includes('\n')) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before printing its port`)));
  });
  t.equal(postmastersOn(port), 1, 'the child started a postmaster');
  child.kill('SIGKILL');
  const deadline = Date.now() + 30000;
  while (postmastersOn(port) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.equal(postmastersOn(port), 0, 'the postmaster stopped once its test process died');
});

t.test('without PostgreSQL: a failure under CI, a skip with the install command elsewhere', async (t) => {
  const saved = { bin: process.env.XINGE_PG_BIN, ci: process.env.CI };
  t.teardown(() => {
    for (const [k, v] of [['XINGE_PG_BIN', saved.bin], ['CI', saved.ci]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.XINGE_PG_BIN = '/nonexistent/postgresql/bin';
  const calls: string[] = [];
  const fake = { fail: (m: string) => calls.push(`fail: ${m}`), skip: (m: string) => calls.push(`skip: ${m}`), teardown: () => {} } as unknown as Parameters<typeof startTestPostgres>[0];
  process.env.CI = 'true';
  t.equal(await startTestPostgres(fake), undefined);
  delete process.env.CI;
  t.equal(await startTestPostgres(fake), undefined);
  t.equal(calls.length, 2);
  t.match(calls[0], /^fail: .*apt-get install postgresql/, 'CI=true: the test fails');
  t.match(calls[1], /^skip: .*apt-get install postgresql/, 'elsewhere: skipped, saying how to install it');
});
