/**
 * What handing prepared rows from a worker thread to the writer's thread costs (issue 19
 * point 2, the hand-off term of docs/bench.md's Amdahl model): a worker posts batches of
 * message rows (the fields of an insert) to the main thread, which only receives them.
 * Reported: the main thread's CPU µs per row (the serial side: deserialising and the
 * message event) and the worker's (the parallel side), for a structured clone of row
 * objects, a JSON string, and one Buffer holding the JSON (transferred, not copied).
 *
 *   npx tsx bench/lib/handoff-floor.ts [--quick]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { batches, size, mode } = workerData;
const now = Date.now();
const rows = (b) => Array.from({ length: size }, (_, i) => ({
  id: 'msg_' + (1e12 + b * size + i).toString(36), client: 'bench', category: 'notification',
  to: '+86138' + String(b * size + i).padStart(8, '0'), text: '尊敬的客户，您的借款将于明日到期，请按时还款。',
  encoding: 'ucs2', segmentation: 'udh8', segments: 1, carrierId: 'sim', concatRef: 0,
  sendAt: now, expiresAt: now + 86400000, createdAt: now,
}));
parentPort.on('message', () => {
  for (let b = 0; b < batches; b++) {
    const r = rows(b);
    if (mode === 'clone') parentPort.postMessage(r);
    else if (mode === 'json') parentPort.postMessage(JSON.stringify(r));
    else { const buf = Buffer.from(JSON.stringify(r)); const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length); parentPort.postMessage(ab, [ab]); }
  }
});
`;

const threadCpuS = (tid: number) => Number(readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
// Node's own threads exist before the worker; the new ones after it starts are the worker's.
const workerTids = (): number[] => readdirSync(`/proc/${process.pid}/task`).map(Number);

async function measure(mode: 'clone' | 'json' | 'buffer', batches: number, size: number): Promise<{ mainUs: number; workerUs: number }> {
  const before = new Set(workerTids());
  const w = new Worker(WORKER, { eval: true, workerData: { batches, size, mode } });
  await new Promise((r) => w.once('online', r));
  await new Promise((r) => setTimeout(r, 200));
  const mine = workerTids().filter((t) => !before.has(t));
  const cpu = () => ({ main: threadCpuS(process.pid), worker: mine.reduce((a, t) => a + threadCpuS(t), 0) });
  let got = 0;
  const c0 = cpu();
  await new Promise<void>((resolve) => {
    w.on('message', (m: unknown) => {
      // Touch what a writer would read: the rows themselves.
      const rows = mode === 'clone' ? (m as unknown[]) : (JSON.parse(mode === 'json' ? (m as string) : Buffer.from(m as ArrayBuffer).toString()) as unknown[]);
      got += rows.length;
      if (got >= batches * size) resolve();
    });
    w.postMessage('go');
  });
  const c1 = cpu();
  await w.terminate();
  const n = batches * size;
  return { mainUs: +(((c1.main - c0.main) / n) * 1e6).toFixed(2), workerUs: +(((c1.worker - c0.worker) / n) * 1e6).toFixed(2) };
}

export async function benchHandoff(quick: boolean): Promise<Record<string, number>> {
  const batches = quick ? 50 : 200;
  const out: Record<string, number> = {};
  for (const mode of ['clone', 'json', 'buffer'] as const) {
    const r = await measure(mode, batches, 1000);
    out[`handoff_${mode}_main_us_per_row`] = r.mainUs;
    out[`handoff_${mode}_worker_us_per_row`] = r.workerUs;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchHandoff(process.argv.includes('--quick')));
