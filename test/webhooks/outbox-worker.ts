import t from 'tap';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboxWorker } from '../../src/webhooks/outbox-worker.js';
import type { OutboxEvent, OutboxMetrics, OutboxStore } from '../../src/webhooks/outbox-types.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { hasOpenssl, opensslSignature } from './fixtures/openssl.js';
import { freePort } from '../helpers/free-port.js';

type State = 'pending' | 'delivered' | 'dead';
interface Row extends OutboxEvent {
  state: State;
  lastError?: string;
  retries: Array<{ nextAttemptAt: number; attempts: number; lastError: string }>;
}

/** An in-memory store with leases, as the real one must behave. */
class MemStore implements OutboxStore {
  rows = new Map<string, Row>();
  claims = 0;
  constructor(private leaseMs = 60_000) {}
  add(ev: Omit<OutboxEvent, 'attempts' | 'nextAttemptAt'> & Partial<OutboxEvent>): void {
    this.rows.set(ev.id, { attempts: 0, nextAttemptAt: ev.createdAt, ...ev, state: 'pending', retries: [] });
  }
  claimDue(now: number, limit: number): OutboxEvent[] {
    this.claims++;
    const due = [...this.rows.values()]
      .filter((r) => r.state === 'pending' && r.nextAttemptAt <= now)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit);
    const out = due.map((r) => ({ id: r.id, url: r.url, secret: r.secret, body: r.body, allowPrivate: true, attempts: r.attempts, createdAt: r.createdAt, nextAttemptAt: r.nextAttemptAt }));
    for (const r of due) r.nextAttemptAt = now + this.leaseMs; // lease
    return out;
  }
  markDelivered(id: string): void {
    this.rows.get(id)!.state = 'delivered';
  }
  markRetry(id: string, nextAttemptAt: number, attempts: number, lastError: string): void {
    const r = this.rows.get(id)!;
    r.nextAttemptAt = nextAttemptAt;
    r.attempts = attempts;
    r.lastError = lastError;
    r.retries.push({ nextAttemptAt, attempts, lastError });
  }
  markDead(id: string, _now: number, lastError: string): void {
    const r = this.rows.get(id)!;
    r.state = 'dead';
    r.lastError = lastError;
  }
}

function metricsRecorder(): OutboxMetrics & { counts: Record<string, number>; ages: number[] } {
  const counts: Record<string, number> = { ok: 0, retry: 0, dead: 0 };
  const ages: number[] = [];
  return {
    counts,
    ages,
    delivered: (r) => void (counts[r] = (counts[r] ?? 0) + 1),
    queueAgeSeconds: (s) => void ages.push(s),
  };
}

async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}


interface Hit {
  id: string;
  ts: string;
  sig: string;
  body: Buffer;
  status: number;
}

function hookServer(decide: (id: string, nth: number) => number): { server: Server; hits: Hit[]; live: () => number; maxLive: () => number } {
  const hits: Hit[] = [];
  const seen = new Map<string, number>();
  let live = 0;
  let maxLive = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    live++;
    maxLive = Math.max(maxLive, live);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-xinge-event-id']);
      const nth = (seen.get(id) ?? 0) + 1;
      seen.set(id, nth);
      const status = decide(id, nth);
      hits.push({ id, ts: String(req.headers['x-xinge-timestamp']), sig: String(req.headers['x-xinge-signature']), body: Buffer.concat(chunks), status });
      const delay = req.url?.includes('slow') ? 60 : 0;
      setTimeout(() => {
        live--;
        res.statusCode = status;
        res.end();
      }, delay);
    });
  });
  return { server, hits, live: () => live, maxLive: () => maxLive };
}

const SECRET = 'whsec_outbox_测试';
const bodies = {
  'evt-a': '{"event":"message.status","id":"m-a","status":"delivered"}',
  'evt-b': '{ "event": "message.status", "id": "m-b", "status": "undeliverable", "error": {"code":"MK:0005"} }',
  'evt-c': '{"event":"mo","intent":"paid","text":"已还款，谢谢","n":1.50}',
};

