/**
 * Issue 15, point 1: webhook targets. A callback_url must have one of the client's
 * callback_origins; the sender refuses at connect time to reach loopback, private,
 * link-local and metadata addresses (an IP literal or a name resolving to one) unless the
 * client's allow_private_callbacks is set. Real sockets on 127.0.0.1 throughout.
 */
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isBlockedAddress } from '../../src/webhooks/address-guard.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';

interface Receiver {
  port: number;
  connections: number;
  bodies: string[];
}

async function receiver(t: Test): Promise<Receiver> {
  const r: Receiver = { port: 0, connections: 0, bodies: [] };
  const srv: Server = createServer((req, res) => {
    let b = '';
    req.on('data', (c: Buffer) => (b += c.toString()));
    req.on('end', () => {
      r.bodies.push(b);
      res.end('ok');
    });
  });
  srv.on('connection', () => r.connections++);
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  r.port = (srv.address() as AddressInfo).port;
  t.teardown(() => new Promise<void>((res) => srv.close(() => res())));
  return r;
}

t.test('blocked address ranges', async (t) => {
  for (const a of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '[::1]', '224.0.0.1']) {
    t.equal(isBlockedAddress(a), true, `${a} blocked`);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) t.equal(isBlockedAddress(a), false, `${a} allowed`);
});

t.test('the sender refuses private targets at connect time unless allowed', async (t) => {
  const rcv = await receiver(t);
  const sender = new WebhookSender({ timeoutMs: 5000 });
  t.teardown(() => sender.close());
  for (const url of [`http://127.0.0.1:${rcv.port}/h`, `http://localhost:${rcv.port}/h`, 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/h', 'http://[::1]:9/h', 'http://[::ffff:127.0.0.1]:9/h']) {
    const started = Date.now();
    const r = await sender.send({ id: 'e1', url, secret: 'sek', body: '{}' });
    t.same(r, { ok: false, error: 'blocked_address', retryable: false }, url);
    t.ok(Date.now() - started < 4000, `${url}: refused without waiting for a timeout`);
  }
  t.equal(rcv.connections, 0, 'the receiver never saw a connection');
  const ok = await sender.send({ id: 'e2', url: `http://127.0.0.1:${rcv.port}/h`, secret: 'sek', body: '{"a":1}', allowPrivate: true });
  t.same(ok, { ok: true, status: 200 });
  t.same(rcv.bodies, ['{"a":1}']);
});

function app(t: Test, client: Record<string, unknown>) {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  Object.assign(obj.clients[0], client);
  obj.webhooks = { initial_backoff_ms: 50, max_backoff_ms: 100, timeout_ms: 2000 };
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  return ta;
}

const sms = (ta: ReturnType<typeof app>, extra: Record<string, unknown>) =>
  ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(TOKEN), payload: { to: '13800138000', text: 'hi', category: 'notification', ...extra } });

t.test('callback_url must match one of the client callback_origins', async (t) => {
  const ta = app(t, { callback_origins: ['http://127.0.0.1:9099', 'https://hooks.example.com'] });
  for (const url of ['http://127.0.0.1:9098/x', 'http://169.254.169.254/latest', 'https://hooks.example.com.evil.test/x', 'https://evil.test/?https://hooks.example.com', 'http://hooks.example.com/x', 'https://hooks.example.com:8443/x']) {
    const r = await sms(ta, { callback_url: url });
    t.equal(r.statusCode, 400, url);
    t.match(r.json(), { error: { code: 'callback_not_allowed', field: 'callback_url' } }, url);
  }
  for (const url of ['http://127.0.0.1:9099/hooks?id=1', 'https://hooks.example.com/a/b', 'https://HOOKS.example.com:443/x']) {
    const r = await sms(ta, { callback_url: url });
    t.equal(r.statusCode, 202, `${url}: ${r.body}`);
  }
  const none = app(t, {});
  const r = await sms(none, { callback_url: 'https://hooks.example.com/x' });
  t.match(r.json(), { error: { code: 'callback_not_allowed', message: /no callback_origins/ } }, 'a client without origins takes no callback_url');
});

t.test('end to end: a status webhook to a loopback receiver is refused, then delivered with allow_private_callbacks', async (t) => {
  for (const allow of [false, true]) {
    const rcv = await receiver(t);
    const origin = `http://127.0.0.1:${rcv.port}`;
    const ta = app(t, { webhook_url: `${origin}/hook`, callback_origins: [origin], allow_private_callbacks: allow, allow_http_callbacks: true });
    await ta.app.start();
    const fc = ta.connectors.get('c1')!;
    const r = await sms(ta, { callback_url: `${origin}/cb` });
    t.equal(r.statusCode, 202, r.body);
    await waitFor(() => fc.submits.length === 1, 5000, 'submit');
    await waitFor(() => ta.app.store.messages.getMessage(r.json().id)?.status === 'submitted', 5000, 'submitted');
    t.equal(await fc.receipt('1000', 'DELIVRD'), 0);
    const result = allow ? 'ok' : 'dead';
    const deadline = Date.now() + 8000;
    for (;;) {
      const m = await ta.app.metrics.webhooks.get();
      if (m.values.some((v) => v.labels.result === result && v.value >= 1)) break;
      if (Date.now() > deadline) throw new Error(`no webhook ${result}: ${JSON.stringify(m.values)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    if (allow) {
      t.equal(rcv.bodies.length, 1, 'delivered to the callback_url');
      t.match(JSON.parse(rcv.bodies[0]!), { type: 'message.status', status: 'delivered' });
    } else {
      t.equal(rcv.connections, 0, 'refused: never connected, given up without retries');
      const retries = (await ta.app.metrics.webhooks.get()).values.find((v) => v.labels.result === 'retry')?.value ?? 0;
      t.equal(retries, 0, 'a blocked address is not retried');
    }
  }
});
