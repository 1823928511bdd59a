/**
 * CPU accounting from /proc (issue 19): every figure comes with what each process cost per
 * message, how busy each of the daemon's threads was, and the machine's steal, so that a
 * figure can be read for what bounds it. Linux only; elsewhere the fields are absent.
 *
 * A process's CPU is the sum of its threads' run time from /proc/PID/task/TID/schedstat
 * (nanoseconds; the kernel's own sum_exec_runtime), falling back to the clock ticks of
 * /proc/PID/task/TID/stat where schedstat is missing. A thread that exits between two
 * samples loses what it ran after the first one (the daemon's threads live as long as it).
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

const TICK_S = 0.01; // USER_HZ is 100 on every Linux the bench runs on

/** [seconds on a CPU, seconds runnable but waiting for one] of a thread. */
function threadSeconds(pid: number, tid: string): [number, number] | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
    return [Number(f[0]) / 1e9, Number(f[1]) / 1e9];
  } catch {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return [(Number(f[11]) + Number(f[12])) * TICK_S, 0];
    } catch {
      return undefined;
    }
  }
}

export interface ProcSample {
  pid: number;
  at: number;
  threads: Map<number, [number, number]>;
}

export function sampleProc(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads = new Map<number, [number, number]>();
  for (const tid of tids) {
    const s = threadSeconds(pid, tid);
    if (s !== undefined) threads.set(Number(tid), s);
  }
  return { pid, at: performance.now(), threads };
}

export interface ProcUsage {
  cpuS: number;
  wallS: number;
  /**
   * The main thread (tid = pid) first, then the others busiest first: CPU seconds / wall
   * seconds, and the share of the wall time it was runnable but waited for a CPU (taken by
   * other processes: the machine, not the thread, bounded it then).
   */
  busy: Array<{ tid: number; main: boolean; share: number; waitShare: number }>;
}

export function procDelta(a: ProcSample | undefined, b: ProcSample | undefined): ProcUsage | undefined {
  if (a === undefined || b === undefined) return undefined;
  const wallS = (b.at - a.at) / 1000;
  let cpuS = 0;
  const busy: ProcUsage['busy'] = [];
  for (const [tid, [run, wait]] of b.threads) {
    const [run0, wait0] = a.threads.get(tid) ?? [0, 0];
    cpuS += run - run0;
    busy.push({ tid, main: tid === b.pid, share: (run - run0) / wallS, waitShare: (wait - wait0) / wallS });
  }
  busy.sort((x, y) => (x.main === y.main ? y.share - x.share : x.main ? -1 : 1));
  return { cpuS, wallS, busy };
}

/** `main 0.89; 0.31 0.05 0.02 (+6 idle)`: the main thread's busy share, then the other threads'. */
export function formatBusy(u: ProcUsage): string {
  const main = u.busy.find((t) => t.main);
  const others = u.busy.filter((t) => !t.main);
  const shown = others.filter((t) => t.share >= 0.005);
  const idle = others.length - shown.length;
  const parts = shown.slice(0, 6).map((t) => t.share.toFixed(2));
  if (shown.length > 6) parts.push(`+${shown.length - 6} more`);
  return `main ${main?.share.toFixed(2) ?? '?'}; ${parts.join(' ') || '-'}${idle > 0 ? ` (+${idle} idle)` : ''}`;
}

interface CpuLine {
  at: number;
  fields: number[];
  /** /proc/pressure/cpu `some` total: µs during which some runnable task waited for a CPU. */
  pressureUs: number | undefined;
}

function cpuPressureUs(): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function sampleMachine(): CpuLine | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    return { at: performance.now(), fields: line.trim().split(/\s+/).slice(1).map(Number), pressureUs: cpuPressureUs() };
  } catch {
    return undefined;
  }
}

export interface MachineUsage {
  /** Share of the machine's CPU time the hypervisor gave to others (steal), in %. */
  stealPct: number;
  /** Share spent running anything here (user, nice, system, irq, softirq), in %. */
  busyPct: number;
  /** Share of the wall time some runnable task waited for a CPU (PSI), in %: near 100, the machine is oversubscribed. */
  cpuPressurePct: number | undefined;
  loadavg1: number;
}

