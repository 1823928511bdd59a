/**
 * The caller-ID provider simulator's cards: a card's status follows from its submission time
 * on the simulator's clock (pending_review → approved after reviewMs → active after
 * activateMs, expired after validity), unless the simulator was told to reject it or to set
 * its status. Computed when asked, so an injected clock drives it without timers.
 */
import type { CardStatus } from '../callerid/provider.js';

export interface SimCardFields {
  numbers: string[];
  display_name: string;
  logo_png_base64: string;
  industry: string;
  license_no: string;
  contact: string;
}

export interface SimCard {
  cardId: string;
  appKey: string;
  fields: SimCardFields;
  /** Epoch ms of the last create or update: the review starts again from here. */
  submittedAt: number;
  /** Set at submission from the simulator's review mode, or later by rejectCard. */
  rejectReason: string | undefined;
  /** Set by setStatus: wins over the timeline. */
  forced: { status: CardStatus; reason: string | undefined; expiresAt?: number | undefined } | undefined;
  revoked: boolean;
  updates: number;
}

export interface CardTimeline {
  reviewMs: number;
  activateMs: number;
  validityMs: number;
}

export interface CardView {
  card_id: string;
  status: CardStatus;
  reason?: string;
  effective_at?: string;
  expires_at?: string;
}

export function cardStatus(c: SimCard, now: number, tl: CardTimeline): { status: CardStatus; reason?: string; effectiveAt?: number; expiresAt?: number } {
  const effectiveAt = c.submittedAt + tl.reviewMs + tl.activateMs;
  if (c.forced !== undefined) {
    const expiresAt = c.forced.expiresAt ?? effectiveAt + tl.validityMs;
    return {
      status: c.forced.status,
      ...(c.forced.reason !== undefined ? { reason: c.forced.reason } : {}),
      ...(['active', 'suspended', 'expired'].includes(c.forced.status) ? { effectiveAt, expiresAt } : {}),
    };
  }
  const t = now - c.submittedAt;
  if (t < tl.reviewMs) return { status: 'pending_review' };
  if (c.rejectReason !== undefined) return { status: 'rejected', reason: c.rejectReason };
  if (t < tl.reviewMs + tl.activateMs) return { status: 'approved' };
  const expiresAt = effectiveAt + tl.validityMs;
  return { status: now >= expiresAt ? 'expired' : 'active', effectiveAt, expiresAt };
}

export function cardView(c: SimCard, now: number, tl: CardTimeline): CardView {
  const s = cardStatus(c, now, tl);
  return {
    card_id: c.cardId,
    status: s.status,
    ...(s.reason !== undefined ? { reason: s.reason } : {}),
    ...(s.effectiveAt !== undefined ? { effective_at: new Date(s.effectiveAt).toISOString() } : {}),
    ...(s.expiresAt !== undefined ? { expires_at: new Date(s.expiresAt).toISOString() } : {}),
  };
}

const E164 = /^\+[1-9]\d{6,14}$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The provider's own check of a create/update body: a reason when it refuses, else the fields. */
export function checkCardBody(body: unknown): { ok: true; fields: SimCardFields } | { ok: false; reason: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'body must be a JSON object' };
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.numbers) || b.numbers.length === 0 || !b.numbers.every((n) => typeof n === 'string' && E164.test(n))) {
    return { ok: false, reason: 'numbers must be a non-empty list of E.164 numbers' };
  }
  for (const k of ['display_name', 'logo_png_base64', 'industry', 'license_no', 'contact'] as const) {
    if (typeof b[k] !== 'string' || (b[k] as string).length === 0) return { ok: false, reason: `${k} is required` };
  }
  if ([...(b.display_name as string)].length > 40) return { ok: false, reason: 'display_name is too long' };
  if (!Buffer.from(b.logo_png_base64 as string, 'base64').subarray(0, 8).equals(PNG_SIGNATURE)) return { ok: false, reason: 'logo is not a PNG' };
  return {
    ok: true,
    fields: {
      numbers: b.numbers as string[],
      display_name: b.display_name as string,
      logo_png_base64: b.logo_png_base64 as string,
      industry: b.industry as string,
      license_no: b.license_no as string,
      contact: b.contact as string,
    },
  };
}
