/**
 * OTP codes and bodies (SPEC 3, 11). The code is never stored in clear: the store keeps
 *   hashCode = hex(HMAC-SHA256(key = policy.otp.secret as UTF-8, message = `${otpId}:${code}`))
 * Binding the OTP id into the MAC means a hash copied to another OTP row does not verify.
 * The SMS body (which contains the code) is stored AES-256-GCM encrypted under
 * policy.otp.body_key (base64 of 32 bytes) as one blob: IV (12 bytes) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { ApiError, XingeError } from '../domain/errors.js';

export const OTP_MIN_LENGTH = 4;
export const OTP_MAX_LENGTH = 10;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A uniformly random decimal code; leading zeros allowed (length is the digit count). */
export function generateCode(length: number): string {
  if (!Number.isInteger(length) || length < OTP_MIN_LENGTH || length > OTP_MAX_LENGTH) {
    throw new ApiError('invalid_field', `length must be an integer ${OTP_MIN_LENGTH}..${OTP_MAX_LENGTH}`, {
      field: 'length',
    });
  }
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

/** The exact string the MAC covers; documented above, exported for tests and tooling. */
export function hashInput(otpId: string, code: string): string {
  return `${otpId}:${code}`;
}

export function hashCode(secret: string, otpId: string, code: string): string {
  // An empty key would make every stored hash guessable offline: refuse rather than degrade.
  if (secret === '') throw new XingeError('otp_secret_missing', 'policy.otp.secret is not configured');
  return createHmac('sha256', secret).update(hashInput(otpId, code), 'utf8').digest('hex');
}

/**
 * Constant-time comparison of a submitted code against the stored hash. The submitted
 * code is NFKC-folded and trimmed (full-width digits from a pasted code still match).
 */
export function verifyCode(secret: string, otpId: string, code: string, storedHash: string): boolean {
  const actual = Buffer.from(hashCode(secret, otpId, code.normalize('NFKC').trim()), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  // timingSafeEqual throws on unequal lengths; a malformed stored hash simply never matches.
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

function bodyKey(keyB64: string): Buffer {
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== 32) {
    throw new XingeError('otp_body_key_invalid', 'policy.otp.body_key must be base64 of exactly 32 bytes');
  }
  return key;
}

/**
 * AES-256-GCM with a fresh random IV per body. `aad` (e.g. the message id) is optional
 * additional authenticated data: a blob moved to another row then fails to decrypt.
 */
export function encryptBody(keyB64: string, plaintext: string, aad?: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', bodyKey(keyB64), iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

/** Inverse of encryptBody; throws when the blob, key or aad do not authenticate. */
export function decryptBody(keyB64: string, blob: Buffer, aad?: string): string {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new XingeError('otp_body_invalid', 'encrypted body too short');
  const iv = blob.subarray(0, IV_BYTES);
  const tag = blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', bodyKey(keyB64), iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
  try {
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new XingeError('otp_body_invalid', 'encrypted body failed authentication');
  }
}

/** What the store holds about one OTP, as the verify decision needs it. */
export interface OtpState {
  id: string;
  codeHash: string;
  /** Epoch ms; the code is valid while now < expiresAt. */
  expiresAt: number;
  used: boolean;
  /** Failed verify attempts so far. */
  attempts: number;
}

export type OtpFailReason = 'mismatch' | 'expired' | 'used' | 'too_many_attempts';

/**
 * The verify decision and what the store must do about it:
 * - effect `consume`: mark used (the code was right);
 * - effect `count_attempt`: increment attempts (a wrong code against a live OTP);
 * - effect `none`: nothing changes.
 * `ended` is true when the OTP can never verify after this call, so its encrypted body
 * can be purged (SPEC 11).
 */
export type OtpVerifyOutcome =
  | { valid: true; effect: 'consume'; ended: true }
  | { valid: false; reason: OtpFailReason; effect: 'count_attempt' | 'none'; ended: boolean };

/**
 * Order of checks: used, then too_many_attempts, then expired, then the code. An OTP
 * allows at most maxAttempts wrong codes; once locked even the right code is refused, so
 * guessing cannot continue. Checking the code last keeps a dead OTP from acting as an oracle.
 */
export function otpVerifyOutcome(
  state: OtpState,
  now: number,
  code: string,
  opts: { secret: string; maxAttempts: number },
): OtpVerifyOutcome {
  if (state.used) return { valid: false, reason: 'used', effect: 'none', ended: true };
  if (state.attempts >= opts.maxAttempts) return { valid: false, reason: 'too_many_attempts', effect: 'none', ended: true };
  if (now >= state.expiresAt) return { valid: false, reason: 'expired', effect: 'none', ended: true };
  if (verifyCode(opts.secret, state.id, code, state.codeHash)) return { valid: true, effect: 'consume', ended: true };
  return { valid: false, reason: 'mismatch', effect: 'count_attempt', ended: state.attempts + 1 >= opts.maxAttempts };
}
