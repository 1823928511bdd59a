/**
 * ISO-8859-1 (data_coding 3) and 7-bit ASCII (IA5, data_coding 1 or a carrier's 0): one
 * octet per character, so a part holds 140 octets of user data less any UDH.
 */

/** Whether every character is in ISO-8859-1 (U+0000..U+00FF). */
export function fitsLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Octets of a Latin-1 text; callers check fitsLatin1 first (Node would truncate). */
export function encodeLatin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function decodeLatin1(octets: Uint8Array): string {
  return Buffer.from(octets.buffer, octets.byteOffset, octets.byteLength).toString('latin1');
}

/** ASCII: octets above 0x7F are not IA5 and read as U+FFFD rather than failing the MO. */
export function decodeAscii(octets: Uint8Array): string {
  let s = '';
  for (let i = 0; i < octets.length; i++) {
    const b = octets[i]!;
    s += b < 0x80 ? String.fromCharCode(b) : '\ufffd';
  }
  return s;
}
