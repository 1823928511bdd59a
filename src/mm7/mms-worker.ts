/**
 * Sends queued MMS: claims due ones (their `submitting` committed before the POST, so a
 * crash in between sends again: at-least-once), holds a category outside its quiet hours,
 * expires what passed its validity, builds the SubmitReq from the stored parts and hands
 * the client's outcome to MmsResults. At most `concurrency` requests per MMSC at once.
 */
import type { Logger } from 'pino';
import type { Config, MmscConfig } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { MmsRecord } from '../store/mms-types.js';
import type { Category } from '../domain/types.js';
import { buildSubmitReq, type MmsPart, type MmsContentType } from './submit-req.js';
import { profileOf, recipientAddress } from './profile.js';
import type { Mm7Client, SubmitResult } from './client.js';
import type { MmsResults } from './mms-results.js';

export interface MmsWorkerDeps {
  config: () => Config;
  store: Store;
  client: (mmscId: string) => Mm7Client | undefined;
  results: MmsResults;
  /** When a category may be sent again (quiet hours), or undefined when it is open now. */
  heldUntil: (category: Category, now: number) => number | undefined;
  logger: Logger;
  now: () => number;
}

const MAX_BACKOFF_MS = 300_000;

export class MmsWorker {
  readonly #d: MmsWorkerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  readonly #inFlight = new Map<string, number>();
  readonly #sends = new Set<Promise<void>>();

  constructor(deps: MmsWorkerDeps) {
    this.#d = deps;
  }

  start(tickMs = 250): void {
    this.#timer = setInterval(() => this.wake(), tickMs);
    this.#timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#pass()
      .catch((err: unknown) => this.#d.logger.error({ err: { message: (err as Error).message } }, 'mms dispatch pass failed'))
      .finally(() => {
        this.#running = false;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  inFlight(): number {
    return this.#sends.size;
  }

  #mmsc(id: string): MmscConfig | undefined {
    return this.#d.config().mm7?.mmscs.find((m) => m.id === id);
  }

  async #pass(): Promise<void> {
    const mmscs = this.#d.config().mm7?.mmscs ?? [];
    const free = mmscs.reduce((s, m) => s + Math.max(0, m.concurrency - (this.#inFlight.get(m.id) ?? 0)), 0);
    if (free === 0) return;
    const now = this.#d.now();
    const { store } = this.#d;
    const claimed = await store.commit.run(() => store.mms.claimDue(now, free));
    for (const m of claimed) {
      const p = this.#one(m).finally(() => this.#sends.delete(p));
      this.#sends.add(p);
    }
  }

  async #one(m: MmsRecord): Promise<void> {
    const { results } = this.#d;
    const now = this.#d.now();
    const mmsc = this.#mmsc(m.mmscId);
    const client = this.#d.client(m.mmscId);
    if (now >= m.expiresAt) return void (await results.ended(m, 'expired', { text: 'validity passed before it could be sent' }));
    if (mmsc === undefined || client === undefined) return results.requeue(m, now + 60_000, { text: `MMSC ${m.mmscId} not configured` }, false);
    const held = this.#d.heldUntil(m.category, now);
    if (held !== undefined) return results.requeue(m, held, {}, false);
    this.#inFlight.set(mmsc.id, (this.#inFlight.get(mmsc.id) ?? 0) + 1);
    let r: SubmitResult;
    try {
      const parts: MmsPart[] = this.#d.store.mms.parts(m.id).map((p) =>
        p.contentType === 'text/plain'
          ? { contentType: 'text/plain', text: p.text ?? '', filename: p.filename ?? undefined }
          : { contentType: p.contentType as Exclude<MmsContentType, 'text/plain'>, data: p.data ?? Buffer.alloc(0), filename: p.filename ?? undefined },
      );
      const built = buildSubmitReq(profileOf(mmsc), {
        transactionId: m.id,
        recipients: [recipientAddress(m.to, mmsc.recipient_format)],
        subject: m.subject ?? undefined,
        linkedId: m.linkedId ?? undefined,
        timeStamp: now,
        expiryDate: m.expiresAt,
        parts,
      });
      r = await client.submit(built);
    } catch (err) {
      // A part that no longer builds (it did at intake) is a bug, not the MMSC's answer.
      r = { kind: 'permanent', code: undefined, text: `build failed: ${(err as Error).message}`, via: 'malformed', attempts: 0 };
    } finally {
      this.#inFlight.set(mmsc.id, (this.#inFlight.get(mmsc.id) ?? 1) - 1);
    }
    results.submitted(m, mmsc, r);
    if (r.kind === 'temporary') {
      const attempts = m.attempts + 1;
      if (attempts >= mmsc.max_attempts) return void (await results.ended(m, 'failed', { code: r.code ?? null, text: r.text }, true));
      const backoff = Math.min(MAX_BACKOFF_MS, mmsc.retry_initial_ms * 2 ** attempts);
      return results.requeue(m, this.#d.now() + backoff, { code: r.code ?? null, text: r.text }, true);
    }
    if (r.kind === 'permanent') return void (await results.ended(m, 'rejected', { code: r.code ?? null, text: r.text }, true));
    const ok = r;
    if (ok.kind === 'success') return results.accepted(m, ok.messageId ?? null, ok.code, ok.text ?? null);
  }

  /** Stop claiming; wait for the requests in flight for at most `waitMs`. */
  async stop(waitMs: number): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const all = Promise.allSettled([...this.#sends]);
    await Promise.race([all, new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}
