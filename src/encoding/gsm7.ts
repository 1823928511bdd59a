/**
 * GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.
 *
 * On the SMPP wire, data_coding 0 is normally carried *unpacked*: one septet value per
 * octet. Some SMSCs want the air format instead: septets packed LSB-first into octets
 * (TS 23.038 6.1.2.1.1), optionally after fill bits that align the first septet on a
 * septet boundary behind a UDH (TS 23.040 9.2.3.24). Both forms are here, pure.
 */

/** Escape to the extension table; it is not a character of its own. */
export const ESC = 0x1b;
/** Carriage return, also the padding septet of packed text (TS 23.038 6.1.2.3.1). */
export const CR = 0x0d;

/** Default alphabet indexed by septet value; index 0x1B (ESC) is never used as a char. */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ' +
  ' !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** Extension table (septet after ESC → character); every other code is unassigned. */
const EXTENSION: ReadonlyArray<readonly [number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

/** Highest UTF-16 unit in either table (€, U+20AC); anything above is not GSM. */
const MAX_UNIT = 0x20ac;
/** Unit → septet (0..127), 0x100|septet for an extension char, -1 when not in GSM. */
const ENCODE = new Int16Array(MAX_UNIT + 1).fill(-1);
for (let i = 0; i < 128; i++) if (i !== ESC) ENCODE[BASIC.charCodeAt(i)] = i;
for (const [code, ch] of EXTENSION) ENCODE[ch.charCodeAt(0)] = 0x100 | code;

const DECODE_EXT = new Map<number, string>(EXTENSION);

function lookup(unit: number): number {
  return unit <= MAX_UNIT ? ENCODE[unit]! : -1;
}

/**
 * Septets the text costs (an extension character costs two: ESC + code), or -1 when a
 * character is outside the default alphabet and its extension table.
 */
export function gsmLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const v = lookup(text.charCodeAt(i));
    if (v < 0) return -1;
    n += v > 0xff ? 2 : 1;
  }
  return n;
}

/** Septet values of the text, ESC-prefixed for extension characters; null if not GSM. */
export function toSeptets(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const v = lookup(text.charCodeAt(i));
    if (v < 0) return null;
    if (v > 0xff) {
      out[n++] = ESC;
      out[n++] = v & 0x7f;
    } else out[n++] = v;
  }
  return out.subarray(0, n);
}

/**
 * Text of a septet sequence. An ESC before an unassigned code shows the default-table
 * character (TS 23.038 6.2.1.1 note); ESC ESC shows a space (reserved for a further
 * table); a trailing lone ESC shows nothing. Values above 0x7F (not valid unpacked GSM)
 * are read modulo 128 rather than rejected: an MO must still be delivered.
 */
export function fromSeptets(septets: Uint8Array): string {
  let s = '';
  for (let i = 0; i < septets.length; i++) {
    const v = septets[i]! & 0x7f;
    if (v !== ESC) {
      s += BASIC[v];
      continue;
    }
    if (++i >= septets.length) break;
    const x = septets[i]! & 0x7f;
    s += x === ESC ? ' ' : (DECODE_EXT.get(x) ?? BASIC[x]);
  }
  return s;
}

/** Octets taken by `count` septets packed after `fillBits` fill bits. */
export function packedLength(count: number, fillBits: number): number {
  return Math.ceil((fillBits + 7 * count) / 8);
}

/**
 * Packs septets LSB-first after `fillBits` zero bits (TS 23.038 6.1.2.1.1). When the last
 * octet would carry seven spare bits, a receiver would read a phantom '@' (septet 0), so
 * those bits hold CR instead (TS 23.038 6.1.2.3.1); unpackSeptets strips it again.
 */
export function packSeptets(septets: Uint8Array, fillBits = 0): Buffer {
  const bits = fillBits + 7 * septets.length;
  const pad = bits % 8 === 1;
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let bit = fillBits;
  const write = (v: number): void => {
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte]! |= (v << shift) & 0xff;
    if (shift > 1 && byte + 1 < out.length) out[byte + 1]! |= v >> (8 - shift);
    bit += 7;
  };
  for (let i = 0; i < septets.length; i++) write(septets[i]! & 0x7f);
  if (pad) write(CR);
  return out;
}

/**
 * Unpacks septets that start `fillBits` into the buffer. A CR that ends exactly on the
 * last octet boundary is the padding of packSeptets and is dropped; the segmenter never
 * lets a part end in a genuine CR there (or doubles it, as TS 23.038 allows, for one part).
 */
export function unpackSeptets(octets: Uint8Array, fillBits = 0): Uint8Array {
  const avail = octets.length * 8 - fillBits;
  if (avail <= 0) return new Uint8Array(0);
  let count = Math.floor(avail / 7);
  const out = new Uint8Array(count);
  for (let i = 0, bit = fillBits; i < count; i++, bit += 7) {
    const byte = bit >> 3;
    const shift = bit & 7;
    let v = octets[byte]! >> shift;
    if (shift > 1) v |= octets[byte + 1]! << (8 - shift);
    out[i] = v & 0x7f;
  }
  if (avail % 7 === 0 && count > 0 && out[count - 1] === CR) count--;
  return out.subarray(0, count);
}
