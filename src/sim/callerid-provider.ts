/**
 * Caller-ID provider simulator (SPEC 10, 12): the REST protocol of the built-in adapter on
 * node:http, for tests, the benchmarks and `xinge sim --callerid-port N`.
 *
 * Every request is authenticated as a real provider would: a known X-App-Key, X-Timestamp
 * within max_skew_s of the simulator's clock, X-Signature over METHOD, the request target as
 * received, timestamp, nonce and the received body bytes, and a nonce not seen in the last
 * 10 minutes; otherwise 401 with a reason. A valid request whose X-Request-Id was already
 * answered gets that answer again (deduplication: a retried create makes one card).
 *
 * Faults on command: answer 429 or 503 (with Retry-After) for a while or for the next N
 * requests, process a request but lose its answer (503), reject reviews with a reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { signatureMatches } from '../callerid/signing.js';
import type { CardStatus } from '../callerid/provider.js';
import { cardStatus, cardView, checkCardBody, type CardTimeline, type SimCard } from './callerid-provider-cards.js';

export interface CallerIdSimOptions {
  host?: string;
  port?: number;
  /** Path prefix of the API (the daemon's base_url path). Default `/callerid`. */
  basePath?: string;
  /** app key → secret. Default `{ "xinge-app": "xinge-secret" }`. */
  apps?: Record<string, string>;
  now?: () => number;
  maxSkewS?: number;
  nonceTtlMs?: number;
  reviewMs?: number;
  activateMs?: number;
  validityDays?: number;
  logger?: Logger;
}

export interface SimRequestRecord {
  at: number;
  method: string;
  target: string;
  appKey: string | undefined;
  requestId: string | undefined;
  nonce: string | undefined;
  status: number;
  code: string | undefined;
  /** Answered from the X-Request-Id cache. */
  replayed: boolean;
}

interface Fault {
  status: 429 | 503;
  retryAfterS: number | undefined;
  until: number | undefined;
  remaining: number | undefined;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const MAX_BODY = 2 * 1024 * 1024;
const LIVE: readonly CardStatus[] = ['pending_review', 'approved', 'active', 'suspended'];

export class CallerIdProviderSim {
  readonly requests: SimRequestRecord[] = [];
  readonly #o: Required<Omit<CallerIdSimOptions, 'logger'>> & { logger: Logger | undefined };
  readonly #cards = new Map<string, SimCard>();
  readonly #nonces = new Map<string, number>();
  readonly #answered = new Map<string, { method: string; target: string; answer: Answer }>();
  #server: Server | undefined;
  #port = 0;
  #fault: Fault | undefined;
  #rejectReason: string | undefined;
  #loseAnswers = 0;
  #seq = 0;

  constructor(o: CallerIdSimOptions = {}) {
    this.#o = {
      host: o.host ?? '127.0.0.1',
      port: o.port ?? 0,
      basePath: (o.basePath ?? '/callerid').replace(/\/+$/, ''),
      apps: o.apps ?? { 'xinge-app': 'xinge-secret' },
      now: o.now ?? Date.now,
      maxSkewS: o.maxSkewS ?? 300,
      nonceTtlMs: o.nonceTtlMs ?? 600_000,
      reviewMs: o.reviewMs ?? 2000,
      activateMs: o.activateMs ?? 2000,
      validityDays: o.validityDays ?? 365,
      logger: o.logger,
    };
  }

  get port(): number {
    return this.#port;
  }

  /** The base URL the daemon's caller_id.base_url should hold. */
  get baseUrl(): string {
    return `http://${this.#o.host}:${this.#port}${this.#o.basePath}`;
  }

  get #timeline(): CardTimeline {
    return { reviewMs: this.#o.reviewMs, activateMs: this.#o.activateMs, validityMs: this.#o.validityDays * 86_400_000 };
  }

