/**
 * Intake pipeline for one SMS (SPEC 1): validate → policy → route → count segments →
 * durable insert (group commit) → answer. Policy and routing are injected; this module
 * knows nothing of HTTP or SMPP, so the HTTP routes and the SMPP server share it.
 */
import { ApiError } from '../domain/errors.js';
import { normalizeMsisdn } from '../domain/msisdn.js';
import { newId } from '../domain/ids.js';
import type { Category, EncodingName } from '../domain/types.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { SEND_WINDOW_FULL_SQLSTATE, type NewMessage } from '../store/types.js';
import { countSegments } from '../encoding/index.js';
import type { SmsRequest } from './validate.js';
import { checkCallbackUrl } from './callback-url.js';

export interface ComposedText {
  text: string;
  templateId?: string | undefined;
  variant?: string | undefined;
  stage?: string | undefined;
}

/** What policy decides for a submission (implemented in policy/). Throws ApiError to refuse. */
export interface IntakePolicy {
  /** Template rendering or free-text check, signature, opt-out suffix, content lint. */
  compose(req: SmsRequest, client: ClientConfig): ComposedText;
  /**
   * Opt-out, frequency caps, quiet hours: returns when it may be sent. Runs inside the commit.
   * `deferCaps`: the caps may be checked by a statement that aborts the transaction when a
   * window is full (AuxStore.guardSends) instead of a read: the caller retries without it.
   */
  admit(to: string, category: Category, client: ClientConfig, requestedSendAt: number, now: number, opts?: { deferCaps?: boolean }): { sendAt: number };
  /** Record the send for caps (inside the same transaction as the insert). */
  recordSend(to: string, category: Category, now: number): void;
  /** Encrypt a body that must not be stored in clear (OTP). */
  sealBody?(text: string): Buffer;
}

export interface Router {
  /** The carrier for this number and category, or undefined (no route). */
  route(to: string, category: Category): { id: string; segmentation: NewMessage['segmentation']; encodings: readonly EncodingName[]; forceUcs2: boolean; packGsm7: boolean; sourceAddr?: string } | undefined;
}

export interface LaneGate {
  /** Throws ApiError queue_full when the lane is over its depth limit. */
  check(category: Category, adding: number): void;
  added(category: Category, n: number): void;
}

export interface Accepted {
  id: string;
  status: 'queued' | 'scheduled';
  segments: number;
  encoding: EncodingName;
}

export interface PreparedMessage {
  msg: NewMessage;
  answer: Accepted;
}

export interface SubmitServiceDeps {
  config: () => Config;
  store: Store;
  policy: () => IntakePolicy;
  router: Router;
  lanes: LaneGate;
  now: () => number;
  /** Called after a commit that added due messages (wake the dispatcher). */
  onAccepted?: (lanes: Set<Category>) => void;
}

/** SMPP 3.4 source_addr: a C-octet string of at most 21 octets, the terminating NUL included. */
export const MAX_SOURCE_ADDR = 20;

/**
 * The extension appended to the carrier's service code (SPEC 3, 7): replies to that address
 * come back to its owner, so a client may only send from within its own source_extension
 * (the extension itself or longer numbers that begin with it). The service code plus the
 * extension must fit SMPP's source_addr, checked here rather than refused later by the SMSC.
 */
export function senderExtension(requested: string | undefined, client: ClientConfig, serviceCode: string, field: string): string | undefined {
  const own = client.source_extension === '' ? undefined : client.source_extension;
  if (requested !== undefined && requested !== '') {
    if (own === undefined) throw new ApiError('sender_not_allowed', 'this client has no source_extension: from is not allowed', { field });
    if (!requested.startsWith(own)) throw new ApiError('sender_not_allowed', `from must begin with this client's source_extension ${own}`, { field });
  }
  const from = requested === '' ? own : (requested ?? own);
  const length = serviceCode.length + (from?.length ?? 0);
  if (length > MAX_SOURCE_ADDR) {
    throw new ApiError('invalid_field', `source address ${serviceCode.length} + ${from?.length ?? 0} = ${length} digits, over SMPP's ${MAX_SOURCE_ADDR}: shorten from`, { field });
  }
  return from;
}