t.test('endpoint down, then up: retried, then each event exactly once, exact body, valid signature', async (t) => {
  const port = await freePort();
  const store = new MemStore();
  const t0 = Date.now();
  for (const [id, body] of Object.entries(bodies)) {
    store.add({ id, url: `http://127.0.0.1:${port}/hooks/xinge?tenant=1`, secret: SECRET, body, createdAt: t0 });
  }
  const sender = new WebhookSender({ timeoutMs: 1000 });
  const metrics = metricsRecorder();
  const worker = new OutboxWorker({
    store,
    sender,
    maxAgeS: 3600,
    backoff: { initialMs: 20, maxMs: 80 },
    concurrency: 2,
    pollIntervalMs: 25,
    metrics,
  });
  const srv = hookServer((id, nth) => (id === 'evt-b' && nth === 1 ? 503 : 204));
  t.teardown(async () => {
    await worker.stop();
    await sender.close();
    srv.server.close();
  });

  worker.start();
  // Connection refused: every event is retried, with backoff.
  await waitFor(() => [...store.rows.values()].every((r) => r.attempts >= 2), 5000, 'two failed attempts each');
  for (const r of store.rows.values()) {
    t.equal(r.state, 'pending');
    t.equal(r.lastError, 'ECONNREFUSED');
    t.ok(r.retries.every((x, i) => x.attempts === i + 1), 'attempts count up');
  }
  t.equal(srv.hits.length, 0);

  // The endpoint comes up on the same port.
  await new Promise<void>((resolve) => srv.server.listen(port, '127.0.0.1', resolve));
  await waitFor(() => [...store.rows.values()].every((r) => r.state === 'delivered'), 5000, 'all delivered');
  // Nothing more arrives afterwards.
  await new Promise((r) => setTimeout(r, 150));

  const ok = srv.hits.filter((h) => h.status === 204);
  t.same(ok.map((h) => h.id).sort(), ['evt-a', 'evt-b', 'evt-c'], 'each event accepted exactly once');
  const bHits = srv.hits.filter((h) => h.id === 'evt-b');
  t.same(bHits.map((h) => h.status), [503, 204], 'evt-b: 503, retried with the same event id, then accepted');
  t.equal(srv.hits.length, 4);
  for (const h of srv.hits) {
    const want = bodies[h.id as keyof typeof bodies];
    t.ok(h.body.equals(Buffer.from(want, 'utf8')), `${h.id}: body as recorded, byte for byte`);
    t.match(h.ts, /^\d{10}$/);
    t.ok(Math.abs(Number(h.ts) - Date.now() / 1000) < 60, 'timestamp is now, in seconds');
    if (hasOpenssl()) t.equal(h.sig, opensslSignature(SECRET, h.ts, h.body), `${h.id}: signature checked with openssl`);
  }
  t.equal(metrics.counts.ok, 3);
  t.ok(metrics.counts.retry! >= 7, `retries counted (${metrics.counts.retry})`);
  t.equal(metrics.counts.dead, 0);
  t.equal(metrics.ages.length, 3);
  t.ok(metrics.ages.every((a) => a >= 0 && a < 60));
});

t.test('max age: dead after the deadline, retries clamped to it', async (t) => {
  const port = await freePort();
  let clock = 1_800_000_000_000;
  const store = new MemStore();
  store.add({ id: 'old', url: `http://127.0.0.1:${port}/x`, secret: 's', body: '{}', createdAt: clock });
  const metrics = metricsRecorder();
  const sender = new WebhookSender({ timeoutMs: 1000 });
  const worker = new OutboxWorker({
    store,
    sender,
    maxAgeS: 10,
    backoff: { initialMs: 60_000, maxMs: 3_600_000 }, // far past the 10 s deadline
    concurrency: 1,
    pollIntervalMs: 20,
    now: () => clock,
    metrics,
  });
  t.teardown(async () => {
    await worker.stop();
    await sender.close();
  });
  worker.start();
  const row = store.rows.get('old')!;
  await waitFor(() => row.attempts === 1, 5000, 'first failure');
  t.equal(row.nextAttemptAt, row.createdAt + 10_000, 'next attempt clamped to createdAt + max_age_s');
  t.equal(row.state, 'pending');

  clock += 10_000; // the deadline
  worker.wake();
  await waitFor(() => row.state === 'dead', 5000, 'dead');
  t.equal(row.lastError, 'ECONNREFUSED');
  t.equal(row.attempts, 1, 'the attempt at the deadline was made, then given up');
  t.same(metrics.counts, { ok: 0, retry: 1, dead: 1 });
  const claims = store.claims;
  clock += 3_600_000;
  await new Promise((r) => setTimeout(r, 80));
  t.ok(store.claims > claims, 'still polling');
  t.equal(row.state, 'dead', 'dead stays dead');
});

