/** The MM7 client against the MMSC simulator (and a silent peer) over loopback. */
import t from 'tap';
import { createServer } from 'node:net';
import { Mm7Client, type Mm7ClientOptions } from '../../src/mm7/client.js';
import { MmscSimulator, type MmscAnswer } from '../../src/sim/mmsc.js';
import { buildSubmitReq, type Mm7Profile } from '../../src/mm7/submit-req.js';
import { DEFAULT_STATUS_CODES, classifyStatusCode } from '../../src/mm7/status-codes.js';
import { JPEG_BYTES } from './helpers/media.js';

const profile: Mm7Profile = {
  namespace: 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4', version: '6.8.0', namespacePrefix: false,
  vaspId: 'xinge', vasId: 'loan', sender: '10690001', senderAddressAs: 'short_code', soapCharset: 'utf-8', textCharset: 'utf-8',
  content: 'related', transferEncoding: 'binary', deliveryReport: false, allowAdaptations: true,
};
const req = (tx = 'tx1') =>
  buildSubmitReq(profile, { transactionId: tx, recipients: ['8613800138000'], subject: '账单', timeStamp: Date.now(), parts: [{ contentType: 'text/plain', text: '您好' }, { contentType: 'image/jpeg', data: JPEG_BYTES }] });

async function withSim(t: Tap, answer: MmscAnswer | ((n: number) => MmscAnswer), extra: Partial<Mm7ClientOptions> = {}) {
  const sim = new MmscSimulator({ username: 'vasp', password: 'pw', answer });
  const { port } = await sim.start();
  const delays: number[] = [];
  const client = new Mm7Client({
    url: `http://127.0.0.1:${port}/mm7`, username: 'vasp', password: 'pw', connectTimeoutMs: 2000, timeoutMs: 5000, retries: 2, retryInitialMs: 10,
    statusCodes: DEFAULT_STATUS_CODES, sleep: async (ms) => void delays.push(ms), ...extra,
  });
  t.teardown(async () => {
    await client.close();
    await sim.stop();
  });
  return { sim, client, delays };
}
type Tap = { teardown(fn: () => unknown): void };

t.test('1000 with MessageID is success; the request carried Basic auth and its parts', async (t) => {
  const { sim, client } = await withSim(t, { kind: 'ok' });
  const r = await client.submit(req());
  t.match(r, { kind: 'success', code: 1000, messageId: 'sim00000001', attempts: 1 });
  t.equal(sim.received[0]!.authorization, `Basic ${Buffer.from('vasp:pw').toString('base64')}`);
  t.equal(sim.received[0]!.subject, '账单');
  t.ok(sim.received[0]!.parts.find((p) => p.contentType === 'image/jpeg')!.data.equals(JPEG_BYTES));
});

t.test('per-code table: 1100 success, 3002-3004 permanent, 4006 temporary, unknown codes by class', async (t) => {
  const cases: Array<[number, string]> = [[1100, 'success'], [3002, 'permanent'], [3003, 'permanent'], [3004, 'permanent'], [4006, 'temporary'], [3001, 'temporary'], [3555, 'temporary'], [4999, 'permanent'], [2999, 'permanent'], [1999, 'success']];
  const { client } = await withSim(t, (n) => ({ kind: 'status', code: cases[n - 1]![0] }));
  for (const [code, want] of cases) {
    const r = await client.submit(req(`c${code}`));
    t.equal(r.kind, want, `${code} → ${want}`);
    t.equal(r.code, code);
  }
});

t.test('the table is per MMSC: one that lists 3002 as temporary gets temporary', async (t) => {
  t.equal(classifyStatusCode(3002, { ...DEFAULT_STATUS_CODES, permanent: [], temporary: [3002] }), 'temporary');
  const { client } = await withSim(t, { kind: 'status', code: 4006 }, { statusCodes: { success: [1000], temporary: [], permanent: [4006] } });
  t.equal((await client.submit(req())).kind, 'permanent');
});

t.test('a SOAP Fault (HTTP 500) is read by its RSErrorRsp code, not retried', async (t) => {
  const { sim, client } = await withSim(t, { kind: 'fault', code: 3004, text: 'Invalid recipient' });
  const r = await client.submit(req());
  t.match(r, { kind: 'permanent', code: 3004, text: 'Invalid recipient', via: 'fault', attempts: 1 });
  t.equal(sim.received.length, 1);
  const sim2 = await withSim(t, { kind: 'fault', code: 4006 });
  t.match(await sim2.client.submit(req()), { kind: 'temporary', code: 4006, via: 'fault' });
});

t.test('5xx without an MM7 answer is retried with backoff', async (t) => {
  const { sim, client, delays } = await withSim(t, (n) => (n < 3 ? { kind: 'http', status: 503 } : { kind: 'ok' }));
  const r = await client.submit(req());
  t.match(r, { kind: 'success', attempts: 3 });
  t.same(delays, [10, 20]);
  t.equal(sim.received.length, 3);
});

