/**
 * MMSC simulator (SPEC 12): an HTTP server speaking MM7. A SubmitReq gets a SubmitRsp (or
 * the configured error status, SOAP Fault or bare HTTP status), is recorded with its parts
 * so tests can read what was sent, and after a delay a DeliveryReportReq is POSTed back to
 * the daemon's receiver with the configured MMStatus.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Logger } from 'pino';
import { parseMm7Http, type ContentPart } from '../mm7/mm7-message.js';
import { buildDeliveryReportReq, buildFault, buildRsp, DEFAULT_MM7_NAMESPACE, DEFAULT_MM7_VERSION, type Mm7Dialect } from '../mm7/soap-build.js';

export type MmscAnswer =
  | { kind: 'ok' }
  | { kind: 'status'; code: number; text?: string }
  | { kind: 'fault'; code: number; text?: string }
  | { kind: 'http'; status: number };

export interface MmscSimOptions {
  host?: string;
  port?: number;
  path?: string;
  /** Basic auth the simulator requires (none when both empty). */
  username?: string;
  password?: string;
  dialect?: Partial<Mm7Dialect>;
  /** The answer to the n-th SubmitReq (1-based); default a SubmitRsp 1000. */
  answer?: MmscAnswer | ((n: number) => MmscAnswer);
  /** Where DeliveryReportReq goes (the daemon's receiver URL); none when undefined. */
  reportUrl?: string;
  reportUsername?: string;
  reportPassword?: string;
  reportDelayMs?: number;
  /**
   * A report the receiver did not take (no connection, or an answer other than 2xx) is
   * POSTed again after this many ms, up to REPORT_RETRIES times, as MMSCs do; 0 or absent: never.
   */
  reportRetryMs?: number;
  /** MMStatus of the reports: Retrieved, Expired, Rejected, Indeterminate… */
  reportStatus?: string | ((n: number) => string);
  recordLimit?: number;
  logger?: Logger;
}

/** Resends of one delivery report at most (reportRetryMs). */
export const REPORT_RETRIES = 10;

export interface ReceivedSubmit {
  n: number;
  /** When it arrived (ms since the epoch). */
  at: number;
  transactionId: string | undefined;
  recipients: string[];
  subject: string | undefined;
  sender: string | undefined;
  version: string | undefined;
  namespace: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  parts: ContentPart[];
  messageId: string | undefined;
  answer: MmscAnswer;
}

export interface SentReport {
  messageId: string;
  mmStatus: string;
  httpStatus: number | undefined;
  error?: string;
}

export class MmscSimulator {
  readonly options: MmscSimOptions;
  readonly received: ReceivedSubmit[] = [];
  readonly reports: SentReport[] = [];
  /** Requests refused before parsing (auth, malformed). */
  refused = 0;
  #server: Server | undefined;
  #n = 0;
  #timers = new Set<NodeJS.Timeout>();
  #inFlight = new Set<Promise<unknown>>();
  readonly #dialect: Mm7Dialect;

  constructor(o: MmscSimOptions = {}) {
    this.options = o;
    this.#dialect = { namespace: o.dialect?.namespace ?? DEFAULT_MM7_NAMESPACE, version: o.dialect?.version ?? DEFAULT_MM7_VERSION, namespacePrefix: o.dialect?.namespacePrefix ?? false };
  }

  setAnswer(a: MmscSimOptions['answer']): void {
    this.options.answer = a;
  }

