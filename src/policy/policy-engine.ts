/**
 * PolicyEngine: the policy modules with the config already bound, for intake, the
 * scheduler and the MO handler. Still pure: no store, no sockets; time comes from the
 * injected clock (or an explicit `now`), randomness for A/B variants from an injected rng.
 *
 * reload(config) (SIGHUP) builds a complete new snapshot first and swaps one reference,
 * so a call sees either the old templates, words and calendar or the new ones, never a
 * mix; a config that fails to build leaves the old snapshot in place.
 */
import { ApiError } from '../domain/errors.js';
import type { Category } from '../domain/types.js';
import type { ClientConfig, Config, PolicyConfig } from '../config/schema.js';
import { checkCaps, checkOtpLimits, capWindows, lookbackMs, otpWindows, type CapResult } from './frequency-caps.js';
import { detectIntent, isOptOutKeyword } from './keywords.js';
import { decryptBody, encryptBody, generateCode, hashCode, otpVerifyOutcome } from './otp.js';
import type { OtpState, OtpVerifyOutcome } from './otp.js';
import { QuietHours } from './quiet-hours.js';
import { applySignature, resolveSignature } from './signature.js';
import { TemplateBook, type Stage } from './templates.js';

export type PolicyInput = Pick<Config, 'policy' | 'templates'>;

/** Structurally what intake parses from POST /v1/sms (intake's SmsRequest fits). */
export interface ComposeRequest {
  text?: string | undefined;
  template?: string | undefined;
  params?: Readonly<Record<string, unknown>> | undefined;
  category: Category;
  overdueDays?: number | undefined;
}

export interface Composed {
  /** Final text: signature first, opt-out suffix for marketing, lint-clean. */
  text: string;
  templateId?: string;
  variant?: string;
  stage?: Stage;
}

/** Used for /v1/otp when neither the request nor policy.otp.template names a template. */
export const DEFAULT_OTP_TEXT = '您的验证码是{code}，{ttl_min}分钟内有效，请勿泄露。';

class Snapshot {
  readonly policy: PolicyConfig;
  readonly templates: TemplateBook;
  readonly quietHours: QuietHours;
  readonly loadProblems: readonly string[];

  constructor(input: PolicyInput) {
    this.policy = input.policy;
    this.templates = new TemplateBook(input.templates, input.policy.forbidden_words);
    this.quietHours = QuietHours.fromPolicy(input.policy);
    const problems = [...this.templates.loadProblems];
    const otp = input.policy.otp;
    if (otp.secret === '') problems.push('policy.otp.secret is empty: OTP codes cannot be issued');
    if (otp.body_key !== '' && Buffer.from(otp.body_key, 'base64').length !== 32) {
      problems.push('policy.otp.body_key must be base64 of exactly 32 bytes');
    } else if (otp.body_key === '') problems.push('policy.otp.body_key is empty: OTP bodies cannot be stored');
    if (otp.template !== undefined && this.templates.category(otp.template) !== 'otp') {
      problems.push(`policy.otp.template: ${otp.template} is not an otp template`);
    }
    this.loadProblems = problems;
  }
}

export class PolicyEngine {
  #snap: Snapshot;
  readonly #clock: () => number;
  readonly #rng: () => number;

  constructor(config: PolicyInput, opts: { clock: () => number; rng?: () => number }) {
    this.#snap = new Snapshot(config);
    this.#clock = opts.clock;
    this.#rng = opts.rng ?? Math.random;
  }

  /** Swap in a new config atomically; returns its load problems. Throws (keeping the old one) if it cannot build. */
  reload(config: PolicyInput): readonly string[] {
    const next = new Snapshot(config);
    this.#snap = next;
    return next.loadProblems;
  }

  get policy(): PolicyConfig {
    return this.#snap.policy;
  }
  get loadProblems(): readonly string[] {
    return this.#snap.loadProblems;
  }
  get templates(): TemplateBook {
    return this.#snap.templates;
  }
  get quietHours(): QuietHours {
    return this.#snap.quietHours;
  }

