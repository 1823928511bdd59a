/**
 * What a SIGHUP changes on a carrier (issue 14.8), pure. Keys the binds were built with
 * (connection, bind count, window, timeouts, addresses) apply only when the binds are made
 * again: they are compared with the running values and reported as waiting for a restart,
 * unless the connector says it applied them live. Everything else is read from the carrier's
 * config at each use and applies at once; tps and burst retune the rate gate in place,
 * keeping its adaptive (throttled) state.
 */
import type { CarrierConfig, Config } from '../config/schema.js';

/** Carrier keys the connector's binds are built with. */
export const BIND_KEYS = [
  'host', 'port', 'tls', 'tls_reject_unauthorized', 'system_id', 'password', 'system_type', 'bind', 'binds',
  'window', 'response_timeout_s', 'enquire_link_s', 'reconnect', 'source', 'dest', 'outbind',
] as const satisfies ReadonlyArray<keyof CarrierConfig>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Bind keys whose value in `next` differs from the one the binds run with. */
export function bindKeysChanged(running: CarrierConfig, next: CarrierConfig): string[] {
  return BIND_KEYS.filter((k) => !same(running[k], next[k]));
}

/** Other keys that changed from `prev` to `next` (they apply at once). */
export function liveKeysChanged(prev: CarrierConfig, next: CarrierConfig): string[] {
  const bind = new Set<string>(BIND_KEYS);
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  return [...keys].filter((k) => !bind.has(k) && !same((prev as Record<string, unknown>)[k], (next as Record<string, unknown>)[k])).sort();
}

export interface CarrierReloadPlan {
  /** Per running carrier: bind keys waiting for a restart (against the running values). */
  pending: Map<string, string[]>;
  /** Carriers in the new config with no binds yet (added by a reload): they start at the next restart. */
  added: string[];
  /** Running carriers no longer in the config: they keep running until the next restart. */
  removed: string[];
}

export function planCarrierReload(running: ReadonlyMap<string, CarrierConfig>, next: Config): CarrierReloadPlan {
  const pending = new Map<string, string[]>();
  const nextIds = new Set(next.carriers.map((c) => c.id));
  for (const c of next.carriers) {
    const r = running.get(c.id);
    if (r !== undefined) pending.set(c.id, bindKeysChanged(r, c));
  }
  return {
    pending,
    added: next.carriers.filter((c) => !running.has(c.id)).map((c) => c.id),
    removed: [...running.keys()].filter((id) => !nextIds.has(id)),
  };
}
