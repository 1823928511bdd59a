/**
 * A throwaway PostgreSQL cluster for one test file (issue 21): initdb into a temp directory,
 * trust authentication on loopback only, a free port on 127.0.0.1, the unix socket inside the
 * temp directory, fsync off. Runs as the `postgres` user when the tests run as root (initdb
 * refuses root).
 *
 * No postgres process outlives the test run: the postmaster is started by a small shell
 * watchdog whose stdin is a pipe from this process. Teardown closes the pipe; so does the
 * kernel when the test process dies in any way (kill -9 included). On EOF the watchdog stops
 * the postmaster (fast shutdown, then immediate after 5 s), waits for it and removes the temp
 * directory.
 *
 * Binaries: $XINGE_PG_BIN, else the newest /usr/lib/postgresql/<major>/bin (Debian's
 * `postgresql` package puts them there, not on PATH). Like the promtool and chromium tests
 * (helpers/system-tool.ts): under CI=true a missing PostgreSQL fails the test; elsewhere the
 * test is skipped with the command that installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { freePort } from './free-port.js';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url: string;
  host: string;
  port: number;
  database: string;
  /** Runs one statement on a fresh connection (for the test's own checks). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Stops the cluster and removes its directory; idempotent (also registered as a teardown). */
  stop(): Promise<void>;
  /**
   * A crash: every process of the cluster killed with SIGKILL at once, then the postmaster
   * started again on the same data directory and port (crash recovery from the WAL). Resolves
   * once the new postmaster accepts connections.
   */
  crash(): Promise<void>;
}

/** The directory holding initdb and postgres, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env.XINGE_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length > 0 ? join(root, majors[0]!, 'bin') : undefined;
}

/**
 * Starts a cluster for this test file, or returns undefined after failing (CI) or skipping
 * (elsewhere) when PostgreSQL is not installed. The cluster is stopped in t.teardown.
 */
export async function startTestPostgres(t: Test, database = 'xinge_test', opts: { durable?: boolean; settings?: string[] } = {}): Promise<TestPostgres | undefined> {
  const bin = findPostgresBin();
  if (!bin) {
    const where = process.env.XINGE_PG_BIN ? `$XINGE_PG_BIN=${process.env.XINGE_PG_BIN} has no initdb` : 'no /usr/lib/postgresql/*/bin/initdb';
    const how = `PostgreSQL is not installed (${where}): apt-get install postgresql (bash .ci/run installs it)`;
    if (process.env.CI === 'true' || process.env.CI === '1') t.fail(how);
    else t.skip(how, () => {});
    return undefined;
  }
  const pgOwner = process.getuid?.() === 0 ? 'postgres' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'xinge-pg-'));
  let watchdog: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) {
      // Keep the process alive until the cluster is gone (the child is unref'd while it runs).
      watchdog.ref();
      watchdog.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15000)))]);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  try {
    if (pgOwner) {
      const ids = spawnSync('id', ['-u', pgOwner], { encoding: 'utf8' });
      const gids = spawnSync('id', ['-g', pgOwner], { encoding: 'utf8' });
      if (ids.status !== 0) throw new Error(`running as root but there is no ${pgOwner} user to run PostgreSQL as`);
      chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
    }
    const asOwner = (cmd: string, args: string[]): [string, string[]] => (pgOwner ? ['runuser', ['-u', pgOwner, '--', cmd, ...args]] : [cmd, args]);
    const data = join(dir, 'data');
    const [initCmd, initArgs] = asOwner(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions']);
    const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: 60000, cwd: dir });
    if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.stdout}`);

    const port = await freePort();
    const log = join(dir, 'postgres.log');
    // $1 bin, $2 data, $3 port, $4 socket dir, $5 log, $6 dir to remove. The postmaster runs
    // in the background (stdin /dev/null); `cat` holds our pipe and returns on its EOF.
    // durable (benchmarks): PostgreSQL's defaults for fsync and commits, as in production.
    const speed = [
      opts.durable === true ? '-c shared_buffers=128MB' : '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB',
      ...(opts.settings ?? []).map((kv) => `-c ${kv}`),
    ].join(' ');
    const postmaster = [
      `"$1/postgres" -D "$2" -p "$3" -k "$4" -c listen_addresses=127.0.0.1 ${speed}`,
      '-c max_connections=60 -c log_min_messages=warning',
      '-c log_connections=off -c log_disconnections=off </dev/null >>"$5" 2>&1 &',
    ].join(' ');
    // A line `crash` on the pipe: SIGKILL to the postmaster's children and to it, then start it
    // again (crash()). EOF ends the loop and the cluster.
    const script = [
      `start() { ${postmaster} pid=$!; }`,
      'crash() {',
      '  for s in /proc/[0-9]*/stat; do read -r p c st pp rest < "$s" 2>/dev/null && [ "$pp" = "$pid" ] && kill -KILL "$p" 2>/dev/null; done',
      '  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; sleep 0.3; start "$@"',
      '}',
      // Functions see their own arguments: the script's are passed on.
      'start "$@"',
      'while IFS= read -r cmd; do [ "$cmd" = crash ] && crash "$@"; done',
      'kill -INT "$pid" 2>/dev/null',
      'i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
      'kill -QUIT "$pid" 2>/dev/null',
      'wait "$pid" 2>/dev/null',
      'rm -rf "$6"',
    ].join('\n');
    const [cmd, args] = asOwner('/bin/sh', ['-c', script, 'sh', bin, data, String(port), dir, log, dir]);
    watchdog = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'], cwd: '/' });
    exited = new Promise((resolve) => watchdog!.once('exit', () => resolve()));
    // The pipe must not keep the test process alive, nor must the child.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();

    await waitUntilAccepting(port, log, watchdog);
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    const url = `postgres://postgres@127.0.0.1:${port}/${database}`;
    return {
      url,
      host: '127.0.0.1',
      port,
      database,
      async query(sql, params) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          return await c.query(sql, params);
        } finally {
          await c.end();
        }
      },
      stop,
      async crash() {
        const startedAt = async (): Promise<string | undefined> => {
          const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
          // The old postmaster may die under this client: its query fails, and so must not the process.
          c.on('error', () => undefined);
          try {
            await c.connect();
            return String((await c.query<{ t: string }>('SELECT pg_postmaster_start_time()::text AS t')).rows[0]!.t);
          } catch {
            return undefined;
          } finally {
            await c.end().catch(() => undefined);
          }
        };
        const before = await startedAt();
        watchdog!.stdin!.write('crash\n');
        const deadline = Date.now() + 60000;
        for (;;) {
          const now = await startedAt();
          if (now !== undefined && now !== before) return;
          if (Date.now() > deadline) throw new Error(`PostgreSQL did not come back after the crash: ${readFileSync(log, 'utf8').slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}


/** Connects until the server accepts (30 s at most); fails with the server log if it died. */
async function waitUntilAccepting(port: number, log: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      last = err;
      await c.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let tail = '';
  try {
    tail = readFileSync(log, 'utf8').slice(-2000);
  } catch {
    /* no log yet */
  }
  throw new Error(`PostgreSQL did not accept connections on 127.0.0.1:${port}: ${String(last)}\n${tail}`);
}
