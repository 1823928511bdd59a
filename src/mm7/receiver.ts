/**
 * The MM7 receiver (SPEC 9): an HTTP endpoint of its own (`mm7.receiver` host, port, path)
 * where MMSCs POST DeliveryReportReq, DeliverReq and ReadReplyReq. Basic auth (401 without
 * it); a body that does not parse gets a SOAP Fault with HTTP 500; a handler that throws
 * gets a Server Fault. Nothing a peer sends stops the daemon.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, hash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseMm7Http, type ParsedMm7 } from './mm7-message.js';
import { buildFault, buildRsp, DEFAULT_MM7_NAMESPACE, DEFAULT_MM7_VERSION, type Mm7Dialect } from './soap-build.js';
import type { Mm7Metrics } from './metrics.js';
import { maskDigitsIn } from '../observability/redact.js';

export interface ReceiverSettings {
  host: string;
  port: number;
  path: string;
  username: string;
  password: string;
  maxBodyBytes?: number;
}

/** What a handled request answers: the *Rsp kind and its status. */
export interface InboundAnswer {
  kind: 'DeliverRsp' | 'DeliveryReportRsp' | 'ReadReplyRsp';
  code: number;
  text: string;
}

export interface ReceiverDeps {
  settings: () => ReceiverSettings;
  handle: (m: ParsedMm7) => Promise<InboundAnswer | undefined>;
  metrics: Mm7Metrics;
  logger: Logger;
}

const digest = (s: string) => hash('sha256', s, 'buffer');

export class Mm7Receiver {
  readonly #d: ReceiverDeps;
  #server: Server | undefined;

  constructor(deps: ReceiverDeps) {
    this.#d = deps;
  }

  async start(): Promise<{ port: number }> {
    const s = this.#d.settings();
    const server = createServer((req, res) => this.#request(req, res));
    server.requestTimeout = 30_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(s.port, s.host, () => resolve());
    });
    return { port: (server.address() as AddressInfo).port };
  }

  get port(): number | undefined {
    const a = this.#server?.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  #authorized(req: IncomingMessage): boolean {
    const s = this.#d.settings();
    if (s.username === '' && s.password === '') return true;
    const given = req.headers.authorization ?? '';
    return timingSafeEqual(digest(given), digest(`Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}`));
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const s = this.#d.settings();
    const limit = s.maxBodyBytes ?? 4 * 1024 * 1024;
    const count = (kind: string, result: string) => this.#d.metrics.receiver.inc({ kind, result });
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== s.path) {
      count('none', 'not_found');
      res.writeHead(404).end();
      req.resume();
      return;
    }
    if (!this.#authorized(req)) {
      count('none', 'unauthorized');
      res.writeHead(401, { 'www-authenticate': 'Basic realm="xinge-mm7"', connection: 'close' }).end();
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (over) {
        count('none', 'too_large');
        this.#fault(res, undefined, undefined, 'Client', 2001, `body over ${limit} bytes`, 413);
        return;
      }
      void this.#answer(req, Buffer.concat(chunks), res, count);
    });
  }

  async #answer(req: IncomingMessage, body: Buffer, res: ServerResponse, count: (k: string, r: string) => void): Promise<void> {
    let parsed: ParsedMm7;
    try {
      parsed = parseMm7Http(req.headers['content-type'], body);
    } catch (err) {
      count('malformed', 'fault');
      this.#d.logger.warn({ err: { code: (err as { code?: string }).code, message: maskDigitsIn((err as Error).message) } }, 'MM7 receiver: malformed request');
      this.#fault(res, undefined, undefined, 'Client', 2007, 'Message format corrupt');
      return;
    }
    const m = parsed.message;
    const dialect: Mm7Dialect = { namespace: m.namespace ?? DEFAULT_MM7_NAMESPACE, version: m.version ?? DEFAULT_MM7_VERSION, namespacePrefix: false };
    try {
      const a = await this.#d.handle(parsed);
      if (a === undefined) {
        count(m.kind, 'unsupported');
        this.#fault(res, dialect, m.transactionId, 'Client', 2000, `unsupported request ${m.kind}`);
        return;
      }
      count(m.kind, String(a.code));
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
      res.end(buildRsp(dialect, a.kind, m.transactionId, { code: a.code, text: a.text }));
    } catch (err) {
      count(m.kind, 'error');
      this.#d.logger.error({ err: { message: (err as Error).message }, kind: m.kind }, 'MM7 receiver: handling failed');
      this.#fault(res, dialect, m.transactionId, 'Server', 3000, 'Server error');
    }
  }

  #fault(res: ServerResponse, d: Mm7Dialect | undefined, tx: string | undefined, who: 'Client' | 'Server', code: number, text: string, http = 500): void {
    const dialect = d ?? { namespace: DEFAULT_MM7_NAMESPACE, version: DEFAULT_MM7_VERSION, namespacePrefix: false };
    res.writeHead(http, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(buildFault(dialect, tx, who, { code, text }));
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      setTimeout(() => s.closeAllConnections(), 1000).unref();
    });
  }
}