export class SubmitService {
  readonly #d: SubmitServiceDeps;
  constructor(deps: SubmitServiceDeps) {
    this.#d = deps;
  }

  /**
   * Everything that can be decided before touching the store. Throws ApiError. `presetId`:
   * an id already given out (the SMPP server answers a multipart's first parts with it).
   */
  prepare(req: SmsRequest, client: ClientConfig, field = '', composedBySystem?: ComposedText, presetId?: string): PreparedMessage {
    const cfg = this.#d.config();
    const now = this.#d.now();
    if (!client.categories.includes(req.category)) {
      throw new ApiError('category_not_allowed', `client may not send category ${req.category}`, { field: `${field}category` });
    }
    if (req.category === 'otp' && !client.scopes.includes('otp')) {
      throw new ApiError('forbidden', 'category otp needs scope otp', { field: `${field}category` });
    }
    const to = normalizeMsisdn(req.to, cfg.policy.allowed_countries, `${field}to`);
    if (req.callbackUrl !== undefined) checkCallbackUrl(req.callbackUrl, client, `${field}callback_url`);
    // Whose sender address this is, before anything about the content.
    senderExtension(req.from, client, '', `${field}from`);
    const policy = this.#d.policy();
    const composed = composedBySystem ?? policy.compose(req, client);
    const route = this.#d.router.route(to, req.category);
    if (route === undefined) throw new ApiError('no_route', 'no carrier takes this number and category', { field: `${field}to` });
    const from = senderExtension(req.from, client, route.sourceAddr ?? '', `${field}from`);
    const counted = countSegments(composed.text, {
      segmentation: route.segmentation,
      encodings: route.encodings,
      forceUcs2: route.forceUcs2 || req.parts?.ucs2 === true,
      packGsm7: route.packGsm7,
      // An SMPP client's own cut holds only for the text it cut.
      cuts: composed.text === req.text ? req.parts?.cuts : undefined,
    });
    if (counted.segments > cfg.policy.max_segments) {
      throw new ApiError('text_too_long', `text needs ${counted.segments} segments, over max_segments ${cfg.policy.max_segments}`, {
        field: `${field}text`,
      });
    }
    const id = presetId ?? newId('msg', now);
    // An OTP's validity is its TTL (60..600 s, from /v1/otp or policy.otp.ttl_s), never longer.
    const ttlS = req.category === 'otp' ? Math.min(req.validityS ?? cfg.policy.otp.ttl_s, 600) : req.validityS ?? cfg.queue.max_age_s;
    const requestedSendAt = req.category === 'otp' ? now : Math.max(now, req.sendAt ?? now);
    const sealed = req.category === 'otp' && policy.sealBody !== undefined;
    const msg: NewMessage = {
      id,
      client: client.name,
      category: req.category,
      to,
      from,
      text: sealed ? undefined : composed.text,
      bodyEnc: sealed ? policy.sealBody!(composed.text) : undefined,
      encoding: counted.encoding,
      segmentation: route.segmentation,
      segments: counted.segments,
      carrierId: route.id,
      concatRef: 0,
      sendAt: requestedSendAt,
      expiresAt: 0,
      reference: req.reference,
      callbackUrl: req.callbackUrl,
      templateId: composed.templateId,
      variant: composed.variant,
      stage: composed.stage,
      createdAt: now,
    };
    msg.expiresAt = Math.max(requestedSendAt, now) + ttlS * 1000;
    return { msg, answer: { id, status: 'queued', segments: counted.segments, encoding: counted.encoding } };
  }

  /**
   * Inside the commit: the checks that read the store, then the writes. A refusal (ApiError)
   * comes only from the checks, before anything is written; callers rely on that.
   */
  persist(p: PreparedMessage, client: ClientConfig, opts?: { deferCaps?: boolean }): Accepted {
    const now = p.msg.createdAt;
    const { sendAt } = this.#d.policy().admit(p.msg.to, p.msg.category, client, p.msg.sendAt, now, opts);
    if (sendAt > p.msg.sendAt) {
      // Deferred by quiet hours: validity runs from when it may first be sent.
      p.msg.expiresAt += sendAt - p.msg.sendAt;
      p.msg.sendAt = sendAt;
    }
    if (p.msg.segments > 1) p.msg.concatRef = this.#d.store.messages.nextConcatRef(p.msg.carrierId);
    this.#d.store.messages.insertMessage(p.msg);
    this.#d.policy().recordSend(p.msg.to, p.msg.category, now);
    return { ...p.answer, status: p.msg.sendAt > now ? 'scheduled' : 'queued' };
  }

