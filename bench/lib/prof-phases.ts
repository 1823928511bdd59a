/**
 * A .cpuprofile's busy samples split into the daemon's phases (issue 19 point 2: what is
 * serial, what could move to worker threads): `npx tsx bench/lib/prof-phases.ts FILE [messages]`.
 *
 * Each sample goes to the first phase (in the order below) one of whose frames is on its
 * stack, so the phases add up to the busy time. With `messages`, each phase is also shown
 * in µs per message (the profile's sampled time over that many messages).
 */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

/** [phase, where it could run, test on one frame]. Order matters: the first match wins. */
const PHASES: Array<[string, 'serial' | 'parallel' | 'n/a', (fn: string, file: string) => boolean]> = [
  ['startup (module loading, config, binds)', 'n/a', (fn, file) => /^(runDaemon|startDaemon|buildApp)$/.test(fn) || (file === 'loader' && fn === 'Module._load') || fn === 'compileSourceTextModule' || file.startsWith('node:internal/modules/esm')],
  ['/metrics scrapes (the bench polling)', 'n/a', (fn, file) => fn === 'getMetricsAsString' || (file === 'node:internal/fs/promises' && fn === 'readFile')],
  ['GC', 'parallel', (fn) => fn === '(garbage collector)'],
  ['store: insert of accepted messages', 'serial', (fn) => fn === 'insertMessage'],
  ['store: queue peek + claim', 'serial', (fn) => fn === 'peekDue' || fn === 'markClaimed'],
  ['store: submitted mark (submit_sm_resp)', 'serial', (fn) => fn === 'markSubmitted'],
  ['store: receipt lookup + segment + final state', 'serial', (fn) => fn === 'findSegmentByCarrierMsgId' || fn === 'setSegmentReceipt' || fn === 'finalizeMessage'],
  ['store: other statements, transactions, commit, fsync call', 'serial', (_fn, file) => /store\/sqlite\/|group-commit\.js|wal-sync|store\/index\.js/.test(file)],
  ['intake: validation, policy, segmentation (prepare)', 'parallel', (fn, file) => fn === 'prepare' && file.endsWith('submit-service.js')],
  ['intake: HTTP, JSON, auth, routes, reply', 'parallel', (_fn, file) => /fastify|light-my-request|find-my-way|avvio|routes-|http-api|\/http\/|_http_|node:http|secure-json-parse|fast-json-stringify/.test(file)],
  ['intake: rest of submit-service (ids, rows, idempotency)', 'parallel', (_fn, file) => /intake\//.test(file)],
  ['receipts: parse + handler logic', 'parallel', (_fn, file) => /results\//.test(file)],
  ['SMPP: dispatcher, bind pool, submit encode + write', 'serial', (_fn, file) => /scheduler\/|bind-pool\.js|encode-sm\.js|carriers\/smpp\/writer\.js|dispatch/.test(file)],
  ['SMPP: socket read, framing, PDU decode, session', 'parallel', (_fn, file) => /carriers\/smpp\//.test(file)],
  ['metrics on the hot path', 'serial', (_fn, file) => /observability\/|prom-client/.test(file)],
];

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: prof-phases.ts FILE.cpuprofile [messages]');
  process.exit(2);
}
const messages = Number(process.argv[3] ?? 0);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const short = (url: string) => url.replace(/^.*\/dist\//, '').replace(/^.*\/node_modules\//, 'nm:').replace(/^node:internal\/modules\/cjs\//, '');

const us = new Map<string, number>();
let busyUs = 0;
let idleUs = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
  const leaf = byId.get(prof.samples[i]!)!;
  if (leaf.callFrame.functionName === '(idle)') {
    idleUs += dt;
    continue;
  }
  busyUs += dt;
  let phase = leaf.callFrame.functionName === '(program)' ? 'other: (program), native frames V8 does not attribute' : 'other';
  if (phase === 'other') outer: for (const [name, , test] of PHASES) {
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (test(n.callFrame.functionName, short(n.callFrame.url))) {
        phase = name;
        break outer;
      }
    }
  }
  us.set(phase, (us.get(phase) ?? 0) + dt);
}

const where = new Map(PHASES.map(([n, w]) => [n, w]));
console.log(`busy ${(busyUs / 1e6).toFixed(2)} s, idle ${(idleUs / 1e6).toFixed(2)} s${messages > 0 ? `, ${messages} messages` : ''}`);
const sums = { serial: 0, parallel: 0, 'n/a': 0, other: 0 };
for (const [name, t] of [...us.entries()].sort((a, b) => b[1] - a[1])) {
  const w = where.get(name) ?? 'other';
  sums[w as keyof typeof sums] += t;
  console.log(`${((t / busyUs) * 100).toFixed(1).padStart(5)}%  ${messages > 0 ? `${(t / messages).toFixed(1).padStart(6)} µs/msg  ` : ''}${w.padEnd(8)} ${name}`);
}
console.log('\nby where it could run (serial: the one writer / the sockets\' owner; parallel: worker threads):');
for (const [w, t] of Object.entries(sums)) console.log(`${((t / busyUs) * 100).toFixed(1).padStart(5)}%  ${messages > 0 ? `${(t / messages).toFixed(1).padStart(6)} µs/msg  ` : ''}${w}`);
