/**
 * Fallback SMS (the seed's multi-channel fallback): an MMS that ended rejected,
 * undeliverable or expired and carries `fallback_sms` is marked pending in the commit that
 * ended it; this sends that SMS through the normal SMS path (SubmitService: policy, quiet
 * hours, caps) and stores the link in the SMS's own insert transaction, so a crash never
 * sends it twice or loses it. A refusal (opted out, cap…) is recorded on the MMS.
 */
import type { Logger } from 'pino';
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { SubmitService } from '../intake/submit-service.js';
import { parseSmsRequest } from '../intake/validate.js';
import type { Mm7Metrics } from './metrics.js';

export interface FallbackDeps {
  store: Store;
  service: SubmitService;
  clients: () => readonly ClientConfig[];
  metrics: Mm7Metrics;
  logger: Logger;
}

export class FallbackSender {
  readonly #d: FallbackDeps;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(deps: FallbackDeps) {
    this.#d = deps;
  }

  wake(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      .catch((err: unknown) => this.#d.logger.error({ err: { message: (err as Error).message } }, 'fallback SMS pass failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  /** Resolves when the pass in progress (if any) is over. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #pass(): Promise<void> {
    const { store, metrics } = this.#d;
    for (const rec of store.mms.pendingFallbacks(50)) {
      const refuse = async (code: string) => {
        // Counted in the commit, with the state it records.
        await store.commit.run(() => {
          store.mms.setFallback(rec.id, 'refused', null, code);
          metrics.fallback.inc({ result: code });
        });
      };
      const client = this.#d.clients().find((c) => c.name === rec.client);
      if (client === undefined) {
        await refuse('client_unknown');
        continue;
      }
      try {
        const fb = JSON.parse(rec.fallbackSms ?? '{}') as Record<string, unknown>;
        const req = parseSmsRequest({
          to: rec.to,
          category: rec.category,
          ...fb,
          ...(rec.reference !== null ? { reference: rec.reference } : {}),
          ...(rec.callbackUrl !== null ? { callback_url: rec.callbackUrl } : {}),
        });
        await this.#d.service.submit(req, client, (a) => {
          store.mms.setFallback(rec.id, 'sent', a.id, null);
          metrics.fallback.inc({ result: 'sent' });
        });
      } catch (err) {
        if (err instanceof ApiError) await refuse(err.code);
        else {
          // Left pending: the next pass tries again.
          this.#d.logger.error({ mms: rec.id, err: { message: (err as Error).message } }, 'fallback SMS not stored');
          return;
        }
      }
    }
  }
}
