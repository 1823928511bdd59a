/**
 * Masking for anything that might reach a log line (SPEC 11: never a full phone number,
 * message text, OTP code, password or token). Values are judged by what they are, not by
 * the key they sit under: a socket's `code: 'ECONNREFUSED'` and a carrier id under `from`
 * are diagnostics and stay; a phone number, a bare code, Chinese text or a configured
 * secret is masked wherever it appears. (Keys that only ever hold content or credentials,
 * such as `text` and `password`, are also censored by path in logger.ts.)
 */

/** `+8613800138000` → `+86138****8000`; `13800138000` → `138****8000`. Short inputs are fully masked. */
export function maskPhone(n: string | undefined | null): string {
  if (n === undefined || n === null) return '';
  const s = String(n);
  const digits = s.replace(/\D/g, '');
  if (digits.length < 7) return '****';
  const prefix = s.startsWith('+') ? '+' : '';
  return `${prefix}${digits.slice(0, digits.length - 8)}****${digits.slice(-4)}`;
}

/** Digits runs of 7+ in free text (URLs, error messages) are masked the same way. */
export function maskDigitsIn(text: string): string {
  return text.replace(/\+?\d{7,}/g, (m) => maskPhone(m));
}

/** A whole value written as a phone number in any form the API accepts (`138 0013 8000`, `(138)00138000`, `+86-138…`). */
const PHONE_LIKE = /^\+?[\d\s\-()]{7,24}$/;
/** A whole value of 4 to 10 digits: a verification code (or too short to say): masked entirely. */
const CODE_LIKE = /^\d{4,10}$/;
/** Han, kana, hangul, CJK punctuation and full-width forms. */
const CJK = /[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/g;

/**
 * Text that is largely Chinese is message content (a reply, a rendered template): our own
 * diagnostics are English and quote at most a configured word (a forbidden word, a keyword).
 */
function looksLikeMessageText(s: string): boolean {
  const cjk = s.match(CJK)?.length ?? 0;
  if (cjk === 0) return false;
  return cjk / s.replace(/\s/g, '').length >= 0.25;
}

/**
 * One string value as it may be logged: configured secrets cut out, a bare code or a
 * phone number masked, text in Chinese (message content) replaced, digit runs masked.
 */
export function redactString(s: string, secrets: readonly string[] = []): string {
  let out = s;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[secret]');
  if (CODE_LIKE.test(out)) return '****';
  if (PHONE_LIKE.test(out)) {
    const digits = out.replace(/\D/g, '');
    if (digits.length >= 7 && digits.length <= 15) return maskPhone(out.replace(/[\s\-()]/g, ''));
  }
  if (looksLikeMessageText(out)) return `[text ${out.length} chars]`;
  return maskDigitsIn(out);
}

/**
 * A log object with every string judged by redactString, at any depth (bounded). Errors are
 * left to the err serializer; buffers (PDU bytes) are never logged raw.
 */
export function redactValue(v: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof v === 'string') return redactString(v, secrets);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `[${v.length} bytes]`;
  if (depth >= 6) return '[nested]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => redactValue(x, secrets, depth + 1));
  // Only plain objects are walked: a request, socket or stream keeps its serializer's shape.
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = redactValue(x, secrets, depth + 1);
  return out;
}

/**
 * A request URL as it may be logged. The path is percent-decoded first (`%2B86…`, `%20`),
 * then every run of 7+ digits, also one written with separators the API accepts in a
 * number (`138 0013 8000`, `138-0013-8000`, `(138)00138000`), is masked. Query values can
 * be anything a caller put there (a number, a text): only their names are kept, `?to=*`.
 */
export function maskUrl(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    /* malformed escapes: mask what is there */
  }
  const masked = decoded.replace(/\+?\(?\d[\d\s\-()]*\d/g, (m) => {
    const digits = m.replace(/\D/g, '');
    return digits.length < 7 ? m : maskPhone(m.replace(/[\s\-()]/g, ''));
  });
  if (q < 0) return masked;
  const names = url
    .slice(q + 1)
    .split('&')
    .filter((kv) => kv !== '')
    .map((kv) => `${maskDigitsIn(kv.split('=')[0]!).slice(0, 40)}=*`);
  return `${masked}?${names.join('&')}`;
}
