/** Every metric in one place (SPEC 14). Labels never hold phone numbers. */
import client from 'prom-client';
import { counterChildren, FastHistogram, gaugeChildren } from './fast-metrics.js';

export type Metrics = ReturnType<typeof createMetrics>;

/** Accept-to-wire latencies: OTP budgets are milliseconds, scheduled and retried messages minutes. */
const LATENCY_BUCKETS = [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300];

export function createMetrics(prefix = 'xinge_') {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix });
  const c = (name: string, help: string, labelNames: string[] = []) =>
    new client.Counter({ name: prefix + name, help, labelNames, registers: [registry] });
  const g = (name: string, help: string, labelNames: string[] = []) =>
    new client.Gauge({ name: prefix + name, help, labelNames, registers: [registry] });
  const h = (name: string, help: string, labelNames: string[], buckets: number[]) =>
    new FastHistogram(prefix + name, help, labelNames, buckets, registry);
  const m = {
    registry,
    intake: c('intake_total', 'Messages offered at intake by category and result (accepted or refusal code).', ['category', 'result']),
    refused: c('refused_total', 'Refusals by reason.', ['reason']),
    queueDepth: g('queue_depth', 'Messages not yet on the wire, by lane.', ['lane']),
    submitted: c('submitted_total', 'submit_sm sent, by carrier and category.', ['carrier', 'category']),
    submitResp: c('submit_sm_resp_total', 'submit_sm_resp by carrier and command_status name.', ['carrier', 'status']),
    submitLatency: h('submit_latency_seconds', 'submit_sm to submit_sm_resp.', ['carrier'], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10]),
    acceptToSubmit: h('accept_to_submit_seconds', 'Accepted to submit_sm on the wire, by lane.', ['lane'], LATENCY_BUCKETS),
    acceptToResp: h('accept_to_resp_seconds', 'Accepted to the carrier\'s submit_sm_resp ESME_ROK, by lane (SPEC 15: end-to-end latency).', ['lane'], LATENCY_BUCKETS),
    bindUp: g('bind_up', '1 when the bind is bound.', ['carrier', 'bind']),
    reconnects: c('reconnects_total', 'Bind reconnect attempts.', ['carrier']),
    bindFailures: c('bind_failures_total', 'Bind failures by command_status name.', ['carrier', 'status']),
    authFailures: c('auth_failures_total', 'Authentication failures (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL).', ['carrier']),
    windowInFlight: g('window_in_flight', 'submit_sm awaiting their resp.', ['carrier']),
    currentTps: g('current_tps', 'Current rate of the carrier account (adaptive).', ['carrier']),
    final: c('messages_final_total', 'Messages reaching a final state.', ['carrier', 'category', 'status']),
    dlr: c('dlr_total', 'Delivery receipts by carrier and stat.', ['carrier', 'stat']),
    dlrUnmatched: c('dlr_unmatched_total', 'Receipts matching no segment.', ['carrier']),
    dlrHeldEvicted: c('dlr_held_evicted_total', 'Receipts held for their submit_sm_resp pushed out by inbound.held_receipts_max(_bytes): counted here only, not as unmatched.', ['carrier']),
    moPartial: c('mo_partial_total', 'Multipart replies stored incomplete, by reason: timeout (parts never came) or evicted (inbound.partial_replies_max(_bytes)).', ['carrier', 'reason']),
    dlrLate: c('dlr_late_total', 'Receipts for a segment already final (intermediate or duplicate after the final one): counted, not applied.', ['carrier']),
    dlrLatency: h('dlr_latency_seconds', 'submit_sm_resp to receipt.', ['carrier'], [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200, 86400]),
    mo: c('mo_total', 'Replies by intent.', ['carrier', 'intent']),
    otp: c('otp_total', 'OTP sent and verified by result.', ['event', 'result']),
    templates: c('template_messages_total', 'Messages by template, variant and outcome.', ['template', 'variant', 'outcome']),
    webhooks: c('webhook_deliveries_total', 'Webhook deliveries by result.', ['result']),
    webhookAge: h('webhook_queue_age_seconds', 'Age of a webhook event when delivered.', [], [0.1, 1, 10, 60, 600, 3600, 86400]),
    webhookPending: g('webhook_pending', 'Webhook events waiting in the outbox.'),
    calendarMissing: g('calendar_missing_year', '1 when the holiday calendar has no entries for this year.', ['year']),
    queueOldestAge: g('queue_oldest_age_seconds', 'How long the oldest due message of the lane has waited (0: none queued).', ['lane']),
    calendarCoveredUntil: g('holiday_calendar_covered_until_seconds', 'Unix time the holiday calendar stops covering (start of the first year without entries).'),
    commitBatch: h('store_commit_batch_size', 'Units per group commit.', [], [1, 2, 5, 10, 50, 100, 500, 1000, 5000]),
  };
  // The per-message series, by label values in labelNames order (see fast-metrics).
  const hot = {
    intake: counterChildren(m.intake, ['category', 'result']),
    submitted: counterChildren(m.submitted, ['carrier', 'category']),
    submitResp: counterChildren(m.submitResp, ['carrier', 'status']),
    windowInFlight: gaugeChildren(m.windowInFlight, ['carrier']),
    final: counterChildren(m.final, ['carrier', 'category', 'status']),
    dlr: counterChildren(m.dlr, ['carrier', 'stat']),
  };
  return { ...m, hot };
}
