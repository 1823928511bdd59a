/**
 * The webhook outbox (SPEC 3): events are recorded in the store inside the transaction
 * that changed the state, then delivered by the OutboxWorker at-least-once with a stable
 * X-Xinge-Event-Id. The secret is resolved at delivery time from the client's config.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { newId } from '../domain/ids.js';
import { settlesWithin } from '../domain/settles-within.js';
import type { AuxStore, FinalizedMessage } from '../store/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { StatusEvent } from '../results/writer.js';
import { OutboxWorker } from './outbox-worker.js';
import { WebhookSender } from './sender.js';
import type { OutboxEvent, OutboxStore } from './outbox-types.js';

export interface OutboxDeps {
  aux: AuxStore;
  config: () => Config;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
}

export interface MoEvent {
  id: string;
  client: string;
  carrier: string;
  from: string;
  to: string;
  text: string;
  intent: string | null;
  optOut: boolean;
  partial: boolean;
  lastMessage: { id: string; client: string } | undefined;
  at: number;
}

export class Outbox {
  readonly #d: OutboxDeps;
  #worker: OutboxWorker | undefined;
  #sender: WebhookSender | undefined;

  constructor(deps: OutboxDeps) {
    this.#d = deps;
  }

  /** Secret and target rules of a client, read at delivery time (a SIGHUP applies to pending events). */
  #deliveryFor(client: string): { secret: string; allowPrivate: boolean } {
    const cfg = this.#d.config();
    const c = cfg.clients.find((x) => x.name === client);
    return { secret: c?.webhook_secret ?? cfg.webhooks.secret, allowPrivate: c?.allow_private_callbacks === true };
  }

  #record(client: string, url: string | undefined, payload: Record<string, unknown>): void {
    if (url === undefined) return;
    const now = this.#d.now();
    const id = newId('evt', now);
    this.#d.aux.addOutbox({ id, client, url, body: JSON.stringify({ id, ...payload }), attempts: 0, createdAt: now, nextAttemptAt: now });
    setImmediate(() => this.#worker?.wake());
  }

  /** Inside the transaction that made the change. */
  statusChanged(m: FinalizedMessage, e: StatusEvent): void {
    const url = m.callbackUrl ?? this.#d.config().clients.find((c) => c.name === m.client)?.webhook_url;
    if (url === undefined) return;
    this.#record(m.client, url ?? undefined, {
      type: 'message.status',
      message_id: m.id,
      status: e.status,
      category: m.category,
      reference: m.reference,
      to: m.to,
      carrier: m.carrierId,
      error_code: m.errorCode,
      template: m.templateId,
      variant: m.variant,
      at: new Date(e.at).toISOString(),
    });
  }

  moReceived(e: MoEvent): void {
    const url = this.#d.config().clients.find((c) => c.name === e.client)?.webhook_url;
    this.#record(e.client, url, {
      type: 'mo',
      mo_id: e.id,
      carrier: e.carrier,
      from: e.from,
      to: e.to,
      text: e.text,
      intent: e.intent,
      opt_out: e.optOut,
      partial: e.partial,
      last_message_id: e.lastMessage?.id ?? null,
      at: new Date(e.at).toISOString(),
    });
  }

  /** An MO MMS (MM7 DeliverReq): type `mms.mo`, with its parts (text inline, binary as base64). */
  mmsReceived(e: { id: string; client: string; mmsc: string; from: string; to: string; subject: string | null; linkedId: string | null; parts: Array<Record<string, unknown>>; lastMessageId: string | null; at: number }): void {
    const url = this.#d.config().clients.find((c) => c.name === e.client)?.webhook_url;
    this.#record(e.client, url, {
      type: 'mms.mo',
      mo_id: e.id,
      mmsc: e.mmsc,
      from: e.from,
      to: e.to,
      subject: e.subject,
      linked_id: e.linkedId,
      parts: e.parts,
      last_message_id: e.lastMessageId,
      at: new Date(e.at).toISOString(),
    });
  }

  start(): void {
    const cfg = this.#d.config();
    const aux = this.#d.aux;
    const leaseMs = cfg.webhooks.timeout_ms + 5000;
    const store: OutboxStore = {
      claimDue: (now, limit): OutboxEvent[] =>
        aux.claimOutbox(now, limit, leaseMs).map((r) => ({ ...r, ...this.#deliveryFor(r.client) })),
      markDelivered: (id, now) => aux.outboxDelivered(id, now),
      markRetry: (id, at, attempts, err) => aux.outboxRetry(id, at, attempts, err),
      markDead: (id, now, err) => aux.outboxDead(id, now, err),
    };
    this.#sender = new WebhookSender({ timeoutMs: cfg.webhooks.timeout_ms, connections: cfg.webhooks.concurrency, now: this.#d.now });
    this.#worker = new OutboxWorker({
      store,
      sender: this.#sender,
      maxAgeS: cfg.webhooks.max_age_s,
      backoff: { initialMs: cfg.webhooks.initial_backoff_ms, maxMs: cfg.webhooks.max_backoff_ms },
      concurrency: cfg.webhooks.concurrency,
      pollIntervalMs: 500,
      now: this.#d.now,
      metrics: {
        delivered: (r) => this.#d.metrics.webhooks.inc({ result: r }),
        queueAgeSeconds: (s) => this.#d.metrics.webhookAge.observe(s),
      },
      onError: (err) => this.#d.logger.error({ err }, 'outbox store error'),
    });
    this.#worker.start();
  }

  /**
   * Stop claiming and let the deliveries in flight finish, for at most `waitMs`: a receiver
   * slower than that (webhooks.timeout_ms may be long) must not hold the daemon's drain.
   * Past it the requests are aborted; each is recorded as a retry, so its event is sent
   * again after the restart (delivery is at least once).
   */
  async stop(waitMs = Infinity): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    const stopped = worker.stop();
    if (!(await settlesWithin(stopped, waitMs))) {
      this.#d.logger.warn({ waitMs }, 'webhook deliveries still in flight at shutdown: aborted, to be retried after the restart');
      await this.#sender?.destroy();
      await stopped;
    }
    await this.#sender?.close();
  }
}
