/**
 * The lean SMSC peer (bench/peers/lean-smsc.c): compiled on first use with `cc -O2` into
 * bench/build/ (git-ignored), started in its own process. Its stdin is a pipe: `stats`
 * asks for its counters, and closing it (or this process dying) ends the peer.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ROOT, startSim, stopChild } from './procs.js';

export const LEAN_SMSC_SOURCE = path.join(ROOT, 'bench', 'peers', 'lean-smsc.c');
export const BUILD_DIR = path.join(ROOT, 'bench', 'build');

export class CompilerMissingError extends Error {
  readonly code = 'bench_cc_missing';
}

/** Path of the compiled peer, (re)built when the source is newer. Throws CompilerMissingError without `cc`. */
export function buildLeanSmsc(outDir = BUILD_DIR): string {
  const bin = path.join(outDir, 'lean-smsc');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(LEAN_SMSC_SOURCE).mtimeMs) return bin;
  mkdirSync(outDir, { recursive: true });
  const cc = process.env.CC ?? 'cc';
  try {
    execFileSync(cc, ['-O2', '-Wall', '-o', bin, LEAN_SMSC_SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new CompilerMissingError(`no C compiler (${cc}): apt-get install -y gcc, or set CC`);
    throw err;
  }
  return bin;
}

export interface LeanSmscStats {
  /** epoll rounds, read() and write() calls: how well the traffic batches. */
  rounds: number;
  reads: number;
  writes: number;
  pdus_in: number;
  connections: number;
  binds: number;
  submits: number;
  receipts: number;
  receipts_dropped: number;
  receipt_resps: number;
  enquire_links: number;
  unbinds: number;
  nacks_sent: number;
  nacks_received: number;
  /** The peer's own CPU (getrusage), microseconds since it started. */
  cpu_us: number;
}

export interface LeanSmsc {
  port: number;
  child: ChildProcess;
  stats(): Promise<LeanSmscStats>;
  stop(): Promise<void>;
}

export interface LeanSmscOptions {
  receipts?: 'none' | 'requested' | 'all';
  /** Shortest round while busy, in µs (lean-smsc --batch-us); default XINGE_BENCH_PEER_BATCH_US or 0. */
  batchUs?: number;
  bin?: string;
}

export async function startLeanSmsc(opts: LeanSmscOptions = {}): Promise<LeanSmsc> {
  const bin = opts.bin ?? buildLeanSmsc();
  const batchUs = opts.batchUs ?? Number(process.env.XINGE_BENCH_PEER_BATCH_US ?? 0);
  const child = spawn(bin, ['--receipts', opts.receipts ?? 'requested', '--batch-us', String(batchUs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl: Interface = createInterface({ input: child.stdout! });
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w !== undefined) w(l);
    else lines.push(l);
  });
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const have = lines.shift();
      if (have !== undefined) return resolve(have);
      const timer = setTimeout(() => reject(new Error(`lean-smsc: no answer to ${what}`)), 10000);
      const onExit = (code: number | null) => reject(new Error(`lean-smsc exited (${code}) before answering ${what}`));
      child.once('exit', onExit);
      waiters.push((l) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(l);
      });
    });
  const port = (JSON.parse(await nextLine('start')) as { port: number }).port;
  return {
    port,
    child,
    async stats() {
      child.stdin!.write('stats\n');
      return JSON.parse(await nextLine('stats')) as LeanSmscStats;
    },
    async stop() {
      child.stdin!.end();
      await stopChild(child);
    },
  };
}

/**
 * The SMSC of the throughput scenarios: the lean peer, or with XINGE_BENCH_PEER=sim the full
 * simulator (Node, 29–36 µs a message) to compare with figures taken before issue 19.
 * `receipts`: whether the peer answers every submit that asks for one with a receipt
 * (the daemon's registered_delivery decides which ask).
 */
export async function startThroughputPeer(receipts: boolean): Promise<{ name: 'lean-smsc' | 'sim'; port: number; pid: number | undefined; stats(): Promise<LeanSmscStats | undefined>; stop(): Promise<void> }> {
  if (process.env.XINGE_BENCH_PEER === 'sim') {
    const sim = await startSim(receipts ? { receipts: 'all', receiptDelayMs: 0 } : { receipts: 'none' });
    return { name: 'sim', port: sim.port, pid: sim.child.pid, stats: async () => undefined, stop: () => sim.stop() };
  }
  const lean = await startLeanSmsc({ receipts: receipts ? 'requested' : 'none' });
  return { name: 'lean-smsc', port: lean.port, pid: lean.child.pid, stats: () => lean.stats(), stop: () => lean.stop() };
}

/** How the peer's traffic batched between two stats: PDUs read per read() call, wake-ups per message. */
export function peerBatching(a: LeanSmscStats | undefined, b: LeanSmscStats | undefined, messages: number, prefix = ''): Record<string, number> {
  if (a === undefined || b === undefined) return {};
  const reads = Math.max(1, b.reads - a.reads);
  return {
    [`${prefix}peer_pdus_per_read`]: +((b.pdus_in - a.pdus_in) / reads).toFixed(1),
    [`${prefix}peer_rounds_per_msg`]: +((b.rounds - a.rounds) / Math.max(1, messages)).toFixed(2),
  };
}