  async start(): Promise<{ port: number }> {
    const server = createServer((req, res) => this.#onRequest(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    return { port: this.#port };
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  // --- commands (tests, `xinge sim` flags) ---

  /** Cards submitted from now on are rejected at review with `reason`; undefined: approved again. */
  rejectReviews(reason: string | undefined): void {
    this.#rejectReason = reason;
  }

  /** Reject this card at review (if still pending_review, it ends rejected when its review time comes). */
  rejectCard(cardId: string, reason: string): void {
    const c = this.#cards.get(cardId);
    if (c !== undefined) c.rejectReason = reason;
  }

  /** Force a card's status (suspended, expired, …), with an optional reason and expiry. */
  setStatus(cardId: string, status: CardStatus, reason?: string, expiresAt?: number): void {
    const c = this.#cards.get(cardId);
    if (c !== undefined) c.forced = { status, reason, expiresAt };
  }

  /** Answer every request with `status` for `ms` of the simulator's clock. */
  failFor(status: 429 | 503, ms: number, retryAfterS?: number): void {
    this.#fault = { status, retryAfterS, until: this.#o.now() + ms, remaining: undefined };
  }

  /** Answer the next `count` authenticated requests with `status`. */
  failNext(status: 429 | 503, count: number, retryAfterS?: number): void {
    this.#fault = { status, retryAfterS, until: undefined, remaining: count };
  }

  clearFaults(): void {
    this.#fault = undefined;
    this.#loseAnswers = 0;
  }

  /** Process the next `count` requests but answer 503, as if the answer were lost on the way. */
  loseAnswers(count: number): void {
    this.#loseAnswers = count;
  }

  cards(): Array<SimCard & { status: CardStatus }> {
    const now = this.#o.now();
    return [...this.#cards.values()].filter((c) => !c.revoked).map((c) => ({ ...c, status: cardStatus(c, now, this.#timeline).status }));
  }

  // --- protocol ---

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const rec: SimRequestRecord = {
        at: this.#o.now(),
        method: req.method ?? '',
        target: req.url ?? '',
        appKey: header(req, 'x-app-key'),
        requestId: header(req, 'x-request-id'),
        nonce: header(req, 'x-nonce'),
        status: 0,
        code: undefined,
        replayed: false,
      };
      let answer: Answer;
      try {
        answer = tooLarge ? err(413, 'too_large', 'body too large') : this.#handle(req, Buffer.concat(chunks), rec);
      } catch (e) {
        this.#o.logger?.error({ err: e }, 'caller-ID simulator failed');
        answer = err(500, 'internal', 'simulator error');
      }
      rec.status = answer.status;
      rec.code = typeof answer.body.code === 'string' ? answer.body.code : undefined;
      this.requests.push(rec);
      if (this.requests.length > 10_000) this.requests.splice(0, this.requests.length - 10_000);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
    });
  }

  #handle(req: IncomingMessage, body: Buffer, rec: SimRequestRecord): Answer {
    const method = req.method ?? '';
    const target = req.url ?? '';
    const path = target.split('?')[0]!;
    if (path.startsWith(`${this.#o.basePath}/_sim/`)) return this.#control(method, path.slice(this.#o.basePath.length + 6), body);
    const prefix = `${this.#o.basePath}/v1/cards`;
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return err(404, 'not_found', 'no such endpoint');

    const denied = this.#authenticate(req, method, target, body);
    if (denied !== undefined) return denied;

    const fault = this.#activeFault();
    if (fault !== undefined) {
      return {
        ...err(fault.status, fault.status === 429 ? 'rate_limited' : 'unavailable', fault.status === 429 ? 'too many requests' : 'service unavailable'),
        ...(fault.retryAfterS !== undefined ? { headers: { 'retry-after': String(fault.retryAfterS) } } : {}),
      };
    }

    const key = `${rec.appKey}\u0000${rec.requestId}`;
    const seen = this.#answered.get(key);
    if (seen !== undefined) {
      if (seen.method !== method || seen.target !== target) return err(409, 'request_id_reused', 'X-Request-Id already used for another request');
      rec.replayed = true;
      return seen.answer;
    }
    const answer = this.#route(method, path.slice(prefix.length), body, rec.appKey!);
    if (answer.status < 500) {
      this.#answered.set(key, { method, target, answer });
      if (this.#answered.size > 100_000) this.#answered.delete(this.#answered.keys().next().value!);
    }
    if (this.#loseAnswers > 0) {
      this.#loseAnswers--;
      return err(503, 'unavailable', 'answer lost');
    }
    return answer;
  }

