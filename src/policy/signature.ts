/**
 * Signatures and the marketing opt-out suffix (SPEC 11). Chinese carriers require every
 * SMS to start with the sender's registered signature in 【】 brackets, and marketing to
 * tell the recipient how to opt out.
 */
import { ApiError } from '../domain/errors.js';
import type { Category } from '../domain/types.js';

export const DEFAULT_OPTOUT_SUFFIX = '拒收请回复R';

/**
 * The signature as it appears on the wire: trimmed and wrapped in 【】 when configured
 * bare (`信鸽金融` → `【信鸽金融】`), since carriers reject signatures without brackets.
 * An empty signature stays empty.
 */
export function normalizeSignature(signature: string): string {
  const s = signature.trim();
  if (s === '') return '';
  return s.startsWith('【') && s.endsWith('】') ? s : `【${s}】`;
}

/**
 * Which signature applies: a template's own (registered with the carrier together with the
 * template) wins over the client's, which wins over policy.signature.
 */
export function resolveSignature(
  policySignature: string,
  clientSignature?: string,
  templateSignature?: string,
): string {
  for (const s of [templateSignature, clientSignature, policySignature]) {
    if (s !== undefined && s.trim() !== '') return normalizeSignature(s);
  }
  return '';
}

export interface SignatureOptions {
  signature: string;
  category: Category;
  /** Defaults to 拒收请回复R; an explicit empty string disables the suffix. */
  optoutSuffix?: string;
}

/**
 * Prefix the signature (not doubled when the text already starts with it) and, for
 * marketing, append the opt-out suffix (not doubled either). Leading/trailing whitespace
 * around the body is dropped: it would only cost characters on the wire.
 */
export function applySignature(text: string, opts: SignatureOptions): string {
  const sig = normalizeSignature(opts.signature);
  let out = text.trim();
  if (sig !== '' && !out.startsWith(sig)) out = sig + out;
  if (opts.category === 'marketing') {
    const suffix = opts.optoutSuffix ?? DEFAULT_OPTOUT_SUFFIX;
    if (suffix !== '' && !out.endsWith(suffix.trim())) out += suffix;
  }
  return out;
}

/** True when the text (leading whitespace ignored) already starts with the signature. */
export function hasSignature(text: string, signature: string): boolean {
  const sig = normalizeSignature(signature);
  return sig === '' || text.trimStart().startsWith(sig);
}

/**
 * For texts that must already carry the signature (SMPP intake of pre-built texts).
 * Throws invalid_field on `text`: there is no dedicated error code for a missing signature.
 */
export function checkSignature(text: string, signature: string): void {
  if (!hasSignature(text, signature)) {
    throw new ApiError('invalid_field', `text must start with the signature ${normalizeSignature(signature)}`, {
      field: 'text',
    });
  }
}
