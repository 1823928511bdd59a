/**
 * Encoding choice and segmenter behaviour beyond the byte vectors in vectors.ts. Where a
 * test states bytes, the comment shows how they were worked out by hand.
 */
import t from 'tap';
import { XingeError } from '../../src/domain/errors.js';
import type { EncodingName } from '../../src/domain/types.js';
import { countSegments, decodeIncoming, segmentText, selectEncoding } from '../../src/encoding/index.js';

t.test('encoding selection', async (t) => {
  const L1: readonly EncodingName[] = ['gsm7', 'ucs2', 'latin1'];
  const cases: Array<[string, string, Parameters<typeof selectEncoding>[1], EncodingName]> = [
    ['GSM text', 'Your code is 1234', {}, 'gsm7'],
    ['extension table is still GSM', 'Pay €50 [now]', {}, 'gsm7'],
    ['é è ù ì ò are GSM', 'café è ù', {}, 'gsm7'],
    ['Chinese', '您好', {}, 'ucs2'],
    ['ç is not GSM; default list has no latin1', 'façade', {}, 'ucs2'],
    ['ç with latin1 allowed', 'façade', { encodings: L1 }, 'latin1'],
    ['GSM text stays GSM even with latin1 allowed', 'cafe', { encodings: L1 }, 'gsm7'],
    ['latin1 allowed but text is not Latin-1', 'façade 您', { encodings: L1 }, 'ucs2'],
    ['forced UCS-2', 'hello', { forceUcs2: true }, 'ucs2'],
    ['forced UCS-2 beats latin1', 'façade', { encodings: L1, forceUcs2: true }, 'ucs2'],
    ['carrier without gsm7 sends UCS-2', 'hello', { encodings: ['ucs2'] }, 'ucs2'],
    ['carrier without gsm7 but with latin1: Latin-1 fits', 'hello', { encodings: ['latin1', 'ucs2'] }, 'latin1'],
    ['gsm7-only carrier: non-GSM text still needs UCS-2', '您好', { encodings: ['gsm7'] }, 'ucs2'],
    ['ESC itself is not a GSM character', 'a\u001bb', {}, 'ucs2'],
  ];
  for (const [name, text, opts, enc] of cases) t.equal(selectEncoding(text, opts), enc, name);
});

t.test('GSM is data_coding 0, never IA5 (1); UCS-2 is 8; Latin-1 is 3', async (t) => {
  t.equal(segmentText('hello', { segmentation: 'udh8', reference: 1 }).dataCoding, 0);
  t.equal(segmentText('您好', { segmentation: 'udh8', reference: 1 }).dataCoding, 8);
  t.equal(segmentText('ç', { segmentation: 'udh8', reference: 1, encodings: ['latin1'] }).dataCoding, 3);
  for (const p of segmentText('x'.repeat(500), { segmentation: 'udh16', reference: 1 }).parts) t.equal(p.dataCoding, 0);
});

t.test('UDHI is set exactly when a UDH is present', async (t) => {
  const long = 'x'.repeat(200);
  for (const segmentation of ['udh8', 'udh16'] as const) {
    t.equal(segmentText('short', { segmentation, reference: 1 }).parts[0]!.esmClass, 0, `${segmentation} single`);
    for (const p of segmentText(long, { segmentation, reference: 1 }).parts) t.equal(p.esmClass, 0x40, `${segmentation} multi`);
  }
  for (const p of segmentText(long, { segmentation: 'sar', reference: 1 }).parts) {
    t.equal(p.esmClass, 0, 'sar has no UDH');
    t.ok(p.sar);
  }
  const single = segmentText('short', { segmentation: 'sar', reference: 1 }).parts[0]!;
  t.equal(single.sar, undefined, 'a single SAR-mode part has no SAR TLVs');
});

t.test('payload mode: a 300-character Chinese text is one part in message_payload', async (t) => {
  const text = '尊敬的客户您好您本期账单已逾期请及时还款'.repeat(15);
  t.equal(text.length, 300);
  const r = segmentText(text, { segmentation: 'payload', reference: 9 });
  t.equal(r.parts.length, 1);
  const p = r.parts[0]!;
  t.equal(p.shortMessage.length, 0, 'sm_length 0');
  t.equal(p.esmClass, 0);
  t.equal(p.dataCoding, 8);
  t.equal(p.sar, undefined);
  t.equal(p.messagePayload!.length, 600);
  // UTF-16BE by hand: each character as two big-endian octets of its code unit.
  const expected = Buffer.from([...text].flatMap((c) => [c.charCodeAt(0) >> 8, c.charCodeAt(0) & 0xff]));
  t.ok(p.messagePayload!.equals(expected), 'the whole text, UTF-16BE');
  t.equal(decodeIncoming(p).text, text);
  t.same(countSegments(text, { segmentation: 'payload' }), { encoding: 'ucs2', segments: 1 });
});