t.test('5xx every time: temporary after retries+1 tries', async (t) => {
  const { client, delays } = await withSim(t, { kind: 'http', status: 502 });
  t.match(await client.submit(req()), { kind: 'temporary', via: 'http', text: 'HTTP 502', attempts: 3 });
  t.equal(delays.length, 2);
});

t.test('wrong Basic auth: 401 is temporary (a config fix, not the message) and not retried', async (t) => {
  const { sim, client } = await withSim(t, { kind: 'ok' }, { password: 'wrong' });
  t.match(await client.submit(req()), { kind: 'temporary', via: 'http', text: 'HTTP 401', attempts: 1 });
  t.equal(sim.refused, 1);
});

t.test('connection refused: retried, then temporary', async (t) => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const delays: number[] = [];
  const client = new Mm7Client({ url: `http://127.0.0.1:${port}/mm7`, username: '', password: '', connectTimeoutMs: 1000, timeoutMs: 1000, retries: 2, retryInitialMs: 5, statusCodes: DEFAULT_STATUS_CODES, sleep: async (ms) => void delays.push(ms) });
  t.teardown(() => client.close());
  t.match(await client.submit(req()), { kind: 'temporary', via: 'network', attempts: 3 });
  t.same(delays, [5, 10]);
});

t.test('response timeout: a peer that accepts and never answers', async (t) => {
  const srv = createServer((s) => s.on('data', () => undefined));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const port = (srv.address() as { port: number }).port;
  const client = new Mm7Client({ url: `http://127.0.0.1:${port}/mm7`, username: '', password: '', connectTimeoutMs: 1000, timeoutMs: 300, retries: 0, retryInitialMs: 5, statusCodes: DEFAULT_STATUS_CODES });
  t.teardown(() => client.destroy());
  t.match(await client.submit(req()), { kind: 'temporary', via: 'network', text: /Timeout/i });
});

/**
 * An MMSC whose answer does not end: `endless` streams octets as fast as the client takes them,
 * `drip` sends one every 300 ms (each within the idle timeout). The client read either without
 * end: memory without bound, or one of its connections held for ever.
 */
async function hostileMmsc(t: Tap, mode: 'endless' | 'drip'): Promise<{ port: number; sent: () => number; closed: Promise<number> }> {
  const { createServer: createHttpServer } = await import('node:http');
  let sent = 0;
  let closedAt: (ms: number) => void;
  const closed = new Promise<number>((r) => (closedAt = r));
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const started = Date.now();
      res.writeHead(200, { 'content-type': 'text/xml' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let timer: NodeJS.Timeout | undefined;
      res.on('close', () => {
        clearTimeout(timer);
        closedAt(Date.now() - started);
      });
      const pump = () => {
        if (res.destroyed) return;
        if (mode === 'drip') {
          res.write(' ');
          sent++;
          timer = setTimeout(pump, 300);
          return;
        }
        while (sent < 512 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        res.once('drain', pump);
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as import('node:net').AddressInfo).port, sent: () => sent, closed };
}

/** A client of the hostile MMSC, no retries: one attempt's outcome. */
function clientOf(t: Tap, port: number, connectTimeoutMs: number, timeoutMs: number): Mm7Client {
  const client = new Mm7Client({
    url: `http://127.0.0.1:${port}/mm7`, username: 'vasp', password: 'pw', connectTimeoutMs, timeoutMs, retries: 0, retryInitialMs: 10,
    statusCodes: DEFAULT_STATUS_CODES,
  });
  t.teardown(() => client.destroy());
  return client;
}

t.test('an answer that does not end: read up to 1 MiB, then the attempt fails and is retried', async (t) => {
  const mmsc = await hostileMmsc(t, 'endless');
  const client = clientOf(t, mmsc.port, 2000, 5000);
  const r = await client.submit(req());
  t.match(r, { kind: 'temporary', via: 'network' }, r.text ?? '');
  t.match(r.text, /response_too_large/);
  await mmsc.closed;
  t.ok(mmsc.sent() < 16 * 1024 * 1024, `the client stopped reading after ${(mmsc.sent() / 1048576).toFixed(1)} MB (the MMSC offered 512 MB)`);
});

t.test('an answer dripped a byte at a time: the attempt ends after timeout_ms, not never', async (t) => {
  const mmsc = await hostileMmsc(t, 'drip');
  const client = clientOf(t, mmsc.port, 500, 1000);
  const started = Date.now();
  const r = await client.submit(req());
  const took = Date.now() - started;
  t.match(r, { kind: 'temporary', via: 'network' }, r.text ?? '');
  t.ok(took < 4000, `given up after ${took} ms (connect_timeout_ms 500 + timeout_ms 1000)`);
  t.match(r.text, /^attempt_timeout: /);
  t.ok((await mmsc.closed) < 4000, 'the connection was closed');
});
