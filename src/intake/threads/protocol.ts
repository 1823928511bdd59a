/**
 * Messages between the main thread and the intake threads (structured clone over the
 * worker's port). An intake thread owns HTTP: sockets, parsing, JSON, auth. What needs
 * the store or the daemon's state goes to the main thread as one of these, and comes back
 * as an answer the thread writes to its socket.
 */
import type { ClientConfig } from '../../config/schema.js';
import type { EdgeLimits } from '../http-edge.js';

export interface IntakeWorkerInit {
  index: number;
  logLevel: string;
  secrets: string[];
  maxBodyBytes: number;
  limits: EdgeLimits;
  clients: readonly ClientConfig[];
}

/** POST /v1/sms or /v1/sms/batch, authenticated: the main thread does the rest (SmsIntake). */
export interface SmsCall {
  t: 'sms';
  id: number;
  kind: 'one' | 'batch';
  client: string;
  key: string | undefined;
  /**
   * The body as received (the thread has checked it is JSON). A string crosses threads as
   * one copy; the parsed object would be cloned field by field, which costs the main thread
   * more than parsing it again (a 1,000-message batch: measured slower and 90 MB more RSS).
   */
  rawBody: string;
}

/** Any other request, run through the main thread's fastify instance (inject). */
export interface InjectCall {
  t: 'inject';
  id: number;
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  body: string;
}

export type ToMain =
  /** Calls made during one turn of the thread's loop, in one message (fewer wake-ups). */
  | { t: 'calls'; calls: Array<SmsCall | InjectCall> }
  | { t: 'listening'; fd: number; port: number }
  | { t: 'listen-error'; code: string | undefined; message: string }
  | { t: 'ready' }
  | { t: 'closed' };

export type Answer =
  /** An SMS answer: status and JSON body. */
  | { t: 'answer'; id: number; status: number; body: unknown }
  /** An ApiError (rendered by the thread in the API's error shape). */
  | { t: 'error'; id: number; code: string; message: string; field: string | undefined; retryAfter: number | undefined }
  /** An injected request's answer, as the main thread's fastify wrote it. */
  | { t: 'raw'; id: number; status: number; headers: Record<string, string | string[]>; body: Uint8Array };

export type ToWorker =
  /** Answers ready during one turn of the main thread's loop, in one message. */
  | { t: 'answers'; answers: Answer[] }
  | { t: 'listen'; host: string; port: number }
  | { t: 'listen-fd'; fd: number }
  | { t: 'clients'; clients: readonly ClientConfig[] }
  | { t: 'draining' }
  | { t: 'close'; graceMs: number };

/** Headers an answer may not carry over: the thread's own connection sets them. */
export const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'keep-alive', 'date']);

/**
 * Messages to one port, sent once per turn of the loop (setImmediate): a turn that handles
 * many requests or commits wakes the other thread once, not once per request.
 */
export class TurnBatcher<T> {
  #items: T[] = [];
  readonly #send: (items: T[]) => void;
  constructor(send: (items: T[]) => void) {
    this.#send = send;
  }
  push(item: T): void {
    if (this.#items.push(item) === 1) setImmediate(() => this.flush());
  }
  flush(): void {
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#send(items);
  }
}
