/**
 * Codec throughput (SPEC 15): segment + encode, counted in parts produced per second, for
 * a 150-character Chinese text (UCS-2, 3 parts with udh8) and a 300-character ASCII text
 * (GSM, 2 parts). Each case runs for a fixed time rather than a fixed count, so the bench
 * stays bounded on a slow machine.
 *
 *   npx tsx bench/codec.ts            full run (~1.5 s per case), prints the figures
 *   npx tsx bench/codec.ts --quick    short run (~0.3 s per case)
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { segmentText, type SegmentOptions } from '../src/encoding/index.js';

export interface CodecBenchOptions {
  quick: boolean;
}

const ZH = '尊敬的客户您好，您本期账单已逾期，请于今日内还款，以免产生逾期记录。如已还款请忽略。';
const EN = 'Dear customer, your repayment of 1,280.00 CNY is due today. Please pay to avoid late fees. ';
const cycle = (s: string, n: number): string => s.repeat(Math.ceil(n / s.length)).slice(0, n);

const CASES: ReadonlyArray<{ key: string; text: string; opts: Omit<SegmentOptions, 'reference'> }> = [
  { key: 'codec_segments_per_s_zh150', text: cycle(ZH, 150), opts: { segmentation: 'udh8' } },
  { key: 'codec_segments_per_s_ascii300', text: cycle(EN, 300), opts: { segmentation: 'udh8' } },
];

/** Segments per second for one text, measured over about `ms` milliseconds. */
function measure(text: string, opts: Omit<SegmentOptions, 'reference'>, ms: number): number {
  let segments = 0;
  let reference = 0;
  let sink = 0; // keeps the result observable so the work is not optimised away
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  let elapsed = 0n;
  while (elapsed < budget) {
    // Check the clock every 256 messages: hrtime is cheap but not free.
    for (let i = 0; i < 256; i++) {
      const r = segmentText(text, { ...opts, reference: reference++ });
      segments += r.parts.length;
      sink += r.parts[0]!.shortMessage.length;
    }
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink < 0) throw new Error('unreachable');
  return segments / (Number(elapsed) / 1e9);
}

export async function runCodecBench(opts: CodecBenchOptions): Promise<Record<string, number>> {
  const ms = opts.quick ? 300 : 1500;
  const out: Record<string, number> = {};
  for (const c of CASES) {
    measure(c.text, c.opts, Math.min(200, ms / 3)); // warm-up (JIT)
    out[c.key] = Math.round(measure(c.text, c.opts, ms));
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const quick = process.argv.includes('--quick');
  const res = await runCodecBench({ quick });
  process.stdout.write(`codec: segment + encode, parts per second${quick ? ' (quick)' : ''}\n`);
  for (const [k, v] of Object.entries(res)) {
    process.stdout.write(`${k.replace('codec_segments_per_s_', '').padStart(10)}  ${String(v).padStart(10)}\n`);
  }
}