  /**
   * Commands for a simulator in another process (`xinge sim`), unsigned: it listens on
   * loopback for tests and benchmarks. POST reject {reason|null}, POST fail {status, ms,
   * retry_after_s?}, POST clear, POST status {card_id, status, reason?}, GET cards.
   */
  #control(method: string, cmd: string, body: Buffer): Answer {
    let b: Record<string, unknown> = {};
    try {
      b = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    } catch {
      return err(400, 'invalid_json', 'body is not JSON');
    }
    if (method === 'GET' && cmd === 'cards') {
      return { status: 200, body: { cards: this.cards().map((c) => ({ card_id: c.cardId, status: c.status, numbers: c.fields.numbers, display_name: c.fields.display_name })) } };
    }
    if (method !== 'POST') return err(405, 'method_not_allowed', 'use POST');
    if (cmd === 'reject') this.rejectReviews(typeof b.reason === 'string' ? b.reason : undefined);
    else if (cmd === 'fail' && (b.status === 429 || b.status === 503) && typeof b.ms === 'number') {
      this.failFor(b.status, b.ms, typeof b.retry_after_s === 'number' ? b.retry_after_s : undefined);
    } else if (cmd === 'clear') this.clearFaults();
    else if (cmd === 'status' && typeof b.card_id === 'string' && typeof b.status === 'string') {
      this.setStatus(b.card_id, b.status as CardStatus, typeof b.reason === 'string' ? b.reason : undefined);
    } else return err(400, 'bad_command', 'unknown command or arguments');
    return { status: 200, body: { ok: true } };
  }

  #authenticate(req: IncomingMessage, method: string, target: string, body: Buffer): Answer | undefined {
    const appKey = header(req, 'x-app-key');
    const ts = header(req, 'x-timestamp');
    const nonce = header(req, 'x-nonce');
    const sig = header(req, 'x-signature');
    if (appKey === undefined || ts === undefined || nonce === undefined || sig === undefined || header(req, 'x-request-id') === undefined) {
      return err(401, 'missing_header', 'X-App-Key, X-Request-Id, X-Timestamp, X-Nonce and X-Signature are required');
    }
    const secret = this.#o.apps[appKey];
    if (secret === undefined) return err(401, 'unknown_app_key', 'unknown app key');
    const now = this.#o.now();
    if (!/^\d{1,12}$/.test(ts) || Math.abs(now / 1000 - Number(ts)) > this.#o.maxSkewS) {
      return err(401, 'stale_timestamp', `timestamp more than ${this.#o.maxSkewS} s off`);
    }
    if (!signatureMatches(secret, { method, path: target, timestamp: ts, nonce, body }, sig)) {
      return err(401, 'bad_signature', 'signature does not match');
    }
    // Only a valid signature records its nonce: forged requests cannot burn real ones.
    for (const [n, at] of this.#nonces) {
      if (now - at <= this.#o.nonceTtlMs) break;
      this.#nonces.delete(n);
    }
    const nonceKey = `${appKey}\u0000${nonce}`;
    const at = this.#nonces.get(nonceKey);
    if (at !== undefined && now - at <= this.#o.nonceTtlMs) return err(401, 'replayed_nonce', 'nonce already used');
    this.#nonces.delete(nonceKey);
    this.#nonces.set(nonceKey, now);
    return undefined;
  }

  #activeFault(): Fault | undefined {
    const f = this.#fault;
    if (f === undefined) return undefined;
    if (f.until !== undefined && this.#o.now() >= f.until) {
      this.#fault = undefined;
      return undefined;
    }
    if (f.remaining !== undefined) {
      if (f.remaining <= 0) {
        this.#fault = undefined;
        return undefined;
      }
      f.remaining--;
    }
    return f;
  }

  #route(method: string, rest: string, body: Buffer, appKey: string): Answer {
    const now = this.#o.now();
    if (rest === '') {
      if (method !== 'POST') return err(405, 'method_not_allowed', 'use POST');
      const checked = this.#checkBody(body);
      if ('status' in checked) return checked;
      const inUse = this.#numberInUse(checked.fields.numbers, undefined);
      if (inUse !== undefined) return inUse;
      const card: SimCard = {
        cardId: `card_${(++this.#seq).toString().padStart(6, '0')}`,
        appKey,
        fields: checked.fields,
        submittedAt: now,
        rejectReason: this.#rejectReason,
        forced: undefined,
        revoked: false,
        updates: 0,
      };
      this.#cards.set(card.cardId, card);
      return { status: 201, body: { card_id: card.cardId, status: 'pending_review' } };
    }
    const id = decodeURIComponent(rest.slice(1));
    const card = this.#cards.get(id);
    if (card === undefined || card.revoked || card.appKey !== appKey || id.includes('/')) return err(404, 'card_not_found', 'unknown card');
    if (method === 'GET') return { status: 200, body: { ...cardView(card, now, this.#timeline) } };
    if (method === 'DELETE') {
      card.revoked = true;
      return { status: 200, body: { card_id: card.cardId, status: 'revoked' } };
    }
    if (method === 'PUT') {
      const checked = this.#checkBody(body);
      if ('status' in checked) return checked;
      const inUse = this.#numberInUse(checked.fields.numbers, card.cardId);
      if (inUse !== undefined) return inUse;
      card.fields = checked.fields;
      card.submittedAt = now;
      card.rejectReason = this.#rejectReason;
      card.forced = undefined;
      card.updates++;
      return { status: 200, body: { card_id: card.cardId, status: 'pending_review' } };
    }
    return err(405, 'method_not_allowed', 'use GET, PUT or DELETE');
  }

  #checkBody(body: Buffer): { fields: SimCard['fields'] } | Answer {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return err(400, 'invalid_json', 'body is not JSON');
    }
    const c = checkCardBody(json);
    return c.ok ? { fields: c.fields } : err(400, 'invalid_field', c.reason);
  }

  #numberInUse(numbers: string[], except: string | undefined): Answer | undefined {
    const now = this.#o.now();
    for (const c of this.#cards.values()) {
      if (c.revoked || c.cardId === except || !LIVE.includes(cardStatus(c, now, this.#timeline).status)) continue;
      const n = numbers.find((x) => c.fields.numbers.includes(x));
      if (n !== undefined) return err(409, 'number_in_use', `number ${n} is already on card ${c.cardId}`);
    }
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function err(status: number, code: string, reason: string): Answer {
  return { status, body: { code, reason } };
}
