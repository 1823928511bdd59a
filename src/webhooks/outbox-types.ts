/**
 * The webhook outbox seam (SPEC 3, 13): the store owns persistence, the OutboxWorker owns
 * delivery. Methods are synchronous (better-sqlite3 is; a networked backend would wrap its
 * own batching behind the same shape).
 */

export interface OutboxEvent {
  /** Stable event id: sent as X-Xinge-Event-Id on every attempt (receivers dedupe on it). */
  id: string;
  url: string;
  /** HMAC secret: the client's webhook_secret, else webhooks.secret. */
  secret: string;
  /** The client's allow_private_callbacks, resolved at delivery time. */
  allowPrivate?: boolean;
  /** The exact JSON bytes to POST, as recorded when the event was created. */
  body: string;
  /** Attempts made so far (0 for a new event). */
  attempts: number;
  /** Epoch ms the event was recorded; max_age_s counts from here. */
  createdAt: number;
  /** Epoch ms of the next attempt. */
  nextAttemptAt: number;
}

export interface OutboxStore {
  /**
   * Up to `limit` events with nextAttemptAt <= now, oldest first, that are not delivered or
   * dead. The store must lease what it returns (e.g. push nextAttemptAt past now + timeout_ms)
   * so it does not return them again before one of the mark* calls; a lease that runs out
   * (crash mid-delivery) makes the event due again: at-least-once.
   */
  claimDue(now: number, limit: number): OutboxEvent[];
  markDelivered(id: string, now: number): void;
  markRetry(id: string, nextAttemptAt: number, attempts: number, lastError: string): void;
  markDead(id: string, now: number, lastError: string): void;
}

export type DeliveryResult = 'ok' | 'retry' | 'dead';

export interface OutboxMetrics {
  /** One call per attempt outcome: delivered, scheduled for retry, or given up. */
  delivered(result: DeliveryResult): void;
  /** Seconds from the event's creation to its successful delivery. */
  queueAgeSeconds(s: number): void;
}
