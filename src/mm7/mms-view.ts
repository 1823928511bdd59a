/** GET /v1/messages/{id} for an MMS, and the link an SMS sent as a fallback shows. */
import type { MessageRecord } from '../store/types.js';
import type { MmsRecord, StoredMmsPart } from '../store/mms-types.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function renderMms(m: MmsRecord, parts: StoredMmsPart[], fallback: MessageRecord | undefined): Record<string, unknown> {
  return {
    id: m.id,
    channel: 'mms',
    status: m.status,
    category: m.category,
    to: m.to,
    carrier: m.mmscId,
    subject: m.subject,
    size_bytes: m.sizeBytes,
    reference: m.reference,
    template: m.templateId,
    error_code: m.status === 'delivered' || m.statusCode === null ? null : String(m.statusCode),
    error_text: m.status === 'delivered' ? null : m.statusText,
    mm7_message_id: m.mm7MessageId,
    mm_status: m.mmStatus,
    read_status: m.readStatus,
    attempts: m.attempts,
    send_at: iso(m.sendAt),
    expires_at: iso(m.expiresAt),
    timestamps: { created: iso(m.createdAt), submitted: iso(m.submittedAt), final: iso(m.finalAt) },
    parts: parts.map((p) => ({
      seq: p.seq,
      content_type: p.contentType,
      filename: p.filename,
      size: p.text !== null ? Buffer.byteLength(p.text, 'utf8') : p.data?.length ?? 0,
    })),
    fallback_sms:
      m.fallbackSms === null
        ? null
        : {
            state: m.fallbackState ?? 'not_needed',
            message_id: m.fallbackMessageId,
            status: fallback?.status ?? null,
            error_code: m.fallbackError,
          },
  };
}

/** The fields an SMS sent as an MMS's fallback adds to its own view. */
export function fallbackLink(mms: MmsRecord): Record<string, unknown> {
  return { fallback_of: { channel: 'mms', id: mms.id, status: mms.status } };
}
