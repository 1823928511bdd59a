/**
 * User Data Header (3GPP TS 23.040 9.2.3.24): a length octet (UDHL) then information
 * elements (IEI, IEL, data). Only the two concatenation elements matter to us:
 *   IEI 0x00, 8-bit reference:  05 00 03 ref total seq        (6 octets)
 *   IEI 0x08, 16-bit reference: 06 08 04 refHi refLo total seq (7 octets)
 * Everything else (0x24/0x25 national language shift tables, ports, unknown IEIs) is
 * skipped by its length so that a concatenation element behind it is still found.
 */
import { XingeError } from '../domain/errors.js';

export interface ConcatInfo {
  ref: number;
  total: number;
  seq: number;
  refBits: 8 | 16;
}

export const IEI_CONCAT_8 = 0x00;
export const IEI_CONCAT_16 = 0x08;
/** esm_class bit saying the user data starts with a UDH (SMPP 3.4 5.2.12). */
export const ESM_UDHI = 0x40;

export function buildUdh8(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, IEI_CONCAT_8, 0x03, ref & 0xff, total, seq]);
}

export function buildUdh16(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x06, IEI_CONCAT_16, 0x04, (ref >> 8) & 0xff, ref & 0xff, total, seq]);
}

/**
 * Fill bits between a UDH of `headerLength` octets (UDHL included) and the first septet
 * of packed GSM text, so that the text starts on a septet boundary (TS 23.040 9.2.3.24).
 */
export function fillBitsAfter(headerLength: number): number {
  return (7 - ((headerLength * 8) % 7)) % 7;
}

/**
 * Reads the UDH at the start of `userData`. A header longer than the data, or an element
 * running past the header, is a broken PDU and throws (code decode_error). A concatenation
 * element with total 0, seq 0 or seq > total is ignored as TS 23.040 9.2.3.24.1 requires;
 * when the element repeats, the last one counts.
 */
export function parseUdh(userData: Buffer): { concat?: ConcatInfo; headerLength: number } {
  if (userData.length < 1) throw new XingeError('decode_error', 'UDHI set but user data is empty');
  const headerLength = userData[0]! + 1;
  if (headerLength > userData.length) {
    throw new XingeError('decode_error', `UDH length ${headerLength} exceeds user data length ${userData.length}`);
  }
  let concat: ConcatInfo | undefined;
  let i = 1;
  while (i < headerLength) {
    if (i + 2 > headerLength) throw new XingeError('decode_error', 'truncated UDH information element');
    const iei = userData[i]!;
    const iel = userData[i + 1]!;
    const start = i + 2;
    if (start + iel > headerLength) throw new XingeError('decode_error', `UDH element 0x${iei.toString(16)} overruns the header`);
    const found = readConcat(iei, userData.subarray(start, start + iel));
    if (found) concat = found;
    i = start + iel;
  }
  return concat ? { concat, headerLength } : { headerLength };
}

function readConcat(iei: number, data: Buffer): ConcatInfo | undefined {
  let info: ConcatInfo;
  if (iei === IEI_CONCAT_8 && data.length === 3) {
    info = { ref: data[0]!, total: data[1]!, seq: data[2]!, refBits: 8 };
  } else if (iei === IEI_CONCAT_16 && data.length === 4) {
    info = { ref: data.readUInt16BE(0), total: data[2]!, seq: data[3]!, refBits: 16 };
  } else return undefined;
  return info.total >= 1 && info.seq >= 1 && info.seq <= info.total ? info : undefined;
}