function machineDelta(a: CpuLine | undefined, b: CpuLine | undefined): MachineUsage | undefined {
  if (a === undefined || b === undefined) return undefined;
  const d = b.fields.map((v, i) => v - (a.fields[i] ?? 0));
  // user nice system idle iowait irq softirq steal (guest is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = d;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  if (total <= 0) return undefined;
  const wallUs = (b.at - a.at) * 1000;
  const cpuPressurePct = a.pressureUs !== undefined && b.pressureUs !== undefined && wallUs > 0 ? +(((b.pressureUs - a.pressureUs) / wallUs) * 100).toFixed(1) : undefined;
  return {
    stealPct: +((steal / total) * 100).toFixed(1),
    busyPct: +(((user + nice + system + irq + softirq) / total) * 100).toFixed(1),
    cpuPressurePct,
    loadavg1: +os.loadavg()[0]!.toFixed(2),
  };
}

export type Figures = Record<string, number | string>;

/**
 * Meter one stretch of a scenario: the named processes (a pid, or `self` for this process,
 * the Node load generator) and the machine. `stop(messages)` returns, per process,
 * `<name>_cpu_us_per_msg` and `<name>_cpu_share` (cores), and for those named in `threadsOf`
 * their main thread's µs per message and busy share and `<name>_threads_busy`; plus
 * the machine's steal and busy share over the stretch and the load average at its end.
 */
export function startMeter(procs: Record<string, number | 'self' | undefined>, threadsOf: string[] = []): { stop(messages: number, prefix?: string): Figures } {
  const m0 = sampleMachine();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const s0 = new Map(Object.entries(procs).map(([name, pid]) => [name, pid === 'self' ? undefined : sampleProc(pid)]));
  return {
    stop(messages: number, prefix = ''): Figures {
      const out: Figures = {};
      const n = Math.max(1, messages);
      for (const [name, pid] of Object.entries(procs)) {
        if (pid === 'self') {
          const u = process.cpuUsage(self0);
          out[`${prefix}${name}_cpu_us_per_msg`] = +((u.user + u.system) / n).toFixed(1);
          out[`${prefix}${name}_cpu_share`] = +((u.user + u.system) / 1000 / (performance.now() - t0)).toFixed(2);
          continue;
        }
        const u = procDelta(s0.get(name), sampleProc(pid));
        if (u === undefined) continue;
        out[`${prefix}${name}_cpu_us_per_msg`] = +((u.cpuS / n) * 1e6).toFixed(1);
        out[`${prefix}${name}_cpu_share`] = +(u.cpuS / u.wallS).toFixed(2);
        if (threadsOf.includes(name)) {
          const main = u.busy.find((t) => t.main);
          if (main !== undefined) {
            out[`${prefix}${name}_main_thread_us_per_msg`] = +(((main.share * u.wallS) / n) * 1e6).toFixed(1);
            out[`${prefix}${name}_main_thread_busy`] = +main.share.toFixed(2);
            out[`${prefix}${name}_main_thread_runq_wait`] = +main.waitShare.toFixed(2);
          }
          out[`${prefix}${name}_threads_busy`] = formatBusy(u);
        }
      }
      const m = machineDelta(m0, sampleMachine());
      if (m !== undefined) {
        out[`${prefix}machine_steal_pct`] = m.stealPct;
        out[`${prefix}machine_busy_pct`] = m.busyPct;
        if (m.cpuPressurePct !== undefined) out[`${prefix}machine_cpu_pressure_pct`] = m.cpuPressurePct;
        out[`${prefix}machine_loadavg1`] = m.loadavg1;
      }
      return out;
    },
  };
}

/**
 * A process's CPU share (cores) over `ms` with no load: its timers and housekeeping. At low
 * rates this fixed cost is a large part of the CPU per message, so the scenarios report it.
 */
export async function idleCpuShare(pid: number | undefined, ms = 1000): Promise<number | undefined> {
  const a = sampleProc(pid);
  await new Promise((r) => setTimeout(r, ms));
  const u = procDelta(a, sampleProc(pid));
  return u === undefined ? undefined : +(u.cpuS / u.wallS).toFixed(3);
}
