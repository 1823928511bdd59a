/**
 * End-to-end scenarios (SPEC 15, issues 7 and 19): the daemon and its SMSC each in their own
 * process. The throughput scenarios (batch, single) use the lean C peer and report every
 * process's CPU per message, the daemon's threads and the machine's steal; the OTP and RSS
 * scenarios keep the full simulator. Every count and duration is bounded.
 */
import { request, Agent } from 'undici';
import { idleCpuShare, startMeter } from './lib/cpu.js';
import { generatorFigures, httpLoad, wrkBatchLoad } from './lib/http-load.js';
import { peerBatching, startThroughputPeer } from './lib/lean-peer.js';
import { BENCH_TOKEN, histogramQuantile, metric, scrape, startDaemon, startSim } from './lib/procs.js';

const agent = new Agent({ connections: 16, pipelining: 1 });
const headers = { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' };

const number = (i: number) => `138${String(i % 100000000).padStart(8, '0')}`;

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const r = await request(url, { method: 'POST', headers, body: JSON.stringify(body), dispatcher: agent });
  return { status: r.statusCode, json: await r.body.json() };
}

/** Post `total` messages as batches of `size`, `concurrency` requests at a time. */
async function postBatches(url: string, total: number, size: number, concurrency: number, category = 'notification', offset = 0): Promise<number> {
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      if (start >= total) return;
      next += size;
      const n = Math.min(size, total - start);
      const messages = Array.from({ length: n }, (_, i) => ({ to: number(offset + start + i), text: '尊敬的客户，您的借款将于明日到期，请按时还款。', category }));
      const r = await postJson(`${url}/v1/sms/batch`, { messages });
      if (r.status !== 202) throw new Error(`batch answered ${r.status}: ${JSON.stringify(r.json).slice(0, 200)}`);
      accepted += (r.json as { accepted: number }).accepted;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return accepted;
}

