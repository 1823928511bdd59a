/**
 * The intake policy (SPEC 11) with config bound: templates or free text, the signature and
 * opt-out suffix, content lint, the opt-out list, frequency caps and quiet hours; plus the
 * two things the dispatcher asks of policy (is a lane open now, open a sealed body).
 * Built anew on SIGHUP, so a reload swaps all of it at once.
 */
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import type { Category } from '../domain/types.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { Metrics } from '../observability/metrics.js';
import { TemplateBook } from '../policy/templates.js';
import { ContentLinter } from '../policy/lint.js';
import { applySignature, resolveSignature } from '../policy/signature.js';
import { QuietHours } from '../policy/quiet-hours.js';
import { assertWithinCaps, capWindows, checkWindows, lookbackMs, otpWindows } from '../policy/frequency-caps.js';
import { decryptBody, encryptBody } from '../policy/otp.js';
import type { ComposedText, IntakePolicy } from './submit-service.js';
import type { SmsRequest } from './validate.js';

/** What onFinal needs of a message that just became final. */
export interface FinalMessageInfo {
  id: string;
  status: string;
  templateId: string | null;
  variant: string | null;
}

export interface GatewayPolicy extends IntakePolicy {
  laneOpen(lane: Category, now: number): boolean;
  openBody(sealed: Buffer): string;
  /**
   * A message reached a final state (called by the results writer inside that transaction):
   * counts xinge_template_messages_total{template, variant, outcome} for template messages.
   * Takes the finalized row (the store's FinalizedMessage fits) or just the message id.
   */
  onFinal(message: string | FinalMessageInfo): void;
  readonly templates: TemplateBook;
  readonly quietHours: QuietHours;
}

/**
 * `clock` is the app's clock (pass the app's `now`): the calendar-coverage check (metric xinge_calendar_missing_year
 * and the log warning) reads the current and coming year from it, so an injected clock
 * decides which years must be covered.
 */
export function createPolicy(
  cfg: Config,
  store: Store,
  logger: Logger,
  metrics: Metrics,
  rng: () => number = Math.random,
  clock: () => number = Date.now,
): GatewayPolicy {
  const p = cfg.policy;
  const templates = new TemplateBook(cfg.templates, p.forbidden_words);
  for (const problem of templates.loadProblems) logger.warn({ problem }, 'template refused at load');
  const linter = new ContentLinter(p.forbidden_words);
  const quietHours = new QuietHours({
    enabled: p.quiet_hours.enabled,
    timezone: p.timezone,
    windows: { collection: p.quiet_hours.collection, notification: p.quiet_hours.notification, marketing: p.quiet_hours.marketing },
    calendar: p.calendar,
    outside: p.quiet_hours.outside,
  });
  // Calendar coverage (SPEC 11): checked now, then again whenever the dispatcher asks
  // laneOpen at least an hour away from the last check, so a daemon running across New Year
  // notices the new year; the warning is logged once per year seen, not every hour.
  let lastCalendarCheck: number | undefined;
  let warnedYear: number | undefined;
  const checkCalendar = (t: number) => {
    if (lastCalendarCheck !== undefined && Math.abs(t - lastCalendarCheck) < 3_600_000) return;
    lastCalendarCheck = t;
    const cov = quietHours.calendarCoverage(t);
    metrics.calendarMissing.set({ year: String(cov.year) }, cov.currentYear ? 0 : 1);
    metrics.calendarMissing.set({ year: String(cov.year + 1) }, cov.nextYear ? 0 : 1);
    if ((!cov.currentYear || !cov.nextYear) && warnedYear !== cov.year) {
      warnedYear = cov.year;
      logger.warn({ year: cov.year, currentYear: cov.currentYear, nextYear: cov.nextYear }, 'holiday calendar has no entries for the current or coming year');
    }
  };
  checkCalendar(clock());
  const capsFor = (c: Category) => (c === 'otp' ? otpWindows(p.otp) : capWindows(p.frequency_caps[c]));
  const sealed = p.otp.body_key !== '';

  return {
    templates,
    quietHours,
    compose(req: SmsRequest, client: ClientConfig): ComposedText {
      let text: string;
      const out: ComposedText = { text: '' };
      let templateSig: string | undefined;
      if (req.template !== undefined) {
        const r = templates.render({ templateId: req.template, params: req.params, overdueDays: req.overdueDays, rng });
        if (r.category !== req.category) {
          throw new ApiError('invalid_field', `template ${req.template} is for category ${r.category}`, { field: 'category' });
        }
        text = r.text;
        out.templateId = r.templateId;
        out.variant = r.variant;
        out.stage = r.stage;
        templateSig = r.signature;
      } else {
        if (!client.free_text) throw new ApiError('free_text_not_allowed', 'this token may only send templates', { field: 'text' });
        text = req.text ?? '';
        // Linted once below, on the text as it will be sent (signature and suffix included).
      }
      out.text = applySignature(text, {
        signature: resolveSignature(p.signature, client.signature, templateSig),
        category: req.category,
        optoutSuffix: p.optout_suffix,
      });
      linter.check(out.text, 'text');
      return out;
    },
    admit(to, category, _client, requestedSendAt, now, opts) {
      if (p.optout.categories.includes(category) && store.aux.isOptedOut(to)) {
        throw new ApiError('opted_out', 'the recipient opted out of this category', { field: 'to' });
      }
      const windows = capsFor(category);
      if (windows.length > 0 && !(opts?.deferCaps === true && store.aux.guardSends?.(to, category, windows, now) === true)) {
        const since = store.aux.sendsSince(to, category, now - lookbackMs(windows));
        assertWithinCaps(checkWindows(windows, since, now), category === 'otp' ? 'otp_rate_limited' : 'frequency_cap', category, windows);
      }
      if (category === 'otp') return { sendAt: now };
      return { sendAt: quietHours.admit(category, Math.max(now, requestedSendAt)).sendAt };
    },
    recordSend(to, category, now) {
      if (capsFor(category).length > 0) store.aux.logSend(to, category, now);
    },
    ...(sealed ? { sealBody: (text: string) => encryptBody(p.otp.body_key, text) } : {}),
    laneOpen(lane, now) {
      checkCalendar(now);
      return lane === 'otp' || quietHours.isOpen(lane, now);
    },
    openBody: (b) => decryptBody(p.otp.body_key, b),
    onFinal(message: string | FinalMessageInfo): void {
      const m = typeof message === 'string' ? store.messages.getMessage(message) : message;
      if (m === undefined || m.templateId === null) return;
      metrics.templates.inc({ template: m.templateId, variant: m.variant ?? '', outcome: m.status });
    },
  };
}
