/**
 * The caller-ID poller: every tick it takes the registrations due (pending operations to
 * retry, cards to refresh) and hands each to the service, a few at a time. Taking is a claim
 * (store.claimDue): in a cluster two nodes never poll one registration at once. When each is due
 * next (poll_s, or a backoff after failures, never before Retry-After) is the service's call.
 */
import type { Logger } from 'pino';
import type { CallerIdStore } from './store.js';
import type { CallerIdService } from './service.js';

export interface CallerIdPollerDeps {
  store: CallerIdStore;
  service: CallerIdService;
  now: () => number;
  logger: Logger;
  /** How often to look for due registrations (default 1 s). */
  tickMs?: number;
  /** Registrations handled at once (default 4). */
  concurrency?: number;
  /** How long this node's claim on a registration it took holds (callerIdClaimLeaseMs). */
  leaseMs: () => number;
}

const BATCH = 100;

export class CallerIdPoller {
  readonly #d: CallerIdPollerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: CallerIdPollerDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => {
      if (this.#running === undefined) void this.tick();
    }, this.#d.tickMs ?? 1000);
    this.#timer.unref();
  }

  /** One pass over what is due now; a pass already running is waited for, then another runs. */
  async tick(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    let due;
    try {
      // A claim: in a cluster no other node polls these while this node holds them.
      due = this.#d.store.claimDue(this.#d.now(), BATCH, this.#d.leaseMs()).filter((r) => !this.#d.service.busy(r.id));
    } catch (err) {
      this.#d.logger.error({ err }, 'caller-ID poller could not read the store');
      return;
    }
    const queue = [...due];
    const worker = async () => {
      for (let r = queue.shift(); r !== undefined && !this.#stopped; r = queue.shift()) {
        try {
          await this.#d.service.refresh(r.id);
        } catch (err) {
          this.#d.logger.error({ err: { message: (err as Error).message }, registration: r.id }, 'caller-ID refresh failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.#d.concurrency ?? 4) }, worker));
    // Stopped mid-pass: what this node took but will not do goes back to the other nodes now.
    for (const r of queue) {
      try {
        this.#d.store.release(r.id);
      } catch {
        break; // the store is gone: the claims run out by themselves
      }
    }
  }

  /** Stop ticking and wait for the pass in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
