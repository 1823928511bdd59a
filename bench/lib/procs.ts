/** Child processes for benchmarks: the simulator and the daemon, each in its own process (the lean SMSC peer: lean-peer.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_TOKEN = 'bench-token-0123456789';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startSim(opts: Record<string, unknown>): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const entry = path.join(ROOT, 'src', 'sim', 'sim-process.ts');
  const prof = process.env.XINGE_BENCH_SIM_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.XINGE_BENCH_SIM_PROF] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', entry, JSON.stringify({ port: 0, recordLimit: 0, ...opts })], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator did not start')), 20000);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { port, child, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface DaemonOptions {
  simPort: number;
  window?: number;
  binds?: number;
  registeredDelivery?: 'all' | 'none';
  maxDepth?: number;
  extra?: Record<string, unknown>;
  /** Environment added to the daemon's. */
  env?: Record<string, string>;
  /** http.threads (the scaling curve); unset: the daemon's default (auto). */
  httpThreads?: number;
  /** The carrier account's tps (a cluster shares it); unset: unlimited (1,000,000). */
  tps?: number;
}

export async function startDaemon(o: DaemonOptions): Promise<{ url: string; child: ChildProcess; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'xinge-bench-'));
  const port = await freePort();
  const threads = o.httpThreads ?? (process.env.XINGE_BENCH_HTTP_THREADS !== undefined ? Number(process.env.XINGE_BENCH_HTTP_THREADS) : undefined);
  const cfg = {
    // http.threads: the scenario's value, else XINGE_BENCH_HTTP_THREADS, else the daemon's default.
    http: { host: '127.0.0.1', port, ...(threads !== undefined ? { threads } : {}) },
    store: {
      path: process.env.XINGE_BENCH_DB ?? path.join(dir, 'xinge.db'),
      synchronous: process.env.XINGE_BENCH_SYNC ?? 'full',
      commit_interval_ms: Number(process.env.XINGE_BENCH_COMMIT_MS ?? 2),
    },
    log: { level: 'warn' },
    queue: { max_depth: o.maxDepth ?? 2000000, otp_max_depth: 100000 },
    clients: [{ name: 'bench', token: BENCH_TOKEN, scopes: ['sms', 'otp', 'admin'], categories: ['otp', 'notification', 'collection', 'marketing'], free_text: true }],
    carriers: [
      {
        id: 'sim',
        host: '127.0.0.1',
        port: o.simPort,
        system_id: 'xinge',
        password: 'secret',
        binds: o.binds ?? 2,
        window: o.window ?? 100,
        tps: o.tps ?? 1000000,
        source: { addr: '10690000' },
        registered_delivery: o.registeredDelivery ?? 'all',
      },
    ],
    routing: { default_carrier: 'sim' },
    // Results must not depend on the hour the bench runs.
    policy: {
      signature: '【信鸽】',
      quiet_hours: { enabled: false },
      otp: { secret: 'bench-otp-secret-0123456789', body_key: Buffer.alloc(32, 3).toString('base64'), per_hour: 1000, per_day: 1000 },
    },
    ...o.extra,
  };
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, stringify(cfg));
  const prof = process.env.XINGE_BENCH_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.XINGE_BENCH_PROF] : [];
  // The production artefact (`npm run build`, as `npm start` runs it), not the sources
  // through tsx: its loader keeps transpiled code and source maps (tens of MB of heap).
  // XINGE_BENCH_DAEMON_ROOT: another checkout's build (A/B of two versions in one run).
  const daemonRoot = process.env.XINGE_BENCH_DAEMON_ROOT ?? ROOT;
  const entry = process.env.XINGE_BENCH_TSX === '1' ? ['--import', 'tsx', path.join(daemonRoot, 'src', 'cli.ts')] : [path.join(daemonRoot, 'dist', 'cli.js')];
  // XINGE_BENCH_PERF=file: the daemon under `perf record` (native frames: SQLite, V8, libc).
  const perfOut = process.env.XINGE_BENCH_PERF;
  const nodeArgs = (process.env.XINGE_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const argv = [...nodeArgs, ...prof, ...(perfOut !== undefined ? ['--perf-basic-prof'] : []), ...entry, '--config', file];
  const child = spawn(perfOut !== undefined ? 'perf' : process.execPath, perfOut !== undefined ? ['record', '-F', '999', '-g', '-o', perfOut, '--', process.execPath, ...argv] : argv, {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => {
    if ((process.env.XINGE_BENCH_LOG_WARN === "1" ? /"level":(40|50|60)/ : /"level":(50|60)/).test(l)) process.stderr.write(`daemon: ${l}\n`);
  });
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('daemon did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, dir, stop: () => stopChild(child) };
}

/** Prometheus text → value of one series (summed over matching label sets). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+|NaN)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const ls = Object.fromEntries((m[3] ?? '').split(',').filter(Boolean).map((kv) => {
      const [k, v] = kv.split('=');
      return [k, v!.replace(/"/g, '')];
    }));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Quantile estimate from a Prometheus histogram (linear inside the bucket). */
/** A quantile of a histogram, from one scrape or (an array) the sum of several daemons' buckets. */
export function histogramQuantile(text: string | readonly string[], name: string, labels: Record<string, string>, q: number): number {
  const byLe = new Map<number, number>();
  for (const line of (typeof text === 'string' ? [text] : text).join('\n').split('\n')) {
    if (!line.startsWith(`${name}_bucket`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const raw = /le="([^"]+)"/.exec(line)![1]!;
    const le = raw === '+Inf' ? Infinity : Number(raw);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(line.split(' ').pop()));
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

// CPU accounting (processes, threads, the machine): lib/cpu.ts.

export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
