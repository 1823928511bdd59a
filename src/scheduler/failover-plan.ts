/**
 * What failover does to a message (SPEC 4, 6; issue 14.4). Carriers differ in encodings and
 * segmentation, so the same text can make a different number of parts on another carrier.
 * A message moves whole: to a carrier whose plan for its text is the stored one (its parts
 * and concatenation reference stay valid), or, while none of its parts has gone out, it is
 * re-planned for the new carrier (new parts, new reference). A message with parts already on
 * the wire stays with carriers of the same plan. No part is ever sent in place of another.
 * When it happens (carrier down, failover status) is decided by the callers.
 */
import type { CarrierConfig } from '../config/schema.js';
import type { EncodingName, SegmentationMode } from '../domain/types.js';
import { countSegments } from '../encoding/index.js';
import type { MessageStore } from '../store/types.js';

export interface MessagePlan {
  encoding: EncodingName;
  segmentation: SegmentationMode;
  segments: number;
}

/** The plan a carrier makes of a text: the same options intake's router gives the segmenter. */
export function planFor(text: string, c: Pick<CarrierConfig, 'segmentation' | 'encodings' | 'pack_gsm7'>): MessagePlan {
  const counted = countSegments(text, {
    segmentation: c.segmentation,
    encodings: c.encodings,
    forceUcs2: !c.encodings.includes('gsm7'),
    packGsm7: c.pack_gsm7,
  });
  return { encoding: counted.encoding, segmentation: c.segmentation, segments: counted.segments };
}

export const samePlan = (a: MessagePlan, b: MessagePlan): boolean =>
  a.encoding === b.encoding && a.segmentation === b.segmentation && a.segments === b.segments;

export interface FailoverPlannerDeps {
  messages: MessageStore;
  carrier: (id: string) => CarrierConfig | undefined;
  /** Decrypt a sealed body (OTP) to plan it. */
  openBody: (sealed: Buffer) => string;
  /** Segment ids handed to a connector whose outcome has not been handled yet. */
  inFlight: (segmentId: number) => boolean;
}

export type MoveResult = { kind: 'moved'; carrierId: string } | { kind: 'replanned'; carrierId: string; segments: number } | { kind: 'stay' };

export class FailoverPlanner {
  readonly #d: FailoverPlannerDeps;

  constructor(deps: FailoverPlannerDeps) {
    this.#d = deps;
  }

  /**
   * Move message `messageId` off `from` to the first of `candidates` that can take it. Run
   * inside a store transaction. `failing`: the segment whose outcome asked for failover (it
   * is not in flight any more); every other part that is queued and not in flight moves with it.
   */
  move(
    messageId: string,
    candidates: readonly string[],
    opts: { failing?: number; dueAt: number; tried: string[]; countAttempt: boolean; errorCode?: string },
  ): MoveResult {
    const m = this.#d.messages;
    const msg = m.getMessage(messageId);
    if (msg === undefined || msg.finalAt !== null) return { kind: 'stay' };
    const body = m.messageBody(messageId);
    let text: string | undefined;
    try {
      text = body?.text ?? (body?.bodyEnc ? this.#d.openBody(body.bodyEnc) : undefined);
    } catch {
      text = undefined;
    }
    if (text === undefined) return { kind: 'stay' };
    const segs = m.getSegments(messageId);
    const movable = segs.filter((s) => s.id === opts.failing || (s.status === 'queued' && !this.#d.inFlight(s.id)));
    // Re-planning replaces every part: only while none is on the wire or done.
    const untouched = movable.length === segs.length;
    const stored: MessagePlan = { encoding: msg.encoding, segmentation: msg.segmentation, segments: msg.segmentsCount };
    for (const id of candidates) {
      const c = this.#d.carrier(id);
      if (c === undefined) continue;
      const next = planFor(text, c);
      if (samePlan(next, stored)) {
        for (const s of movable) {
          const o: { countAttempt: boolean; errorCode?: string; carrierId: string; tried: string[] } = {
            countAttempt: opts.countAttempt && s.id === opts.failing,
            carrierId: id,
            tried: opts.tried,
          };
          if (opts.errorCode !== undefined && s.id === opts.failing) o.errorCode = opts.errorCode;
          m.requeue(s.id, opts.dueAt, o);
        }
        return { kind: 'moved', carrierId: id };
      }
      if (!untouched) continue;
      const attempts = Math.max(...segs.map((s) => s.attempts)) + (opts.countAttempt ? 1 : 0);
      m.replanMessage(messageId, {
        carrierId: id,
        ...next,
        concatRef: next.segments > 1 ? m.nextConcatRef(id) : 0,
        dueAt: opts.dueAt,
        attempts,
        tried: opts.tried,
        errorCode: opts.errorCode ?? null,
      });
      return { kind: 'replanned', carrierId: id, segments: next.segments };
    }
    return { kind: 'stay' };
  }
}
