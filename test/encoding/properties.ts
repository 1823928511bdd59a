/**
 * Property tests (fast-check): for random Unicode and random GSM texts, in every
 * segmentation mode, packed and unpacked, decoding and reassembling the parts gives the
 * text back, and every part keeps to the SPEC 6 limits. The limits are restated here
 * from the spec, not imported from the code under test.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import type { WirePart } from '../../src/carriers/connector.js';
import type { EncodingName, SegmentationMode } from '../../src/domain/types.js';
import { Reassembler, countSegments, decodeIncoming, segmentText, type SegmentOptions } from '../../src/encoding/index.js';

/** Per part: [single, udh8, udh16, sar] in septets / UTF-16 units / octets (SPEC 6). */
const LIMITS: Record<EncodingName, Record<'single' | Exclude<SegmentationMode, 'payload'>, number>> = {
  gsm7: { single: 160, udh8: 153, udh16: 152, sar: 153 },
  ucs2: { single: 70, udh8: 67, udh16: 66, sar: 67 },
  latin1: { single: 140, udh8: 134, udh16: 133, sar: 134 },
};
const UDH_LEN = { udh8: 6, udh16: 7 } as const;

const GSM_BASIC = [
  ...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
];
const GSM_EXT = [...'\f^{}\\[~]|€'];

// GSM texts rich in the characters that make boundaries hard: escapes and CR.
const gsmChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...GSM_BASIC) },
  { weight: 2, arbitrary: fc.constantFrom(...GSM_EXT) },
  { weight: 1, arbitrary: fc.constant('\r') },
);
// size 'max': lengths spread over the whole range, so most texts need several parts.
const gsmText = fc.string({ unit: gsmChar, maxLength: 700, size: 'max' });
const cp = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((c) => String.fromCodePoint(c));
const unicodeChar = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: cp(0x4e00, 0x9fff) }, // CJK
  { weight: 2, arbitrary: cp(0x1f300, 0x1faff) }, // emoji (surrogate pairs)
  { weight: 1, arbitrary: cp(0x20000, 0x2a6df) }, // CJK extension B (surrogate pairs)
  { weight: 2, arbitrary: cp(0xa0, 0xff) }, // Latin-1
  { weight: 2, arbitrary: gsmChar },
);
const unicodeText = fc.string({ unit: unicodeChar, maxLength: 400, size: 'max' });

const optsArb = fc.record({
  segmentation: fc.constantFrom<SegmentationMode>('udh8', 'udh16', 'sar', 'payload'),
  packGsm7: fc.boolean(),
  forceUcs2: fc.boolean(),
  encodings: fc.constantFrom<readonly EncodingName[]>(['gsm7', 'ucs2'], ['gsm7', 'ucs2', 'latin1'], ['ucs2'], ['latin1', 'ucs2']),
  reference: fc.integer({ min: -1_000_000, max: 1_000_000 }),
});

const EXT = new Set(GSM_EXT);

/**
 * The one case where the text cannot come back unchanged: packed GSM sent as a single
 * part (no UDH) that ends in CR exactly on an octet boundary. A single CR there is the
 * padding of TS 23.038 6.1.2.3.1, so the text goes as CR CR, which that clause defines as
 * meaning the same, and the receiver sees one CR more.
 */
function expectedBack(text: string, o: SegmentOptions, encoding: EncodingName, parts: WirePart[]): string {
  const unhea = parts.length === 1 && parts[0]!.esmClass === 0 && !parts[0]!.sar;
  if (encoding !== 'gsm7' || !o.packGsm7 || !unhea || !text.endsWith('\r')) return text;
  let septets = 0;
  for (const ch of text) septets += EXT.has(ch) ? 2 : 1;
  return (7 * septets) % 8 === 0 ? `${text}\r` : text;
}

function roundTrip(text: string, o: SegmentOptions): string | undefined {
  const { parts } = segmentText(text, o);
  const charsets = o.packGsm7 ? { '0': 'gsm7_packed' as const } : undefined;
  const r = new Reassembler({ timeoutMs: 1, max: 300, now: () => 0 });
  let out: string | undefined;
  // Deliver in reverse, the worst order.
  for (const p of [...parts].reverse()) {
    const d = decodeIncoming(p, charsets);
    if (!d.concat) out = d.text;
    else {
      const res = r.add('src>dst', d.concat, d.text);
      if (res.complete) out = res.text;
    }
  }
  return out;
}

