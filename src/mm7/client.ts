/**
 * The MM7 client: POSTs a built SubmitReq to one MMSC with undici (Basic auth, connect and
 * response timeouts) and turns the answer into an outcome by the MMSC's status-code table.
 * Connection errors and HTTP 5xx without a readable MM7 answer are retried here with
 * backoff; an MM7 answer (SubmitRsp, RSErrorRsp, a Fault) is final for this attempt and
 * the worker decides what a temporary one means for the message.
 */
import { Agent, request } from 'undici';
import { parseMm7Http } from './mm7-message.js';
import type { BuiltRequest } from './submit-req.js';
import { classifyStatusCode, type StatusCodeTable } from './status-codes.js';
import { readLimited } from '../domain/read-limited.js';

/** An MMSC's answer (a SubmitRsp or a Fault: a few KB) read up to this; more fails the attempt. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface Mm7ClientOptions {
  url: string;
  username: string;
  password: string;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** Extra tries after a connection error or a 5xx without an MM7 answer. */
  retries: number;
  retryInitialMs: number;
  statusCodes: StatusCodeTable;
  connections?: number;
  sleep?: (ms: number) => Promise<void>;
}

export type SubmitResult =
  | { kind: 'success'; code: number; text: string | undefined; messageId: string | undefined; attempts: number }
  | { kind: 'temporary' | 'permanent'; code: number | undefined; text: string; via: 'status' | 'fault' | 'http' | 'network' | 'malformed'; attempts: number };

export class Mm7Client {
  readonly #o: Mm7ClientOptions;
  readonly #agent: Agent;
  readonly #auth: string | undefined;

  constructor(o: Mm7ClientOptions) {
    this.#o = o;
    this.#agent = new Agent({
      connect: { timeout: o.connectTimeoutMs },
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      connections: o.connections ?? 4,
    });
    this.#auth = o.username === '' && o.password === '' ? undefined : `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
  }

  async submit(req: BuiltRequest): Promise<SubmitResult> {
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last: SubmitResult | undefined;
    for (let attempt = 1; attempt <= this.#o.retries + 1; attempt++) {
      if (attempt > 1) await sleep(this.#o.retryInitialMs * 2 ** (attempt - 2));
      const r = await this.#once(req, attempt);
      if (!('retry' in r)) return r;
      last = r.result;
    }
    return last!;
  }

  async #once(req: BuiltRequest, attempts: number): Promise<SubmitResult | { retry: true; result: SubmitResult }> {
    let status: number;
    let body: Buffer;
    let contentType: string | undefined;
    try {
      const headers: Record<string, string> = { 'content-type': req.contentType, soapaction: '""' };
      if (this.#auth !== undefined) headers.authorization = this.#auth;
      // The whole attempt is bounded, not only each wait: an MMSC dripping its answer a byte
      // at a time would otherwise hold the connection for ever.
      const res = await request(this.#o.url, {
        method: 'POST', headers, body: req.body, dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.#o.connectTimeoutMs + this.#o.timeoutMs),
      });
      status = res.statusCode;
      contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined;
      body = await readLimited(res.body, MAX_ANSWER_BYTES);
    } catch (err) {
      const e = err as { code?: unknown; name?: string; message?: string };
      // The attempt's own deadline aborts with a DOMException (code 23): named, not numbered.
      const code = e.name === 'TimeoutError' ? 'attempt_timeout' : typeof e.code === 'string' ? e.code : 'network';
      return { retry: true, result: { kind: 'temporary', code: undefined, text: `${code}: ${e.message ?? ''}`.slice(0, 200), via: 'network', attempts } };
    }
    let parsed: ReturnType<typeof parseMm7Http> | undefined;
    try {
      if (body.length > 0) parsed = parseMm7Http(contentType, body);
    } catch {
      parsed = undefined;
    }
    const m = parsed?.message;
    if (m?.kind === 'SubmitRsp') {
      const outcome = classifyStatusCode(m.statusCode, this.#o.statusCodes);
      if (outcome === 'success') return { kind: 'success', code: m.statusCode, text: m.statusText, messageId: m.messageId, attempts };
      return { kind: outcome, code: m.statusCode, text: m.statusText ?? '', via: 'status', attempts };
    }
    if (m?.kind === 'Fault' || m?.kind === 'RSErrorRsp' || m?.kind === 'VASPErrorRsp') {
      const code = m.statusCode;
      // A Fault without an RSErrorRsp: Client faults are ours to fix, Server ones may pass.
      const outcome = code !== undefined ? classifyStatusCode(code, this.#o.statusCodes) : m.kind === 'Fault' && /server/i.test(m.faultCode) ? 'temporary' : 'permanent';
      const text = (m.statusText ?? (m.kind === 'Fault' ? m.faultString : '')) || `HTTP ${status}`;
      return { kind: outcome === 'success' ? 'temporary' : outcome, code, text, via: m.kind === 'Fault' ? 'fault' : 'status', attempts };
    }
    const result: SubmitResult = { kind: 'temporary', code: undefined, text: `HTTP ${status}${m ? ` with ${m.kind}` : ''}`, via: m ? 'malformed' : 'http', attempts };
    if (status >= 500) return { retry: true, result };
    return result;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async destroy(): Promise<void> {
    await this.#agent.destroy();
  }
}
