/**
 * End-to-end scenarios (SPEC 15, issue 7): the daemon and the simulator each in their own
 * process, the load from this one. Every count and duration is bounded.
 */
import autocannon from 'autocannon';
import { request, Agent } from 'undici';
import { BENCH_TOKEN, childCpuSeconds, childMainThreadCpuSeconds, histogramQuantile, metric, scrape, startDaemon, startSim } from './lib/procs.js';

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
  [k: string]: number;
}

/** Batch intake, every message receipted: accept → store → submit_sm → resp → receipt → delivered committed. */
export async function benchBatchE2e(quick: boolean): Promise<E2eResult> {
  const total = quick ? 20000 : 100000;
  const sim = await startSim({ receipts: 'all', receiptDelayMs: 0 });
  const d = await startDaemon({ simPort: sim.port, window: 200, binds: 2 });
  try {
    const cpu0 = metric(await scrape(d.url), 'xinge_process_cpu_seconds_total');
    const simCpu0 = childCpuSeconds(sim.child);
    const main0 = childMainThreadCpuSeconds(d.child);
    const t0 = performance.now();
    const accepted = await postBatches(d.url, total, 1000, 4);
    const tAccepted = performance.now();
    const final = await waitFinal(d.url, accepted, quick ? 60000 : 180000);
    const t1 = performance.now();
    const mainCpu = childMainThreadCpuSeconds(d.child) - main0;
    const text = await scrape(d.url);
    const delivered = metric(text, 'xinge_messages_final_total', { status: 'delivered' });
    return {
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
      // CPU per message, independent of what else the machine runs.
      daemon_cpu_us_per_msg: Math.round(((metric(text, 'xinge_process_cpu_seconds_total') - cpu0) / Math.max(1, final)) * 1e6),
      sim_cpu_us_per_msg: Math.round(((childCpuSeconds(sim.child) - simCpu0) / Math.max(1, final)) * 1e6),
      // The event loop's thread alone: near 1.0 busy means it, not the machine, bounds the rate.
      daemon_main_thread_us_per_msg: Math.round((mainCpu / Math.max(1, final)) * 1e6),
      daemon_main_thread_busy: +(mainCpu / ((t1 - t0) / 1000)).toFixed(2),
    };
  } finally {
    await d.stop();
    await sim.stop();
  }
}

/** Single POSTs at concurrency 16, receipts off, counted as submit_sm acknowledged per second. */
export async function benchSinglePost(quick: boolean): Promise<E2eResult> {
  const sim = await startSim({ receipts: 'none' });
  const d = await startDaemon({ simPort: sim.port, window: 100, binds: 2, registeredDelivery: 'none' });
  try {
    const duration = quick ? 5 : 15;
    let i = 0;
    const text0 = await scrape(d.url);
    const before = metric(text0, 'xinge_submit_sm_resp_total', { status: 'ESME_ROK' });
    const cpu0 = metric(text0, 'xinge_process_cpu_seconds_total');
    const simCpu0 = childCpuSeconds(sim.child);
    const main0 = childMainThreadCpuSeconds(d.child);
    const t0 = performance.now();
    const result = await autocannon({
      url: `${d.url}/v1/sms`,
      method: 'POST',
      connections: 16,
      duration,
      headers,
      requests: [
        {
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ to: number(i++), text: 'Your repayment is due tomorrow.', category: 'notification' }) }),
        },
      ],
    });
    await waitFinal(d.url, result['2xx'], 30000, 'xinge_submit_sm_resp_total');
    const t1 = performance.now();
    const mainCpu = childMainThreadCpuSeconds(d.child) - main0;
    const text1 = await scrape(d.url);
    const acked = metric(text1, 'xinge_submit_sm_resp_total', { status: 'ESME_ROK' }) - before;
    const cpu = metric(text1, 'xinge_process_cpu_seconds_total') - cpu0;
    return {
      single_accept_per_s: Math.round(result['2xx'] / duration),
      single_submit_acked_per_s: Math.round(acked / ((t1 - t0) / 1000)),
      single_non2xx: result.non2xx,
      single_latency_p50_ms: result.latency.p50,
      single_latency_p99_ms: result.latency.p99,
      // Accept → the carrier's submit_sm_resp (SPEC 15), interpolated in the daemon's histogram buckets.
      single_accept_to_resp_p50_ms: +(histogramQuantile(text1, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.5) * 1000).toFixed(2),
      single_accept_to_resp_p99_ms: +(histogramQuantile(text1, 'xinge_accept_to_resp_seconds', { lane: 'notification' }, 0.99) * 1000).toFixed(2),
      single_daemon_cpu_share: +(cpu / ((t1 - t0) / 1000)).toFixed(2),
      single_daemon_cpu_us_per_msg: Math.round((cpu / Math.max(1, acked)) * 1e6),
      single_commits_per_msg: +((metric(text1, 'xinge_store_commit_batch_size_count') - metric(text0, 'xinge_store_commit_batch_size_count')) / Math.max(1, acked)).toFixed(2),
      single_sim_cpu_us_per_msg: Math.round(((childCpuSeconds(sim.child) - simCpu0) / Math.max(1, acked)) * 1e6),
      single_daemon_main_thread_us_per_msg: Math.round((mainCpu / Math.max(1, acked)) * 1e6),
      single_daemon_main_thread_busy: +(mainCpu / ((t1 - t0) / 1000)).toFixed(2),
    };
  } finally {
    await d.stop();
    await sim.stop();
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
  const all: Record<string, (q: boolean) => Promise<E2eResult>> = { batch: benchBatchE2e, single: benchSinglePost, otp: benchOtpUnderLoad, rss: benchQueuedRss };
  for (const [name, fn] of Object.entries(all)) {
    if (which !== undefined && which !== name) continue;
    console.log(name, await fn(quick));
  }
  await agent.close();
}
