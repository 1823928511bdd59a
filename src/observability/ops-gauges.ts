/**
 * Gauges the dashboard and alert rules need that no event sets (issue 20.2), refreshed on
 * each scrape and by the periodic job: how long the oldest due message of each lane has
 * waited, the webhook outbox backlog, and how far ahead the holiday calendar reaches.
 */
import type { Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { localParts, localToInstant } from '../policy/zoned-time.js';
import type { Metrics } from './metrics.js';

/**
 * The instant the holiday calendar stops covering: the start (in policy.timezone) of the
 * first year, from the current one on, that has no holiday or workday entry. A calendar
 * with no entry for this year answers the start of this year: already past.
 */
export function calendarCoveredUntil(calendar: { holidays: readonly string[]; workdays: readonly string[] }, timezone: string, now: number): number {
  const years = new Set([...calendar.holidays, ...calendar.workdays].map((d) => Number(d.slice(0, 4))));
  let y = localParts(timezone, now).y;
  while (years.has(y)) y++;
  return localToInstant(timezone, { y, m: 1, d: 1 }, 0);
}

export function refreshOpsGauges(metrics: Metrics, store: Store, cfg: Config, now: number): void {
  if (!store.isOpen()) return;
  const due = store.messages.oldestQueuedDue(cfg.carriers.map((c) => c.id));
  for (const [lane, d] of Object.entries(due)) metrics.queueOldestAge.set({ lane }, d === undefined ? 0 : Math.max(0, (now - d) / 1000));
  metrics.webhookPending.set(store.aux.outboxPending());
  metrics.calendarCoveredUntil.set(Math.floor(calendarCoveredUntil(cfg.policy.calendar, cfg.policy.timezone, now) / 1000));
}
