/**
 * `npm run bench` (SPEC 15, issue 7): every scenario against `xinge sim` in a separate
 * process; prints a table and writes JSON to bench/results/. `--quick` finishes in under
 * two minutes; `--only=codec,smpp,batch,single,otp,rss,kannel,floor` picks scenarios.
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
import { ROOT } from './lib/procs.js';

type Result = Record<string, number | string>;
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');

const scenarios: Array<[string, () => Promise<Result>]> = [
  ['codec', () => runCodecBench({ quick })],
  ['smpp', () => runSmppBench({ quick })],
  ['batch', () => benchBatchE2e(quick)],
  ['single', () => benchSinglePost(quick)],
  ['kannel', () => benchKannel(quick)],
  // What fastify and SQLite cost before xinge does anything: the ceilings of `single` and `batch`.
  ['floor', async () => ({ ...benchStoreFloor(quick), ...(await benchHttpFloor(quick)) })],
  ['otp', () => benchOtpUnderLoad(quick)],
  ['rss', () => benchQueuedRss(quick)],
];

// The daemon runs from dist/ (what `npm start` runs): build it from the current sources.
execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

const results: Record<string, Result> = {};
const started = Date.now();
for (const [name, run] of scenarios) {
  if (only !== undefined && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    results[name] = await run();
  } catch (err) {
    results[name] = { error: (err as Error).message };
  }
}
const single = results.single?.single_submit_acked_per_s;
const kannel = results.kannel?.kannel_submit_acked_per_s;
const httpFloor = results.floor?.http_floor_per_s;
const comparison: Result = {};
if (typeof single === 'number' && typeof kannel === 'number' && kannel > 0) comparison.xinge_over_kannel_single_post = +(single / kannel).toFixed(2);
if (typeof httpFloor === 'number' && typeof kannel === 'number' && kannel > 0) comparison.empty_fastify_over_kannel = +(httpFloor / kannel).toFixed(2);
if (typeof single === 'number' && typeof httpFloor === 'number' && httpFloor > 0) comparison.xinge_single_over_empty_fastify = +(single / httpFloor).toFixed(2);
if (Object.keys(comparison).length > 0) results.comparison = comparison;

const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg().map((l) => +l.toFixed(2)) };
const out = { date: new Date().toISOString(), quick, machine, seconds: Math.round((Date.now() - started) / 1000), results };
const dir = path.join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `bench-${out.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);

const rows: Array<[string, string, string]> = [];
for (const [scenario, r] of Object.entries(results)) for (const [k, v] of Object.entries(r)) rows.push([scenario, k, String(v)]);
const w = [Math.max(...rows.map((r) => r[0].length), 8), Math.max(...rows.map((r) => r[1].length), 6)];
console.log(`\nxinge bench ${quick ? '(quick) ' : ''}on ${machine.cpus} × ${machine.model}, Node ${machine.node}, load ${machine.loadavg.join(' ')}`);
console.log(`${'scenario'.padEnd(w[0]!)}  ${'metric'.padEnd(w[1]!)}  value`);
for (const [s, k, v] of rows) console.log(`${s.padEnd(w[0]!)}  ${k.padEnd(w[1]!)}  ${v}`);
console.log(`\nJSON: ${path.relative(process.cwd(), file)} (${out.seconds} s)`);
