/** Constant-time comparison of secrets (passwords from SMPP binds and outbinds). */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Both sides are MACed first so the comparison takes the same time whatever the lengths:
// timingSafeEqual alone refuses unequal lengths, which would leak the length.
const MAC_KEY = randomBytes(32);

export function secretEquals(given: string, expected: string): boolean {
  const a = createHmac('sha256', MAC_KEY).update(given, 'utf8').digest();
  const b = createHmac('sha256', MAC_KEY).update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
