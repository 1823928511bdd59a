/**
 * The routing table of the current config, built once per config object (a SIGHUP swaps the
 * object) instead of per message, and the router intake asks for a message's carrier and
 * plan settings. Availability (paused, down long enough to fail over) is passed in.
 */
import type { CarrierConfig, Config } from '../config/schema.js';
import type { Category } from '../domain/types.js';
import type { Router } from '../intake/submit-service.js';
import { pickCarrier, routeCandidates, type RoutingTable } from './routing.js';

export class RoutingCache {
  readonly #config: () => Config;
  #cached: { cfg: Config; table: RoutingTable } | undefined;

  constructor(config: () => Config) {
    this.#config = config;
  }

  table(): RoutingTable {
    const cfg = this.#config();
    if (this.#cached?.cfg !== cfg) {
      this.#cached = {
        cfg,
        table: {
          carriers: cfg.carriers.map((c) => ({ id: c.id, prefixes: c.prefixes, categories: c.categories })),
          portedNumbers: cfg.routing.ported_numbers,
          defaultCarrier: cfg.routing.default_carrier,
        },
      };
    }
    return this.#cached.table;
  }

  /** Carriers for a number and category in preference order, available now, none of `exclude`. */
  available(to: string, category: Category, unavailable: (id: string) => boolean, exclude: ReadonlySet<string> | string = new Set()): string[] {
    const skip = typeof exclude === 'string' ? new Set([exclude]) : exclude;
    return routeCandidates(this.table(), to, category).filter((id) => !skip.has(id) && !unavailable(id));
  }

  /** Intake's router: the carrier a new message goes to, and what its plan needs from it. */
  router(carrier: (id: string) => CarrierConfig | undefined, unavailable: (id: string) => boolean): Router {
    return {
      route: (to, category) => {
        const id = pickCarrier(this.table(), to, category, unavailable);
        const c = id === undefined ? undefined : carrier(id);
        if (c === undefined) return undefined;
        return { id: c.id, segmentation: c.segmentation, encodings: c.encodings, forceUcs2: !c.encodings.includes('gsm7'), packGsm7: c.pack_gsm7, sourceAddr: c.source.addr };
      },
    };
  }
}
