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

/** Whether the carrier lets a text go as GSM at all (gsm7 listed, UCS-2 not forced). */
export function gsmAllowed(opts: EncodingChoice): boolean {
  return !opts.forceUcs2 && (opts.encodings ?? DEFAULT_ENCODINGS).includes('gsm7');
}

/**
 * The encoding for a text that does not go as GSM (not GSM, or the carrier lacks gsm7):
 * Latin-1 when the carrier lists it and the text fits it, else UCS-2.
 */
export function nonGsmEncoding(text: string, opts: EncodingChoice): 'latin1' | 'ucs2' {
  const latin1 = !opts.forceUcs2 && (opts.encodings ?? DEFAULT_ENCODINGS).includes('latin1');
  return latin1 && fitsLatin1(text) ? 'latin1' : 'ucs2';
}

/** GSM text goes as GSM when the carrier allows gsm7; otherwise see nonGsmEncoding. */
export function selectEncoding(text: string, opts: EncodingChoice): EncodingName {
  return gsmAllowed(opts) && gsmLength(text) >= 0 ? 'gsm7' : nonGsmEncoding(text, opts);
}
