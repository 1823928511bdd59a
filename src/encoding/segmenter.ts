/**
 * Text → wire parts (SPEC 6): choose the alphabet, cut at the part sizes without
 * splitting a surrogate pair or a GSM escape, and wrap each part in a UDH (udh8/udh16),
 * SAR TLV values (sar) or message_payload (payload). Pure: the caller supplies the
 * concatenation reference (a persisted per-carrier counter) and gets buffers back.
 */
import type { WirePart } from '../carriers/connector.js';
import { XingeError } from '../domain/errors.js';
import type { EncodingName, SegmentationMode } from '../domain/types.js';
import { CR, ESC, gsmLength, packSeptets, toSeptets } from './gsm7.js';
import { encodeLatin1 } from './latin1.js';
import { DATA_CODING, gsmAllowed, nonGsmEncoding } from './select.js';
import { MAX_PARTS, PART_SIZES, planCuts, type BadEnd } from './split.js';
import { ESM_UDHI, buildUdh16, buildUdh8, fillBitsAfter } from './udh.js';
import { encodeUcs2, splitsPair } from './ucs2.js';

export interface SegmentOptions {
  segmentation: SegmentationMode;
  /** The carrier's allowed list; default ['gsm7', 'ucs2']. */
  encodings?: readonly EncodingName[];
  forceUcs2?: boolean;
  /** Pack GSM septets as on the air (default false: one septet per octet). */
  packGsm7?: boolean;
  /** Concatenation reference; wrapped to 8 bits (udh8) or 16 bits (udh16, sar). */
  reference: number;
  /**
   * Part ends (UTF-16 units of the text) as a client cut them (SMPP server intake: the parts
   * go on as they came). Used when there are two or more and every part fits and ends well
   * in the chosen encoding; otherwise the text is cut as usual.
   */
  cuts?: readonly number[] | undefined;
}

export interface SegmentedText {
  encoding: EncodingName;
  dataCoding: number;
  parts: WirePart[];
}

interface Plan {
  encoding: EncodingName;
  septets: Uint8Array | null;
  /** Part ends in units; null = one part with no concatenation (single or payload). */
  cuts: number[] | null;
  /** Packed single part ending in CR on an octet boundary: send CR CR (TS 23.038 6.1.2.3.1). */
  doubleCr: boolean;
}

/** Packed GSM part whose last septet is a CR that fills its last octet exactly. */
function crOnBoundary(s: Uint8Array, start: number, end: number, fillBits: number): boolean {
  return end > start && s[end - 1] === CR && (fillBits + 7 * (end - start)) % 8 === 0;
}

function badEndFor(text: string, septets: Uint8Array | null, packed: boolean, fillBits: number): BadEnd {
  if (!septets) return (_start, end) => splitsPair(text, end);
  const s = septets;
  // toSeptets emits ESC only as the first half of an escape pair, so a part ending in
  // ESC is the only way to split one.
  return (start, end) => s[end - 1] === ESC || (packed && crOnBoundary(s, start, end, fillBits));
}

function plan(text: string, opts: Omit<SegmentOptions, 'reference'>): Plan {
  // One pass over the text both decides GSM and yields its septets.
  const septets = gsmAllowed(opts) ? toSeptets(text) : null;
  const encoding: EncodingName = septets ? 'gsm7' : nonGsmEncoding(text, opts);
  const length = septets ? septets.length : text.length;
  const packed = septets !== null && opts.packGsm7 === true;
  const sizes = PART_SIZES[encoding];
  if (opts.cuts !== undefined && opts.cuts.length > 1 && opts.segmentation !== 'payload') {
    const mode = opts.segmentation;
    const fillBits = mode === 'udh8' ? fillBitsAfter(6) : mode === 'udh16' ? fillBitsAfter(7) : 0;
    const kept = keptCuts(text, opts.cuts, septets, length, sizes[mode], badEndFor(text, septets, packed, fillBits));
    if (kept !== undefined) return { encoding, septets, cuts: kept, doubleCr: false };
  }
  // Doubling a final CR needs one spare septet; a full 160-septet part is cut instead.
  const doubleCr = packed && septets !== null && crOnBoundary(septets, 0, length, 0);
  if (opts.segmentation === 'payload' || (length <= sizes.single && !(doubleCr && length === sizes.single))) {
    return { encoding, septets, cuts: null, doubleCr };
  }
  const mode = opts.segmentation;
  const fillBits = mode === 'udh8' ? fillBitsAfter(6) : mode === 'udh16' ? fillBitsAfter(7) : 0;
  const cuts = planCuts(length, sizes[mode], badEndFor(text, septets, packed, fillBits));
  return { encoding, septets, cuts, doubleCr: false };
}

