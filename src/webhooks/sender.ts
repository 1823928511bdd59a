/**
 * One webhook POST with undici (SPEC 3). No retries here: the OutboxWorker retries.
 *
 * Headers: Content-Type application/json, X-Xinge-Event-Id (the event's stable id, the same
 * on every attempt), X-Xinge-Timestamp (Unix seconds of this attempt), X-Xinge-Signature
 * (`sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, see sign.ts).
 *
 * Retry policy: webhooks are at-least-once and operators expect an endpoint that is down,
 * misrouted or mid-deploy (404, 401, 5xx, timeouts, refused connections) to get its events
 * once it is fixed, so every failure is retryable until max_age_s, except:
 * - 410 Gone: the receiver says the endpoint is gone for good;
 * - a URL that cannot be requested at all (not http/https, unparsable).
 * Redirects are not followed (a 3xx is a failure, retried): re-POSTing a signed body to
 * another host is the receiver's configuration to fix, not ours to guess.
 *
 * Errors are reported as short codes (`HTTP 503`, `ECONNREFUSED`, `timeout`): never the URL
 * (it may carry a token) nor the response body.
 */
import { Agent, buildConnector, request } from 'undici';
import type { Dispatcher } from 'undici';
import { isIP } from 'node:net';
import { signWebhook } from './sign.js';
import { backoffDelayMs } from '../domain/backoff.js';
import { BlockedAddressError, guardedLookup, isBlockedAddress } from './address-guard.js';

export interface WebhookDelivery {
  id: string;
  url: string;
  secret: string;
  /** Exact JSON to send. */
  body: string;
  /** The client's allow_private_callbacks: may connect to loopback/private/link-local addresses. */
  allowPrivate?: boolean;
}

export type WebhookResult =
  | { ok: true; status: number }
  | { ok: false; status?: number; error?: string; retryable: boolean };

export interface WebhookSenderOptions {
  /** Whole-attempt timeout (connect, headers, body): config webhooks.timeout_ms. */
  timeoutMs: number;
  /** Max sockets per origin (default 8: webhooks.concurrency). */
  connections?: number;
  /** Keep-alive idle time for pooled sockets (default 4 s: under most servers' 5 s). */
  keepAliveTimeoutMs?: number;
  /** Use this dispatcher instead of the sender's own Agent (tests, proxies). Not closed by close(). */
  dispatcher?: Dispatcher;
  /** Clock for X-Xinge-Timestamp (epoch ms). */
  now?: () => number;
  userAgent?: string;
}

/**
 * undici's connector with the address guard in front: an IP literal is checked before
 * dialling, a name through the guarded lookup (net.connect skips lookup for literals).
 */
function guardedConnector(timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isBlockedAddress(host)) {
      callback(new BlockedAddressError(host), null);
      return;
    }
    connect(opts, callback);
  };
}

export class WebhookSender {
  readonly #dispatcher: Dispatcher;
  #ownAgent: Agent | undefined;
  /** The guarded Agent: every client without allow_private_callbacks goes through it. */
  #guarded: Agent | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #userAgent: string;

  constructor(opts: WebhookSenderOptions) {
    this.#timeoutMs = opts.timeoutMs;
    this.#now = opts.now ?? Date.now;
    this.#userAgent = opts.userAgent ?? 'xinge-webhook/1';
    if (opts.dispatcher !== undefined) {
      this.#dispatcher = opts.dispatcher;
      this.#ownAgent = undefined;
    } else {
      const agentOptions = {
        connections: opts.connections ?? 8,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 4000,
        keepAliveMaxTimeout: Math.max(opts.keepAliveTimeoutMs ?? 4000, 4000),
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      };
      this.#ownAgent = new Agent({ ...agentOptions, connect: { timeout: opts.timeoutMs } });
      this.#dispatcher = this.#ownAgent;
    }
    this.#guarded = new Agent({
      connections: opts.connections ?? 8,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 4000,
      keepAliveMaxTimeout: Math.max(opts.keepAliveTimeoutMs ?? 4000, 4000),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: guardedConnector(opts.timeoutMs),
    });
  }

  /** POST one event. Never throws: every outcome is a WebhookResult. */
  async send(ev: WebhookDelivery): Promise<WebhookResult> {
    let url: URL;
    try {
      url = new URL(ev.url);
    } catch {
      return { ok: false, error: 'invalid_url', retryable: false };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { ok: false, error: 'invalid_url', retryable: false };
    }
    const dispatcher = ev.allowPrivate === true ? this.#dispatcher : this.#guarded;
    if (dispatcher === undefined) return { ok: false, error: 'closed', retryable: true };
    const ts = Math.floor(this.#now() / 1000);
    const body = Buffer.from(ev.body, 'utf8');
    try {
      const res = await request(url, {
        method: 'POST',
        // A client not allowed private targets always goes through the guard, whatever dispatcher was injected.
        dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.#userAgent,
          'x-xinge-event-id': ev.id,
          'x-xinge-timestamp': String(ts),
          'x-xinge-signature': signWebhook(ev.secret, ts, body),
        },
        body,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      // Drain (bounded) so the socket goes back to the pool; the content is not ours to keep.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { ok: true, status };
      return { ok: false, status, error: `HTTP ${status}`, retryable: status !== 410 };
    } catch (err) {
      const code = errorCode(err);
      // The address will not stop being private by waiting: given up at once.
      if (code === 'ERR_BLOCKED_ADDRESS') return { ok: false, error: 'blocked_address', retryable: false };
      return { ok: false, error: code, retryable: true };
    }
  }

  /** Abort the requests in flight on the sender's own Agent: each resolves as a retryable failure. */
  async destroy(): Promise<void> {
    const agents = [this.#ownAgent, this.#guarded];
    this.#ownAgent = undefined;
    this.#guarded = undefined;
    await Promise.all(agents.map((a) => a?.destroy()));
  }

  /** Close the sender's own Agent (sockets). */
  async close(): Promise<void> {
    const agents = [this.#ownAgent, this.#guarded];
    this.#ownAgent = undefined;
    this.#guarded = undefined;
    await Promise.all(agents.map((a) => a?.close()));
  }
}

function errorCode(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown; cause?: unknown };
    if (e.name === 'TimeoutError') return 'timeout';
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
      return 'timeout';
    }
    if (typeof e.code === 'string') return e.code;
    if (e.cause !== undefined && e.cause !== err) return errorCode(e.cause);
    if (typeof e.name === 'string') return e.name;
  }
  return 'error';
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before the next attempt after `attempt` failed attempts (1 = the first failed):
 * exponential (initialMs · 2^(attempt-1), capped at maxMs) with "equal jitter": uniformly in
 * [base/2, base]. Jitter spreads a burst of events that failed together (an endpoint that was
 * down) so they do not return as a burst; the floor keeps the growth exponential.
 */
export function nextBackoffMs(attempt: number, opts: BackoffOptions, rng: () => number = Math.random): number {
  return backoffDelayMs(attempt, opts, rng);
}
