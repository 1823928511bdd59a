/**
 * UCS-2 as SMPP carriers mean it in practice: UTF-16BE (data_coding 8). Characters outside
 * the BMP travel as surrogate pairs, which modern handsets join; the segmenter only has to
 * keep a pair inside one part.
 */

/** UTF-16BE octets of the text, unit for unit (lone surrogates are kept, not replaced). */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** Text of UTF-16BE octets; an odd trailing octet (a broken PDU) reads as U+FFFD. */
export function decodeUcs2(octets: Uint8Array): string {
  const even = octets.length & ~1;
  const swapped = Buffer.from(octets.subarray(0, even)).swap16();
  return swapped.toString('utf16le') + (even < octets.length ? '\ufffd' : '');
}

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** True when cutting the text before index `i` would separate a surrogate pair. */
export function splitsPair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHighSurrogate(text.charCodeAt(i - 1)) && isLowSurrogate(text.charCodeAt(i));
}
