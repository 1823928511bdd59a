/**
 * Issue 20.2: deploy/grafana/xinge.json and deploy/prometheus/alerts.yaml use only series
 * the daemon exports (names read off a running app's /metrics, label names off its
 * registry), cover the panels and alerts the issue lists, and pass `promtool check rules`
 * and `promtool test rules` (Debian's prometheus package; .ci/run installs it). The gauges
 * added for them read real state: the oldest due message's age on an injected clock, the
 * webhook backlog, how far the holiday calendar reaches.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { auth, baseConfigObject, makeConfig, startTestApp, tempDir, type TestApp } from '../helpers/fixtures.js';
import { REPO } from '../foundation/fixtures/daemon.js';
import { requireTool } from '../helpers/system-tool.js';
import { calendarCoveredUntil } from '../../src/observability/ops-gauges.js';

const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy', 'grafana', 'xinge.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const rules = parse(readFileSync(join(REPO, 'deploy', 'prometheus', 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };

const exprs: Array<{ where: string; expr: string }> = [
  ...dashboard.panels.flatMap((p) => p.targets.map((tg) => ({ where: `panel "${p.title}"`, expr: tg.expr }))),
  ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
];
/** Labels Prometheus adds at scrape, and the histogram bucket label. */
const SCRAPE_LABELS = new Set(['instance', 'job', 'le']);

function app(t: Test, over: (o: Record<string, any>) => void = () => {}, now?: () => number): TestApp {
  const obj = baseConfigObject(tempDir(t));
  over(obj);
  const ta = startTestApp(makeConfig(obj), now ? { now } : {});
  t.teardown(() => ta.close());
  return ta;
}

async function scrape(ta: TestApp): Promise<string> {
  return (await ta.app.http.inject({ method: 'GET', url: '/metrics' })).body;
}

/** name → type, from the exposition's # TYPE lines. */
function exported(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

t.test('every series the dashboard and the rules use is one the daemon exports, with those labels', async (t) => {
  // MM7 metrics are always registered; caller-ID ones only with a caller_id section (the
  // app is not started, so nothing calls the provider URL).
  const ta = app(t, (o) => {
    o.caller_id = { base_url: 'http://127.0.0.1:9/', app_key: 'xinge-app', app_secret: 'sim-secret-0123456789', numbers: ['+8657188880000'] };
  });
  const types = exported(await scrape(ta));
  t.ok(types.size > 20, `the daemon exports ${types.size} metrics`);
  const labelsOf = (name: string): Set<string> => {
    const m = ta.app.metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
    return new Set(m?.labelNames ?? []);
  };
  const baseOf = (series: string): string | undefined => {
    if (types.has(series)) return series;
    const hist = /^(.*)_(bucket|sum|count)$/.exec(series);
    return hist && types.get(hist[1]!) === 'histogram' ? hist[1] : undefined;
  };
  t.ok(exprs.length >= 20, `${exprs.length} expressions`);
  for (const { where, expr } of exprs) {
    const names = [...expr.matchAll(/\b(xinge_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]!);
    t.ok(names.length > 0, `${where} reads a xinge series`);
    const bases = new Set<string>();
    for (const n of names) {
      const base = baseOf(n);
      if (t.ok(base, `${where}: ${n} is exported`)) bases.add(base!);
    }
    for (const m of expr.matchAll(/\b(xinge_[a-zA-Z0-9_]+)\{([^}]*)\}/g)) {
      const base = baseOf(m[1]!);
      if (base === undefined) continue;
      for (const l of m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
        t.ok(SCRAPE_LABELS.has(l[1]!) || labelsOf(base).has(l[1]!), `${where}: ${m[1]} has label ${l[1]}`);
      }
    }
    for (const by of expr.matchAll(/\bby \(([^)]*)\)/g)) {
      for (const l of by[1]!.split(',').map((s) => s.trim())) {
        t.ok(SCRAPE_LABELS.has(l) || [...bases].some((b) => labelsOf(b).has(l)), `${where}: grouped by ${l}, a label of its series`);
      }
    }
  }
});

