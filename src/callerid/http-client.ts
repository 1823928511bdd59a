/**
 * The signed HTTP client of the built-in provider (SPEC 10), on undici.
 *
 * Each attempt gets a fresh X-Timestamp, X-Nonce and X-Signature; X-Request-Id is the one
 * given for the request and stays the same on every retry, so the provider can deduplicate a
 * create whose answer was lost. The body is serialised once and those bytes are both signed
 * and sent.
 *
 * 429 and 5xx (and timeouts, refused connections, a 2xx that is not JSON) are retried up to
 * maxAttempts with exponential backoff, never sooner than the provider's Retry-After. A
 * Retry-After longer than backoff.max_ms ends the attempts at once with the wait attached:
 * the caller schedules the retry (the poller) rather than holding an API request that long.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { randomBytes } from 'node:crypto';
import { signRequest } from './signing.js';
import { ProviderError } from './errors.js';
import { readLimited } from '../domain/read-limited.js';

export interface BackoffMs {
  initialMs: number;
  maxMs: number;
}

export interface SignedClientOptions {
  /** `{scheme}://{host}[:port][/base path]`; the base path is part of the signed PATH. */
  baseUrl: string;
  appKey: string;
  appSecret: string;
  /** Per attempt: connect, headers and body each, and the whole attempt. */
  timeoutMs: number;
  maxAttempts: number;
  backoff: BackoffMs;
  now?: () => number;
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  dispatcher?: Dispatcher;
  /** Called once per attempt with the HTTP status, or an error code when there was no answer. */
  onAttempt?: (op: string, status: string) => void;
}

export interface ProviderRequest {
  /** Operation name for metrics: create, get, update, revoke. */
  op: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, query string included, already escaped. */
  path: string;
  body?: unknown;
  requestId: string;
  /** Overrides the client's maxAttempts (the poller tries once per turn). */
  maxAttempts?: number;
}

export interface ProviderResponse {
  status: number;
  json: Record<string, unknown>;
  attempts: number;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Retry-After as delta-seconds or an HTTP-date, in ms from now; undefined if absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined, now: number): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s.trim() === '') return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with equal jitter: attempt 1 waits initial/2..initial, doubling, capped at max. */
export function backoffMs(attempt: number, b: BackoffMs, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (base / 2) * Math.min(1, Math.max(0, random())));
}

function reasonOf(json: unknown, text: string, status: number): { reason: string; code: string | undefined } {
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const err = (typeof o.error === 'object' && o.error !== null ? o.error : o) as Record<string, unknown>;
    const reason = [err.reason, err.message, o.reason, o.message].find((x) => typeof x === 'string' && x !== '') as string | undefined;
    const code = [err.code, o.code].find((x) => typeof x === 'string') as string | undefined;
    if (reason !== undefined) return { reason: reason.slice(0, 500), code };
    if (code !== undefined) return { reason: code, code };
  }
  const t = text.trim();
  return { reason: t === '' ? `HTTP ${status}` : t.slice(0, 200), code: undefined };
}

function errorCode(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
    if (typeof e.code === 'string') return e.code;
    if (e.cause !== undefined && e.cause !== err) return errorCode(e.cause);
  }
  return 'error';
}

export class SignedClient {
  readonly #o: SignedClientOptions;
  readonly #base: URL;
  readonly #dispatcher: Dispatcher;
  #ownAgent: Agent | undefined;
  readonly #now: () => number;
  readonly #nonce: () => string;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(o: SignedClientOptions) {
    this.#o = o;
    this.#base = new URL(o.baseUrl);
    this.#now = o.now ?? Date.now;
    this.#nonce = o.nonce ?? (() => randomBytes(16).toString('hex'));
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (o.dispatcher !== undefined) this.#dispatcher = o.dispatcher;
    else {
      this.#ownAgent = new Agent({
        connections: 4,
        connect: { timeout: o.timeoutMs },
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        keepAliveTimeout: 4000,
      });
      this.#dispatcher = this.#ownAgent;
    }
  }

  /** The request target as sent: the base URL's path (no trailing slash) + `path`. */
  target(path: string): string {
    return `${this.#base.pathname.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Resolves with a 2xx answer; throws ProviderError otherwise. */
  async send(req: ProviderRequest): Promise<ProviderResponse> {
    const target = this.target(req.path);
    const url = new URL(target, this.#base.origin);
    const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(req.body), 'utf8');
    const maxAttempts = Math.max(1, req.maxAttempts ?? this.#o.maxAttempts);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(req, url, target, body);
      if (outcome.ok) return { status: outcome.status, json: outcome.json, attempts: attempt };
      const err = new ProviderError(outcome.code, { ...outcome.f, attempts: attempt });
      if (!err.retryable || attempt >= maxAttempts) throw err;
      const retryAfter = err.retryAfterMs;
      if (retryAfter !== undefined && retryAfter > this.#o.backoff.maxMs) throw err;
      await this.#sleep(Math.max(backoffMs(attempt, this.#o.backoff, this.#o.random), retryAfter ?? 0));
    }
  }

  async #attempt(
    req: ProviderRequest,
    url: URL,
    target: string,
    body: Buffer,
  ): Promise<
    | { ok: true; status: number; json: Record<string, unknown> }
    | { ok: false; code: ProviderError['code']; f: { status?: number; reason: string; providerCode?: string | undefined; retryAfterMs?: number | undefined } }
  > {
    const timestamp = String(Math.floor(this.#now() / 1000));
    const nonce = this.#nonce();
    const headers: Record<string, string> = {
      'x-app-key': this.#o.appKey,
      'x-request-id': req.requestId,
      'x-timestamp': timestamp,
      'x-nonce': nonce,
      'x-signature': signRequest(this.#o.appSecret, { method: req.method, path: target, timestamp, nonce, body }),
      accept: 'application/json',
      'user-agent': 'xinge-callerid/1',
    };
    if (body.length > 0) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        ...(body.length > 0 ? { body } : {}),
        dispatcher: this.#dispatcher,
        headersTimeout: this.#o.timeoutMs,
        bodyTimeout: this.#o.timeoutMs,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      status = res.statusCode;
      retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.#now());
      text = (await readLimited(res.body, MAX_RESPONSE_BYTES)).toString('utf8');
    } catch (err) {
      const code = errorCode(err);
      this.#o.onAttempt?.(req.op, code);
      return { ok: false, code: 'provider_unavailable', f: { reason: code } };
    }
    this.#o.onAttempt?.(req.op, String(status));
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300) {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        return { ok: false, code: 'provider_unavailable', f: { status, reason: 'answer is not a JSON object' } };
      }
      return { ok: true, status, json: json as Record<string, unknown> };
    }
    const { reason, code } = reasonOf(json, text, status);
    const f = { status, reason, providerCode: code, retryAfterMs };
    if (status === 429 || status >= 500) return { ok: false, code: 'provider_unavailable', f };
    if (status === 401 || status === 403) return { ok: false, code: 'provider_auth_failed', f };
    return { ok: false, code: 'provider_refused', f };
  }

  async close(): Promise<void> {
    const a = this.#ownAgent;
    this.#ownAgent = undefined;
    await a?.close();
  }
}
