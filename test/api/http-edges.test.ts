/**
 * Issue 15, points 5, 11 and 12 at the HTTP edge, over real sockets on 127.0.0.1:
 * a wrong method is 405 with Allow; a body that is not JSON is 415; router and parser
 * errors (bad percent-encoding, over-long URL, oversized headers, bad Expect, bad
 * Content-Length, bad method) answer {"error":{code,message}} without echoing the input;
 * a client that stalls its body is cut by the request timeout, and the connection cap holds.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { ADMIN_TOKEN, TOKEN, baseConfigObject, makeConfig, startTestApp, tempDir, type TestApp } from '../helpers/fixtures.js';

async function app(t: Test, mutate: (o: Record<string, any>) => void = () => {}): Promise<{ ta: TestApp; port: number }> {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  mutate(obj);
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  const { port } = await ta.app.start();
  return { ta, port };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the socket. */
  closed: boolean;
}

/** Write raw bytes, read until the server closes or a full response (by Content-Length) arrived. */
function raw(port: number, bytes: string | Buffer, opts: { waitMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = buf.toString('utf8');
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({ status: Number(statusLine?.split(' ')[1] ?? 0), headers, body: text.slice(text.indexOf('\r\n\r\n') + 4), closed });
    };
    const timer = setTimeout(() => (buf.length > 0 ? finish(false) : reject(new Error('no answer'))), opts.waitMs ?? 10000);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('utf8');
      const i = text.indexOf('\r\n\r\n');
      const m = /content-length: *(\d+)/i.exec(text.slice(0, i));
      if (i >= 0 && m && Buffer.byteLength(text.slice(i + 4)) >= Number(m[1])) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.write(bytes);
  });
}

function apiError(t: Test, r: RawResponse, status: number, code: string, secret?: string): void {
  t.equal(r.status, status, `${status} ${code}: ${r.body.slice(0, 200)}`);
  t.match(r.headers['content-type'] ?? '', /application\/json/, 'JSON');
  let body: any;
  try {
    body = JSON.parse(r.body);
  } catch {
    t.fail(`not JSON: ${r.body.slice(0, 200)}`);
    return;
  }
  t.equal(body.error?.code, code, code);
  t.type(body.error?.message, 'string');
  t.same(Object.keys(body), ['error']);
  if (secret !== undefined) t.notOk(r.body.includes(secret), 'the input is not echoed');
}

const NUMBER = '13812345678';

t.test('405 with Allow on a wrong method; 404 stays for unknown paths', async (t) => {
  const { port } = await app(t);
  const r = await raw(port, `PUT /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\n\r\n`);
  apiError(t, r, 405, 'method_not_allowed');
  t.equal(r.headers.allow, 'POST');
  const m = await raw(port, `POST /v1/messages/msg_x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
  apiError(t, m, 405, 'method_not_allowed');
  t.match(m.headers.allow, /DELETE/);
  t.match(m.headers.allow, /GET/);
  apiError(t, await raw(port, `GET /v1/nothing-here HTTP/1.1\r\nHost: x\r\n\r\n`), 404, 'not_found');
});

t.test('415 for a body that is not application/json', async (t) => {
  const { port } = await app(t);
  const body = `to=${NUMBER}&text=hello`;
  for (const ct of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
    const r = await raw(port, `POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${ct}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    apiError(t, r, 415, 'unsupported_media_type', NUMBER);
  }
  const none = await raw(port, `POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  apiError(t, none, 415, 'unsupported_media_type', NUMBER);
  const json = JSON.stringify({ to: NUMBER, text: 'hi', category: 'notification' });
  for (const ct of ['application/json', 'application/json; charset=utf-8', 'application/merge-patch+json']) {
    const ok = await raw(port, `POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: ${ct}\r\nContent-Length: ${json.length}\r\n\r\n${json}`);
    t.equal(ok.status, 202, `${ct}: ${ok.body}`);
  }
  const empty = await raw(port, `POST /v1/admin/carriers/c1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 0\r\n\r\n`);
  t.equal(empty.status, 200, `a bodiless POST needs no content type: ${empty.body}`);
});

t.test('router and parser errors answer in the API shape without echoing the input', async (t) => {
  const { port } = await app(t);
  const h = `Host: x\r\nAuthorization: Bearer ${TOKEN}`;
  apiError(t, await raw(port, `GET /v1/optouts/%E0%A4%A+${NUMBER} HTTP/1.1\r\n${h}\r\n\r\n`), 400, 'bad_url', NUMBER);
  apiError(t, await raw(port, `GET /v1/messages/${'x'.repeat(300)}${NUMBER} HTTP/1.1\r\n${h}\r\n\r\n`), 414, 'uri_too_long', NUMBER);
  apiError(t, await raw(port, `GET /v1/replies?number=${NUMBER}&pad=${'y'.repeat(9000)} HTTP/1.1\r\n${h}\r\n\r\n`), 414, 'uri_too_long', NUMBER);
  apiError(t, await raw(port, `GET /healthz HTTP/1.1\r\n${h}\r\nX-Pad: ${NUMBER}${'z'.repeat(20000)}\r\n\r\n`), 431, 'headers_too_large', NUMBER);
  apiError(t, await raw(port, `POST /v1/sms HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nExpect: ${NUMBER}-continue\r\nContent-Length: 2\r\n\r\n{}`), 417, 'expectation_failed', NUMBER);
  apiError(t, await raw(port, `POST /v1/sms HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: ${NUMBER}x\r\n\r\n{}`), 400, 'bad_request', NUMBER);
  apiError(t, await raw(port, `POST /v1/sms HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`), 400, 'bad_request');
  apiError(t, await raw(port, `G@T /v1/${NUMBER} HTTP/1.1\r\n${h}\r\n\r\n`), 400, 'bad_request', NUMBER);
  apiError(t, await raw(port, `POST /v1/sms HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${NUMBER}\r\n0\r\n\r\n`), 400, 'bad_request', NUMBER);
  // Still serving afterwards.
  t.equal((await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200);
});

t.test('a client that stalls its body is cut by http.request_timeout_ms; the connection cap holds', async (t) => {
  const { ta, port } = await app(t, (o) => {
    o.http.request_timeout_ms = 1500;
    o.http.headers_timeout_ms = 1000;
    o.http.max_connections = 4;
  });
  t.equal(ta.app.http.server.maxConnections, 4);
  const started = Date.now();
  const stalled = await raw(port, `POST /v1/sms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"to":`, { waitMs: 30000 });
  const took = Date.now() - started;
  t.ok(stalled.closed || stalled.headers.connection === 'close', 'the server closes the socket');
  t.ok(took < 20000, `cut after ${took} ms (request timeout 1.5 s, checked every 0.5 s)`);
  if (stalled.status !== 0) apiError(t, stalled, 408, 'request_timeout');

  // Four stalled sockets fill the cap: a fifth is refused at once, a slot frees when one goes.
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('POST /v1/sms HTTP/1.1\r\nHost: x\r\n');
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  const fifth = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 3000 }).catch(() => ({ status: 0, closed: true }) as RawResponse);
  t.equal(fifth.status, 0, 'over the cap: dropped without an answer');
  sockets.forEach((s) => s.destroy());
  await new Promise((r) => setTimeout(r, 200));
  t.equal((await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200, 'served again once sockets closed');
});
