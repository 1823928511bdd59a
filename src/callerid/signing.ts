/**
 * Request signing of the caller-ID provider protocol (SPEC 10), pure:
 *
 *   X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(sha256(body))))
 *
 * PATH is the request target as sent (base path and query string included) and body the
 * exact bytes sent (empty for GET and DELETE). The client and the simulator both use it;
 * tests pin it against openssl.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedParts {
  method: string;
  /** Request target as sent: path plus query string. */
  path: string;
  /** Unix seconds, as sent in X-Timestamp. */
  timestamp: string;
  nonce: string;
  body: Buffer;
}

export function bodyDigestHex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export function stringToSign(p: SignedParts): string {
  return `${p.method.toUpperCase()}\n${p.path}\n${p.timestamp}\n${p.nonce}\n${bodyDigestHex(p.body)}`;
}

export function signRequest(secret: string, p: SignedParts): string {
  return createHmac('sha256', secret).update(stringToSign(p), 'utf8').digest('hex');
}

/** Constant-time comparison of a received X-Signature with the one expected. */
export function signatureMatches(secret: string, p: SignedParts, received: string): boolean {
  const expected = Buffer.from(signRequest(secret, p), 'utf8');
  const got = Buffer.from(received.toLowerCase(), 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