/** A client's cuts in the encoding's units, or undefined if a part would not fit or would end badly. */
function keptCuts(text: string, cuts: readonly number[], septets: Uint8Array | null, length: number, limit: number, bad: BadEnd): number[] | undefined {
  if (cuts[cuts.length - 1] !== text.length) return undefined;
  const units = septets ? cuts.map((c) => gsmLength(text.slice(0, c))) : [...cuts];
  let start = 0;
  for (const end of units) {
    if (end <= start || end - start > limit || bad(start, end)) return undefined;
    start = end;
  }
  return start === length ? units : undefined;
}

/** Parts this text would be sent in, without building any PDU buffer. */
export function countSegments(
  text: string,
  opts: Omit<SegmentOptions, 'reference'>,
): { encoding: EncodingName; segments: number } {
  const p = plan(text, opts);
  return { encoding: p.encoding, segments: p.cuts ? p.cuts.length : 1 };
}

/**
 * Encodes units [start, end) of the planned text as user data octets, behind `headroom`
 * octets left for the caller's UDH (one allocation and one copy per part).
 */
type BodyWriter = (start: number, end: number, fillBits: number, headroom: number) => Buffer;

function bodyWriter(text: string, p: Plan, packed: boolean): BodyWriter {
  if (p.septets) {
    const s = p.septets;
    return (start, end, fillBits, headroom) => {
      let part = s.subarray(start, end);
      if (p.doubleCr) part = Uint8Array.from([...part, CR]);
      const body = packed ? packSeptets(part, fillBits) : part;
      const out = Buffer.allocUnsafe(headroom + body.length);
      out.set(body, headroom);
      return out;
    };
  }
  const all = p.encoding === 'ucs2' ? encodeUcs2(text) : encodeLatin1(text);
  const width = p.encoding === 'ucs2' ? 2 : 1;
  return (start, end, _fillBits, headroom) => {
    const out = Buffer.allocUnsafe(headroom + (end - start) * width);
    all.copy(out, headroom, start * width, end * width);
    return out;
  };
}

export function segmentText(text: string, opts: SegmentOptions): SegmentedText {
  if (!Number.isSafeInteger(opts.reference)) throw new RangeError(`reference must be an integer, got ${opts.reference}`);
  const p = plan(text, opts);
  const dataCoding = DATA_CODING[p.encoding];
  const packed = p.septets !== null && opts.packGsm7 === true;
  const write = bodyWriter(text, p, packed);
  const length = p.septets ? p.septets.length : text.length;
  if (!p.cuts) {
    const body = write(0, length, 0, 0);
    // message_payload's TLV length is 16 bits; no single PDU can carry more.
    if (body.length > MAX_PAYLOAD) throw new XingeError('text_too_long', `text needs ${body.length} octets; message_payload holds ${MAX_PAYLOAD}`);
    const part: WirePart =
      opts.segmentation === 'payload'
        ? { shortMessage: Buffer.alloc(0), esmClass: 0, dataCoding, messagePayload: body }
        : { shortMessage: body, esmClass: 0, dataCoding };
    return { encoding: p.encoding, dataCoding, parts: [part] };
  }
  const total = p.cuts.length;
  if (total > MAX_PARTS) throw new XingeError('text_too_long', `text needs ${total} parts; at most ${MAX_PARTS} can be joined`);
  const parts: WirePart[] = [];
  let start = 0;
  for (let i = 0; i < total; i++) {
    const end = p.cuts[i]!;
    parts.push(wrap(opts, write, start, end, total, i + 1, dataCoding));
    start = end;
  }
  return { encoding: p.encoding, dataCoding, parts };
}

/** Largest message_payload value (SMPP 3.4 5.3.2.32: 16-bit TLV length). */
const MAX_PAYLOAD = 0xffff;

const wrap8 = (n: number): number => ((n % 0x100) + 0x100) % 0x100;
const wrap16 = (n: number): number => ((n % 0x10000) + 0x10000) % 0x10000;

function wrap(
  opts: SegmentOptions,
  write: BodyWriter,
  start: number,
  end: number,
  total: number,
  seq: number,
  dataCoding: number,
): WirePart {
  if (opts.segmentation === 'sar') {
    const sar = { msgRefNum: wrap16(opts.reference), totalSegments: total, segmentSeqnum: seq };
    return { shortMessage: write(start, end, 0, 0), esmClass: 0, dataCoding, sar };
  }
  const udh =
    opts.segmentation === 'udh8' ? buildUdh8(wrap8(opts.reference), total, seq) : buildUdh16(wrap16(opts.reference), total, seq);
  const shortMessage = write(start, end, fillBitsAfter(udh.length), udh.length);
  udh.copy(shortMessage, 0);
  return { shortMessage, esmClass: ESM_UDHI, dataCoding };
}