async function waitFinal(url: string, expected: number, timeoutMs: number, name = 'xinge_messages_final_total'): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = metric(await scrape(url), name);
    if (n >= expected || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface E2eResult {
  [k: string]: number | string;
}

/** `total` messages as JSON bodies of `size`, built before the clock starts: the generator's work during the run is sending them. */
function batchBodies(total: number, size: number, category: string, offset: number): string[] {
  const bodies: string[] = [];
  for (let start = 0; start < total; start += size) {
    const n = Math.min(size, total - start);
    bodies.push(JSON.stringify({ messages: Array.from({ length: n }, (_, i) => ({ to: number(offset + start + i), text: '尊敬的客户，您的借款将于明日到期，请按时还款。', category })) }));
  }
  return bodies;
}

async function postBodies(url: string, bodies: string[], concurrency: number): Promise<number> {
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const r = await request(`${url}/v1/sms/batch`, { method: 'POST', headers, body, dispatcher: agent });
      const json = (await r.body.json()) as { accepted: number };
      if (r.statusCode !== 202) throw new Error(`batch answered ${r.statusCode}: ${JSON.stringify(json).slice(0, 200)}`);
      accepted += json.accepted;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return accepted;
}

export interface BatchOptions {
  /** The daemon's http.threads (issue 19 point 4); unset: its default (auto: one per core beyond the first, at most 4). */
  intakeThreads?: number;
}

/**
 * Batch intake, every message receipted: accept → store → submit_sm → resp → receipt →
 * delivered committed. The SMSC is the lean peer (a receipt per submit); the load is 1,000
 * messages a request, 4 in parallel, from wrk (or this process where wrk is missing), its
 * CPU reported as the generator's.
 */
export async function benchBatchE2e(quick: boolean, o: BatchOptions = {}): Promise<E2eResult> {
  const total = quick ? 20000 : 100000;
  const peer = await startThroughputPeer(true);
  const d = await startDaemon({ simPort: peer.port, window: 200, binds: 2, ...(o.intakeThreads !== undefined ? { httpThreads: o.intakeThreads } : {}) });
  try {
    // wrk where installed (its CPU sampled between the first batch and the last answer),
    // else this process with its bodies built beforehand (its CPU is the generator's).
    const idle = await idleCpuShare(d.child.pid);
    const peer0 = await peer.stats();
    let meter: ReturnType<typeof startMeter> | undefined;
    const procs = { daemon: d.child.pid, peer: peer.pid };
    const viaWrk = await wrkBatchLoad(d.url, total, 1000, 4, { onReady: () => (meter = startMeter(procs, ['daemon'])) });
    let t0: number;
    let tAccepted: number;
    let accepted: number;
    let generator: Record<string, number | string>;
    if (viaWrk !== undefined) {
      ({ t0, tAccepted, accepted } = viaWrk);
      generator = { generator: 'wrk', generator_cpu_us_per_msg: +((viaWrk.generatorCpuS / Math.max(1, accepted)) * 1e6).toFixed(1) };
    } else {
      const bodies = batchBodies(total, 1000, 'notification', 0);
      meter = startMeter({ ...procs, generator: 'self' }, ['daemon']);
      t0 = performance.now();
      accepted = await postBodies(d.url, bodies, 4);
      tAccepted = performance.now();
      generator = { generator: 'node (this process)' };
    }
    const final = await waitFinal(d.url, accepted, quick ? 60000 : 180000);
    const t1 = performance.now();
    const figures = meter!.stop(final);
    const text = await scrape(d.url);
    const delivered = metric(text, 'xinge_messages_final_total', { status: 'delivered' });
    const peerStats = await peer.stats();
    return {
      ...(o.intakeThreads !== undefined ? { intake_threads: o.intakeThreads } : {}),
      peer: peer.name,
      batch_accepted: accepted,
      batch_accept_per_s: Math.round(accepted / ((tAccepted - t0) / 1000)),
      batch_e2e_delivered: delivered,
      batch_e2e_per_s: Math.round(final / ((t1 - t0) / 1000)),
      batch_lost: accepted - final,
      accept_to_submit_p50_ms: +(histogramQuantile(text, 'xinge_accept_to_submit_seconds', { lane: 'notification' }, 0.5) * 1000).toFixed(2),
      accept_to_submit_p99_ms: +(histogramQuantile(text, 'xinge_accept_to_submit_seconds', { lane: 'notification' }, 0.99) * 1000).toFixed(2),
      // SPEC 15: accept → the carrier's submit_sm_resp (with 100,000 queued at once, mostly queueing).
      accept_to_resp_p50_ms: +(histogramQuantile(text, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.5) * 1000).toFixed(2),
      accept_to_resp_p99_ms: +(histogramQuantile(text, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.99) * 1000).toFixed(2),
      daemon_rss_mb: Math.round(metric(text, 'xinge_process_resident_memory_bytes') / 1048576),
      // CPU per message of each process, the daemon's threads, the machine's steal (lib/cpu.ts).
      ...figures,
      ...(idle !== undefined ? { daemon_idle_cpu_share: idle } : {}),
      ...generator,
      ...peerBatching(peer0, peerStats, final),
      ...(peerStats !== undefined ? { peer_receipts: peerStats.receipts, peer_receipt_resps: peerStats.receipt_resps } : {}),
    };
  } finally {
    await d.stop();
    await peer.stop();
  }
}

/**
 * Single POSTs at 16 connections, receipts off, counted as submit_sm acknowledged per
 * second. The load is wrk (C) where installed, else autocannon here (lib/http-load.ts); the
 * SMSC is the lean peer.
 */
export async function benchSinglePost(quick: boolean, o: BatchOptions = {}): Promise<E2eResult> {
  const peer = await startThroughputPeer(false);
  const d = await startDaemon({ simPort: peer.port, window: 100, binds: 2, registeredDelivery: 'none', ...(o.intakeThreads !== undefined ? { httpThreads: o.intakeThreads } : {}) });
  try {
    const duration = quick ? 5 : 15;
    const text0 = await scrape(d.url);
    const before = metric(text0, 'xinge_submit_sm_resp_total', { status: 'ESME_ROK' });
    const idle = await idleCpuShare(d.child.pid);
    const peer0 = await peer.stats();
    const meter = startMeter({ daemon: d.child.pid, peer: peer.pid }, ['daemon']);
    const t0 = performance.now();
    const load = await httpLoad('xinge-post', d.url, duration, Number(process.env.XINGE_BENCH_CONNECTIONS ?? 16));
    await waitFinal(d.url, before + load.ok, 30000, 'xinge_submit_sm_resp_total');
    const t1 = performance.now();
    const text1 = await scrape(d.url);
    const acked = metric(text1, 'xinge_submit_sm_resp_total', { status: 'ESME_ROK' }) - before;
    const figures = meter.stop(acked, 'single_');
    const batching = peerBatching(peer0, await peer.stats(), acked, 'single_');
    return {
      ...(o.intakeThreads !== undefined ? { intake_threads: o.intakeThreads } : {}),
      peer: peer.name,
      single_accept_per_s: Math.round(load.ok / load.durationS),
      single_submit_acked_per_s: Math.round(acked / ((t1 - t0) / 1000)),
      single_non2xx: load.non2xx,
      single_errors: load.errors,
      single_latency_p50_ms: load.p50Ms,
      single_latency_p99_ms: load.p99Ms,
      // Accept → the carrier's submit_sm_resp (SPEC 15), interpolated in the daemon's histogram buckets.
      single_accept_to_resp_p50_ms: +(histogramQuantile(text1, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.5) * 1000).toFixed(2),
      single_accept_to_resp_p99_ms: +(histogramQuantile(text1, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.99) * 1000).toFixed(2),
      single_commits_per_msg: +((metric(text1, 'xinge_store_commit_batch_size_count') - metric(text0, 'xinge_store_commit_batch_size_count')) / Math.max(1, acked)).toFixed(2),
      ...figures,
      ...(idle !== undefined ? { single_daemon_idle_cpu_share: idle } : {}),
      ...batching,
      ...generatorFigures('single_', load, acked),
    };
  } finally {
    await d.stop();
    await peer.stop();
  }
}

/** OTP accept → its submit_sm while a marketing backlog drains at full speed. */
export async function benchOtpUnderLoad(quick: boolean): Promise<E2eResult> {
  const backlog = quick ? 30000 : 100000;
  const sim = await startSim({ receipts: 'none' });
  const d = await startDaemon({ simPort: sim.port, window: 100, binds: 2, registeredDelivery: 'none' });
  try {
    await postBatches(d.url, backlog, 1000, 4, 'marketing');
    let sent = 0;
    const otps = quick ? 50 : 200;
    for (let i = 0; i < otps; i++) {
      const r = await postJson(`${d.url}/v1/sms`, { to: number(90000000 + i), text: '您的验证码是493817，5分钟内有效。', category: 'otp' });
      if (r.status === 202) sent++;
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitFinal(d.url, sent, 10000, 'xinge_accept_to_submit_seconds_count');
    const text = await scrape(d.url);
    const remaining = metric(text, 'xinge_queue_depth', { lane: 'marketing' });
    return {
      otp_backlog: backlog,
      otp_sent: sent,
      otp_p50_ms: +(histogramQuantile(text, 'xinge_accept_to_submit_seconds', { lane: 'otp' }, 0.5) * 1000).toFixed(2),
      otp_p99_ms: +(histogramQuantile(text, 'xinge_accept_to_submit_seconds', { lane: 'otp' }, 0.99) * 1000).toFixed(2),
      // And to the carrier's submit_sm_resp: the code is the SMSC's from then on.
      otp_accept_to_resp_p99_ms: +(histogramQuantile(text, 'xinge_accept_to_resp_seconds', { lane: 'otp' }, 0.99) * 1000).toFixed(2),
      otp_backlog_left_at_end: remaining,
    };
  } finally {
    await d.stop();
    await sim.stop();
  }
}

/** RSS with N messages queued (the carrier paused: the queue lives in SQLite). */
export async function benchQueuedRss(quick: boolean): Promise<E2eResult> {
  const total = quick ? 100000 : 1000000;
  const sim = await startSim({ receipts: 'none' });
  const d = await startDaemon({ simPort: sim.port });
  try {
    await postJson(`${d.url}/v1/admin/carriers/sim/pause`, {});
    const t0 = performance.now();
    const accepted = await postBatches(d.url, total, 1000, 4, 'marketing');
    const t1 = performance.now();
    const text = await scrape(d.url);
    // The event loop's longest stall over 5 s with the backlog in place (two periodic queue
    // recounts): the scrape above reset prom-client's delay histogram.
    await new Promise((r) => setTimeout(r, 5000));
    const idle = await scrape(d.url);
    return {
      queued: accepted,
      queued_eventloop_lag_max_ms: Math.round(metric(idle, 'xinge_nodejs_eventloop_lag_max_seconds') * 1000),
      queued_rss_mb_after_5s: Math.round(metric(idle, 'xinge_process_resident_memory_bytes') / 1048576),
      queued_accept_per_s: Math.round(accepted / ((t1 - t0) / 1000)),
      queued_rss_mb: Math.round(metric(text, 'xinge_process_resident_memory_bytes') / 1048576),
      queued_heap_used_mb: Math.round(metric(text, 'xinge_nodejs_heap_size_used_bytes') / 1048576),
      queued_heap_total_mb: Math.round(metric(text, 'xinge_nodejs_heap_size_total_bytes') / 1048576),
      queued_external_mb: Math.round(metric(text, 'xinge_nodejs_external_memory_bytes') / 1048576),
    };
  } finally {
    await d.stop();
    await sim.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Run alone, it uses the dist/ build as it is: `npm run build` first.
  const quick = process.argv.includes('--quick');
  const which = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  const threads = process.argv.find((a) => a.startsWith('--intake-threads='))?.slice(17);
  const all: Record<string, (q: boolean) => Promise<E2eResult>> = { batch: (q) => benchBatchE2e(q, { intakeThreads: threads === undefined ? undefined : Number(threads) }), single: (q) => benchSinglePost(q, { intakeThreads: threads === undefined ? undefined : Number(threads) }), otp: benchOtpUnderLoad, rss: benchQueuedRss };
  for (const [name, fn] of Object.entries(all)) {
    if (which !== undefined && which !== name) continue;
    console.log(name, await fn(quick));
  }
  await agent.close();
}