  /**
   * Template rendering or the free-text check, then lint, signature and opt-out suffix.
   * Throws free_text_not_allowed, unknown_template, template_not_approved, missing_param,
   * unknown_param, forbidden_content, or invalid_field (template of another category).
   */
  compose(req: ComposeRequest, client: Pick<ClientConfig, 'free_text' | 'signature'>): Composed {
    const s = this.#snap;
    let body: string;
    const out: Omit<Composed, 'text'> = {};
    let templateSignature: string | undefined;
    if (req.template !== undefined) {
      const category = s.templates.category(req.template);
      if (category !== undefined && category !== req.category) {
        // Sending a marketing template as notification would dodge quiet hours and opt-out.
        throw new ApiError('invalid_field', `template ${req.template} is category ${category}, not ${req.category}`, { field: 'category' });
      }
      const r = s.templates.render({ templateId: req.template, params: req.params, overdueDays: req.overdueDays, rng: this.#rng });
      body = r.text;
      templateSignature = r.signature;
      out.templateId = r.templateId;
      if (r.variant !== undefined) out.variant = r.variant;
      if (r.stage !== undefined) out.stage = r.stage;
    } else {
      if (!client.free_text) throw new ApiError('free_text_not_allowed', 'this client may only send approved templates', { field: 'text' });
      body = req.text ?? '';
      s.templates.linter.check(body, 'text');
    }
    const signature = resolveSignature(s.policy.signature, client.signature, templateSignature);
    const text = applySignature(body, { signature, category: req.category, optoutSuffix: s.policy.optout_suffix });
    return { ...out, text };
  }

  /**
   * The OTP SMS text: the request's template, else policy.otp.template, else
   * DEFAULT_OTP_TEXT; params offered are code, ttl_min and ttl_s (a template uses any of them).
   */
  composeOtp(req: { code: string; ttlS: number; template?: string | undefined }, client: Pick<ClientConfig, 'signature'>): Composed {
    const s = this.#snap;
    const templateId = req.template ?? s.policy.otp.template;
    const offered: Record<string, string> = { code: req.code, ttl_min: String(Math.ceil(req.ttlS / 60)), ttl_s: String(req.ttlS) };
    if (templateId === undefined) {
      const body = DEFAULT_OTP_TEXT.replace(/\{(\w+)\}/g, (m, k: string) => offered[k] ?? m);
      const signature = resolveSignature(s.policy.signature, client.signature);
      return { text: applySignature(body, { signature, category: 'otp' }) };
    }
    const accepted = new Set(s.templates.params(templateId) ?? []);
    const params = Object.fromEntries(Object.entries(offered).filter(([k]) => accepted.has(k)));
    return this.compose({ template: templateId, params, category: 'otp' }, { free_text: false, signature: client.signature });
  }

  isOpen(category: Category, now = this.#clock()): boolean {
    return this.#snap.quietHours.isOpen(category, now);
  }
  nextOpening(category: Category, now = this.#clock()): number {
    return this.#snap.quietHours.nextOpening(category, now);
  }
  /** When a message asked for `sendAt` (default now) may go out; throws quiet_hours under `outside: refuse`. */
  admitQuietHours(category: Category, sendAt?: number): { sendAt: number; deferred: boolean } {
    const now = this.#clock();
    return this.#snap.quietHours.admit(category, Math.max(now, sendAt ?? now));
  }
  calendarCoverage(now = this.#clock()): { year: number; currentYear: boolean; nextYear: boolean } {
    return this.#snap.quietHours.calendarCoverage(now);
  }

  checkCaps(category: Category, timestamps: readonly number[], now = this.#clock()): CapResult {
    return checkCaps(this.#snap.policy.frequency_caps[category], timestamps, now);
  }
  /** How far back the store must read send timestamps for this category's caps. */
  capLookbackMs(category: Category): number {
    return lookbackMs(capWindows(this.#snap.policy.frequency_caps[category]));
  }
  checkOtpLimits(timestamps: readonly number[], now = this.#clock()): CapResult {
    return checkOtpLimits(this.#snap.policy.otp, timestamps, now);
  }
  otpLookbackMs(): number {
    return lookbackMs(otpWindows(this.#snap.policy.otp));
  }

  optOutApplies(category: Category): boolean {
    return this.#snap.policy.optout.categories.includes(category);
  }
  isOptOut(reply: string): boolean {
    return isOptOutKeyword(reply, this.#snap.policy.optout.keywords);
  }
  detectIntent(reply: string): string | undefined {
    return detectIntent(reply, this.#snap.policy.intents);
  }

  generateCode(length = this.#snap.policy.otp.length): string {
    return generateCode(length);
  }
  hashCode(otpId: string, code: string): string {
    return hashCode(this.#snap.policy.otp.secret, otpId, code);
  }
  otpVerifyOutcome(state: OtpState, code: string, now = this.#clock()): OtpVerifyOutcome {
    const { secret, max_attempts } = this.#snap.policy.otp;
    return otpVerifyOutcome(state, now, code, { secret, maxAttempts: max_attempts });
  }
  sealBody(plaintext: string, aad?: string): Buffer {
    return encryptBody(this.#snap.policy.otp.body_key, plaintext, aad);
  }
  openBody(blob: Buffer, aad?: string): string {
    return decryptBody(this.#snap.policy.otp.body_key, blob, aad);
  }
}
