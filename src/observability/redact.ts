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
