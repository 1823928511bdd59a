/**
 * A SIGHUP on the running carriers (issue 14.8): swap each carrier's config in place, retune
 * its rate gate keeping the adaptive state, and record which bind settings wait for a
 * restart (compared with the values its binds run with). The diff itself is pure
 * (scheduler/carrier-reload).
 */
import type { CarrierConfig, Config } from '../config/schema.js';
import type { CarrierRuntime, RateGate } from '../scheduler/dispatcher.js';
import { liveKeysChanged, planCarrierReload } from '../scheduler/carrier-reload.js';

export interface CarrierReloadResult {
  /** Carrier keys applied at once, as `carriers.<id>.<key>`. */
  applied: string[];
  /** What waits for a restart: `carriers.<id>.<key>`, `carriers.<id>` (added), `carriers.<id> (removed)`. */
  pendingRestart: string[];
  /** Carriers added or removed (the admin view's top-level pending_restart). */
  pendingCarriers: string[];
}

export function reloadCarriers(
  carriers: ReadonlyMap<string, CarrierRuntime>,
  next: Config,
  rateFactory: (c: CarrierConfig) => RateGate,
): CarrierReloadResult {
  const running = new Map([...carriers.values()].map((rt) => [rt.config.id, rt.running ?? rt.config]));
  const plan = planCarrierReload(running, next);
  const applied: string[] = [];
  const pendingRestart: string[] = [];
  const byId = new Map(next.carriers.map((c) => [c.id, c]));
  for (const rt of carriers.values()) {
    const nc = byId.get(rt.config.id);
    if (nc === undefined) continue;
    for (const k of liveKeysChanged(rt.config, nc)) applied.push(`carriers.${nc.id}.${k}`);
    if (nc.tps !== rt.config.tps || nc.burst !== rt.config.burst) {
      // The adaptive state stays: a carrier that throttled us is not lifted by a reload.
      if (rt.rate.retune !== undefined) rt.rate.retune(nc.tps, nc.burst ?? Math.max(1, Math.ceil(nc.tps)));
      else rt.rate = rateFactory(nc);
    }
    rt.running ??= rt.config;
    rt.pendingRestart = plan.pending.get(nc.id) ?? [];
    for (const k of rt.pendingRestart) pendingRestart.push(`carriers.${nc.id}.${k}`);
    rt.config = nc;
  }
  const pendingCarriers = [...plan.added.map((id) => `carriers.${id}`), ...plan.removed.map((id) => `carriers.${id} (removed)`)];
  pendingRestart.push(...pendingCarriers);
  return { applied, pendingRestart, pendingCarriers };
}
