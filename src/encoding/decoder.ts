/**
 * Incoming user data → text (SPEC 7): which charset a data_coding means (per carrier,
 * since Chinese bridges reuse 0 for ASCII and 15 for GB18030), the UDH or SAR
 * concatenation info, and the decoding itself, fill bits included for packed GSM.
 */
import { TextDecoder } from 'node:util';
import { XingeError } from '../domain/errors.js';
import { fromSeptets, unpackSeptets } from './gsm7.js';
import { decodeAscii, decodeLatin1 } from './latin1.js';
import { ESM_UDHI, fillBitsAfter, parseUdh, type ConcatInfo } from './udh.js';
import { decodeUcs2 } from './ucs2.js';

export type CharsetName = 'gsm7' | 'gsm7_packed' | 'ascii' | 'latin1' | 'ucs2' | 'gb18030' | 'binary';
/** A carrier's overrides: data_coding (decimal string) → charset. */
export type CharsetMap = Readonly<Record<string, CharsetName>>;

/**
 * SMPP 3.4 table 5-3 for 0x00-0x0F: 0 SMSC default (GSM, unpacked on SMPP), 1 IA5,
 * 2 and 4 octets, 3 Latin-1, 8 UCS-2. The other values of that range (JIS, Cyrillic,
 * Hebrew, pictograms, KS C 5601, reserved) have no charset here and read as binary (hex)
 * so that nothing is lost; a carrier that means something else maps it.
 */
const SMPP_CHARSETS: readonly CharsetName[] = [
  'gsm7', 'ascii', 'binary', 'latin1', 'binary', 'binary', 'binary', 'binary',
  'ucs2', 'binary', 'binary', 'binary', 'binary', 'binary', 'binary', 'binary',
];

/** GSM TS 23.038 alphabet bits (00 GSM, 01 8-bit, 10 UCS-2, 11 reserved = GSM). */
function alphabet(bits: number): CharsetName {
  return bits === 1 ? 'binary' : bits === 2 ? 'ucs2' : 'gsm7';
}

/**
 * The charset a data_coding means: the carrier's map first, then SMPP's table for
 * 0x00-0x0F, then the TS 23.038 coding groups for the rest: 00xx/01xx general (bit 5 =
 * compressed, which we cannot undo → binary; bits 3-2 alphabet), 1000-1011 reserved
 * (TS 23.038 4: assume GSM), 1100/1101 message waiting GSM, 1110 message waiting UCS-2,
 * 1111 data coding/message class (bit 2: 8-bit data, else GSM).
 */
export function resolveCharset(dataCoding: number, charsets?: CharsetMap): CharsetName {
  const mapped = charsets?.[String(dataCoding)];
  if (mapped) return mapped;
  const dc = dataCoding & 0xff;
  if (dc < 0x10) return SMPP_CHARSETS[dc]!;
  if (dc < 0x80) return dc & 0x20 ? 'binary' : alphabet((dc >> 2) & 3);
  if (dc < 0xe0) return 'gsm7'; // reserved groups and message waiting (discard/store)
  if (dc < 0xf0) return 'ucs2';
  return dc & 0x04 ? 'binary' : 'gsm7';
}

let gb18030: TextDecoder | undefined;

/**
 * Decodes user data (no UDH) in a charset. `fillBits` only matters to packed GSM behind a
 * UDH. Never throws on content: bad octets read as U+FFFD, binary as lowercase hex.
 */
export function decodeWith(bytes: Uint8Array, charset: CharsetName, fillBits = 0): string {
  switch (charset) {
    case 'gsm7':
      return fromSeptets(bytes);
    case 'gsm7_packed':
      return fromSeptets(unpackSeptets(bytes, fillBits));
    case 'ascii':
      return decodeAscii(bytes);
    case 'latin1':
      return decodeLatin1(bytes);
    case 'ucs2':
      return decodeUcs2(bytes);
    case 'gb18030':
      // WHATWG gb18030 (Node's full ICU): a superset of GBK and GB2312, 4-octet forms too.
      gb18030 ??= new TextDecoder('gb18030');
      return gb18030.decode(bytes);
    case 'binary':
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  }
}

/** Text of user data without a UDH, in the charset its data_coding means for a carrier. */
export function decodeText(bytes: Buffer, dataCoding: number, charsets?: CharsetMap): string {
  return decodeWith(bytes, resolveCharset(dataCoding, charsets));
}

export interface IncomingUserData {
  shortMessage: Buffer;
  esmClass: number;
  dataCoding: number;
  messagePayload?: Buffer;
  sar?: { msgRefNum: number; totalSegments: number; segmentSeqnum: number };
}

/**
 * Text and concatenation info of a deliver_sm. The user data is message_payload when
 * present and non-empty (SMPP forbids both), else short_message; with UDHI set it starts
 * with a UDH. Concatenation comes from the UDH, else from the SAR TLVs. Throws
 * XingeError('decode_error') only for a structurally broken UDH.
 */
export function decodeIncoming(msg: IncomingUserData, charsets?: CharsetMap): { text: string; concat?: ConcatInfo } {
  const data = msg.messagePayload && msg.messagePayload.length > 0 ? msg.messagePayload : msg.shortMessage;
  const charset = resolveCharset(msg.dataCoding, charsets);
  let concat: ConcatInfo | undefined;
  let body: Buffer = data;
  let fillBits = 0;
  if (msg.esmClass & ESM_UDHI) {
    const udh = parseUdh(data);
    concat = udh.concat;
    body = data.subarray(udh.headerLength);
    // Packed septets behind a UDH start at the next septet boundary of the whole UD.
    fillBits = fillBitsAfter(udh.headerLength);
  }
  if (!concat && msg.sar) concat = fromSar(msg.sar);
  const text = decodeWith(body, charset, fillBits);
  return concat ? { text, concat } : { text };
}

function fromSar(sar: NonNullable<IncomingUserData['sar']>): ConcatInfo | undefined {
  const { msgRefNum, totalSegments: total, segmentSeqnum: seq } = sar;
  if (!Number.isInteger(msgRefNum) || msgRefNum < 0 || msgRefNum > 0xffff) {
    throw new XingeError('decode_error', `sar_msg_ref_num out of range: ${msgRefNum}`);
  }
  // Same rule as a UDH element: an impossible count or sequence is ignored, not joined.
  if (!(total >= 1 && seq >= 1 && seq <= total)) return undefined;
  return { ref: msgRefNum, total, seq, refBits: 16 };
}
