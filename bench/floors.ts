/**
 * Floors (issue 7): what the chosen stack costs before xinge does any work, measured in
 * the same run as the scenarios they bound.
 *
 * - `http`: a fastify server (the daemon's version) that only does what every intake
 *   request must do — bearer-token digest, JSON parse, a 202 with a JSON body — in its own
 *   process, under the single-POST scenario's exact load (wrk or its fallback, 16
 *   connections, the same bodies). Its requests/s is a ceiling for xinge's single POSTs on this machine.
 * - `store`: the SQLite statements one receipted message costs (insert, peek + claim,
 *   submitted, receipts settled a turn at a time as the daemon does), on one thread, nothing else running:
 *   CPU µs per message, and the messages/s that alone would allow.
 *
 * `npx tsx bench/floors.ts [--quick]`.
 */
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/index.js';
import type { ClaimedSegment } from '../src/store/types.js';
import { startMeter } from './lib/cpu.js';
import { generatorFigures, httpLoad } from './lib/http-load.js';
import { BENCH_TOKEN, stopChild } from './lib/procs.js';

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The child: the floor server, on 127.0.0.1, its port sent to the parent. */
async function serveHttpFloor(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { createHash, timingSafeEqual } = await import('node:crypto');
  const want = createHash('sha256').update(BENCH_TOKEN).digest();
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('preHandler', async (req, reply) => {
    const h = req.headers.authorization ?? '';
    if (!timingSafeEqual(createHash('sha256').update(h.slice(7)).digest(), want)) await reply.code(401).send();
  });
  let n = 0;
  app.post('/v1/sms', async (_req, reply) => {
    reply.code(202);
    return { id: `m${n++}`, status: 'queued', segments: 1, encoding: 'gsm7' };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!((app.server.address() as { port: number }).port);
}

export async function benchHttpFloor(quick: boolean): Promise<Record<string, number | string>> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve-http-floor'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('floor server did not start')), 20000);
      child.once('message', (p) => {
        clearTimeout(timer);
        resolve(p as number);
      });
      child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    });
    const duration = quick ? 5 : 10;
    const meter = startMeter({ server: child.pid });
    const load = await httpLoad('xinge-post', `http://127.0.0.1:${port}`, duration);
    const { http_floor_server_cpu_us_per_msg: perReq, ...figures } = meter.stop(load.ok, 'http_floor_');
    return {
      http_floor_per_s: Math.round(load.ok / load.durationS),
      http_floor_non2xx: load.non2xx,
      http_floor_server_cpu_us_per_req: Number(perReq),
      http_floor_latency_p99_ms: load.p99Ms,
      ...figures,
      ...generatorFigures('http_floor_', load, load.ok),
    };
  } finally {
    await stopChild(child);
  }
}

/** Best of `rounds` rounds (the machine is shared and noisy) of `n` messages through the store alone. */
export function benchStoreFloor(quick: boolean): Record<string, number> {
  const n = quick ? 10000 : 20000;
  const rounds = quick ? 3 : 5;
  const best = new Map<string, number>();
  const dir = path.join(tmpdir(), `xinge-store-floor-${process.pid}`);
  for (let round = 0; round < rounds; round++) {
    rmSync(dir, { recursive: true, force: true });
    const st = openStore({ path: path.join(dir, 'x.db') });
    const m = st.messages;
    const now = Date.now();
    let t = cpuMicros();
    const lap = (name: string) => {
      const c = cpuMicros();
      best.set(name, Math.min(best.get(name) ?? Infinity, (c - t) / n));
      t = c;
    };
    m.transaction(() => {
      for (let i = 0; i < n; i++) {
        m.insertMessage({
          id: `M${(1e12 + round * n + i).toString(36)}`, client: 'c', category: 'notification', to: `+86138${String(i).padStart(8, '0')}`,
          text: '尊敬的客户，您的借款将于明日到期，请按时还款。', encoding: 'ucs2', segmentation: 'udh8', segments: 1, carrierId: 'sim',
          concatRef: 0, sendAt: now, expiresAt: now + 1e6, createdAt: now,
        });
      }
    });
    lap('store_insert_us');
    const claimed: ClaimedSegment[] = [];
    while (claimed.length < n) {
      const got = m.peekDue('sim', 'notification', now + 1, 200, new Set());
      if (got.length === 0) throw new Error(`store floor: ${claimed.length} of ${n} peeked`);
      m.transaction(() => m.markClaimed(got.map((c) => c.id), got.map((c) => c.messageId), now));
      claimed.push(...got);
    }
    lap('store_peek_claim_us');
    m.transaction(() => {
      for (const c of claimed) m.markSubmitted(c.id, c.messageId, 1, String(c.id), now, false, c.carrierId);
    });
    lap('store_submitted_us');
    // As the receipt handler does: a turn's receipts (300 here) in one settleReceipts call.
    for (let i = 0; i < claimed.length; i += 300) {
      const items = claimed.slice(i, i + 300).map((c) => ({
        carrierId: 'sim', keys: [String(c.id)], settle: { status: 'delivered' as const, stat: 'DELIVRD', err: '000', errorCode: null, errorText: null },
      }));
      m.transaction(() => m.settleReceipts(items, now));
    }
    lap('store_receipt_us');
    st.close();
  }
  rmSync(dir, { recursive: true, force: true });
  const out: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of best) {
    out[k] = +v.toFixed(1);
    total += v;
  }
  out.store_total_us_per_msg = +total.toFixed(1);
  out.store_alone_max_msgs_per_s = Math.round(1e6 / total);
  return out;
}

if (process.argv.includes('--serve-http-floor')) {
  await serveHttpFloor();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  console.log('store', benchStoreFloor(quick));
  console.log('http', await benchHttpFloor(quick));
}
