/** Request body validation for the SMS endpoints: every error names its field. */
import { ApiError } from '../domain/errors.js';
import { CATEGORIES, type Category } from '../domain/types.js';
import { parseInstant } from './time-input.js';

export interface SmsRequest {
  to: unknown;
  text?: string;
  template?: string;
  params?: Record<string, string>;
  category: Category;
  from?: string;
  sendAt?: number;
  validityS?: number;
  reference?: string;
  callbackUrl?: string;
  overdueDays?: number;
  /** SMPP server intake: the client's parts (ends in UTF-16 units of `text`) and whether it sent UCS-2, to be kept on the wire. */
  parts?: { cuts: readonly number[]; ucs2: boolean };
}

const KNOWN = new Set(['to', 'text', 'template', 'params', 'category', 'from', 'send_at', 'validity_s', 'reference', 'callback_url', 'overdue_days']);

function bad(field: string, message: string): never {
  throw new ApiError('invalid_field', message, { field });
}

function optString(o: Record<string, unknown>, key: string, prefix: string, max: number): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') bad(prefix + key, `${key} must be a string`);
  if (v.length > max) bad(prefix + key, `${key} longer than ${max}`);
  return v;
}

/** send_at: see time-input.ts (without a UTC offset it is read in policy.timezone). */
export function parseSendAt(v: unknown, field: string, timezone = 'Asia/Shanghai'): number | undefined {
  return parseInstant(v, field, timezone);
}

export function parseSmsRequest(body: unknown, prefix = '', timezone = 'Asia/Shanghai'): SmsRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError('bad_request', 'body must be a JSON object', prefix ? { field: prefix.replace(/\.$/, '') } : {});
  }
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) bad(prefix + k, `unknown field ${k}`);
  if (o.to === undefined) bad(prefix + 'to', 'to is required');
  const category = o.category;
  if (typeof category !== 'string' || !(CATEGORIES as readonly string[]).includes(category)) {
    bad(prefix + 'category', `category must be one of ${CATEGORIES.join(', ')}`);
  }
  const text = optString(o, 'text', prefix, 10000);
  const template = optString(o, 'template', prefix, 128);
  if (text === undefined && template === undefined) bad(prefix + 'text', 'text or template is required');
  if (text !== undefined && template !== undefined) bad(prefix + 'text', 'give text or template, not both');
  if (text !== undefined && text.length === 0) bad(prefix + 'text', 'text is empty');
  let params: Record<string, string> | undefined;
  if (o.params !== undefined) {
    if (o.params === null || typeof o.params !== 'object' || Array.isArray(o.params)) bad(prefix + 'params', 'params must be an object');
    params = {};
    for (const [k, v] of Object.entries(o.params as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number') bad(`${prefix}params.${k}`, 'param values must be strings or numbers');
      params[k] = String(v);
    }
  }
  const validity = o.validity_s;
  if (validity !== undefined && (typeof validity !== 'number' || !Number.isInteger(validity) || validity < 1 || validity > 7 * 86400)) {
    bad(prefix + 'validity_s', 'validity_s must be an integer 1..604800');
  }
  const od = o.overdue_days;
  if (od !== undefined && (typeof od !== 'number' || !Number.isInteger(od) || od < 0 || od > 100000)) {
    bad(prefix + 'overdue_days', 'overdue_days must be a non-negative integer');
  }
  const from = optString(o, 'from', prefix, 21);
  if (from !== undefined && !/^\d{1,21}$/.test(from)) bad(prefix + 'from', 'from must be digits');
  const callbackUrl = optString(o, 'callback_url', prefix, 2048);
  if (callbackUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(callbackUrl)) bad(prefix + 'callback_url', 'callback_url must be an http(s) URL');
  const req: SmsRequest = { to: o.to, category: category as Category };
  if (text !== undefined) req.text = text;
  if (template !== undefined) req.template = template;
  if (params !== undefined) req.params = params;
  if (from !== undefined) req.from = from;
  const sendAt = parseSendAt(o.send_at, prefix + 'send_at', timezone);
  if (sendAt !== undefined) req.sendAt = sendAt;
  if (validity !== undefined) req.validityS = validity as number;
  const reference = optString(o, 'reference', prefix, 128);
  if (reference !== undefined) req.reference = reference;
  if (callbackUrl !== undefined) req.callbackUrl = callbackUrl;
  if (od !== undefined) req.overdueDays = od as number;
  return req;
}
