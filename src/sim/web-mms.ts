/**
 * The simulated handsets' MMS (issue 20.4): what the built-in MMSC simulator accepted, as a
 * handset shows it: the subject, then the slides in the SMIL's order, each with its text and
 * images (one slide per part when there is no SMIL). Images and other media are served by the
 * simulator's HTTP port at /sim/mms/{id}/{part}. Pure: read from the simulator on demand.
 */
import { partText, type ContentPart } from '../mm7/mm7-message.js';
import { normaliseContentId } from '../mm7/mime.js';
import { parseSmil } from '../mm7/smil.js';
import type { ReceivedSubmit, SentReport } from './mmsc.js';
import { phoneKey } from './web-inbox.js';

export type SlidePart =
  | { type: 'text'; text: string }
  | { type: 'image'; content_type: string; url: string }
  | { type: 'file'; content_type: string; filename: string | undefined; url: string };

export interface HandsetMms {
  kind: 'mms';
  direction: 'in';
  /** The simulator's number for it, as in /sim/mms/{id}/{part}. */
  id: string;
  from: string;
  to: string;
  subject: string;
  slides: Array<{ parts: SlidePart[] }>;
  received_at: string;
  /** The MMStatus of the delivery report the simulator sent, or `pending`. */
  receipt: string;
}

const isSmil = (p: ContentPart) => /^application\/smil\b/i.test(p.contentType);
const baseType = (p: ContentPart) => p.contentType.split(';')[0]!.trim().toLowerCase();

/** A SMIL src (cid:…, a Content-Location or a file name) to the index of its part. */
function resolve(parts: readonly ContentPart[], src: string): number {
  const cid = normaliseContentId(src);
  const i = parts.findIndex((p) => p.contentId !== undefined && normaliseContentId(p.contentId) === cid);
  if (i >= 0) return i;
  return parts.findIndex((p) => p.location === src || p.filename === src);
}

function slidePart(sub: ReceivedSubmit, index: number): SlidePart {
  const p = sub.parts[index]!;
  const type = baseType(p);
  if (type.startsWith('text/')) return { type: 'text', text: partText(p) };
  const url = `/sim/mms/${sub.n}/${index}`;
  if (type.startsWith('image/')) return { type: 'image', content_type: type, url };
  return { type: 'file', content_type: type, filename: p.filename, url };
}

export function slidesOf(sub: ReceivedSubmit): HandsetMms['slides'] {
  const smil = sub.parts.find(isSmil);
  const slides: HandsetMms['slides'] = [];
  const used = new Set<number>();
  if (smil !== undefined) {
    let parsed: ReturnType<typeof parseSmil> = [];
    try {
      parsed = parseSmil(partText(smil));
    } catch {
      parsed = [];
    }
    for (const s of parsed) {
      const parts: SlidePart[] = [];
      for (const m of s.media) {
        const i = resolve(sub.parts, m.src);
        if (i < 0 || isSmil(sub.parts[i]!)) continue;
        used.add(i);
        parts.push(slidePart(sub, i));
      }
      if (parts.length > 0) slides.push({ parts });
    }
  }
  // Parts the SMIL does not place (or no SMIL at all): a slide each, in message order.
  sub.parts.forEach((p, i) => {
    if (!isSmil(p) && !used.has(i)) slides.push({ parts: [slidePart(sub, i)] });
  });
  return slides;
}

/** Accepted MMS to `phone` (a phoneKey), oldest first. */
export function mmsTo(received: readonly ReceivedSubmit[], reports: readonly SentReport[], phone: string): HandsetMms[] {
  const out: HandsetMms[] = [];
  for (const sub of received) {
    // Only what the MMSC accepted reaches a phone.
    if (sub.answer.kind !== 'ok') continue;
    const to = sub.recipients.find((r) => phoneKey(r.replace(/\/TYPE=.*$/i, '')) === phone);
    if (to === undefined) continue;
    out.push({
      kind: 'mms',
      direction: 'in',
      id: String(sub.n),
      from: sub.sender ?? '',
      to,
      subject: sub.subject ?? '',
      slides: slidesOf(sub),
      received_at: new Date(sub.at).toISOString(),
      receipt: reports.find((r) => r.messageId === sub.messageId)?.mmStatus ?? 'pending',
    });
  }
  return out;
}

/** The bytes of part `index` of MMS `id`, for the page's images (undefined: no such part). */
export function mmsPart(received: readonly ReceivedSubmit[], id: string, index: string): { contentType: string; data: Buffer } | undefined {
  if (!/^\d+$/.test(id) || !/^\d+$/.test(index)) return undefined;
  const sub = received.find((r) => r.n === Number(id) && r.answer.kind === 'ok');
  const p = sub?.parts[Number(index)];
  if (p === undefined || isSmil(p)) return undefined;
  return { contentType: baseType(p), data: p.data };
}