  async start(): Promise<{ port: number }> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#handle(req, Buffer.concat(chunks), res));
      req.on('error', () => res.destroy());
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    return { port: (server.address() as AddressInfo).port };
  }

  get port(): number | undefined {
    const a = this.#server?.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  #send(res: ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(xml);
  }

  #handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const o = this.options;
    if (req.method !== 'POST' || (o.path !== undefined && (req.url ?? '').split('?')[0] !== o.path)) {
      this.refused++;
      res.writeHead(404).end();
      return;
    }
    if ((o.username ?? '') !== '' || (o.password ?? '') !== '') {
      const want = `Basic ${Buffer.from(`${o.username ?? ''}:${o.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        this.refused++;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="mmsc"' }).end();
        return;
      }
    }
    let parsed: ReturnType<typeof parseMm7Http>;
    try {
      parsed = parseMm7Http(req.headers['content-type'], body);
    } catch (err) {
      this.refused++;
      this.#send(res, 500, buildFault(this.#dialect, undefined, 'Client', { code: 2001, text: `Operation restricted: ${(err as Error).message}`.slice(0, 120) }));
      return;
    }
    const m = parsed.message;
    if (m.kind !== 'SubmitReq') {
      this.refused++;
      this.#send(res, 500, buildFault(this.#dialect, m.transactionId, 'Client', { code: 2000, text: `unexpected ${m.kind}` }));
      return;
    }
    const n = ++this.#n;
    const answer = typeof o.answer === 'function' ? o.answer(n) : o.answer ?? { kind: 'ok' };
    const messageId = answer.kind === 'ok' ? `sim${String(n).padStart(8, '0')}` : undefined;
    if (this.received.length < (o.recordLimit ?? 10000)) {
      this.received.push({
        n,
        at: Date.now(),
        transactionId: m.transactionId,
        recipients: m.recipients,
        subject: m.subject,
        sender: m.sender,
        version: m.version,
        namespace: m.namespace,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        parts: parsed.parts,
        messageId,
        answer,
      });
    }
    const d = this.#dialect;
    if (answer.kind === 'http') {
      res.writeHead(answer.status).end();
      return;
    }
    if (answer.kind === 'fault') {
      this.#send(res, 500, buildFault(d, m.transactionId, answer.code >= 3000 ? 'Server' : 'Client', { code: answer.code, text: answer.text ?? 'Error' }));
      return;
    }
    if (answer.kind === 'status') {
      this.#send(res, 200, buildRsp(d, 'SubmitRsp', m.transactionId, { code: answer.code, text: answer.text ?? 'Error' }));
      return;
    }
    this.#send(res, 200, buildRsp(d, 'SubmitRsp', m.transactionId, { code: 1000, text: 'Success' }, messageId));
    if (o.reportUrl !== undefined && m.deliveryReport) {
      const status = typeof o.reportStatus === 'function' ? o.reportStatus(n) : o.reportStatus ?? 'Retrieved';
      for (const rcpt of m.recipients) this.#scheduleReport(messageId!, rcpt, m.sender ?? '', status, n);
    }
  }

  #scheduleReport(messageId: string, recipient: string, sender: string, mmStatus: string, n: number, tries = 0): void {
    const delay = tries === 0 ? this.options.reportDelayMs ?? 200 : this.options.reportRetryMs!;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const p = this.#postReport(messageId, recipient, sender, mmStatus, n)
        .then((taken) => {
          if (!taken && (this.options.reportRetryMs ?? 0) > 0 && tries < REPORT_RETRIES) this.#scheduleReport(messageId, recipient, sender, mmStatus, n, tries + 1);
        })
        .finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }, delay);
    this.#timers.add(timer);
  }

  /** True when the receiver took the report (2xx). */
  async #postReport(messageId: string, recipient: string, sender: string, mmStatus: string, n: number): Promise<boolean> {
    const o = this.options;
    const xml = buildDeliveryReportReq(this.#dialect, { transactionId: `dr-${n}`, messageId, recipient, sender, timeStamp: Date.now(), mmStatus });
    const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };
    if ((o.reportUsername ?? '') !== '' || (o.reportPassword ?? '') !== '') {
      headers.authorization = `Basic ${Buffer.from(`${o.reportUsername ?? ''}:${o.reportPassword ?? ''}`).toString('base64')}`;
    }
    const rec: SentReport = { messageId, mmStatus, httpStatus: undefined };
    try {
      const res = await request(o.reportUrl!, { method: 'POST', headers, body: xml, headersTimeout: 10000, bodyTimeout: 10000 });
      rec.httpStatus = res.statusCode;
      await res.body.dump();
    } catch (err) {
      rec.error = (err as Error).message;
      o.logger?.warn({ err: { message: rec.error } }, 'mmsc sim: delivery report not delivered');
    }
    this.reports.push(rec);
    return rec.httpStatus !== undefined && rec.httpStatus >= 200 && rec.httpStatus < 300;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
