/**
 * The simulator's own HTTP port (issue 15.9, 20.4), apart from the daemon's API: only the
 * simulator (standalone `xinge sim --http-port N`, or the embedded one with
 * `simulator.http_port`) serves it, so a production config, which runs no simulator, never
 * does.
 *
 *   GET  /sim/                 the inbox page (handsets and their messages)
 *   GET  /sim/phones           phones that received something, latest first
 *   GET  /sim/messages?to=N    what phone N received (SMS parts joined; MMS, from the
 *                              built-in MMSC when there is one, as slides) and the replies it sent
 *   GET  /sim/mms/{id}/{part}  an MMS part's bytes (the page's images)
 *   POST /sim/mo {from,text,to?}  a reply from phone `from`: an MO (deliver_sm) over the
 *                              SMPP bind, to `to` or the number that last wrote to it
 *   GET  /sim/accounts[?system_id=X]  per system_id: binds open now and at most, submits,
 *                              the most submit_sm in any second (account-stats.ts)
 *   POST /sim/accounts/reset   maxima and submit counts back to what is open now
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SmscSimulator } from './smsc.js';
import type { MmscSimulator } from './mmsc.js';
import { mmsPart, mmsTo } from './web-mms.js';
import { messagesTo, phoneKey, phones, ReplyLog } from './web-inbox.js';
import { INBOX_PAGE } from './web-page.js';

export interface SimWebOptions {
  host: string;
  port: number;
  /** The built-in MMSC simulator, whose accepted MMS the phones show too. */
  mmsc?: MmscSimulator;
}

export interface SimWeb {
  port: number;
  replies: ReplyLog;
  stop(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

const fail = (res: http.ServerResponse, status: number, code: string, message: string, field?: string) =>
  send(res, status, { error: { code, message, ...(field ? { field } : {}) } });

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(b);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

export async function startSimWeb(sim: SmscSimulator, opts: SimWebOptions): Promise<SimWeb> {
  const replies = new ReplyLog();
  const submits = () => sim.recorder.submits;
  const mmsReceived = () => opts.mmsc?.received ?? [];
  const mmsPhones = () =>
    mmsReceived()
      .filter((r) => r.answer.kind === 'ok')
      .flatMap((r) => [...new Set(r.recipients.map((to) => phoneKey(to.replace(/\/TYPE=.*$/i, ''))))].map((phone) => ({ phone, at: r.at })));

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && (path === '/' || path === '/sim')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(INBOX_PAGE);
      return;
    }
    if (req.method === 'GET' && path === '/sim/phones') return send(res, 200, { phones: phones(submits(), replies.all(), mmsPhones()) });
    if (req.method === 'GET' && path === '/sim/messages') {
      const to = url.searchParams.get('to');
      if (to === null || phoneKey(to) === '') return fail(res, 400, 'invalid_field', 'give the phone number: /sim/messages?to=13800138000', 'to');
      const key = phoneKey(to);
      const mms = mmsTo(mmsReceived(), opts.mmsc?.reports ?? [], key);
      const messages = [...messagesTo(submits(), key), ...mms].sort((a, b) => a.received_at.localeCompare(b.received_at));
      return send(res, 200, { to: key, messages, replies: replies.from(key) });
    }
    if (req.method === 'GET' && path === '/sim/accounts') {
      const id = url.searchParams.get('system_id');
      return send(res, 200, { accounts: id === null ? sim.accountStats() : [sim.accountStats(id)] });
    }
    if (req.method === 'POST' && path === '/sim/accounts/reset') {
      sim.accounts.reset();
      return send(res, 200, { accounts: sim.accountStats() });
    }
    const part = /^\/sim\/mms\/([^/]+)\/([^/]+)$/.exec(path);
    if (part !== null) {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        return fail(res, 405, 'method_not_allowed', `${req.method ?? ''} is not allowed here`);
      }
      const found = mmsPart(mmsReceived(), part[1]!, part[2]!);
      if (found === undefined) return fail(res, 404, 'not_found', 'no such MMS part');
      res.writeHead(200, { 'content-type': found.contentType, 'content-length': found.data.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(found.data);
      return;
    }
    if (req.method === 'POST' && path === '/sim/mo') {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (err) {
        return fail(res, 400, 'invalid_json', (err as Error).message);
      }
      const o = (body ?? {}) as { from?: unknown; to?: unknown; text?: unknown };
      if (typeof o.from !== 'string' || phoneKey(o.from) === '') return fail(res, 400, 'invalid_field', 'from: the phone number that replies', 'from');
      if (typeof o.text !== 'string' || o.text.length === 0 || o.text.length > 1000) return fail(res, 400, 'invalid_field', 'text: 1..1000 characters', 'text');
      const from = phoneKey(o.from);
      // A handset replies to the number that wrote to it: the service code plus extension.
      const last = messagesTo(submits(), from).at(-1);
      const to = typeof o.to === 'string' && o.to !== '' ? o.to.replace(/\D/g, '') : last?.from;
      if (to === undefined || to === '') return fail(res, 400, 'invalid_field', 'to: nothing was sent to this phone yet, give the service code', 'to');
      try {
        sim.injectMo({ from, to, text: o.text });
      } catch (err) {
        return fail(res, 409, 'not_bound', `no bound receiver to deliver the reply to: ${(err as Error).message}`);
      }
      const reply = { direction: 'out' as const, from, to, text: o.text, sent_at: new Date().toISOString() };
      replies.add(reply);
      return send(res, 202, reply);
    }
    const known = ['/', '/sim', '/sim/phones', '/sim/messages', '/sim/mo', '/sim/accounts', '/sim/accounts/reset'].includes(path);
    if (known) {
      res.setHeader('allow', path === '/sim/mo' || path === '/sim/accounts/reset' ? 'POST' : 'GET');
      return fail(res, 405, 'method_not_allowed', `${req.method ?? ''} is not allowed here`);
    }
    return fail(res, 404, 'not_found', 'no such page: try /sim/');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) fail(res, 500, 'internal', (err as Error).message);
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    replies,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
