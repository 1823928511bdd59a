/**
 * Caller-ID webhook events, recorded in the webhook outbox (src/webhooks/) inside the
 * transaction that changed the registration, so each change is delivered at least once and
 * recorded exactly once. The outbox worker delivers and signs them like every other event;
 * the URL is the registering client's webhook_url (no URL: no event).
 */
import type { Config } from '../config/schema.js';
import { newId } from '../domain/ids.js';
import type { AuxStore } from '../store/types.js';
import type { Registration, RegistrationStatus } from './store.js';

export type CallerIdEventType = 'caller_id.status' | 'caller_id.expiring' | 'caller_id.operation_refused';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export class CallerIdEvents {
  readonly #aux: AuxStore;
  readonly #config: () => Config;
  readonly #now: () => number;
  readonly #onEvent: (type: CallerIdEventType) => void;

  constructor(aux: AuxStore, config: () => Config, now: () => number, onEvent: (type: CallerIdEventType) => void = () => {}) {
    this.#aux = aux;
    this.#config = config;
    this.#now = now;
    this.#onEvent = onEvent;
  }

  /** Inside the transaction that made the change. */
  emit(r: Registration, type: CallerIdEventType, extra: { previousStatus?: RegistrationStatus; op?: string; reason?: string } = {}): void {
    const url = this.#config().clients.find((c) => c.name === r.client)?.webhook_url;
    if (url === undefined) return;
    const now = this.#now();
    const id = newId('evt', now);
    const payload = {
      id,
      type,
      registration_id: r.id,
      card_id: r.cardId,
      status: r.status,
      ...(extra.previousStatus !== undefined ? { previous_status: extra.previousStatus } : {}),
      ...(extra.op !== undefined ? { op: extra.op } : {}),
      reason: extra.reason ?? r.reason,
      numbers: r.numbers,
      display_name: r.displayName,
      effective_at: iso(r.effectiveAt),
      expires_at: iso(r.expiresAt),
      at: new Date(now).toISOString(),
    };
    this.#aux.addOutbox({ id, client: r.client, url, body: JSON.stringify(payload), attempts: 0, createdAt: now, nextAttemptAt: now });
    this.#onEvent(type);
  }
}
