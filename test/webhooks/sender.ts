import t from 'tap';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookSender, nextBackoffMs } from '../../src/webhooks/sender.js';
import { verifyWebhook } from '../../src/webhooks/sign.js';
import { hasOpenssl, opensslSignature } from './fixtures/openssl.js';
import { freePort } from '../helpers/free-port.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function listen(handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Promise<{
  server: Server;
  base: string;
  seen: Seen[];
  connections: () => number;
}> {
  const seen: Seen[] = [];
  let conns = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  server.on('connection', () => conns++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, seen, connections: () => conns };
}


const NOW = 1_717_000_000_123;
const BODY = '{"event":"message.status","id":"m-1","status":"delivered","text_len":12,"note":"还款 ✓"}';

t.test('2xx: headers, exact body, signature, keep-alive', async (t) => {
  const srv = await listen((req, _b, res) => {
    res.statusCode = req.url === '/204' ? 204 : 200;
    res.end('thanks');
  });
  const sender = new WebhookSender({ timeoutMs: 2000, now: () => NOW });
  t.teardown(async () => {
    await sender.close();
    srv.server.close();
  });

  const r = await sender.send({ id: 'evt-1', url: `${srv.base}/hook?x=1`, secret: 'sek', body: BODY, allowPrivate: true });
  t.same(r, { ok: true, status: 200 });
  const r2 = await sender.send({ id: 'evt-2', url: `${srv.base}/204`, secret: 'sek', body: BODY, allowPrivate: true });
  t.same(r2, { ok: true, status: 204 });

  const s = srv.seen[0]!;
  t.equal(s.method, 'POST');
  t.equal(s.url, '/hook?x=1');
  t.equal(s.headers['content-type'], 'application/json');
  t.equal(s.headers['x-xinge-event-id'], 'evt-1');
  t.equal(s.headers['x-xinge-timestamp'], '1717000000', 'Unix seconds');
  t.ok(s.body.equals(Buffer.from(BODY, 'utf8')), 'body byte for byte');
  const sig = String(s.headers['x-xinge-signature']);
  t.match(sig, /^sha256=[0-9a-f]{64}$/);
  t.ok(verifyWebhook('sek', '1717000000', s.body, sig));
  if (hasOpenssl()) t.equal(sig, opensslSignature('sek', '1717000000', s.body), 'openssl agrees');
  for (let i = 0; i < 6; i++) {
    t.same(await sender.send({ id: `k${i}`, url: `${srv.base}/k`, secret: 'sek', body: '{}', allowPrivate: true }), { ok: true, status: 200 });
  }
  // The pool may open a second socket while the first is finishing, but not one per request.
  t.ok(srv.connections() <= 2, `8 requests on ${srv.connections()} sockets (keep-alive)`);
});

t.test('failures: everything retryable except 410', async (t) => {
  const srv = await listen((req, _b, res) => {
    const code = Number(req.url!.slice(1));
    if (code >= 300 && code < 400) res.setHeader('location', 'http://127.0.0.1:1/elsewhere');
    res.statusCode = code;
    res.end('nope');
  });
  const sender = new WebhookSender({ timeoutMs: 2000 });
  t.teardown(async () => {
    await sender.close();
    srv.server.close();
  });
  for (const code of [302, 400, 401, 404, 408, 429, 500, 502, 503]) {
    const r = await sender.send({ id: 'e', url: `${srv.base}/${code}`, secret: 's', body: '{}', allowPrivate: true });
    t.same(r, { ok: false, status: code, error: `HTTP ${code}`, retryable: true }, String(code));
  }
  const gone = await sender.send({ id: 'e', url: `${srv.base}/410`, secret: 's', body: '{}', allowPrivate: true });
  t.same(gone, { ok: false, status: 410, error: 'HTTP 410', retryable: false });
  t.equal(srv.seen.length, 10, 'redirect not followed');
});

t.test('connection refused is retryable', async (t) => {
  const port = await freePort();
  const sender = new WebhookSender({ timeoutMs: 2000 });
  t.teardown(() => sender.close());
  const r = await sender.send({ id: 'e', url: `http://127.0.0.1:${port}/x`, secret: 's', body: '{}', allowPrivate: true });
  t.same(r, { ok: false, error: 'ECONNREFUSED', retryable: true });
});

t.test('timeout is retryable and bounded by timeoutMs', async (t) => {
  const srv = await listen(() => {
    /* never answer */
  });
  const sender = new WebhookSender({ timeoutMs: 300 });
  t.teardown(async () => {
    await sender.close();
    srv.server.closeAllConnections();
    srv.server.close();
  });
  const t0 = Date.now();
  const r = await sender.send({ id: 'e', url: `${srv.base}/slow`, secret: 's', body: '{}', allowPrivate: true });
  const took = Date.now() - t0;
  t.same(r, { ok: false, error: 'timeout', retryable: true });
  t.ok(took >= 250 && took < 2000, `took ${took} ms`);
});

t.test('invalid URLs are not retryable', async (t) => {
  const sender = new WebhookSender({ timeoutMs: 300 });
  t.teardown(() => sender.close());
  t.same(await sender.send({ id: 'e', url: 'ftp://127.0.0.1/x', secret: 's', body: '{}', allowPrivate: true }), {
    ok: false,
    error: 'invalid_url',
    retryable: false,
  });
  t.same(await sender.send({ id: 'e', url: 'not a url', secret: 's', body: '{}', allowPrivate: true }), {
    ok: false,
    error: 'invalid_url',
    retryable: false,
  });
});

t.test('nextBackoffMs: exponential, equal jitter, capped', async (t) => {
  const o = { initialMs: 1000, maxMs: 60_000 };
  t.equal(nextBackoffMs(1, o, () => 0), 500);
  t.equal(nextBackoffMs(1, o, () => 0.999999), 1000);
  t.equal(nextBackoffMs(2, o, () => 0), 1000);
  t.equal(nextBackoffMs(3, o, () => 1), 4000);
  t.equal(nextBackoffMs(7, o, () => 1), 60_000, 'capped: 64 s → 60 s');
  t.equal(nextBackoffMs(10_000, o, () => 0), 30_000, 'huge attempt: no overflow');
  t.equal(nextBackoffMs(0, o, () => 1), 1000, 'attempt < 1 counts as 1');
  for (let a = 1; a < 40; a++) {
    const v = nextBackoffMs(a, o);
    const base = Math.min(60_000, 1000 * 2 ** (a - 1));
    t.ok(v >= base / 2 && v <= base, `attempt ${a}: ${v}`);
  }
});