const wrap = (n: number, m: number): number => ((n % m) + m) % m;

/** Checks every part of one text against the SPEC 6 limits, UDH and SAR fields included. */
function checkLimits(t: Test, text: string, o: SegmentOptions): void {
  const { encoding, dataCoding, parts } = segmentText(text, o);
  const { reference: _r, ...countOpts } = o;
  t.equal(countSegments(text, countOpts).segments, parts.length);
  t.equal(dataCoding, { gsm7: 0, latin1: 3, ucs2: 8 }[encoding]);
  t.ok(parts.length >= 1 && parts.length <= 255);
  if (o.segmentation === 'payload') {
    t.equal(parts.length, 1);
    t.equal(parts[0]!.shortMessage.length, 0);
    t.ok(parts[0]!.messagePayload);
    return;
  }
  const single = parts.length === 1;
  const packed = encoding === 'gsm7' && o.packGsm7 === true;
  parts.forEach((p, i) => {
    t.equal(p.dataCoding, dataCoding);
    let body = p.shortMessage;
    if (single) {
      t.equal(p.esmClass, 0, 'no UDHI without a UDH');
      t.equal(p.sar, undefined);
    } else if (o.segmentation === 'sar') {
      t.equal(p.esmClass, 0, 'no UDHI in SAR mode');
      t.same(p.sar, { msgRefNum: wrap(o.reference, 65536), totalSegments: parts.length, segmentSeqnum: i + 1 });
    } else {
      t.equal(p.esmClass, 0x40, 'UDHI with a UDH');
      const ref = wrap(o.reference, o.segmentation === 'udh8' ? 256 : 65536);
      const udh =
        o.segmentation === 'udh8'
          ? [5, 0, 3, ref, parts.length, i + 1]
          : [6, 8, 4, ref >> 8, ref & 0xff, parts.length, i + 1];
      t.same([...p.shortMessage.subarray(0, udh.length)], udh);
      body = p.shortMessage.subarray(UDH_LEN[o.segmentation as 'udh8' | 'udh16']);
    }
    const limit = LIMITS[encoding][single ? 'single' : (o.segmentation as 'udh8' | 'udh16' | 'sar')];
    if (packed) {
      t.ok(p.shortMessage.length <= 140, `packed UD ${p.shortMessage.length} <= 140 octets`);
    } else if (encoding === 'gsm7') {
      t.ok(body.length <= limit, `${body.length} septets <= ${limit}`);
      t.ok(body.every((b) => b < 0x80), 'septets only');
      t.not(body[body.length - 1], 0x1b, 'no escape split');
    } else if (encoding === 'ucs2') {
      t.equal(body.length % 2, 0);
      t.ok(body.length / 2 <= limit, `${body.length / 2} units <= ${limit}`);
      t.ok(p.shortMessage.length <= 140, 'UCS-2 part plus UDH within 140 octets');
      if (body.length > 0) {
        const last = body.readUInt16BE(body.length - 2);
        t.notOk(last >= 0xd800 && last <= 0xdbff, 'no surrogate pair split');
      }
    } else {
      t.ok(body.length <= limit, `${body.length} octets <= ${limit}`);
    }
  });
}


t.test('random Unicode texts come back exactly, in every mode', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(unicodeText, optsArb, (text, o) => {
      const { encoding, parts } = segmentText(text, o);
      return roundTrip(text, o) === expectedBack(text, o, encoding, parts);
    }),
    { numRuns: 400 },
  ),
  '400 runs come back exactly');
});

t.test('random GSM texts come back exactly, packed and unpacked, in every mode', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(gsmText, optsArb, (text, o) => {
      const opts = { ...o, forceUcs2: false, encodings: ['gsm7', 'ucs2'] as const };
      const { encoding, parts } = segmentText(text, opts);
      if (encoding !== 'gsm7') return false;
      return roundTrip(text, opts) === expectedBack(text, opts, encoding, parts);
    }),
    { numRuns: 600 },
  ),
  '600 runs come back exactly');
});

t.test('every part keeps to the limits (Unicode and GSM texts)', async (t) => {
  const samples = [
    ...fc.sample(fc.tuple(unicodeText, optsArb), { numRuns: 150, seed: 42 }),
    ...fc.sample(fc.tuple(gsmText, optsArb), { numRuns: 150, seed: 43 }),
  ];
  for (const [text, o] of samples) checkLimits(t, text, o);
});
