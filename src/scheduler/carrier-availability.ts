/**
 * Carrier availability for routing and failover (SPEC 4): a carrier is unavailable while
 * paused, or once it has had no bound transmitter for `routing.failover_after_ms` (default
 * 1 s). The moment that delay runs out after a bind-lost event, its queue is handed to
 * `onUnavailable` (the reroute walk), so a verification code on a dropped carrier is on the
 * next carrier about a second later, not at the next poll of a periodic job. A short
 * blip (a bind that comes back within the delay) moves nothing.
 *
 * Time is monotonic (domain/clock.ts): a wall-clock step must neither hold a dead carrier in
 * the routing table nor declare a live one dead.
 */
import type { BindState } from '../carriers/connector.js';
import type { MonotonicClock } from '../domain/clock.js';

/** What this module reads and writes on a carrier's runtime (CarrierRuntime fits). */
export interface AvailabilityTarget {
  readonly config: { readonly id: string };
  readonly connector: { isUp(): boolean; on(event: 'bind', listener: (b: BindState) => void): unknown; idleByLease?(): boolean };
  paused: boolean;
  /** Monotonic time the carrier lost its last bound transmitter; undefined while up. */
  downSince: number | undefined;
}

export interface CarrierAvailabilityDeps {
  carriers: () => Iterable<AvailabilityTarget>;
  now: MonotonicClock;
  /** Read at each bind-lost event, so a reload applies to the next one. */
  failoverAfterMs: () => number;
  /** The carrier just became unavailable (or still is, at a sweep): move its queue. */
  onUnavailable: (carrierId: string) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class CarrierAvailability {
  readonly #d: CarrierAvailabilityDeps;
  readonly #timers = new Map<string, unknown>();
  readonly #watched = new Set<AvailabilityTarget>();
  readonly #set: (fn: () => void, ms: number) => unknown;
  readonly #clear: (handle: unknown) => void;

  constructor(deps: CarrierAvailabilityDeps) {
    this.#d = deps;
    this.#set =
      deps.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      });
    this.#clear = deps.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /** Watch every carrier's bind events; one not up now counts as down from now. Call before connectors start. */
  start(): void {
    for (const rt of this.#d.carriers()) {
      if (!this.#watched.has(rt)) {
        this.#watched.add(rt);
        rt.connector.on('bind', () => this.#onBind(rt));
      }
      rt.downSince = undefined;
      this.#onBind(rt);
    }
  }

  stop(): void {
    for (const h of this.#timers.values()) this.#clear(h);
    this.#timers.clear();
  }

  /** Paused, unknown, or without a bound transmitter for failover_after_ms. */
  unavailable(id: string): boolean {
    const rt = this.#find(id);
    if (rt === undefined || rt.paused) return true;
    if (rt.connector.isUp()) return false;
    // Cluster: another node holds this account's binds; its queue is theirs to send, not to move.
    if (rt.connector.idleByLease?.() === true) return false;
    return rt.downSince !== undefined && this.#d.now() - rt.downSince >= this.#d.failoverAfterMs();
  }

  /** The periodic safety net (and paused carriers, which send no bind event): move what is due. */
  sweep(): void {
    for (const rt of this.#d.carriers()) if (this.unavailable(rt.config.id)) this.#d.onUnavailable(rt.config.id);
  }

  #find(id: string): AvailabilityTarget | undefined {
    for (const rt of this.#d.carriers()) if (rt.config.id === id) return rt;
    return undefined;
  }

  #onBind(rt: AvailabilityTarget): void {
    const id = rt.config.id;
    if (rt.connector.isUp()) {
      rt.downSince = undefined;
      const h = this.#timers.get(id);
      if (h !== undefined) this.#clear(h);
      this.#timers.delete(id);
      return;
    }
    if (rt.downSince !== undefined) return; // already counting since the first bind-lost event
    rt.downSince = this.#d.now();
    const h = this.#set(() => {
      this.#timers.delete(id);
      if (this.unavailable(id)) this.#d.onUnavailable(id);
    }, this.#d.failoverAfterMs());
    this.#timers.set(id, h);
  }
}
