/**
 * Readings of live state: the gauges refreshed on every scrape and by the periodic job, and
 * readiness (SPEC 3 /readyz: store open, a carrier bound, every `required` carrier bound).
 */
import type { Metrics } from '../observability/metrics.js';
import type { CarrierRuntime } from '../scheduler/dispatcher.js';
import type { LaneDepths } from '../intake/lane-gate.js';

export function refreshGauges(metrics: Metrics, carriers: ReadonlyMap<string, CarrierRuntime>, lanes: LaneDepths): void {
  for (const rt of carriers.values()) {
    metrics.currentTps.set({ carrier: rt.config.id }, rt.rate.rate);
    // Through the hot child: the bind pool reports through it too, and the last value set wins at collect.
    metrics.hot.windowInFlight(rt.config.id).set(rt.connector.binds().reduce((s, b) => s + b.inFlight, 0));
  }
  for (const [lane, n] of Object.entries(lanes.get())) metrics.queueDepth.set({ lane }, n);
}

export function readiness(storeOpen: boolean, draining: boolean, carriers: ReadonlyMap<string, CarrierRuntime>): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (!storeOpen) reasons.push('store closed');
  if (draining) reasons.push('draining');
  if (carriers.size > 0 && ![...carriers.values()].some((rt) => rt.connector.hasBound())) reasons.push('no carrier bound yet');
  for (const rt of carriers.values()) if (rt.config.required && !rt.connector.isUp()) reasons.push(`required carrier ${rt.config.id} not bound`);
  return { ok: reasons.length === 0, reasons };
}
