/**
 * SMPP submit throughput on one bind, by window (SPEC 15). The simulator runs in a
 * separate child process so it does not share this event loop; the client is the real
 * BindPool (one transceiver) keeping exactly `window` submit_sm in flight.
 *
 *   npx tsx bench/smpp.ts            full run, prints a table
 *   npx tsx bench/smpp.ts --quick    short run
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { BindPool } from '../src/carriers/smpp/bind-pool.js';
import { configSchema } from '../src/config/schema.js';
import type { OutboundSegment } from '../src/carriers/connector.js';

export interface SmppBenchOptions {
  quick: boolean;
  windows?: number[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Start the simulator child; resolves with its port once it listens. */
async function startSimChild(): Promise<{ port: number; child: ChildProcess }> {
  const entry = path.join(ROOT, 'src', 'sim', 'sim-process.ts');
  const opts = { port: 0, recordLimit: 0, receipts: 'none' };
  const child = spawn(process.execPath, ['--import', 'tsx', entry, JSON.stringify(opts)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator child did not start within 20 s')), 20000);
    child.once('exit', (code) => reject(new Error(`simulator child exited (${code})`)));
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { port, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin?.end();
  child.kill('SIGTERM');
  await exited;
}

function segment(i: number): OutboundSegment {
  return {
    segmentId: i,
    messageId: `b${i}`,
    to: `86138${String(i % 100000000).padStart(8, '0')}`,
    part: { shortMessage: Buffer.from('Your repayment of 1,280.00 CNY is due on 2026-06-01. Reply TD to opt out.'), esmClass: 0, dataCoding: 0 },
    registeredDelivery: true,
    lane: 'notification',
  };
}

/** Keep `window` submits in flight until `count` are done or `maxMs` passed; returns submits/s. */
async function drive(pool: BindPool, window: number, count: number, maxMs: number): Promise<{ perSecond: number; done: number; failed: number }> {
  let sent = 0;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (sent >= count || performance.now() > deadline) {
        if (done === sent) resolve();
        return;
      }
      sent++;
      pool.submit(segment(sent)).then((o) => {
        done++;
        if (o.kind !== 'accepted') failed++;
        next();
      });
    };
    for (let k = 0; k < window; k++) next();
  });
  const secs = (performance.now() - t0) / 1000;
  return { perSecond: done / secs, done, failed };
}

export async function runSmppBench(opts: SmppBenchOptions): Promise<Record<string, number>> {
  const windows = opts.windows ?? [1, 10, 50, 100];
  const count = opts.quick ? 20000 : 200000;
  const maxMs = opts.quick ? 1500 : 8000;
  const { port, child } = await startSimChild();
  const out: Record<string, number> = {};
  try {
    for (const window of windows) {
      const carrier = configSchema.parse({
        carriers: [
          {
            id: 'bench',
            host: '127.0.0.1',
            port,
            system_id: 'xinge',
            password: 'secret',
            binds: 1,
            window,
            response_timeout_s: 10,
            enquire_link_s: 30,
            source: { addr: '10690001' },
          },
        ],
      }).carriers[0]!;
      const pool = new BindPool(carrier);
      pool.start();
      const t0 = Date.now();
      while (!pool.isUp()) {
        if (Date.now() - t0 > 5000) throw new Error('bench: bind did not come up');
        await new Promise((r) => setTimeout(r, 5));
      }
      await drive(pool, window, 5000, 500); // warm-up (JIT)
      const r = await drive(pool, window, count, maxMs);
      if (r.failed > 0) throw new Error(`bench: ${r.failed} submits not accepted at window ${window}`);
      out[`smpp_submit_per_s_window_${window}`] = Math.round(r.perSecond);
      await pool.stop(1000);
    }
  } finally {
    await stopChild(child);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const quick = process.argv.includes('--quick');
  const res = await runSmppBench({ quick });
  const rows = Object.entries(res).map(([k, v]) => [k.replace('smpp_submit_per_s_window_', ''), v] as const);
  process.stdout.write(`SMPP submit_sm/s on one bind (simulator in a child process${quick ? ', quick' : ''})\n`);
  process.stdout.write(`${'window'.padStart(8)}  ${'submit/s'.padStart(10)}\n`);
  for (const [w, v] of rows) process.stdout.write(`${w.padStart(8)}  ${String(v).padStart(10)}\n`);
}
