/**
 * HTTP load for the single-request scenarios (issue 19): wrk, a C generator, when it is
 * installed (Debian: `apt-get install -y wrk`), so that the load costs the machine little
 * and the figure measures the server; otherwise autocannon in this process, with this
 * process's CPU reported beside the figure. Either way the generator's CPU is measured:
 * wrk's from its shell's `times` (its children's rusage), autocannon's from process.cpuUsage.
 *
 * Both run the same load: `connections` keep-alive connections, one request in flight on
 * each, a distinct destination number per request. XINGE_BENCH_GENERATOR=autocannon forces
 * the fallback.
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { procDelta, sampleProc, type ProcSample } from './cpu.js';
import { BENCH_TOKEN, ROOT } from './procs.js';

export type LoadKind = 'xinge-post' | 'kannel-sendsms';

export interface LoadResult {
  generator: 'wrk' | 'autocannon';
  /** Answers with a 2xx status. */
  ok: number;
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  durationS: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds the generator used over the run. */
  generatorCpuS: number;
}

let wrkBin: string | null | undefined;
let warned = false;

export function findWrk(): string | undefined {
  if (process.env.XINGE_BENCH_GENERATOR === 'autocannon') return undefined;
  if (wrkBin === undefined) {
    try {
      wrkBin = execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || null;
    } catch {
      wrkBin = null;
    }
  }
  if (wrkBin === null && !warned) {
    warned = true;
    process.stderr.write('bench: wrk is not installed (Debian: apt-get install -y wrk, or `npm run bench:deps`); the HTTP load comes from autocannon in this process, and its CPU is reported beside each figure\n');
  }
  return wrkBin ?? undefined;
}

const SCRIPTS: Record<LoadKind, string> = {
  'xinge-post': path.join(ROOT, 'bench', 'wrk', 'post-sms.lua'),
  'kannel-sendsms': path.join(ROOT, 'bench', 'wrk', 'kannel-sendsms.lua'),
};

const PATHS: Record<LoadKind, string> = { 'xinge-post': '/v1/sms', 'kannel-sendsms': '/cgi-bin/sendsms' };