t.test('packed GSM: a lone CR tail after a 6-octet UDH borrows a character', async (t) => {
  // 306 a + CR. Greedy gives 153 | 153 | CR, but CR alone after one fill bit is 8 bits,
  // exactly one octet, and would read as padding. So part 2 gives up one 'a':
  // 153 | 152 | 'a' CR. Part 3 by hand: fill bit, 61 << 1 = c2, then 0d in bits 8-14.
  const text = `${'a'.repeat(306)}\r`;
  const r = segmentText(text, { segmentation: 'udh8', reference: 0x2a, packGsm7: true });
  t.same(r.parts.map((p) => p.shortMessage.length), [140, 140, 8]);
  t.equal(r.parts[2]!.shortMessage.toString('hex'), '0500032a0303c20d');
  const texts = r.parts.map((p) => decodeIncoming(p, { '0': 'gsm7_packed' }).text);
  t.same(texts.map((s) => s.length), [153, 152, 2]);
  t.equal(texts.join(''), text);
  t.equal(countSegments(text, { segmentation: 'udh8', packGsm7: true }).segments, 3);
});

t.test('packed GSM: 160 septets ending in CR cannot double the CR, so it is cut', async (t) => {
  const text = `${'a'.repeat(159)}\r`;
  const r = segmentText(text, { segmentation: 'udh8', reference: 1, packGsm7: true });
  t.equal(r.parts.length, 2);
  t.equal(r.parts.map((p) => decodeIncoming(p, { '0': 'gsm7_packed' }).text).join(''), text);
  t.equal(segmentText(text, { segmentation: 'udh8', reference: 1 }).parts.length, 1, 'unpacked it is one part');
});

t.test('reference wrapping and validation', async (t) => {
  const long = 'x'.repeat(200);
  const ref = (segmentation: 'udh8' | 'udh16' | 'sar', reference: number): string => {
    const p = segmentText(long, { segmentation, reference }).parts[0]!;
    // UDH then the first text octet, 'x' = 0x78 in GSM.
    return p.sar ? p.sar.msgRefNum.toString(16) : p.shortMessage.subarray(0, 7).toString('hex');
  };
  t.equal(ref('udh8', 256), '05000300020178', '256 wraps to 0');
  t.equal(ref('udh8', 511), '050003ff020178', '511 wraps to 255');
  t.equal(ref('udh8', -1), '050003ff020178', '-1 wraps to 255');
  t.equal(ref('udh16', 65536 + 258), '06080401020201', '65,794 wraps to 0x0102');
  t.equal(ref('sar', 65535), 'ffff');
  t.equal(ref('sar', 65536), '0');
  t.throws(() => segmentText(long, { segmentation: 'udh8', reference: 1.5 }), RangeError);
  t.throws(() => segmentText(long, { segmentation: 'udh8', reference: Number.NaN }), RangeError);
});

t.test('more than 255 parts cannot be joined', async (t) => {
  const text = 'x'.repeat(153 * 255);
  t.equal(segmentText(text, { segmentation: 'udh8', reference: 1 }).parts.length, 255);
  t.equal(countSegments(`${text}x`, { segmentation: 'udh8' }).segments, 256, 'countSegments still counts');
  t.throws(() => segmentText(`${text}x`, { segmentation: 'udh8', reference: 1 }), XingeError);
});

t.test('message_payload holds at most 65,535 octets', async (t) => {
  t.equal(segmentText('您'.repeat(32767), { segmentation: 'payload', reference: 1 }).parts[0]!.messagePayload!.length, 65534);
  t.throws(() => segmentText('您'.repeat(32768), { segmentation: 'payload', reference: 1 }), XingeError);
});

t.test('empty text is one empty part', async (t) => {
  const r = segmentText('', { segmentation: 'udh8', reference: 1 });
  t.equal(r.encoding, 'gsm7');
  t.equal(r.parts.length, 1);
  t.equal(r.parts[0]!.shortMessage.length, 0);
  t.same(countSegments('', { segmentation: 'sar' }), { encoding: 'gsm7', segments: 1 });
});
