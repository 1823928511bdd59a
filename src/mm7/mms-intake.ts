/**
 * Intake of one MMS (SPEC 3, 9): validate, compose text parts through the SMS policy
 * (templates, free-text rule, signature, content lint), pick the MMSC, build the SubmitReq
 * to measure it (413 over the MMSC's max_size_bytes, before anything is stored or sent),
 * then admit (opt-out, caps, quiet hours) and insert in one commit.
 */
import { ApiError } from '../domain/errors.js';
import { normalizeMsisdn } from '../domain/msisdn.js';
import { newId } from '../domain/ids.js';
import type { Category } from '../domain/types.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { StoredMmsPart } from '../store/mms-types.js';
import type { IntakePolicy } from '../intake/submit-service.js';
import { parseSendAt, parseSmsRequest } from '../intake/validate.js';
import { buildSubmitReq, MMS_CONTENT_TYPES, type MmsContentType, type MmsPart } from './submit-req.js';
import { pickMmsc, profileOf, recipientAddress } from './profile.js';

export const MAX_MMS_PARTS = 20;
const MMS_CATEGORIES: readonly Category[] = ['notification', 'collection', 'marketing'];
const KNOWN = new Set(['to', 'subject', 'parts', 'template', 'params', 'category', 'reference', 'callback_url', 'send_at', 'validity_s', 'fallback_sms', 'linked_id', 'overdue_days']);

export interface MmsAccepted {
  id: string;
  status: 'queued' | 'scheduled';
  size_bytes: number;
  mmsc: string;
}

function bad(field: string, message: string): never {
  throw new ApiError('invalid_field', message, { field });
}

const optStr = (o: Record<string, unknown>, k: string, max: number): string | undefined => {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') bad(k, `${k} must be a string`);
  if (v.length > max) bad(k, `${k} longer than ${max}`);
  return v;
};

interface ParsedPart {
  contentType: MmsContentType;
  filename?: string | undefined;
  text?: string;
  data?: Buffer;
}

