/**
 * Verification codes (SPEC 3, 11): POST /v1/otp and /v1/otp/verify. The code comes from
 * crypto.randomInt, is stored only as an HMAC, sent in an encrypted body, and compared in
 * constant time; single use, limited attempts, a new send supersedes the previous one.
 *
 * Limits (resend_after_s, per_hour, per_day) count every OTP sent to the number: /v1/otp
 * sends of any purpose and POST /v1/sms with category otp alike. Both paths go through
 * SubmitService.persist, whose policy.admit checks the send log (category `otp`) inside the
 * commit and whose recordSend logs the send in the same transaction; the pre-check here
 * reads the same log so a refused request never generates a code.
 *
 * When an OTP ends (verified, locked, expired at verify, superseded) its message is canceled
 * if it has not gone out, and its encrypted body is purged once no segment of it is waiting
 * to be sent; a final message state purges it too (the store's finalize).
 */
import { ApiError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { normalizeMsisdn } from '../domain/msisdn.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { Metrics } from '../observability/metrics.js';
import { generateCode, hashCode, otpVerifyOutcome } from '../policy/otp.js';
import { assertWithinCaps, checkOtpLimits, lookbackMs, otpWindows } from '../policy/frequency-caps.js';
import { applySignature, resolveSignature } from '../policy/signature.js';
import type { TemplateBook } from '../policy/templates.js';
import type { SubmitService } from './submit-service.js';

/** A code's ttl at most (policy.otp.ttl_s and a request's ttl_s alike). */
export const OTP_TTL_MAX_S = 600;
/** How long after its send a code can still be active: its longest ttl, plus a minute for the clocks of a cluster's daemons. */
const ACTIVE_CODE_MS = (OTP_TTL_MAX_S + 60) * 1000;

export const DEFAULT_OTP_TEXT = '您的验证码是{code}，{ttl_min}分钟内有效，请勿泄露。';

export interface OtpServiceDeps {
  config: () => Config;
  store: Store;
  service: SubmitService;
  templates: () => TemplateBook;
  metrics: Metrics;
  now: () => number;
  onCanceled?: () => void;
}

function str(o: Record<string, unknown>, k: string, max: number, required: boolean): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw new ApiError('invalid_field', `${k} is required`, { field: k });
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new ApiError('invalid_field', `${k} must be a string of 1..${max}`, { field: k });
  return v;
}

export class OtpService {
  readonly #d: OtpServiceDeps;
  constructor(d: OtpServiceDeps) {
    this.#d = d;
  }

  async send(body: unknown, client: ClientConfig): Promise<{ id: string; expires_at: string; resend_after: string }> {
    try {
      const out = await this.#send(body, client);
      this.#d.metrics.otp.inc({ event: 'sent', result: 'accepted' });
      return out;
    } catch (err) {
      if (err instanceof ApiError) {
        this.#d.metrics.otp.inc({ event: 'sent', result: err.code });
        this.#d.metrics.refused.inc({ reason: err.code });
      }
      throw err;
    }
  }