async function runWrk(bin: string, kind: LoadKind, baseUrl: string, durationS: number, connections: number): Promise<LoadResult> {
  // bash's `times` prints its children's CPU (wrk's rusage) once wrk has exited.
  const args = ['-c', 'bin=$1; shift; "$bin" "$@"; rc=$?; times; exit $rc', 'wrk-run', bin, '-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '10s', '-s', SCRIPTS[kind], `${baseUrl}${PATHS[kind]}`];
  const child = spawn('bash', args, { env: { ...process.env, XINGE_BENCH_TOKEN: BENCH_TOKEN }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const json = /WRK_JSON (\{.*\})/.exec(out);
  if (code !== 0 || json === null) throw new Error(`wrk failed (exit ${code}): ${out.slice(-500)}`);
  const r = JSON.parse(json[1]!) as { requests: number; duration_us: number; connect_errors: number; read_errors: number; write_errors: number; status_errors: number; timeouts: number; p50_us: number; p99_us: number };
  const times = out.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s/g) ?? [];
  const seconds = times.map((t) => {
    const m = /(\d+)m([\d.]+)s/.exec(t)!;
    return Number(m[1]) * 60 + Number(m[2]);
  });
  return {
    generator: 'wrk',
    ok: r.requests - r.status_errors,
    non2xx: r.status_errors,
    errors: r.connect_errors + r.read_errors + r.write_errors + r.timeouts,
    durationS: r.duration_us / 1e6,
    p50Ms: +(r.p50_us / 1000).toFixed(2),
    p99Ms: +(r.p99_us / 1000).toFixed(2),
    generatorCpuS: (seconds[0] ?? 0) + (seconds[1] ?? 0),
  };
}

async function runAutocannon(kind: LoadKind, baseUrl: string, durationS: number, connections: number): Promise<LoadResult> {
  let i = 0;
  const cpu0 = process.cpuUsage();
  const xinge = kind === 'xinge-post';
  const result = await autocannon({
    url: `${baseUrl}${PATHS[kind]}`,
    method: xinge ? 'POST' : 'GET',
    connections,
    duration: durationS,
    headers: xinge ? { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' } : {},
    requests: [
      {
        setupRequest: (req) =>
          xinge
            ? { ...req, body: JSON.stringify({ to: `138${String(i++ % 100000000).padStart(8, '0')}`, text: 'Your repayment is due tomorrow.', category: 'notification' }) }
            : { ...req, path: `/cgi-bin/sendsms?username=bench&password=bench&to=86138${String(i++ % 100000000).padStart(8, '0')}&text=Your+repayment+is+due+tomorrow.` },
      },
    ],
  });
  const cpu = process.cpuUsage(cpu0);
  return {
    generator: 'autocannon',
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationS,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

/** `durationS` of load at `connections` (16 by default) against a server at `baseUrl`. */
export async function httpLoad(kind: LoadKind, baseUrl: string, durationS: number, connections = 16): Promise<LoadResult> {
  const bin = findWrk();
  return bin !== undefined ? runWrk(bin, kind, baseUrl, durationS, connections) : runAutocannon(kind, baseUrl, durationS, connections);
}

/** The figures every HTTP-load scenario reports about its generator, under `prefix`. */
export function generatorFigures(prefix: string, r: LoadResult, messages: number): Record<string, number | string> {
  return {
    [`${prefix}generator`]: r.generator,
    [`${prefix}generator_cpu_us_per_msg`]: +((r.generatorCpuS / Math.max(1, messages)) * 1e6).toFixed(1),
    [`${prefix}generator_cpu_share`]: +(r.generatorCpuS / r.durationS).toFixed(2),
  };
}

export interface BatchLoadResult {
  generator: 'wrk';
  accepted: number;
  /** Batches answered with another status than 202. */
  failed: number;
  /** performance.now() when the first batch could go (bodies built) and when the last was answered. */
  t0: number;
  tAccepted: number;
  /** wrk's CPU from t0 to tAccepted. */
  generatorCpuS: number;
}

/**
 * `total` messages through POST /v1/sms/batch, `size` a request, `connections` in parallel,
 * from wrk (bench/wrk/post-batch.lua); undefined when wrk is not installed. The bodies are
 * built before t0; wrk's CPU is sampled from /proc between t0 and the last answer.
 */
export async function wrkBatchLoad(baseUrl: string, total: number, size: number, connections: number, o: { category?: string; offset?: number; onReady?: () => void } = {}): Promise<BatchLoadResult | undefined> {
  const bin = findWrk();
  if (bin === undefined) return undefined;
  const env = {
    ...process.env,
    XINGE_BENCH_TOKEN: BENCH_TOKEN,
    XINGE_BENCH_BATCH_TOTAL: String(total),
    XINGE_BENCH_BATCH_SIZE: String(size),
    XINGE_BENCH_BATCH_OFFSET: String(o.offset ?? 0),
    XINGE_BENCH_BATCH_CATEGORY: o.category ?? 'notification',
  };
  const child = spawn(bin, ['-t1', `-c${connections}`, '-d3600s', '--timeout', '60s', '-s', path.join(ROOT, 'bench', 'wrk', 'post-batch.lua'), baseUrl], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout! });
  let t0 = 0;
  let cpu0: ProcSample | undefined;
  let error = '';
  try {
    for await (const line of lines) {
      if (line === 'WRK_READY') {
        o.onReady?.();
        t0 = performance.now();
        cpu0 = sampleProc(child.pid);
      } else if (line.startsWith('WRK_BATCH_ERROR ')) error = line.slice(16);
      else if (line.startsWith('WRK_BATCH_DONE ')) {
        const tAccepted = performance.now();
        const cpu = procDelta(cpu0, sampleProc(child.pid));
        const r = JSON.parse(line.slice(15)) as { accepted: number; failed: number };
        if (r.failed > 0) throw new Error(`${r.failed} batches refused; first: ${error}`);
        return { generator: 'wrk', accepted: r.accepted, failed: r.failed, t0, tAccepted, generatorCpuS: cpu?.cpuS ?? 0 };
      }
    }
    throw new Error(`wrk ended before the last batch was answered (exit ${await exited})`);
  } finally {
    // SIGINT ends wrk's run early (it prints its summary); SIGKILL if it does not within 10 s.
    child.kill('SIGINT');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(kill);
  }
}