function parseParts(v: unknown): ParsedPart[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad('parts', 'parts must be an array');
  if (v.length > MAX_MMS_PARTS) bad('parts', `at most ${MAX_MMS_PARTS} parts`);
  return v.map((raw, i) => {
    const f = `parts[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad(f, 'a part must be an object');
    const p = raw as Record<string, unknown>;
    for (const k of Object.keys(p)) if (!['content_type', 'filename', 'text', 'content_base64'].includes(k)) bad(`${f}.${k}`, `unknown field ${k}`);
    const ct = typeof p.content_type === 'string' ? p.content_type.toLowerCase().split(';')[0]!.trim() : '';
    if (!(MMS_CONTENT_TYPES as readonly string[]).includes(ct)) bad(`${f}.content_type`, `content_type must be one of ${MMS_CONTENT_TYPES.join(', ')}`);
    const filename = p.filename;
    if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0 || filename.length > 128 || /[\x00-\x1f"\\/]/.test(filename))) {
      bad(`${f}.filename`, 'filename must be 1..128 characters without quotes, slashes or control characters');
    }
    const out: ParsedPart = { contentType: ct as MmsContentType, filename: filename as string | undefined };
    if (ct === 'text/plain') {
      if (typeof p.text !== 'string' || p.text.length === 0) bad(`${f}.text`, 'a text/plain part needs text');
      if (p.content_base64 !== undefined) bad(`${f}.content_base64`, 'give text or content_base64, not both');
      out.text = p.text;
    } else {
      const b64 = p.content_base64;
      if (typeof b64 !== 'string' || b64.length === 0) bad(`${f}.content_base64`, `a ${ct} part needs content_base64`);
      if (p.text !== undefined) bad(`${f}.text`, 'give text or content_base64, not both');
      const clean = b64.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) bad(`${f}.content_base64`, 'content_base64 is not valid base64');
      out.data = Buffer.from(clean, 'base64');
    }
    return out;
  });
}

export interface MmsIntakeDeps {
  config: () => Config;
  store: Store;
  policy: () => IntakePolicy;
  now: () => number;
}

/** Validate, compose, measure. Throws ApiError. Nothing is written. */
export function prepareMms(body: unknown, client: ClientConfig, d: MmsIntakeDeps) {
  const cfg = d.config();
  const now = d.now();
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('bad_request', 'body must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) bad(k, `unknown field ${k}`);
  const category = o.category;
  if (typeof category !== 'string' || !(MMS_CATEGORIES as readonly string[]).includes(category)) bad('category', `category must be one of ${MMS_CATEGORIES.join(', ')}`);
  const cat = category as Category;
  if (!client.categories.includes(cat)) throw new ApiError('category_not_allowed', `client may not send category ${cat}`, { field: 'category' });
  if (o.to === undefined) bad('to', 'to is required');
  const to = normalizeMsisdn(o.to, cfg.policy.allowed_countries, 'to');
  const subject = optStr(o, 'subject', 200);
  const reference = optStr(o, 'reference', 128);
  const linkedId = optStr(o, 'linked_id', 128);
  const callbackUrl = optStr(o, 'callback_url', 2048);
  if (callbackUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(callbackUrl)) bad('callback_url', 'callback_url must be an http(s) URL');
  const template = optStr(o, 'template', 128);
  const validity = o.validity_s;
  if (validity !== undefined && (typeof validity !== 'number' || !Number.isInteger(validity) || validity < 1 || validity > 7 * 86400)) bad('validity_s', 'validity_s must be an integer 1..604800');
  const parts = parseParts(o.parts);
  if (parts.length === 0 && template === undefined) bad('parts', 'parts or template is required');

  // Text goes through the SMS policy: a template renders the first text part; free text needs
  // free_text; the signature goes on the first text part; every text part is linted.
  const policy = d.policy();
  const smsLike = (text: string | undefined) =>
    parseSmsRequest({ to: o.to, category: cat, ...(text === undefined ? { template, params: o.params, overdue_days: o.overdue_days } : { text }) });
  let templateId: string | undefined;
  if (template !== undefined) {
    const composed = policy.compose(smsLike(undefined), client);
    templateId = composed.templateId;
    parts.unshift({ contentType: 'text/plain', text: composed.text });
  } else if (o.params !== undefined) bad('params', 'params need a template');
  let signed = template !== undefined;
  parts.forEach((p, i) => {
    if (p.contentType !== 'text/plain' || (i === 0 && template !== undefined)) return;
    const composed = policy.compose(smsLike(p.text), client);
    if (!signed) {
      p.text = composed.text;
      signed = true;
    }
  });

  let fallbackSms: string | null = null;
  if (o.fallback_sms !== undefined && o.fallback_sms !== null) {
    const fb = o.fallback_sms as Record<string, unknown>;
    if (typeof fb !== 'object' || Array.isArray(fb)) bad('fallback_sms', 'fallback_sms must be {text} or {template, params}');
    for (const k of Object.keys(fb)) if (!['text', 'template', 'params'].includes(k)) bad(`fallback_sms.${k}`, `unknown field ${k}`);
    // Checked now, so a bad fallback is a 400 here and not a surprise when the MMS fails.
    const req = parseSmsRequest({ to: o.to, category: cat, ...fb }, 'fallback_sms.');
    policy.compose(req, client);
    fallbackSms = JSON.stringify(fb);
  }

  const mmscs = cfg.mm7?.mmscs ?? [];
  const mmsc = pickMmsc(mmscs, to);
  if (mmsc === undefined) throw new ApiError('no_route', 'no MMSC takes this number', { field: 'to' });
  const id = newId('msg', now);
  const mmsParts: MmsPart[] = parts.map((p) =>
    p.contentType === 'text/plain' ? { contentType: 'text/plain', text: p.text!, filename: p.filename } : { contentType: p.contentType, data: p.data!, filename: p.filename },
  );
  const requestedSendAt = Math.max(now, parseSendAt(o.send_at, 'send_at') ?? now);
  const expiresAt = requestedSendAt + ((validity as number | undefined) ?? cfg.queue.max_age_s) * 1000;
  const built = buildSubmitReq(profileOf(mmsc), {
    transactionId: id,
    recipients: [recipientAddress(to, mmsc.recipient_format)],
    subject,
    linkedId,
    timeStamp: now,
    expiryDate: expiresAt,
    parts: mmsParts,
  });
  if (built.body.length > mmsc.max_size_bytes) {
    throw new ApiError('payload_too_large', `MMS is ${built.body.length} bytes encoded, over MMSC ${mmsc.id}'s max_size_bytes ${mmsc.max_size_bytes}`, { field: 'parts' });
  }
  const stored: StoredMmsPart[] = parts.map((p, i) => ({
    seq: i + 1,
    contentType: p.contentType,
    filename: p.filename ?? null,
    text: p.text ?? null,
    data: p.data ?? null,
  }));
  return {
    id,
    to,
    category: cat,
    mmsc,
    sizeBytes: built.body.length,
    row: {
      id, client: client.name, category: cat, to, subject: subject ?? null, mmscId: mmsc.id, sizeBytes: built.body.length,
      reference: reference ?? null, callbackUrl: callbackUrl ?? null, templateId: templateId ?? null, linkedId: linkedId ?? null,
      fallbackSms, sendAt: requestedSendAt, expiresAt, createdAt: now, parts: stored,
    },
  };
}

export type PreparedMms = ReturnType<typeof prepareMms>;

/** Inside the commit: admit (opt-out, caps, quiet hours) then insert. */
export function persistMms(p: PreparedMms, client: ClientConfig, d: MmsIntakeDeps): MmsAccepted {
  const policy = d.policy();
  const now = p.row.createdAt;
  const { sendAt } = policy.admit(p.to, p.category, client, p.row.sendAt, now);
  if (sendAt > p.row.sendAt) {
    p.row.expiresAt += sendAt - p.row.sendAt;
    p.row.sendAt = sendAt;
  }
  d.store.mms.insert(p.row);
  policy.recordSend(p.to, p.category, now);
  return { id: p.id, status: p.row.sendAt > now ? 'scheduled' : 'queued', size_bytes: p.sizeBytes, mmsc: p.mmsc.id };
}
