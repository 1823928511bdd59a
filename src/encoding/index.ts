/**
 * The codec (SPEC 6 and the decoding half of SPEC 7): pure functions, no I/O.
 * Outbound: segmentText / countSegments. Inbound: decodeIncoming, decodeText, parseUdh,
 * and Reassembler for concatenated replies.
 */
export { segmentText, countSegments, type SegmentOptions, type SegmentedText } from './segmenter.js';
export { selectEncoding, DATA_CODING, DEFAULT_ENCODINGS } from './select.js';
export { PART_SIZES, MAX_PARTS } from './split.js';
export {
  decodeText,
  decodeIncoming,
  decodeWith,
  resolveCharset,
  type CharsetName,
  type CharsetMap,
  type IncomingUserData,
} from './decoder.js';
export { parseUdh, buildUdh8, buildUdh16, fillBitsAfter, ESM_UDHI, type ConcatInfo } from './udh.js';
export { Reassembler, type ReassemblerOptions, type AddResult, type PartialMessage } from './reassembler.js';
export { gsmLength, toSeptets, fromSeptets, packSeptets, unpackSeptets } from './gsm7.js';
export { encodeUcs2, decodeUcs2 } from './ucs2.js';
