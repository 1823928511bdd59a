/**
 * `npm run bench` (SPEC 15, issues 7 and 19): every scenario with the daemon and its peers
 * each in their own process; prints a table and writes JSON to bench/results/.
 *
 *   --quick                 under three minutes
 *   --only=a,b              codec,smpp,peer,batch,single,kannel,floor,otp,rss,cluster
 *   --cluster-nodes=1,2,3   the cluster scenario (issue 21.7): N daemons on one PostgreSQL
 *                           (needs PostgreSQL's server binaries, see README Tests)
 *   --rounds=N              single POST and Kannel run N times, alternating (xinge, Kannel,
 *                           xinge, …) on the same peer and load; default 1 quick, 3 full
 *   --intake-threads=0,1,2  batch and single POST once per value of the daemon's
 *                           http.threads (0: HTTP on the main thread), and the curve
 *                           (issue 19 point 4); with it, Kannel runs once
 *
 * The throughput scenarios (batch, single, kannel, the HTTP floor) use the lean C SMSC peer
 * (bench/peers/lean-smsc.c, built with `cc -O2`) and wrk as the HTTP load where installed
 * (`npm run bench:deps` installs wrk and kannel from Debian); every figure comes with each
 * process's CPU per message, the daemon's threads' busy shares and the machine's steal.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCodecBench } from './codec.js';
import { runSmppBench } from './smpp.js';
import { benchBatchE2e, benchOtpUnderLoad, benchQueuedRss, benchSinglePost } from './e2e.js';
import { benchKannel } from './kannel.js';
import { benchHttpFloor, benchStoreFloor } from './floors.js';
import { benchPeerCost } from './peer-cost.js';
import { benchHandoff } from './lib/handoff-floor.js';
import { startMeter } from './lib/cpu.js';
import { findWrk } from './lib/http-load.js';
import { buildLeanSmsc } from './lib/lean-peer.js';
import { ROOT } from './lib/procs.js';
import { benchCluster } from './cluster.js';
import { findPostgresBin } from '../test/helpers/postgres.js';

type Result = Record<string, number | string>;
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const only = arg('only')?.split(',');
const rounds = Math.max(1, Number(arg('rounds') ?? (quick ? 1 : 3)));
const intakeThreads = arg('intake-threads')?.split(',').map(Number);
const wanted = (name: string) => only === undefined || only.includes(name);

// The daemon runs from dist/ (what `npm start` runs): build it from the current sources.
execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (process.env.XINGE_BENCH_PEER !== 'sim' && ['peer', 'batch', 'single', 'kannel', 'cluster'].some(wanted)) buildLeanSmsc();
const generator = findWrk() !== undefined ? 'wrk' : 'autocannon (in the bench process)';

const results: Record<string, Result> = {};
const started = Date.now();
const whole = startMeter({});

async function step(key: string, run: () => Promise<Result> | Result): Promise<Result> {
  process.stderr.write(`bench: ${key}…\n`);
  try {
    results[key] = await run();
  } catch (err) {
    results[key] = { error: (err as Error).message };
  }
  return results[key]!;
}

const num = (r: Result | undefined, k: string) => (typeof r?.[k] === 'number' ? (r[k] as number) : undefined);
const range = (xs: number[]) => (xs.length === 0 ? '' : xs.length === 1 ? String(xs[0]) : `${Math.min(...xs)}–${Math.max(...xs)}`);

if (wanted('codec')) await step('codec', () => runCodecBench({ quick }));
if (wanted('smpp')) await step('smpp', () => runSmppBench({ quick }));

// The lean peer alone: its CPU per message (receipts included) when PDUs come one at a
// time (window 1) and when they come in batches (window 100).
if (wanted('peer') && process.env.XINGE_BENCH_PEER !== 'sim') {
  await step('peer', async () => {
    const one = await benchPeerCost(quick, 1);
    const many = await benchPeerCost(quick, 100);
    return {
      peer_window_1_cpu_us_per_msg: one.lean_peer_cpu_us_per_msg!,
      peer_window_1_msgs_per_s: one.lean_msgs_per_s!,
      peer_window_100_cpu_us_per_msg: many.lean_peer_cpu_us_per_msg!,
      peer_window_100_msgs_per_s: many.lean_msgs_per_s!,
      peer_machine_cpu_pressure_pct: many.lean_machine_cpu_pressure_pct ?? '?',
    };
  });
}

if (wanted('batch') && intakeThreads === undefined) await step('batch', () => benchBatchE2e(quick));
// The scaling curve (issue 19.4): batch and single POST once per http.threads value.
if (intakeThreads !== undefined) {
  const curve: Array<[number, Result, Result | undefined]> = [];
  for (const n of intakeThreads) {
    const batch = wanted('batch') ? await step(`batch_threads_${n}`, () => benchBatchE2e(quick, { intakeThreads: n })) : {};
    const single = wanted('single') ? await step(`single_threads_${n}`, () => benchSinglePost(quick, { intakeThreads: n })) : undefined;
    curve.push([n, batch, single]);
  }
  const col = (k: string) => curve.map(([, r]) => String(r[k] ?? '?')).join(' / ');
  const colSingle = (k: string) => curve.map(([, , r]) => String(r?.[k] ?? '?')).join(' / ');
  results.scaling = {
    http_threads: intakeThreads.join(' / '),
    batch_e2e_per_s: col('batch_e2e_per_s'),
    batch_lost: col('batch_lost'),
    daemon_cpu_us_per_msg: col('daemon_cpu_us_per_msg'),
    daemon_main_thread_busy: col('daemon_main_thread_busy'),
    daemon_threads_busy: col('daemon_threads_busy'),
    machine_cpu_pressure_pct: col('machine_cpu_pressure_pct'),
    single_submit_acked_per_s: colSingle('single_submit_acked_per_s'),
    single_latency_p50_ms: colSingle('single_latency_p50_ms'),
    single_daemon_cpu_us_per_msg: colSingle('single_daemon_cpu_us_per_msg'),
    single_daemon_main_thread_busy: colSingle('single_daemon_main_thread_busy'),
    single_daemon_threads_busy: colSingle('single_daemon_threads_busy'),
    single_machine_cpu_pressure_pct: colSingle('single_machine_cpu_pressure_pct'),
  };
}

// Same peer, same load, alternating: the ratio is taken within each round.
const ratios: number[] = [];
for (let r = 1; r <= rounds; r++) {
  const suffix = r === 1 ? '' : `_r${r}`;
  const single = wanted('single') && intakeThreads === undefined ? await step(`single${suffix}`, () => benchSinglePost(quick)) : undefined;
  const kannel = wanted('kannel') && (intakeThreads === undefined || r === 1) ? await step(`kannel${suffix}`, () => benchKannel(quick)) : undefined;
  const x = num(single, 'single_submit_acked_per_s');
  const k = num(kannel, 'kannel_submit_acked_per_s');
  if (x !== undefined && k !== undefined && k > 0) ratios.push(+(x / k).toFixed(2));
}

// Floors: the store alone, an empty fastify route, and handing rows between threads.
if (wanted('floor')) await step('floor', async () => ({ ...benchStoreFloor(quick), ...(await benchHttpFloor(quick)), ...(await benchHandoff(quick)) }));
if (wanted('otp')) await step('otp', () => benchOtpUnderLoad(quick));
if (wanted('rss')) await step('rss', () => benchQueuedRss(quick));
if (wanted('cluster')) {
  if (findPostgresBin() === undefined) console.log('cluster: skipped, PostgreSQL is not installed (apt-get install postgresql)');
  else await step('cluster', () => benchCluster(quick, (arg('cluster-nodes') ?? '1,2,3').split(',').map(Number)));
}

const roundsOf = (prefix: string, k: string) =>
  Array.from({ length: rounds }, (_, i) => num(results[`${prefix}${i === 0 ? '' : `_r${i + 1}`}`], k)).filter((v): v is number => v !== undefined);
const comparison: Result = {};
const singles = roundsOf('single', 'single_submit_acked_per_s');
const kannels = roundsOf('kannel', 'kannel_submit_acked_per_s');
if (singles.length > 0) comparison.single_submit_acked_per_s = range(singles);
if (kannels.length > 0) comparison.kannel_submit_acked_per_s = range(kannels);
if (ratios.length > 0) comparison.xinge_over_kannel_single_post = `${range(ratios)} (rounds: ${ratios.join(', ')})`;
const singleCpu = roundsOf('single', 'single_daemon_cpu_us_per_msg');
const kannelCpu = roundsOf('kannel', 'kannel_cpu_us_per_msg');
if (singleCpu.length > 0) comparison.xinge_cpu_us_per_msg = range(singleCpu);
if (kannelCpu.length > 0) comparison.kannel_cpu_us_per_msg = range(kannelCpu);
const httpFloor = num(results.floor, 'http_floor_per_s');
const kannelLast = kannels.at(-1);
if (httpFloor !== undefined && kannelLast !== undefined && kannelLast > 0) comparison.empty_fastify_over_kannel = +(httpFloor / kannelLast).toFixed(2);
if (Object.keys(comparison).length > 0) results.comparison = comparison;

const wholeRun = whole.stop(1, 'run_');
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model ?? '?',
  mem_gb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  loadavg: os.loadavg().map((l) => +l.toFixed(2)),
  peer: process.env.XINGE_BENCH_PEER === 'sim' ? 'sim (Node)' : 'lean-smsc (C)',
  http_generator: generator,
  ...wholeRun,
};
const out = { date: new Date().toISOString(), quick, rounds, machine, seconds: Math.round((Date.now() - started) / 1000), results };
const dir = path.join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `bench-${out.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);

const rows: Array<[string, string, string]> = [];
for (const [scenario, r] of Object.entries(results)) for (const [k, v] of Object.entries(r)) rows.push([scenario, k, String(v)]);
const w = [Math.max(...rows.map((r) => r[0].length), 8), Math.max(...rows.map((r) => r[1].length), 6)];
console.log(`\nxinge bench ${quick ? '(quick) ' : ''}on ${machine.cpus} × ${machine.model}, Node ${machine.node}`);
console.log(`peer ${machine.peer}, HTTP load ${machine.http_generator}; over the run: steal ${wholeRun.run_machine_steal_pct ?? '?'} %, busy ${wholeRun.run_machine_busy_pct ?? '?'} %, load ${machine.loadavg.join(' ')}`);
console.log(`${'scenario'.padEnd(w[0]!)}  ${'metric'.padEnd(w[1]!)}  value`);
for (const [s, k, v] of rows) console.log(`${s.padEnd(w[0]!)}  ${k.padEnd(w[1]!)}  ${v}`);
console.log(`\nJSON: ${path.relative(process.cwd(), file)} (${out.seconds} s)`);
