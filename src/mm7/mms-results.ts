/**
 * The one writer of MMS states: submit outcomes (from the worker) and delivery reports
 * (from the receiver) end here, each in a group commit with its status webhook in the
 * outbox. An MMS that ends rejected, undeliverable or expired with a fallback SMS is marked
 * for it in the same statement; the FallbackSender sends it.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { MmsRecord, MmsStatus } from '../store/mms-types.js';
import type { FinalizedMessage } from '../store/types.js';
import type { Outbox } from '../webhooks/outbox.js';
import type { MmscConfig } from '../config/schema.js';
import type { Mm7Metrics } from './metrics.js';
import type { SubmitResult } from './client.js';
import { maskDigitsIn } from '../observability/redact.js';
import { messageStatusOfMmStatus } from './status-codes.js';
import type { HeldMmsReport } from '../store/mms-types.js';

export const FALLBACK_ON: readonly MmsStatus[] = ['rejected', 'undeliverable', 'expired'];

export interface MmsResultsDeps {
  store: Store;
  outbox: Outbox;
  metrics: Mm7Metrics;
  logger: Logger;
  now: () => number;
  /** A fallback SMS was marked pending. */
  onFallback: () => void;
}

/** What the status webhook needs, in the SMS shape (the outbox's one status event). */
export function asFinalized(m: MmsRecord): FinalizedMessage {
  return {
    id: m.id, client: m.client, category: m.category, status: m.status, carrierId: m.mmscId, to: m.to, callbackUrl: m.callbackUrl,
    reference: m.reference, templateId: m.templateId, variant: null, errorCode: m.statusCode === null ? null : String(m.statusCode), otpId: null,
  };
}

const codeLabel = (r: SubmitResult): string => {
  if (r.code !== undefined) return String(r.code);
  if (r.kind === 'success') return 'none';
  return r.via === 'http' ? `http_${/\d{3}/.exec(r.text)?.[0] ?? 'other'}` : r.via;
};

export class MmsResults {
  readonly #d: MmsResultsDeps;
  constructor(deps: MmsResultsDeps) {
    this.#d = deps;
  }

  submitted(m: MmsRecord, mmsc: MmscConfig, r: SubmitResult): void {
    this.#d.metrics.submit.inc({ mmsc: mmsc.id, status_code: codeLabel(r), outcome: r.kind });
    if (r.kind !== 'success') this.#d.logger.warn({ mms: m.id, mmsc: mmsc.id, code: r.code, outcome: r.kind, via: r.via, text: maskDigitsIn(r.text) }, 'MM7 submit not accepted');
  }

  async accepted(m: MmsRecord, mm7MessageId: string | null, code: number, text: string | null): Promise<void> {
    const { store } = this.#d;
    await store.commit.run(() => store.mms.markSubmitted(m.id, mm7MessageId, code, text, this.#d.now()));
    // Its report may have come first (held by the receiver): applied now.
    if (mm7MessageId !== null) for (const h of store.mms.heldReports(mm7MessageId)) await this.applyHeldReport(m, h);
  }

  /** A delivery report held for its MessageID, now known to be this MMS's: applied as it would have been. */
  async applyHeldReport(m: Pick<MmsRecord, 'id' | 'client'>, h: HeldMmsReport): Promise<void> {
    const status = h.mmStatus === null ? undefined : messageStatusOfMmStatus(h.mmStatus);
    if (status !== undefined) await this.ended(m, status, { mmStatus: h.mmStatus, text: h.mmStatus });
    await this.#d.store.commit.run(() => this.#d.store.mms.attachReport(h.inboundId, m.id, m.client));
  }

  /** Held reports whose MMS recorded its MessageID since (a crash, or another node in a cluster). */
  async reconcileHeldReports(since: number): Promise<number> {
    let n = 0;
    for (const h of this.#d.store.mms.matchableHeldReports(since, 500)) {
      const m = this.#d.store.mms.get(h.mmsId);
      if (m === undefined) continue;
      await this.applyHeldReport(m, h);
      n++;
    }
    return n;
  }

  async requeue(m: MmsRecord, dueAt: number, info: { code?: number | null; text?: string }, countAttempt: boolean): Promise<void> {
    const { store } = this.#d;
    await store.commit.run(() => store.mms.requeue(m.id, dueAt, info.code ?? null, info.text ?? null, countAttempt));
  }

  /** Final state (once); the status webhook and the fallback mark in the same commit. */
  /** `fromSubmit`: the end of a submit attempt, which counts as one. */
  async ended(m: Pick<MmsRecord, 'id'>, status: MmsStatus, info: { code?: number | null; text?: string | null; mmStatus?: string | null }, fromSubmit = false): Promise<MmsRecord | undefined> {
    const { store } = this.#d;
    const now = this.#d.now();
    const fallback = FALLBACK_ON.includes(status);
    const done = await store.commit.run(() => {
      const r = store.mms.finalize(m.id, status, now, { ...info, fallback, countAttempt: fromSubmit });
      if (r !== undefined) {
        this.#d.outbox.statusChanged(asFinalized(r), { messageId: r.id, status: r.status, at: now });
        this.#d.metrics.final.inc({ mmsc: r.mmscId, status });
      }
      return r;
    });
    if (done?.fallbackState === 'pending') this.#d.onFallback();
    return done;
  }
}
