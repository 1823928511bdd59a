/** The drain reports the step it is in, so a daemon whose drain overruns can say where it hung. */
import t from 'tap';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

t.test('drainStep: none before the drain, each step in order during it, done after', async (t) => {
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  await ta.app.start();
  t.equal(ta.app.drainStep(), undefined, 'no drain yet');
  const seen: string[] = [];
  const watch = setInterval(() => {
    const s = ta.app.drainStep();
    if (s !== undefined && seen.at(-1) !== s) seen.push(s);
  }, 0);
  const connector = ta.connectors.get('c1')!;
  const stop = connector.stop.bind(connector);
  // The carrier's unbind takes a while: the step is visible meanwhile.
  connector.stop = async () => {
    await new Promise((r) => setTimeout(r, 50));
    return stop();
  };
  await ta.app.drain();
  clearInterval(watch);
  t.equal(ta.app.drainStep(), 'done');
  t.ok(seen.includes('carrier unbinds'), `steps seen: ${seen.join(', ')}`);
  const order = ['in-flight submits', 'carrier unbinds', 'webhook outbox', 'inbound flush', 'HTTP close', 'store close', 'done'];
  const idx = seen.map((s) => order.indexOf(s));
  t.ok(idx.every((v, i) => v >= 0 && (i === 0 || v > idx[i - 1]!)), 'known steps, in order');
});

t.test('HTTP close does not wait out the keep-alive timeout for sockets Node leaves open', async (t) => {
  const { connect } = await import('node:net');
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  const { port } = await ta.app.start();
  const openSocket = () =>
    new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', () => undefined);
    });
  // One socket that connected and never sends a request (Node's close leaves it open); one
  // whose request is half sent when the drain starts (not idle, so not reaped either).
  const silent = await openSocket();
  const midRequest = await openSocket();
  let answer = '';
  midRequest.on('data', (d) => (answer += d.toString('latin1')));
  const body = JSON.stringify({ to: '13800138000', text: 'late', category: 'notification' });
  midRequest.write('POST /v1/sms HTTP/1.1\r\nHost: x\r\n');
  await new Promise((r) => setTimeout(r, 20));
  const closedAt = (s: import('node:net').Socket) => new Promise<number>((r) => s.once('close', () => r(Date.now())));
  const both = Promise.all([closedAt(silent), closedAt(midRequest)]);
  const started = Date.now();
  const drained = ta.app.drain();
  while (ta.app.drainStep() !== 'HTTP close') await new Promise((r) => setTimeout(r, 1));
  // The rest of the request arrives while fastify closes: the API's own 503, and the socket
  // is told to go.
  midRequest.write(`Authorization: ${auth().authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  await drained;
  const ends = await both;
  t.match(answer, /^HTTP\/1\.1 503/);
  t.match(answer, /connection: close/i);
  t.match(answer, /"code":"draining"/, 'the error in the API shape, not fastify\'s own');
  t.equal(ta.app.drainStep(), 'done');
  // fastify's keepAliveTimeout is 72 s: a close waiting for these sockets would not end here.
  t.ok(Date.now() - started < 10000, `drain took ${Date.now() - started} ms`);
  t.ok(ends.every((e) => e - started < 10000), 'both sockets closed by the drain');
});

t.test('a draining daemon answers 503 draining with Connection: close', async (t) => {
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  await ta.app.start();
  const connector = ta.connectors.get('c1')!;
  const stop = connector.stop.bind(connector);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  connector.stop = async () => {
    await held;
    return stop();
  };
  const drained = ta.app.drain();
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload: { to: '13800138000', text: 'x', category: 'notification' } });
  t.equal(res.statusCode, 503);
  t.equal(res.json().error.code, 'draining');
  t.equal(res.headers.connection, 'close');
  release();
  await drained;
});

t.test('a webhook receiver that never answers holds the drain only for what is left of the grace', async (t) => {
  const { createServer } = await import('node:http');
  const { default: Database } = await import('better-sqlite3');
  let received = 0;
  const hanging = createServer(() => {
    received++; // never answers
  });
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    hanging.closeAllConnections();
    hanging.close();
  });
  const port = (hanging.address() as import('node:net').AddressInfo).port;
  const obj = baseConfigObject(tempDir(t)) as Record<string, any>;
  obj.shutdown_grace_s = 1;
  obj.webhooks = { ...(obj.webhooks ?? {}), timeout_ms: 120000 };
  const cfg = makeConfig(obj);
  const ta = startTestApp(cfg, { level: 'warn' });
  await ta.app.start();
  const now = Date.now();
  ta.app.store.aux.addOutbox({ id: 'evt_hang_1', client: 'loans', url: `http://127.0.0.1:${port}/hook`, body: '{"id":"evt_hang_1"}', attempts: 0, createdAt: now, nextAttemptAt: now });
  const deadline = Date.now() + 5000;
  while (received === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(received, 1, 'the delivery is in flight');
  const started = Date.now();
  await ta.app.drain();
  const took = Date.now() - started;
  t.equal(ta.app.drainStep(), 'done');
  // webhooks.timeout_ms is 120 s: a drain waiting for the receiver would not end here.
  t.ok(took < 10000, `drain took ${took} ms`);
  t.ok(ta.lines.some((l) => l.includes('webhook deliveries still in flight at shutdown')), 'the abort is logged');
  const db = new Database(cfg.store.path, { readonly: true });
  const row = db.prepare('SELECT state, attempts, last_error FROM outbox WHERE id = ?').get('evt_hang_1') as { state: string; attempts: number; last_error: string };
  db.close();
  t.equal(row.state, 'pending', 'the event stays in the outbox, to be sent after the restart');
  t.equal(row.attempts, 1);
  t.type(row.last_error, 'string');
});