  /** Accept one message: resolves after its row is committed. */
  async submit(req: SmsRequest, client: ClientConfig, alsoInCommit?: (a: Accepted) => void, composedBySystem?: ComposedText, presetId?: string): Promise<Accepted> {
    const p = this.prepare(req, client, '', composedBySystem, presetId);
    this.#d.lanes.check(p.msg.category, 1);
    // An OTP does not wait for the group-commit tick: its latency budget is milliseconds.
    const urgent = p.msg.category === 'otp';
    const lanes = new Set([p.msg.category]);
    const commit = (deferCaps: boolean) =>
      this.#d.store.commit.run(
        () =>
          this.#d.store.messages.transaction(() => {
            const a = this.persist(p, client, { deferCaps });
            alsoInCommit?.(a);
            return a;
          }),
        urgent,
        // Dispatch on commit; the 202 waits for the fsync.
        () => this.#d.onAccepted?.(lanes),
      );
    let accepted: Accepted;
    try {
      // A code's send windows checked in its own commit's round trip (PostgreSQL).
      accepted = await commit(urgent);
    } catch (err) {
      // A full window aborted it: nothing was written. Checked again by reading, which
      // refuses it with the window and its Retry-After (or takes it, if the window freed).
      if (!(urgent && (err as { sqlState?: unknown }).sqlState === SEND_WINDOW_FULL_SQLSTATE)) throw err;
      accepted = await commit(false);
    }
    this.#d.lanes.added(p.msg.category, 1);
    return accepted;
  }

  /** Accept a batch: each item on its own; all accepted ones in one transaction. */
  async submitBatch(
    items: unknown[],
    client: ClientConfig,
    parse: (b: unknown, prefix: string) => SmsRequest,
    alsoInCommit?: (results: Array<Accepted | ApiError>) => void,
  ): Promise<Array<Accepted | ApiError>> {
    const results: Array<Accepted | ApiError> = new Array(items.length);
    const prepared: Array<{ i: number; p: PreparedMessage }> = [];
    const perLane = new Map<Category, number>();
    for (let i = 0; i < items.length; i++) {
      try {
        const p = this.prepare(parse(items[i], `messages[${i}].`), client, `messages[${i}].`);
        prepared.push({ i, p });
        perLane.set(p.msg.category, (perLane.get(p.msg.category) ?? 0) + 1);
      } catch (err) {
        if (err instanceof ApiError) results[i] = err;
        else throw err;
      }
    }
    for (const [lane, n] of perLane) {
      try {
        this.#d.lanes.check(lane, n);
      } catch (err) {
        for (const x of prepared) if (x.p.msg.category === lane) results[x.i] = err as ApiError;
      }
    }
    const toInsert = prepared.filter((x) => results[x.i] === undefined);
    if (toInsert.length > 0 || alsoInCommit !== undefined) {
      // One savepoint for the whole batch, none per item: persist refuses an item (ApiError)
      // before it writes anything, and any other failure takes the batch back entirely, so
      // no item is stored without the client being told it was accepted.
      const stored = new Set<Category>();
      const out = await this.#d.store.commit.run(
        () =>
          this.#d.store.messages.transaction(() => {
            const inserted = toInsert.map((x) => {
              try {
                const a = this.persist(x.p, client);
                stored.add(x.p.msg.category);
                return a;
              } catch (err) {
                if (err instanceof ApiError) return err;
                throw err;
              }
            });
            if (alsoInCommit !== undefined) {
              const merged = results.slice();
              inserted.forEach((r, k) => (merged[toInsert[k]!.i] = r));
              alsoInCommit(merged);
            }
            return inserted;
          }),
        false,
        () => {
          if (stored.size > 0) this.#d.onAccepted?.(stored);
        },
      );
      out.forEach((r, k) => {
        const x = toInsert[k]!;
        results[x.i] = r;
        if (!(r instanceof ApiError)) this.#d.lanes.added(x.p.msg.category, 1);
      });
    }
    return results;
  }
}
