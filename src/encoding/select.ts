/**
 * Which alphabet a text goes out in (SPEC 6). GSM 03.38 whenever the text fits it and
 * the carrier takes it (data_coding 0, never labelled IA5/1); Latin-1 (3) only for a
 * carrier that lists it; UCS-2 (8) for everything else, and as the fallback that can
 * carry any text even when a carrier's list is odd (empty, or gsm7 alone).
 */
import type { EncodingName } from '../domain/types.js';
import { gsmLength } from './gsm7.js';
import { fitsLatin1 } from './latin1.js';

export const DATA_CODING: Readonly<Record<EncodingName, number>> = { gsm7: 0, latin1: 3, ucs2: 8 };

export const DEFAULT_ENCODINGS: readonly EncodingName[] = ['gsm7', 'ucs2'];

export interface EncodingChoice {
  encodings?: readonly EncodingName[];
  forceUcs2?: boolean;
}

/**
 * GSM text goes as GSM when the carrier allows gsm7. Latin-1 is reached only when that
 * fails (the text is not GSM, or the carrier lacks gsm7) and the carrier lists latin1
 * and the text fits it; without latin1 a carrier lacking gsm7 gets UCS-2.
 */
export function selectEncoding(text: string, opts: EncodingChoice): EncodingName {
  if (opts.forceUcs2) return 'ucs2';
  const allowed = opts.encodings ?? DEFAULT_ENCODINGS;
  if (allowed.includes('gsm7') && gsmLength(text) >= 0) return 'gsm7';
  if (allowed.includes('latin1') && fitsLatin1(text)) return 'latin1';
  return 'ucs2';
}