t.test('the dashboard has the listed panels and the rules the listed alerts', async (t) => {
  const all = exprs.map((e) => e.expr).join('\n');
  const panelText = dashboard.panels.flatMap((p) => p.targets.map((tg) => tg.expr)).join('\n');
  for (const series of [
    'xinge_intake_total', 'xinge_queue_depth', 'xinge_queue_oldest_age_seconds', 'xinge_submitted_total', 'xinge_current_tps',
    'xinge_window_in_flight', 'xinge_submit_sm_resp_total', 'xinge_dlr_latency_seconds_bucket', 'xinge_dlr_total', 'xinge_otp_total',
    'xinge_webhook_pending', 'xinge_webhook_deliveries_total', 'xinge_nodejs_eventloop_lag_p99_seconds',
    'xinge_mm7_submit_total', 'xinge_mm7_delivery_reports_total', 'xinge_mms_final_total', 'xinge_mms_fallback_sms_total',
    'xinge_mm7_receiver_requests_total', 'xinge_callerid_registrations', 'xinge_callerid_provider_responses_total',
    'xinge_callerid_operations_total',
  ]) {
    t.ok(panelText.includes(series), `a panel plots ${series}`);
  }
  const alerts = new Map(rules.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const)));
  const want: Record<string, string> = {
    XingeCarrierNoBind: 'xinge_bind_up',
    XingeCarrierAuthFailures: 'xinge_auth_failures_total',
    XingeQueueAge: 'xinge_queue_oldest_age_seconds',
    XingeDeliveryRateLow: 'xinge_dlr_total',
    XingeReceiptLag: 'xinge_dlr_latency_seconds_bucket',
    XingeWebhookBacklog: 'xinge_webhook_pending',
    XingeHolidayCalendarEnding: 'xinge_holiday_calendar_covered_until_seconds',
    XingeMm7SubmitFailures: 'xinge_mm7_submit_total',
    XingeCallerIdProviderAuthFailures: 'xinge_callerid_operations_total',
    XingeCallerIdProviderErrors: 'xinge_callerid_provider_responses_total',
    XingeCallerIdExpiring: 'xinge_callerid_events_total',
  };
  for (const [name, series] of Object.entries(want)) t.match(alerts.get(name), series, `${name} on ${series}`);
  const runbook = readFileSync(join(REPO, 'docs', 'runbook.md'), 'utf8');
  for (const name of alerts.keys()) t.match(runbook, new RegExp(`^### ${name}$`, 'm'), `docs/runbook.md says what ${name} means and what to do`);
  t.ok(all.length > 0);
});

t.test('queue_oldest_age_seconds, webhook_pending and the calendar gauge read real state', async (t) => {
  let clock = Date.parse('2026-12-06T02:00:00Z');
  const ta = app(
    t,
    (o) => {
      o.policy.calendar = { holidays: ['2026-10-01', '2027-01-01'], workdays: [] };
    },
    () => clock,
  );
  // The app is not started: nothing dispatches, so the message stays queued.
  const res = await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload: { to: '13800138000', text: 'hello', category: 'notification' } });
  t.equal(res.statusCode, 202);
  clock += 120_000;
  const text = await scrape(ta);
  t.match(text, /^xinge_queue_oldest_age_seconds\{lane="notification"\} 120$/m, 'the notification lane has waited 120 s');
  t.match(text, /^xinge_queue_oldest_age_seconds\{lane="otp"\} 0$/m, 'nothing in the otp lane');
  t.match(text, /^xinge_webhook_pending \d+$/m, 'the outbox backlog is exported');
  const covered = Number(/^xinge_holiday_calendar_covered_until_seconds (\d+)$/m.exec(text)?.[1]);
  t.equal(covered, Date.parse('2027-12-31T16:00:00Z') / 1000, 'covered until 2028-01-01 00:00 Asia/Shanghai: 2026 and 2027 have entries');
});

t.test('calendarCoveredUntil: from this year on, up to the first year without entries', async (t) => {
  const now = Date.parse('2026-12-06T02:00:00Z');
  const tz = 'Asia/Shanghai';
  t.equal(calendarCoveredUntil({ holidays: [], workdays: [] }, tz, now), Date.parse('2025-12-31T16:00:00Z'), 'no entries: already past');
  t.equal(calendarCoveredUntil({ holidays: ['2026-10-01'], workdays: [] }, tz, now), Date.parse('2026-12-31T16:00:00Z'), 'this year only: ends in 25 days');
  t.equal(calendarCoveredUntil({ holidays: ['2026-10-01', '2028-01-01'], workdays: [] }, tz, now), Date.parse('2026-12-31T16:00:00Z'), 'a gap year ends it');
  t.equal(calendarCoveredUntil({ holidays: ['2026-10-01'], workdays: ['2027-02-07'] }, tz, now), Date.parse('2027-12-31T16:00:00Z'), 'workdays count');
});

t.test('promtool check rules and promtool test rules pass', async (t) => {
  if (!requireTool(t, '/usr/bin/promtool', 'prometheus')) return;
  const dir = join(REPO, 'deploy', 'prometheus');
  const check = spawnSync('promtool', ['check', 'rules', 'alerts.yaml'], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  t.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
  t.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = spawnSync('promtool', ['test', 'rules', 'alerts.test.yaml'], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  t.equal(unit.status, 0, `promtool test rules: ${unit.stdout}${unit.stderr}`);
});