  async #send(body: unknown, client: ClientConfig): Promise<{ id: string; expires_at: string; resend_after: string }> {
    const cfg = this.#d.config();
    const p = cfg.policy.otp;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('bad_request', 'body must be a JSON object');
    const o = body as Record<string, unknown>;
    const to = normalizeMsisdn(o.to, cfg.policy.allowed_countries, 'to');
    const purpose = str(o, 'purpose', 64, true)!;
    const template = str(o, 'template', 128, false) ?? p.template;
    const reference = str(o, 'reference', 128, false);
    const length = o.length ?? p.length;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 4 || length > 10) throw new ApiError('invalid_field', 'length must be 4..10', { field: 'length' });
    const ttlS = o.ttl_s ?? p.ttl_s;
    if (typeof ttlS !== 'number' || !Number.isInteger(ttlS) || ttlS < 60 || ttlS > OTP_TTL_MAX_S) throw new ApiError('invalid_field', `ttl_s must be 60..${OTP_TTL_MAX_S}`, { field: 'ttl_s' });
    if (p.secret === '' || p.body_key === '') throw new ApiError('internal', 'OTP is not configured (policy.otp.secret, policy.otp.body_key)');
    const now = this.#d.now();
    // Every OTP to this number (any purpose, /v1/sms category otp included) is in the send
    // log; policy.admit checks the same windows again inside the commit.
    const limits = otpWindows(p);
    const sent = this.#d.store.aux.sendsSince(to, 'otp', now - Math.max(lookbackMs(limits), ACTIVE_CODE_MS));
    assertWithinCaps(checkOtpLimits(p, sent, now), 'otp_rate_limited', 'otp', limits);
    // A code stays active at most its ttl after its send, and every code's send is in this
    // log (same transaction): with none that recent there is no code to supersede, and the
    // code's transaction needs no answer from the store before its COMMIT, which on
    // PostgreSQL makes it one round trip (three with the supersede and its reply).
    const mayHaveActiveCode = sent.some((at) => at >= now - ACTIVE_CODE_MS);

    const code = generateCode(length);
    const otpId = newId('otp', now);
    const params = { code, ttl_min: String(Math.round(ttlS / 60)) };
    let text: string;
    let templateId: string | undefined;
    let variant: string | undefined;
    let templateSig: string | undefined;
    const book = this.#d.templates();
    if (template !== undefined && book.status(template) !== undefined) {
      if (book.category(template) !== 'otp') throw new ApiError('invalid_field', `template ${template} is not an otp template`, { field: 'template' });
      const names = book.params(template) ?? [];
      if (!names.includes('code')) throw new ApiError('invalid_field', `template ${template} has no {code} placeholder`, { field: 'template' });
      // Only the placeholders the template has: {ttl_min} is optional in a template.
      const given = Object.fromEntries(Object.entries(params).filter(([k]) => names.includes(k)));
      const r = book.render({ templateId: template, params: given, rng: Math.random });
      text = r.text;
      templateId = r.templateId;
      variant = r.variant;
      templateSig = r.signature;
    } else if (template !== undefined && o.template !== undefined) {
      throw new ApiError('unknown_template', `unknown template ${template}`, { field: 'template' });
    } else {
      text = DEFAULT_OTP_TEXT.replace('{code}', code).replace('{ttl_min}', params.ttl_min);
    }
    text = applySignature(text, { signature: resolveSignature(cfg.policy.signature, client.signature, templateSig), category: 'otp' });
    const expiresAt = now + ttlS * 1000;
    const superseded: string[] = [];
    await this.#d.service.submit(
      { to, category: 'otp', validityS: ttlS, ...(reference !== undefined ? { reference } : {}) },
      client,
      (a) => {
        const aux = this.#d.store.aux;
        // Again from the start if the commit is tried again (a first try's writes were rolled back).
        superseded.length = 0;
        if (mayHaveActiveCode) superseded.push(...aux.supersedeOtps(to, purpose));
        for (const mid of superseded) this.#endMessage(mid, now);
        aux.insertOtp({ id: otpId, client: client.name, to, purpose, codeHash: hashCode(p.secret, otpId, code), messageId: a.id, createdAt: now, expiresAt, attempts: 0, status: 'active' });
      },
      { text, templateId, variant },
    );
    if (superseded.length > 0) this.#d.onCanceled?.();
    return {
      id: otpId,
      expires_at: new Date(expiresAt).toISOString(),
      resend_after: new Date(now + p.resend_after_s * 1000).toISOString(),
    };
  }

  async verify(body: unknown, client: ClientConfig): Promise<{ valid: boolean; reason?: string }> {
    const cfg = this.#d.config();
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('bad_request', 'body must be a JSON object');
    const o = body as Record<string, unknown>;
    // Full-width digits from a pasted code are folded (NFKC), as verifyCode does.
    const code = typeof o.code === 'string' ? o.code.normalize('NFKC').trim() : o.code;
    if (typeof code === 'number') {
      // A JSON number loses leading zeros (012345 → 12345): the code must be sent as text.
      throw new ApiError('invalid_field', 'code must be a string of digits, e.g. "012345" (it was a JSON number, which drops leading zeros)', { field: 'code' });
    }
    if (typeof code !== 'string' || !/^\d{1,16}$/.test(code)) throw new ApiError('invalid_field', 'code must be a string of digits', { field: 'code' });
    const aux = this.#d.store.aux;
    let rec;
    if (o.id !== undefined) rec = aux.getOtp(str(o, 'id', 64, true)!);
    else rec = aux.latestOtp(normalizeMsisdn(o.to, cfg.policy.allowed_countries, 'to'), str(o, 'purpose', 64, true)!);
    if (rec === undefined || rec.client !== client.name) {
      this.#d.metrics.otp.inc({ event: 'verify', result: 'not_found' });
      return { valid: false, reason: 'not_found' };
    }
    const now = this.#d.now();
    const found = rec;
    const outcome = await this.#d.store.commit.run(() => {
      const cur = aux.getOtp(found.id)!;
      if (cur.status === 'superseded') return { valid: false as const, reason: 'expired' as const, ended: true, effect: 'none' as const, canceled: false };
      const r = otpVerifyOutcome(
        { id: cur.id, codeHash: cur.codeHash, expiresAt: cur.expiresAt, used: cur.status === 'used', attempts: cur.attempts },
        now,
        code,
        { secret: cfg.policy.otp.secret, maxAttempts: cfg.policy.otp.max_attempts },
      );
      if (r.effect === 'consume') aux.updateOtp(cur.id, { status: 'used' });
      else if (r.effect === 'count_attempt') aux.updateOtp(cur.id, { attempts: cur.attempts + 1, ...(r.ended ? { status: 'locked' as const } : {}) });
      const canceled = r.ended && cur.messageId !== null ? this.#endMessage(cur.messageId, now) : false;
      return { ...r, canceled };
    });
    if (outcome.canceled) this.#d.onCanceled?.();
    this.#d.metrics.otp.inc({ event: 'verify', result: outcome.valid ? 'valid' : outcome.reason });
    return outcome.valid ? { valid: true } : { valid: false, reason: outcome.reason };
  }

  /**
   * The OTP of this message ended: cancel the message if it has not gone out (the store
   * clears its body), else purge the encrypted body once no segment still needs it (a
   * queued or in-flight segment would be requeued with nothing to send; the final state
   * purges it then). Runs inside the caller's commit. True when it canceled the message.
   */
  #endMessage(messageId: string, now: number): boolean {
    const { messages, aux } = this.#d.store;
    if (messages.cancel([messageId], undefined, now).canceled.length > 0) return true;
    if (!messages.getSegments(messageId).some((s) => s.status === 'queued' || s.status === 'submitting')) aux.purgeOtpBody(messageId);
    return false;
  }
}