t.test('410 Gone: dead at once, no retry', async (t) => {
  const srv = hookServer(() => 410);
  await new Promise<void>((resolve) => srv.server.listen(0, '127.0.0.1', resolve));
  const { port } = srv.server.address() as AddressInfo;
  const store = new MemStore();
  store.add({ id: 'gone', url: `http://127.0.0.1:${port}/x`, secret: 's', body: '{}', createdAt: Date.now() });
  const metrics = metricsRecorder();
  const sender = new WebhookSender({ timeoutMs: 1000 });
  const worker = new OutboxWorker({ store, sender, maxAgeS: 3600, backoff: { initialMs: 10, maxMs: 20 }, concurrency: 1, pollIntervalMs: 10, metrics });
  t.teardown(async () => {
    await worker.stop();
    await sender.close();
    srv.server.close();
  });
  worker.start();
  await waitFor(() => store.rows.get('gone')!.state === 'dead');
  await new Promise((r) => setTimeout(r, 60));
  t.equal(srv.hits.length, 1);
  t.equal(store.rows.get('gone')!.lastError, 'HTTP 410');
  t.same(metrics.counts, { ok: 0, retry: 0, dead: 1 });
});

t.test('concurrency limit, wake(), stop() waits for in-flight', async (t) => {
  const srv = hookServer(() => 200);
  await new Promise<void>((resolve) => srv.server.listen(0, '127.0.0.1', resolve));
  const { port } = srv.server.address() as AddressInfo;
  const store = new MemStore();
  const sender = new WebhookSender({ timeoutMs: 2000 });
  const worker = new OutboxWorker({
    store,
    sender,
    maxAgeS: 3600,
    backoff: { initialMs: 10, maxMs: 20 },
    concurrency: 2,
    pollIntervalMs: 60_000, // only wake() and completions drive it
  });
  t.teardown(async () => {
    await worker.stop();
    await sender.close();
    srv.server.close();
  });
  worker.start();
  await new Promise((r) => setTimeout(r, 20));
  const now = Date.now();
  for (let i = 0; i < 6; i++) store.add({ id: `c${i}`, url: `http://127.0.0.1:${port}/slow`, secret: 's', body: `{"i":${i}}`, createdAt: now });
  const t0 = Date.now();
  worker.wake();
  await waitFor(() => worker.inFlight > 0, 2000, 'woken');
  t.ok(Date.now() - t0 < 1000, 'wake() ran without waiting for the poll');
  await waitFor(() => [...store.rows.values()].every((r) => r.state === 'delivered'), 5000, 'all delivered');
  t.equal(srv.maxLive(), 2, 'never more than 2 in flight');
  t.equal(srv.hits.length, 6);

  // stop() resolves after the in-flight delivery is recorded; nothing is claimed afterwards.
  store.add({ id: 'last', url: `http://127.0.0.1:${port}/slow`, secret: 's', body: '{}', createdAt: Date.now() });
  worker.wake();
  await waitFor(() => worker.inFlight === 1, 2000, 'in flight');
  await worker.stop();
  t.equal(store.rows.get('last')!.state, 'delivered', 'in-flight delivery finished and recorded before stop resolved');
  store.add({ id: 'after', url: `http://127.0.0.1:${port}/x`, secret: 's', body: '{}', createdAt: Date.now() });
  worker.wake();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(store.rows.get('after')!.state, 'pending', 'stopped: nothing sent');
});

t.test('store errors do not stop the loop; a store that does not lease never gets double sends', async (t) => {
  const srv = hookServer(() => 200);
  await new Promise<void>((resolve) => srv.server.listen(0, '127.0.0.1', resolve));
  const { port } = srv.server.address() as AddressInfo;
  const inner = new MemStore(0); // lease 0: returns in-flight events again
  let failClaims = 2;
  const errors: unknown[] = [];
  const store: OutboxStore = {
    claimDue: (now, limit) => {
      if (failClaims-- > 0) throw new Error('database is locked');
      return inner.claimDue(now, limit);
    },
    markDelivered: (id, now) => inner.markDelivered(id),
    markRetry: (...a) => inner.markRetry(...a),
    markDead: (...a) => inner.markDead(...a),
  };
  inner.add({ id: 'x1', url: `http://127.0.0.1:${port}/slow`, secret: 's', body: '{}', createdAt: Date.now() });
  const sender = new WebhookSender({ timeoutMs: 2000 });
  const worker = new OutboxWorker({ store, sender, maxAgeS: 60, backoff: { initialMs: 10, maxMs: 20 }, concurrency: 4, pollIntervalMs: 5, onError: (e) => errors.push(e) });
  t.teardown(async () => {
    await worker.stop();
    await sender.close();
    srv.server.close();
  });
  worker.start();
  await waitFor(() => inner.rows.get('x1')!.state === 'delivered', 5000, 'delivered');
  t.equal(errors.length, 2, 'store errors reported');
  t.equal(srv.hits.length, 1, 'sent once although the store returned it again while in flight');
});
