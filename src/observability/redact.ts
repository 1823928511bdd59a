/** Masking for anything that might reach a log line (SPEC 11: never a full phone number). */

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
