/**
 * Webhook signature (SPEC 3):
 *   X-Xinge-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>
 * where timestamp is the X-Xinge-Timestamp header (Unix seconds, as sent) and the raw body
 * is the exact bytes POSTed. Receivers recompute it over the bytes they received.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signWebhook(secret: string, timestampS: number | string, rawBody: string | Buffer): string {
  const h = createHmac('sha256', secret);
  h.update(`${timestampS}.`, 'utf8');
  h.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  return `sha256=${h.digest('hex')}`;
}

/** Constant-time check of a received signature header (for receivers and tests). */
export function verifyWebhook(
  secret: string,
  timestampS: number | string,
  rawBody: string | Buffer,
  signature: string,
): boolean {
  const expected = Buffer.from(signWebhook(secret, timestampS, rawBody), 'utf8');
  const got = Buffer.from(signature, 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
