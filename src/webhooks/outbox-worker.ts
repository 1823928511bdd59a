/**
 * Delivers the webhook outbox (SPEC 3): at-least-once, exponential backoff with jitter, until
 * `max_age_s` after the event was recorded, then dead.
 *
 * Loop: a setTimeout-based tick claims due events (up to the free concurrency slots) and sends
 * each; a finished delivery ticks again at once (more may be due), otherwise the worker polls
 * every `pollIntervalMs`, or sooner when a retry it scheduled falls due. `wake()` ticks now
 * (call it when a new event is recorded). A retry runs at its nextAttemptAt or at most one poll
 * interval later.
 *
 * Outcomes per attempt:
 * - 2xx → markDelivered; metrics ok + queue age.
 * - failure, retryable, before the deadline (createdAt + max_age_s) → markRetry at
 *   now + backoff, clamped to the deadline so the last attempt is made at the deadline.
 * - failure at/after the deadline, or not retryable (410 Gone, invalid URL) → markDead.
 * An event first claimed after its deadline (daemon down for a day) is still tried once.
 * Store errors are passed to onError and never stop the loop.
 */
import type { OutboxEvent, OutboxMetrics, OutboxStore } from './outbox-types.js';
import { nextBackoffMs } from './sender.js';
import type { BackoffOptions, WebhookDelivery, WebhookResult } from './sender.js';

export interface OutboxWorkerOptions {
  store: OutboxStore;
  sender: { send(ev: WebhookDelivery): Promise<WebhookResult> };
  /** webhooks.max_age_s */
  maxAgeS: number;
  /** webhooks.initial_backoff_ms / max_backoff_ms */
  backoff: BackoffOptions;
  /** webhooks.concurrency: deliveries in flight at once. */
  concurrency: number;
  /** Poll for due events this often (default 1000 ms). */
  pollIntervalMs?: number;
  /** Clock, epoch ms (default Date.now). */
  now?: () => number;
  /** Jitter source in [0, 1) (default Math.random). */
  rng?: () => number;
  metrics?: OutboxMetrics;
  /** Store failures (the loop carries on). */
  onError?: (err: unknown) => void;
}

export class OutboxWorker {
  readonly #o: Required<Omit<OutboxWorkerOptions, 'metrics' | 'onError'>> & Pick<OutboxWorkerOptions, 'metrics' | 'onError'>;
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #running = false;

  constructor(opts: OutboxWorkerOptions) {
    this.#o = {
      ...opts,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      now: opts.now ?? Date.now,
      rng: opts.rng ?? Math.random,
      concurrency: Math.max(1, Math.floor(opts.concurrency)),
    };
  }

  /** Deliveries in flight now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Run a tick now (a new event was recorded). No-op when stopped. */
  wake(): void {
    if (this.#running) this.#schedule(0);
  }

  /** Stop claiming; resolve when the deliveries in flight have finished and been recorded. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Arm the timer for `delayMs` from now unless one is already armed for sooner. */
  #schedule(delayMs: number): void {
    if (!this.#running) return;
    const d = Math.max(0, delayMs);
    const at = Date.now() + d;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#tick();
    }, d);
  }

  #tick(): void {
    if (!this.#running) return;
    const free = this.#o.concurrency - this.#inFlight.size;
    if (free > 0) {
      let due: OutboxEvent[] = [];
      try {
        due = this.#o.store.claimDue(this.#o.now(), free);
      } catch (err) {
        this.#o.onError?.(err);
      }
      for (const ev of due) {
        if (this.#inFlight.has(ev.id)) continue; // a store that did not lease: never send twice at once
        const p = this.#deliver(ev).finally(() => {
          this.#inFlight.delete(ev.id);
          this.#schedule(0);
        });
        this.#inFlight.set(ev.id, p);
      }
    }
    this.#schedule(this.#o.pollIntervalMs);
  }

  async #deliver(ev: OutboxEvent): Promise<void> {
    const attempts = ev.attempts + 1;
    let res: WebhookResult;
    try {
      res = await this.#o.sender.send({ id: ev.id, url: ev.url, secret: ev.secret, body: ev.body, allowPrivate: ev.allowPrivate === true });
    } catch {
      res = { ok: false, error: 'error', retryable: true };
    }
    const now = this.#o.now();
    const m = this.#o.metrics;
    try {
      if (res.ok) {
        this.#o.store.markDelivered(ev.id, now);
        m?.delivered('ok');
        m?.queueAgeSeconds(Math.max(0, now - ev.createdAt) / 1000);
        return;
      }
      const error = res.error ?? (res.status !== undefined ? `HTTP ${res.status}` : 'error');
      const deadline = ev.createdAt + this.#o.maxAgeS * 1000;
      if (!res.retryable || now >= deadline) {
        this.#o.store.markDead(ev.id, now, error);
        m?.delivered('dead');
        return;
      }
      const next = Math.min(now + nextBackoffMs(attempts, this.#o.backoff, this.#o.rng), deadline);
      this.#o.store.markRetry(ev.id, next, attempts, error);
      m?.delivered('retry');
      this.#schedule(next - now);
    } catch (err) {
      this.#o.onError?.(err);
    }
  }
}
